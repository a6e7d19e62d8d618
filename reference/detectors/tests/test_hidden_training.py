"""Hidden tests of the training-time path [rpn, roi_heads, retinanet]: the targets a training
step assigns and the losses on them, at the sizes and label mixes real training produces.

Only the committed checkpoint of a detector is graded by mAP, so a mistake that only training
meets (a loss normalised by the positives instead of the sampled anchors, a background row that
is not ignored, an ignored anchor that counts) would otherwise cost nothing. Oracles: the whole
target assignment of torchvision (``Matcher``, ``BoxCoder``, ``BalancedPositiveNegativeSampler``
inside ``RegionProposalNetwork.assign_targets_to_anchors``, ``RoIHeads.select_training_samples``
and ``RetinaNet.compute_loss``), whose outputs are fed to the student's losses and compared
with torchvision's own losses. The sampler is seeded (the sample is the oracle's, not graded).
The RetinaNet test also checks the reference detector's own matching (``model._match``, what
``train`` calls) against torchvision's ``Matcher``: a bug there fails ``cv3 check``.
"""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import box_iou

from harness.testkit import assert_tensor

_spec = importlib.util.spec_from_file_location("cv3_detectors_oracles", Path(__file__).with_name("_oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracles)


def pyramid_anchors(image=(64, 64), strides=(8, 16), sizes=((8.0, 10.0, 13.0), (20.0, 25.0, 32.0))):
    """torchvision's anchors of one image (9 per position here), all levels concatenated."""
    gen = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    shapes = [[image[0] // s, image[1] // s] for s in strides]
    return torch.cat(gen.grid_anchors(shapes, [[torch.tensor(s), torch.tensor(s)] for s in strides]))


def scene(seed, g, image=64, min_side=4.0, max_side=60.0):
    """``g`` objects of a training scene: float32 boxes and int64 category ids 1..4."""
    gen = torch.Generator().manual_seed(seed)
    boxes = oracles.random_boxes(g, seed=seed, width=image, height=image, min_side=min_side, max_side=max_side)
    return boxes, torch.randint(1, 5, (g,), generator=gen)


def seeded(seed, fn, *args):
    """``fn(*args)`` with the global RNG (torchvision's sampler draws from it) seeded, then restored."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn(*args)


def fixed_sampler(pos, neg):
    return lambda labels: ([p.to(torch.uint8) for p in pos], [n.to(torch.uint8) for n in neg])


# ---------------------------------------------------------------- RPN


def rpn_training_case(scenes, seed):
    """Anchors, sampled labels (1 / 0 / -1) and regression targets of a batch, by torchvision."""
    rpn = RegionProposalNetwork(AnchorGenerator(), RPNHead(1, 1), 0.7, 0.3, 256, 0.5,
                                dict(training=10, testing=10), dict(training=10, testing=10), 0.7)
    anchors = pyramid_anchors()
    targets = [{"boxes": b} for b, _ in scenes]
    labels, matched = rpn.assign_targets_to_anchors([anchors] * len(scenes), targets)
    regression_targets = [rpn.box_coder.encode_single(m, anchors) for m in matched]
    pos, neg = seeded(seed, rpn.fg_bg_sampler, labels)
    sampled = torch.cat([torch.where(p.bool(), 1.0, torch.where(n.bool(), 0.0, -1.0)) for p, n in zip(pos, neg)])
    rpn.fg_bg_sampler = fixed_sampler(pos, neg)
    return rpn, labels, regression_targets, sampled


@pytest.mark.task("rpn")
def test_rpn_loss_of_a_training_batch_matches_torchvision(student):
    scenes = [scene(1, 3), scene(2, 5), scene(3, 1, min_side=5, max_side=8)]  # the last: low-quality matches only
    rpn, labels, regression_targets, sampled = rpn_training_case(scenes, seed=4)
    positives, total = int((sampled == 1).sum()), int((sampled >= 0).sum())
    assert 0 < positives < total < sampled.numel(), "test setup: a few positives among the sampled anchors"
    n = sampled.numel()
    objectness = oracles.randn(n, 1, seed=5, scale=2.0)
    deltas = oracles.randn(n, 4, seed=6, scale=0.5)
    expected = rpn.compute_loss(objectness, deltas, labels, regression_targets)
    got = student.rpn_loss(objectness.flatten(), deltas, sampled, torch.cat(regression_targets))
    case = f"3 images, {n} anchors, {total} sampled, {positives} positive"
    assert_tensor(got[0], expected[0], atol=1e-6, rtol=1e-5, case=f"{case}: objectness loss")
    assert_tensor(got[1], expected[1], atol=1e-6, rtol=1e-5, case=f"{case}: box loss (divided by |sampled|)")


@pytest.mark.task("rpn")
def test_rpn_loss_with_a_background_image(student):
    # torchvision encodes the anchors of an image without objects against zero boxes: their
    # targets hold -inf, and being negatives they must not reach the box loss
    scenes = [scene(7, 2), (torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64))]
    rpn, labels, regression_targets, sampled = rpn_training_case(scenes, seed=8)
    targets = torch.cat(regression_targets)
    assert bool(torch.isinf(targets).any()), "test setup: background rows with -inf targets"
    n = sampled.numel()
    objectness = oracles.randn(n, 1, seed=9, scale=2.0)
    deltas = oracles.randn(n, 4, seed=10, scale=0.5)
    expected = rpn.compute_loss(objectness, deltas, labels, regression_targets)
    got = student.rpn_loss(objectness.flatten(), deltas, sampled, targets)
    case = "an image without objects (its rows' targets are -inf and must be ignored)"
    assert_tensor(got[0], expected[0], atol=1e-6, rtol=1e-5, case=f"{case}: objectness loss")
    assert_tensor(got[1], expected[1], atol=1e-6, rtol=1e-5, case=f"{case}: box loss")


# ---------------------------------------------------------------- Fast R-CNN


def roi_training_case(scenes, seed, proposals_per_image=300):
    """Sampled RoIs, their labels and regression targets (weights 10, 10, 5, 5), by torchvision."""
    heads = RoIHeads(None, None, None, 0.5, 0.5, 128, 0.25, None, 0.05, 0.5, 100)
    proposals = [oracles.random_boxes(proposals_per_image, seed=seed + i, width=64, height=64, min_side=3,
                                      max_side=60) for i in range(len(scenes))]
    targets = [{"boxes": b, "labels": lb} for b, lb in scenes]
    _, _, labels, regression_targets = seeded(seed, heads.select_training_samples, proposals, targets)
    return labels, regression_targets


def check_fastrcnn_loss(student, labels, regression_targets, classes, seed, case):
    num = sum(lb.numel() for lb in labels)
    logits = oracles.randn(num, classes, seed=seed, scale=2.0)
    regression = oracles.randn(num, 4 * classes, seed=seed + 1, scale=0.5)
    expected = fastrcnn_loss(logits, regression, labels, regression_targets)
    got = student.fastrcnn_loss(logits, regression, torch.cat(labels), torch.cat(regression_targets))
    assert_tensor(got[0], expected[0], atol=1e-6, rtol=1e-5, case=f"{case}: classifier loss")
    assert_tensor(got[1], expected[1], atol=1e-6, rtol=1e-5, case=f"{case}: box loss (divided by all R)")


@pytest.mark.task("roi_heads")
def test_fastrcnn_loss_of_a_training_batch_matches_torchvision(student):
    labels, regression_targets = roi_training_case([scene(11, 4), scene(12, 2)], seed=13)
    all_labels = torch.cat(labels)
    assert 0 < int((all_labels > 0).sum()) <= all_labels.numel() // 4, "test setup: at most 25 % positives"
    check_fastrcnn_loss(student, labels, regression_targets, 5, seed=14,
                        case=f"2 images, {all_labels.numel()} sampled RoIs (ground truths added)")


@pytest.mark.task("roi_heads")
def test_fastrcnn_loss_with_a_background_image(student):
    scenes = [scene(15, 3), (torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64))]
    labels, regression_targets = roi_training_case(scenes, seed=16)
    assert bool(torch.isinf(torch.cat(regression_targets)).any()), "test setup: -inf background targets"
    check_fastrcnn_loss(student, labels, regression_targets, 5, seed=17,
                        case="an image without objects (its RoIs' targets are -inf and must be ignored)")


# ---------------------------------------------------------------- RetinaNet


def retinanet_oracle():
    matcher = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)
    return SimpleNamespace(proposal_matcher=matcher, head=RetinaNetHead(1, 1, 4))


def expected_matches(anchors, scenes):
    """matched class (0-based; -1 background, -2 ignored) and matched box per anchor, by torchvision."""
    matcher = retinanet_oracle().proposal_matcher
    classes, boxes = [], []
    for b, lb in scenes:
        if b.numel() == 0:
            idx = torch.full((anchors.shape[0],), -1, dtype=torch.int64)
            classes.append(idx)
            boxes.append(torch.zeros_like(anchors))
            continue
        idx = matcher(box_iou(b, anchors))
        classes.append(torch.where(idx >= 0, lb[idx.clamp(min=0)] - 1, idx))
        boxes.append(b[idx.clamp(min=0)])
    return torch.stack(classes), boxes


@pytest.mark.task("retinanet")
def test_retinanet_training_step_matches_torchvision(student, reference):
    anchors = pyramid_anchors()  # 720 anchors of a 64 x 64 image
    exact = anchors[100:101].clamp(0, 64)  # a ground truth on an anchor (IoU 1)
    scenes = [
        scene(21, 5),
        (torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64)),  # no objects: every anchor is background
        scene(22, 1, min_side=4, max_side=5),  # too small for IoU 0.4: only its best anchors match
        (torch.cat([exact, scene(23, 2)[0]]), torch.tensor([3, 1, 4])),
    ]
    expected_classes, matched_boxes = expected_matches(anchors, scenes)
    assert bool((expected_classes == -2).any() and (expected_classes[2] >= 0).any()), "test setup"

    # the reference detector's training-time matching (model._match) against torchvision's Matcher
    matched, targets = reference.model._match(anchors, [b for b, _ in scenes], [lb for _, lb in scenes])
    assert torch.equal(matched, expected_classes), "reference bug: model._match differs from torchvision's Matcher"
    coder = det_utils.BoxCoder((1.0, 1.0, 1.0, 1.0))
    fg = expected_classes >= 0
    encoded = torch.stack([coder.encode_single(m, anchors) for m in matched_boxes])
    assert torch.allclose(targets[fg], encoded[fg], atol=1e-5), "reference bug: model._match's targets"

    # the student's losses on those targets against torchvision's RetinaNet.compute_loss
    n, a = matched.shape
    logits = oracles.randn(n, a, 4, seed=24, scale=2.0)
    codes = oracles.randn(n, a, 4, seed=25, scale=0.5)
    tv_targets = [{"boxes": b, "labels": lb - 1} for b, lb in scenes]
    expected = RetinaNet.compute_loss(retinanet_oracle(), tv_targets, {"cls_logits": logits, "bbox_regression": codes},
                                      [anchors] * n)
    case = f"{n} images, {a} anchors, {int(fg.sum())} foreground, {int((matched == -2).sum())} ignored"
    assert_tensor(student.retinanet_classification_loss(logits, matched), expected["classification"],
                  atol=1e-5, rtol=1e-5, case=f"{case}: focal loss")
    assert_tensor(student.retinanet_regression_loss(codes, targets, matched), expected["bbox_regression"],
                  atol=1e-5, rtol=1e-5, case=f"{case}: box loss")
