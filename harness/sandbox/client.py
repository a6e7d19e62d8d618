"""The one typed client of a worker: ``hello``, ``call``, ``vjp``, ``put`` and ``run``.

Everything that builds a request frame lives here (and in worker.py on the other side), so the
rest of the harness never spells a protocol dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from harness.sandbox.api import Worker, WorkerCrashed
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
    untrusted claim), and the outputs of the last call when asked for."""

    cuda_s: float | None = None
    output: Any = None


class WorkerClient:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    @property
    def limits(self):
        return self.worker.limits

    def hello(self, *, package: str = "", api: Sequence[str] = (), forbidden_modules: Sequence[str] = (),
              seed: int = 0, threads: int = 1, baseline: bool = False, timeout: float | None = None) -> Hello:
        message = {"op": "hello", "threads": threads, "seed": seed}
        if baseline:
            message["baseline"] = True
        else:
            message.update(package=package, api=list(api), forbidden_modules=list(forbidden_modules),
                           submission_dir=self.worker.submission_dir)
        reply = self.worker.request(message, self.limits.start_timeout_s if timeout is None else timeout)
        if type(reply) is not dict or type(reply.get("ok")) is not bool:
            raise WorkerCrashed("the worker answered hello without a status")
        info = reply.get("info") if isinstance(reply.get("info"), dict) else {}
        api_reply = reply.get("api") if isinstance(reply.get("api"), dict) else {}
        return Hello(reply["ok"], info, {k: v for k, v in api_reply.items() if type(v) is str},
                     str(reply.get("error", "")))

    def call(self, target: str | Handle, args: Sequence[Any] = (), kwargs: dict | None = None, *,
             method: str = "", new: bool = False, timeout: float | None = None) -> Any:
        message = {"op": "call", "target": target, "args": list(args), "kwargs": dict(kwargs or {})}
        if method:
            message["method"] = method
        if new:
            message["new"] = True
        return self.worker.request(message, timeout)

    def vjp(self, target: str, args: Sequence[Any], kwargs: dict | None, wrt: Sequence[int],
            grad_outputs: Any = None, *, timeout: float | None = None) -> Any:
        return self.worker.request({"op": "vjp", "target": target, "args": list(args),
                                    "kwargs": dict(kwargs or {}), "wrt": list(wrt),
                                    "grad_outputs": grad_outputs}, timeout)

    def put(self, key: str, args: Sequence[Any], kwargs: dict | None = None, *,
            timeout: float | None = None) -> None:
        self.worker.request({"op": "put", "key": key, "args": list(args), "kwargs": dict(kwargs or {})},
                            timeout)

    def run(self, target: str, key: str, number: int, *, cuda_events: bool = False,
            flush_l2: bool = False, return_output: bool = False, timeout: float | None = None) -> RunTiming:
        """Call the stashed ``key`` ``number`` times; the trusted side holds the clock."""
        reply = self.worker.request({"op": "run", "target": target, "key": key, "number": int(number),
                                     "cuda_events": cuda_events, "flush_l2": flush_l2,
                                     "return_output": return_output}, timeout)
        if not isinstance(reply, dict):
            return RunTiming()
        cuda_s = reply.get("cuda_s")
        return RunTiming(float(cuda_s) if type(cuda_s) in (int, float) else None, reply.get("output"))
