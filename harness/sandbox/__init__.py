"""Sandbox backends. Each one starts workers that hold a submission and nothing else."""

from __future__ import annotations

from harness.manifest import Limits
from harness.sandbox.api import ExitReason, Sandbox, SandboxUnavailable, Worker, WorkerCrashed, WorkerError
from harness.sandbox.client import WorkerClient
from harness.sandbox.local import LocalSandbox

BACKENDS = ("local", "docker")


class GPUUnavailable(RuntimeError):
    """A GPU was asked for but the sandbox cannot see one."""


def make_sandbox(assignment, *, backend: str = "local", isolation: str = "auto", gpu: bool = False,
                 image: str | None = None, cpus: float = 1.0, accept_no_cgroups: bool = False):
    """The sandbox for an assignment's limits; ``backend`` is one of BACKENDS."""
    if backend == "local":
        return LocalSandbox(limits=assignment.limits, isolation=isolation, gpu=gpu,
                            accept_no_cgroups=accept_no_cgroups)
    if backend == "docker":
        from harness.sandbox.docker_backend import DEFAULT_IMAGE, DockerSandbox

        return DockerSandbox(limits=assignment.limits, image=image or DEFAULT_IMAGE, gpu=gpu, cpus=cpus)
    raise ValueError(f"backend={backend!r}: allowed backends are {', '.join(BACKENDS)}")


def verify_gpu(sandbox) -> None:
    """Start a clean worker and make sure it sees a CUDA device; raise GPUUnavailable if not."""
    worker = sandbox.start_worker(None)
    try:
        hello = WorkerClient(worker).hello(baseline=True)
    finally:
        worker.close()
    if hello.info.get("cuda") is not True:
        raise GPUUnavailable(
            "a GPU was requested (--gpus) but torch.cuda.is_available() is False inside the sandbox; "
            "check `nvidia-smi` on the host, the NVIDIA container toolkit for Docker, and that the "
            "grading image has a CUDA build of torch. Refusing to grade."
        )


__all__ = ["BACKENDS", "ExitReason", "GPUUnavailable", "Limits", "LocalSandbox", "Sandbox", "SandboxUnavailable",
           "Worker",
           "WorkerClient", "WorkerCrashed", "WorkerError", "make_sandbox", "verify_gpu"]
