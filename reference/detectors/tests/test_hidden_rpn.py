"""Hidden tests of RPNHead, generate_proposals and rpn_loss [rpn].

Oracles: torchvision.models.detection.rpn.RPNHead with copied weights, and
RegionProposalNetwork's own ``box_coder.decode`` + ``filter_proposals`` and ``compute_loss``
(its random fg/bg sampler replaced by a fixed choice of anchors).
"""

import importlib.util
from pathlib import Path

import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead

from harness.testkit import assert_tensor, devices

_spec = importlib.util.spec_from_file_location("cv3_detectors_oracles", Path(__file__).with_name("_oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracles)


# ---------------------------------------------------------------- RPNHead


@pytest.mark.task("rpn")
@pytest.mark.parametrize("conv_depth", [1, 2])
def test_rpn_head_matches_torchvision(student, conv_depth):
    ref = oracles.perturbed(RPNHead(6, 3, conv_depth=conv_depth), seed=conv_depth)
    x = [oracles.randn(2, 6, 9, 7, seed=1), oracles.randn(2, 6, 5, 4, seed=2), oracles.randn(2, 6, 3, 2, seed=3)]
    expected_obj, expected_deltas = ref(x)
    head = student.RPNHead(6, 3, conv_depth)
    head.load_weights(oracles.state_dict(ref))
    got_obj, got_deltas = head(x)
    assert len(got_obj) == len(got_deltas) == 3, "one output per level"
    for level in range(3):
        assert_tensor(got_obj[level], expected_obj[level].detach(), atol=1e-5, rtol=1e-5,
                      case=f"objectness, level {level}, conv_depth {conv_depth}")
        assert_tensor(got_deltas[level], expected_deltas[level].detach(), atol=1e-5, rtol=1e-5,
                      case=f"deltas, level {level}, conv_depth {conv_depth}")


@pytest.mark.task("rpn")
@pytest.mark.parametrize("device", devices())
def test_rpn_head_on_device(student, device):
    ref = oracles.perturbed(RPNHead(4, 2), seed=9)
    x = [oracles.randn(1, 4, 6, 6, seed=4)]
    expected_obj, expected_deltas = ref(x)
    head = student.RPNHead(4, 2)
    head.load_weights({k: v.to(device) for k, v in oracles.state_dict(ref).items()})
    got_obj, got_deltas = head([x[0].to(device)])
    assert_tensor(got_obj[0], expected_obj[0].detach().to(device), atol=1e-5, rtol=1e-5, case=device)
    assert_tensor(got_deltas[0], expected_deltas[0].detach().to(device), atol=1e-5, rtol=1e-5, case=device)


@pytest.mark.task("rpn")
def test_rpn_head_initialisation(student):
    head = student.RPNHead(8, 3)
    objectness, deltas = head([torch.zeros(1, 8, 4, 4)])
    # zero input and zero biases: every output is exactly 0
    assert_tensor(objectness[0], torch.zeros(1, 3, 4, 4), case="objectness of a zero input")
    assert_tensor(deltas[0], torch.zeros(1, 12, 4, 4), case="deltas of a zero input")


# ---------------------------------------------------------------- generate_proposals


def rpn_oracle(pre, post, nms, min_size, score_thresh):
    rpn = RegionProposalNetwork(AnchorGenerator(), RPNHead(1, 1), 0.7, 0.3, 256, 0.5,
                                dict(training=pre, testing=pre), dict(training=post, testing=post),
                                nms, score_thresh=score_thresh)
    rpn.min_size = min_size
    return rpn


def expected_proposals(objectness, deltas, anchors, image_size, per_level, pre, post, nms, min_size, score_thresh):
    rpn = rpn_oracle(pre, post, nms, min_size, score_thresh)
    proposals = rpn.box_coder.decode(deltas, [anchors]).view(1, -1, 4)
    boxes, scores = rpn.filter_proposals(proposals, objectness[None], [image_size], per_level)
    return boxes[0], scores[0]


def level_anchors(image_size, strides, sizes, ratios=(0.5, 1.0, 2.0)):
    """torchvision's anchors of a pyramid over one image of ``image_size``."""
    gen = AnchorGenerator(tuple((s,) for s in sizes), (tuple(ratios),) * len(sizes))
    h, w = image_size
    shapes = [(h // s, w // s) for s in strides]
    anchors = gen.grid_anchors(shapes, [[torch.tensor(s), torch.tensor(s)] for s in strides])
    return torch.cat(anchors), [a.shape[0] for a in anchors]


CASES = {
    # name: (image size, pre_nms_top_n, post_nms_top_n, nms, min_size, score_thresh, delta scale)
    "3 levels, top 40 per level": ((64, 80), 40, 30, 0.7, 1.0, 0.0, 0.3),
    "top-k above a level's size": ((64, 80), 1000, 1000, 0.7, 1e-3, 0.0, 0.3),
    "score threshold and min size": ((64, 80), 100, 50, 0.5, 6.0, 0.5, 0.5),
    "huge deltas are clamped": ((48, 48), 60, 20, 0.7, 1.0, 0.0, 4.0),
}


@pytest.mark.task("rpn")
@pytest.mark.parametrize("case", list(CASES))
def test_generate_proposals_matches_torchvision(student, case):
    image_size, pre, post, nms, min_size, score_thresh, scale = CASES[case]
    anchors, per_level = level_anchors(image_size, [4, 8, 16], [8, 16, 32])
    n = anchors.shape[0]
    objectness = oracles.distinct_logits(n, seed=1)
    deltas = oracles.randn(n, 4, seed=2, scale=scale)
    expected = expected_proposals(objectness, deltas, anchors, image_size, per_level, pre, post, nms, min_size,
                                  score_thresh)
    boxes, scores = student.generate_proposals(objectness, deltas, anchors, image_size, pre, post, nms, min_size,
                                               per_level, score_thresh)
    assert_tensor(boxes, expected[0], atol=1e-4, rtol=1e-5, case=f"{case}: boxes")
    assert_tensor(scores, expected[1], atol=1e-6, case=f"{case}: scores")


@pytest.mark.task("rpn")
def test_generate_proposals_of_one_level(student):
    anchors = oracles.random_boxes(150, seed=3, width=50, height=40, outside=5)
    objectness = oracles.distinct_logits(150, seed=4)
    deltas = oracles.randn(150, 4, seed=5, scale=0.2)
    expected = expected_proposals(objectness, deltas, anchors, (40, 50), [150], 100, 40, 0.6, 0.5, 0.0)
    boxes, scores = student.generate_proposals(objectness, deltas, anchors, (40, 50), 100, 40, 0.6, 0.5)
    assert_tensor(boxes, expected[0], atol=1e-4, rtol=1e-5, case="num_anchors_per_level=None")
    assert_tensor(scores, expected[1], atol=1e-6, case="num_anchors_per_level=None")


@pytest.mark.task("rpn")
@pytest.mark.parametrize("output", [0, 1], ids=["boxes", "scores"])
def test_generate_proposals_lets_no_gradient_through(student, output):
    # "No gradient flows into them": the proposals are constants for the second stage
    anchors = oracles.random_boxes(150, seed=3, width=50, height=40, outside=5)
    objectness = oracles.distinct_logits(150, seed=4)
    deltas = oracles.randn(150, 4, seed=5, scale=0.2)
    expected = expected_proposals(objectness, deltas, anchors, (40, 50), [150], 100, 40, 0.6, 0.5, 0.0)
    out, grads = student.vjp("generate_proposals", (objectness, deltas, anchors, (40, 50), 100, 40, 0.6, 0.5),
                             wrt=(0, 1), output=output)
    assert_tensor(out, expected[output], atol=1e-4 if output == 0 else 1e-6, rtol=1e-5, case="the proposals")
    for name, grad in zip(("objectness", "deltas"), grads, strict=True):
        assert grad is None or not bool(grad.any()), f"a gradient reaches {name} through the {out.dim()}-D output"


@pytest.mark.task("rpn")
@pytest.mark.parametrize("device", devices())
def test_generate_proposals_on_device(student, device):
    anchors, per_level = level_anchors((32, 32), [4, 8], [8, 16])
    objectness = oracles.distinct_logits(anchors.shape[0], seed=6)
    deltas = oracles.randn(anchors.shape[0], 4, seed=7, scale=0.3)
    expected = expected_proposals(objectness, deltas, anchors, (32, 32), per_level, 30, 20, 0.7, 1.0, 0.0)
    boxes, scores = student.generate_proposals(objectness.to(device), deltas.to(device), anchors.to(device),
                                               (32, 32), 30, 20, 0.7, 1.0, per_level)
    assert_tensor(boxes, expected[0].to(device), atol=1e-4, rtol=1e-5, case=device)
    assert_tensor(scores, expected[1].to(device), atol=1e-6, case=device)


@pytest.mark.task("rpn")
def test_generate_proposals_when_nothing_survives(student):
    anchors = oracles.random_boxes(20, seed=8, width=30, height=30, max_side=5)
    boxes, scores = student.generate_proposals(oracles.randn(20, seed=9), torch.zeros(20, 4), anchors, (30, 30),
                                               10, 10, 0.7, 8.0)
    assert_tensor(boxes, torch.zeros(0, 4), case="every box is smaller than min_size")
    assert_tensor(scores, torch.zeros(0), case="every box is smaller than min_size")


@pytest.mark.task("rpn")
def test_generate_proposals_rejects_mismatched_shapes(student):
    with pytest.raises(ValueError):
        student.generate_proposals(torch.zeros(5), torch.zeros(4, 4), torch.zeros(5, 4), (10, 10), 5, 5, 0.7, 1.0)


# ---------------------------------------------------------------- rpn_loss


def fixed_sampler(pos_masks, neg_masks):
    return lambda labels: ([m.to(torch.uint8) for m in pos_masks], [m.to(torch.uint8) for m in neg_masks])


@pytest.mark.task("rpn")
@pytest.mark.parametrize("num_images", [1, 2])
def test_rpn_loss_matches_torchvision(student, num_images):
    per_image = 120
    gen = torch.Generator().manual_seed(num_images)
    labels, pos_masks, neg_masks = [], [], []
    for _ in range(num_images):
        lab = torch.randint(-1, 2, (per_image,), generator=gen).float()  # matcher output: 1, 0, -1
        keep = torch.rand(per_image, generator=gen) < 0.6  # the sampled subset
        pos_masks.append((lab == 1) & keep)
        neg_masks.append((lab == 0) & keep)
        labels.append(lab)
    total = per_image * num_images
    objectness = oracles.randn(total, 1, seed=11, scale=2.0)
    deltas = oracles.randn(total, 4, seed=12)
    targets = [oracles.randn(per_image, 4, seed=20 + i, scale=0.5) for i in range(num_images)]
    rpn = rpn_oracle(10, 10, 0.7, 1e-3, 0.0)
    rpn.fg_bg_sampler = fixed_sampler(pos_masks, neg_masks)
    expected_obj, expected_box = rpn.compute_loss(objectness, deltas, labels, targets)
    sampled = torch.cat([torch.where(p, 1.0, torch.where(n, 0.0, -1.0)) for p, n in zip(pos_masks, neg_masks)])
    got_obj, got_box = student.rpn_loss(objectness.flatten(), deltas, sampled, torch.cat(targets))
    assert_tensor(got_obj, expected_obj, atol=1e-6, rtol=1e-5, case=f"objectness loss, {num_images} image(s)")
    assert_tensor(got_box, expected_box, atol=1e-6, rtol=1e-5, case=f"box loss, {num_images} image(s)")


@pytest.mark.task("rpn")
def test_rpn_loss_without_sampled_anchors_is_zero(student):
    got_obj, got_box = student.rpn_loss(torch.randn(6), torch.randn(6, 4), torch.full((6,), -1.0), torch.randn(6, 4))
    assert_tensor(got_obj, torch.tensor(0.0), case="no sampled anchor: objectness")
    assert_tensor(got_box, torch.tensor(0.0), case="no sampled anchor: box")


@pytest.mark.task("rpn")
def test_rpn_loss_of_negatives_only_has_no_box_loss(student):
    objectness = torch.tensor([0.5, -1.0, 2.0])
    got_obj, got_box = student.rpn_loss(objectness, torch.randn(3, 4), torch.tensor([0.0, 0.0, -1.0]),
                                        torch.randn(3, 4))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(objectness[:2], torch.zeros(2))
    assert_tensor(got_obj, expected, atol=1e-6, case="two negatives, one ignored")
    assert_tensor(got_box, torch.tensor(0.0), case="no positive")


@pytest.mark.task("rpn")
def test_rpn_loss_rejects_mismatched_shapes(student):
    with pytest.raises(ValueError):
        student.rpn_loss(torch.zeros(4), torch.zeros(4, 4), torch.zeros(3), torch.zeros(4, 4))


@pytest.mark.task("rpn")
@pytest.mark.parametrize("depth", [1, 2])
def test_fresh_rpn_head_has_zero_biases(student, depth):
    # "every conv initialised with normal_(std=0.01) and zero bias" (torchvision's RPNHead):
    # all-zero features give zero objectness and zero deltas; noise gives non-zero ones
    zeros = [torch.zeros(1, 4, 5, 6), torch.zeros(1, 4, 2, 3)]
    ref = RPNHead(4, 3, conv_depth=depth)
    obj, deltas = student.RPNHead(4, 3, depth)(zeros)
    e_obj, e_deltas = ref(zeros)
    for i in range(2):
        assert_tensor(obj[i], e_obj[i].detach(), atol=1e-7, case=f"depth {depth}, level {i}: objectness")
        assert_tensor(deltas[i], e_deltas[i].detach(), atol=1e-7, case=f"depth {depth}, level {i}: deltas")
    x = [torch.randn(z.shape, generator=torch.Generator().manual_seed(3)) for z in zeros]
    obj, _ = student.RPNHead(4, 3, depth)(x)
    assert float(obj[0].abs().max()) > 0, "weights normal(0.01), not zero"


@pytest.mark.task("rpn")
def test_generate_proposals_without_anchors(student):
    # A = 0 (an empty level list or a map too small for any anchor): no proposal, not an error
    boxes, scores = student.generate_proposals(torch.zeros(0), torch.zeros(0, 4), torch.zeros(0, 4), (40, 50),
                                               100, 40, 0.6, 0.5)
    assert_tensor(boxes, torch.zeros(0, 4), case="no anchors: boxes")
    assert_tensor(scores, torch.zeros(0), case="no anchors: scores")
    anchors = oracles.random_boxes(150, seed=3, width=50, height=40, outside=5)
    objectness, deltas = oracles.distinct_logits(150, seed=4), oracles.randn(150, 4, seed=5, scale=0.2)
    expected = expected_proposals(objectness, deltas, anchors, (40, 50), [0, 150, 0], 100, 40, 0.6, 0.5, 0.0)
    got = student.generate_proposals(objectness, deltas, anchors, (40, 50), 100, 40, 0.6, 0.5,
                                      num_anchors_per_level=[0, 150, 0])
    assert_tensor(got[0], expected[0], atol=1e-4, rtol=1e-5, case="empty first and last levels: boxes")


@pytest.mark.task("rpn")
def test_rpn_loss_without_anchors_is_zero(student):
    # A = 0 means no sampled anchor: both losses 0 (the documented rule), not a shape error
    obj, box = student.rpn_loss(torch.zeros(0), torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, 4))
    assert_tensor(obj, torch.tensor(0.0), case="no anchors: loss_objectness")
    assert_tensor(box, torch.tensor(0.0), case="no anchors: loss_box")
