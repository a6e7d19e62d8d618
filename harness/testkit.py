"""The CV3 test kit: helpers shared by public and hidden tests, and the pytest plugin ``cv3``.

Tests never import a student package directly: they receive a ``student`` object.
Locally (``nox -s test -- <assignment>``) it is a :class:`LocalStudent` wrapping the
imported package; in grading it is the harness's proxy that forwards every call into the
sandboxed worker. Both offer the same surface, so one test file serves both:

* ``student.<name>(*args, **kwargs)``: call a public function or construct a public class;
* ``student.vjp(name, args, kwargs=None, wrt=(0,), grad_outputs=None, output=None)``: forward
  plus a vector-Jacobian product, because autograd graphs cannot cross the sandbox boundary
  (``output=i`` differentiates item ``i`` of a function that returns a tuple; ``name`` may also
  be an object a student class made, e.g. an ``nn.Module``, to differentiate its forward).

As a pytest plugin (entry point ``cv3`` in pyproject.toml; ``-p harness.testkit`` where the
project is not installed) it gives the tests of an assignment everything a conftest.py used to:

* the ``task(id)`` marker, and a collection check that every test of an assignment carries one
  naming a task of its manifest (reported; errors with ``--cv3-strict-markers``);
* the ``student`` fixture: the grading proxy (``config.cv3_student``) when the grader set one,
  else the package imported from ``$CV3_STUDENT_DIR`` or from the assignment folder (the stub);
* the ``reference`` fixture (grader's side only): ``reference/<name>/<package>`` loaded under
  the private alias ``cv3_reference_<name>``;
* the hidden-tests folder on ``sys.path`` (sibling helper modules import by name), and one torch
  thread while an assignment's tests run;
* on a student's machine (no grading proxy): the grader's forbidden-module rule (an import of a
  module of the manifest's ``forbidden_modules`` by the student's package fails with the sandbox
  worker's message), one line per unimplemented function instead of a traceback per test that
  raised ``NotImplementedError`` (unless ``--tb`` is given), and a summary per task at the end.

A test file belongs to an assignment when a folder above it holds ``assignment.toml`` (the
public tests ``assignments/<name>/tests``, or a student handout ``<name>/tests``), or is
``reference/<name>`` (hidden tests; the manifest is ``assignments/<name>/assignment.toml``).
Every other test file (this project's own tests) is left alone.

This module ships in the student handout, so it depends on the standard library, torch and
pytest only.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import importlib.util
import math
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, Sequence

import pytest
import torch

from harness.sandbox.protocol import select_output

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:  # pragma: no cover - reported when a manifest is read
        tomllib = None  # type: ignore[assignment]

__all__ = [
    "LocalStudent",
    "local_vjp",
    "student_fixture",
    "assert_tensor",
    "assert_same_elements",
    "assert_refused_or_same",
    "check_gradient",
    "devices",
    "task_rows",
]

class LocalStudent:
    """In-process stand-in for the grading proxy (public tests on a student's machine).

    With ``api`` (the manifest's API names) it refuses every other name as the proxy does, so a
    test that reaches past the API fails here rather than only in grading."""

    def __init__(self, module: Any, api: Sequence[str] | None = None) -> None:
        self._module = module
        self._api = frozenset(api) if api else None

    def _check_api(self, name: str) -> None:
        if self._api is not None and name not in self._api:
            raise AttributeError(f"'{name}' is not part of this assignment's API (the tasks' `api` "
                                 "lists in assignment.toml); grading forwards only those names")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._check_api(name)
        return getattr(self._module, name)

    def vjp(
        self,
        name: Any,
        args: Sequence[Any],
        kwargs: dict | None = None,
        wrt: Sequence[int] = (0,),
        grad_outputs: torch.Tensor | None = None,
        output: int | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """Return ``(output, grads)``: ``output`` detached, ``grads[i]`` the gradient of
        ``sum(output * grad_outputs)`` with respect to ``args[wrt[i]]`` (None if unused or if
        no gradient reaches the output). ``output=i`` takes item ``i`` of a tuple result.
        ``name`` is an API function's name, or an object a student class made (e.g. an
        ``nn.Module``), which is then called."""
        if isinstance(name, str):
            self._check_api(name)
            fn = getattr(self._module, name)
        elif callable(name):
            fn = name
        else:
            raise TypeError(f"vjp needs an API name or a callable object, got {type(name).__name__}")
        return local_vjp(fn, args, kwargs or {}, wrt, grad_outputs, output)


def local_vjp(fn, args, kwargs, wrt, grad_outputs, output=None):
    args = list(args)
    inputs = []
    for i in wrt:
        x = args[i].detach().clone().requires_grad_(True)
        args[i] = x
        inputs.append(x)
    out = select_output(fn(*args, **kwargs), output)
    if type(out) is not torch.Tensor and not isinstance(out, torch.Tensor):
        raise TypeError(f"vjp needs a tensor output, got {type(out).__name__}")
    if grad_outputs is None:
        grad_outputs = torch.ones_like(out)
    if not out.requires_grad:
        return out.detach(), [None] * len(inputs)
    grads = torch.autograd.grad(out, inputs, grad_outputs, allow_unused=True)
    return out.detach(), [None if g is None else g.detach() for g in grads]


def student_fixture(request: pytest.FixtureRequest, package: str, package_dir: Path | str,
                    api: Sequence[str] | None = None):
    """Body of a conftest's ``student`` fixture.

    In grading the harness attaches its proxy to the pytest config; otherwise the student's
    package is imported from ``package_dir`` (the folder that contains the package), and names
    outside ``api`` (when given) are refused as the proxy refuses them."""
    proxy = getattr(request.config, "cv3_student", None)
    if proxy is not None:
        return proxy
    package_dir = str(Path(package_dir).resolve())
    if package_dir not in sys.path:
        sys.path.insert(0, package_dir)
    return LocalStudent(importlib.import_module(package), api)


def devices() -> list:
    """``cpu`` always, ``cuda`` skipped (not dropped) when no GPU is visible."""
    return [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
        ),
    ]


def task_rows(rows: Sequence[Sequence[Any]], label: int = 1) -> list:
    """``pytest.param`` for each row of a table whose first column is a task id: the row is
    marked with its task and named ``task-index-label`` (the label column up to a ``|``)."""
    return [pytest.param(*row, marks=pytest.mark.task(row[0]), id=f"{row[0]}-{i}-{str(row[label]).split('|')[0]}")
            for i, row in enumerate(rows)]


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"Tensor{list(x.shape)} {str(x.dtype).replace('torch.', '')} on {x.device.type}"
    return f"{type(x).__name__} {x!r:.80}"


def assert_tensor(
    got: Any,
    expected: torch.Tensor,
    *,
    atol: float = 0.0,
    rtol: float = 0.0,
    case: str = "",
    check_dtype: bool = True,
    check_device: bool = True,
    equal_nan: bool = False,
) -> None:
    """Exact-type, dtype, shape and value check with a message a student can act on.

    Values are compared as ``|got - expected| <= atol + rtol * |expected|``."""
    where = f"[{case}] " if case else ""
    if type(got) is not torch.Tensor:
        raise AssertionError(f"{where}expected a plain torch.Tensor, got {_describe(got)}")
    if check_dtype and got.dtype != expected.dtype:
        raise AssertionError(
            f"{where}wrong dtype: expected {_describe(expected)}, got {_describe(got)}"
        )
    if got.shape != expected.shape:
        raise AssertionError(
            f"{where}wrong shape: expected {_describe(expected)}, got {_describe(got)}"
        )
    if check_device and got.device.type != expected.device.type:
        raise AssertionError(
            f"{where}wrong device: expected {expected.device.type}, got {got.device.type}"
        )
    # compare in a dtype that holds both (casting expected to got's dtype would round 0.5 to 0)
    common = torch.promote_types(got.dtype, expected.dtype)
    g = got.detach().cpu().to(common)
    e = expected.detach().cpu().to(common)
    if g.numel() == 0:
        return
    if g.dtype == torch.bool or not (g.is_floating_point() or g.is_complex()):
        bad = g != e
    else:
        # complex128 for complex values: .double() would drop the imaginary part
        g64, e64 = (g.cdouble(), e.cdouble()) if g.is_complex() else (g.double(), e.double())
        diff = (g64 - e64).abs()
        bad = ~(diff <= atol + rtol * e64.abs())
        both_nan = torch.isnan(g64) & torch.isnan(e64)
        bad = bad & ~both_nan if equal_nan else bad | (torch.isnan(g64) ^ torch.isnan(e64))
        # inf == inf of the same sign is a match; the subtraction above gives nan there
        bad = bad & ~(torch.isinf(g64) & (g64 == e64))
    if bool(bad.any()):
        n_bad = int(bad.sum())
        idx = tuple(int(i) for i in bad.nonzero()[0])
        gv, ev = g[idx].item(), e[idx].item()
        raise AssertionError(
            f"{where}{n_bad} of {g.numel()} values differ (atol={atol}, rtol={rtol}); "
            f"first at index {list(idx)}: expected {ev!r}, got {gv!r}"
        )


def assert_refused_or_same(call, expected, *, name: str, exc: type | tuple = (TypeError, ValueError),
                           case: str = "", atol: float = 0.0, rtol: float = 0.0) -> None:
    """Two readings the spec allows for one input: ``call()`` raises ``exc`` with a message that
    matches the regex ``name`` (the argument), or it returns what ``expected()`` gives (a tensor,
    or a tuple / list of them compared item by item, of the same length; exactly unless
    ``atol`` / ``rtol`` say otherwise)."""
    try:
        got = call()
    except exc as e:
        assert re.search(name, str(e)), f"{case}: the error must name {name}: {e}"
        return
    want = expected()
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), \
            f"{case}: expected {len(want)} results, got {_describe(got)}"
        for g, w in zip(got, want):
            assert_tensor(g, w, atol=atol, rtol=rtol, case=case)
    else:
        assert_tensor(got, want, atol=atol, rtol=rtol, case=case)


def assert_same_elements(got: Any, expected: torch.Tensor, *, case: str = "") -> None:
    """Integer tensors holding the same elements in any order (ties make order ambiguous)."""
    where = f"[{case}] " if case else ""
    if type(got) is not torch.Tensor:
        raise AssertionError(f"{where}expected a plain torch.Tensor, got {_describe(got)}")
    if got.dtype != expected.dtype or got.dim() != expected.dim():
        raise AssertionError(f"{where}expected {_describe(expected)}, got {_describe(got)}")
    g = sorted(got.cpu().tolist())
    e = sorted(expected.cpu().tolist())
    if g != e:
        raise AssertionError(f"{where}expected elements {e[:20]}, got {g[:20]}")


def check_gradient(
    student: Any,
    name: str,
    args: Sequence[Any],
    kwargs: dict | None = None,
    *,
    wrt: Sequence[int] = (0,),
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    n_directions: int = 3,
    seed: int = 0,
) -> None:
    """Random-projection gradcheck that works through the grading proxy.

    For random ``v`` (output space) and ``u`` (input space), float64 inputs, it compares the
    analytic ``v^T J u`` (from ``student.vjp``) with the central difference
    ``v . (f(x + eps u) - f(x - eps u)) / (2 eps)``. Like ``torch.autograd.gradcheck``'s
    fast mode, a wrong gradient fails with probability one."""
    kwargs = kwargs or {}
    gen = torch.Generator().manual_seed(seed)
    args = list(args)
    for i in wrt:
        if type(args[i]) is not torch.Tensor or args[i].dtype != torch.float64:
            raise TypeError(f"check_gradient wants float64 tensors at positions {list(wrt)}")
    out = getattr(student, name)(*args, **kwargs)
    if type(out) is not torch.Tensor:
        raise AssertionError(f"{name} must return a tensor, got {_describe(out)}")
    for k in range(n_directions):
        v = torch.randn(out.shape, generator=gen, dtype=torch.float64)
        us = [torch.randn(args[i].shape, generator=gen, dtype=torch.float64) for i in wrt]
        _, grads = student.vjp(name, args, kwargs, wrt=wrt, grad_outputs=v)
        if len(grads) != len(wrt):
            raise AssertionError(f"{name}: expected {len(wrt)} gradients, got {len(grads)}")
        analytic = 0.0
        for j, (g, u) in enumerate(zip(grads, us)):
            if g is None:
                raise AssertionError(
                    f"{name}: output does not depend differentiably on argument {wrt[j]} "
                    "(no gradient flowed; avoid .item(), in-place writes or integer casts)"
                )
            if type(g) is not torch.Tensor or g.shape != u.shape:
                raise AssertionError(f"{name}: gradient {j} is {_describe(g)}")
            analytic += float((g.double() * u).sum())
        plus, minus = list(args), list(args)
        for i, u in zip(wrt, us):
            plus[i] = args[i] + eps * u
            minus[i] = args[i] - eps * u
        f_plus = getattr(student, name)(*plus, **kwargs)
        f_minus = getattr(student, name)(*minus, **kwargs)
        numeric = float(((f_plus.double() - f_minus.double()) * v).sum() / (2 * eps))
        if not math.isclose(analytic, numeric, rel_tol=rtol, abs_tol=atol):
            raise AssertionError(
                f"{name}: gradient mismatch in direction {k}: analytic v^T J u = {analytic:.6g}, "
                f"numeric = {numeric:.6g} (atol={atol}, rtol={rtol})"
            )


# ------------------------------------------------------------------- the forbidden-module rule
#
# In grading, the sandbox worker refuses every import of a module the manifest forbids
# (harness/sandbox/worker.py, ForbiddenImport). Locally the public tests themselves may use such
# a module as an oracle (torchvision in detection), so the same rule applies to imports made by
# the student's code only: any import of a forbidden module while a frame of the student's
# package is on the stack fails with the worker's message, whether the module is loaded already
# or not, directly, lazily inside a function, through importlib or through another library.

FORBIDDEN_IMPORT_MESSAGE = "import of '{name}' is not allowed in this assignment (forbidden: {forbidden})"


class ForbiddenImportGuard:
    """Refuses imports of ``forbidden`` modules made (directly or not) by code under
    ``package_dir``, with the sandbox worker's message."""

    def __init__(self, package_dir: Path | str, forbidden: Sequence[str]) -> None:
        self.root = os.path.join(os.path.realpath(str(package_dir)), "")
        self.forbidden = tuple(str(m) for m in forbidden)
        self._files: dict[str, bool] = {}

    def blocks(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in self.forbidden)

    def _student_file(self, filename: str) -> bool:
        hit = self._files.get(filename)
        if hit is None:
            hit = self._files[filename] = os.path.realpath(filename).startswith(self.root)
        return hit

    def from_student(self, frame) -> bool:
        depth = 0
        while frame is not None and depth < 500:
            if self._student_file(frame.f_code.co_filename):
                return True
            frame, depth = frame.f_back, depth + 1
        return False

    def check(self, name: str, frame) -> None:
        __tracebackhide__ = True  # pytest shows the student's import line, not this
        if name and self.blocks(name) and self.from_student(frame):
            raise ImportError(FORBIDDEN_IMPORT_MESSAGE.format(name=name, forbidden=", ".join(self.forbidden)),
                              name=name)


_GUARDS: list[ForbiddenImportGuard] = []
_ORIGINAL_IMPORT = builtins.__import__
_ORIGINAL_IMPORT_MODULE = importlib.import_module


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    __tracebackhide__ = True
    if level == 0 and _GUARDS:
        frame = sys._getframe(1)
        for guard in list(_GUARDS):
            guard.check(name, frame)
    return _ORIGINAL_IMPORT(name, globals, locals, fromlist, level)


def _guarded_import_module(name, package=None):
    __tracebackhide__ = True
    if _GUARDS and isinstance(name, str) and not name.startswith("."):
        frame = sys._getframe(1)
        for guard in list(_GUARDS):
            guard.check(name, frame)
    return _ORIGINAL_IMPORT_MODULE(name, package)


def install_guard(guard: ForbiddenImportGuard) -> None:
    """Start applying ``guard`` (to ``import`` statements, ``__import__`` and
    ``importlib.import_module``) until :func:`remove_guard`."""
    _GUARDS.append(guard)
    builtins.__import__ = _guarded_import
    importlib.import_module = _guarded_import_module


def remove_guard(guard: ForbiddenImportGuard) -> None:
    if guard in _GUARDS:
        _GUARDS.remove(guard)
    if not _GUARDS:
        if builtins.__import__ is _guarded_import:
            builtins.__import__ = _ORIGINAL_IMPORT
        if importlib.import_module is _guarded_import_module:
            importlib.import_module = _ORIGINAL_IMPORT_MODULE


# ------------------------------------------------------------------------------ pytest plugin
#
# Registered as the pytest11 entry point ``cv3``. Everything below is inert for test files that
# are not inside an assignment: the fixtures fail with a message if such a test asks for them
# (a fixture of the same name in a conftest.py or test module wins, as always), the autouse
# fixture and the hooks do nothing.

MARKER_LINE = "task(id): the manifest task this test grades"
STRICT_OPTION = "--cv3-strict-markers"


class _Located:
    """Where a test file's assignment lives, read from its manifest."""

    def __init__(self, *, kind: str, name: str, root: Path, manifest: Path, package: str,
                 task_ids: tuple[str, ...], stub_dir: Path, reference_dir: Path | None,
                 hidden_tests_dir: Path | None) -> None:
        self.kind = kind  # "public" (a folder holding assignment.toml) | "hidden" (reference/<name>)
        self.name = name
        self.root = root
        self.manifest = manifest
        self.package = package
        self.task_ids = task_ids
        self.stub_dir = stub_dir  # default folder holding the package under test
        self.reference_dir = reference_dir  # reference/<name>/<package>, None where there is none
        self.hidden_tests_dir = hidden_tests_dir  # reference/<name>/<hidden_tests> (hidden only)

    def __repr__(self) -> str:
        return f"<cv3 assignment {self.name!r} ({self.kind}) at {self.root}>"


class _State:
    def __init__(self) -> None:
        self.dirs: dict[Path, _Located | None] = {}
        self.manifests: dict[Path, dict] = {}
        self.students: dict[tuple[str, str], Any] = {}
        self.marker_problems: list[str] = []
        self.guards: list[ForbiddenImportGuard] = []  # installed for local students, removed at the end
        self.items: dict[str, tuple[_Located, str | None]] = {}  # nodeid -> (assignment, task id)
        self.outcomes: dict[str, str] = {}  # nodeid -> passed | failed | skipped
        self.not_implemented: dict[str, str] = {}  # nodeid -> the NotImplementedError's message


_STATE_KEY = pytest.StashKey[_State]()
#: "nodeid: reason" for every test of an assignment with a missing or unknown task marker
MARKER_PROBLEMS_KEY = pytest.StashKey[list]()
#: hidden-tests folders any run in this process put on sys.path (a grader runs many assignments)
_HELPER_DIRS: set[str] = set()


def _state(config: pytest.Config) -> _State:
    state = config.stash.get(_STATE_KEY, None)
    if state is None:
        state = config.stash[_STATE_KEY] = _State()
    return state


def _read_manifest(state: _State, path: Path) -> dict:
    data = state.manifests.get(path)
    if data is None:
        if tomllib is None:
            raise RuntimeError(f"reading {path} needs Python >= 3.11 or the 'tomli' package "
                               "(pip install tomli)")
        try:
            with open(path, "rb") as f:
                data = state.manifests[path] = tomllib.load(f)
        except (OSError, ValueError) as e:  # tomllib.TOMLDecodeError is a ValueError
            raise RuntimeError(f"cannot read the assignment manifest {path}: {e}") from e
    return data


def _locate_dir(state: _State, d: Path) -> _Located | None:
    if d in state.dirs:
        return state.dirs[d]
    found: _Located | None = None
    manifest = d / "assignment.toml"
    if manifest.is_file():
        # an assignment root: assignments/<name>, or <name>/ in a student handout
        data = _read_manifest(state, manifest)
        head = data.get("assignment", {})
        name = str(head.get("name") or d.name)
        package = str(head.get("package") or name)
        ref_root = d.parent.parent / "reference" / d.name if d.parent.name == "assignments" else None
        ref_pkg = ref_root / package if ref_root is not None else None
        found = _Located(kind="public", name=name, root=d, manifest=manifest, package=package,
                         task_ids=_task_ids(data), stub_dir=d,
                         reference_dir=ref_pkg if ref_pkg is not None and ref_pkg.is_dir() else None,
                         hidden_tests_dir=None)
    elif d.parent.name == "reference" and (d.parent.parent / "assignments" / d.name / "assignment.toml").is_file():
        # a reference root: reference/<name>, whose manifest is assignments/<name>/assignment.toml
        stub_root = d.parent.parent / "assignments" / d.name
        manifest = stub_root / "assignment.toml"
        data = _read_manifest(state, manifest)
        head = data.get("assignment", {})
        name = str(head.get("name") or d.name)
        package = str(head.get("package") or name)
        found = _Located(kind="hidden", name=name, root=d, manifest=manifest, package=package,
                         task_ids=_task_ids(data), stub_dir=stub_root,
                         reference_dir=d / package if (d / package).is_dir() else None,
                         hidden_tests_dir=d / str(head.get("hidden_tests") or "tests"))
    elif d.parent != d:
        found = _locate_dir(state, d.parent)
    state.dirs[d] = found
    return found


def _task_ids(data: dict) -> tuple[str, ...]:
    tasks = data.get("task", [])
    return tuple(str(t["id"]) for t in tasks if isinstance(t, dict) and "id" in t) \
        if isinstance(tasks, list) else ()


def _api_names(data: dict) -> tuple[str, ...]:
    tasks = data.get("task", [])
    names: list[str] = []
    for t in tasks if isinstance(tasks, list) else ():
        for n in (t.get("api", []) if isinstance(t, dict) else []):
            if isinstance(n, str) and n not in names:
                names.append(n)
    return tuple(names)


def locate_assignment(config: pytest.Config, path: Path | str | None) -> _Located | None:
    """The assignment a test file (or folder) belongs to, or None outside any assignment."""
    if path is None:
        return None
    path = Path(path).resolve()
    return _locate_dir(_state(config), path if path.is_dir() else path.parent)


def _require(request: pytest.FixtureRequest, fixture: str) -> _Located:
    located = locate_assignment(request.config, getattr(request.node, "path", None))
    if located is None:
        pytest.fail(f"the cv3 `{fixture}` fixture serves only tests inside an assignment (a folder "
                    "above the test holds assignment.toml, or is reference/<name>); "
                    f"{getattr(request.node, 'path', '?')} is not in one", pytrace=False)
    return located


def _load_package_as(package_dir: Path, alias: str) -> types.ModuleType:
    """Import the package in ``package_dir`` under the module name ``alias`` (also
    ``harness.authoring.load_package_as``; it lives here because the handout ships only this file)."""
    init = Path(package_dir) / "__init__.py"
    if not init.is_file():
        raise FileNotFoundError(f"{init} not found")
    for name in [m for m in sys.modules if m == alias or m.startswith(alias + ".")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(alias, init, submodule_search_locations=[str(package_dir)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[alias]
        raise
    return module


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cv3", "CV3 assignment tests")
    group.addoption(STRICT_OPTION, action="store_true", default=False,
                    help="make a test of an assignment without a @pytest.mark.task(<id>) marker naming a "
                         "task of its manifest a collection error (default: listed in the summary)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_LINE)
    _state(config)
    config.stash[MARKER_PROBLEMS_KEY] = []
    config.cv3_marker_problems = config.stash[MARKER_PROBLEMS_KEY]


def pytest_collectstart(collector: pytest.Collector) -> None:
    # hidden tests import trusted sibling helpers by name (mpn_oracles.py), in every import mode
    path = getattr(collector, "path", None)
    try:
        located = locate_assignment(collector.config, path)
    except RuntimeError:
        return  # a broken manifest: the collection check and the fixtures report it
    if located is None or located.kind != "hidden" or located.hidden_tests_dir is None:
        return
    hidden = located.hidden_tests_dir.resolve()
    path = Path(path).resolve()
    if not ((path == hidden or hidden in path.parents) and hidden.is_dir()):
        return
    if sys.path[:1] != [str(hidden)]:
        _helpers_first(str(hidden))


def _helpers_first(hidden: str) -> bool:
    """Put the hidden-tests folder ``hidden`` first on sys.path; returns whether it was absent.

    Helpers have plain names (accuracy_cases) that several assignments use: one imported from
    another assignment's folder, earlier in this process or this run, must not answer for ours."""
    _forget_helpers(other for other in _HELPER_DIRS if other != hidden)
    _HELPER_DIRS.add(hidden)
    absent = hidden not in sys.path
    if not absent:
        sys.path.remove(hidden)
    sys.path.insert(0, hidden)
    return absent


@contextlib.contextmanager
def sibling_helpers(hidden_tests_dir: Path | str):
    """While trusted code of one assignment's hidden-tests folder is imported (an accuracy check's
    cases module, outside pytest): that folder first on sys.path, and no same-named helper of
    another assignment's folder cached in sys.modules."""
    hidden = str(Path(hidden_tests_dir).resolve())
    added = _helpers_first(hidden)
    try:
        yield
    finally:
        if added and hidden in sys.path:
            sys.path.remove(hidden)


def _forget_helpers(dirs) -> None:
    """Drop the helper modules imported from ``dirs`` and take those folders off sys.path (test
    modules stay: pytest keeps using them until the run ends)."""
    dirs = {str(Path(d).resolve()) for d in dirs}
    if not dirs:
        return
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        # only what `import accuracy_cases` made: a module under its plain file name (aliases
        # such as cv3_trusted_* are unique and stay; test modules stay for pytest)
        if file and name == Path(file).stem and str(Path(file).resolve().parent) in dirs \
                and not name.startswith(("test_", "conftest")):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p or str(Path(p).resolve()) not in dirs]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    problems = config.stash.setdefault(MARKER_PROBLEMS_KEY, [])
    strict = bool(config.getoption("cv3_strict_markers", False))
    for item in items:
        try:
            located = locate_assignment(config, getattr(item, "path", None))
        except Exception as e:  # noqa: BLE001 - a broken manifest is reported, not a crash
            problems.append(f"{item.nodeid}: cannot read its assignment's manifest: {type(e).__name__}: {e}")
            continue
        if located is None:
            continue
        marker = item.get_closest_marker("task")
        _state(config).items[item.nodeid] = (located, str(marker.args[0]) if marker and marker.args else None)
        ids = ", ".join(located.task_ids) or "(none)"
        if marker is None or not marker.args:
            reason = "has no @pytest.mark.task(<id>) marker"
        elif str(marker.args[0]) not in located.task_ids:
            reason = f"its task marker names {marker.args[0]!r}, which is not a task of {located.manifest}"
        else:
            continue
        problems.append(f"{item.nodeid}: {reason}")
        if strict:
            message = (f"{item.nodeid}: {reason}.\nFix: add @pytest.mark.task(\"<id>\") with one of the "
                       f"task ids of {located.manifest}: {ids}")
            report = pytest.CollectReport(item.nodeid, "failed", message, [])
            config.hook.pytest_collectreport(report=report)
    config.cv3_marker_problems = problems


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE_KEY, None)
    for guard in state.guards if state is not None else ():
        remove_guard(guard)
    _forget_helpers(_HELPER_DIRS)  # a grading process runs many assignments: leave no helper behind


def _local_run(config: pytest.Config) -> bool:
    """A run on the student's (or author's) machine, not the grader's (which attaches its proxy)."""
    return getattr(config, "cv3_student", None) is None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    state = item.config.stash.get(_STATE_KEY, None)
    if state is None or item.nodeid not in state.items or not _local_run(item.config):
        return
    # the test's outcome over its phases: a failure anywhere is a failure
    before = state.outcomes.get(item.nodeid)
    if report.failed:
        state.outcomes[item.nodeid] = "failed"
        if call.excinfo is not None and call.excinfo.errisinstance(NotImplementedError):
            state.not_implemented.setdefault(item.nodeid, str(call.excinfo.value) or "NotImplementedError")
    elif report.skipped and before is None:
        state.outcomes[item.nodeid] = "skipped"
    elif report.when == "call" and report.passed and before is None:
        state.outcomes[item.nodeid] = "passed"


def _collapsible(reporter, state: _State) -> dict[str, list]:
    """The failure reports of NotImplementedError, taken out of the reporter's lists (pytest
    would print each one in full: hundreds of identical tracebacks on an untouched stub)."""
    taken: dict[str, list] = {}
    for kind in ("failed", "error"):
        reports = reporter.stats.get(kind, [])
        keep = [r for r in reports if getattr(r, "nodeid", None) not in state.not_implemented]
        if len(keep) != len(reports):
            taken[kind] = reports[:]
            reporter.stats[kind] = keep
    return taken


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config):
    state = config.stash.get(_STATE_KEY, None)
    collapse = state is not None and _local_run(config) and config.getoption("tbstyle", "auto") == "auto"
    taken = _collapsible(terminalreporter, state) if collapse else {}
    try:
        yield
    finally:
        terminalreporter.stats.update(taken)  # the final counts include every failure
    problems = config.stash.get(MARKER_PROBLEMS_KEY, [])
    if problems and not config.getoption("cv3_strict_markers", False):
        terminalreporter.write_sep("-", f"cv3: {len(problems)} test(s) without a valid task marker")
        for line in problems:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"(they are not graded as any task; {STRICT_OPTION} makes this an error)")
    if state is not None and _local_run(config):
        if taken:
            _write_not_implemented(terminalreporter, state)
        _write_task_summary(terminalreporter, state)


def _write_not_implemented(tr, state: _State) -> None:
    by_message: dict[str, list[str]] = {}
    for nodeid, message in state.not_implemented.items():
        by_message.setdefault(message, []).append(nodeid)
    tr.write_sep("-", f"cv3: {len(state.not_implemented)} test(s) failed with NotImplementedError "
                      "(not implemented yet; --tb=short shows each one)")
    order = {nodeid: i for i, nodeid in enumerate(state.items)}  # collection order
    for message, nodeids in sorted(by_message.items(), key=lambda kv: min(order[n] for n in kv[1])):
        first = nodeids[0].rsplit("::", 1)[-1]
        more = f" and {len(nodeids) - 1} more" if len(nodeids) > 1 else ""
        tr.write_line(f"NotImplementedError: {message}  [{first}{more}]")


def _write_task_summary(tr, state: _State) -> None:
    by_assignment: dict[Path, list[tuple[str, str | None]]] = {}
    located_of: dict[Path, _Located] = {}
    for nodeid, (located, task) in state.items.items():
        if nodeid in state.outcomes:
            by_assignment.setdefault(located.manifest, []).append((nodeid, task))
            located_of[located.manifest] = located
    for manifest, entries in by_assignment.items():
        located = located_of[manifest]
        tasks = [t for t in _read_manifest(state, manifest).get("task", []) if isinstance(t, dict) and "id" in t]
        rows = []
        total_passed = total = 0
        for t in tasks:
            ids = [n for n, task in entries if task == str(t["id"])]
            if not ids:
                continue
            outcomes = [state.outcomes[n] for n in ids]
            passed = outcomes.count("passed")
            counted = len(outcomes) - outcomes.count("skipped")
            total_passed, total = total_passed + passed, total + counted
            todo = sum(n in state.not_implemented for n in ids)
            note = "done" if passed == counted else ("not implemented yet" if todo == counted - passed == counted
                                                      else f"{counted - passed} failing")
            rows.append((str(t["id"]), f"{passed}/{counted}", f"{t.get('points', '')}", note, str(t.get("title", ""))))
        if not rows:
            continue
        suite = "public" if located.kind == "public" else "hidden"
        tr.write_sep("-", f"cv3: {suite} tests of '{located.name}' by task")
        width = max(len("task"), *(len(r[0]) for r in rows))
        tr.write_line(f"{'task':<{width}}  {'passed':>7}  {'points':>6}  {'status':<20}  title")
        for task_id, ratio, points, note, title in rows:
            tr.write_line(f"{task_id:<{width}}  {ratio:>7}  {points:>6}  {note:<20}  {title}")
        tr.write_line(f"{'total':<{width}}  {f'{total_passed}/{total}':>7}  tests passed")
        if suite == "public":
            tr.write_line("(a task's points are split evenly over its public and hidden tests; speed and "
                          "accuracy checks add to them: see the handout's README.md)")


@pytest.fixture(scope="module")
def student(request: pytest.FixtureRequest):
    """The package under test: the grading proxy when the grader attached one
    (``config.cv3_student``), otherwise the package imported from ``$CV3_STUDENT_DIR`` (the
    folder that holds it) or from the assignment folder (the stub)."""
    proxy = getattr(request.config, "cv3_student", None)
    if proxy is not None:
        return proxy
    located = _require(request, "student")
    package_dir = Path(os.environ.get("CV3_STUDENT_DIR") or located.stub_dir).resolve()
    state = _state(request.config)
    cache = state.students
    key = (located.package, str(package_dir))
    if key not in cache:
        # the grader's rules, locally: the package may not import the manifest's forbidden
        # modules, and tests reach only the names the tasks' `api` lists
        data = _read_manifest(state, located.manifest)
        forbidden = data.get("assignment", {}).get("forbidden_modules", [])
        if forbidden:
            guard = ForbiddenImportGuard(package_dir / located.package, forbidden)
            state.guards.append(guard)
            install_guard(guard)
        cache[key] = student_fixture(request, located.package, package_dir, _api_names(data))
    return cache[key]


@pytest.fixture(scope="module")
def reference(request: pytest.FixtureRequest) -> types.ModuleType:
    """The reference package (trusted side only), loaded once under the private alias
    ``cv3_reference_<name>`` so that it never clashes with, or stands in for, the package under
    test."""
    located = _require(request, "reference")
    if located.reference_dir is None:
        pytest.fail(f"the `reference` fixture needs the reference solution of {located.name!r}, which "
                    "exists only on the grader's side (reference/<name>/<package>); it is not part of "
                    "the student handout, so a public test cannot use it", pytrace=False)
    alias = f"cv3_reference_{located.name}"
    module = sys.modules.get(alias)
    return module if module is not None else _load_package_as(located.reference_dir, alias)


@pytest.fixture(scope="module", autouse=True)
def _cv3_one_torch_thread(request: pytest.FixtureRequest):
    """Assignment tests work on tiny tensors, where intra-op threads only add overhead (and stall
    on a busy machine); the grading worker runs with one thread too. Restored afterwards."""
    if locate_assignment(request.config, getattr(request.node, "path", None)) is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
