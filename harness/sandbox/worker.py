"""The sandboxed worker: imports the submission and executes the calls it is sent.

Runs inside the sandbox as ``python -I worker.py``, next to a copy of ``protocol.py``. It holds
no test, no expected value and no score: everything it says is an untrusted claim that the
trusted side validates. Requests arrive on stdin; replies leave on a private duplicate of the
original stdout, and fd 1 is pointed at stderr so that a submission's prints can never be
mistaken for a reply.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import signal
import sys
import time
import traceback

REPLY_FD = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402  (a copy of harness/sandbox/protocol.py lives beside this file)
import torch  # noqa: E402


class ForbiddenImport(importlib.abc.MetaPathFinder):
    """Refuses modules the assignment forbids (e.g. ``torchvision`` in an ops assignment).

    A deterrent only: the trusted side also hides those packages from the sandbox's file
    system where the backend can, and scans the source."""

    def __init__(self, prefixes: list[str]) -> None:
        self.prefixes = prefixes

    def find_spec(self, fullname, path=None, target=None):
        for p in self.prefixes:
            if fullname == p or fullname.startswith(p + "."):
                # A spec whose loading fails: an import raises ImportError with the message, while
                # a mere probe (importlib.util.find_spec) sees a module without origin. torch's
                # first optimizer imports torch._dynamo, which probes sklearn, numpy, pandas, ...
                message = (f"import of '{fullname}' is not allowed in this assignment "
                           f"(forbidden: {', '.join(self.prefixes)})")
                return importlib.machinery.ModuleSpec(fullname, _RefusedLoader(message), origin=None)
        return None


class _RefusedLoader(importlib.abc.Loader):
    def __init__(self, message: str) -> None:
        self.message = message

    def create_module(self, spec):
        raise ImportError(self.message)

    def exec_module(self, module):  # pragma: no cover - create_module raises first
        raise ImportError(self.message)


FORBIDDEN_API_MESSAGE = ("{name} is not allowed in this assignment (a forbidden API of the manifest: write it "
                         "yourself, see the README)")


class ForbiddenAPIError(RuntimeError):
    """Raised by a call of a function or class that the assignment forbids."""


def _resolve_api(dotted: str):
    """``(parent, object)`` at a dotted path (``torch.nn.functional.scaled_dot_product_attention``):
    the longest importable module prefix, then attributes; None if it does not exist."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001 - not a module at this depth
            continue
        parent = obj
        try:
            for attr in parts[i:]:
                parent, obj = obj, getattr(obj, attr)
        except AttributeError:
            return None
        return parent, obj
    return None


def _blocker(dotted: str, original):
    message = FORBIDDEN_API_MESSAGE.format(name=dotted)
    if isinstance(original, type):
        def refuse(*args, **kwargs):
            raise ForbiddenAPIError(message)

        # a class stays a class (isinstance checks in torch keep working) that cannot be
        # instantiated or subclassed
        return type(original.__name__, (), {"__init__": refuse, "__new__": refuse,
                                            "__init_subclass__": classmethod(refuse), "__module__": original.__module__,
                                            "__doc__": message})

    def blocked(*args, **kwargs):
        raise ForbiddenAPIError(message)

    blocked.__name__ = getattr(original, "__name__", dotted.rsplit(".", 1)[1])
    blocked.__doc__ = message
    return blocked


def block_apis(names: list[str]) -> list[str]:
    """Replace every forbidden function or class (and every module attribute of the same
    library that refers to the same object, e.g. ``torch.nn.modules.activation.MultiheadAttention``
    for ``torch.nn.MultiheadAttention``) by a blocker that raises :class:`ForbiddenAPIError`.
    Runs before the student's package is imported. Returns the names it blocked."""
    by_id: dict[int, tuple[object, object]] = {}
    roots: set[str] = set()
    done = []
    for dotted in names:
        found = _resolve_api(dotted)
        if found is None:
            continue
        parent, original = found
        if id(original) not in by_id:
            by_id[id(original)] = (original, _blocker(dotted, original))
        try:  # the named place itself (its module may be missing from sys.modules, e.g. torch._C._nn)
            setattr(parent, dotted.rsplit(".", 1)[1], by_id[id(original)][1])
        except (AttributeError, TypeError):
            pass
        roots.add(dotted.split(".")[0])
        done.append(dotted)
    if not by_id:
        return done
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in roots:
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            hit = by_id.get(id(value))
            if hit is not None and hit[0] is value:
                try:
                    setattr(module, attr, hit[1])
                except (AttributeError, TypeError):
                    namespace[attr] = hit[1]
    return done


class Worker:
    def __init__(self) -> None:
        self.package = None
        self.api: dict[str, str] = {}
        self.handles: dict[int, object] = {}
        self.stash: dict[str, object] = {}
        self.baseline = False

    # -- requests --------------------------------------------------------------------------
    def hello(self, req: dict) -> dict:
        torch.set_num_threads(int(req.get("threads", 1)))
        torch.manual_seed(int(req.get("seed", 0)))
        self.baseline = bool(req.get("baseline", False))
        info = {"python": sys.version.split()[0], "torch": torch.__version__,
                "cuda": torch.cuda.is_available()}
        if self.baseline:
            return {"ok": True, "info": info, "api": {}}
        forbidden = list(req.get("forbidden_modules", []))
        for name in list(sys.modules):
            if any(name == p or name.startswith(p + ".") for p in forbidden):
                del sys.modules[name]
        sys.meta_path.insert(0, ForbiddenImport(forbidden))
        block_apis(list(req.get("forbidden_apis", [])))  # before the package is imported
        global SUBMISSION_DIR
        SUBMISSION_DIR = req["submission_dir"]
        sys.path.insert(0, SUBMISSION_DIR)
        try:
            self.package = importlib.import_module(req["package"])
        except BaseException as e:  # noqa: BLE001 - any failure to import is the student's
            return {"ok": False, "error": _format_exc(e), "info": info}
        for name in req.get("api", []):
            obj = getattr(self.package, name, None)
            self.api[name] = ("missing" if obj is None else
                              "class" if isinstance(obj, type) else
                              "function" if callable(obj) else "other")
        return {"ok": True, "info": info, "api": self.api}

    def resolve(self, target):
        if isinstance(target, protocol.Handle):
            return self.handles[target.id]
        if self.baseline:  # dotted path into a library, e.g. torchvision.ops.nms
            module, _, attr = target.rpartition(".")
            return getattr(importlib.import_module(module), attr)
        if target not in self.api:
            raise KeyError(f"'{target}' is not part of the assignment's API")
        obj = getattr(self.package, target, None)
        if obj is None:
            raise AttributeError(f"the submission's package does not define '{target}'")
        return obj

    def unwrap(self, value):
        """Handles in arguments become the worker's objects again; stash keys become values."""
        if isinstance(value, protocol.Handle):
            return self.handles[value.id]
        if isinstance(value, list):
            return [self.unwrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.unwrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self.unwrap(v) for k, v in value.items()}
        return value

    def call(self, req: dict):
        fn = self.resolve(req["target"])
        if req.get("method"):
            fn = getattr(fn, req["method"])
        with _autocast(req.get("autocast")):
            out = fn(*self.unwrap(req.get("args", [])), **self.unwrap(req.get("kwargs", {})))
        if req.get("new"):
            handle = len(self.handles) + 1
            self.handles[handle] = out
            return protocol.Handle(handle)
        return out

    def own_code(self, req: dict) -> bool:
        """Whether the submission's package defines the code that answers ``method`` on an
        object (False for what a library class defines, e.g. nn.Module.state_dict)."""
        obj = self.resolve(req["target"])
        name = str(req["method"])
        for klass in type(obj).__mro__:
            if name in vars(klass):
                module = getattr(klass, "__module__", "")
                break
        else:  # an instance attribute or a submodule: judged by what it is
            value = getattr(obj, name)
            module = getattr(value, "__module__", None) if callable(value) and not isinstance(
                value, torch.nn.Module) else type(value).__module__
        package = self.package.__name__ if self.package is not None else ""
        return bool(package) and isinstance(module, str) and (module == package or module.startswith(package + "."))

    def vjp(self, req: dict):
        fn = self.resolve(req["target"])
        args = list(self.unwrap(req.get("args", [])))
        kwargs = self.unwrap(req.get("kwargs", {}))
        inputs = []
        for i in req.get("wrt", [0]):
            args[i] = args[i].detach().clone().requires_grad_(True)
            inputs.append(args[i])
        out = protocol.select_output(fn(*args, **kwargs), req.get("output"))
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"vjp needs a tensor output, got {type(out).__name__}")
        grad_outputs = req.get("grad_outputs")
        if grad_outputs is None:
            grad_outputs = torch.ones_like(out)
        if not out.requires_grad:
            return [out.detach(), [None] * len(inputs)]
        grads = torch.autograd.grad(out, inputs, grad_outputs, allow_unused=True)
        return [out.detach(), [None if g is None else g.detach() for g in grads]]

    def put(self, req: dict):
        self.stash[req["key"]] = (req.get("args", []), req.get("kwargs", {}))
        return None

    def run_stashed(self, req: dict):
        """Runs stashed calls ``number`` times; the trusted side holds the clock. On a GPU the
        calls are synchronized, and with ``cuda_events`` timed by CUDA events (after an optional
        L2 flush before each call, as Triton's do_bench does).

        ``keys`` (instead of ``key``): call ``i`` uses the stashed input ``keys[i % len(keys)]``,
        so that no call sees the input of the call before (a speed check sends fresh inputs).
        ``fingerprint``: each call's output (or that of the calls ``fingerprint["calls"]`` lists) is
        summarised the moment the call returns (see :func:`_fingerprint`), so an output that is
        finished only later (by a background thread, or lazily) is caught; the summaries come back
        as ``fingerprints``, in call order.
        ``keep``: keys whose last output is kept for the ``outputs`` request (after timing).

        From the first timed run on, glibc's allocator keeps the memory it frees (no trimming,
        no per-allocation mmap), as a caching allocator would: otherwise every large temporary
        is page-faulted in afresh on some calls and not others (the kernel's zeroing of fresh
        pages made the same submission's CPU time swing 40-130 ms, more under memory pressure).
        Both sides of a speed check run here, so both get the same treatment."""
        if not getattr(self, "_heap_held", False):
            self._heap_held = True
            try:
                import ctypes

                libc = ctypes.CDLL(None)
                libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: never give the heap top back
                libc.mallopt(-4, 0)  # M_MMAP_MAX: large blocks from the (kept) heap too
            except (OSError, AttributeError):  # not glibc: nothing to do
                pass
        fn = self.resolve(req["target"])
        keys = req.get("keys") or [req["key"]]
        calls = [self.stash[k] for k in keys]
        number = int(req.get("number", 1))
        spec = req.get("fingerprint")
        keep = set(req.get("keep") or ())
        kept = self.__dict__.setdefault("_kept", {})
        prints: list = []
        summarised = None if spec is None or spec.get("calls") is None else set(spec["calls"])
        cuda = torch.cuda.is_available() and any(
            isinstance(a, torch.Tensor) and a.is_cuda for args, _ in calls for a in args)
        reply = {}
        out = None
        if cuda and req.get("cuda_events"):
            flush = torch.empty(64 << 20, dtype=torch.int8, device="cuda") if req.get("flush_l2") else None
            total = 0.0
            torch.cuda.synchronize()
            for i in range(number):
                args, kwargs = calls[i % len(calls)]
                if flush is not None:
                    flush.zero_()
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                out = fn(*args, **kwargs)
                end.record()
                if spec is not None and (summarised is None or i in summarised):
                    prints.append(_fingerprint(out, spec))
                if keys[i % len(keys)] in keep:
                    kept[keys[i % len(keys)]] = out
                torch.cuda.synchronize()
                total += start.elapsed_time(end) / 1000.0
            reply["cuda_s"] = total
        else:
            for i in range(number):
                args, kwargs = calls[i % len(calls)]
                out = fn(*args, **kwargs)
                if spec is not None and (summarised is None or i in summarised):
                    prints.append(_fingerprint(out, spec))
                if keep and keys[i % len(keys)] in keep:
                    kept[keys[i % len(keys)]] = out
            if cuda:
                torch.cuda.synchronize()
        if spec is not None:
            reply["fingerprints"] = [_materialise(p) for p in prints]
        if req.get("return_output"):
            reply["output"] = out
        return reply

    def outputs(self, req: dict):
        """The outputs kept by ``run`` for ``keys`` (None where none was kept), one key's output
        per request is what the trusted side asks for; then, with ``release``, forgets every
        stashed input and kept output whose key starts with it."""
        kept = self.__dict__.setdefault("_kept", {})
        values = [kept.get(k) for k in req.get("keys", [])]
        prefix = req.get("release")
        if prefix:
            for store in (self.stash, kept):
                for k in [k for k in store if k.startswith(prefix)]:
                    del store[k]
        return values

    def serve(self) -> None:
        handlers = {"hello": self.hello, "call": self.call, "own_code": self.own_code, "vjp": self.vjp, "put": self.put,
                    "run": self.run_stashed, "outputs": self.outputs,
                    "ping": lambda req: time.time()}
        signal.signal(signal.SIGALRM, _soft_timeout)
        while True:
            try:
                req = protocol.decode(protocol.read_frame(0))
            except EOFError:
                return
            op = req.get("op") if isinstance(req, dict) else None
            soft = req.get("soft_timeout_s") if isinstance(req, dict) else None
            try:
                handler = handlers[op]
                if type(soft) in (int, float) and soft > 0:
                    # a call that runs past its limit in Python code is interrupted here, so the
                    # worker (and its imported torch) survives; the trusted side's hard timeout
                    # still kills a worker stuck in C code
                    signal.setitimer(signal.ITIMER_REAL, float(soft))
                try:
                    result = handler(req)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                reply = {"ok": True, "value": result} if op != "hello" else result
                frame = protocol.encode(reply)
            except BaseException as e:  # noqa: BLE001 - report every failure, keep serving
                if isinstance(e, (KeyboardInterrupt, SystemExit)) and op is None:
                    raise
                frame = protocol.encode({"ok": False, "error": _format_exc(e),
                                         "type": type(e).__name__, "text": _text(e)})
            protocol.write_all(REPLY_FD, frame)


def _autocast(state):
    """The caller's torch.autocast state (device type -> dtype name), entered around the call."""
    import contextlib

    stack = contextlib.ExitStack()
    if isinstance(state, dict):
        for device, dtype in state.items():
            if device in ("cpu", "cuda") and dtype in ("float16", "bfloat16"):
                stack.enter_context(torch.autocast(device, dtype=getattr(torch, dtype)))
    return stack


class CV3SoftTimeout(BaseException):
    """The call ran past its time limit (raised by SIGALRM in the worker's main thread)."""


def _soft_timeout(signum, frame):
    raise CV3SoftTimeout("the call ran past its time limit")


FINGERPRINT_ITEMS = 64  # elements of a list, tuple or dict summarised; the rest only counted


def _fingerprint(value, spec: dict, depth: int = 0):
    """A summary of one output taken as the call returns, cheap enough to take on every timed
    call: per tensor its dtype, shape and, in float64, the sum and the sum of absolute values of
    its elements (all of them up to ``spec["limit"]`` elements, or when ``limit`` is None; else
    those at the positions ``spec["probe"]`` picks, fractions of the length chosen by the
    trusted side); containers element by element. Sums of a tensor stay 0-dim tensors until
    :func:`_materialise` (no device synchronization per call). Computed with ``__torch_function__``
    overrides off, on the tensor's own data."""
    if depth > 6:
        return {"t": "deep"}
    if isinstance(value, torch.Tensor):
        with torch._C.DisableTorchFunctionSubclass():
            t = value.detach()
            flat = t.reshape(-1)
            n = flat.numel()
            limit, probe = spec.get("limit"), spec.get("probe") or []
            if limit is not None and n > limit and probe:
                cache = spec.setdefault("_index", {})
                index = cache.get((n, flat.device))
                if index is None:
                    index = cache[(n, flat.device)] = torch.tensor(
                        [min(n - 1, int(p * n)) for p in probe], device=flat.device)
                flat = flat[index]
            if flat.dtype == torch.bool:
                flat = flat.to(torch.uint8)
            if flat.is_complex():
                flat = torch.view_as_real(flat).reshape(-1)
            sums = torch.stack([flat.sum(dtype=torch.float64), flat.abs().sum(dtype=torch.float64)]) if (
                flat.numel()) else torch.zeros(2, dtype=torch.float64)
        return {"t": "tensor", "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                "m": int(flat.numel()), "sums": sums}
    if value is None or type(value) in (bool, int, float, str):
        return {"t": "value", "v": value if type(value) is not float or value == value else "nan"}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__ if type(value) in (list, tuple) else "sequence", "n": len(value),
                "v": [_fingerprint(v, spec, depth + 1) for v in list(value)[:FINGERPRINT_ITEMS]]}
    if isinstance(value, dict):
        items = list(value.items())[:FINGERPRINT_ITEMS]
        return {"t": "dict", "n": len(value),
                "v": [[k if type(k) in (str, int) else repr(type(k)), _fingerprint(v, spec, depth + 1)]
                      for k, v in items]}
    return {"t": "object", "type": f"{type(value).__module__}.{type(value).__qualname__}"}


def _materialise(fp):
    """A fingerprint as plain values (the sums become floats)."""
    if isinstance(fp, dict):
        return {k: (v.tolist() if isinstance(v, torch.Tensor) else _materialise(v)) for k, v in fp.items()}
    if isinstance(fp, list):
        return [_materialise(v) for v in fp]
    return fp


def _text(e: BaseException) -> str:
    try:
        return str(e)[:4000]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "<unprintable exception>"


SUBMISSION_DIR = "/submission"


def _format_exc(e: BaseException) -> str:
    """The traceback limited to frames in the submission (no worker or importlib internals)."""
    try:
        frames = traceback.extract_tb(e.__traceback__)
        own = [f for f in frames if f.filename.startswith(SUBMISSION_DIR)]
        lines = traceback.format_list((own or frames[-2:])[-8:])
        return ("".join(lines) + f"{type(e).__name__}: {_text(e)}")[-6000:]
    except BaseException:  # noqa: BLE001
        return f"{type(e).__name__}: <unprintable>"


if __name__ == "__main__":
    Worker().serve()
