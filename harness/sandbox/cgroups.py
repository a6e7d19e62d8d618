"""Per-worker cgroups (v1 hierarchies, as on this kind of machine) for pids and memory.

Used only when the grader can create cgroups (usually root). RLIMIT_NPROC does not bind root,
and RLIMIT_AS counts address space rather than memory, so cgroups are the precise limits;
without them the local backend falls back to rlimits and says so in the report.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_cgroup(controller: str) -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                base = ROOT / controller / path.lstrip("/")
                return base if base.is_dir() else None
    except OSError:
        return None
    return None


class CgroupLimiter:
    def __init__(self, pids: Path | None, memory: Path | None) -> None:
        self.pids = pids
        self.memory = memory

    @staticmethod
    def available() -> bool:
        probe = CgroupLimiter.create(64, 8)
        ok = probe.pids is not None
        probe.destroy()
        return ok

    @classmethod
    def create(cls, memory_mb: int, max_processes: int) -> "CgroupLimiter":
        name = f"cv3-{uuid.uuid4().hex[:12]}"
        pids = memory = None
        base = _own_cgroup("pids")
        if base is not None:
            try:
                (base / name).mkdir()
                (base / name / "pids.max").write_text(str(max_processes))
                pids = base / name
            except OSError:
                pids = None
        base = _own_cgroup("memory")
        if base is not None:
            try:
                (base / name).mkdir()
                limit = str(memory_mb << 20)
                (base / name / "memory.limit_in_bytes").write_text(limit)
                swap = base / name / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    swap.write_text(limit)
                memory = base / name
            except OSError:
                memory = None
        return cls(pids, memory)

    def enter(self) -> None:
        """Called in the child before exec: move this process into the cgroups."""
        pid = str(os.getpid())
        for group in (self.pids, self.memory):
            if group is not None:
                (group / "cgroup.procs").write_text(pid)

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed a process of this cgroup (v1 ``oom_kill N`` counter),
        or, on kernels without that counter, the usage reached the limit."""
        if self.memory is None:
            return False
        try:
            for line in (self.memory / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
            peak = int((self.memory / "memory.max_usage_in_bytes").read_text())
            return peak >= int((self.memory / "memory.limit_in_bytes").read_text())
        except (OSError, ValueError):
            return False

    def kill_all(self) -> None:
        for group in (self.pids, self.memory):
            if group is None:
                continue
            for _ in range(50):
                try:
                    pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def destroy(self) -> None:
        self.kill_all()
        for group in (self.pids, self.memory):
            if group is not None:
                for _ in range(100):
                    try:
                        group.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        import time

                        time.sleep(0.02)
