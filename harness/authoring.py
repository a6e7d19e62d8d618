"""Course-author tools: API drift between stub and reference, the self-check, the handout.

Only course-authored code is imported here (stubs and reference, under private aliases so the
two same-named packages never clash); submissions are never imported on the trusted side.
"""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from harness.manifest import Assignment, repo_root


def load_package_as(package_dir: Path, alias: str) -> types.ModuleType:
    """Import the package in ``package_dir`` under the module name ``alias``."""
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


def reference_package(package_dir: Path, alias: str) -> types.ModuleType:
    """The reference package for hidden tests (trusted side), loaded once under a private alias
    so that it never clashes with, or stands in for, a student package of the same name."""
    module = sys.modules.get(alias)
    return module if module is not None else load_package_as(package_dir, alias)


def _public_members(obj) -> dict[str, object]:
    names = getattr(obj, "__all__", None) or [n for n in dir(obj) if not n.startswith("_")]
    return {n: getattr(obj, n, None) for n in names}


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "<no signature>"


def api_differences(assignment: Assignment) -> list[str]:
    """Every difference in names, signatures and docstrings between stub and reference."""
    problems = []
    loaded = {}
    for side, path in (("stub", assignment.stub_dir), ("reference", assignment.reference_dir)):
        try:
            loaded[side] = load_package_as(path, f"cv3_{side}_{assignment.name}")
        except Exception as e:  # noqa: BLE001 - report it like any other difference
            problems.append(f"the {side} package {path} cannot be imported: {type(e).__name__}: {e}")
    if problems:
        return problems
    stub, ref = loaded["stub"], loaded["reference"]
    s_members, r_members = _public_members(stub), _public_members(ref)
    for name in sorted(set(s_members) | set(r_members)):
        if name not in s_members:
            problems.append(f"'{name}' is in the reference but missing from the stub")
            continue
        if name not in r_members:
            problems.append(f"'{name}' is in the stub but missing from the reference")
            continue
        s, r = s_members[name], r_members[name]
        problems += _compare(name, s, r)
        if inspect.isclass(s) and inspect.isclass(r):
            s_methods = {k: v for k, v in vars(s).items() if callable(v) and (not k.startswith("_") or k == "__init__")}
            r_methods = {k: v for k, v in vars(r).items() if callable(v) and (not k.startswith("_") or k == "__init__")}
            for m in sorted(set(s_methods) | set(r_methods)):
                if m not in s_methods or m not in r_methods:
                    problems.append(f"'{name}.{m}' exists only in the {'reference' if m in r_methods else 'stub'}")
                else:
                    problems += _compare(f"{name}.{m}", s_methods[m], r_methods[m])
    for name in assignment.api:
        if name not in r_members:
            problems.append(f"manifest API name '{name}' is not exported by the reference")
    # module layout: the same submodules on both sides
    s_files = sorted(p.name for p in assignment.stub_dir.glob("*.py"))
    r_files = sorted(p.name for p in assignment.reference_dir.glob("*.py"))
    if s_files != r_files:
        problems.append(f"module files differ: stub {s_files} vs reference {r_files}")
    return problems


def _compare(name: str, s, r) -> list[str]:
    out = []
    if type(s) is not type(r) and not (callable(s) and callable(r)):
        out.append(f"'{name}': stub is {type(s).__name__}, reference is {type(r).__name__}")
    if callable(s) and _signature(s) != _signature(r):
        out.append(f"'{name}': signature differs: stub {_signature(s)} vs reference {_signature(r)}")
    s_doc, r_doc = inspect.getdoc(s) or "", inspect.getdoc(r) or ""
    if s_doc != r_doc:
        s_lines, r_lines = s_doc.splitlines(), r_doc.splitlines()
        i = next((k for k, (x, y) in enumerate(zip(s_lines, r_lines, strict=False)) if x != y),
                 min(len(s_lines), len(r_lines)))
        s_line = s_lines[i] if i < len(s_lines) else "<end>"
        r_line = r_lines[i] if i < len(r_lines) else "<end>"
        out.append(f"'{name}': docstring differs between stub and reference at line {i + 1}: "
                   f"stub {s_line.strip()!r} vs reference {r_line.strip()!r}")
    if callable(s) and not inspect.getdoc(s):
        out.append(f"'{name}': has no docstring")
    return out


# -- the student handout ------------------------------------------------------------------------
HANDOUT_NOXFILE = '''"""Student sessions: `nox -s test` runs the public tests against your package."""
import nox

nox.options.sessions = ["test"]


@nox.session(python=False)
def test(session):
    """Run the public tests: nox -s test (extra pytest arguments after --)."""
    # the test kit is a pytest plugin; load this folder's copy (not an installed one)
    session.run("python", "-m", "pytest", "-p", "no:cv3", "-p", "harness.testkit", "{tests}", "-q",
                *session.posargs, env={{"PYTHONPATH": "."}})
'''


@dataclass
class Handout:
    path: Path
    files: list[str] = field(default_factory=list)


def release(assignment: Assignment, out: Path) -> Handout:
    """Write the student handout to ``out``: stubs, public tests, README, manifest, the test kit
    and the data generators. Never the reference or hidden tests (verified after writing)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose a new folder")
    root = repo_root()
    out.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    a_out = out / assignment.name
    shutil.copytree(assignment.root, a_out, ignore=ignore)
    (out / "harness").mkdir()
    (out / "harness" / "__init__.py").write_text('"""Only the test kit of the CV3 harness ships to students."""\n')
    shutil.copy(root / "harness" / "testkit.py", out / "harness" / "testkit.py")
    data = root / "datasets" / "cv3data"
    if data.is_dir():
        shutil.copytree(data, out / "cv3data", ignore=ignore)
    (out / "noxfile.py").write_text(HANDOUT_NOXFILE.format(
        tests=f"{assignment.name}/{assignment.public_tests}"))
    leaks = handout_leaks(assignment, out)
    if leaks:
        shutil.rmtree(out)
        raise RuntimeError("refusing to release: the handout would contain " + "; ".join(leaks))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return Handout(out, files)


def handout_leaks(assignment: Assignment, out: Path) -> list[str]:
    """Files in ``out`` that are (or contain) reference code, hidden tests, a solution marker or
    a line written between the reference's solution markers."""
    from harness.stubgen import handout_marker_leaks

    marked = []
    if (out / assignment.name).is_dir() and assignment.reference_dir.is_dir():
        # only the assignment's own folder can carry solution lines: the test kit and cv3data are
        # copied from public code (where an ordinary line may equal a solution line)
        marked = [f"{assignment.name}/{leak}" for leak in
                  handout_marker_leaks(out / assignment.name, assignment.reference_dir)]
    return sorted(set(_copied_reference(assignment, out) + marked))


def _copied_reference(assignment: Assignment, out: Path) -> list[str]:
    root, ref_root = assignment.root, assignment.reference_root
    # a reference file identical to the public file at the same place (e.g. the same __init__
    # re-exports) is not secret; a copy elsewhere in assignments/ (a hidden test renamed into
    # the public tests) still is
    secret: dict[bytes, str] = {}
    for p in ref_root.rglob("*.py"):
        text, rel = p.read_bytes(), p.relative_to(ref_root)
        same_place = root / rel
        if text.strip() and p.name != "__init__.py" and p.name != "conftest.py" \
                and not (same_place.is_file() and same_place.read_bytes() == text):
            secret[text] = str(rel)
    # lines the public side has too (shared docstrings, imports, signatures) are not evidence
    public_lines = {line.strip() for p in root.rglob("*.py") if (data := p.read_bytes()) not in secret
                    for line in data.splitlines()}
    own = {text: {line.strip() for line in text.splitlines()
                  if len(line.strip()) >= 24 and line.strip() not in public_lines}
           for text in secret}
    leaks = []
    for p in out.rglob("*"):
        if not p.is_file():
            continue
        data = p.read_bytes()
        lines = {line.strip() for line in data.splitlines()}
        for text, name in secret.items():
            # a copy, or a file holding several lines that only the reference has
            if text == data or (own[text] and len(own[text] & lines) >= min(5, len(own[text]))):
                leaks.append(f"{p.relative_to(out)} (copy of reference/{assignment.name}/{name})")
        if "reference" in p.relative_to(out).parts or p.name.startswith("test_hidden"):
            leaks.append(f"{p.relative_to(out)} (reference or hidden-test path)")
    return leaks


# -- what `cv3 check` verifies before grading anything ------------------------------------------
def missing_requirements(assignment: Assignment) -> list[str]:
    """Requirements of the manifest that are not installed here (or at a version it excludes)."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    problems = []
    for text in assignment.requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement as e:
            problems.append(f"requirement '{text}' is not a valid pip requirement: {e}")
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"requirement '{text}' is not installed: pip install '{text}' "
                            f"(nox sessions install it for you)")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"requirement '{text}' is installed at {version}, which it excludes")
    return problems


def unresolved_references(assignment: Assignment) -> list[str]:
    """Every 'module:function' and baseline of the manifest, resolved now rather than first at
    grading time; one message per reference that does not resolve."""
    import importlib

    from harness.grading.context import data_packages_importable

    problems = []
    for check in assignment.checks:
        for key, ref in check.references().items():
            module_name, _, func = ref.partition(":")
            path = assignment.hidden_tests_dir / f"{module_name}.py"
            if not path.is_file():
                problems.append(f"{check.noun} '{check.id}': {key} = '{ref}': {path} does not exist")
                continue
            try:
                alias = f"cv3_check_{assignment.name}_{module_name}"
                spec = importlib.util.spec_from_file_location(alias, path)
                module = importlib.util.module_from_spec(spec)
                hidden = str(assignment.hidden_tests_dir)
                sys.path.insert(0, hidden)
                try:
                    with data_packages_importable():
                        spec.loader.exec_module(module)
                finally:
                    sys.path.remove(hidden)
            except Exception as e:  # noqa: BLE001 - report it
                problems.append(f"{check.noun} '{check.id}': {key} = '{ref}': importing {path} failed: "
                                f"{type(e).__name__}: {e}")
                continue
            if not callable(getattr(module, func, None)):
                problems.append(f"{check.noun} '{check.id}': {key} = '{ref}': {path.name} defines no function '{func}'")
        baseline = getattr(check, "baseline", "")
        if baseline and not baseline.startswith("reference:"):
            module_name, _, attr = baseline.rpartition(".")
            try:
                ok = callable(getattr(importlib.import_module(module_name), attr, None))
            except ImportError as e:
                problems.append(f"{check.noun} '{check.id}': baseline '{baseline}' cannot be imported: {e}")
                continue
            if not ok:
                problems.append(f"{check.noun} '{check.id}': baseline '{baseline}' is not a function")
    return problems


def test_marker_problems(assignment: Assignment) -> list[str]:
    """Tests of the public and hidden suites without a task marker, or marked with a task the
    manifest does not have (collected in-process with the test kit's strict mode)."""
    import contextlib
    import io

    import pytest

    from harness.grading.context import data_packages_importable

    dirs = [str(d) for d in (assignment.public_tests_dir, assignment.hidden_tests_dir) if d.is_dir()]
    from harness import testkit

    out = io.StringIO()
    with data_packages_importable(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main([*dirs, "--collect-only", "-q", "--cv3-strict-markers", "-p", "no:cacheprovider",
                            "-p", "no:cv3", "--import-mode=importlib", "--rootdir", str(repo_root()), "-c",
                            str(Path(__file__).resolve().parent / "grading" / "pytest_grading.ini")],
                           plugins=[testkit])
    if code == 0:
        return []
    lines = [ln for ln in out.getvalue().splitlines()
             if "task" in ln and ("marker" in ln or "unknown" in ln)]
    return lines[:30] or [f"collecting the tests failed (pytest exit {int(code)}):\n{out.getvalue()[-2000:]}"]


# -- registry-driven documentation -----------------------------------------------------------------
README_BEGIN = "<!-- assignments table: generated by `cv3 docs` from the manifests; do not edit -->"
README_END = "<!-- end of assignments table -->"


def graded_by(assignment: Assignment) -> str:
    parts = ["hidden tests"]
    for check in assignment.checks:
        if check.table != "task":
            parts.append(check.describe())
    return "; ".join(parts)


def assignments_table(assignments: list[Assignment]) -> str:
    rows = ["| name | topic | points | graded by |", "|---|---|---|---|"]
    for a in assignments:
        rows.append(f"| `{a.name}` | {a.summary or a.title} | {a.max_score:g} | {graded_by(a)} |")
    return "\n".join(rows)


def manifest_reference() -> str:
    """docs/manifest.md: every table and key, from the declarations the parser uses."""
    from harness.checks import kinds_in_order
    from harness.manifest import ASSIGNMENT_KEYS, LIMIT_KEYS
    from harness.schema import markdown_table

    parts = ["# Manifest reference (`assignment.toml`)", "",
             "Generated by `cv3 docs` from the declarations the parser uses (harness/manifest.py and "
             "harness/checks/); do not edit.", "", "## [assignment]", "", markdown_table(ASSIGNMENT_KEYS),
             "", "## [limits]", "", markdown_table(LIMIT_KEYS)]
    for kind in kinds_in_order():
        doc = inspect.getdoc(sys.modules[kind.__module__]) or ""
        parts += ["", f"## [[{kind.table}]]", "", doc.split("\n\n")[0], "", markdown_table(kind.keys)]
    return "\n".join(parts) + "\n"


def generated_docs(root: Path | None = None) -> dict[Path, str]:
    """Files whose content comes from the registry: path -> the content it must have."""
    from harness.manifest import list_assignments

    root = root or repo_root()
    readme = root / "README.md"
    out = {root / "docs" / "manifest.md": manifest_reference()}
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if README_BEGIN in text and README_END in text:
            head, rest = text.split(README_BEGIN, 1)
            _, tail = rest.split(README_END, 1)
            out[readme] = head + README_BEGIN + "\n" + assignments_table(list_assignments(root)) + "\n" + \
                README_END + tail
    return out


def stale_docs(root: Path | None = None) -> list[str]:
    root = root or repo_root()
    return [f"{p.relative_to(root)} is out of date: run `cv3 docs`"
            for p, text in generated_docs(root).items()
            if not p.is_file() or p.read_text(encoding="utf-8") != text]


def write_docs(root: Path | None = None) -> list[Path]:
    written = []
    for p, text in generated_docs(root).items():
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
            written.append(p)
    return written


# -- `cv3 new NAME` -------------------------------------------------------------------------------
NEW_MANIFEST = '''# The {name} assignment: points, API and limits. Reference: docs/manifest.md.
[assignment]
name = "{name}"
title = "{title}"
package = "{name}"
summary = "{title}"
forbidden_modules = []
requirements = []

[limits]
call_timeout_s = 10
total_timeout_s = 600

[[task]]
id = "basics"
title = "A first function"
points = 10
api = ["scale"]
'''

NEW_README = '''# {title}

Course notes for this assignment: what to implement, the formulas and the conventions.

## 1. `basics`: `scale`

`scale(x, factor)` returns `x * factor` as a new tensor of the same dtype.

## Running the tests

    nox -s test -- {name}
'''

NEW_REFERENCE_INIT = '''"""{title}."""

from .core import scale

__all__ = ["scale"]
'''

NEW_REFERENCE_CORE = '''"""The functions of the `basics` task."""

from __future__ import annotations

import torch


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Multiply every element by ``factor``.

    Args:
        x (Tensor[...]): any floating-point tensor.
        factor (float): the scale.

    Returns:
        Tensor[...]: ``x * factor``, same shape and dtype, a new tensor.
    """
    # BEGIN SOLUTION
    return x * factor
    # END SOLUTION
'''

NEW_PUBLIC_TEST = '''import pytest
import torch

from harness.testkit import assert_tensor


@pytest.mark.task("basics")
def test_scale_small(student):
    assert_tensor(student.scale(torch.tensor([1.0, 2.0]), 3.0), torch.tensor([3.0, 6.0]))
'''

NEW_HIDDEN_TEST = '''import pytest
import torch

from harness.testkit import assert_tensor


@pytest.mark.task("basics")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scale_matches_the_reference(student, reference, dtype):
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=dtype)
    assert_tensor(student.scale(x, -0.5), reference.scale(x, -0.5), atol=1e-6)
'''


def scaffold(name: str, *, title: str = "", root: Path | None = None) -> list[Path]:
    """Write a new assignment that passes `cv3 check` at once: manifest, README, a reference with
    one marked function, its generated stub, one public and one hidden test. Returns the files."""
    from harness.manifest import load_manifest
    from harness.schema import ID_RE
    from harness.stubgen import tasks_by_name, write_stubs

    root = root or repo_root()
    if not ID_RE.match(name) or not name.isidentifier():
        raise ValueError(f"assignment name '{name}' is not allowed: use lower_snake_case (a Python identifier)")
    a_root, r_root = root / "assignments" / name, root / "reference" / name
    for d in (a_root, r_root):
        if d.exists():
            raise FileExistsError(f"{d} exists already; choose another name or remove it")
    title = title or name.replace("_", " ").capitalize()
    files = {
        a_root / "assignment.toml": NEW_MANIFEST.format(name=name, title=title),
        a_root / "README.md": NEW_README.format(name=name, title=title),
        a_root / "tests" / "test_public.py": NEW_PUBLIC_TEST,
        r_root / name / "__init__.py": NEW_REFERENCE_INIT.format(name=name, title=title),
        r_root / name / "core.py": NEW_REFERENCE_CORE,
        r_root / "tests" / "test_hidden_basics.py": NEW_HIDDEN_TEST,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    a = load_manifest(a_root / "assignment.toml")
    written = write_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a))
    written += write_docs(root)
    return sorted(files) + sorted(written)


# -- `cv3 check` -----------------------------------------------------------------------------------
def self_check(a: Assignment, *, isolation: str = "auto", speed: bool = True, out=print) -> bool:
    """The course author's self-check; prints one [ok]/[FAIL] line per item, returns success."""
    from harness.grading.context import GradingContext
    from harness.sandbox import make_sandbox
    from harness.stubgen import stale_stubs, tasks_by_name
    from harness.submissions import SubmissionSource
    from harness.tmp import scratch_dir

    def report(ok: bool, title: str, problems: list[str]) -> bool:
        out(f"[{'ok' if ok else 'FAIL'}] {title}")
        for p in problems:
            out(f"    {p}")
        return ok

    ok = True
    missing = missing_requirements(a)
    ok &= report(not missing, "the manifest's requirements are installed", missing)
    stale = stale_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a))
    ok &= report(not stale, "the student stubs are generated from the current reference", stale)
    problems = api_differences(a)
    ok &= report(not problems, "stub and reference APIs match", problems)
    refs = unresolved_references(a)
    ok &= report(not refs, "every module:function and baseline of the manifest resolves", refs)
    markers = test_marker_problems(a)
    ok &= report(not markers, "every test is marked with one of the manifest's tasks", markers)
    sandbox = make_sandbox(a, isolation=isolation)
    try:
        with GradingContext(a, sandbox=sandbox, speed=speed) as grader:
            ref = grader.grade(SubmissionSource("reference", a.reference_dir))
            full = ref.status == "graded" and abs(ref.score - ref.max_score) < 1e-6
            lines = [f"{t.id}: {c.name}: {c.message[:300]}" for t in ref.tasks for c in t.checks if not c.passed]
            if not full:
                lines += ([ref.error[:500]] if ref.error else []) + [w[:500] for w in ref.warnings]
            ok &= report(full, f"reference scores full marks: {ref.score:g}/{ref.max_score:g}", lines)
            stub = grader.grade(SubmissionSource("stub", a.stub_dir))
            zero = stub.score == 0
            ok &= report(zero, f"stub scores zero: {stub.score:g}/{stub.max_score:g}",
                         [f"passes without an implementation: {t.id}: {c.name}"
                          for t in stub.tasks for c in t.checks if c.passed])
            tmp = scratch_dir("check")
            try:
                for kind, path in degenerate_submissions(a, tmp).items():
                    r = grader.grade(SubmissionSource(kind, path))
                    share = r.score / r.max_score if r.max_score else 0.0
                    label = ("every function raises ValueError" if kind == "raises"
                             else "every function returns zeros of the right shape")
                    ok &= report(r.status == "graded" and share <= DEGENERATE_MAX_SHARE,
                                 f"a submission where {label} scores (near) zero: {r.score:g}/{r.max_score:g}",
                                 [f"passes: {t.id}: {c.name}" for t in r.tasks for c in t.checks if c.passed][:10]
                                 + ([r.error[:300]] if r.error else []))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            task_ids = {x.id for x in a.tasks}
            tests = {t.id: sum(c.kind == "test" for c in t.checks) for t in ref.tasks if t.id in task_ids}
            empty = [k for k, v in tests.items() if v == 0]
            ok &= report(not empty, "every task has tests: " + ", ".join(f"{k}={v}" for k, v in tests.items()), [])
    finally:
        sandbox.close()
    out("check passed" if ok else "check FAILED")
    return ok


# -- submissions that must score (near) zero -----------------------------------------------------
RAISES_SOURCE = '''

# --- generated by cv3 check: every function raises ValueError ---
def _cv3_raises(*args, **kwargs):
    raise ValueError("rejected")
'''

ZEROS_SOURCE = '''

# --- generated by cv3 check: the reference's outputs replaced by zeros of the same shape ---
import torch as _cv3_torch


def _cv3_zeros(value):
    if isinstance(value, _cv3_torch.Tensor):
        return _cv3_torch.zeros_like(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_cv3_zeros(v) for v in value)
    if isinstance(value, dict):
        return {k: _cv3_zeros(v) for k, v in value.items()}
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return type(value)(0)
    return value


def _cv3_wrap(fn):
    def wrapped(*args, **kwargs):
        return _cv3_zeros(fn(*args, **kwargs))
    return wrapped
'''

#: a degenerate submission may keep at most this share of the points (`cv3 check`)
DEGENERATE_MAX_SHARE = 0.05


def degenerate_submissions(a: Assignment, dest: Path) -> dict[str, Path]:
    """Two generated submissions that must score (near) zero: every API function raises
    ValueError, and every API function returns zeros shaped like the reference's output (classes:
    every public method wrapped)."""
    out = {}
    for kind in ("raises", "zeros"):
        root = Path(dest) / kind
        shutil.copytree(a.reference_dir, root / a.package, ignore=shutil.ignore_patterns("__pycache__"))
        init = root / a.package / "__init__.py"
        text = init.read_text(encoding="utf-8") + (RAISES_SOURCE if kind == "raises" else ZEROS_SOURCE)
        for name in a.api:
            if kind == "raises":
                text += f"\n{name} = _cv3_raises\n"
            else:
                text += (f"\nif isinstance({name}, type):\n"
                         f"    for _m in [m for m in vars({name}) if not m.startswith('_') or m == 'forward']:\n"
                         f"        if callable(getattr({name}, _m)):\n"
                         f"            setattr({name}, _m, _cv3_wrap(getattr({name}, _m)))\n"
                         f"else:\n    {name} = _cv3_wrap({name})\n")
        init.write_text(text, encoding="utf-8")
        out[kind] = root
    return out
