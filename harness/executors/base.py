"""What an executor promises the coordinator (``harness.batch.grade_batch``).

The coordinator owns the queue of staged submissions, the claims and the results store; an
executor only runs the grading unit for the submissions it is handed and gives back one result
record per submission, in the order they finish. That split is what makes a new backend (a
Slurm executor with submitit, say) one more file:

    executor.start(assignment, sandbox_options=..., speed=..., speed_lock=..., out=...)
    while work is left:
        while executor.pending() < executor.capacity():  executor.submit(next staged submission)
        for staged, result in executor.collect(timeout):  store result; staged.remove()
    executor.close(abort=False)        # abort=True after Ctrl-C or a failure: stop everything now

``collect`` turns a failure of the machinery (a grading process that died, a node lost more
often than the retry budget allows) into an error result whose ``source_sha256`` starts with
``retry:``, so a rerun grades that submission again; it raises :class:`ExecutorLost` when the
executor cannot go on at all (the Dask scheduler went away): the coordinator stops, what was
stored stays stored, and a rerun resumes.
"""

from __future__ import annotations

import abc
from typing import TextIO

from harness.manifest import Assignment
from harness.results import SubmissionResult
from harness.submissions import StagedSubmission

EXECUTORS = ("local", "dask")


class ExecutorLost(RuntimeError):
    """The executor can no longer run jobs; the message says what happened and what to do."""


class Executor(abc.ABC):
    name = "?"

    def start(self, assignment: Assignment, *, sandbox_options: dict, speed: bool, speed_lock,
              out: TextIO | None = None, many: bool = True) -> None:
        """Get ready to grade ``assignment`` (``many``: more than one submission is coming)."""
        self.assignment, self.sandbox_options, self.speed = assignment, dict(sandbox_options), speed
        self.speed_lock, self.out, self.many = speed_lock, out, many

    @abc.abstractmethod
    def capacity(self) -> int:
        """How many submissions may be in flight now (at least 1)."""

    @abc.abstractmethod
    def submit(self, staged: StagedSubmission) -> None:
        """Hand over one staged submission (the coordinator has claimed it)."""

    @abc.abstractmethod
    def pending(self) -> int:
        """Submissions handed over whose result has not been collected yet."""

    @abc.abstractmethod
    def collect(self, timeout: float | None) -> list[tuple[StagedSubmission, SubmissionResult]]:
        """Results that finished, waiting up to ``timeout`` seconds (None: until at least one)."""

    @abc.abstractmethod
    def close(self, *, abort: bool = False) -> None:
        """Release everything; ``abort``: do not wait for jobs in flight."""

    def describe(self) -> str:
        return self.name


def needs_gpu(assignment: Assignment, sandbox_options: dict) -> bool:
    """Whether the jobs of this batch must run where a GPU is: ``--gpus``, or an assignment
    that declares it (``gpu = true``, where the manifest model has such a field)."""
    return bool(sandbox_options.get("gpu") or getattr(assignment, "gpu", False))


def job_failure(assignment: Assignment, staged: StagedSubmission, why: str) -> SubmissionResult:
    """The record of a submission the machinery failed to grade: an error, never a score, and
    not the submission's hash, so a rerun does not take it for a current result and grades it
    again."""
    return SubmissionResult(
        assignment=assignment.name, submission_id=staged.id, status="error", score=0.0,
        max_score=assignment.max_score, source_sha256=f"retry:{staged.sha256}",
        error=f"{why}; nothing was scored. Rerun the batch to retry this submission.",
    )


def make_executor(name: str = "local", **options) -> Executor:
    """``local`` (a process pool on this machine; ``jobs=N``) or ``dask`` (``scheduler=``
    or ``scheduler_file=``, optional ``security=``; see harness.executors.dask)."""
    if name == "local":
        from harness.executors.local import LocalExecutor

        return LocalExecutor(**options)
    if name == "dask":
        from harness.executors.dask import DaskExecutor

        return DaskExecutor(**options)
    raise ValueError(f"executor={name!r}: allowed executors are {', '.join(EXECUTORS)}")
