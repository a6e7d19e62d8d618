"""Per-worker cgroups for pids and memory: cgroup v1 hierarchies (as on this kind of machine) or a
delegated cgroup v2 subtree.

RLIMIT_NPROC does not bind root, and RLIMIT_AS counts address space rather than memory, so
cgroups are the precise limits. Without them the local backend falls back to rlimits, says so in
every report, and refuses to run as root unless the instructor accepts it (a fork bomb is not
bounded then). ``CV3_CGROUPS=off`` disables them (the test suite uses it to exercise that path).

cgroup v2: the grader's own cgroup must be delegated to it (root, or a systemd scope with
``Delegate=yes``, e.g. ``systemd-run --user --scope -p Delegate=yes cv3 grade ...``). Because a
cgroup v2 node with processes cannot enable controllers for its children, the grader first moves
itself into a leaf ``cv3-grader`` beside the workers' groups.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def disabled() -> bool:
    return os.environ.get("CV3_CGROUPS", "").lower() in ("off", "0", "no", "false")


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


def _v2_base() -> Path | None:
    """The grader's own cgroup v2 node, prepared to hold workers' groups; None without v2 or
    without delegation."""
    if not (ROOT / "cgroup.controllers").is_file():
        return None
    try:
        rel = next(line.split("::", 1)[1] for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.startswith("0::"))
        base = ROOT / rel.strip().lstrip("/")
        if base.name == "cv3-grader":  # moved there earlier by this process
            base = base.parent
        needed = {"memory", "pids"}
        if not needed <= set((base / "cgroup.controllers").read_text().split()):
            return None
        enabled = set((base / "cgroup.subtree_control").read_text().split())
        if not needed <= enabled:
            leaf = base / "cv3-grader"
            leaf.mkdir(exist_ok=True)
            (leaf / "cgroup.procs").write_text(str(os.getpid()))
            (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in needed - enabled))
        return base
    except (OSError, StopIteration, ValueError):
        return None


class CgroupLimiter:
    def __init__(self, pids: Path | None, memory: Path | None, v2: bool = False) -> None:
        self.pids = pids
        self.memory = memory
        self.v2 = v2

    @staticmethod
    def available() -> bool:
        if disabled():
            return False
        probe = CgroupLimiter.create(64, 8)
        ok = probe.pids is not None
        probe.destroy()
        return ok

    @classmethod
    def create(cls, memory_mb: int, max_processes: int) -> "CgroupLimiter":
        if disabled():
            return cls(None, None)
        name = f"cv3-{uuid.uuid4().hex[:12]}"
        base = _v2_base()
        if base is not None:
            group = base / name
            try:
                group.mkdir()
                (group / "pids.max").write_text(str(max_processes))
                (group / "memory.max").write_text(str(memory_mb << 20))
                swap = group / "memory.swap.max"
                if swap.exists():
                    swap.write_text("0")
                return cls(group, group, v2=True)
            except OSError:
                try:
                    group.rmdir()
                except OSError:
                    pass
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

    def _groups(self) -> list[Path]:
        return [self.pids] if self.v2 else [g for g in (self.pids, self.memory) if g is not None]

    def enter(self) -> None:
        """Called in the child before exec: move this process into the cgroups."""
        pid = str(os.getpid())
        for group in self._groups():
            (group / "cgroup.procs").write_text(pid)

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed a process of this cgroup (``oom_kill N`` in v1's
        memory.oom_control or v2's memory.events), or, on v1 kernels without that counter,
        the usage reached the limit."""
        if self.memory is None:
            return False
        try:
            source = "memory.events" if self.v2 else "memory.oom_control"
            for line in (self.memory / source).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
            if self.v2:
                return False
            peak = int((self.memory / "memory.max_usage_in_bytes").read_text())
            return peak >= int((self.memory / "memory.limit_in_bytes").read_text())
        except (OSError, ValueError):
            return False

    def kill_all(self) -> None:
        for group in self._groups():
            if self.v2 and (group / "cgroup.kill").exists():
                try:
                    (group / "cgroup.kill").write_text("1")
                except OSError:
                    pass
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
        for group in self._groups():
            for _ in range(100):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
