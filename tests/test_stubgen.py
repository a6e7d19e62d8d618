"""Student stubs generated from the reference solution's markers (harness/stubgen.py)."""

from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.manifest import find_assignment
from harness.stubgen import (
    StubError,
    generate_package,
    generate_stub,
    handout_marker_leaks,
    solution_lines,
    stale_stubs,
    tasks_by_name,
    write_stubs,
)
from tests.conftest import all_assignments

TASKS = {"box_iou": "iou", "nms": "nms", "Tracker": "trackers"}


def gen(text: str, tasks: dict[str, str] | None = None) -> str:
    return generate_stub(textwrap.dedent(text).lstrip("\n"), filename="ref.py",
                         tasks_by_name=TASKS if tasks is None else tasks)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# -------------------------------------------------------------------------- default bodies


def test_default_body_names_the_function_and_its_task():
    stub = gen('''
        def box_iou(a, b):
            """Pairwise IoU."""
            # BEGIN SOLUTION
            inter = a * b
            return inter / (a + b - inter)
            # END SOLUTION
        ''')
    assert stub == dedent('''
        def box_iou(a, b):
            """Pairwise IoU."""
            raise NotImplementedError("box_iou: implement me (see README.md, section `iou`)")
        ''')


def test_default_body_without_a_task_points_at_the_readme():
    stub = gen('''
        def helper(x):
            # BEGIN SOLUTION
            return x
            # END SOLUTION
        ''')
    assert 'raise NotImplementedError("helper: implement me (see README.md)")' in stub
    assert "return x" not in stub


def test_method_gets_its_qualname_and_the_class_task():
    stub = gen('''
        class Tracker:
            """Tracks boxes."""

            def __init__(self, patience):
                super().__init__()
                # BEGIN SOLUTION
                self.patience = patience
                # END SOLUTION

            def step(self, boxes):
                """One frame."""
                # BEGIN SOLUTION
                if boxes:
                    return boxes
                return []
                # END SOLUTION
        ''')
    assert stub == dedent('''
        class Tracker:
            """Tracks boxes."""

            def __init__(self, patience):
                super().__init__()
                raise NotImplementedError("Tracker.__init__: implement me (see README.md, section `trackers`)")

            def step(self, boxes):
                """One frame."""
                raise NotImplementedError("Tracker.step: implement me (see README.md, section `trackers`)")
        ''')


def test_block_inside_a_nested_function_names_the_outer_function():
    stub = gen('''
        def nms(boxes):
            def inner():
                # BEGIN SOLUTION
                return boxes
                # END SOLUTION
            return inner()
        ''')
    assert '        raise NotImplementedError("nms: implement me (see README.md, section `nms`)")\n' in stub
    assert "    return inner()" in stub


def test_a_default_body_too_long_for_one_line_is_wrapped():
    name = "a_method_with_quite_a_long_name"  # 8 + 27 + 89 + 2 columns on one line
    stub = gen(f'''
        class Tracker:
            def {name}(self):
                # BEGIN SOLUTION
                return 1
                # END SOLUTION
        ''')
    assert max(len(line) for line in stub.splitlines()) <= 120
    assert "        raise NotImplementedError(\n" in stub
    assert f'            "Tracker.{name}: implement me (see README.md, section `trackers`)"\n        )\n' in stub
    ast.parse(stub)


# -------------------------------------------------------------------------- STUB lines


def test_one_stub_line_replaces_the_block():
    stub = gen('''
        def box_iou(a, b):
            # BEGIN SOLUTION
            # STUB: raise NotImplementedError("box_iou: paste your code from assignment detection")
            return a & b
            # END SOLUTION
        ''')
    assert stub == dedent('''
        def box_iou(a, b):
            raise NotImplementedError("box_iou: paste your code from assignment detection")
        ''')


def test_several_and_indented_stub_lines_keep_their_extra_indentation():
    stub = gen('''
        def box_iou(a, b):
            # BEGIN SOLUTION
            # STUB: if a is None:
            # STUB:     return None
            # STUB: raise NotImplementedError("todo")
            return a & b
            # END SOLUTION
        ''')
    assert stub == dedent('''
        def box_iou(a, b):
            if a is None:
                return None
            raise NotImplementedError("todo")
        ''')


def test_an_empty_stub_line_puts_nothing_there():
    stub = gen('''
        def box_iou(a, b):
            """Pairwise IoU (the docstring alone is a valid body)."""
            # BEGIN SOLUTION
            # STUB:
            return a & b
            # END SOLUTION
        ''')
    assert stub == dedent('''
        def box_iou(a, b):
            """Pairwise IoU (the docstring alone is a valid body)."""
        ''')
    assert "NotImplementedError" not in stub


def test_an_empty_stub_line_among_others_is_a_blank_line():
    stub = gen('''
        # BEGIN SOLUTION
        # STUB: """Your module.
        # STUB:
        # STUB: Write it yourself.
        # STUB: """
        """The reference module."""
        # END SOLUTION
        X = 1
        ''')
    assert stub == '"""Your module.\n\nWrite it yourself.\n"""\nX = 1\n'


# -------------------------------------------------------------------------- module and class level


def test_a_module_level_block_disappears_without_doubling_blank_lines():
    stub = gen('''
        """Boxes."""

        from __future__ import annotations

        # BEGIN SOLUTION
        import itertools

        import torch
        # END SOLUTION
        from torch import Tensor

        # BEGIN SOLUTION
        _BLOCK = 128


        def _helper(x):
            return x
        # END SOLUTION


        def box_iou(a: Tensor, b: Tensor) -> Tensor:
            """IoU."""
            # BEGIN SOLUTION
            return _helper(a)
            # END SOLUTION


        # BEGIN SOLUTION
        def _tail():
            pass
        # END SOLUTION
        ''')
    assert stub == dedent('''
        """Boxes."""

        from __future__ import annotations

        from torch import Tensor


        def box_iou(a: Tensor, b: Tensor) -> Tensor:
            """IoU."""
            raise NotImplementedError("box_iou: implement me (see README.md, section `iou`)")
        ''')


def test_a_class_level_block_disappears():
    stub = gen('''
        class Tracker:
            """Tracks."""

            # BEGIN SOLUTION
            _cache = {}

            def _private(self):
                return 1
            # END SOLUTION

            def step(self):
                """One frame."""
        ''')
    assert stub == dedent('''
        class Tracker:
            """Tracks."""

            def step(self):
                """One frame."""
        ''')


def test_code_outside_the_markers_is_kept_verbatim():
    text = dedent('''
        """No markers at all."""

        X = 1  # a comment


        def f():
            return X
        ''')
    assert generate_stub(text, filename="ref.py", tasks_by_name={}) == text


# -------------------------------------------------------------------------- files and packages


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text))
    return path


def test_reference_only_modules_and_data_files_have_no_stub(tmp_path):
    ref = tmp_path / "ref" / "pkg"
    write(ref / "__init__.py", '"""Package."""\n')
    write(ref / "train_utils.py", '"""Training helpers."""\n# cv3: reference-only\nSECRET = 1\n')
    write(ref / "late_pragma.py", '"""1"""\n\n\n\n\n# cv3: reference-only\nX = 1\n')  # line 6: too late
    write(ref / "sub" / "ops.py", "def nms(b):\n    # BEGIN SOLUTION\n    return b\n    # END SOLUTION\n")
    (ref / "checkpoint.pt").write_bytes(b"\0weights")
    write(ref / "__pycache__" / "ops.py", "garbage(\n")
    stubs = generate_package(ref, tasks_by_name=TASKS)
    assert sorted(stubs) == ["__init__.py", "late_pragma.py", "sub/ops.py"]
    assert "section `nms`" in stubs["sub/ops.py"]
    with pytest.raises(StubError, match=r"t\.py:1: .*reference-only"):
        generate_stub((ref / "train_utils.py").read_text(), filename="t.py", tasks_by_name={})


def test_tasks_by_name_maps_every_api_name_to_its_task():
    assignment = SimpleNamespace(tasks=(SimpleNamespace(id="iou", api=("box_iou", "generalized_box_iou")),
                                        SimpleNamespace(id="nms", api=("nms", "box_iou"))))
    assert tasks_by_name(assignment) == {"box_iou": "iou", "generalized_box_iou": "iou", "nms": "nms"}


# -------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("text", "pattern"), [
    ("x = 1\n\n# END SOLUTION\n", r"ref\.py:3: '# END SOLUTION' without an open '# BEGIN SOLUTION'"),
    ("x = 1\n# BEGIN SOLUTION\ny = 2\n", r"ref\.py:2: '# BEGIN SOLUTION' is never closed"),
    ("# BEGIN SOLUTION\nx = 1\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n# END SOLUTION\n",
     r"ref\.py:3: nested '# BEGIN SOLUTION' \(the block opened at line 1"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n# END SOLUTION\n",
     r"ref\.py:4: '# END SOLUTION' is indented by 0 but its '# BEGIN SOLUTION' at line 2 by 4"),
    ("# BEGIN SOLUTION\nx = 1\n# STUB: x = 2\n# END SOLUTION\n", r"ref\.py:3: '# STUB:' line outside a block start"),
    ("x = 1\n# STUB: x = 2\n", r"ref\.py:2: '# STUB:' line outside a block start"),
    ("def f():\n    # BEGIN SOLUTION\n  # STUB: return 0\n    return 1\n    # END SOLUTION\n",
     r"ref\.py:3: '# STUB:' line is not at the indentation"),
    ("#BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", r"ref\.py:1: '#BEGIN SOLUTION' looks like a marker"),
    ("x = 1  # BEGIN SOLUTION\n", r"ref\.py:1: a solution marker must be alone on its line"),
])
def test_marker_errors_name_the_line_and_the_fix(text, pattern):
    with pytest.raises(StubError, match=pattern):
        generate_stub(text, filename="ref.py", tasks_by_name=TASKS)


def test_a_stub_that_would_not_parse_is_refused():
    text = "def f(x):\n    # BEGIN SOLUTION\n    # STUB:\n    return x\n    # END SOLUTION\n"
    with pytest.raises(StubError, match=r"ref\.py: the generated stub does not parse"):
        generate_stub(text, filename="ref.py", tasks_by_name={})
    bad_stub_code = "def f(x):\n    # BEGIN SOLUTION\n    # STUB: return (\n    return x\n    # END SOLUTION\n"
    with pytest.raises(StubError, match=r"ref\.py: the generated stub does not parse"):
        generate_stub(bad_stub_code, filename="ref.py", tasks_by_name={})


def test_a_reference_that_does_not_parse_is_refused():
    with pytest.raises(StubError, match=r"ref\.py:3: the reference module does not parse"):
        generate_stub("# BEGIN SOLUTION\nx = 1\ny = (\n# END SOLUTION\n", filename="ref.py", tasks_by_name={})


# -------------------------------------------------------------------------- staleness, writing


@pytest.fixture
def detection_copy(tmp_path):
    """The real detection reference package and its stubs, generated, under tmp_path."""
    a = find_assignment("detection")
    ref = tmp_path / "reference" / "detection" / "detection"
    stub = tmp_path / "assignments" / "detection" / "detection"
    shutil.copytree(a.reference_dir, ref, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    tasks = tasks_by_name(a)
    written = write_stubs(ref, stub, tasks_by_name=tasks)
    assert sorted(p.name for p in written) == sorted(p.name for p in ref.glob("*.py"))
    assert stale_stubs(ref, stub, tasks_by_name=tasks) == []
    return ref, stub, tasks


def test_a_new_public_function_makes_the_stub_stale_until_regenerated(detection_copy):
    ref, stub, tasks = detection_copy
    with (ref / "boxes.py").open("a") as f:
        f.write('\n\ndef box_area(boxes):\n    """Areas."""\n    # BEGIN SOLUTION\n'
                '    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])\n    # END SOLUTION\n')
    problems = stale_stubs(ref, stub, tasks_by_name=tasks)
    assert len(problems) == 1
    assert "boxes.py is out of date with" in problems[0] and "reference" in problems[0]
    assert "run `cv3 stubs detection`" in problems[0]
    assert write_stubs(ref, stub, tasks_by_name=tasks) == [stub / "boxes.py"]
    assert stale_stubs(ref, stub, tasks_by_name=tasks) == []
    text = (stub / "boxes.py").read_text()
    assert 'def box_area(boxes):\n    """Areas."""\n    raise NotImplementedError("box_area: implement me' in text
    assert "boxes[:, 2] - boxes[:, 0]" not in text


def test_changing_solution_code_does_not_change_the_stub(detection_copy):
    ref, stub, tasks = detection_copy
    path = ref / "coder.py"
    text = path.read_text()
    start = text.index("# BEGIN SOLUTION")
    end = text.index("# END SOLUTION", start)
    inside = text[start:end]
    line = next(s for s in inside.splitlines()[1:] if s.strip() and not s.strip().startswith("#"))
    path.write_text(text[:start] + inside.replace(line, line + "  # tweaked", 1) + text[end:])
    assert path.read_text() != text
    assert stale_stubs(ref, stub, tasks_by_name=tasks) == []
    assert write_stubs(ref, stub, tasks_by_name=tasks) == []


def test_extra_and_missing_stub_files_are_reported_and_fixed(detection_copy):
    ref, stub, tasks = detection_copy
    (stub / "old_helpers.py").write_text("X = 1\n")
    (stub / "coder.py").unlink()
    (stub / "notes.txt").write_text("kept\n")
    write(stub / "tests" / "test_mine.py", "def test_x():\n    pass\n")
    problems = stale_stubs(ref, stub, tasks_by_name=tasks)
    assert len(problems) == 2, problems
    assert any("coder.py is missing" in p and "cv3 stubs detection" in p for p in problems)
    assert any("old_helpers.py is not generated from" in p for p in problems)
    changed = write_stubs(ref, stub, tasks_by_name=tasks)
    assert sorted(p.name for p in changed) == ["coder.py", "old_helpers.py"]
    assert not (stub / "old_helpers.py").exists() and (stub / "coder.py").is_file()
    assert (stub / "notes.txt").read_text() == "kept\n"
    assert (stub / "tests" / "test_mine.py").is_file()
    assert stale_stubs(ref, stub, tasks_by_name=tasks) == []


def test_write_stubs_refuses_to_write_into_the_reference(detection_copy):
    ref, _, tasks = detection_copy
    before = {p.name: p.read_text() for p in ref.glob("*.py")}
    with pytest.raises(ValueError, match="overlap"):
        write_stubs(ref, ref, tasks_by_name=tasks)
    assert {p.name: p.read_text() for p in ref.glob("*.py")} == before


def test_write_stubs_writes_nothing_when_a_module_fails(tmp_path):
    ref, stub = tmp_path / "ref" / "pkg", tmp_path / "stub" / "pkg"
    write(ref / "a.py", "X = 1\n")
    write(ref / "b.py", "# END SOLUTION\n")
    with pytest.raises(StubError, match=r"b\.py:1:"):
        write_stubs(ref, stub, tasks_by_name={})
    assert not stub.exists()


# -------------------------------------------------------------------------- handout leaks


def test_solution_lines_are_long_private_lines_only(tmp_path):
    ref = tmp_path / "pkg"
    write(ref / "m.py", '''
        import torch


        def f(x):
            """Doc."""
            result = torch.zeros_like(x)  # shared with the stub
            # BEGIN SOLUTION
            # STUB: result = torch.zeros_like(x)  # shared with the stub
            import torch.nn.functional as F
            short = x
            secret_value = torch.clamp(x * 2.5, min=0.0)
            result = torch.zeros_like(x)  # shared with the stub
            # END SOLUTION
            return result
        ''')
    assert solution_lines(ref) == {"secret_value = torch.clamp(x * 2.5, min=0.0)"}


def test_handout_marker_leaks_finds_planted_solution_lines_and_markers(tmp_path):
    a = find_assignment("detection")
    out = tmp_path / "handout"
    write_stubs(a.reference_dir, out / "detection" / "detection", tasks_by_name=tasks_by_name(a))
    assert handout_marker_leaks(out, a.reference_dir) == []

    secret = sorted(solution_lines(a.reference_dir))[0]
    boxes = out / "detection" / "detection" / "boxes.py"
    lines = boxes.read_text().splitlines()
    lines.insert(5, "    " + secret)
    boxes.write_text("\n".join(lines) + "\n")
    write(out / "detection" / "README.md", "Intro\n\n    # END SOLUTION\n")
    leaks = handout_marker_leaks(out, a.reference_dir)
    assert len(leaks) == 2, leaks
    assert leaks[0].startswith("detection/README.md:3: solution marker")
    assert leaks[1].startswith("detection/detection/boxes.py:6: line of the reference solution")


# -------------------------------------------------------------------------- the real assignments


@pytest.mark.parametrize("name", all_assignments())
def test_committed_stubs_are_generated_from_the_reference(name):
    a = find_assignment(name)
    assert stale_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a)) == []


@pytest.mark.parametrize("name", all_assignments())
def test_every_reference_module_parses_and_has_solution_blocks(name):
    a = find_assignment(name)
    modules = sorted(a.reference_dir.rglob("*.py"))
    assert modules
    for path in modules:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert any("# BEGIN SOLUTION" in p.read_text(encoding="utf-8") for p in modules)
    assert solution_lines(a.reference_dir)
