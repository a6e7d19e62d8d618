"""Hidden tests of the RetinaNet heads, losses and post-processing [retinanet].

Oracles: torchvision's RetinaNetClassificationHead / RetinaNetRegressionHead (forward with
copied weights, and their ``compute_loss``), torchvision.ops.sigmoid_focal_loss, and
RetinaNet.postprocess_detections (called on a stand-in for the model). Gradients of the losses
are checked numerically in float64.
"""

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.retinanet import (RetinaNet, RetinaNetClassificationHead,
                                                    RetinaNetRegressionHead)

from harness.testkit import assert_tensor, check_gradient, devices

_spec = importlib.util.spec_from_file_location("cv3_detectors_oracles", Path(__file__).with_name("_oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracles)

LEVELS = [(8, 6), (4, 3), (2, 2)]


def features(n, c, seed):
    return [oracles.randn(n, c, h, w, seed=seed + i) for i, (h, w) in enumerate(LEVELS)]


@pytest.mark.task("retinanet")
def test_classification_head_matches_torchvision(student):
    ref = oracles.perturbed(RetinaNetClassificationHead(6, 3, 4), seed=1, scale=0.5)
    x = features(2, 6, seed=2)
    head = student.RetinaNetClassificationHead(6, 3, 4)
    head.load_weights(oracles.state_dict(ref))
    assert_tensor(head(x), ref(x).detach(), atol=1e-5, rtol=1e-5, case="3 levels, A=3, K=4, 4 convs")


@pytest.mark.task("retinanet")
def test_regression_head_matches_torchvision(student):
    ref = oracles.perturbed(RetinaNetRegressionHead(6, 3), seed=3, scale=0.5)
    x = features(2, 6, seed=4)
    head = student.RetinaNetRegressionHead(6, 3)
    head.load_weights(oracles.state_dict(ref))
    assert_tensor(head(x), ref(x).detach(), atol=1e-5, rtol=1e-5, case="3 levels, A=3, 4 convs")


@pytest.mark.task("retinanet")
def test_heads_with_fewer_convs(student):
    ref = oracles.perturbed(RetinaNetClassificationHead(5, 2, 3), seed=5, scale=0.5)
    sd = {k: v for k, v in oracles.state_dict(ref).items() if not k.startswith(("conv.2.", "conv.3."))}
    x = features(1, 5, seed=6)
    expected = []
    for f in x:
        out = ref.cls_logits(ref.conv[1](ref.conv[0](f)))  # [1, A*K, H, W]
        expected.append(out.view(1, 2, 3, *f.shape[-2:]).permute(0, 3, 4, 1, 2).reshape(1, -1, 3))
    head = student.RetinaNetClassificationHead(5, 2, 3, 0.01, 2)
    head.load_weights(sd)
    assert_tensor(head(x), torch.cat(expected, dim=1).detach(), atol=1e-5, rtol=1e-5, case="num_convs=2")


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("device", devices())
def test_heads_on_device(student, device):
    ref_cls = oracles.perturbed(RetinaNetClassificationHead(4, 2, 3), seed=7, scale=0.5)
    ref_reg = oracles.perturbed(RetinaNetRegressionHead(4, 2), seed=8, scale=0.5)
    x = features(1, 4, seed=9)
    cls_head, reg_head = student.RetinaNetClassificationHead(4, 2, 3), student.RetinaNetRegressionHead(4, 2)
    cls_head.load_weights({k: v.to(device) for k, v in oracles.state_dict(ref_cls).items()})
    reg_head.load_weights({k: v.to(device) for k, v in oracles.state_dict(ref_reg).items()})
    xd = [f.to(device) for f in x]
    assert_tensor(cls_head(xd), ref_cls(x).detach().to(device), atol=1e-5, rtol=1e-5, case=f"logits on {device}")
    assert_tensor(reg_head(xd), ref_reg(x).detach().to(device), atol=1e-5, rtol=1e-5, case=f"codes on {device}")


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("prior", [0.01, 0.1])
def test_classification_prior(student, prior):
    head = student.RetinaNetClassificationHead(3, 2, 5, prior)
    probs = torch.sigmoid(head([torch.zeros(1, 3, 2, 2)]))
    assert_tensor(probs, torch.full((1, 8, 5), prior), atol=1e-6, case=f"prior_probability {prior}")


# ---------------------------------------------------------------- losses


def matching_case(seed, n=2, anchors_per_image=60, num_classes=4):
    """torchvision-style targets and matched_idxs, and the student's matched_labels."""
    gen = torch.Generator().manual_seed(seed)
    targets, matched_idxs, matched_labels = [], [], []
    anchors = []
    for i in range(n):
        g = 3 + i
        boxes = oracles.random_boxes(g, seed=seed + 10 * i, width=64, height=64, min_side=6, max_side=30)
        labels = torch.randint(0, num_classes, (g,), generator=gen)
        idx = torch.randint(-2, g, (anchors_per_image,), generator=gen)  # -2 ignored, -1 background
        targets.append({"boxes": boxes, "labels": labels})
        matched_idxs.append(idx)
        matched_labels.append(torch.where(idx >= 0, labels[idx.clamp(min=0)], idx))
        anchors.append(oracles.random_boxes(anchors_per_image, seed=seed + 10 * i + 1, width=64, height=64, min_side=4,
                                      max_side=32))
    return targets, matched_idxs, torch.stack(matched_labels), anchors


@pytest.mark.task("retinanet")
def test_classification_loss_matches_torchvision(student):
    targets, matched_idxs, matched_labels, _ = matching_case(seed=1)
    logits = oracles.randn(2, 60, 4, seed=2, scale=2.0)
    head = RetinaNetClassificationHead(1, 1, 4)
    expected = head.compute_loss(targets, {"cls_logits": logits}, matched_idxs)
    got = student.retinanet_classification_loss(logits, matched_labels)
    assert_tensor(got, expected, atol=1e-6, rtol=1e-5, case="2 images, 60 anchors, 4 classes")


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("alpha, gamma", [(0.5, 1.0), (-1.0, 0.0)], ids=["alpha0.5-gamma1", "no-alpha-gamma0"])
def test_classification_loss_alpha_gamma(student, alpha, gamma):
    logits = oracles.randn(1, 5, 3, seed=3, scale=2.0)
    matched = torch.tensor([[0, 2, -1, -2, 1]])
    target = torch.zeros(1, 5, 3)
    target[0, 0, 0] = target[0, 1, 2] = target[0, 4, 1] = 1.0
    valid = torch.tensor([True, True, True, False, True])
    fl = torchvision.ops.sigmoid_focal_loss(logits[0, valid], target[0, valid], alpha, gamma, reduction="sum")
    got = student.retinanet_classification_loss(logits, matched, alpha, gamma)
    assert_tensor(got, fl / 3, atol=1e-6, rtol=1e-5, case=f"alpha {alpha}, gamma {gamma}, 3 foreground anchors")


@pytest.mark.task("retinanet")
def test_classification_loss_of_background_only(student):
    logits = oracles.randn(1, 4, 2, seed=4)
    matched = torch.full((1, 4), -1)
    fl = torchvision.ops.sigmoid_focal_loss(logits[0], torch.zeros(4, 2), reduction="sum")
    got = student.retinanet_classification_loss(logits, matched)
    assert_tensor(got, fl, atol=1e-6, rtol=1e-5, case="no foreground: divided by max(1, 0) = 1")


@pytest.mark.task("retinanet")
def test_classification_loss_gradient(student):
    logits = oracles.randn(2, 6, 3, seed=5, dtype=torch.float64)
    matched = torch.tensor([[0, 1, -1, -2, 2, -1], [-1, -1, 0, -2, -2, 1]])
    check_gradient(student, "retinanet_classification_loss", [logits, matched])


@pytest.mark.task("retinanet")
def test_regression_loss_matches_torchvision(student):
    targets, matched_idxs, matched_labels, anchors = matching_case(seed=6)
    codes = oracles.randn(2, 60, 4, seed=7)
    head = RetinaNetRegressionHead(1, 1)
    expected = head.compute_loss(targets, {"bbox_regression": codes}, anchors, matched_idxs)
    coder = det_utils.BoxCoder((1.0, 1.0, 1.0, 1.0))
    regression_targets = torch.stack([
        coder.encode_single(t["boxes"][m.clamp(min=0)], a) for t, m, a in zip(targets, matched_idxs, anchors)
    ])
    got = student.retinanet_regression_loss(codes, regression_targets, matched_labels)
    assert_tensor(got, expected, atol=1e-6, rtol=1e-5, case="2 images, 60 anchors")


@pytest.mark.task("retinanet")
def test_regression_loss_gradient(student):
    codes = oracles.randn(2, 5, 4, seed=8, dtype=torch.float64)
    targets = oracles.randn(2, 5, 4, seed=9, dtype=torch.float64)
    matched = torch.tensor([[0, -1, 2, -2, 1], [-1, -1, -1, -1, -1]])
    check_gradient(student, "retinanet_regression_loss", [codes, targets, matched])


@pytest.mark.task("retinanet")
def test_losses_reject_float_matched_labels(student):
    with pytest.raises(ValueError):
        student.retinanet_classification_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2))


# ---------------------------------------------------------------- postprocess


def expected_detections(logits, codes, anchors, image_size, score_thresh, nms_thresh, per_img, topk):
    model = SimpleNamespace(score_thresh=score_thresh, nms_thresh=nms_thresh, detections_per_img=per_img,
                            topk_candidates=topk, box_coder=det_utils.BoxCoder((1.0, 1.0, 1.0, 1.0)))
    head_outputs = {"cls_logits": [lg[None] for lg in logits], "bbox_regression": [c[None] for c in codes]}
    det = RetinaNet.postprocess_detections(model, head_outputs, [anchors], [image_size])[0]
    return det["boxes"], det["scores"], det["labels"]


def level_inputs(seed, sizes=(48, 12, 3), num_classes=4, image=(64, 64)):
    logits = oracles.distinct_logits(sum(sizes), num_classes, seed=seed, low=-5, high=3).split(list(sizes))
    codes = oracles.randn(sum(sizes), 4, seed=seed + 1, scale=0.3).split(list(sizes))
    anchors = oracles.random_boxes(sum(sizes), seed=seed + 2, width=image[1], height=image[0], min_side=4,
                             max_side=40, outside=3).split(list(sizes))
    return list(logits), list(codes), list(anchors)


CASES = {
    "defaults": (0.05, 0.5, 300, 1000),
    "top-k per level": (0.05, 0.5, 300, 10),
    "score threshold, few kept": (0.3, 0.4, 6, 1000),
}


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("case", list(CASES))
def test_postprocess_matches_torchvision(student, case):
    score_thresh, nms_thresh, per_img, topk = CASES[case]
    logits, codes, anchors = level_inputs(seed=10)
    expected = expected_detections(logits, codes, anchors, (64, 64), score_thresh, nms_thresh, per_img, topk)
    got = student.retinanet_postprocess(logits, codes, anchors, (64, 64), score_thresh, nms_thresh, per_img, topk)
    assert_tensor(got[0], expected[0], atol=1e-4, rtol=1e-5, case=f"{case}: boxes")
    assert_tensor(got[1], expected[1], atol=1e-6, case=f"{case}: scores")
    assert_tensor(got[2], expected[2], case=f"{case}: labels")


@pytest.mark.task("retinanet")
def test_postprocess_with_a_silent_level(student):
    logits, codes, anchors = level_inputs(seed=20)
    logits[1] = torch.full_like(logits[1], -10.0)  # nothing above the threshold on level 1
    expected = expected_detections(logits, codes, anchors, (64, 64), 0.05, 0.5, 300, 1000)
    got = student.retinanet_postprocess(logits, codes, anchors, (64, 64))
    for g, e, name in zip(got, expected, ("boxes", "scores", "labels")):
        assert_tensor(g, e, atol=1e-4 if name != "labels" else 0, case=f"a level without candidates: {name}")


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("device", devices())
def test_postprocess_on_device(student, device):
    logits, codes, anchors = level_inputs(seed=30, sizes=(20, 5))
    expected = expected_detections(logits, codes, anchors, (64, 64), 0.05, 0.5, 300, 1000)
    got = student.retinanet_postprocess([t.to(device) for t in logits], [t.to(device) for t in codes],
                                        [t.to(device) for t in anchors], (64, 64))
    for g, e, name in zip(got, expected, ("boxes", "scores", "labels")):
        assert_tensor(g, e.to(device), atol=1e-4 if name != "labels" else 0, case=f"{name} on {device}")


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("prior", [0.01, 0.2])
def test_fresh_heads_have_the_documented_biases(student, prior):
    # the documented initialisation (torchvision's): conv biases 0 and the cls_logits bias at the
    # prior, so that all-zero features give exactly the prior logit and zero regression codes
    zeros = [torch.zeros(2, 6, 5, 4), torch.zeros(2, 6, 3, 2)]
    cls_ref = RetinaNetClassificationHead(6, 3, 4, prior_probability=prior)
    got = student.RetinaNetClassificationHead(6, 3, 4, prior)(zeros)
    assert_tensor(got, cls_ref(zeros).detach(), atol=1e-6, case=f"fresh classification head, prior {prior}")
    assert abs(float(got.flatten()[0]) - math.log(prior / (1 - prior))) < 1e-5
    reg_ref = RetinaNetRegressionHead(6, 3)
    assert_tensor(student.RetinaNetRegressionHead(6, 3)(zeros), reg_ref(zeros).detach(), atol=1e-6,
                  case="fresh regression head: zero codes")
    x = [torch.randn(z.shape, generator=torch.Generator().manual_seed(2)) for z in zeros]
    assert float((student.RetinaNetRegressionHead(6, 3)(x)).abs().max()) > 0, "weights normal(0.01), not zero"
