"""Batch grading: many submissions, resumable, parallel, shared, with progress and a summary.

The parent process owns the results store and writes each result the moment it arrives (one
transaction each), so interrupting a batch loses at most the submissions still in flight, and a
rerun grades only what is missing or changed (``regrade=True`` redoes everything, after a backup
of the store).

Several graders may work on one store at once (two ``cv3 grade`` runs on the same folder, or on
different machines sharing the store): each claims a submission in the store just before
grading it and skips what another grader has claimed or finished; a heartbeat keeps its claims
alive, so the claims of a grader that died expire and another takes those submissions over.
While the store is locked the batch waits, saying so, and keeps the finished result; a result
that cannot be stored at all is spooled beside the store and stored by the next batch.
"""

from __future__ import annotations

import collections
import contextlib
import math
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from harness.executors.base import Executor
from harness.manifest import Assignment
from harness.results import SubmissionResult
from harness.store import ClaimOwner, ResultStore, StoreError
from harness.submissions import SubmissionError, SubmissionSource, raw_fingerprint, stage_submission
from harness.tmp import scratch_dir, sweep_stale

CLAIM_LEASE_S = 60.0  # a claim not renewed for this long is free to take (heartbeat: lease / 4)
POLL_S = 1.0  # how often a grader waiting on another one looks again


@dataclass
class BatchSummary:
    graded: list[SubmissionResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already graded before this batch
    elsewhere: list[str] = field(default_factory=list)  # graded by another grader meanwhile
    backup: Path | None = None  # the store's backup made before a regrade
    wall_s: float = 0.0


@dataclass
class _Unreadable:
    """A submission that could not be staged: stored as an error result."""

    id: str
    sha256: str
    source: SubmissionSource
    message: str

    def remove(self) -> None:
        pass


def grade_batch(
    assignment: Assignment,
    sources: list[SubmissionSource],
    store: ResultStore,
    *,
    jobs: int = 1,
    regrade: bool = False,
    sandbox_options: dict | None = None,
    speed: bool = True,
    progress: TextIO | None = sys.stderr,
    on_result: Callable[[SubmissionResult], None] | None = None,
    claim_lease_s: float = CLAIM_LEASE_S,
    executor: Executor | None = None,
) -> BatchSummary:
    """Grade ``sources`` into ``store``. Raises :class:`~harness.store.StoreError` when a
    finished result cannot be stored (it is spooled first; the message says where).

    ``executor`` runs the grading unit (default: the local process pool of ``jobs``
    processes; harness.executors.dask grades on a Dask cluster); this process alone claims
    submissions and writes the store, as results arrive. Raises
    :class:`~harness.executors.base.ExecutorLost` when the executor cannot go on (what was
    stored stays stored; a rerun resumes)."""
    from harness.sandbox import make_sandbox

    sandbox_options = sandbox_options or {}
    if executor is None:
        from harness.executors.local import LocalExecutor

        executor = LocalExecutor(jobs)
    if sandbox_options.get("gpu") and executor.name == "local":  # remote nodes check their own GPUs
        from harness.sandbox import verify_gpu

        probe = make_sandbox(assignment, **sandbox_options)
        try:
            verify_gpu(probe)  # refuse to start rather than grade GPU work on the CPU
        finally:
            probe.close()
    summary = BatchSummary()
    owner, batch_start = ClaimOwner.current(), time.time()
    saved_wait = store.on_wait, store.max_wait_s
    store.on_wait, store.max_wait_s = _LockNotice(store, progress), None  # wait as long as it takes
    heartbeat = _Heartbeat(store, owner, claim_lease_s)
    sweep_stale()
    scratch = scratch_dir("batch")
    t0 = time.perf_counter()
    bar = _Progress(0, progress)
    try:
        for r in store.import_spooled():
            _say(progress, f"stored the result of {r.submission_id} that an earlier run could not write")
        store.set_identities(assignment.name, [(s.id, s.name, s.lms, s.path.name) for s in sources
                                               if s.lms or s.name])
        if regrade and store.finished(assignment.name):
            summary.backup = store.backup()
            _say(progress, f"backed up the store to {summary.backup} before regrading")
        done = store.finished(assignment.name) if not regrade else {}
        todo: list = []

        def finish(result: SubmissionResult) -> None:
            if interrupted:  # the interrupt was swallowed on its way (e.g. inside pytest's gc
                raise KeyboardInterrupt  # cleanup): this result may be partial; never store it
            try:
                store.put(result, owner=owner)  # waits while another process holds the lock
            except KeyboardInterrupt:  # Ctrl-C while waiting for the lock: keep the result
                _say(progress, f"the finished result of {result.submission_id} is kept in "
                     f"{store.spool(result)}; the next `cv3 grade` stores it")
                raise
            except StoreError as e:
                raise StoreError(f"{e} (the finished result of {result.submission_id} is kept in "
                                 f"{store.spool(result)}; the next `cv3 grade` stores it)") from None
            summary.graded.append(result)
            bar.step(result)
            if on_result:
                on_result(result)

        def claim(item) -> tuple[str, str]:
            return store.claim(assignment.name, item.id, item.sha256, owner=owner, lease_s=claim_lease_s,
                               since=batch_start, regrade=regrade)

        def elsewhere(item, who: str) -> None:
            summary.elsewhere.append(item.id)
            bar.elsewhere(item.id, who)

        with _note_interrupts() as interrupted:
            # each submission is staged once: the hash that decides whether it is current is the
            # hash of exactly what is graded; a submission that cannot be read is its own error
            for s in sources:
                try:
                    staged = stage_submission(s, assignment.package, scratch_dir("stage", scratch))
                except SubmissionError as e:
                    fingerprint = raw_fingerprint(s.path)
                    if s.id in done and done[s.id] == fingerprint:
                        summary.skipped.append(s.id)  # the same broken file: its error is stored
                    else:
                        todo.append(_Unreadable(s.id, fingerprint, s, str(e)))
                    continue
                if s.id in done and done[s.id] == staged.sha256:
                    summary.skipped.append(s.id)
                    staged.remove()
                else:
                    todo.append(staged)
            bar.start(len(todo), skipped=len(summary.skipped))
            heartbeat.start()
            staged_todo = [t for t in todo if not isinstance(t, _Unreadable)]
            errors = [t for t in todo if isinstance(t, _Unreadable)]
            _grade_all(_Queue(staged_todo, claim, elsewhere, progress), finish, executor,
                       speed_lock=scratch / "speed.lock", assignment=assignment, sandbox_options=sandbox_options,
                       speed=speed, many=len(staged_todo) > 1, progress=progress)
            if errors:
                _record_errors(assignment, _Queue(errors, claim, elsewhere, progress), finish,
                               sandbox_options, speed)
    finally:
        heartbeat.stop()
        with contextlib.suppress(StoreError):
            store.release_claims(owner)  # what this batch claimed and did not finish is free
        store.on_wait, store.max_wait_s = saved_wait
        shutil.rmtree(scratch, ignore_errors=True)
    summary.wall_s = time.perf_counter() - t0
    bar.close()
    return summary


def _say(out: TextIO | None, line: str) -> None:
    if out:
        print(line, file=out, flush=True)


class _LockNotice:
    """Called while the store is locked: says so (at most every 10 s), with what happens."""

    def __init__(self, store: ResultStore, out: TextIO | None) -> None:
        self.store, self.out, self.last = store, out, -math.inf

    def __call__(self, waited_s: float) -> None:
        if time.monotonic() - self.last >= 10:
            self.last = time.monotonic()
            _say(self.out, f"waiting for the results store {self.store.path}: another process holds its "
                 f"lock ({waited_s:.0f} s so far); finished results are kept and written as soon as it "
                 "is free (Ctrl-C keeps them in " f"{self.store.spool_dir})")


class _Heartbeat:
    """Renews this grader's claims every lease / 4 in a thread, so they expire only if it dies."""

    def __init__(self, store: ResultStore, owner: ClaimOwner, lease_s: float) -> None:
        self.store, self.owner, self.lease_s = store, owner, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cv3-claims-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 4):
            with contextlib.suppress(Exception):  # a busy store: the next beat tries again
                self.store.renew_claims(self.owner, self.lease_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)


class _Queue:
    """Submissions in order, each claimed just before it is graded. One another grader holds
    waits at the back until that grader finishes it (dropped here) or its claim expires (taken
    over here)."""

    def __init__(self, items: list, claim, on_elsewhere, out: TextIO | None) -> None:
        self.pending = collections.deque(items)
        self.deferred: list[tuple[object, str]] = []
        self.claim, self.on_elsewhere, self.out = claim, on_elsewhere, out
        self.last_notice = -math.inf

    def __bool__(self) -> bool:
        return bool(self.pending or self.deferred)

    def __len__(self) -> int:
        return len(self.pending) + len(self.deferred)

    def _try(self, item) -> tuple[str, str]:
        state, who = self.claim(item)
        if state == "done":
            self.on_elsewhere(item, who)
            item.remove()
        return state, who

    def take(self):
        """The next submission this grader now holds, or None (nothing claimable right now)."""
        while self.pending:
            item = self.pending.popleft()
            state, who = self._try(item)
            if state == "claimed":
                return item
            if state == "busy":
                self.deferred.append((item, who))
        still, got = [], None
        for item, who in self.deferred:
            if got is None:
                state, who = self._try(item)
                if state == "claimed":
                    got = item
                    continue
                if state == "done":
                    continue
            still.append((item, who))
        self.deferred = still
        return got

    def wait(self) -> None:
        """Nothing claimable: another grader holds the rest. Wait a little, saying so."""
        if not self.deferred:
            return
        if self.out and time.monotonic() - self.last_notice >= 30:
            self.last_notice = time.monotonic()
            who = sorted({w for _, w in self.deferred})
            ids = ", ".join(str(getattr(i, "id", i)) for i, _ in self.deferred[:8])
            _say(self.out, f"waiting for {len(self.deferred)} submission(s) another grader is grading "
                 f"({', '.join(who)}): {ids}")
        time.sleep(POLL_S)


def _record_errors(assignment, queue: _Queue, finish, sandbox_options, speed) -> None:
    """Submissions that could not even be staged: stored as errors (never silently skipped)."""
    from harness.grading.context import GradingContext
    from harness.sandbox import make_sandbox

    with contextlib.ExitStack() as stack:
        ctx = None
        while queue:
            item = queue.take()
            if item is None:
                queue.wait()
                continue
            if ctx is None:
                sandbox = make_sandbox(assignment, **sandbox_options)
                stack.callback(sandbox.close)
                ctx = stack.enter_context(GradingContext(assignment, sandbox=sandbox, speed=speed))
            finish(ctx.error_result(item.id, f"malformed submission: {item.message}", source_sha256=item.sha256))


@contextlib.contextmanager
def _note_interrupts():
    """Yields a list that gets an entry on SIGINT/SIGTERM (the previous handlers still run).

    A KeyboardInterrupt raised where Python cannot propagate it (a weakref callback or
    ``__del__``, e.g. during the garbage collection pytest runs at the end of a session) is
    printed and dropped; the grading would then go on and store a result of an interrupted run.
    """
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = {}

    def handler(signum, frame):
        noted.append(signum)
        previous[signum](signum, frame)  # e.g. default_int_handler: raises KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        prev = signal.getsignal(sig)
        if callable(prev):  # Python-level handlers only; SIG_DFL/SIG_IGN keep their meaning
            previous[sig] = prev
            signal.signal(sig, handler)
    try:
        yield noted
    finally:
        for sig, prev in previous.items():
            signal.signal(sig, prev)


def _grade_all(queue: _Queue, finish, executor, *, speed_lock, assignment, sandbox_options, speed, many,
               progress) -> None:
    """Hand the claimed submissions to ``executor`` as it has room, store results as they come."""
    if not queue:
        return
    executor.start(assignment, sandbox_options=sandbox_options, speed=speed, speed_lock=speed_lock,
                   out=progress, many=many)
    try:
        while queue or executor.pending():
            while executor.pending() < executor.capacity():
                staged = queue.take()
                if staged is None:
                    break
                executor.submit(staged)
            if not executor.pending():
                queue.wait()
                continue
            for staged, result in executor.collect(POLL_S if queue else None):
                staged.remove()
                finish(result)  # a store failure is not the submission's: it propagates
    except BaseException:  # Ctrl-C, a lost executor, or a result the store could not take: stop at once
        executor.close(abort=True)
        raise
    else:
        executor.close()


class _Progress:
    def __init__(self, total: int, out: TextIO | None) -> None:
        self.total, self.out, self.n = total, out, 0
        self.t0 = time.perf_counter()
        self.per_node: collections.Counter = collections.Counter()

    def start(self, total: int, skipped: int = 0) -> None:
        self.total, self.t0 = total, time.perf_counter()
        if self.out and skipped:
            print(f"skipping {skipped} submission(s) already graded (use --regrade to redo them)", file=self.out)

    def step(self, result: SubmissionResult) -> None:
        self.n += 1
        if not self.out:
            return
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.n * (self.total - self.n)
        width = 24
        filled = int(width * self.n / max(self.total, 1))
        status = "" if result.status == "graded" else f"  [{result.status}]"
        node = result.environment.get("node")  # graded on a node of a cluster (harness.executors.dask)
        where = ""
        if node:
            self.per_node[node] += 1
            retries = result.environment.get("retries") or 0
            where = (f"  on {node} ({self.per_node[node]} there" + (f", after {retries} retr"
                     f"{'y' if retries == 1 else 'ies'}" if retries else "") + ")")
        print(f"[{'#' * filled}{'.' * (width - filled)}] {self.n}/{self.total} "
              f"{result.submission_id}: {result.score:.2f}/{result.max_score:g}{status}{where}  "
              f"elapsed {_fmt(elapsed)}, left ~{_fmt(eta)}", file=self.out, flush=True)

    def elsewhere(self, submission_id: str, who: str) -> None:
        self.n += 1
        if self.out:
            print(f"{self.n}/{self.total} {submission_id}: graded by another grader ({who})",
                  file=self.out, flush=True)

    def close(self) -> None:
        pass


def _fmt(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"
