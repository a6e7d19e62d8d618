"""Shared fixtures: the detection assignment, a sandbox, and a `grade` helper that writes a
submission under tmp_path and grades it through the real sandbox."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from harness.grading.grade import Grader
from harness.manifest import find_assignment, list_assignments, repo_root
from harness.sandbox import LocalSandbox
from harness.sandbox.local import bubblewrap_available
from harness.submissions import SubmissionSource

ROOT = repo_root()


def load_module(path: Path, alias: str) -> object:
    """The Python file ``path`` imported once under ``alias`` (a hidden-tests helper, as the
    grader loads it: its sibling helpers import by name, never another assignment's)."""
    from harness.testkit import sibling_helpers

    if alias not in sys.modules:
        spec = importlib.util.spec_from_file_location(alias, path)
        module = importlib.util.module_from_spec(spec)
        with sibling_helpers(Path(path).parent):
            spec.loader.exec_module(module)
        sys.modules[alias] = module
    return sys.modules[alias]
HAVE_BWRAP = bubblewrap_available()
needs_bwrap = pytest.mark.skipif(
    not HAVE_BWRAP, reason="bubblewrap is not installed or cannot create namespaces here "
    "(apt-get install bubblewrap); filesystem/network isolation cannot be tested")


_TEST_KEY = "c3a7e5d1f0b24968a1d3c5e7f9b0d2e4"  # 128 bits; tests that need other keys make their own


@pytest.fixture(scope="session", autouse=True)
def _course_key(tmp_path_factory):
    """A course key of the test session's own (held-out data comes from it): the suite never
    creates or reads results/course.key. Set in the environment, so subprocesses use it too.
    Its value is fixed, so every run sees the same held-out data: a margin such as "the reference
    beats a box that never moves by 0.15" is then a property of that data, not a draw that one
    random key in fifty misses (a CI run did, at 0.144)."""
    import os

    from harness.secret import create_key

    key = create_key(tmp_path_factory.mktemp("course") / "course.key", value=_TEST_KEY)
    before = os.environ.get("CV3_COURSE_KEY_FILE")
    os.environ.setdefault("CV3_COURSE_KEY_FILE", str(key))
    yield key
    if before is None:
        os.environ.pop("CV3_COURSE_KEY_FILE", None)


def pytest_report_header(config):
    return f"sandbox isolation: {'bubblewrap' if HAVE_BWRAP else 'process (bubblewrap missing)'}"


@pytest.fixture(scope="session")
def assignment():
    return find_assignment("detection")


@pytest.fixture(scope="session")
def sandbox(assignment):
    sb = LocalSandbox(limits=assignment.limits)
    yield sb
    sb.close()


@pytest.fixture(scope="session")
def grader(assignment, sandbox):
    g = Grader(assignment, sandbox=sandbox)
    yield g
    g.close()


def write_package(root: Path, files: dict[str, str], base: Path | None = None) -> Path:
    """A submission folder: optional copy of ``base`` (a package dir) plus ``files``
    (paths relative to the submission root, e.g. 'detection/__init__.py')."""
    if base is not None:
        shutil.copytree(base, root / base.name, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def grade(grader, tmp_path):
    """grade(files, base=None, tasks=None, speed=False) -> SubmissionResult"""

    def run(files: dict[str, str], *, base: Path | None = None, tasks=None, speed: bool = False,
            name: str = "student"):
        sub = write_package(tmp_path / name, files, base)
        grader.only_tasks = set(tasks) if tasks else None
        grader.speed_enabled = speed
        try:
            return grader.grade(SubmissionSource(name, sub))
        finally:
            grader.only_tasks = None
            grader.speed_enabled = True

    return run


def all_assignments():
    return [a.name for a in list_assignments()]
