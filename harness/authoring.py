"""Course-author tools: API drift between stub and reference, the self-check, the handout.

Only course-authored code is imported here (stubs and reference, under private aliases so the
two same-named packages never clash); submissions are never imported on the trusted side.
"""

from __future__ import annotations

import inspect
import shutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from harness.manifest import Assignment, repo_root


def load_package_as(package_dir: Path, alias: str) -> types.ModuleType:
    """Import the package in ``package_dir`` under the module name ``alias`` (the test kit's
    loader: it ships to students alone, so it owns the code)."""
    from harness.testkit import _load_package_as

    return _load_package_as(package_dir, alias)


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
HANDOUT_NOXFILE = '''"""Student sessions: `nox -s test` runs the public tests, `nox -s pack` makes the zip to submit."""
import nox

nox.options.sessions = ["test"]


@nox.session(python=False)
def test(session):
    """Run the public tests: nox -s test (extra pytest arguments after --, e.g. -- -k iou)."""
    # the test kit is a pytest plugin; load this folder's copy (not an installed one)
    session.run("python", "-m", "pytest", "-p", "no:cv3", "-p", "harness.testkit", "{tests}", "-q",
                *session.posargs, env={{"PYTHONPATH": "."}})


@nox.session(python=False)
def pack(session):
    """Check your package like the grader does and write {name}-submission.zip: nox -s pack."""
    session.run("python", "pack.py", "{name}", *session.posargs)
'''

#: pip names of modules whose import name differs
PIP_NAMES = {"PIL": "pillow", "sklearn": "scikit-learn", "skimage": "scikit-image", "yaml": "pyyaml",
             "cv2": "opencv-python-headless<5"}
#: version floors of the usual requirements (the harness supports torch >= 2.4)
PIP_FLOORS = {"torch": "torch>=2.4", "pytest": "pytest>=8"}


HANDOUT_PYTEST_INI = """[pytest]
# the CV3 test kit (harness/testkit.py in this folder) is a pytest plugin: load this copy
addopts = -p no:cv3 -p harness.testkit -p no:cacheprovider
pythonpath = .
"""


@dataclass
class Handout:
    path: Path
    files: list[str] = field(default_factory=list)


def _module_level(body: list):
    """The statements of a module body, into if/try/with blocks (not into functions)."""
    import ast

    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, block, None) or [])
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)


def _imported_modules(path: Path, *, nested: bool) -> set[str]:
    """Top-level names of the absolute imports of a Python file (``nested``: also those inside
    functions; else module level only)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in (ast.walk(tree) if nested else _module_level(tree.body)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def handout_requirements(out: Path, *, tests_dir: Path) -> list[str]:
    """pip requirements of a written handout: the third-party modules its public tests import
    (anywhere) and its other files import at module level, plus pytest and nox."""
    local = {p.stem if p.suffix == ".py" else p.name for p in out.iterdir()}
    found: set[str] = set()
    for p in out.rglob("*.py"):
        if p.parent == out and p.name == "pack.py":
            continue
        found |= _imported_modules(p, nested=p.is_relative_to(tests_dir))
    third_party = {n for n in found if n not in sys.stdlib_module_names and n not in local
                   and n not in ("__future__", "tomli")}  # tomli: the tomllib of Python 3.10, below
    third_party |= {"pytest", "nox"}
    reqs = sorted(PIP_FLOORS.get(n, PIP_NAMES.get(n, n)) for n in third_party)
    return reqs + ['tomli; python_version < "3.11"']


def _graded_how(check) -> str:
    """How a manifest check is graded, in a student's words."""
    if check.table == "task":
        text = "tests: the public tests here and hidden tests, the points split evenly over them"
    elif check.table == "speed":
        baseline = check.baseline.replace("reference:", "the course's solution's ")
        text = (f"`{check.target}` timed against `{baseline}` on the same inputs and machine: full points at "
                f"{check.full_ratio:g}x its time or less, none at {check.zero_ratio:g}x or more (log-linear between)")
    elif check.table == "accuracy":
        text = (f"{check.metric} of `{check.entry}` on held-out data you do not have: none at {check.floor:g} "
                f"or less, full points at {check.target:g} or more (linear between)")
    else:
        text = check.describe().replace("reference:", "the course's solution's ")
    if check.requires_task:
        text += f"; graded only once every test of task `{check.requires_task}` passes"
    return text


def handout_readme(assignment: Assignment, requirements: list[str]) -> str:
    """The handout's top-level README.md, generated from the manifest."""
    a, lim = assignment, assignment.limits
    rows = []
    for c in a.checks:
        api = getattr(c, "api", ()) if c.table == "task" else ()
        names = f" (`{'`, `'.join(api)}`)" if api else ""
        rows.append(f"| `{c.id}` | {c.title}{names} | {c.points:g} | {_graded_how(c)} |")
    lines = [
        f"# {a.title}",
        "",
        f"Assignment `{a.name}`: {a.summary or a.title}. You write the package `{a.name}/{a.package}/`; "
        f"the course notes with the formulas are in `{a.name}/README.md`.",
        "",
        "## Install (once)",
        "",
        "    python -m pip install -r requirements.txt",
        "",
        "Python 3.10 or newer. `requirements.txt` lists what the public tests and the tools here need: "
        + ", ".join(f"`{r}`" for r in requirements) + ".",
        "",
        "## Run the public tests",
        "",
        "    nox -s test                      # every public test",
        "    nox -s test -- -k iou -x         # pytest arguments after --",
        f"    python -m pytest {a.name}/{a.public_tests}       # the same without nox, from this folder",
        "",
        "The run ends with your progress per task (tests passed / total). A function you have not "
        "written yet fails its tests with `NotImplementedError`; those are listed once per function.",
        "",
        "## Hand in",
        "",
        "    nox -s pack                      # or: python pack.py",
        "",
        f"writes `{a.name}-submission.zip` holding your package `{a.package}/` and nothing else, after the "
        "grader's own static checks: the package is where the grader looks for it, every file parses, no "
        "forbidden module is imported, the size limits hold and every name of the API below is defined. "
        "If a check fails you get the grader's message and no zip. Hand the zip in as your course staff "
        "tell you (`python pack.py --out NAME.zip` names it).",
        "",
        f"## What is graded ({a.max_score:g} points)",
        "",
        "| item | what | points | how |",
        "|---|---|---|---|",
        *rows,
        "",
        "- The hidden tests call the same functions as the public tests, on other inputs: passing the "
        "public tests does not guarantee their points.",
        f"- Your code runs in a sandbox without network, with {lim.threads} CPU thread(s). Limits: "
        f"{lim.call_timeout_s:g} s "
        f"per call, {a.total_timeout_s:g} s for the whole submission, {lim.memory_mb} MB of memory, files up "
        f"to {lim.max_file_size_mb} MB. A crash or hang scores zero on the tests it affects; a function "
        "that hangs is not called again.",
    ]
    if a.forbidden_modules:
        forbidden = ", ".join(f"`{m}`" for m in a.forbidden_modules)
        lines.append(f"- Forbidden modules: {forbidden}. Your package may not import them, directly or "
                     "through another library: the grader cannot import a package that does (0 points), and "
                     "`nox -s test` refuses such an import with the grader's message. The public tests "
                     "themselves may use them as oracles.")
    lines += [
        "- Only the package is graded, at most 2000 files and 100 MB: no data, checkpoints or virtual "
        "environments inside it.",
        "",
        "## What is in this folder",
        "",
        f"- `{a.name}/`: your package `{a.package}/` (stubs to fill in), the public tests, the course notes "
        "(`README.md`) and the manifest the grader reads (`assignment.toml`)",
        "- `harness/testkit.py`: the pytest plugin of the tests (the `student` fixture, task markers, "
        "the summary per task)",
        "- `cv3data/`: the course's data generators",
        "- `pack.py`, `noxfile.py`, `requirements.txt`: the tools above",
        "",
    ]
    return "\n".join(lines)


def release(assignment: Assignment, out: Path) -> Handout:
    """Write the student handout to ``out``: stubs, public tests, the assignment's notes and
    manifest, the test kit, the data generators, ``pack.py`` (the grader's static checks,
    standard library only), a noxfile (``test``, ``pack``), ``requirements.txt`` and a README
    generated from the manifest. Never the reference, hidden tests or the course key (the leak
    check runs after writing)."""
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
    # the grader's static checks, byte for byte (standard library only): `python pack.py`
    shutil.copy(root / "harness" / "static_checks.py", out / "pack.py")
    (out / "noxfile.py").write_text(HANDOUT_NOXFILE.format(
        tests=f"{assignment.name}/{assignment.public_tests}", name=assignment.name))
    # plain `pytest` from the handout folder loads the test kit too (students have no entry point)
    (out / "pytest.ini").write_text(HANDOUT_PYTEST_INI)
    requirements = handout_requirements(out, tests_dir=a_out / assignment.public_tests)
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (out / "README.md").write_text(handout_readme(assignment, requirements), encoding="utf-8")
    leaks = handout_leaks(assignment, out) + _course_key_leaks(out)
    if leaks:
        shutil.rmtree(out)
        raise RuntimeError("refusing to release: the handout would contain " + "; ".join(leaks))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return Handout(out, files)


def _course_key_leaks(out: Path) -> list[str]:
    """Files of the handout holding the course key (the secret behind the held-out data)."""
    from harness import secret

    try:
        key = secret.read_key()
    except (FileNotFoundError, secret.CourseKeyError):
        return []
    needles = (key.hex().encode(), key.hex().upper().encode(), key)
    return [f"{p.relative_to(out)} (the course key)" for p in out.rglob("*")
            if p.is_file() and any(n in p.read_bytes() for n in needles)]


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

    from harness.grading.context import trusted_module

    problems = []
    for check in assignment.checks:
        for key, ref in check.references().items():
            module_name, _, func = ref.partition(":")
            path = assignment.hidden_tests_dir / f"{module_name}.py"
            if not path.is_file():
                problems.append(f"{check.noun} '{check.id}': {key} = '{ref}': {path} does not exist")
                continue
            try:
                module = trusted_module(assignment, module_name)
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
    from harness.manifest import ASSIGNMENT_KEYS, LIMIT_KEYS, VISIBILITY_KEYS, Visibility
    from harness.schema import markdown_table

    parts = ["# Manifest reference (`assignment.toml`)", "",
             "Generated by `cv3 docs` from the declarations the parser uses (harness/manifest.py and "
             "harness/checks/); do not edit.", "", "## [assignment]", "", markdown_table(ASSIGNMENT_KEYS),
             "", "## [limits]", "", markdown_table(LIMIT_KEYS),
             "", "## [visibility]", "", (inspect.getdoc(Visibility) or "").split("\n\n")[0], "",
             markdown_table(VISIBILITY_KEYS)]
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


# -- the demo's sample submissions (reference/<name>/samples.py) -----------------------------------
def sample_package(dest: Path, source: Path, extra: str = "") -> Path:
    """A sample submission in ``dest``: the package folder ``source`` (the reference or the stub)
    copied, with ``extra`` (overriding definitions, as a student's mistakes) appended to its
    ``__init__.py`` after an ``import torch``. Returns ``dest``."""
    pkg = Path(dest) / Path(source).name
    shutil.copytree(source, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if extra:
        init = pkg / "__init__.py"
        init.write_text(init.read_text() + "\nimport torch\n" + extra)
    return Path(dest)


def fresh_folder(out: Path) -> Path:
    """``out``, emptied (or created) for a new set of samples."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def samples_main(doc: str, build) -> None:
    """The command line of a samples script: ``--out FOLDER``, then one built path per line."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to (re)create")
    for path in build(parser.parse_args().out):
        print(path)


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
