"""What a sandbox backend and its workers promise the trusted side (typed, no torch).

A :class:`Sandbox` starts :class:`Worker` processes that hold one submission (or none: a clean
baseline worker) and nothing else. The trusted side talks to a worker only through
:class:`harness.sandbox.client.WorkerClient`; request dictionaries never leave this package.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from harness.manifest import Limits


class ExitReason(enum.Enum):
    """Why a worker stopped answering."""

    TIMEOUT = "timeout"  # a call ran past its time limit (the worker was killed)
    MEMORY = "memory"  # the memory limit was hit
    CPU_TIME = "cpu_time"  # RLIMIT_CPU
    FILE_SIZE = "file_size"  # RLIMIT_FSIZE
    SIGNAL = "signal"  # killed by another signal
    EXIT = "exit"  # the process exited (sys.exit, os._exit)
    DIED = "died"  # the channel closed for an unknown reason
    PROTOCOL = "protocol"  # a malformed or oversized reply


class SandboxUnavailable(RuntimeError):
    """No sandbox that isolates student code can be had here; the message names the fixes."""


class WorkerCrashed(Exception):
    """The worker died, timed out or broke the protocol; ``reason`` says which."""

    def __init__(self, message: str, reason: ExitReason = ExitReason.DIED, *, alive: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.alive = alive  # a call the worker interrupted itself: the worker still serves


class WorkerError(Exception):
    """An exception raised by submission code inside the worker."""

    def __init__(self, type_name: str, text: str, trace: str) -> None:
        super().__init__(text)
        self.type_name = type_name
        self.text = text
        self.trace = trace


@runtime_checkable
class Worker(Protocol):
    limits: Limits
    submission_dir: str

    def request(self, message: dict, timeout: float | None = None) -> Any:
        """Send one request frame, return the decoded reply value (sandbox package only)."""

    def cpu_time_ns(self) -> int | None:
        """CPU time used so far by the worker's processes, read on the trusted side (None: unknown)."""

    def kill(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Sandbox(Protocol):
    limits: Limits

    def start_worker(self, submission: Path | None, *, hide_modules: Sequence[str] = ()) -> Worker: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
