"""The trusted OTB evaluator (harness/metrics/sot.py) on hand-made cases: every convention its
docstring pins (strict success thresholds, inclusive precision thresholds, the first frame
counted, inverted predictions, per-sequence averaging) has a case here."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics import sot as otb

GT = np.array([[0.0, 0.0, 10.0, 10.0]])


def test_thresholds_are_pinned():
    assert otb.SUCCESS_THRESHOLDS.shape == (21,) and otb.SUCCESS_THRESHOLDS[0] == 0.0
    assert otb.SUCCESS_THRESHOLDS[-1] == 1.0 and np.allclose(np.diff(otb.SUCCESS_THRESHOLDS), 0.05)
    assert otb.PRECISION_THRESHOLDS.tolist() == list(range(51)) and otb.PRECISION_AT == 20


@pytest.mark.parametrize("pred, iou", [
    ([0.0, 0.0, 10.0, 10.0], 1.0),
    ([5.0, 0.0, 15.0, 10.0], 50 / 150),
    ([0.0, 0.0, 5.0, 10.0], 0.5),
    ([2.0, 2.0, 4.0, 4.0], 0.04),
    ([10.0, 0.0, 20.0, 10.0], 0.0),          # touching edges: no overlap
    ([8.0, 2.0, 2.0, 8.0], 0.0),             # inverted box: zero area
    ([-5.0, -5.0, 15.0, 15.0], 100 / 400),
])
def test_box_iou_rows_hand_made(pred, iou):
    assert otb.box_iou_rows(np.array([pred]), GT)[0] == pytest.approx(iou, abs=1e-15)


def test_otb_calcrectint_convention_agrees():
    """OTB's MATLAB calcRectInt on (x, y, w, h): right = x + w - 1, intersection width
    min(right) - max(left) + 1, area w * h; the same overlap as the continuous IoU."""
    rng = np.random.default_rng(0)
    a = np.c_[rng.uniform(0, 50, (100, 2)), rng.uniform(1, 30, (100, 2))]
    b = np.c_[rng.uniform(0, 50, (100, 2)), rng.uniform(1, 30, (100, 2))]
    ra, rb = a[:, 0] + a[:, 2] - 1, b[:, 0] + b[:, 2] - 1
    ta, tb = a[:, 1] + a[:, 3] - 1, b[:, 1] + b[:, 3] - 1
    iw = np.maximum(0, np.minimum(ra, rb) - np.maximum(a[:, 0], b[:, 0]) + 1)
    ih = np.maximum(0, np.minimum(ta, tb) - np.maximum(a[:, 1], b[:, 1]) + 1)
    inter = iw * ih
    otb_iou = inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)
    xyxy = lambda r: np.c_[r[:, :2], r[:, :2] + r[:, 2:]]  # noqa: E731
    assert np.allclose(otb.box_iou_rows(xyxy(a), xyxy(b)), otb_iou, atol=1e-12)
    # centres x + (w - 1) / 2: the same distances as the midpoints
    ca, cb = a[:, :2] + (a[:, 2:] - 1) / 2, b[:, :2] + (b[:, 2:] - 1) / 2
    assert np.allclose(otb.centre_errors(xyxy(a), xyxy(b)), np.hypot(*(ca - cb).T), atol=1e-12)


def test_success_is_strict_and_auc_is_the_mean():
    curve = otb.success_curve([0.5, 1.0, 0.0, 0.75])
    expected = np.array([(np.array([0.5, 1.0, 0.0, 0.75]) > t).mean() for t in np.linspace(0, 1, 21)])
    assert np.array_equal(curve, expected)
    assert curve[10] == 0.5 and curve[0] == 0.75 and curve[-1] == 0.0  # IoU 0.5 is not > 0.5; none > 1
    r = otb.evaluate_sequence(np.array([[0.0, 0.0, 10.0, 10.0], [30.0, 0.0, 40.0, 10.0]]), np.repeat(GT, 2, 0))
    assert r["auc"] == pytest.approx(10 / 21, abs=1e-15)  # 20 thresholds at 0.5, the last at 0


def test_precision_is_inclusive():
    pred = GT + np.array([[20.0, 0.0, 20.0, 0.0], [12.0, 16.0, 12.0, 16.0], [0.0, 0.0, 0.0, 0.0],
                          [30.0, 40.0, 30.0, 40.0]])
    gt = np.repeat(GT, 4, 0)
    errors = otb.centre_errors(pred, gt)
    assert errors.tolist() == [20.0, 20.0, 0.0, 50.0]
    curve = otb.precision_curve(errors)
    assert curve[20] == 0.75 and curve[19] == 0.25 and curve[50] == 1.0 and curve[0] == 0.25
    assert otb.evaluate_sequence(pred, gt)["precision_20"] == 0.75


def test_first_frame_counts_and_sequences_average():
    gt = np.array([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [2.0, 0.0, 12.0, 10.0]])
    pred = np.array([[0.0, 0.0, 10.0, 10.0], [100.0, 100.0, 110.0, 110.0], [100.0, 100.0, 110.0, 110.0]])
    one = otb.evaluate_sequence(pred, gt)
    assert one["frames"] == 3 and one["success"][0] == pytest.approx(1 / 3)
    long_gt = np.repeat(GT, 9, 0)
    two = otb.evaluate_many([(pred, gt), (long_gt, long_gt)])
    assert two["success"][0] == pytest.approx((1 / 3 + 1) / 2)  # sequences weigh the same
    assert two["pooled_auc"] == pytest.approx(otb.success_curve(np.r_[one["ious"], np.ones(9)]).mean())


def test_non_finite_predictions_fail_and_bad_gt_raises():
    pred = np.array([[np.nan, 0.0, 10.0, 10.0], [0.0, 0.0, np.inf, 10.0]])
    gt = np.repeat(GT, 2, 0)
    assert otb.box_iou_rows(pred, gt).tolist() == [0.0, 0.0]
    assert np.isinf(otb.centre_errors(pred, gt)).all()
    with pytest.raises(ValueError, match="positive width"):
        otb.box_iou_rows(GT, np.array([[0.0, 0.0, 0.0, 10.0]]))
    with pytest.raises(ValueError, match="frames"):
        otb.box_iou_rows(np.repeat(GT, 2, 0), GT)
    with pytest.raises(ValueError, match="at least one"):
        otb.evaluate_many([])
    with pytest.raises(ValueError, match="nan"):
        otb.evaluate_sequence(GT, np.array([[np.nan, 0, 1, 1]]))
    with pytest.raises(ValueError, match=r"\[T, 4\]"):
        otb.box_iou_rows(np.zeros((2, 3)), GT)
    with pytest.raises(ValueError):
        otb.success_curve([])
    with pytest.raises(ValueError):
        otb.precision_curve([])
    with pytest.raises(ValueError, match="at least one frame"):
        otb.box_iou_rows(np.zeros((0, 4)), np.zeros((0, 4)))
