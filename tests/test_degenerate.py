"""Tests that a function passes only by raising (rejection tests) or by returning empty or
all-zero results (empty-input tests) earn points only once the same function passes a test with
an informative result. Generated degenerate submissions score zero in every assignment."""

from __future__ import annotations

import pytest

from harness.authoring import degenerate_submissions
from harness.grading.context import GradingContext
from harness.grading.proxy import trivial
from harness.manifest import find_assignment
from harness.submissions import SubmissionSource
from tests.conftest import all_assignments


@pytest.mark.parametrize("value,expected", [
    (None, True), (False, True), (0, True), (0.0, True), ([], True), ((), True), ({}, True),
    ("", False), (True, False), (1, False), (-0.5, False),
])
def test_trivial_plain_values(value, expected):
    assert trivial(value) is expected


def test_trivial_tensors_and_containers():
    import numpy as np
    import torch

    assert trivial(torch.zeros(3, 4)) and trivial(torch.empty(0, 4)) and trivial(torch.zeros(2, dtype=torch.bool))
    assert not trivial(torch.tensor([0.0, 1e-30])) and not trivial(torch.tensor([True]))
    assert trivial(np.zeros(3)) and not trivial(np.ones(1))
    assert trivial({"boxes": torch.zeros(0, 4), "scores": [0, 0.0]})
    assert not trivial({"boxes": torch.zeros(0, 4), "labels": torch.tensor([2])})


@pytest.mark.slow
@pytest.mark.parametrize("name", all_assignments())
def test_degenerate_submissions_score_zero(name, tmp_path):
    a = find_assignment(name)
    with GradingContext(a, speed=False) as ctx:
        for kind, path in degenerate_submissions(a, tmp_path).items():
            r = ctx.grade(SubmissionSource(kind, path))
            assert r.status == "graded" and r.score == 0, (kind, r.error, r.warnings[-3:],
                                                           [(t.id, c.name) for t in r.tasks
                                                            for c in t.checks if c.passed][:10])


@pytest.mark.slow
def test_rejection_tests_count_for_a_function_that_works(grade):
    a = find_assignment("detection")
    base = a.reference_dir
    # box_iou is correct; every other function of the iou and nms tasks only raises
    r = grade({"detection/__init__.py": (base / "__init__.py").read_text() +
               "\n\ndef _no(*a, **k):\n    raise ValueError('bad boxes or scores')\n\n"
               "generalized_box_iou = nms = batched_nms = _no\n"},
              base=base, tasks=["iou", "nms"])
    iou = {c.name: c for t in r.tasks if t.id == "iou" for c in t.checks}
    nms = {c.name: c for t in r.tasks if t.id == "nms" for c in t.checks}
    rejects = [c for n, c in iou.items() if "box_iou_rejects" in n]
    assert rejects and all(c.passed for c in rejects)  # box_iou works: its rejection tests count
    gated = [c for n, c in nms.items() if "rejects" in n]
    assert gated and not any(c.passed for c in gated)
    assert any("only raising exceptions or returning empty or all-zero results" in c.message for c in gated)
    assert sum(c.passed for c in nms.values()) == 0
