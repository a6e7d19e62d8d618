"""Hidden tests for the classes of one-mistake variants that survived `cv3 check onestage --mutants`
(seed 31): every documented lower bound of a size parameter (S, B, C >= 1) checked at exactly the
bound, one parameter at a time, with a ``pred`` whose shape matches so that only the bound can
reject it; the value 1 must be accepted.

Oracle: the documented formulas (``cx = (col + x) / S``...) written out for a 1 x 1 grid.
"""

import pytest
import torch

from harness.testkit import assert_tensor

# (S, B, C) with exactly one of them 0; pred has the matching shape [S, S, B * 5 + C]
ZERO_ONE_AT_A_TIME = [(0, 1, 1), (1, 0, 1), (1, 1, 0)]


def empty_gt(dtype=torch.float64):
    return torch.zeros(0, 4, dtype=dtype), torch.zeros(0, dtype=torch.int64)


@pytest.mark.task("yolo")
@pytest.mark.parametrize("S,B,C", ZERO_ONE_AT_A_TIME)
def test_decode_rejects_each_size_below_one(student, S, B, C):
    pred = torch.rand(S, S, B * 5 + C, dtype=torch.float64)
    with pytest.raises(ValueError, match="S, B and C|[SBC]"):
        student.yolo_decode(pred, S, B, C)


@pytest.mark.task("yolo")
@pytest.mark.parametrize("S,B,C", ZERO_ONE_AT_A_TIME)
def test_targets_reject_each_size_below_one(student, S, B, C):
    pred = torch.rand(S, S, B * 5 + C, dtype=torch.float64)
    boxes, labels = empty_gt()
    with pytest.raises(ValueError, match="S, B and C|[SBC]"):
        student.yolo_targets(pred, boxes, labels, S, B, C)


@pytest.mark.task("yolo")
@pytest.mark.parametrize("S,B,C", ZERO_ONE_AT_A_TIME)
def test_loss_rejects_each_size_below_one(student, S, B, C):
    pred = torch.rand(1, S, S, B * 5 + C, dtype=torch.float64)
    boxes, labels = empty_gt()
    with pytest.raises(ValueError, match="S, B and C|[SBC]"):
        student.yolo_loss(pred, [boxes], [labels], S=S, B=B, C=C)


@pytest.mark.task("yolo")
def test_sizes_of_one_are_accepted(student):
    # one cell, one predictor, one class: x, y, w, h, conf, class score
    x, y, w, h = 0.25, 0.5, 0.5, 0.25
    pred = torch.tensor([[[x, y, w, h, 0.7, 0.9]]], dtype=torch.float64)
    expected = torch.tensor([[[[x - w / 2, y - h / 2, x + w / 2, y + h / 2]]]], dtype=torch.float64)
    assert_tensor(student.yolo_decode(pred, 1, 1, 1), expected, atol=1e-12, case="S = B = C = 1")
    boxes, labels = empty_gt()
    target, resp = student.yolo_targets(pred, boxes, labels, 1, 1, 1)
    assert_tensor(target, torch.zeros(1, 1, 6, dtype=torch.float64), atol=0, case="no ground truth: all zero")
    assert resp.dtype == torch.bool and resp.shape == (1, 1, 1) and not bool(resp.any())
    loss = student.yolo_loss(pred[None], [boxes], [labels], S=1, B=1, C=1, lambda_coord=5.0, lambda_noobj=0.5)
    # no object anywhere: only the no-object confidence term, lambda_noobj * conf ** 2
    assert_tensor(loss, torch.tensor(0.5 * 0.7 ** 2, dtype=torch.float64), atol=1e-12, case="noobj only")
