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
    session.run("python", "-m", "pytest", "{tests}", "-q", *session.posargs,
                env={{"PYTHONPATH": "."}})
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
    """Files in ``out`` that are (or contain) reference code or hidden tests."""
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
    return sorted(set(leaks))
