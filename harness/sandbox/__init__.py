"""Sandbox backends. Each one starts workers that hold a submission and nothing else."""

from __future__ import annotations

from harness.sandbox.local import Limits, LocalSandbox, WorkerCrashed, WorkerError

BACKENDS = ("local",)


def make_sandbox(assignment, *, backend: str = "local", isolation: str = "auto", gpu: bool = False):
    """The sandbox for an assignment's limits; ``backend`` is one of BACKENDS."""
    if backend == "local":
        return LocalSandbox(limits=assignment.limits, isolation=isolation, gpu=gpu)
    raise ValueError(f"backend={backend!r}: allowed backends are {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Limits", "LocalSandbox", "WorkerCrashed", "WorkerError", "make_sandbox"]
