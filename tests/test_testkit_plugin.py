"""The test kit as a pytest plugin (entry point ``cv3``): assignments need no conftest.py.

Each test builds a tiny course under pytester's folder (``assignments/toy`` with its manifest,
stub and public tests; ``reference/toy`` with the solution and hidden tests) and runs pytest on
it in a fresh process, the way students and course authors do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

MANIFEST = """
[assignment]
name = "toy"
package = "toy"

[[task]]
id = "basics"
points = 5

[[task]]
id = "extra"
points = 5
"""

# the public tests: which package did `student` import, and one torch thread while they run
PUBLIC_TEST = """
import os

import pytest
import torch

from harness.testkit import LocalStudent

torch.set_num_threads(3)  # at import (collection); the plugin makes it 1 while the tests run


@pytest.mark.task("basics")
def test_student_is_the_expected_package(student):
    assert student.WHERE == os.environ["EXPECT_WHERE"]
    if os.environ["EXPECT_WHERE"] != "proxy":
        assert type(student) is LocalStudent


@pytest.mark.task("extra")
def test_one_torch_thread():
    assert torch.get_num_threads() == 1
"""

# the hidden tests: the reference under its alias, and a trusted sibling helper imported by name
HIDDEN_TEST = """
import os
import sys

import pytest

from toy_helpers import HELPER


@pytest.mark.task("basics")
def test_reference_is_loaded_under_its_alias(reference, student):
    assert reference.__name__ == "cv3_reference_toy"
    assert sys.modules["cv3_reference_toy"] is reference
    assert reference.WHERE == "reference"
    assert reference.double(4) == 8
    assert student.WHERE == os.environ["EXPECT_WHERE"]


@pytest.mark.task("extra")
def test_sibling_helper_imports_by_name():
    assert HELPER == 42
"""

UNMARKED_TEST = """
import pytest


def test_without_marker():
    pass


@pytest.mark.task("nope")
def test_with_unknown_task():
    pass


@pytest.mark.task("basics")
def test_with_a_good_marker():
    pass
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))


@pytest.fixture
def course(pytester, monkeypatch):
    """A tiny course: assignments/toy (manifest, stub, public tests) and reference/toy."""
    for var in ("CV3_STUDENT_DIR", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_PLUGINS", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("EXPECT_WHERE", "stub")
    _write(pytester.path, {
        "assignments/toy/assignment.toml": MANIFEST,
        "assignments/toy/toy/__init__.py": 'WHERE = "stub"\n\ndef double(x):\n    raise NotImplementedError\n',
        "assignments/toy/tests/test_x.py": PUBLIC_TEST,
        "reference/toy/toy/__init__.py": 'WHERE = "reference"\n\ndef double(x):\n    return 2 * x\n',
        "reference/toy/tests/test_hidden.py": HIDDEN_TEST,
        "reference/toy/tests/toy_helpers.py": "HELPER = 42\n",
    })
    return pytester.path


def _run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_the_entry_point_is_registered():
    from importlib.metadata import entry_points

    assert [ep.value for ep in entry_points(group="pytest11") if ep.name == "cv3"] == ["harness.testkit"]


@pytest.mark.parametrize("mode", ["prepend", "importlib"])
def test_student_fixture_imports_the_stub_by_default(course, pytester, mode):
    result = _run(pytester, "assignments/toy/tests", "reference/toy/tests", f"--import-mode={mode}")
    result.assert_outcomes(passed=4)
    assert "without a valid task marker" not in result.stdout.str()


def test_cv3_student_dir_switches_to_the_reference(course, pytester, monkeypatch):
    monkeypatch.setenv("CV3_STUDENT_DIR", str(course / "reference" / "toy"))
    monkeypatch.setenv("EXPECT_WHERE", "reference")
    _run(pytester, "assignments/toy/tests", "reference/toy/tests").assert_outcomes(passed=4)
    # and the expectation is real: the stub is not what the tests get now
    monkeypatch.setenv("EXPECT_WHERE", "stub")
    _run(pytester, "assignments/toy/tests").assert_outcomes(passed=1, failed=1)


API_MANIFEST = MANIFEST.replace('id = "basics"', 'id = "basics"\napi = ["double"]')

API_TEST = """
import pytest


@pytest.mark.task("basics")
def test_only_api_names_reach_the_package(student):
    assert student.double(4) == 8
    assert student.vjp("double", [__import__("torch").ones(2)])[0].tolist() == [2.0, 2.0]
    with pytest.raises(AttributeError, match="'WHERE' is not part of this assignment's API"):
        student.WHERE
    with pytest.raises(AttributeError, match="'WHERE' is not part of this assignment's API"):
        student.vjp("WHERE", [1.0])
"""


def test_the_local_student_refuses_names_outside_the_api_as_grading_does(course, pytester, monkeypatch):
    # the grading proxy forwards only the tasks' `api` names; locally the same test must fail
    _write(course, {"assignments/toy/assignment.toml": API_MANIFEST,
                    "reference/toy/tests/test_api.py": API_TEST})
    monkeypatch.setenv("CV3_STUDENT_DIR", str(course / "reference" / "toy"))
    _run(pytester, "reference/toy/tests/test_api.py").assert_outcomes(passed=1)
    # without `api` lists (a manifest that predates them) every public name still reaches it
    _write(course, {"assignments/toy/assignment.toml": MANIFEST})
    monkeypatch.setenv("EXPECT_WHERE", "reference")
    _run(pytester, "reference/toy/tests/test_hidden.py").assert_outcomes(passed=2)
    _run(pytester, "reference/toy/tests/test_api.py").assert_outcomes(failed=1)


def test_a_test_without_a_valid_task_marker_passes_but_is_reported(course, pytester):
    _write(course, {"assignments/toy/tests/test_unmarked.py": UNMARKED_TEST})
    result = _run(pytester, "assignments/toy/tests/test_unmarked.py")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "cv3: 2 test(s) without a valid task marker" in out
    assert "test_unmarked.py::test_without_marker: has no @pytest.mark.task(<id>) marker" in out
    assert "test_unmarked.py::test_with_unknown_task: its task marker names 'nope'" in out
    assert "test_with_a_good_marker:" not in out


def test_marker_problems_are_recorded_on_the_config(course, pytester):
    _write(course, {"assignments/toy/tests/test_unmarked.py": UNMARKED_TEST})
    reprec = pytester.inline_run("-p", "no:cacheprovider", "assignments/toy/tests/test_unmarked.py")
    reprec.assertoutcome(passed=3)
    config = reprec.getcall("pytest_collection_modifyitems").config
    problems = sorted(config.cv3_marker_problems)
    assert [p.split(": ", 1)[0] for p in problems] == [
        "assignments/toy/tests/test_unmarked.py::test_with_unknown_task",
        "assignments/toy/tests/test_unmarked.py::test_without_marker",
    ]
    assert "'nope'" in problems[0] and "no @pytest.mark.task" in problems[1]


def test_strict_markers_make_them_collection_errors(course, pytester):
    _write(course, {"assignments/toy/tests/test_unmarked.py": UNMARKED_TEST})
    result = _run(pytester, "assignments/toy/tests", "--cv3-strict-markers")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=2)  # nothing ran
    out = result.stdout.str()
    assert "ERROR assignments/toy/tests/test_unmarked.py::test_without_marker" in out
    assert "ERROR assignments/toy/tests/test_unmarked.py::test_with_unknown_task" in out
    assert "test_unmarked.py::test_without_marker: has no @pytest.mark.task(<id>) marker." in out
    assert "test_unmarked.py::test_with_unknown_task: its task marker names 'nope'" in out
    assert "Interrupted: 2 errors during collection" in out
    assert 'add @pytest.mark.task("<id>") with one of the task ids' in out
    assert "basics, extra" in out
    # with good markers only, strict mode changes nothing
    _run(pytester, "assignments/toy/tests/test_x.py", "--cv3-strict-markers").assert_outcomes(passed=2)


def test_a_test_folder_outside_any_assignment_is_untouched(course, pytester):
    _write(course, {
        "elsewhere/conftest.py": """
            import pytest

            @pytest.fixture
            def student():
                return "my own fixture"
        """,
        "elsewhere/test_plain.py": """
            import torch

            torch.set_num_threads(3)

            def test_own_student_fixture_wins(student):
                assert student == "my own fixture"

            def test_threads_are_left_alone():
                assert torch.get_num_threads() == 3
        """,
        "bare/test_bare.py": """
            def test_asks_for_the_kit_fixture(reference):
                pass
        """,
    })
    # no marker problems outside an assignment, even in strict mode; threads untouched
    result = _run(pytester, "elsewhere", "--cv3-strict-markers")
    result.assert_outcomes(passed=2)
    assert "cv3:" not in result.stdout.str()
    # after an assignment's tests (one thread), the previous thread count is back
    _run(pytester, "assignments/toy/tests", "elsewhere", "-p", "no:randomly").assert_outcomes(passed=4)
    result = _run(pytester, "bare")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the cv3 `reference` fixture serves only tests inside an assignment*"])


def test_a_student_handout_has_no_reference(pytester, monkeypatch):
    monkeypatch.delenv("CV3_STUDENT_DIR", raising=False)
    monkeypatch.setenv("EXPECT_WHERE", "stub")
    _write(pytester.path, {
        "toy/assignment.toml": MANIFEST,
        "toy/toy/__init__.py": 'WHERE = "stub"\n',
        "toy/tests/test_x.py": PUBLIC_TEST,
        "toy/tests/test_ref.py": """
            import pytest

            @pytest.mark.task("basics")
            def test_wants_the_reference(reference):
                pass
        """,
    })
    result = _run(pytester, "toy/tests")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*exists only on the grader's side*"])


RUNNER = """
import json, sys
from pathlib import Path
from harness.grading.runner import run_tests

class Proxy:
    WHERE = "proxy"

root = Path(sys.argv[1])
outcomes, errors, _ = run_tests(Proxy(), {"public": root / "assignments/toy/tests",
                                          "hidden": root / "reference/toy/tests"}, root)
print(json.dumps({"outcomes": {o.name: [o.task, o.suite, o.outcome, o.message] for o in outcomes},
                  "errors": errors}))
"""


@pytest.mark.parametrize("autoload", [True, False], ids=["entry-point", "autoload-disabled"])
def test_the_grading_runner_has_the_plugin(course, monkeypatch, autoload):
    """run_tests passes the plugin itself, so it is active (once) whether or not pytest loads
    entry points; the tests get the grader's proxy as ``student``."""
    monkeypatch.setenv("EXPECT_WHERE", "proxy")
    if not autoload:
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    done = subprocess.run([sys.executable, "-c", RUNNER, str(course)], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["outcomes"] == {
        "test_x::test_student_is_the_expected_package": ["basics", "public", "passed", ""],
        "test_x::test_one_torch_thread": ["extra", "public", "passed", ""],
        "test_hidden::test_reference_is_loaded_under_its_alias": ["basics", "hidden", "passed", ""],
        "test_hidden::test_sibling_helper_imports_by_name": ["extra", "hidden", "passed", ""],
    }


def _twin_course(root: Path) -> None:
    """Two assignments whose hidden tests import a sibling helper of the same plain name."""
    for name, value in (("toy", 1), ("twin", 2)):
        _write(root, {
            f"assignments/{name}/assignment.toml": MANIFEST.replace('"toy"', f'"{name}"'),
            f"assignments/{name}/{name}/__init__.py": "",
            f"reference/{name}/{name}/__init__.py": "",
            f"reference/{name}/tests/accuracy_cases.py": f"VALUE = {value}\nONLY_{name.upper()} = True\n",
            f"reference/{name}/tests/test_hidden_{name}.py": f"""
                import pytest

                from accuracy_cases import ONLY_{name.upper()}, VALUE


                @pytest.mark.task("basics")
                def test_own_helper():
                    assert VALUE == {value} and ONLY_{name.upper()}
            """,
        })


@pytest.mark.parametrize("mode", ["prepend", "importlib"])
def test_same_named_helpers_of_two_assignments_never_answer_for_each_other(pytester, monkeypatch, mode):
    # a grader runs many assignments in one process, and the project's suite collects several in
    # one run: a helper cached from another assignment's folder must not be imported instead
    monkeypatch.delenv("CV3_STUDENT_DIR", raising=False)
    _twin_course(pytester.path)
    args = ("-p", "no:cacheprovider", f"--import-mode={mode}")
    _run(pytester, "reference/toy/tests", "reference/twin/tests", *args).assert_outcomes(passed=2)
    before = set(sys.modules)
    for name in ("toy", "twin", "toy"):  # in-process, as GradingContext runs them
        pytester.inline_run(f"reference/{name}/tests", *args).assertoutcome(passed=1)
    assert "accuracy_cases" not in set(sys.modules) - before  # nothing left behind
    assert not [p for p in sys.path if str(pytester.path) in p and p.endswith("tests")]


def test_trusted_modules_import_their_own_same_named_helpers(tmp_path):
    # an accuracy check's cases module is imported outside pytest, after or between test runs
    import importlib.util

    from harness.testkit import sibling_helpers

    _twin_course(tmp_path)
    values = []
    for name in ("toy", "twin", "toy"):
        hidden = tmp_path / "reference" / name / "tests"
        (hidden / "score_cases.py").write_text("from accuracy_cases import VALUE\n")
        alias = f"cv3_test_trusted_{name}_{len(values)}"
        spec = importlib.util.spec_from_file_location(alias, hidden / "score_cases.py")
        module = importlib.util.module_from_spec(spec)
        with sibling_helpers(hidden):
            spec.loader.exec_module(module)
        values.append(module.VALUE)
        assert str(hidden.resolve()) not in sys.path  # put back as it was
    assert values == [1, 2, 1]
