"""Hidden tests of TwoMLPHead, FastRCNNPredictor, fastrcnn_loss and postprocess_detections [roi_heads].

Oracles: torchvision's TwoMLPHead and FastRCNNPredictor with copied weights,
torchvision.models.detection.roi_heads.fastrcnn_loss and RoIHeads.postprocess_detections.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss

from harness.testkit import assert_tensor, devices

_spec = importlib.util.spec_from_file_location("cv3_detectors_oracles", Path(__file__).with_name("_oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracles)


@pytest.mark.task("roi_heads")
def test_two_mlp_head_matches_torchvision(student):
    ref = oracles.perturbed(TwoMLPHead(3 * 4 * 4, 16), seed=1, scale=1.0)
    x = oracles.randn(9, 3, 4, 4, seed=2)
    head = student.TwoMLPHead(48, 16)
    head.load_weights(oracles.state_dict(ref))
    assert_tensor(head(x), ref(x).detach(), atol=1e-5, rtol=1e-5, case="9 RoIs of 3 x 4 x 4")


@pytest.mark.task("roi_heads")
@pytest.mark.parametrize("shape", [(7, 12), (7, 12, 1, 1)], ids=["2d", "4d"])
def test_predictor_matches_torchvision(student, shape):
    ref = oracles.perturbed(FastRCNNPredictor(12, 5), seed=3, scale=1.0)
    x = oracles.randn(*shape, seed=4)
    expected_logits, expected_codes = ref(x)
    pred = student.FastRCNNPredictor(12, 5)
    pred.load_weights(oracles.state_dict(ref))
    logits, codes = pred(x)
    assert_tensor(logits, expected_logits.detach(), atol=1e-5, rtol=1e-5, case=f"class logits, input {list(shape)}")
    assert_tensor(codes, expected_codes.detach(), atol=1e-5, rtol=1e-5, case=f"box codes, input {list(shape)}")


@pytest.mark.task("roi_heads")
@pytest.mark.parametrize("device", devices())
def test_box_head_and_predictor_on_device(student, device):
    ref_head = oracles.perturbed(TwoMLPHead(8, 6), seed=5, scale=1.0)
    ref_pred = oracles.perturbed(FastRCNNPredictor(6, 3), seed=6, scale=1.0)
    x = oracles.randn(4, 2, 2, 2, seed=7)
    expected = ref_pred(ref_head(x))
    head, pred = student.TwoMLPHead(8, 6), student.FastRCNNPredictor(6, 3)
    head.load_weights({k: v.to(device) for k, v in oracles.state_dict(ref_head).items()})
    pred.load_weights({k: v.to(device) for k, v in oracles.state_dict(ref_pred).items()})
    logits, codes = pred(head(x.to(device)))
    assert_tensor(logits, expected[0].detach().to(device), atol=1e-5, rtol=1e-5, case=device)
    assert_tensor(codes, expected[1].detach().to(device), atol=1e-5, rtol=1e-5, case=device)


# ---------------------------------------------------------------- fastrcnn_loss


@pytest.mark.task("roi_heads")
@pytest.mark.parametrize("background", [0.5, 1.0], ids=["mixed", "all-background"])
def test_fastrcnn_loss_matches_torchvision(student, background):
    gen = torch.Generator().manual_seed(int(background * 10))
    num, classes = 40, 5
    labels = torch.randint(1, classes, (num,), generator=gen)
    labels[torch.rand(num, generator=gen) < background] = 0
    logits = oracles.randn(num, classes, seed=8, scale=2.0)
    regression = oracles.randn(num, 4 * classes, seed=9)
    targets = oracles.randn(num, 4, seed=10, scale=0.5)
    expected = fastrcnn_loss(logits, regression, [labels], [targets])
    got = student.fastrcnn_loss(logits, regression, labels, targets)
    assert_tensor(got[0], expected[0], atol=1e-6, rtol=1e-5, case=f"{background:.0%} background: classifier")
    assert_tensor(got[1], expected[1], atol=1e-6, rtol=1e-5, case=f"{background:.0%} background: box")


@pytest.mark.task("roi_heads")
def test_fastrcnn_loss_uses_the_true_class_regression(student):
    regression = torch.zeros(1, 12)
    regression[0, 4:8] = 5.0  # class 1: not the RoI's class, must not count
    labels = torch.tensor([2])
    _, box = student.fastrcnn_loss(torch.zeros(1, 3), regression, labels, torch.zeros(1, 4))
    assert_tensor(box, torch.tensor(0.0), case="only class 2's codes are compared with the targets")


@pytest.mark.task("roi_heads")
def test_fastrcnn_loss_rejects_mismatched_shapes(student):
    with pytest.raises(ValueError):
        student.fastrcnn_loss(torch.zeros(3, 4), torch.zeros(3, 12), torch.zeros(3, dtype=torch.int64),
                              torch.zeros(3, 4))


# ---------------------------------------------------------------- postprocess_detections


def expected_detections(logits, regression, proposals, image_size, score_thresh, nms_thresh, per_img):
    heads = RoIHeads(None, None, None, 0.5, 0.5, 512, 0.25, None, score_thresh, nms_thresh, per_img)
    boxes, scores, labels = heads.postprocess_detections(logits, regression, [proposals], [image_size])
    return boxes[0], scores[0], labels[0]


CASES = {
    "default thresholds": (0.05, 0.5, 100),
    "high score threshold": (0.3, 0.5, 100),
    "few detections kept": (0.05, 0.3, 5),
}


@pytest.mark.task("roi_heads")
@pytest.mark.parametrize("case", list(CASES))
def test_postprocess_detections_matches_torchvision(student, case):
    score_thresh, nms_thresh, per_img = CASES[case]
    num, classes, image_size = 30, 4, (60, 90)
    proposals = oracles.random_boxes(num, seed=11, width=90, height=60, max_side=40)
    logits = oracles.distinct_logits(num, classes, seed=12, low=-3, high=3)
    regression = oracles.randn(num, 4 * classes, seed=13)
    expected = expected_detections(logits, regression, proposals, image_size, score_thresh, nms_thresh, per_img)
    got = student.postprocess_detections(logits, regression, proposals, image_size, score_thresh, nms_thresh,
                                         per_img)
    assert_tensor(got[0], expected[0], atol=1e-4, rtol=1e-5, case=f"{case}: boxes")
    assert_tensor(got[1], expected[1], atol=1e-6, case=f"{case}: scores")
    assert_tensor(got[2], expected[2], case=f"{case}: labels")


@pytest.mark.task("roi_heads")
@pytest.mark.parametrize("device", devices())
def test_postprocess_detections_on_device(student, device):
    proposals = oracles.random_boxes(12, seed=14, width=40, height=40)
    logits = oracles.distinct_logits(12, 3, seed=15)
    regression = oracles.randn(12, 12, seed=16)
    expected = expected_detections(logits, regression, proposals, (40, 40), 0.05, 0.5, 100)
    got = student.postprocess_detections(logits.to(device), regression.to(device), proposals.to(device), (40, 40))
    for g, e, name in zip(got, expected, ("boxes", "scores", "labels")):
        assert_tensor(g, e.to(device), atol=1e-4 if name != "labels" else 0, case=f"{name} on {device}")


@pytest.mark.task("roi_heads")
def test_postprocess_detections_of_no_rois(student):
    boxes, scores, labels = student.postprocess_detections(torch.zeros(0, 3), torch.zeros(0, 12), torch.zeros(0, 4),
                                                           (20, 20))
    assert_tensor(boxes, torch.zeros(0, 4), case="R=0: boxes")
    assert_tensor(scores, torch.zeros(0), case="R=0: scores")
    assert_tensor(labels, torch.zeros(0, dtype=torch.int64), case="R=0: labels")
