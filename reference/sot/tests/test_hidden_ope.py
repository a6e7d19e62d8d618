"""Hidden tests of the OTB evaluation [ope]: against the trusted evaluator harness/metrics/sot.py
(itself tested on hand-made cases in tests/test_sot_metrics.py) and hand-made boundary cases."""

import numpy as np
import pytest
import torch

from harness.metrics import sot as otb
from harness.testkit import assert_tensor


def random_pair(t, seed, spread=8.0):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(t, 2, generator=gen, dtype=torch.float64) * 80
    wh = torch.rand(t, 2, generator=gen, dtype=torch.float64) * 30 + 5
    gt = torch.cat([xy, xy + wh], 1)
    pred = gt + torch.randn(t, 4, generator=gen, dtype=torch.float64) * spread
    return pred, gt


@pytest.mark.task("ope")
@pytest.mark.parametrize("seed, spread", [(0, 3.0), (1, 8.0), (2, 25.0)])
def test_curves_match_the_trusted_evaluator(student, seed, spread):
    pred, gt = random_pair(200, seed, spread)
    ref = otb.evaluate_sequence(pred.numpy(), gt.numpy())
    assert_tensor(student.frame_iou(pred, gt), torch.from_numpy(ref["ious"]), atol=1e-12, case="frame_iou")
    assert_tensor(student.centre_error(pred, gt), torch.from_numpy(ref["errors"]), atol=1e-10, case="centre_error")
    assert_tensor(student.success_curve(pred, gt), torch.from_numpy(ref["success"]), atol=1e-12,
                  case="success_curve")
    assert_tensor(student.success_auc(pred, gt), torch.tensor(ref["auc"], dtype=torch.float64), atol=1e-12,
                  case="success_auc")
    assert_tensor(student.precision_curve(pred, gt), torch.from_numpy(ref["precision"]), atol=1e-12,
                  case="precision_curve")
    assert_tensor(student.precision_at(pred, gt), torch.tensor(ref["precision_20"], dtype=torch.float64),
                  atol=1e-12, case="precision_at 20 px")


@pytest.mark.task("ope")
def test_success_threshold_is_strict(student):
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 4, dtype=torch.float64)
    pred = torch.tensor([[0.0, 0.0, 5.0, 10.0],    # IoU 0.5
                         [0.0, 0.0, 10.0, 10.0],   # IoU 1
                         [20.0, 20.0, 30.0, 30.0],  # IoU 0
                         [0.0, 0.0, 7.5, 10.0]], dtype=torch.float64)  # IoU 0.75
    curve = student.success_curve(pred, gt)
    expected = torch.tensor(otb.success_curve([0.5, 1.0, 0.0, 0.75]), dtype=torch.float64)
    assert_tensor(curve, expected, atol=1e-12, case="IoU exactly on thresholds 0.5, 0.75, 1 and 0")
    assert float(curve[10]) == 0.5 and float(curve[20]) == 0.0 and float(curve[0]) == 0.75


@pytest.mark.task("ope")
def test_precision_threshold_is_inclusive(student):
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 3, dtype=torch.float64)
    pred = gt + torch.tensor([[20.0, 0.0, 20.0, 0.0], [12.0, 16.0, 12.0, 16.0], [0.0, 0.0, 0.0, 0.0]],
                             dtype=torch.float64)  # errors 20, 20 (3-4-5), 0
    assert_tensor(student.precision_at(pred, gt), torch.tensor(1.0, dtype=torch.float64), case="error 20 <= 20")
    assert_tensor(student.precision_at(pred, gt, 19.5), torch.tensor(1 / 3, dtype=torch.float64), atol=1e-15,
                  case="19.5 px")
    curve = student.precision_curve(pred, gt)
    assert_tensor(curve, torch.from_numpy(otb.precision_curve([20.0, 20.0, 0.0])), atol=1e-15,
                  case="precision curve 0..50")
    assert tuple(curve.shape) == (51,)


@pytest.mark.task("ope")
def test_degenerate_predictions(student):
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 9.0, 7.0]], dtype=torch.float64)
    pred = torch.tensor([[8.0, 2.0, 2.0, 8.0],   # x2 < x1: zero area, IoU 0; centre (5, 5)
                         [5.0, 5.0, 9.0, 7.0]], dtype=torch.float64)
    assert_tensor(student.frame_iou(pred, gt), torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-15,
                  case="inverted box")
    assert_tensor(student.centre_error(pred, gt), torch.tensor([0.0, 0.0], dtype=torch.float64), atol=1e-15,
                  case="an inverted box's centre is its midpoint")


@pytest.mark.task("ope")
def test_float32_inputs_give_float64(student):
    pred, gt = random_pair(50, 5, 6.0)
    ref = otb.evaluate_sequence(pred.float().numpy(), gt.float().numpy())
    assert_tensor(student.success_auc(pred.float(), gt.float()), torch.tensor(ref["auc"], dtype=torch.float64),
                  atol=1e-12, case="float32 boxes, float64 AUC")
    assert_tensor(student.frame_iou(pred.float(), gt.float()), torch.from_numpy(ref["ious"]), atol=1e-6,
                  case="float32 boxes, float64 IoU")


@pytest.mark.task("ope")
def test_mismatched_lengths_raise(student):
    with pytest.raises(ValueError, match=r"frames|T|pred|\bgt\b|shape"):
        student.success_curve(torch.zeros(3, 4), torch.ones(4, 4))
    with pytest.raises(ValueError):
        student.precision_at(torch.zeros(3, 4), torch.ones(3, 4), -1.0)
    assert np.isclose(otb.SUCCESS_THRESHOLDS[1], 0.05)
