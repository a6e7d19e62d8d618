"""`cv3 new`: a scaffolded assignment passes `cv3 check` at once; the stub follows the reference
(stale after a public change outside the markers, unchanged by an edit between them); a test
without a task marker fails the check."""

from __future__ import annotations

import io
import shutil

import pytest

from harness.authoring import scaffold, self_check
from harness.manifest import load_manifest
from harness.sandbox import LocalSandbox  # noqa: F401  (the grading path is importable)
from harness.stubgen import stale_stubs, tasks_by_name, write_stubs
from tests.conftest import ROOT

# The files a course author writes by hand for a new assignment (the stub package is generated).
HAND_WRITTEN = {
    "assignments/demo_topic/assignment.toml",
    "assignments/demo_topic/README.md",
    "assignments/demo_topic/tests/test_public.py",
    "reference/demo_topic/demo_topic/__init__.py",
    "reference/demo_topic/demo_topic/core.py",
    "reference/demo_topic/tests/test_hidden_basics.py",
}


@pytest.fixture
def course(tmp_path):
    """A course root with README.md (its generated table) and no assignments yet."""
    root = tmp_path / "course"
    root.mkdir()
    text = (ROOT / "README.md").read_text()
    (root / "README.md").write_text(text)
    return root


def check(a) -> tuple[bool, str]:
    out = io.StringIO()
    ok = self_check(a, speed=False, out=lambda line: print(line, file=out))
    return ok, out.getvalue()


@pytest.mark.slow
def test_new_assignment_passes_check_and_its_stub_follows_the_reference(course):
    files = scaffold("demo_topic", root=course)
    rel = {str(p.relative_to(course)) for p in files}
    assert HAND_WRITTEN <= rel
    generated = rel - HAND_WRITTEN
    assert generated == {"assignments/demo_topic/demo_topic/__init__.py",
                         "assignments/demo_topic/demo_topic/core.py", "README.md", "docs/manifest.md"}
    assert "`demo_topic`" in (course / "README.md").read_text()  # the registry's table
    a = load_manifest(course / "assignments" / "demo_topic" / "assignment.toml")
    ok, out = check(a)
    assert ok, out
    assert "[ok] reference scores full marks: 10/10" in out and "[ok] stub scores zero: 0/10" in out

    # a public function added outside the markers: the stub is stale until regenerated
    core = a.reference_dir / "core.py"
    original = core.read_text()
    core.write_text(original + '\n\ndef shift(x, by):\n    """Add ``by``."""\n    # BEGIN SOLUTION\n'
                    '    return x + by\n    # END SOLUTION\n')
    stale = stale_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a))
    assert stale and "core.py" in stale[0] and "cv3 stubs" in stale[0], stale
    ok, out = check(a)
    assert not ok and "[FAIL] the student stubs are generated from the current reference" in out
    write_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a))
    assert stale_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a)) == []
    assert "def shift(x, by):" in (a.stub_dir / "core.py").read_text()

    # a line changed between the markers: the generated stub does not change
    before = (a.stub_dir / "core.py").read_text()
    core.write_text(core.read_text().replace("    return x * factor\n", "    return factor * x\n"))
    assert stale_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a)) == []
    write_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a))
    assert (a.stub_dir / "core.py").read_text() == before


def test_a_test_without_task_marker_fails_the_check(course):
    scaffold("demo_topic", root=course)
    a = load_manifest(course / "assignments" / "demo_topic" / "assignment.toml")
    from harness.authoring import test_marker_problems

    assert test_marker_problems(a) == []
    (a.hidden_tests_dir / "test_hidden_more.py").write_text("def test_unmarked(student):\n    pass\n")
    problems = test_marker_problems(a)
    assert problems and any("test_unmarked" in p for p in problems), problems


def test_new_refuses_a_bad_or_existing_name(course):
    with pytest.raises(ValueError, match="lower_snake_case"):
        scaffold("Demo-Topic", root=course)
    scaffold("demo_topic", root=course)
    with pytest.raises(FileExistsError, match="exists already"):
        scaffold("demo_topic", root=course)
    shutil.rmtree(course / "assignments")
