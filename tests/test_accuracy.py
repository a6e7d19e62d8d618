"""Model-level accuracy checks: held-out inputs go into the sandbox, labels stay out, a trusted
scorer maps the metric to points between the manifest's floor and target."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.grading.grade import Grader
from harness.manifest import ManifestError, load_manifest
from harness.reports import write_submission_report
from harness.submissions import SubmissionSource

MANIFEST = """
[assignment]
name = "toy"
package = "toy"

[limits]
call_timeout_s = 10

[[task]]
id = "basics"
points = 2
api = ["double", "classify"]

[[accuracy]]
id = "acc"
title = "Accuracy on held-out points"
points = 10
entry = "classify"
data = "accuracy_cases:holdout"
scorer = "accuracy_cases:score"
metric = "accuracy"
floor = 0.5
target = 0.9
"""

CASES = '''
import torch

def training():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(200, 2, generator=gen) + torch.tensor([0.7, 0.0])
    return [x, (x[:, 0] > 0.7).to(torch.int64)], {}

def holdout():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=gen)
    labels = (x[:, 0] > 0).to(torch.int64)
    calls = [([x[i:i + 10]], {}) for i in range(0, 40, 10)]
    return calls, labels

def score(outputs, labels):
    preds = []
    for i, out in enumerate(outputs):
        if type(out) is not torch.Tensor or out.dtype != torch.int64 or out.shape != (10,):
            raise ValueError(f"batch {i}: expected Tensor[10] int64, got {type(out).__name__}")
        preds.append(out)
    acc = float((torch.cat(preds) == labels).double().mean())
    return acc, {"figures": [{"title": "a figure", "svg": "<svg width='10' height='10'></svg>"}],
                 "table": {"columns": ["split", "accuracy"], "rows": [["hidden", acc]]}}
'''

HIDDEN_TEST = '''
import pytest
import torch

@pytest.mark.task("basics")
def test_double(student):
    assert torch.equal(student.double(torch.tensor([1.0, 2.0])), torch.tensor([2.0, 4.0]))
'''

CONFTEST = '''
import pytest

def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): task")

@pytest.fixture(scope="session")
def student(request):
    return request.config.cv3_student
'''


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "course"
    a = root / "assignments" / "toy"
    (a / "toy").mkdir(parents=True)
    (a / "assignment.toml").write_text(MANIFEST)
    (a / "toy" / "__init__.py").write_text("def double(x):\n    raise NotImplementedError\n"
                                           "def classify(x):\n    raise NotImplementedError\n")
    tests = root / "reference" / "toy" / "tests"
    tests.mkdir(parents=True)
    (tests / "conftest.py").write_text(CONFTEST)
    (tests / "test_hidden.py").write_text(HIDDEN_TEST)
    (tests / "accuracy_cases.py").write_text(CASES)
    return load_manifest(a / "assignment.toml")


def _submit(tmp_path: Path, classify_body: str) -> SubmissionSource:
    pkg = tmp_path / "sub" / "toy"
    pkg.mkdir(parents=True)
    source = "import torch\n\ndef double(x):\n    return x * 2\n\ndef classify(x):\n"
    pkg.joinpath("__init__.py").write_text(source + textwrap.indent(classify_body, "    ") + "\n")
    return SubmissionSource("s", tmp_path / "sub")


TRAINED = MANIFEST.replace('metric = "accuracy"', '''metric = "accuracy"
train = "fit"
train_data = "accuracy_cases:training"
train_timeout_s = 5''').replace('api = ["double", "classify"]', 'api = ["double", "classify", "fit"]')


def _acc(result):
    return next(t for t in result.tasks if t.id == "acc")


@pytest.mark.parametrize("body,points", [
    ("return (x[:, 0] > 0).to(torch.int64)", 10.0),  # accuracy 1.0 >= target
    ("return torch.zeros(x.shape[0], dtype=torch.int64)", None),  # about half right: near floor
    ("return (x[:, 0] <= 0).to(torch.int64)", 0.0),  # all wrong: below floor
])
def test_points_between_floor_and_target(toy, tmp_path, body, points):
    grader = Grader(toy, speed=False)
    try:
        r = grader.grade(_submit(tmp_path, body))
    finally:
        grader.close()
    check = _acc(r).checks[0]
    assert check.kind == "accuracy"
    value = check.details["value"]
    expected = 10 * min(1.0, max(0.0, (value - 0.5) / 0.4))
    assert _acc(r).score == pytest.approx(round(expected, 2))
    if points is not None:
        assert _acc(r).score == points
    assert check.details["floor"] == 0.5 and check.details["target"] == 0.9


def test_malformed_predictions_score_zero_with_a_message(toy, tmp_path):
    grader = Grader(toy, speed=False)
    try:
        r = grader.grade(_submit(tmp_path, "return x[:, 0] > 0"))  # bool, not int64
    finally:
        grader.close()
    check = _acc(r).checks[0]
    assert _acc(r).score == 0 and not check.passed
    assert "malformed output" in check.message and "int64" in check.message


def test_crashing_predict_scores_zero_and_labels_never_enter(toy, tmp_path):
    grader = Grader(toy, speed=False)
    try:
        r = grader.grade(_submit(tmp_path, "import os\nos._exit(3)"))
    finally:
        grader.close()
    assert _acc(r).score == 0
    assert "classify failed" in _acc(r).checks[0].message


def test_report_shows_metric_figures_and_table(toy, tmp_path):
    grader = Grader(toy, speed=False)
    try:
        r = grader.grade(_submit(tmp_path, "return (x[:, 0] > 0).to(torch.int64)"))
    finally:
        grader.close()
    html = write_submission_report(r, tmp_path / "reports").read_text()
    assert "Accuracy on held-out data" in html
    assert "<svg width='10' height='10'></svg>" in html
    assert "floor 0.5" in html and "target 0.9" in html


def test_manifest_rejects_target_below_floor(tmp_path):
    a = tmp_path / "assignments" / "toy"
    a.mkdir(parents=True)
    (a / "assignment.toml").write_text(MANIFEST.replace("target = 0.9", "target = 0.4"))
    with pytest.raises(ManifestError, match="target.*greater than floor"):
        load_manifest(a / "assignment.toml")
    (a / "assignment.toml").write_text(MANIFEST.replace('entry = "classify"', 'entry = "nope"'))
    with pytest.raises(ManifestError, match="entry 'nope' is not in any task's api"):
        load_manifest(a / "assignment.toml")


def _trained_toy(toy, tmp_path):
    path = toy.root / "assignment.toml"
    path.write_text(TRAINED)
    (toy.root / "toy" / "__init__.py").write_text(
        (toy.root / "toy" / "__init__.py").read_text() + "def fit(x, labels):\n    raise NotImplementedError\n")
    return load_manifest(path)


@pytest.mark.parametrize("fit_body,expect_full", [
    # learns the class boundary from the training data, then predict uses it
    ("global CUT\n    CUT = float(x[labels == 1, 0].min())", False),
    # never trains within the budget: the check scores zero and says why
    ("import time\n    time.sleep(60)", None),
])
def test_grader_runs_train_within_its_budget_before_predict(toy, tmp_path, fit_body, expect_full):
    toy = _trained_toy(toy, tmp_path)
    pkg = tmp_path / "sub" / "toy"
    pkg.mkdir(parents=True)
    pkg.joinpath("__init__.py").write_text(
        "import torch\nCUT = 100.0\n\ndef double(x):\n    return x * 2\n\n"
        "def classify(x):\n    return (x[:, 0] > CUT - 0.7).to(torch.int64)\n\n"
        f"def fit(x, labels):\n    {fit_body}\n")
    grader = Grader(toy, speed=False)
    try:
        r = grader.grade(SubmissionSource("s", tmp_path / "sub"))
    finally:
        grader.close()
    check = _acc(r).checks[0]
    if expect_full is None:
        assert _acc(r).score == 0
        assert "fit (training, budget 5 s) failed" in check.message and "timed out" in check.message
    else:
        # untrained (CUT = 100) would predict all zeros: about half right, near the floor
        assert check.details["value"] > 0.85, check.message
        assert check.details["train_s"] > 0
