"""Course-author tools: stub/reference API drift, the student handout and `cv3 check`.

The registry tests run for every assignment in ``assignments/*/assignment.toml``, so a new
assignment is covered without editing this file.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness import cli
from harness.authoring import api_differences, handout_leaks, load_package_as, release
from harness.manifest import Task, find_assignment
from tests.conftest import ROOT, all_assignments

ALIASES = ("cv3_stub_", "cv3_reference_", "cv3_test_")


@pytest.fixture(autouse=True)
def _restore_package_aliases():
    """api_differences imports stub and reference under aliases (cv3_reference_<name> is also the
    alias the hidden tests' conftest reuses): never leave a tmp_path copy behind in sys.modules."""
    saved = {k: v for k, v in sys.modules.items() if k.startswith(ALIASES)}
    yield
    for k in [k for k in sys.modules if k.startswith(ALIASES)]:
        del sys.modules[k]
    sys.modules.update(saved)


def cv3(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def py_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.py"))
            if "__pycache__" not in p.parts}


def dummy_call(fn):
    """Call ``fn`` with None for every required parameter (stubs raise before using them)."""
    sig = inspect.signature(fn)
    args, kwargs = [], {}
    for p in sig.parameters.values():
        if p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind == p.KEYWORD_ONLY:
            kwargs[p.name] = None
        else:
            args.append(None)
    return fn(*args, **kwargs)


def raises_not_implemented(fn, member: str) -> None:
    """``fn`` called with None arguments raises NotImplementedError naming ``member``; where given
    input checks reject the None arguments first (TypeError or ValueError), the stub's source must
    still end in that raise."""
    try:
        dummy_call(fn)
    except NotImplementedError as e:
        assert member in str(e), f"{member}: the NotImplementedError does not name it: {e}"
        return
    except (TypeError, ValueError):
        source = inspect.getsource(fn)
        assert re.search(r"raise NotImplementedError\(\s*f?[\"'][^\"']*" + re.escape(member), source), \
            f"{member}: given checks reject None arguments, and no raise NotImplementedError(...{member}...) follows"
        return
    pytest.fail(f"{member} returned instead of raising NotImplementedError")


# -------------------------------------------------------------------------- registry: every assignment


@pytest.mark.parametrize("name", all_assignments())
def test_stub_and_reference_apis_match(name):
    assert api_differences(find_assignment(name)) == []


@pytest.mark.parametrize("name", all_assignments())
def test_every_stub_function_raises_not_implemented(name):
    a = find_assignment(name)
    stub = load_package_as(a.stub_dir, f"cv3_test_stub_{name}")
    reference = load_package_as(a.reference_dir, f"cv3_test_reference_{name}")

    def given(stub_obj, ref_obj) -> bool:
        """Code handed to students as it is (no solution markers inside): the same source."""
        try:
            return inspect.getsource(stub_obj) == inspect.getsource(ref_obj)
        except (OSError, TypeError):
            return False

    checked, handed_out = [], []
    for member in stub.__all__:
        obj = getattr(stub, member)
        if inspect.isclass(obj) and given(obj, getattr(reference, member)):
            handed_out.append(member)  # a whole class handed out, e.g. a model built from graded blocks
            continue
        if inspect.isclass(obj):
            try:
                instance = dummy_call(obj)
            except NotImplementedError:
                checked.append(member)
                continue
            except (TypeError, ValueError, AttributeError):
                # a given constructor that builds layers cannot take None arguments; the
                # methods to implement raise before they touch the instance's state
                assert given(obj.__init__, getattr(reference, member).__init__), \
                    f"{member}.__init__ neither raises NotImplementedError nor is given code"
                instance = obj.__new__(obj)
                if isinstance(instance, torch.nn.Module):
                    torch.nn.Module.__init__(instance)
            methods = [m for m, v in vars(obj).items()
                       if callable(v) and not m.startswith("_") and m != "training"
                       and not given(v, vars(getattr(reference, member)).get(m))]
            assert methods, f"class {member} has no public method to check"
            for m in methods:
                raises_not_implemented(getattr(instance, m), member)
                checked.append(f"{member}.{m}")
        else:
            assert callable(obj), f"{member} is exported but is neither a function nor a class"
            if given(obj, getattr(reference, member)):
                handed_out.append(member)  # given code, e.g. a helper the graded functions call
                continue
            raises_not_implemented(obj, member)
            checked.append(member)
    assert checked and len(checked) + len(handed_out) >= len(a.api)


@pytest.mark.parametrize("name", all_assignments())
def test_manifest_api_is_exported_by_stub_and_reference(name):
    a = find_assignment(name)
    assert a.api, "a manifest without api names cannot be graded"
    for side, folder in (("stub", a.stub_dir), ("reference", a.reference_dir)):
        module = load_package_as(folder, f"cv3_test_{side}_{name}")
        missing = [n for n in a.api if n not in module.__all__ or not hasattr(module, n)]
        assert missing == [], f"{side} does not export {missing}"


@pytest.mark.parametrize("name", all_assignments())
def test_stub_and_reference_have_the_same_module_files(name):
    a = find_assignment(name)
    assert sorted(py_files(a.stub_dir)) == sorted(py_files(a.reference_dir))
    assert "__init__.py" in py_files(a.stub_dir)


# -------------------------------------------------------------------------- API drift is detected


@pytest.fixture
def copies(tmp_path):
    """The detection assignment with its stub and reference copied under tmp_path."""
    a = find_assignment("detection")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(a.root, tmp_path / "assignments" / a.name, ignore=ignore)
    shutil.copytree(a.reference_root, tmp_path / "reference" / a.name, ignore=ignore)
    b = dataclasses.replace(a, root=tmp_path / "assignments" / a.name,
                            reference_root=tmp_path / "reference" / a.name)
    assert api_differences(b) == []  # the copy itself is clean: each change below is the cause
    return b


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(text.replace(old, new))


def test_drift_changed_default_is_reported(copies):
    edit(copies.stub_dir / "boxes.py", "def nms(boxes: Tensor, scores: Tensor, iou_threshold: float)",
         "def nms(boxes: Tensor, scores: Tensor, iou_threshold: float = 0.5)")
    problems = api_differences(copies)
    assert len(problems) == 1, problems
    assert problems[0].startswith("'nms': signature differs: stub ")
    assert "iou_threshold: 'float' = 0.5) -> 'Tensor' vs reference" in problems[0]
    assert problems[0].endswith("iou_threshold: 'float') -> 'Tensor'")


def test_drift_changed_method_signature_is_reported(copies):
    edit(copies.reference_dir / "roi.py", "def forward(self, input: Tensor, rois: Tensor)",
         "def forward(self, input: Tensor, boxes: Tensor)")
    problems = api_differences(copies)
    assert len(problems) == 1, problems
    assert problems[0].startswith("'RoIAlign.forward': signature differs")
    assert "rois: 'Tensor'" in problems[0] and "boxes: 'Tensor'" in problems[0]


def test_drift_changed_docstring_is_reported_with_the_line(copies):
    edit(copies.stub_dir / "boxes.py", "Pairwise intersection over union (Jaccard index) of two sets",
         "Pairwise IoU (Jaccard index) of two sets")
    problems = api_differences(copies)
    assert len(problems) == 1, problems
    assert problems[0].startswith("'box_iou': docstring differs between stub and reference")
    assert "line 1" in problems[0]
    assert "'Pairwise IoU (Jaccard index) of two sets of boxes.'" in problems[0]
    assert "'Pairwise intersection over union (Jaccard index) of two sets of boxes.'" in problems[0]


def test_drift_removed_function_is_reported(copies):
    init = copies.stub_dir / "__init__.py"
    edit(init, "from .losses import sigmoid_focal_loss\n", "")
    edit(init, '    "sigmoid_focal_loss",\n', "")
    problems = api_differences(copies)
    assert problems == ["'sigmoid_focal_loss' is in the reference but missing from the stub"]


def test_drift_extra_function_in_the_stub_is_reported(copies):
    init = copies.stub_dir / "__init__.py"
    init.write_text(init.read_text() + '\n\ndef soft_nms(boxes):\n    """Soft NMS."""\n'
                    '    raise NotImplementedError\n\n\n__all__ += ["soft_nms"]\n')
    assert api_differences(copies) == ["'soft_nms' is in the stub but missing from the reference"]


def test_drift_stub_that_does_not_import_is_reported_not_raised(copies):
    # the function is gone from its module but still imported by __init__
    path = copies.stub_dir / "losses.py"
    path.write_text(path.read_text().split("def sigmoid_focal_loss")[0])
    problems = api_differences(copies)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"the stub package {copies.stub_dir} cannot be imported: ImportError")
    assert "sigmoid_focal_loss" in problems[0]


def test_drift_module_files_and_manifest_names_are_reported(copies):
    (copies.reference_dir / "utils.py").write_text('"""Helpers."""\n')
    extra = Task("soft", "Soft NMS", 1.0, ("soft_nms",))
    b = dataclasses.replace(copies, checks=(*copies.checks, extra))
    problems = api_differences(b)
    assert "manifest API name 'soft_nms' is not exported by the reference" in problems
    assert any(p.startswith("module files differ:") and "'utils.py'" in p for p in problems), problems
    assert len(problems) == 2, problems


# -------------------------------------------------------------------------- the handout


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    base = tmp_path_factory.mktemp("release")
    done = cv3("release", "detection", "--out", str(base / "handout"), cwd=base)
    assert done.returncode == 0, done.stderr
    assert "wrote the 'detection' handout" in done.stdout
    return base / "handout"


def secret_sources(a) -> dict[str, bytes]:
    """Reference-side .py files whose bytes are not also a public (stub-side) file."""
    public = set(py_files(a.root).values())
    return {rel: data for rel, data in py_files(a.reference_root).items() if data not in public}


def test_handout_has_the_student_files(handout):
    a = find_assignment("detection")
    stubs = py_files(a.stub_dir)
    shipped = py_files(handout / "detection" / "detection")
    assert shipped == stubs  # the stubs, byte for byte, and nothing else
    for rel in ("detection/tests/test_public.py", "detection/README.md",
                "detection/assignment.toml", "harness/testkit.py", "harness/__init__.py",
                "cv3data/__init__.py", "noxfile.py", "README.md", "requirements.txt", "pack.py"):
        assert (handout / rel).is_file(), f"{rel} missing from the handout"
    assert (handout / "harness" / "testkit.py").read_bytes() == (ROOT / "harness" / "testkit.py").read_bytes()
    assert sorted(p.name for p in (handout / "harness").iterdir()) == ["__init__.py", "testkit.py"]
    assert (handout / "pack.py").read_bytes() == (ROOT / "harness" / "static_checks.py").read_bytes()
    assert "detection/tests" in (handout / "noxfile.py").read_text()
    assert "def pack(session)" in (handout / "noxfile.py").read_text()
    assert sorted(p.name for p in handout.iterdir()) == ["README.md", "cv3data", "detection", "harness",
                                                         "noxfile.py", "pack.py", "pytest.ini", "requirements.txt"]


def test_handout_has_no_reference_code_or_hidden_tests(handout):
    a = find_assignment("detection")
    secrets = secret_sources(a)
    # the test is meaningful: the reference's solved modules and hidden tests are secret
    assert {"detection/boxes.py", "detection/roi.py", "tests/speed_cases.py", "samples.py"} <= set(secrets)
    assert any(k.startswith("tests/test_hidden_") for k in secrets)
    files = [p for p in handout.rglob("*") if p.is_file()]
    for p in files:
        rel = p.relative_to(handout)
        data = p.read_bytes()
        assert data not in secrets.values(), f"{rel} is a copy of a reference file"
        assert not p.name.startswith("test_hidden"), rel
        assert p.name not in ("speed_cases.py", "samples.py"), rel
        assert "reference" not in str(rel).lower(), rel
    assert handout_leaks(a, handout) == []


def reference_only_helpers(a) -> set[str]:
    """Top-level private functions/classes of reference files whose names the stub side never uses."""
    public_text = "\n".join(d.decode() for d in py_files(a.root).values())
    names = set()
    for data in py_files(a.reference_root).values():
        for node in ast.parse(data).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("_"):
                if node.name not in public_text:
                    names.add(node.name)
    return names


def test_handout_has_no_reference_only_helper_names(handout):
    names = reference_only_helpers(find_assignment("detection"))
    assert "_greedy_nms" in names and len(names) >= 5  # the check has something to find
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    for p in handout.rglob("*"):
        if p.is_file() and p.suffix in (".py", ".md", ".toml", ".txt"):
            hit = pattern.search(p.read_text(errors="replace"))
            assert hit is None, f"{p.relative_to(handout)} mentions the reference helper {hit.group(0)}"


def test_release_into_a_non_empty_folder_exits_2(tmp_path):
    out = tmp_path / "handout"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    done = cv3("release", "detection", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2
    assert "exists and is not empty" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"


def test_public_tests_run_in_the_handout_and_fail_on_the_stubs(handout):
    env = {**os.environ, "PYTHONPATH": str(handout)}
    where = subprocess.run(
        [sys.executable, "-c", "import harness.testkit, cv3data; print(harness.testkit.__file__); "
         "print(cv3data.__file__)"], cwd=handout, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert all(Path(line).resolve().is_relative_to(handout.resolve()) for line in where.stdout.split()), \
        where.stdout  # the handout's own test kit and data, not the repository's

    done = subprocess.run([sys.executable, "-m", "pytest", "detection/tests", "-q", "-p", "no:cacheprovider"],
                          cwd=handout, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    summary = out.strip().splitlines()[-1]
    assert re.match(r"^\d+ failed", summary), summary
    assert "error" not in summary and "passed" not in summary, summary
    assert "NotImplementedError" in out


def test_handout_leaks_detects_planted_reference_code(handout, tmp_path):
    a = find_assignment("detection")
    h = tmp_path / "handout"
    shutil.copytree(handout, h)
    assert handout_leaks(a, h) == []

    shutil.copy(a.reference_dir / "boxes.py", h / "detection" / "detection" / "boxes.py")
    planted = "detection/detection/boxes.py (copy of reference/detection/detection/boxes.py)"
    leaks = handout_leaks(a, h)
    assert planted in leaks
    # the solution markers and solution lines of that copy are named too, with their lines
    assert all(x == planted or x.startswith("detection/detection/boxes.py:") for x in leaks), leaks
    assert any("solution marker '# BEGIN SOLUTION' survived" in x for x in leaks), leaks

    # a lightly edited copy, and a hidden test under an innocent name
    (h / "detection" / "detection" / "boxes.py").write_bytes((a.stub_dir / "boxes.py").read_bytes())
    roi = (a.reference_dir / "roi.py").read_text()
    (h / "detection" / "detection" / "roi.py").write_text("# my solution\n" + roi + "\n# end\n")
    hidden = (a.hidden_tests_dir / "test_hidden_boxes.py").read_text()
    (h / "detection" / "tests" / "test_more.py").write_text(hidden.replace("\n\n\n", "\n\n"))
    leaks = handout_leaks(a, h)
    assert "detection/detection/roi.py (copy of reference/detection/detection/roi.py)" in leaks
    assert "detection/tests/test_more.py (copy of reference/detection/tests/test_hidden_boxes.py)" in leaks
    others = [x for x in leaks if "(copy of" not in x]
    assert others and all(x.startswith("detection/detection/roi.py:") for x in others), others

    (h / "detection" / "tests" / "test_hidden_extra.py").write_text("def test_x():\n    pass\n")
    assert "detection/tests/test_hidden_extra.py (reference or hidden-test path)" in handout_leaks(a, h)


def test_release_refuses_a_leaky_handout(copies, tmp_path, monkeypatch, capsys):
    # a course author copied a hidden test into the public tests under another name
    shutil.copy(copies.hidden_tests_dir / "test_hidden_boxes.py", copies.public_tests_dir / "test_boxes.py")
    out = tmp_path / "out"
    expected = ("refusing to release: the handout would contain detection/tests/test_boxes.py "
                "(copy of reference/detection/tests/test_hidden_boxes.py)")
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        release(copies, out)
    assert not out.exists(), "a refused handout must not be left on disk"

    # and through the CLI: a clear error, no traceback
    monkeypatch.setattr("harness.manifest.find_assignment", lambda name, root=None: copies)
    assert cli.main(["release", "detection", "--out", str(tmp_path / "out2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refusing to release") and "test_hidden_boxes.py" in err
    assert not (tmp_path / "out2").exists()


# -------------------------------------------------------------------------- cv3 check


@pytest.mark.slow
@pytest.mark.parametrize("name", all_assignments())
def test_check_passes(name, tmp_path):
    # the reference trains in the sandbox for several accuracy checks (semisup: about 3 minutes on an
    # idle 2-core machine), and the suite runs two of these at once
    done = cv3("check", name, "--no-speed", cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    a = find_assignment(name)
    graded = sum(c.points for c in a.checks if c.table != "speed")  # --no-speed: tests, accuracy, probes
    lines = done.stdout.splitlines()
    assert "[ok] stub and reference APIs match" in lines
    assert f"[ok] reference scores full marks: {graded:g}/{graded:g}" in lines
    assert f"[ok] stub scores zero: 0/{graded:g}" in lines
    assert lines[-1] == "check passed"
    assert not any(ln.startswith("[FAIL]") for ln in lines)
