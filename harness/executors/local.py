"""The local executor: ``cv3 grade --jobs N`` on this machine (the default).

``jobs=1`` (or a single submission) grades in this process with one grading context started for
the first submission; ``jobs>1`` keeps a pool of ``jobs`` processes, each with its own grading
context (sandbox, baseline workers, trusted data built once), sharing one speed lane.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import multiprocessing
from pathlib import Path

from harness.executors.base import Executor, job_failure
from harness.manifest import find_assignment
from harness.results import SubmissionResult
from harness.submissions import StagedSubmission

_GRADER = None


def init_grader(assignment_name: str, root: str | None, options: dict) -> None:
    """Pool initializer: this process's grading context (``options``: sandbox, speed,
    speed_lock, and optionally device)."""
    global _GRADER
    from multiprocessing.util import Finalize

    from harness.sandbox.local import die_with_parent

    die_with_parent()  # a grader killed with SIGKILL takes its pool processes (and their workers) along

    from harness.grading.context import GradingContext
    from harness.sandbox import make_sandbox

    assignment = find_assignment(assignment_name, Path(root) if root else None)
    sandbox = make_sandbox(assignment, **options["sandbox"])
    _GRADER = GradingContext(assignment, sandbox=sandbox, speed=options["speed"],
                             speed_lock=options["speed_lock"], device=options.get("device"))
    # pool processes end through multiprocessing's exit path, which runs finalizers: the
    # baseline workers (or containers) and scratch folders go with them
    Finalize(_GRADER, _close_grader, args=(_GRADER, sandbox), exitpriority=10)


def _close_grader(grader, sandbox) -> None:
    grader.close()
    sandbox.close()


def grade_in_process(staged: StagedSubmission) -> dict:
    return _GRADER.grade_staged(staged).to_dict()


def new_pool(assignment_name: str, root: str, options: dict, processes: int) -> cf.ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    return cf.ProcessPoolExecutor(processes, mp_context=ctx, initializer=init_grader,
                                  initargs=(assignment_name, root, options))


def kill_pool(pool: cf.ProcessPoolExecutor, sandbox_options: dict) -> None:
    """Stop a pool at once: its processes killed, their containers swept."""
    from harness.tmp import sweep_stale

    # take the processes before shutdown(), which sets pool._processes to None
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.kill()  # their containers are swept below
    for proc in procs:
        proc.join(5)  # gone (reaped), so the sweep sees their pids as dead
    sweep_containers(sandbox_options)
    sweep_stale()
    pool.shutdown(wait=True)


def sweep_containers(sandbox_options: dict) -> None:
    """Remove containers left by grader processes that are gone (after an interrupt)."""
    if sandbox_options.get("backend") != "docker":
        return
    from harness.sandbox.docker_backend import docker_client, remove_leftovers

    try:
        remove_leftovers(docker_client())
    except Exception:  # noqa: BLE001 - best effort; the next run sweeps again
        pass


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        if jobs < 1:
            raise ValueError(f"jobs={jobs}: must be at least 1")
        self.jobs = jobs
        self._stack = contextlib.ExitStack()
        self._grader = None  # inline mode: started for the first submission
        self._waiting: collections.deque = collections.deque()  # inline mode
        self._pool: cf.ProcessPoolExecutor | None = None
        self._inflight: dict[cf.Future, StagedSubmission] = {}

    @property
    def _inline(self) -> bool:
        return self.jobs <= 1 or not self.many

    def describe(self) -> str:
        return f"local, {self.jobs} job(s)"

    def capacity(self) -> int:
        return 1 if self._inline else self.jobs

    def pending(self) -> int:
        return len(self._waiting) + len(self._inflight)

    def submit(self, staged: StagedSubmission) -> None:
        if self._inline:
            self._waiting.append(staged)
            return
        if self._pool is None:
            options = {"sandbox": self.sandbox_options, "speed": self.speed, "speed_lock": str(self.speed_lock)}
            self._pool = new_pool(self.assignment.name, str(self.assignment.root.parent.parent), options, self.jobs)
        self._inflight[self._pool.submit(grade_in_process, staged)] = staged

    def collect(self, timeout: float | None) -> list[tuple[StagedSubmission, SubmissionResult]]:
        if self._inline:
            if not self._waiting:
                return []
            staged = self._waiting.popleft()
            if self._grader is None:
                from harness.grading.context import GradingContext
                from harness.sandbox import make_sandbox

                sandbox = make_sandbox(self.assignment, **self.sandbox_options)
                self._stack.callback(sandbox.close)
                self._grader = self._stack.enter_context(
                    GradingContext(self.assignment, sandbox=sandbox, speed=self.speed, speed_lock=self.speed_lock))
            return [(staged, self._grader.grade_staged(staged))]
        if not self._inflight:
            return []
        finished, _ = cf.wait(self._inflight, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out = []
        for fut in finished:
            staged = self._inflight.pop(fut)
            try:
                result = SubmissionResult.from_dict(fut.result())
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001 - a dead grader process: record it
                result = job_failure(self.assignment, staged, f"the grading process failed ({type(e).__name__}: {e})")
            out.append((staged, result))
        return out

    def close(self, *, abort: bool = False) -> None:
        try:
            if self._pool is not None:
                if abort:
                    kill_pool(self._pool, self.sandbox_options)
                else:
                    self._pool.shutdown(wait=True)
        finally:
            self._pool = None
            self._stack.close()
            self._grader = None
