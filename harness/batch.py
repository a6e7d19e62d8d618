"""Batch grading: many submissions, resumable, parallel, with progress and a summary.

The parent process owns the results store and writes each result the moment it arrives (one
transaction each), so interrupting a batch loses at most the submissions still in flight, and a
rerun grades only what is missing or changed (``regrade=True`` redoes everything).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from harness.manifest import Assignment, find_assignment
from harness.results import SubmissionResult
from harness.store import ResultStore
from harness.submissions import (StagedSubmission, SubmissionError, SubmissionSource, raw_fingerprint,
                                 stage_submission)
from harness.tmp import scratch_dir, sweep_stale


@dataclass
class BatchSummary:
    graded: list[SubmissionResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    wall_s: float = 0.0


# -- worker processes for --jobs > 1 ----------------------------------------------------------
_GRADER = None


def _init_worker(assignment_name: str, root: str | None, options: dict) -> None:
    global _GRADER
    from multiprocessing.util import Finalize

    from harness.grading.context import GradingContext
    from harness.sandbox import make_sandbox

    assignment = find_assignment(assignment_name, Path(root) if root else None)
    sandbox = make_sandbox(assignment, **options["sandbox"])
    _GRADER = GradingContext(assignment, sandbox=sandbox, speed=options["speed"],
                             speed_lock=options["speed_lock"])
    # pool processes end through multiprocessing's exit path, which runs finalizers: the
    # baseline workers (or containers) and scratch folders go with them
    Finalize(_GRADER, _close_grader, args=(_GRADER, sandbox), exitpriority=10)


def _close_grader(grader, sandbox) -> None:
    grader.close()
    sandbox.close()


def _grade_in_worker(staged: StagedSubmission) -> dict:
    return _GRADER.grade_staged(staged).to_dict()


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
) -> BatchSummary:
    from harness.sandbox import make_sandbox

    sandbox_options = sandbox_options or {}
    if sandbox_options.get("gpu"):
        from harness.sandbox import verify_gpu

        probe = make_sandbox(assignment, **sandbox_options)
        try:
            verify_gpu(probe)  # refuse to start rather than grade GPU work on the CPU
        finally:
            probe.close()
    summary = BatchSummary()
    sweep_stale()
    scratch = scratch_dir("batch")
    try:
        done = store.finished(assignment.name) if not regrade else {}
        todo, t0 = [], time.perf_counter()
        bar = _Progress(0, progress)

        def finish(result: SubmissionResult) -> None:
            if interrupted:  # the interrupt was swallowed on its way (e.g. inside pytest's gc
                raise KeyboardInterrupt  # cleanup): this result may be partial; never store it
            store.put(result)
            summary.graded.append(result)
            bar.step(result)
            if on_result:
                on_result(result)

        with _note_interrupts() as interrupted:
            # each submission is staged once: the hash that decides whether it is current is the
            # hash of exactly what is graded; a submission that cannot be read is its own error
            errors = []
            for s in sources:
                try:
                    staged = stage_submission(s, assignment.package, scratch_dir("stage", scratch))
                except SubmissionError as e:
                    fingerprint = raw_fingerprint(s.path)
                    if s.id in done and done[s.id] == fingerprint:
                        summary.skipped.append(s.id)  # the same broken file: its error is stored
                    else:
                        errors.append((s, str(e), fingerprint))
                    continue
                if s.id in done and done[s.id] == staged.sha256:
                    summary.skipped.append(s.id)
                    staged.remove()
                else:
                    todo.append(staged)
            bar.start(len(todo) + len(errors), skipped=len(summary.skipped))
            _grade_all(assignment, todo, finish, jobs, sandbox_options, speed, scratch / "speed.lock")
            if errors:
                _record_errors(assignment, errors, finish, sandbox_options, speed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary.wall_s = time.perf_counter() - t0
    bar.close()
    return summary


def _record_errors(assignment, errors, finish, sandbox_options, speed) -> None:
    """Submissions that could not even be staged: stored as errors (never silently skipped)."""
    from harness.grading.context import GradingContext
    from harness.sandbox import make_sandbox

    sandbox = make_sandbox(assignment, **sandbox_options)
    try:
        with GradingContext(assignment, sandbox=sandbox, speed=speed) as ctx:
            for source, message, fingerprint in errors:
                finish(ctx.error_result(source.id, f"malformed submission: {message}",
                                        source_sha256=fingerprint))
    finally:
        sandbox.close()


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


def _grade_all(assignment, todo, finish, jobs, sandbox_options, speed, speed_lock) -> None:
    from harness.grading.context import GradingContext
    from harness.sandbox import make_sandbox

    if not todo:
        return
    if jobs <= 1 or len(todo) <= 1:
        sandbox = make_sandbox(assignment, **sandbox_options)
        try:
            with GradingContext(assignment, sandbox=sandbox, speed=speed, speed_lock=speed_lock) as grader:
                for staged in todo:
                    try:
                        result = grader.grade_staged(staged)
                    finally:
                        staged.remove()
                    finish(result)
        finally:
            sandbox.close()
    else:
        ctx = multiprocessing.get_context("forkserver")
        options = {"sandbox": sandbox_options, "speed": speed, "speed_lock": str(speed_lock)}
        root = str(assignment.root.parent.parent)
        with cf.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                    initargs=(assignment.name, root, options)) as pool:
            futures = {pool.submit(_grade_in_worker, s): s for s in todo}
            try:
                for fut in cf.as_completed(futures):
                    s = futures[fut]
                    try:
                        finish(SubmissionResult.from_dict(fut.result()))
                    except KeyboardInterrupt:
                        raise
                    except Exception as e:  # noqa: BLE001 - a dead grader process: record it
                        finish(_grader_failure(assignment, s, e))
                    finally:
                        s.remove()
            except KeyboardInterrupt:
                # take the processes before shutdown(), which sets pool._processes to None
                procs = list((getattr(pool, "_processes", None) or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for proc in procs:
                    proc.kill()  # their containers are swept below
                for proc in procs:
                    proc.join(5)  # gone (reaped), so the sweep sees their pids as dead
                _sweep(sandbox_options)
                sweep_stale()
                raise


def _sweep(sandbox_options: dict) -> None:
    """Remove containers left by grader processes that are gone (after an interrupt)."""
    if sandbox_options.get("backend") != "docker":
        return
    from harness.sandbox.docker_backend import docker_client, remove_leftovers

    try:
        remove_leftovers(docker_client())
    except Exception:  # noqa: BLE001 - best effort; the next run sweeps again
        pass


def _grader_failure(assignment: Assignment, source: StagedSubmission, e: Exception) -> SubmissionResult:
    return SubmissionResult(
        assignment=assignment.name, submission_id=source.id, status="error", score=0.0,
        max_score=assignment.max_score, source_sha256=source.sha256,
        error=f"the grading process failed ({type(e).__name__}: {e}); nothing was scored. "
              "Rerun the batch to retry this submission.",
    )


class _Progress:
    def __init__(self, total: int, out: TextIO | None) -> None:
        self.total, self.out, self.n = total, out, 0
        self.t0 = time.perf_counter()

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
        print(f"[{'#' * filled}{'.' * (width - filled)}] {self.n}/{self.total} "
              f"{result.submission_id}: {result.score:.2f}/{result.max_score:g}{status}  "
              f"elapsed {_fmt(elapsed)}, left ~{_fmt(eta)}", file=self.out, flush=True)

    def close(self) -> None:
        pass


def _fmt(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"
