"""The one typed client of a worker: ``hello``, ``call``, ``vjp``, ``put`` and ``run``.

Everything that builds a request frame lives here (and in worker.py on the other side), so the
rest of the harness never spells a protocol dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from harness.sandbox.api import ExitReason, Worker, WorkerCrashed, WorkerError
from harness.sandbox.protocol import Handle


@dataclass
class Hello:
    ok: bool
    info: dict[str, Any] = field(default_factory=dict)
    api: dict[str, str] = field(default_factory=dict)  # name -> "function" | "class" | "missing" | "other"
    error: str = ""  # the import error, when ok is False


@dataclass
class RunTiming:
    """One timed run of a stashed call: the worker's CUDA-event time when it used a GPU (an
    untrusted claim), the output of the last call when asked for, and with ``fingerprint`` one
    summary per call of its output as it returned (also untrusted: checked on the trusted
    side against the baseline's; None when the reply had none)."""

    cuda_s: float | None = None
    output: Any = None
    fingerprints: list | None = None


SOFT_TIMEOUT_TYPE = "CV3SoftTimeout"  # the worker's exception for a call it interrupted itself


def _soft(timeout: float | None, limits) -> float:
    """The worker's own deadline: a little before the trusted side's hard one."""
    hard = limits.call_timeout_s if timeout is None else timeout
    return max(0.05, min(hard * 0.9, hard - 0.25))


def _autocast_state() -> dict[str, str]:
    import torch

    state = {}
    if torch.is_autocast_enabled("cpu"):
        state["cpu"] = str(torch.get_autocast_dtype("cpu")).removeprefix("torch.")
    if torch.cuda.is_available() and torch.is_autocast_enabled("cuda"):
        state["cuda"] = str(torch.get_autocast_dtype("cuda")).removeprefix("torch.")
    return state


class WorkerClient:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    @property
    def limits(self):
        return self.worker.limits

    def hello(self, *, package: str = "", api: Sequence[str] = (), forbidden_modules: Sequence[str] = (),
              seed: int = 0, threads: int = 1, baseline: bool = False, timeout: float | None = None,
              forbidden_apis: Sequence[str] = ()) -> Hello:
        message = {"op": "hello", "threads": threads, "seed": seed}
        if baseline:
            message["baseline"] = True
        else:
            message.update(package=package, api=list(api), forbidden_modules=list(forbidden_modules),
                           submission_dir=self.worker.submission_dir)
            if forbidden_apis:
                message["forbidden_apis"] = list(forbidden_apis)
        reply = self.worker.request(message, self.limits.start_timeout_s if timeout is None else timeout)
        if type(reply) is not dict or type(reply.get("ok")) is not bool:
            raise WorkerCrashed("the worker answered hello without a status")
        info = reply.get("info") if isinstance(reply.get("info"), dict) else {}
        api_reply = reply.get("api") if isinstance(reply.get("api"), dict) else {}
        return Hello(reply["ok"], info, {k: v for k, v in api_reply.items() if type(v) is str},
                     str(reply.get("error", "")))

    def call(self, target: str | Handle, args: Sequence[Any] = (), kwargs: dict | None = None, *,
             method: str = "", new: bool = False, timeout: float | None = None) -> Any:
        message = {"op": "call", "target": target, "args": list(args), "kwargs": dict(kwargs or {}),
                   "soft_timeout_s": _soft(timeout, self.limits)}
        autocast = _autocast_state()
        if autocast:  # a test calling under torch.autocast: the submission runs under it too
            message["autocast"] = autocast
        if method:
            message["method"] = method
        if new:
            message["new"] = True
        return self._soft_checked(message, timeout)

    def own_code(self, target: Handle, method: str, *, timeout: float | None = None) -> bool:
        """Whether the submission's package defines ``method`` of the object ``target`` (see
        the worker). The answer comes from the untrusted side: it may only withhold credit."""
        return self.worker.request({"op": "own_code", "target": target, "method": method}, timeout) is True

    def _soft_checked(self, message: dict, timeout: float | None) -> Any:
        """A call the worker interrupted at its own deadline is a timeout like any other, except
        that the worker lives on (no restart)."""
        try:
            return self.worker.request(message, timeout)
        except WorkerError as e:
            if e.type_name != SOFT_TIMEOUT_TYPE:
                raise
            limit = self.limits.call_timeout_s if timeout is None else timeout
            raise WorkerCrashed(f"timed out after {limit:g} s (call limit)", ExitReason.TIMEOUT,
                                alive=True) from None

    def vjp(self, target: str | Handle, args: Sequence[Any], kwargs: dict | None, wrt: Sequence[int],
            grad_outputs: Any = None, *, output: int | None = None, timeout: float | None = None) -> Any:
        return self._soft_checked({"op": "vjp", "target": target, "args": list(args),
                                   "kwargs": dict(kwargs or {}), "wrt": list(wrt),
                                   "grad_outputs": grad_outputs, "output": output,
                                   "soft_timeout_s": _soft(timeout, self.limits)}, timeout)

    def put(self, key: str, args: Sequence[Any], kwargs: dict | None = None, *,
            timeout: float | None = None) -> None:
        self.worker.request({"op": "put", "key": key, "args": list(args), "kwargs": dict(kwargs or {})},
                            timeout)

    def run(self, target: str, key: str | Sequence[str], number: int, *, cuda_events: bool = False,
            flush_l2: bool = False, return_output: bool = False, fingerprint: dict | None = None,
            keep: Sequence[str] = (), timeout: float | None = None) -> RunTiming:
        """Call the stashed ``key`` ``number`` times; the trusted side holds the clock. With a
        list of keys, call ``i`` uses ``key[i % len(key)]``. ``fingerprint`` (``{"limit": int |
        None, "probe": [fractions], "calls": [indices] | None}``) asks for a summary of the output
        of every call (or of those listed) as it returned;
        ``keep`` names keys whose last output the worker keeps for :meth:`outputs`."""
        message = {"op": "run", "target": target, "number": int(number), "cuda_events": cuda_events,
                   "flush_l2": flush_l2, "return_output": return_output}
        if isinstance(key, str):
            message["key"] = key
        else:
            message["keys"] = list(key)
        if fingerprint is not None:
            message["fingerprint"] = dict(fingerprint)
        if keep:
            message["keep"] = list(keep)
        reply = self.worker.request(message, timeout)
        if not isinstance(reply, dict):
            return RunTiming()
        cuda_s = reply.get("cuda_s")
        prints = reply.get("fingerprints")
        summarised = int(number) if fingerprint is None or fingerprint.get("calls") is None else len(
            fingerprint["calls"])
        return RunTiming(float(cuda_s) if type(cuda_s) in (int, float) else None, reply.get("output"),
                         prints if type(prints) is list and len(prints) == summarised else None)

    def outputs(self, keys: Sequence[str], *, release: str = "", timeout: float | None = None) -> list:
        """The outputs ``run`` kept for ``keys`` (None where none was kept); then, with
        ``release``, the worker forgets the stashed inputs and kept outputs under that prefix."""
        message: dict[str, Any] = {"op": "outputs", "keys": list(keys)}
        if release:
            message["release"] = release
        reply = self.worker.request(message, timeout)
        if type(reply) is not list or len(reply) != len(keys):
            raise ValueError("the worker's reply to an outputs request is not one value per key")
        return reply
