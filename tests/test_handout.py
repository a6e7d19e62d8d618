"""A handout students can follow: the README generated from the manifest, `pack.py` / `nox -s pack`
/ `cv3 pack` (the grader's own static checks, standard library only), the forbidden-module rule in
the public test run, `cv3 test` options in any order, and the per-task summary."""

from __future__ import annotations

import ast
import importlib
import importlib.abc  # noqa: F401 - for the worker's ForbiddenImport below
import importlib.machinery  # noqa: F401
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import static_checks, testkit
from harness.authoring import release
from harness.manifest import find_assignment
from harness.submissions import SubmissionSource, content_hash, forbidden_imports, stage, syntax_errors
from tests.conftest import ROOT


def run(args: list[str], *, cwd: Path, env: dict | None = None, timeout: float = 600):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def handout(tmp_path_factory) -> Path:
    return release(find_assignment("detection"), tmp_path_factory.mktemp("handout") / "detection-handout").path


def student_copy(handout: Path, tmp_path: Path, edits: dict[str, str] | None = None,
                 appends: dict[str, str] | None = None) -> Path:
    """A student's folder holding a copy of the handout's stub package, edited."""
    import shutil

    dest = tmp_path / "student"
    shutil.copytree(handout / "detection" / "detection", dest / "detection")
    for rel, text in (edits or {}).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    for rel, text in (appends or {}).items():
        with open(dest / rel, "a") as f:
            f.write(text)
    return dest


# ------------------------------------------------------------------------------- the README
def test_readme_says_how_to_install_test_pack_and_what_is_graded(handout):
    a = find_assignment("detection")
    readme = (handout / "README.md").read_text()
    for needle in ("python -m pip install -r requirements.txt", "nox -s test", "nox -s test -- -k",
                   "nox -s pack", "python pack.py", "detection-submission.zip",
                   f"## What is graded ({a.max_score:g} points)"):
        assert needle in readme, needle
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    assert len(rows) == len(a.checks)
    for check, row in zip(a.checks, rows):  # every graded item, from the manifest, with its points
        assert row.startswith(f"| `{check.id}` | {check.title}") and f"| {check.points:g} |" in row, row
    speed = a.speed[0]
    assert f"{speed.full_ratio:g}x" in readme and f"{speed.zero_ratio:g}x" in readme
    assert "`torchvision`, `pycocotools`" in readme  # the forbidden modules
    assert f"{a.limits.call_timeout_s:g} s per call" in readme and f"{a.limits.memory_mb} MB" in readme


def test_readme_of_an_accuracy_assignment_names_floor_and_target(tmp_path):
    a = find_assignment("tracking")
    readme = (release(a, tmp_path / "h").path / "README.md").read_text()
    for check in a.accuracy:
        assert f"{check.metric} of `{check.entry}` on held-out data" in readme
        assert f"none at {check.floor:g} or less, full points at {check.target:g} or more" in readme


def test_requirements_cover_what_the_public_tests_import(handout):
    reqs = (handout / "requirements.txt").read_text().splitlines()
    assert "torchvision" in reqs  # the detection tests' oracle
    assert {"torch>=2.4", "pytest>=8", "nox", "numpy"} <= set(reqs)
    assert 'tomli; python_version < "3.11"' in reqs
    assert "pycocotools" not in reqs  # only the hidden tests need it


def test_the_handout_noxfile_has_test_and_pack_sessions(handout):
    tree = ast.parse((handout / "noxfile.py").read_text())
    sessions = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert sessions == {"test", "pack"}


# ------------------------------------------------------------------------------- pack.py
def test_pack_py_is_the_graders_module_and_stdlib_only(handout):
    assert (handout / "pack.py").read_bytes() == (ROOT / "harness" / "static_checks.py").read_bytes()
    # the grader's staging and checks are these very functions
    import harness.submissions as submissions

    assert submissions.syntax_errors is static_checks.syntax_errors
    assert submissions.forbidden_imports is static_checks.forbidden_imports
    assert submissions.MAX_FILES is static_checks.MAX_FILES
    tree = ast.parse((handout / "pack.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names) | {"tomli"}, imported


def test_pack_in_the_handout_writes_the_zip_the_grader_stages(handout, tmp_path):
    student = student_copy(handout, tmp_path)
    (student / "detection" / "__pycache__").mkdir()
    (student / "detection" / "__pycache__" / "boxes.cpython-311.pyc").write_bytes(b"junk")
    out = tmp_path / "alice.zip"
    # -S -I: no site-packages, no PYTHONPATH: nothing of the harness is importable
    done = run([sys.executable, "-S", "-I", "pack.py", "--student-dir", str(student), "--out", str(out)], cwd=handout)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    names = zipfile.ZipFile(out).namelist()
    assert names and all(n.startswith("detection/") for n in names) and not any("__pycache__" in n for n in names)
    # the grader stages exactly what was packed
    from_zip = stage(SubmissionSource("alice", out), "detection", tmp_path / "staged_zip")
    from_dir = stage(SubmissionSource("alice", student), "detection", tmp_path / "staged_dir")
    assert content_hash(from_zip) == content_hash(from_dir)


def test_pack_defaults_to_the_assignment_beside_it(handout, tmp_path):
    done = run([sys.executable, str(handout / "pack.py")], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "detection-submission.zip").is_file()


def test_pack_fails_with_the_graders_messages(handout, tmp_path):
    student = student_copy(handout, tmp_path, edits={"detection/broken.py": "def f(:\n"},
                           appends={"detection/boxes.py": "\nimport torchvision.ops as tvo\n"})
    init = student / "detection" / "__init__.py"
    init.write_text(init.read_text().replace("from .losses import sigmoid_focal_loss\n", ""))
    out = tmp_path / "x.zip"
    done = run([sys.executable, "-S", "pack.py", "--student-dir", str(student), "--out", str(out)], cwd=handout)
    assert done.returncode == 1 and not out.exists()
    staged = stage(SubmissionSource("x", student), "detection", tmp_path / "staged")
    expected = [static_checks.SYNTAX_HEADLINE, *syntax_errors(staged), *forbidden_imports(staged, ("torchvision",
                "pycocotools")), "the submission's package does not define 'sigmoid_focal_loss'"]
    for line in expected:
        assert line in done.stderr, (line, done.stderr)
    assert "detection/broken.py:1: SyntaxError" in done.stderr
    assert "detection/boxes.py:" in done.stderr and "imports 'torchvision.ops', which this assignment forbids" in \
        done.stderr


def test_the_grader_says_the_same_about_a_syntax_error(grade, tmp_path):
    result = grade({"detection/__init__.py": "def box_iou(:\n"})
    problems = static_checks.check_package(tmp_path / "student", package="detection")
    assert result.status == "error" and problems and problems[0] in result.error


def test_pack_refuses_a_missing_package_and_a_too_big_one(handout, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    problems = static_checks.check_package(empty, package="detection")
    assert problems == [static_checks.no_package_message("detection", "notes/")]
    student = student_copy(handout, tmp_path)
    monkeypatch.setattr(static_checks, "MAX_FILES", 3)
    assert static_checks.check_package(student, package="detection") == [static_checks.too_big_message()]
    from harness.submissions import SubmissionError

    with pytest.raises(SubmissionError, match="more than 3 files"):
        stage(SubmissionSource("x", student), "detection", tmp_path / "staged")


def test_missing_api_reads_init_statically(tmp_path):
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import f as g, h\ntry:\n    from .b import k\nexcept ImportError:\n"
                                     "    k = None\nclass C: ...\nX = 1\n")
    assert static_checks.missing_api(pkg, ["g", "h", "k", "C", "X"]) == []
    assert static_checks.missing_api(pkg, ["f"]) == ["the submission's package does not define 'f'"]
    (pkg / "__init__.py").write_text("from .a import *\n")
    assert static_checks.missing_api(pkg, ["anything"]) == []  # unknowable without running it


def test_cv3_pack(tmp_path):
    out = tmp_path / "d.zip"
    done = run([sys.executable, "-m", "harness.cli", "pack", "detection", "--out", str(out)], cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "detection/__init__.py" in zipfile.ZipFile(out).namelist()
    bad = tmp_path / "bad"
    (bad / "detection").mkdir(parents=True)
    (bad / "detection" / "__init__.py").write_text("import torchvision\n")
    done = run([sys.executable, "-m", "harness.cli", "pack", "detection", "--student-dir", str(bad),
                "--out", str(tmp_path / "bad.zip")], cwd=ROOT)
    assert done.returncode == 1
    assert "detection/__init__.py:1: imports 'torchvision', which this assignment forbids" in done.stderr
    assert "does not define 'box_iou'" in done.stderr


# ------------------------------------------------------------------ the forbidden-module rule
def _worker_message(name: str, forbidden: list[str]) -> str:
    """The sandbox worker's own ForbiddenImport message (its classes, run without the worker):
    its finder returns a spec whose loader refuses, so a probe succeeds and an import fails."""
    source = (ROOT / "harness" / "sandbox" / "worker.py").read_text()
    nodes = [n for n in ast.parse(source).body
             if isinstance(n, ast.ClassDef) and n.name in ("ForbiddenImport", "_RefusedLoader")]
    assert len(nodes) == 2, "worker.py defines ForbiddenImport and _RefusedLoader"
    namespace = {"importlib": importlib}  # the classes derive from importlib.abc
    exec(compile(ast.Module(nodes, []), "worker.py", "exec"), namespace)  # noqa: S102
    spec = namespace["ForbiddenImport"](forbidden).find_spec(name)
    assert spec is not None and spec.origin is None
    with pytest.raises(ImportError) as e:
        importlib.util.module_from_spec(spec)
    return str(e.value)


def test_the_test_kit_refuses_like_the_worker(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text("def load():\n    import json.decoder\n    return json.decoder\n")
    guard = testkit.ForbiddenImportGuard(pkg, ["json", "csv"])
    sys.path.insert(0, str(tmp_path))
    testkit.install_guard(guard)
    try:
        import json  # noqa: F401 - outside the package: allowed (a public test's oracle)

        mod = importlib.import_module("pkg.mod")
        with pytest.raises(ImportError) as e:
            mod.load()  # json is loaded already; still refused from the student's code
        assert str(e.value) == _worker_message("json.decoder", ["json", "csv"])
    finally:
        testkit.remove_guard(guard)
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
            del sys.modules[name]
    import builtins

    assert builtins.__import__ is testkit._ORIGINAL_IMPORT
    assert importlib.import_module is testkit._ORIGINAL_IMPORT_MODULE


def test_public_tests_in_the_handout_refuse_a_forbidden_import(handout, tmp_path):
    student = student_copy(handout, tmp_path, appends={"detection/roi.py": '''

def roi_pool(input, boxes, output_size, spatial_scale=1.0):  # noqa: F811
    from torchvision.ops import roi_pool as tv_roi_pool

    return tv_roi_pool(input, boxes, output_size, spatial_scale)
'''})
    env = {**os.environ, "PYTHONPATH": str(handout), "CV3_STUDENT_DIR": str(student)}
    done = run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:cv3", "-p", "harness.testkit",
                "detection/tests", "-q", "-k", "roi_pool"], cwd=handout, env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert _worker_message("torchvision.ops", ["torchvision", "pycocotools"]) in out
    assert re.search(r"roi_pool\s+0/2", out), out[-3000:]


# --------------------------------------------------------------------- cv3 test: options, summary
@pytest.mark.parametrize("order", ["after", "before"])
def test_cv3_test_options_before_or_after_the_name(order, tmp_path):
    student = tmp_path / "s"
    import shutil

    shutil.copytree(ROOT / "reference" / "detection" / "detection", student / "detection")
    opts = ["--student-dir", str(student)]
    args = ["detection", *opts] if order == "after" else [*opts, "detection"]
    done = run([sys.executable, "-m", "harness.cli", "test", *args, "--", "-k", "iou_of_a_box_with_itself"],
               cwd=ROOT)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "unrecognized arguments" not in out
    assert re.search(r"^iou\s+\d+/\d+\s+8\s+done", out, re.M), out[-2000:]
    assert re.search(r"\d+ passed, \d+ deselected", out)


def test_cv3_test_on_the_stub_collapses_not_implemented(tmp_path):
    done = run([sys.executable, "-m", "harness.cli", "test", "detection"], cwd=ROOT)
    out = done.stdout + done.stderr
    a = find_assignment("detection")
    assert done.returncode == 1
    assert "cv3: public tests of 'detection' by task" in out
    for task in a.tasks:
        assert re.search(rf"^{task.id}\s+0/\d+\s+{task.points:g}\s+not implemented yet", out, re.M), task.id
    assert "raise NotImplementedError" not in out and "Traceback" not in out
    # one line per unimplemented function, not one traceback per test
    assert len(out.splitlines()) < 80, len(out.splitlines())
    assert out.count("NotImplementedError: box_iou: implement me") == 1
    assert re.search(r"^\d+ failed", out.strip().splitlines()[-1])


def test_plain_pytest_in_the_handout_loads_the_test_kit_without_an_entry_point(tmp_path):
    """A student's environment has no `cv3` entry point: the handout's pytest.ini loads its own
    copy of the test kit, so `python -m pytest <name>/tests` runs the public tests."""
    import os
    import subprocess
    import sys

    from harness.authoring import release
    from harness.manifest import find_assignment

    out = tmp_path / "handout"
    release(find_assignment("detection"), out)
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "detection/tests", "-q"], cwd=out, env=env,
                          capture_output=True, text=True, timeout=300)
    assert "fixture 'student' not found" not in done.stdout + done.stderr
    assert "35 failed" in done.stdout and "NotImplementedError" in done.stdout, done.stdout[-2000:]
