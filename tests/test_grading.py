"""End-to-end grading through the real sandbox: full marks, zero, one-character mistakes, speed
verdicts that do not flip, and a batch that survives a crashing submission."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.batch import grade_batch
from harness.store import ResultStore
from harness.submissions import SubmissionSource
from tests.conftest import ROOT

REFERENCE = ROOT / "reference" / "detection" / "detection"
STUB = ROOT / "assignments" / "detection" / "detection"

# (file, exact reference text, the one small mistake, the task that must lose points)
MUTANTS = [
    ("boxes.py", "area1 = (x2 - x1) * (y2 - y1)  # [N]",
     "area1 = (x2 - x1 + 1) * (y2 - y1 + 1)  # [N]", "iou"),
    ("boxes.py", "over = inter / union > iou_threshold", "over = inter / union >= iou_threshold", "nms"),
    ("coder.py", "p_cx = proposals[:, 0] + 0.5 * p_w  # [N]",
     "p_cx = proposals[:, 0] + 0.5 * p_h  # [N]", "coder"),
    ("coder.py", "dw = torch.clamp(rel_codes[:, 2] / ww, max=bbox_xform_clip)  # [N]",
     "dw = rel_codes[:, 2] / ww  # [N]", "coder"),
    ("anchors.py", "shifts = torch.stack((grid_x, grid_y, grid_x, grid_y), dim=1)",
     "shifts = torch.stack((grid_y, grid_x, grid_y, grid_x), dim=1)", "anchors"),
    ("anchors.py", "h_ratios = torch.sqrt(ratios_t)  # [R]",
     "h_ratios = 1 / torch.sqrt(ratios_t)  # [R]", "anchors"),
    ("matching.py", "matches[(best_iou >= low_threshold) & (best_iou < high_threshold)] = -2",
     "matches[(best_iou > low_threshold) & (best_iou < high_threshold)] = -2", "matching"),
    ("roi.py", "offset = 0.5 if aligned else 0.0\n    x1 = rois[:, 1]", "offset = 0.0\n    x1 = rois[:, 1]",
     "roi_align"),
    ("roi.py", "roi_w = (corners[:, 2] - corners[:, 0] + 1).clamp(min=1)",
     "roi_w = (corners[:, 2] - corners[:, 0]).clamp(min=1)", "roi_pool"),
    ("losses.py", "alpha_t = alpha * targets + (1 - alpha) * (1 - targets)",
     "alpha_t = (1 - alpha) * targets + alpha * (1 - targets)", "focal_loss"),
    ("ap.py", "if not taken[g] and value >= best_iou:", "if not taken[g] and value > best_iou:", "ap"),
]


def _mutant(tmp_path: Path, file: str, old: str, new: str) -> Path:
    sub = tmp_path / "mutant"
    shutil.copytree(REFERENCE, sub / "detection", ignore=shutil.ignore_patterns("__pycache__"))
    path = sub / "detection" / file
    text = path.read_text()
    assert text.count(old) == 1, f"mutation anchor not found once in {file}: {old!r}"
    path.write_text(text.replace(old, new))
    return sub


def test_reference_scores_full_marks(grader):
    r = grader.grade(SubmissionSource("reference", REFERENCE))
    assert r.status == "graded", r.error
    assert r.score == pytest.approx(r.max_score)
    assert r.max_score == 100
    assert all(t.score == pytest.approx(t.points) for t in r.tasks)
    speed = r.speed_checks()
    assert {c.details["baseline"] for c in speed} == {"torchvision.ops.nms", "torchvision.ops.roi_align"}
    assert r.environment["torch"] and r.sandbox["backend"] == "local"


def test_untouched_stub_scores_zero(grader):
    r = grader.grade(SubmissionSource("stub", STUB))
    assert r.score == 0
    failed = [c for t in r.tasks for c in t.checks if not c.passed]
    assert failed and all(c.score == 0 for c in failed)
    assert any("NotImplementedError" in c.message for c in failed)


@pytest.mark.parametrize("file,old,new,task", MUTANTS, ids=[f"{m[3]}-{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_one_small_mistake_loses_points(grader, tmp_path, file, old, new, task):
    grader.only_tasks, grader.speed_enabled = {task}, False
    try:
        r = grader.grade(SubmissionSource("mutant", _mutant(tmp_path, file, old, new)))
    finally:
        grader.only_tasks, grader.speed_enabled = None, True
    (t,) = r.tasks
    assert t.score < t.points, f"{task}: the mistake {new!r} kept full marks"
    assert any(not c.passed and c.message for c in t.checks)


def test_slow_submission_loses_speed_points_the_same_way_twice(grader, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("cv3_samples", ROOT / "reference" / "detection" / "samples.py")
    samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(samples)
    sub = tmp_path / "slow"
    samples.sample_package(sub, REFERENCE, samples.SLOW)
    grader.only_tasks = {"nms"}
    try:
        first = grader.grade(SubmissionSource("slow", sub))
        second = grader.grade(SubmissionSource("slow", sub))
    finally:
        grader.only_tasks = None
    for r in (first, second):
        nms = next(t for t in r.tasks if t.id == "nms")
        assert nms.score == nms.points  # correct
        (check,) = next(t for t in r.tasks if t.id == "nms_speed").checks
        assert check.details["ratio"] > check.details["zero_ratio"]
        assert check.score == 0 and not check.passed
        assert 0 <= check.details["student_spread"] < 1
    ratios = [next(t for t in r.tasks if t.id == "nms_speed").checks[0].details["ratio"] for r in (first, second)]
    assert max(ratios) / min(ratios) < 2  # stable figure, identical verdict


def test_batch_goes_on_after_a_crash_and_is_resumable(assignment, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    crash = subs / "a_crash" / "detection"
    shutil.copytree(STUB, crash)
    (crash / "__init__.py").write_text((STUB / "__init__.py").read_text() + "\nimport os\nos.abort()\n")
    shutil.copytree(REFERENCE, subs / "b_good" / "detection", ignore=shutil.ignore_patterns("__pycache__"))
    (subs / "c_empty").mkdir()
    sources = [SubmissionSource(p.name, p) for p in sorted(subs.iterdir())]
    store = ResultStore(tmp_path / "store.sqlite")
    summary = grade_batch(assignment, sources, store, speed=False, progress=None)
    assert [r.submission_id for r in summary.graded] == ["a_crash", "b_good", "c_empty"]
    results = {r.submission_id: r for r in store.all("detection")}
    assert results["a_crash"].score == 0 and results["a_crash"].error
    assert results["b_good"].score == pytest.approx(90)
    assert results["c_empty"].status == "error" and "no package 'detection'" in results["c_empty"].error
    again = grade_batch(assignment, sources, store, speed=False, progress=None)
    assert again.graded == [] and sorted(again.skipped) == ["a_crash", "b_good", "c_empty"]
