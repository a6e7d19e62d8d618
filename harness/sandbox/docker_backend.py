"""The Docker sandbox backend: one fresh container per worker, through the Docker SDK.

Each container: no network, memory = swap limit, a CPU quota, a process limit, a read-only
root file system with small size-capped tmpfs mounts for ``/tmp`` and the working directory, all
capabilities dropped, no-new-privileges, a non-root user, the worker files and the submission
mounted read-only, and nothing else from the host. Containers carry the label ``cv3.worker``
and the grader's pid, so leftovers of an interrupted grader are found and removed.

The protocol is the local backend's: frames over the container's stdin/stdout, which Docker
multiplexes on the attach socket (8-byte headers: stream id, size).
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import struct
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.manifest import Limits
from harness.sandbox.api import ExitReason, WorkerCrashed
from harness.sandbox.local import (SANDBOX_HOME, SUBMISSION_MOUNT, WORKER_FILES, WORKER_MOUNT, WorkerProcess,
                                   tree_cpu_time_ns)
from harness.tmp import scratch_dir

LABEL = "cv3.worker"
DEFAULT_IMAGE = "cv3-grader:latest"
IMAGE_PYTHON = "/opt/cv3/bin/python"  # where the grading image keeps its interpreter
WORKER_UID = 65534  # nobody:nogroup


class DockerUnavailable(RuntimeError):
    """No Docker engine answers, or the grading image is missing; the message says what to do."""


def docker_client():
    try:
        import docker
    except ImportError as e:  # pragma: no cover - docker is a dependency
        raise DockerUnavailable("the 'docker' Python package is missing: pip install docker") from e
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:  # noqa: BLE001 - any connection problem means no engine
        raise DockerUnavailable(
            f"no Docker engine answers ({type(e).__name__}: {e}); start dockerd or use --backend local"
        ) from None
    return client


# A watchdog outside the grader's process group: once the grader is gone (even by SIGKILL, which
# runs no cleanup), it removes the containers labelled with the grader's pid, within a second or two.
REAPER = """
import os, sys, time
pid, label = int(sys.argv[1]), sys.argv[2]
def alive():
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z"
while alive():
    time.sleep(0.5)
import docker
client = docker.from_env(timeout=60)
for c in client.containers.list(all=True, filters={"label": [label, f"cv3.owner_pid={pid}"]}, ignore_removed=True):
    try:
        c.remove(force=True)
    except Exception:
        pass
"""
_REAPER_STARTED: set[int] = set()


def _start_reaper() -> None:
    import subprocess
    import sys

    if os.getpid() in _REAPER_STARTED:
        return
    _REAPER_STARTED.add(os.getpid())
    subprocess.Popen([sys.executable, "-c", REAPER, str(os.getpid()), LABEL], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     close_fds=True)


def remove_leftovers(client, *, only_dead_owners: bool = True) -> list[str]:
    """Remove cv3 worker containers whose grader process is gone (or all, if asked)."""
    removed = []
    # ignore_removed: a container that goes away between the list and its inspect (another sweep,
    # a reaper) must not abort the sweep with NotFound
    for c in client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True):
        owner = c.labels.get("cv3.owner_pid", "")
        host = c.labels.get("cv3.owner_host", "")
        alive = False
        if only_dead_owners and owner.isdigit() and host == os.uname().nodename:
            try:
                os.kill(int(owner), 0)
                alive = True
            except (ProcessLookupError, PermissionError):
                alive = False
        if not alive:
            try:
                c.remove(force=True)
                removed.append(c.name)
            except Exception:  # noqa: BLE001 - already gone
                pass
    return removed


@dataclass
class DockerSandbox:
    limits: Limits = field(default_factory=Limits)
    image: str = DEFAULT_IMAGE
    gpu: bool = False
    cpus: float = 1.0
    name: str = "docker"

    def __post_init__(self) -> None:
        self.client = docker_client()
        try:
            img = self.client.images.get(self.image)
        except Exception:  # noqa: BLE001
            raise DockerUnavailable(
                f"the grading image '{self.image}' does not exist; build it with `cv3 image build` "
                "(add --offline on machines without a container registry)"
            ) from None
        self.image_id = img.id
        self.image_python = img.labels.get("cv3.python", IMAGE_PYTHON)
        self.image_site = img.labels.get("cv3.site_packages", "")
        remove_leftovers(self.client)
        _start_reaper()
        self._root = scratch_dir("sandbox")
        self._worker_dir = self._root / "worker"
        self._worker_dir.mkdir()
        here = Path(__file__).resolve().parent
        for f in WORKER_FILES:
            shutil.copy(here / f, self._worker_dir / f)
        os.chmod(self._worker_dir, 0o755)
        for f in WORKER_FILES:
            os.chmod(self._worker_dir / f, 0o644)
        self._gpu_checked = False

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "docker",
            "isolation": "container",
            "image": self.image,
            "image_digest": self.image_id,
            "filesystem_isolated": True,
            "network_isolated": True,
            "cgroups": True,
            "gpu": self.gpu,
            "limits": asdict(self.limits) | {"cpus": self.cpus},
            "notes": [],
        }

    def _hidden_paths(self, hide_modules) -> list[str]:
        """Forbidden packages inside the image, covered by empty tmpfs mounts."""
        if not hide_modules or not self.image_site:
            return []
        return [f"{self.image_site}/{name.split('.')[0]}" for name in hide_modules]

    def start_worker(self, submission: Path | None, *, hide_modules=()) -> "DockerWorker":
        import docker

        lim = self.limits
        mounts = [docker.types.Mount(WORKER_MOUNT, str(self._worker_dir), type="bind", read_only=True)]
        if submission is not None:
            mounts.append(docker.types.Mount(SUBMISSION_MOUNT, str(submission), type="bind", read_only=True))
        # The working directory's tmpfs belongs to the worker's user: Docker resets the mode of a
        # tmpfs that is also the working directory to 0755 (root's), so mode=1777 alone leaves
        # HOME and the working directory unwritable.
        tmpfs = {"/tmp": f"size={lim.tmp_size_mb}m,mode=1777",
                 SANDBOX_HOME: f"size={lim.tmp_size_mb}m,mode=0700,uid={WORKER_UID},gid={WORKER_UID}"}
        for path in self._hidden_paths(hide_modules):
            tmpfs[path] = "size=1m,mode=755"
        device_requests = []
        if self.gpu:
            device_requests = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
        env = {"HOME": SANDBOX_HOME, "TMPDIR": SANDBOX_HOME, "OMP_NUM_THREADS": str(lim.threads),
               "MKL_NUM_THREADS": str(lim.threads), "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        if not self.gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        elif os.environ.get("CUDA_VISIBLE_DEVICES"):  # a grading node's GPU slot (harness.executors.node)
            env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        try:
            container = self._create(docker, lim, mounts, tmpfs, env, device_requests)
        except docker.errors.APIError as e:
            if self.gpu:
                raise _gpu_unavailable(e) from None
            raise
        try:
            sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            container.start()
        except BaseException as e:
            container.remove(force=True)
            if self.gpu and isinstance(e, docker.errors.APIError):
                raise _gpu_unavailable(e) from None
            raise
        return DockerWorker(container, sock, lim)

    def _create(self, docker, lim: Limits, mounts, tmpfs, env, device_requests):
        return self.client.containers.create(
            self.image,
            command=[self.image_python, "-I", "-B", f"{WORKER_MOUNT}/worker.py"],
            stdin_open=True, tty=False, detach=True,
            network_mode="none", read_only=True, tmpfs=tmpfs, mounts=mounts,
            mem_limit=f"{lim.memory_mb}m", memswap_limit=f"{lim.memory_mb}m",
            nano_cpus=int(self.cpus * 1e9), pids_limit=lim.max_processes,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], user=f"{WORKER_UID}:{WORKER_UID}",
            working_dir=SANDBOX_HOME, environment=env, device_requests=device_requests,
            ulimits=[docker.types.Ulimit(name="fsize", soft=lim.max_file_size_mb << 20,
                                         hard=lim.max_file_size_mb << 20),
                     docker.types.Ulimit(name="cpu", soft=lim.cpu_time_s, hard=lim.cpu_time_s + 5),
                     docker.types.Ulimit(name="core", soft=0, hard=0)],
            labels={LABEL: "1", "cv3.owner_pid": str(os.getpid()), "cv3.owner_host": os.uname().nodename},
            # the protocol and the submission's output go over the attach socket only: no container
            # log on the host's disk, where a flood of output would sit outside every limit
            log_config=docker.types.LogConfig(type=docker.types.LogConfig.types.NONE),
            shm_size=f"{lim.tmp_size_mb}m",
        )

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)


def _gpu_unavailable(e: Exception) -> Exception:
    """A container asking for GPUs could not start (no NVIDIA driver or container toolkit)."""
    from harness.sandbox import GPUUnavailable

    detail = getattr(e, "explanation", None) or str(e)
    return GPUUnavailable(
        f"a GPU was requested (--gpus) but Docker cannot give one to the container ({detail}); "
        "check `nvidia-smi` on the host and that the NVIDIA container toolkit is installed "
        "(`nvidia-ctk runtime configure --runtime=docker`, then restart dockerd), or grade without "
        "--gpus. Refusing to grade."
    )


class DockerWorker(WorkerProcess):
    """A worker in a container; same request/reply semantics as the local one."""

    def __init__(self, container, sock, limits: Limits) -> None:
        self.container = container
        self.sock = sock
        self.raw = getattr(sock, "_sock", sock)
        self.raw.setblocking(True)
        self.limits = limits
        self.submission_dir = SUBMISSION_MOUNT
        self.cgroup = None
        self.dead_reason = None
        self.dead_exit = ExitReason.DIED
        self._host_pid: int | None = None
        self._out = bytearray()
        self._err = bytearray()
        self._pending = bytearray()
        self._closed = False

    def _send(self, frame: bytes) -> None:
        try:
            self.raw.sendall(frame)
        except (BrokenPipeError, ConnectionError, OSError) as e:
            raise EOFError(str(e)) from None

    def _pump(self, deadline: float) -> None:
        """Read one chunk from the attach socket and demultiplex it."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([self.raw], [], [], left)
        if not ready:
            raise TimeoutError
        try:
            chunk = self.raw.recv(1 << 20)
        except (ConnectionError, socket.error) as e:
            raise EOFError(str(e)) from None
        if not chunk:
            raise EOFError("attach socket closed")
        self._pending += chunk
        while len(self._pending) >= 8:
            stream, size = self._pending[0], struct.unpack(">I", self._pending[4:8])[0]
            if len(self._pending) < 8 + size:
                break
            payload = bytes(self._pending[8:8 + size])
            del self._pending[:8 + size]
            if stream == 1:
                self._out += payload
            else:
                self._err = (self._err + payload)[-65536:]

    def _fill(self, view: memoryview, deadline: float) -> None:
        view[:] = self._read_exact(len(view), deadline)

    def _read_exact(self, n: int, deadline: float) -> bytes:
        while len(self._out) < n:
            self._pump(deadline)
        data = bytes(self._out[:n])
        del self._out[:n]
        return data

    def cpu_time_ns(self) -> int | None:
        """CPU time of the container's processes, read from the host's /proc."""
        if self._host_pid is None:
            try:
                self.container.reload()
                self._host_pid = int(self.container.attrs["State"]["Pid"]) or None
            except Exception:  # noqa: BLE001 - the engine does not say: no CPU clock
                return None
        return tree_cpu_time_ns(self._host_pid) if self._host_pid else None

    def _crashed(self, what: str, exit_reason: ExitReason = ExitReason.DIED) -> WorkerCrashed:
        reason = what
        try:
            self.container.kill()
        except Exception:  # noqa: BLE001 - already stopped
            pass
        try:
            self.container.reload()
            state = self.container.attrs.get("State", {})
            if state.get("OOMKilled"):
                exit_reason = ExitReason.MEMORY
                reason = f"killed: memory limit of {self.limits.memory_mb} MB exceeded"
            elif exit_reason is not ExitReason.TIMEOUT:
                code = state.get("ExitCode")
                if code == 137:
                    exit_reason, reason = ExitReason.SIGNAL, f"{what}; killed (SIGKILL)"
                elif code not in (None, 0):
                    exit_reason, reason = ExitReason.EXIT, f"{what}; exit status {code}"
        except Exception:  # noqa: BLE001
            pass
        tail = self.stderr_tail()
        if tail:
            reason += f"\n--- last output of the submission ---\n{tail}"
        self.dead_reason = reason
        self.dead_exit = exit_reason
        return WorkerCrashed(reason, exit_reason)

    def stderr_tail(self, limit: int = 1500) -> str:
        return bytes(self._err[-limit:]).decode("utf-8", "replace").strip()

    def kill(self) -> None:
        try:
            self.container.kill()
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.raw.close()
        except OSError:
            pass
        try:
            self.container.remove(force=True)
        except Exception:  # noqa: BLE001 - removed already (or the engine is gone)
            pass
