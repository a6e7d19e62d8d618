"""`cv3 check --mutants`: the mutation operators change what they promise, only between the solution
markers, the same way for the same seed; a toy assignment shows a killed and a surviving mutant, and
the author's list of equivalent ones."""

from __future__ import annotations

import ast
import json
import textwrap

import pytest

from harness.authoring import scaffold
from harness.manifest import load_manifest
from harness.mutants import (OPERATORS, Mutant, equivalent_entry, is_equivalent, load_equivalents,
                             module_mutants, run, sample)
from tests.conftest import ROOT

SOURCE = textwrap.dedent('''\
    import torch


    def outside(x, y):
        """Not between markers: never mutated."""
        if x < y and x == 3:
            return x + 1.5
        return torch.max(x, y)


    def solved(x, y, flag=True):
        """Everything here may be mutated."""
        # BEGIN SOLUTION
        # STUB: return None
        total = x.sum(dim=1, keepdim=True).float()
        total = total.detach()
        scale = torch.zeros(3, dtype=torch.float64)
        total += 2
        if x.shape[0] <= 0 or flag:
            total = total * 0.5
        elif not flag:
            raise ValueError(f"bad flag {flag + 1}")
        idx = torch.argmax(total, dim=0)
        total = total.sort(descending=False).values
        print(idx)
        for k in range(3):
            if k > 1:
                break
        return total - y.to(torch.float32) / scale
        # END SOLUTION
    ''')


def mutants_by_operator(source: str = SOURCE) -> dict[str, list[Mutant]]:
    out: dict[str, list[Mutant]] = {}
    for m in module_mutants(source, "toy.py"):
        out.setdefault(m.operator, []).append(m)
    return out


def changes(op: str) -> set[tuple[str, str]]:
    return {(m.original, m.mutated) for m in mutants_by_operator()[op]}


def test_every_operator_fires_on_the_toy_module():
    assert set(mutants_by_operator()) == set(OPERATORS)


def test_only_lines_between_the_markers_are_mutated():
    lines = SOURCE.splitlines()
    begin = lines.index("    # BEGIN SOLUTION") + 1
    end = lines.index("    # END SOLUTION") + 1
    for m in module_mutants(SOURCE, "toy.py"):
        assert begin + 1 < m.line < end, m.describe()  # the STUB line is no solution code either
        assert m.function == "solved"
        assert "outside" not in m.mutated
    # no marker, no mutant
    assert module_mutants(SOURCE.replace("# BEGIN SOLUTION\n", "").replace("    # END SOLUTION\n", "")
                          .replace("    # STUB: return None\n", ""), "toy.py") == []


def test_every_mutant_parses_and_changes_exactly_its_lines():
    for m in module_mutants(SOURCE, "toy.py"):
        mutated = m.apply(SOURCE)
        ast.parse(mutated)
        before, after = SOURCE.splitlines(), mutated.splitlines()
        assert len(before) == len(after), m.describe()
        diff = [k for k, (a, b) in enumerate(zip(before, after)) if a != b]
        assert diff == [m.line - 1], m.describe()
        assert after[m.line - 1].strip() == m.mutated


@pytest.mark.parametrize("op, original, mutated", [
    ("cmp_flip", "if x.shape[0] <= 0 or flag:", "if (x.shape[0] < 0) or flag:"),
    ("cmp_flip", "if k > 1:", "if (k >= 1):"),
    ("arith_swap", "total = total * 0.5", "total = (total / 0.5)"),
    ("arith_swap", "total += 2", "total -= 2"),
    ("arith_swap", "return total - y.to(torch.float32) / scale", "return (total + y.to(torch.float32) / scale)"),
    ("arith_swap", "return total - y.to(torch.float32) / scale", "return total - (y.to(torch.float32) * scale)"),
    ("int_const", "total += 2", "total += 3"),
    ("int_const", "for k in range(3):", "for k in range(2):"),
    ("float_const", "total = total * 0.5", "total = total * 1.0"),
    ("minmax_swap", "idx = torch.argmax(total, dim=0)", "idx = torch.argmin(total, dim=0)"),
    ("dim_change", "total = x.sum(dim=1, keepdim=True).float()", "total = x.sum(dim=0, keepdim=True).float()"),
    ("dim_change", "idx = torch.argmax(total, dim=0)", "idx = torch.argmax(total, dim=1)"),
    ("keepdim_flip", "total = x.sum(dim=1, keepdim=True).float()", "total = x.sum(dim=1, keepdim=False).float()"),
    ("drop_cast", "total = x.sum(dim=1, keepdim=True).float()", "total = x.sum(dim=1, keepdim=True)"),
    ("drop_cast", "return total - y.to(torch.float32) / scale", "return total - y / scale"),
    ("drop_dtype_kwarg", "scale = torch.zeros(3, dtype=torch.float64)", "scale = torch.zeros(3)"),
    ("drop_detach", "total = total.detach()", "total = total"),
    ("and_or", "if x.shape[0] <= 0 or flag:", "if (x.shape[0] <= 0 and flag):"),
    ("negate_if", "if x.shape[0] <= 0 or flag:", "if not (x.shape[0] <= 0 or flag):"),
    ("drop_unary", "elif not flag:", "elif flag:"),
    ("delete_stmt", "total = total.detach()", "pass"),
    ("delete_stmt", "total += 2", "pass"),
    ("delete_stmt", "print(idx)", "pass"),
    ("return_arg", "return total - y.to(torch.float32) / scale", "return x"),
    ("break_continue", "break", "continue"),
    ("bool_flip", "total = total.sort(descending=False).values", "total = total.sort(descending=True).values"),
])
def test_operator_makes_the_intended_change(op, original, mutated):
    assert (original, mutated) in changes(op), sorted(changes(op))


def test_what_no_operator_touches():
    every = module_mutants(SOURCE, "toy.py")
    # an error message is no computation; keyword dims are dim_change's, not int_const's
    assert not any("ValueError" in m.original for m in every)
    assert not any(m.operator == "int_const" and "dim=" in m.original and "sum" in m.original for m in every)
    # the first assignment of a name is not deleted (that only raises NameError)
    assert not any(m.operator == "delete_stmt" and m.original.startswith("idx =") for m in every)
    assert not any(m.operator == "bool_flip" and "keepdim" in m.original for m in every)


def test_sampling_is_deterministic_per_seed():
    every = module_mutants(SOURCE, "toy.py")
    assert module_mutants(SOURCE, "toy.py") == every  # enumeration is deterministic
    a, b = sample(every, seed=1, limit=10), sample(every, seed=1, limit=10)
    assert a == b and len(a) == 10
    assert [m.span for m in a] == sorted(m.span for m in a)  # source order
    assert sample(every, seed=2, limit=10) != a
    assert sample(every, seed=1, limit=None) == every == sample(every, seed=5, limit=len(every) + 3)


def test_equivalents_file_round_trip_and_errors(tmp_path):
    m = next(m for m in module_mutants(SOURCE, "toy.py") if m.operator == "drop_detach")
    path = tmp_path / "mutants_equivalent.toml"
    path.write_text(equivalent_entry(m).replace('reason = "..."', 'reason = "no test needs gradients here"'))
    [e] = load_equivalents(path)
    assert e.key == m.key and e.reason == "no test needs gradients here"
    assert load_equivalents(tmp_path / "missing.toml") == []
    assert is_equivalent(m, [e]) and not any(is_equivalent(o, [e]) for o in module_mutants(SOURCE, "toy.py")
                                             if o != m)
    # mutated = "*": every mutant of that operator on that line
    star = next(o for o in module_mutants(SOURCE, "toy.py") if o.operator == "int_const")
    path.write_text(equivalent_entry(star).replace(json.dumps(star.mutated), '"*"').replace('"..."', '"free"'))
    [e] = load_equivalents(path)
    same_line = [o for o in module_mutants(SOURCE, "toy.py") if o.key[:4] == star.key[:4]]
    assert len(same_line) >= 2 and all(is_equivalent(o, [e]) for o in same_line)
    assert not is_equivalent(next(o for o in module_mutants(SOURCE, "toy.py") if o.operator == "bool_flip"), [e])
    # every field "*": the whole module
    path.write_text('[[equivalent]]\nmodule = "toy.py"\nfunction = "*"\noperator = "*"\noriginal = "*"\n'
                    'mutated = "*"\nreason = "the student own design"\n')
    assert all(is_equivalent(o, load_equivalents(path)) for o in module_mutants(SOURCE, "toy.py"))
    assert not is_equivalent(Mutant("other.py", 1, "f", "bool_flip", "a", "b", (1, 0, 1, 1), "b"),
                             load_equivalents(path))
    path.write_text(equivalent_entry(m).replace('reason = "..."\n', ""))
    with pytest.raises(ValueError, match="lacks reason"):
        load_equivalents(path)
    path.write_text(equivalent_entry(m).replace("drop_detach", "nonsense").replace('"..."', '"x"'))
    with pytest.raises(ValueError, match="unknown operator 'nonsense'"):
        load_equivalents(path)


TOY_CORE = '''"""The functions of the `basics` task."""

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
    out = x * factor
    out = out.to(x.dtype)
    return out
    # END SOLUTION
'''


@pytest.fixture
def toy(tmp_path):
    """A `cv3 new` assignment whose reference has two killable and two equivalent mutants."""
    root = tmp_path / "course"
    root.mkdir()
    (root / "README.md").write_text((ROOT / "README.md").read_text())
    scaffold("mutoy", root=root)
    a = load_manifest(root / "assignments" / "mutoy" / "assignment.toml")
    (a.reference_dir / "core.py").write_text(TOY_CORE)
    return a


@pytest.mark.slow
def test_a_toy_assignment_has_killed_and_surviving_mutants(toy, capsys):
    lines: list[str] = []
    report = run(toy, seed=0, limit=None, out=lines.append)
    got = {(o.mutant.operator, o.mutant.mutated): o.status for o in report.outcomes}
    assert got == {
        ("arith_swap", "out = (x / factor)"): "killed",
        ("delete_stmt", "pass"): "survived",  # out = out.to(x.dtype): x * factor has x's dtype already
        ("drop_cast", "out = out"): "survived",
        ("return_arg", "return x"): "killed",
    }, got
    assert report.counts() == {"total": 4, "killed": 2, "survived": 2, "equivalent": 0}
    assert report.share() == 0.5
    assert lines[0].startswith("reference passes its tests")
    assert len([ln for ln in lines if ln.startswith("[")]) == 4  # progress, one line per mutant
    text = "\n".join(report.lines())
    assert "core.py:20 [drop_cast] in scale: out = out.to(x.dtype)  ->  out = out" in text
    killed = next(o for o in report.outcomes if o.status == "killed")
    assert "test_" in killed.detail  # the first failing test

    # the author judges one survivor equivalent: it leaves the share
    survivor = next(o.mutant for o in report.outcomes if o.mutant.operator == "drop_cast")
    (toy.hidden_tests_dir / "mutants_equivalent.toml").write_text(
        equivalent_entry(survivor).replace('"..."', '"x * factor keeps the dtype of x"'))
    again = run(toy, seed=0, limit=None, out=lines.append)
    assert again.counts() == {"total": 4, "killed": 2, "survived": 1, "equivalent": 1}
    assert again.share() == pytest.approx(2 / 3)
    assert "note:" not in "\n".join(again.lines())

    # an entry broad enough to match killed mutants excuses nothing they did, and the report says so
    (toy.hidden_tests_dir / "mutants_equivalent.toml").write_text(
        '[[equivalent]]\nmodule = "core.py"\nfunction = "scale"\noperator = "*"\noriginal = "*"\nmutated = "*"\n'
        'reason = "too broad"\n')
    broad = run(toy, seed=0, limit=None, out=lines.append)
    assert broad.counts() == {"total": 4, "killed": 2, "survived": 0, "equivalent": 2}
    text = "\n".join(broad.lines())
    assert "note: 2 killed mutant(s) match an [[equivalent]] entry" in text and "return x" in text


def test_a_module_filter_names_unknown_modules(toy):
    with pytest.raises(ValueError, match=r"no mutant candidates in \['nope.py'\] of mutoy.*core.py"):
        run(toy, seed=0, limit=1, modules=["nope.py"], out=lambda line: None)


@pytest.mark.slow
def test_a_module_filter_samples_only_that_module(toy):
    (toy.reference_dir / "extra.py").write_text(TOY_CORE.replace("def scale", "def scale_again"))
    report = run(toy, seed=0, limit=None, modules=["core.py"], out=lambda line: None)
    assert {o.mutant.module for o in report.outcomes} == {"core.py"} and report.counts()["total"] == 4


def test_a_reference_that_fails_its_tests_is_refused(toy):
    (toy.reference_dir / "core.py").write_text(TOY_CORE.replace("out = x * factor", "out = x * factor * 2"))
    with pytest.raises(RuntimeError, match="unmutated reference of mutoy does not pass its own tests"):
        run(toy, seed=0, limit=1, out=lambda line: None)


def test_a_hanging_mutant_is_killed_by_the_time_limit(toy):
    (toy.reference_dir / "core.py").write_text(TOY_CORE.replace(
        "    out = x * factor\n", "    out = x * factor\n    while factor is None:\n        pass\n"))
    report = run(toy, seed=0, limit=None, timeout=3, out=lambda line: None)
    hang = [o for o in report.outcomes if o.mutant.operator == "cmp_flip"]
    assert [o.status for o in hang] == ["timeout"] and hang[0].killed
    assert "time limit of 3 s of CPU time" in hang[0].detail


SHAPE_ONLY_TEST = '''
import pytest
import torch


@pytest.mark.task("basics")
def test_scale_keeps_the_shape(student):
    assert student.scale(torch.ones(2, 3), 3.0).shape == (2, 3)
'''

ACCURACY_CASES = '''
import torch


def held_out():
    x = torch.linspace(-2.0, 3.0, 50)
    return [((x, 3.0), {})], [x * 3.0]


def score(outputs, targets):
    err = float((outputs[0] - targets[0]).abs().max())
    return 1.0 - min(err, 1.0), {}
'''


@pytest.mark.slow
def test_accuracy_checks_kill_what_the_tests_miss(toy):
    # tests that only look at shapes miss two value mistakes; the accuracy check's values see them
    (toy.hidden_tests_dir / "test_hidden_basics.py").write_text(SHAPE_ONLY_TEST)
    for public in toy.public_tests_dir.glob("test_*.py"):
        public.write_text(SHAPE_ONLY_TEST)
    (toy.hidden_tests_dir / "accuracy_cases.py").write_text(ACCURACY_CASES)
    with open(toy.root / "assignment.toml", "a", encoding="utf-8") as f:
        f.write('\n[[accuracy]]\nid = "values"\ntitle = "values"\npoints = 5\nentry = "scale"\n'
                'data = "accuracy_cases:held_out"\nscorer = "accuracy_cases:score"\nfloor = 0.5\ntarget = 0.999\n')
    toy = load_manifest(toy.root / "assignment.toml")
    plain = run(toy, seed=0, limit=None, out=lambda line: None)
    assert plain.counts() == {"total": 4, "killed": 0, "survived": 4, "equivalent": 0}
    lines: list[str] = []
    graded = run(toy, seed=0, limit=None, accuracy=True, out=lines.append)
    got = {(o.mutant.operator, o.mutant.mutated): o.status for o in graded.outcomes}
    assert got == {
        ("arith_swap", "out = (x / factor)"): "killed",
        ("delete_stmt", "pass"): "survived",  # same values: full points
        ("drop_cast", "out = out"): "survived",
        ("return_arg", "return x"): "killed",
    }, got
    killed = next(o for o in graded.outcomes if o.mutant.operator == "arith_swap")
    assert killed.detail.startswith("by the accuracy checks: accuracy check 'values'"), killed.detail
    assert any(line.startswith("reference scores full points on 1 accuracy check") for line in lines)
    # a reference that loses accuracy points is refused, as one that fails its tests is
    (toy.reference_dir / "core.py").write_text(TOY_CORE.replace("out = x * factor", "out = x * factor * 1.01"))
    with pytest.raises(RuntimeError, match="does not score full points on its accuracy checks"):
        run(toy, seed=0, limit=1, accuracy=True, out=lambda line: None)
