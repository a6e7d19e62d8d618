"""The trusted side's view of a submission: a session on its worker and the ``student`` proxy.

Tests call ``student.nms(boxes, scores, 0.5)``; the proxy encodes the arguments, the worker runs
the submission's function, and the proxy returns freshly decoded plain values. Exceptions from
submission code come back as the matching built-in type (so ``pytest.raises(ValueError)``
works as it does locally) or as :class:`StudentException`; a dead or hung worker raises
:class:`StudentCrash`. Neither can be mistaken for a pass.

Hangs cost bounded time: a function that timed out is not called again (every later call of it
fails at once, saying so), and once the submission has lost ``hang_budget_s`` to timed-out calls,
every remaining call gets the short ``call_timeout_after_hangs_s``.
"""

from __future__ import annotations

import builtins
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from harness.sandbox.api import ExitReason, WorkerCrashed, WorkerError
from harness.sandbox.client import WorkerClient
from harness.sandbox.protocol import Handle

MAPPED_EXCEPTIONS = {
    name: getattr(builtins, name)
    for name in ("ValueError", "TypeError", "IndexError", "KeyError", "RuntimeError",
                 "NotImplementedError", "ZeroDivisionError", "AttributeError", "OverflowError")
}


class StudentException(Exception):
    """Submission code raised an exception type that tests never expect."""


class StudentCrash(Exception):
    """The submission's worker died, hung, or could not import the package."""


class StudentSession:
    """One submission's worker: started lazily, restarted after a crash (a few times), and
    held to the assignment's total time budget and hang budget."""

    def __init__(self, sandbox, staged: Path | None, *, package: str, api: Sequence[str],
                 forbidden_modules: Sequence[str] = (), seed: int = 0,
                 total_timeout_s: float = 900.0, max_restarts: int = 8,
                 max_crashes_per_target: int = 2, baseline: bool = False,
                 forbidden_apis: Sequence[str] = ()) -> None:
        self.sandbox = sandbox
        self.staged = staged
        self.package = package
        self.api_names = list(api)
        self.forbidden = list(forbidden_modules)
        self.forbidden_apis = list(forbidden_apis)
        self.seed = seed
        self.total_timeout_s = total_timeout_s
        self.max_restarts = max_restarts
        self.max_crashes_per_target = max_crashes_per_target
        self.baseline = baseline
        self.crashes_by_target: dict[str, int] = {}
        self.hung: dict[str, float] = {}  # target -> the timeout it ran into
        self.hang_time_s = 0.0
        self.hang_restarts = 0  # workers killed for a hang (not counted as crashes)
        self.client: WorkerClient | None = None
        self.api: dict[str, str] = {}
        self.info: dict[str, Any] = {}
        self.fatal: str | None = None
        self.import_error: str | None = None
        self.crashes: list[str] = []
        self.starts = 0
        self.start_time_s = 0.0
        self.call_time_s = 0.0
        self.calls = 0
        self.created = time.monotonic()
        # (API name, "returned" | "raised" | "crashed") per call, cleared by the test runner
        # before each test: tests that pass only because everything raised earn nothing alone
        self.events: list[tuple[str, str]] = []
        self.library_methods: dict[str, bool] = {}  # "Class.method" -> defined by a library class

    @property
    def worker(self):
        return self.client.worker if self.client is not None else None

    @property
    def limits(self):
        return self.sandbox.limits

    def start(self) -> None:
        # restarts after a hang do not count: hangs are bounded by the hang budget instead
        if self.starts - self.hang_restarts > self.max_restarts:
            self.fatal = (f"the worker crashed {len(self.crashes)} times; giving up on the "
                          f"remaining checks. Last crash: {self.crashes[-1]}")
            raise StudentCrash(self.fatal)
        self.starts += 1
        t0 = time.perf_counter()
        worker = self.sandbox.start_worker(self.staged, hide_modules=[] if self.baseline else self.forbidden)
        client = WorkerClient(worker)
        try:
            if self.baseline and self.staged is None:
                hello = client.hello(baseline=True, seed=self.seed)
            else:
                hello = client.hello(package=self.package, api=self.api_names,
                                     forbidden_modules=self.forbidden, seed=self.seed,
                                     forbidden_apis=self.forbidden_apis)
        except WorkerCrashed as e:
            worker.close()
            self.import_error = f"the worker died while starting or importing the package: {e}"
            self.fatal = (f"the package '{self.package}' could not be imported, so nothing in it "
                          "could be called (the error is at the top of the report)")
            raise StudentCrash(self.fatal) from None
        except BaseException:  # Ctrl-C or SIGTERM while it starts: never leave it running
            worker.close()
            raise
        finally:
            self.start_time_s += time.perf_counter() - t0
        self.info = hello.info
        if not hello.ok:
            worker.close()
            self.import_error = hello.error
            self.fatal = (f"the package '{self.package}' could not be imported, so nothing in it "
                          "could be called (the error is at the top of the report)")
            raise StudentCrash(self.fatal)
        self.client = client
        self.api = {k: v for k, v in hello.api.items() if k in self.api_names}

    def restart(self) -> None:
        """A fresh worker (e.g. an untrained model for a baseline)."""
        self.close()
        self.start()

    # -- typed requests --------------------------------------------------------------------------
    def call(self, target: str | Handle, args: Sequence[Any] = (), kwargs: dict | None = None, *,
             method: str = "", new: bool = False, timeout: float | None = None, label: str = "") -> Any:
        label = label or (target if isinstance(target, str) else "<object method>")
        # a method a library class defines (nn.Module.state_dict, .parameters) returns real values
        # without any of the submission's code: its calls are no evidence the class works
        record = not (method and method != "__call__" and isinstance(target, Handle)
                      and self._library_method(target, method, label))
        return self._guarded(label, timeout, lambda c, t: c.call(target, args, kwargs, method=method,
                                                                 new=new, timeout=t), record=record)

    def _library_method(self, target: Handle, method: str, label: str) -> bool:
        if self.baseline:
            return False
        if label not in self.library_methods:
            try:
                own = self._guarded(f"<own code {label}>", None,
                                    lambda c, t: c.own_code(target, method, timeout=t), record=False)
            except StudentException:  # e.g. no such attribute: the call itself will say so
                own = True
            self.library_methods[label] = not own
        return self.library_methods[label]

    def vjp(self, target: str | Handle, args, kwargs, wrt, grad_outputs=None, output=None, *,
            label: str = "") -> Any:
        label = label or (target if isinstance(target, str) else "<object call>")
        return self._guarded(label, None, lambda c, t: c.vjp(target, args, kwargs, wrt, grad_outputs,
                                                             output=output, timeout=t))

    def put(self, key: str, args, kwargs=None, *, timeout: float | None = None) -> None:
        self._guarded(f"<stash {key}>", timeout, lambda c, t: c.put(key, args, kwargs, timeout=t))

    def run(self, target: str, key: str, number: int, *, timeout: float | None = None, **kw):
        return self._guarded(target, timeout, lambda c, t: c.run(target, key, number, timeout=t, **kw))

    def outputs(self, target: str, keys, *, release: str = "", timeout: float | None = None) -> list:
        """The outputs a speed check's timed runs of ``target`` kept (see WorkerClient.outputs)."""
        return self._guarded(target, timeout, lambda c, t: c.outputs(keys, release=release, timeout=t))

    def cpu_time_ns(self) -> int | None:
        worker = self.worker
        return worker.cpu_time_ns() if worker is not None else None

    # -- the guard every request goes through ----------------------------------------------------
    def _timeout(self, asked: float | None) -> float:
        timeout = self.limits.call_timeout_s if asked is None else asked
        if self.hang_time_s >= self.limits.hang_budget_s:
            timeout = min(timeout, self.limits.call_timeout_after_hangs_s)
        return timeout

    def _guarded(self, target: str, timeout: float | None, send: Callable[[WorkerClient, float], Any],
                 record: bool = True) -> Any:
        if self.fatal:
            raise StudentCrash(self.fatal)
        if target in self.hung:
            raise StudentCrash(f"'{target}' hung earlier (no reply within {self.hung[target]:g} s); "
                               "it is not called again")
        if self.crashes_by_target.get(target, 0) >= self.max_crashes_per_target:
            raise StudentCrash(f"'{target}' crashed the worker "
                               f"{self.crashes_by_target[target]} times; it is not called again")
        if time.monotonic() - self.created > self.total_timeout_s:
            self.fatal = f"the submission used up its total time budget of {self.total_timeout_s:g} s"
            self.close()
            raise StudentCrash(self.fatal)
        if self.client is None:
            self.start()
        limit = self._timeout(timeout)
        t0 = time.perf_counter()
        api_name = target.split(".")[0]
        try:
            value = send(self.client, limit)
            if record:
                self.events.append((api_name, "object" if isinstance(value, Handle) else
                                    "trivial" if trivial(value) else "returned"))
            return value
        except WorkerCrashed as e:
            if record:
                self.events.append((api_name, "crashed"))
            self.crashes.append(f"{target}: {e}")
            if e.reason is ExitReason.TIMEOUT:
                message = self._hung(target, limit, str(e))
            else:
                self.crashes_by_target[target] = self.crashes_by_target.get(target, 0) + 1
                message = str(e)
            if not e.alive:  # interrupted inside the worker at its own deadline: it serves on
                self.hang_restarts += e.reason is ExitReason.TIMEOUT
                self.close()
            raise StudentCrash(message) from None
        except WorkerError as e:
            if record:
                self.events.append((api_name, "raised"))
            raise _student_exception(e) from None
        finally:
            self.call_time_s += time.perf_counter() - t0
            self.calls += 1

    def _hung(self, target: str, limit: float, what: str) -> str:
        """Record a call that ran into its limit; the message says what happens next."""
        self.hung[target] = limit
        self.hang_time_s += limit
        budget = self.limits.hang_budget_s
        note = ("" if self.hang_time_s < budget else
                f" The submission has now lost {self.hang_time_s:g} s to calls that hung (budget "
                f"{budget:g} s): its remaining calls get {self.limits.call_timeout_after_hangs_s:g} s each.")
        return f"{what}{note}"

    def close(self) -> None:
        if self.client is not None:
            self.client.worker.close()
            self.client = None


def trivial(value: Any, depth: int = 0) -> bool:
    """Whether a result carries no information a test could check beyond its shape: empty or
    all-zero tensors and arrays, zeros, False, None, empty containers (or containers of those)."""
    import numpy as np
    import torch

    if depth > 8:
        return False
    if value is None or value is False:
        return True
    if isinstance(value, torch.Tensor):
        return value.numel() == 0 or not bool(value.detach().ne(0).any())
    if isinstance(value, np.ndarray):
        return value.size == 0 or not bool(np.any(value != 0))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, (list, tuple)):
        return all(trivial(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(trivial(v, depth + 1) for v in value.values())
    return False


def _student_exception(e: WorkerError) -> Exception:
    cls = MAPPED_EXCEPTIONS.get(e.type_name)
    exc = cls(e.text) if cls is not None else StudentException(f"{e.type_name}: {e.text}")
    if e.trace:
        exc.add_note(f"traceback in the submission:\n{e.trace[-2500:]}")
    return exc


def _to_wire(value: Any) -> Any:
    if isinstance(value, RemoteObject):
        return Handle(value._handle)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_wire(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    return value


def _from_wire(value: Any) -> Any:
    if isinstance(value, Handle):
        raise StudentException("the submission returned an object where a tensor or plain value was expected")
    return value


class RemoteStudent:
    """The ``student`` object of graded tests (see harness/testkit.py for the local twin)."""

    def __init__(self, session: StudentSession) -> None:
        self._session = session

    def _ensure_started(self) -> None:
        if self._session.client is None and not self._session.fatal:
            self._session.start()
        if self._session.fatal:
            raise StudentCrash(self._session.fatal)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._session.api_names:
            raise AttributeError(f"'{name}' is not part of this assignment's API")
        self._ensure_started()
        kind = self._session.api.get(name, "missing")
        if kind == "missing":
            raise AttributeError(f"the submission's package does not define '{name}'")
        if kind == "class":
            return RemoteClass(self._session, name)
        return RemoteFunction(self._session, name)

    def vjp(self, name: str | RemoteObject, args: Sequence[Any], kwargs: dict | None = None,
            wrt: Sequence[int] = (0,), grad_outputs=None, output: int | None = None):
        """As :meth:`LocalStudent.vjp`: ``name`` is an API function's name or an object a student
        class made in the worker (e.g. an ``nn.Module``), which is called there."""
        if isinstance(name, RemoteObject):  # the gradient through the object's __call__ (forward)
            target, label = Handle(name._handle), f"{name._cls}.__call__"
        elif isinstance(name, str):
            if name not in self._session.api_names:
                raise AttributeError(f"'{name}' is not part of this assignment's API")
            target, label = name, name
        else:
            raise TypeError(f"vjp needs an API name or an object of a student class, got {type(name).__name__}")
        out = self._session.vjp(target, _to_wire(list(args)), _to_wire(kwargs or {}), list(wrt), grad_outputs,
                                output, label=label)
        if not isinstance(out, list) or len(out) != 2 or not isinstance(out[1], list):
            raise StudentException("vjp: malformed reply from the submission")
        return out[0], out[1]


class RemoteFunction:
    def __init__(self, session: StudentSession, name: str) -> None:
        self._session = session
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _from_wire(self._session.call(self._name, _to_wire(list(args)), _to_wire(kwargs)))

    def __repr__(self) -> str:
        return f"<student function {self._name}>"


class RemoteClass(RemoteFunction):
    def __call__(self, *args: Any, **kwargs: Any) -> "RemoteObject":
        handle = self._session.call(self._name, _to_wire(list(args)), _to_wire(kwargs), new=True)
        if not isinstance(handle, Handle):
            raise StudentException(f"constructing {self._name} did not return an object")
        return RemoteObject(self._session, handle.id, self._name)


class RemoteObject:
    """An instance living in the worker (e.g. an nn.Module); calls and methods forward."""

    def __init__(self, session: StudentSession, handle: int, cls: str) -> None:
        self._session = session
        self._handle = handle
        self._cls = cls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._method("__call__")(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._method(name)

    def _method(self, method: str):
        def call(*args: Any, **kwargs: Any) -> Any:
            return _from_wire(self._session.call(Handle(self._handle), _to_wire(list(args)), _to_wire(kwargs),
                                                 method=method, label=f"{self._cls}.{method}"))
        return call
