"""The local sandbox backend: the embedded default, no root and no services required.

Isolation, strongest available first:

* ``bubblewrap``: a fresh mount namespace holding only the Python installation, the worker and
  the submission (read-only), a size-capped tmpfs as the private working directory, and new
  user/pid/net/ipc/uts namespaces: hidden tests, the reference and the results store do not
  exist inside, and there is no network.
* ``none-trusted-code``: no sandbox, for trusted code only (the course's own references and
  samples), never chosen automatically: a plain child process with a scrubbed environment, a
  private working directory, ``unshare`` into new user, mount, network and pid namespaces where the
  kernel allows it (the reference tests, the results store and the Docker socket are covered by
  empty mounts), and, when the grader runs as root, an unprivileged uid. Every result graded this
  way is marked, and the reports and exports say so.

Without bubblewrap, ``auto`` refuses (SandboxUnavailable) and names the two ways out: install
bubblewrap, or grade in Docker.

Either way: a new session (the whole tree is killed on timeout), rlimits on CPU time, file
size and (without cgroups) address space and process count, and, when the grader runs as root
with a writable cgroup file system, a pids and memory cgroup per worker.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.manifest import Limits
from harness.sandbox import protocol
from harness.sandbox.api import ExitReason, SandboxUnavailable, WorkerCrashed, WorkerError
from harness.sandbox.cgroups import CgroupLimiter
from harness.tmp import scratch_dir

WORKER_FILES = ("worker.py", "protocol.py")
WORKER_MOUNT = "/cv3_worker"
SUBMISSION_MOUNT = "/submission"
SANDBOX_HOME = "/cv3_home"  # private, size-capped working directory inside the sandbox
# Python + torch already map ~3.5 GB of address space before any tensor exists.
ADDRESS_SPACE_ALLOWANCE_MB = 4096
# Process mode without bubblewrap: own user, network and pid namespaces where the kernel allows
# (no network; the grader's processes cannot be signalled from inside).
UNSHARE_ARGS = ("-rn", "--pid", "--fork", "--kill-child")
ISOLATIONS = ("auto", "bubblewrap", "none-trusted-code")
TRUSTED_ONLY = "none-trusted-code"
UNPRIVILEGED_UID = 65534  # nobody, for a worker of a grader running as root
NO_SANDBOX_HELP = ("install bubblewrap (apt-get install bubblewrap) for the local sandbox, or grade in "
                   "Docker (--backend docker, after `cv3 image build`). Only for the course's own trusted "
                   "code: --isolation none-trusted-code runs it without a sandbox, and marks every result")


def bubblewrap_available() -> bool:
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    try:
        probe = subprocess.run(
            [bwrap, "--unshare-all", "--ro-bind", "/", "/", "true"],
            capture_output=True, timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def network_unshare_available() -> bool:
    unshare = shutil.which("unshare")
    if not unshare:
        return False
    try:
        probe = subprocess.run([unshare, *UNSHARE_ARGS, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _module_dirs(names: list[str]) -> list[str]:
    dirs = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name.split(".")[0])
        except (ImportError, ValueError):
            continue
        if spec and spec.submodule_search_locations:
            dirs.extend(str(Path(p).resolve()) for p in spec.submodule_search_locations)
    return dirs


@dataclass
class LocalSandbox:
    """Starts workers; one per submission (plus clean baseline workers for speed checks)."""

    limits: Limits = field(default_factory=Limits)
    isolation: str = "auto"  # "auto" | "bubblewrap" | "process"
    gpu: bool = False
    name: str = "local"
    accept_no_cgroups: bool = False  # the instructor accepts grading as root without cgroups

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATIONS:
            raise ValueError(f"isolation={self.isolation!r}: allowed values are {', '.join(ISOLATIONS)}")
        if self.isolation in ("auto", "bubblewrap") and not bubblewrap_available():
            raise SandboxUnavailable(
                "no sandbox for student code: bubblewrap ('bwrap') is missing or cannot create "
                f"namespaces here. To grade, {NO_SANDBOX_HELP}")
        if self.isolation == "auto":
            self.isolation = "bubblewrap"
        self._netns = self.isolation == TRUSTED_ONLY and network_unshare_available()
        # root is exempt from RLIMIT_NPROC and may read everything: drop to nobody, where nobody
        # can run this Python at all (a venv under /root cannot be)
        self._drop_uid = self.isolation == TRUSTED_ONLY and os.geteuid() == 0 and _others_can_run(sys.executable)
        self._cgroups = CgroupLimiter.available()
        if not self._cgroups and os.geteuid() == 0 and not self.accept_no_cgroups:
            raise SandboxUnavailable(
                "no pids/memory cgroups can be created here (cgroup v1 not writable, no delegated cgroup v2 "
                "subtree, or CV3_CGROUPS=off) and the grader runs as root, whom the process limit does not "
                "bind: a fork bomb would not be stopped. Fix: run the grader as an ordinary user, give it a "
                "delegated cgroup (systemd-run --user --scope -p Delegate=yes cv3 grade ...), grade in "
                "Docker (--backend docker), or accept the risk with --accept-no-cgroups (every report says so)")
        self._root = scratch_dir("sandbox")
        self._worker_dir = self._root / "worker"
        self._worker_dir.mkdir()
        here = Path(__file__).resolve().parent
        for f in WORKER_FILES:
            shutil.copy(here / f, self._worker_dir / f)
        os.chmod(self._worker_dir, 0o755)

    def describe(self) -> dict[str, Any]:
        bw = self.isolation == "bubblewrap"
        notes = []
        if not bw:
            notes.append(
                "NOT SANDBOXED (--isolation none-trusted-code): for the course's own trusted code only. "
                "The filesystem is not isolated: the worker could read files the grader can read "
                "(the reference tests, the store and the Docker socket are covered where the kernel "
                "allows mount namespaces); never use it for student submissions")
        if not bw and os.geteuid() == 0 and not self._drop_uid:
            notes.append("the worker runs as root: this Python installation cannot be run by an "
                         "unprivileged user (install it outside /root to drop privileges)")
        if not (bw or self._netns):
            notes.append("network not isolated: no network namespace could be created here")
            notes.append("processes not isolated: the worker could signal the grader's processes")
        if not self._cgroups:
            notes.append(
                "no cgroups: memory is capped by address space (RLIMIT_AS) and processes by "
                "RLIMIT_NPROC for the whole user" + (
                    "; the grader runs as root, whom RLIMIT_NPROC does not bind (accepted with "
                    "--accept-no-cgroups)" if os.geteuid() == 0 else "")
            )
        return {
            "backend": self.name,
            "isolation": self.isolation,
            "trusted_code_only": not bw,
            "worker_uid": UNPRIVILEGED_UID if (bw or self._drop_uid) else os.geteuid(),
            "filesystem_isolated": bw,
            "network_isolated": bw or self._netns,
            "cgroups": self._cgroups,
            "limits": asdict(self.limits),
            "notes": notes,
        }

    # -- command line -----------------------------------------------------------------------
    def _python_roots(self) -> list[str]:
        roots = {str(Path(sys.base_prefix).resolve()), str(Path(sys.prefix).resolve())}
        exe = Path(sys.executable)
        roots.add(str(exe.parent.parent.resolve()) if exe.is_symlink() else str(exe.parent.parent))
        return sorted(r for r in roots if r not in ("/", "/usr"))

    def _bwrap_command(self, submission: Path | None, hide: list[str]) -> list[str]:
        cmd = [
            shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session",
            "--unshare-all", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
            # scratch space first, so that binds below it (a venv under /tmp) stay visible
            "--size", str(self.limits.tmp_size_mb << 20), "--tmpfs", "/tmp",
            "--size", str(self.limits.tmp_size_mb << 20), "--tmpfs", SANDBOX_HOME,
            "--ro-bind", "/usr", "/usr",
        ]
        for link in ("bin", "lib", "lib64", "sbin"):
            p = Path("/") / link
            if p.is_symlink():
                cmd += ["--symlink", os.readlink(p), str(p)]
            elif p.exists():
                cmd += ["--ro-bind", str(p), str(p)]
        for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
            if os.path.exists(etc):
                cmd += ["--ro-bind", etc, etc]
        for root in self._python_roots():
            cmd += ["--ro-bind", root, root]
        for d in hide:
            if any(d.startswith(r + "/") for r in self._python_roots()):
                cmd += ["--tmpfs", d]
        cmd += ["--ro-bind", str(self._worker_dir), WORKER_MOUNT]
        if submission is not None:
            cmd += ["--ro-bind", str(submission), SUBMISSION_MOUNT]
        # /dev and /dev/shm are size-capped tmpfs mounts (bubblewrap's own --dev is not) holding
        # only the harmless devices
        size = str(self.limits.tmp_size_mb << 20)
        cmd += ["--proc", "/proc", "--size", "65536", "--tmpfs", "/dev"]
        for dev in ("null", "zero", "full", "random", "urandom"):
            cmd += ["--dev-bind", f"/dev/{dev}", f"/dev/{dev}"]
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            cmd += ["--symlink", target, f"/dev/{name}"]
        cmd += ["--size", size, "--tmpfs", "/dev/shm", "--chdir", SANDBOX_HOME]
        if self.gpu:
            for dev in sorted(Path("/dev").glob("nvidia*")):
                cmd += ["--dev-bind", str(dev), str(dev)]
        cmd += ["--clearenv"]
        for k, v in self._env(SANDBOX_HOME).items():
            cmd += ["--setenv", k, v]
        return cmd + [sys.executable, "-I", "-B", f"{WORKER_MOUNT}/worker.py"]

    def _env(self, home: str) -> dict[str, str]:
        n = str(self.limits.threads)
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1"}
        if not self.gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        elif os.environ.get("CUDA_VISIBLE_DEVICES"):  # a grading node's GPU slot (harness.executors.node)
            env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        return env

    def _covered_paths(self) -> list[str]:
        from harness.manifest import repo_root

        root = repo_root()
        paths = [root / "reference", root / "results", Path("/var/run/docker.sock"), Path("/run/docker.sock")]
        return [str(p) for p in paths if p.exists()]

    def _preexec(self, cgroup: "CgroupLimiter | None"):
        limits = self.limits
        use_rlimit_mem = cgroup is None or not cgroup.memory
        drop_uid = getattr(self, "_drop_uid", False)

        def setup() -> None:  # runs in the child between fork and exec
            die_with_parent()
            if cgroup is not None:
                cgroup.enter()
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_time_s, limits.cpu_time_s + 5))
            fsize = limits.max_file_size_mb << 20
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if use_rlimit_mem:
                mem = (limits.memory_mb + ADDRESS_SPACE_ALLOWANCE_MB) << 20
                resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            if cgroup is None or not cgroup.pids:
                running = _count_user_processes(UNPRIVILEGED_UID if drop_uid else None)
                n = running + limits.max_processes
                resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
            if drop_uid:  # root is exempt from RLIMIT_NPROC and may read everything: never run as root
                os.setgroups([])
                os.setgid(UNPRIVILEGED_UID)
                os.setuid(UNPRIVILEGED_UID)

        return setup

    # -- workers ----------------------------------------------------------------------------
    def start_worker(self, submission: Path | None, *, hide_modules: list[str] = ()) -> "WorkerProcess":
        """Start a worker. ``submission`` is a staged folder holding the package (read-only
        inside), or None for a clean baseline worker holding no student code."""
        home = Path(tempfile.mkdtemp(prefix="home_", dir=self._root))
        hide = _module_dirs(list(hide_modules))
        if self.isolation == "bubblewrap":
            cmd = self._bwrap_command(submission, hide)
            env = self._env(SANDBOX_HOME)
            submission_dir = SUBMISSION_MOUNT
        else:
            cmd = [sys.executable, "-I", "-B", str(self._worker_dir / "worker.py")]
            if self._netns:
                # a mount namespace too: empty mounts over what a worker must never read
                covers = " ".join(f"mount -t tmpfs -o size=4k cv3 {shlex.quote(p)} 2>/dev/null;"
                                  if os.path.isdir(p) else
                                  f"mount --bind /dev/null {shlex.quote(p)} 2>/dev/null;"
                                  for p in self._covered_paths())
                cmd = [shutil.which("unshare"), "-m", *UNSHARE_ARGS, "sh", "-c",
                       f"{covers} exec \"$@\"", "cv3-worker", *cmd]
            env = self._env(str(home))
            if self._drop_uid:
                os.chmod(home, 0o777)
            submission_dir = str(submission) if submission is not None else ""
        cgroup = CgroupLimiter.create(self.limits.memory_mb, self.limits.max_processes) \
            if self._cgroups else None
        stderr_path = home / "stderr.log"
        stderr = open(stderr_path, "wb")
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=str(home), env=env, start_new_session=True, close_fds=True,
                preexec_fn=self._preexec(cgroup),
            )
        except BaseException:
            stderr.close()
            if cgroup:
                cgroup.destroy()
            shutil.rmtree(home, ignore_errors=True)
            raise
        finally:
            pass
        stderr.close()
        return WorkerProcess(proc, home, stderr_path, submission_dir, cgroup, self.limits)

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def _process_cpu_ns(pid: int) -> int:
    """CPU time of one process, threads that have already exited included: the kernel's
    per-process CPU clock (clockid ((~pid) << 3) | 2, CPUCLOCK_SCHED), else the live threads'
    /proc/<pid>/task/<tid>/schedstat."""
    try:
        return time.clock_gettime_ns(((~pid) << 3) | 2)
    except (OSError, OverflowError, ValueError):
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total


def tree_cpu_time_ns(pid: int) -> int | None:
    """Nanoseconds on a CPU of ``pid`` and all its live descendants (every thread, also those
    that have exited); None where that cannot be read."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            total += _process_cpu_ns(p)
        except (OSError, ValueError, IndexError):
            if p == pid:
                return None
            continue
        todo += _children(p)
    return total


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (PR_SET_PDEATHSIG), so that
    nothing outlives a grader killed with SIGKILL. Best effort: Linux only."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _others_can_run(executable: str) -> bool:
    """Whether a user without privileges can reach and execute ``executable`` (every folder on
    the way searchable by others, the file executable by others)."""
    path = Path(executable).resolve()
    try:
        if not path.stat().st_mode & 0o001:
            return False
        return all(p.stat().st_mode & 0o001 for p in path.parents)
    except OSError:
        return False


def _count_user_processes(uid: int | None = None) -> int:
    uid, n = (os.getuid() if uid is None else uid), 0
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        n += int(len(os.listdir(f"/proc/{entry}/task")))
                except OSError:
                    pass
    except OSError:
        return 256
    return n


class WorkerProcess:
    """Trusted-side handle on one running worker: request/reply with timeouts, and kill."""

    def __init__(self, proc, home, stderr_path, submission_dir, cgroup, limits: Limits) -> None:
        self.proc = proc
        self.home = home
        self.stderr_path = stderr_path
        self.submission_dir = submission_dir
        self.cgroup = cgroup
        self.limits = limits
        self.dead_reason: str | None = None
        self.dead_exit = ExitReason.DIED

    def request(self, message: dict, timeout: float | None = None) -> Any:
        """Send one request and return the decoded ``value``; raises WorkerError for an
        exception in submission code and WorkerCrashed when the worker is gone."""
        if self.dead_reason:
            raise WorkerCrashed(self.dead_reason, self.dead_exit)
        timeout = self.limits.call_timeout_s if timeout is None else timeout
        try:
            frame = protocol.encode(message)
            self._send(frame)
            body = self._read_frame(timeout)
            reply = protocol.decode(body)
        except TimeoutError:  # before OSError, of which it is a subclass
            raise self._crashed(f"timed out after {timeout:g} s (call limit)", ExitReason.TIMEOUT) from None
        except (BrokenPipeError, EOFError, OSError) as e:
            raise self._crashed(f"the worker died ({type(e).__name__})") from None
        except protocol.ProtocolError as e:
            raise self._crashed(f"the worker sent a malformed reply: {e}", ExitReason.PROTOCOL) from None
        if type(reply) is not dict or type(reply.get("ok")) is not bool:
            raise self._crashed("the worker sent a reply without a status", ExitReason.PROTOCOL)
        if message.get("op") == "hello":
            return reply
        if not reply["ok"]:
            raise WorkerError(str(reply.get("type", "Exception")), str(reply.get("text", "")),
                              str(reply.get("error", "")))
        return reply.get("value")

    def _read_frame(self, timeout: float) -> bytes:
        """One reply, size-checked before anything is allocated: the frame against the reply
        budget (``max_reply_mb``), its JSON header against protocol.MAX_REPLY_HEADER_BYTES."""
        deadline = time.monotonic() + timeout
        header = self._read_exact(8, deadline)
        n = int.from_bytes(header, "little")
        budget = self.limits.max_reply_mb << 20
        if n > min(budget, protocol.MAX_FRAME_BYTES):
            raise protocol.ProtocolError(f"a reply of {n} bytes exceeds the reply budget of "
                                         f"{self.limits.max_reply_mb} MB ([limits] max_reply_mb)")
        if n < 4:
            raise protocol.ProtocolError("truncated frame")
        head = self._read_exact(4, deadline)
        hlen = int.from_bytes(head, "little")
        if hlen > protocol.MAX_REPLY_HEADER_BYTES or hlen > n - 4:
            raise protocol.ProtocolError(f"a reply header of {hlen} bytes exceeds "
                                         f"{protocol.MAX_REPLY_HEADER_BYTES} bytes")
        body = bytearray(n)
        body[:4] = head
        self._fill(memoryview(body)[4:], deadline)
        return body

    # -- transport (overridden by other backends) --------------------------------------------
    def _send(self, frame: bytes) -> None:
        protocol.write_all(self.proc.stdin.fileno(), frame)

    def _read_exact(self, n: int, deadline: float) -> bytes:
        buf = bytearray(n)
        self._fill(memoryview(buf), deadline)
        return bytes(buf)

    def _fill(self, view: memoryview, deadline: float) -> None:
        """Fill ``view`` from the worker's reply pipe in place (no second copy of a large reply)."""
        fd = self.proc.stdout.fileno()
        n, pos = len(view), 0
        while pos < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            got = os.readv(fd, [view[pos:pos + (1 << 20)]])
            if not got:
                raise EOFError
            pos += got

    def _crashed(self, what: str, reason: ExitReason = ExitReason.DIED) -> WorkerCrashed:
        self.kill()
        code = self.proc.returncode
        message = what
        if reason is ExitReason.TIMEOUT:
            pass  # killed by us: the exit status says nothing more
        elif self.cgroup is not None and self.cgroup.oom_killed():
            reason, message = ExitReason.MEMORY, f"killed: memory limit of {self.limits.memory_mb} MB exceeded"
        elif code is not None and (code < 0 or code - 128 in signal.Signals._value2member_map_):
            # a plain child reports -signal; under bubblewrap its init exits with 128 + signal
            sig = -code if code < 0 else code - 128
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
            if sig == signal.SIGXCPU:
                reason, message = ExitReason.CPU_TIME, f"killed: CPU time limit of {self.limits.cpu_time_s} s exceeded"
            elif sig == signal.SIGXFSZ:
                reason = ExitReason.FILE_SIZE
                message = f"killed: file size limit of {self.limits.max_file_size_mb} MB exceeded"
            else:
                reason, message = ExitReason.SIGNAL, f"{what}; killed by signal {name}"
        elif code is not None:
            reason, message = ExitReason.EXIT, f"{what}; exit status {code}"
        tail = self.stderr_tail()
        if tail:
            message += f"\n--- last output of the submission ---\n{tail}"
        self.dead_reason = message
        self.dead_exit = reason
        return WorkerCrashed(message, reason)

    def cpu_time_ns(self) -> int | None:
        """On-CPU time of the worker's whole process tree, from /proc on the trusted side."""
        return tree_cpu_time_ns(self.proc.pid)

    def stderr_tail(self, limit: int = 1500) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - limit))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.cgroup is not None:
            self.cgroup.kill_all()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Stop the worker and remove everything it left on the host."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.cgroup is not None:
            self.cgroup.destroy()
        shutil.rmtree(self.home, ignore_errors=True)
