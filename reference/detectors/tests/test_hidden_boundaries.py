"""Hidden tests at the edges of the API [fpn, rpn, roi_heads, retinanet]: malformed input
rejected with the documented exception, empty results with the exact shapes and dtypes
promised, mixed dtypes, and degenerate geometry (zero-area boxes, boxes outside the image).

Oracles: torchvision's LevelMapper, MultiScaleRoIAlign, RegionProposalNetwork's
``filter_proposals`` and ``compute_loss``, ``fastrcnn_loss``, ``RoIHeads.postprocess_detections``,
RetinaNet's head losses and ``postprocess_detections``, with the same inputs.
"""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops.poolers import LevelMapper

from harness.testkit import assert_tensor

_spec = importlib.util.spec_from_file_location("cv3_detectors_oracles", Path(__file__).with_name("_oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracles)

EMPTY_DETECTIONS = (torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64))


def rejects(call, *cases):
    """Every ``call(*args)`` of ``cases`` ({name: args}) raises ValueError."""
    for name, args in cases:
        with pytest.raises(ValueError):
            call(*args)
            pytest.fail(f"[{name}] expected ValueError")


# ---------------------------------------------------------------- fpn


@pytest.mark.task("fpn")
def test_fpn_rejects_empty_or_non_positive_channels(student):
    rejects(student.FeaturePyramidNetwork,
            ("no input maps", ([], 4)), ("a map with 0 channels", ([4, 0], 4)), ("out_channels 0", ([4, 8], 0)))


@pytest.mark.task("fpn")
def test_fpn_levels_and_pooling_reject_malformed_boxes(student):
    feats = [torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 4, 4)]
    rejects(student.assign_fpn_levels,
            ("boxes [K, 5]", (torch.zeros(3, 5), 2, 5)), ("boxes [4]", (torch.zeros(4), 2, 5)))
    rejects(student.multiscale_roi_align,
            ("2 maps, 1 scale", (feats, torch.zeros(1, 5), 2, [1 / 4])),
            ("no maps", ([], torch.zeros(1, 5), 2, [])),
            ("boxes [K, 4] without the batch index", (feats, torch.zeros(3, 4), 2, [1 / 4, 1 / 8])))


@pytest.mark.task("fpn")
def test_multiscale_roi_align_of_no_rois_on_one_level(student):
    got = student.multiscale_roi_align([oracles.randn(2, 3, 8, 8, seed=1)], torch.zeros(0, 5), (2, 3), [1 / 8])
    assert_tensor(got, torch.zeros(0, 3, 2, 3), case="K=0, one level")


@pytest.mark.task("fpn")
def test_levels_and_pooling_of_degenerate_boxes(student):
    # zero width or height (log2(0) = -inf lands on the finest level), huge boxes (the coarsest)
    # and boxes partly or wholly outside the image, against LevelMapper and MultiScaleRoIAlign
    boxes = torch.tensor([[5.0, 5.0, 5.0, 20.0], [3.0, 9.0, 30.0, 9.0], [7.0, 7.0, 7.0, 7.0],
                          [-40.0, -30.0, 200.0, 150.0], [50.0, 50.0, 90.0, 80.0], [-20.0, -10.0, -2.0, -1.0],
                          [10.0, 12.0, 40.0, 44.0], [0.0, 0.0, 64.0, 64.0]])
    assert_tensor(student.assign_fpn_levels(boxes, 2, 4, 32, 3), LevelMapper(2, 4, 32, 3)([boxes]),
                  case="zero-area, huge and outside boxes")
    feats = {"p4": oracles.randn(1, 2, 16, 16, seed=2), "p8": oracles.randn(1, 2, 8, 8, seed=3),
             "p16": oracles.randn(1, 2, 4, 4, seed=4)}
    expected = torchvision.ops.MultiScaleRoIAlign(list(feats), 3, 2, canonical_scale=32, canonical_level=3)(
        feats, [boxes], [(64, 64)])
    rois = torch.cat([torch.zeros(8, 1), boxes], dim=1)
    got = student.multiscale_roi_align(list(feats.values()), rois, 3, [1 / 4, 1 / 8, 1 / 16], 2, 32, 3)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case="zero-area, huge and outside RoIs")


# ---------------------------------------------------------------- rpn


def rpn_oracle(pre, post, nms, min_size, score_thresh=0.0):
    rpn = RegionProposalNetwork(AnchorGenerator(), RPNHead(1, 1), 0.7, 0.3, 256, 0.5,
                                dict(training=pre, testing=pre), dict(training=post, testing=post),
                                nms, score_thresh=score_thresh)
    rpn.min_size = min_size
    return rpn


@pytest.mark.task("rpn")
@pytest.mark.parametrize("per_level", [[], None], ids=["no-level", "one-empty-level"])
def test_generate_proposals_without_anchors(student, per_level):
    # A = 0: an empty list of levels sums to A like one empty level; either way nothing to propose
    boxes, scores = student.generate_proposals(torch.zeros(0), torch.zeros(0, 4), torch.zeros(0, 4), (20, 20),
                                               5, 5, 0.7, 0.0, per_level)
    assert_tensor(boxes, torch.zeros(0, 4), case=f"no anchors, num_anchors_per_level={per_level}: boxes")
    assert_tensor(scores, torch.zeros(0), case=f"no anchors, num_anchors_per_level={per_level}: scores")


@pytest.mark.task("rpn")
def test_generate_proposals_rejects_malformed_inputs(student):
    obj, deltas, anchors = torch.zeros(6), torch.zeros(6, 4), oracles.random_boxes(6, seed=1, width=20, height=20)
    rejects(lambda o, d, a, per_level=None: student.generate_proposals(o, d, a, (20, 20), 5, 5, 0.7, 1.0, per_level),
            ("anchors [A, 5]", (obj, deltas, torch.zeros(6, 5))),
            ("num_anchors_per_level sums to A + 1", (obj, deltas, anchors, [4, 3])),
            ("a negative count in num_anchors_per_level", (obj, deltas, anchors, [7, -1])))


@pytest.mark.task("rpn")
def test_rpn_loss_with_integer_labels_and_float64_targets(student):
    gen = torch.Generator().manual_seed(2)
    labels = torch.randint(-1, 2, (50,), generator=gen)  # int64: 1, 0, -1
    objectness = oracles.randn(50, 1, seed=3, scale=2.0)
    deltas = oracles.randn(50, 4, seed=4)
    targets = oracles.randn(50, 4, seed=5, dtype=torch.float64, scale=0.5)
    rpn = rpn_oracle(10, 10, 0.7, 1e-3)
    rpn.fg_bg_sampler = lambda lab: ([(labels == 1).to(torch.uint8)], [(labels == 0).to(torch.uint8)])
    expected = rpn.compute_loss(objectness, deltas, [labels.float()], [targets.float()])
    got = student.rpn_loss(objectness.flatten(), deltas, labels, targets)
    for g, e, name in zip(got, expected, ("objectness", "box")):
        assert_tensor(g, e, atol=1e-6, rtol=1e-5, case=f"int64 labels, float64 targets, float32 outputs: {name} loss")


@pytest.mark.task("rpn")
def test_generate_proposals_in_float64_with_anchors_outside_the_image(student):
    # a third of the anchors lie wholly outside the image: clipped to zero size, then dropped
    inside = oracles.random_boxes(40, seed=6, width=48, height=40, min_side=4, max_side=30)
    outside = oracles.random_boxes(20, seed=7, width=48, height=40, min_side=4, max_side=10) + torch.tensor(
        [60.0, 0.0, 60.0, 0.0])
    anchors = torch.cat([inside, outside]).double()
    objectness = oracles.distinct_logits(60, seed=8).double()
    deltas = oracles.randn(60, 4, seed=9, scale=0.3, dtype=torch.float64)
    rpn = rpn_oracle(25, 30, 0.6, 1e-3)
    proposals = rpn.box_coder.decode(deltas, [anchors]).view(1, -1, 4)
    expected = rpn.filter_proposals(proposals, objectness[None], [(40, 48)], [40, 20])
    got = student.generate_proposals(objectness, deltas, anchors, (40, 48), 25, 30, 0.6, 1e-3, [40, 20])
    assert_tensor(got[0], expected[0][0], atol=1e-6, rtol=1e-6, case="float64, a level outside the image: boxes")
    assert_tensor(got[1], expected[1][0], atol=1e-9, case="float64, a level outside the image: scores")


# ---------------------------------------------------------------- roi_heads


@pytest.mark.task("roi_heads")
def test_fastrcnn_loss_rejects_no_rois_and_flat_logits(student):
    rejects(student.fastrcnn_loss,
            ("R = 0", (torch.zeros(0, 3), torch.zeros(0, 12), torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4))),
            ("class_logits [R]", (torch.zeros(3), torch.zeros(3, 4), torch.zeros(3, dtype=torch.int64),
                                  torch.zeros(3, 4))))


@pytest.mark.task("roi_heads")
def test_postprocess_detections_rejects_malformed_inputs(student):
    rejects(student.postprocess_detections,
            ("class_logits [R]", (torch.zeros(3), torch.zeros(3, 4), torch.zeros(3, 4), (10, 10))),
            ("proposals [R, 5]", (torch.zeros(3, 2), torch.zeros(3, 8), torch.zeros(3, 5), (10, 10))),
            ("one proposal too many", (torch.zeros(3, 2), torch.zeros(3, 8), torch.zeros(4, 4), (10, 10))))


@pytest.mark.task("roi_heads")
def test_fastrcnn_loss_with_float64_targets(student):
    gen = torch.Generator().manual_seed(10)
    labels = torch.randint(0, 4, (30,), generator=gen)
    logits = oracles.randn(30, 4, seed=11, scale=2.0)
    regression = oracles.randn(30, 16, seed=12)
    targets = oracles.randn(30, 4, seed=13, dtype=torch.float64, scale=0.5)
    expected = fastrcnn_loss(logits, regression, [labels], [targets.float()])
    got = student.fastrcnn_loss(logits, regression, labels, targets)
    for g, e, name in zip(got, expected, ("classifier", "box")):
        assert_tensor(g, e, atol=1e-6, rtol=1e-5, case=f"float64 targets, float32 outputs: {name} loss")


@pytest.mark.task("roi_heads")
def test_postprocess_detections_of_proposals_outside_the_image(student):
    # proposals beyond the right edge clip to zero width and are dropped (side < 0.01 px)
    inside = oracles.random_boxes(10, seed=14, width=40, height=40, max_side=20)
    outside = oracles.random_boxes(6, seed=15, width=40, height=40, max_side=10) + torch.tensor([50.0, 0, 50, 0])
    proposals = torch.cat([inside, outside])
    logits = oracles.distinct_logits(16, 3, seed=16)
    regression = oracles.randn(16, 12, seed=17, scale=0.1)
    heads = RoIHeads(None, None, None, 0.5, 0.5, 512, 0.25, None, 0.05, 0.5, 100)
    expected = [t[0] for t in heads.postprocess_detections(logits, regression, [proposals], [(40, 40)])]
    got = student.postprocess_detections(logits, regression, proposals, (40, 40))
    for g, e, name in zip(got, expected, ("boxes", "scores", "labels")):
        assert_tensor(g, e, atol=1e-4 if name == "boxes" else 1e-6 if name == "scores" else 0,
                      case=f"6 of 16 proposals outside the image: {name}")


@pytest.mark.task("roi_heads")
def test_postprocess_detections_when_nothing_passes_the_threshold(student):
    logits = torch.zeros(5, 3)
    logits[:, 0] = 10.0  # background wins everywhere: class scores ~ 4.5e-5
    got = student.postprocess_detections(logits, oracles.randn(5, 12, seed=18),
                                         oracles.random_boxes(5, seed=19, width=30, height=30), (30, 30))
    for g, e, name in zip(got, EMPTY_DETECTIONS, ("boxes", "scores", "labels")):
        assert_tensor(g, e, case=f"no score above 0.05: {name}")


# ---------------------------------------------------------------- retinanet


@pytest.mark.task("retinanet")
def test_retinanet_losses_reject_malformed_inputs(student):
    rejects(student.retinanet_classification_loss,
            ("cls_logits [A, K] without the batch", (torch.zeros(5, 3), torch.zeros(1, 5, dtype=torch.int64))),
            ("matched_labels [N, A + 1]", (torch.zeros(1, 5, 3), torch.zeros(1, 6, dtype=torch.int64))))
    rejects(student.retinanet_regression_loss,
            ("bbox_regression [N, A, 5]", (torch.zeros(1, 5, 5), torch.zeros(1, 5, 4),
                                           torch.zeros(1, 5, dtype=torch.int64))),
            ("regression_targets [N, A]", (torch.zeros(1, 5, 4), torch.zeros(1, 5),
                                           torch.zeros(1, 5, dtype=torch.int64))),
            ("float matched_labels", (torch.zeros(1, 5, 4), torch.zeros(1, 5, 4), torch.zeros(1, 5))))


@pytest.mark.task("retinanet")
def test_retinanet_postprocess_rejects_malformed_levels(student):
    logits, codes, anchors = torch.zeros(6, 2), torch.zeros(6, 4), oracles.random_boxes(6, seed=20, width=20,
                                                                                        height=20)
    rejects(lambda lg, c, a: student.retinanet_postprocess(lg, c, a, (20, 20)),
            ("2 levels of logits, 1 of codes", ([logits, logits], [codes], [anchors])),
            ("codes of 5 anchors for 6", ([logits], [codes[:5]], [anchors])),
            ("anchors [A, 5]", ([logits], [codes], [torch.zeros(6, 5)])))


@pytest.mark.task("retinanet")
def test_retinanet_losses_with_int32_labels_and_float64_targets(student):
    gen = torch.Generator().manual_seed(21)
    idx = torch.randint(-2, 3, (2, 40), generator=gen)  # -2 ignored, -1 background, else a ground truth
    gt_labels = [torch.tensor([0, 2, 1]), torch.tensor([3, 3, 0])]
    boxes = [oracles.random_boxes(3, seed=22 + i, width=64, height=64, min_side=6) for i in range(2)]
    anchors = [oracles.random_boxes(40, seed=24 + i, width=64, height=64, min_side=4) for i in range(2)]
    matched = torch.stack([torch.where(m >= 0, lb[m.clamp(min=0)], m) for m, lb in zip(idx, gt_labels)])
    logits = oracles.randn(2, 40, 4, seed=26, scale=2.0)
    codes = oracles.randn(2, 40, 4, seed=27)
    coder = det_utils.BoxCoder((1.0, 1.0, 1.0, 1.0))
    targets = torch.stack([coder.encode_single(b[m.clamp(min=0)], a) for b, m, a in zip(boxes, idx, anchors)])
    tv_targets = [{"boxes": b, "labels": lb} for b, lb in zip(boxes, gt_labels)]
    expected = RetinaNetHead(1, 1, 4).compute_loss(tv_targets, {"cls_logits": logits, "bbox_regression": codes},
                                                   anchors, list(idx))
    got_cls = student.retinanet_classification_loss(logits, matched.to(torch.int32))
    got_box = student.retinanet_regression_loss(codes, targets.double(), matched.to(torch.int32))
    assert_tensor(got_cls, expected["classification"], atol=1e-5, rtol=1e-5, case="int32 matched_labels: focal loss")
    assert_tensor(got_box, expected["bbox_regression"], atol=1e-5, rtol=1e-5,
                  case="int32 matched_labels, float64 targets, float32 codes: box loss")


def retinanet_detections(logits, codes, anchors, image_size):
    model = SimpleNamespace(score_thresh=0.05, nms_thresh=0.5, detections_per_img=300, topk_candidates=1000,
                            box_coder=det_utils.BoxCoder((1.0, 1.0, 1.0, 1.0)))
    head_outputs = {"cls_logits": [lg[None] for lg in logits], "bbox_regression": [c[None] for c in codes]}
    det = RetinaNet.postprocess_detections(model, head_outputs, [anchors], [image_size])[0]
    return det["boxes"], det["scores"], det["labels"]


@pytest.mark.task("retinanet")
def test_retinanet_postprocess_without_candidates(student):
    logits = [torch.full((12, 3), -8.0), torch.full((4, 3), -8.0)]  # every score ~ 3e-4, below 0.05
    codes = [oracles.randn(12, 4, seed=28), oracles.randn(4, 4, seed=29)]
    anchors = [oracles.random_boxes(12, seed=30, width=32, height=32), oracles.random_boxes(4, seed=31, width=32,
                                                                                            height=32)]
    got = student.retinanet_postprocess(logits, codes, anchors, (32, 32))
    for g, e, name in zip(got, EMPTY_DETECTIONS, ("boxes", "scores", "labels")):
        assert_tensor(g, e, case=f"no score above the threshold: {name}")


@pytest.mark.task("retinanet")
def test_retinanet_postprocess_of_anchors_outside_the_image(student):
    # anchors outside the image decode to boxes clipped onto its border: kept (RetinaNet drops
    # no small boxes), and their NMS with each other follows torchvision's
    inside = oracles.random_boxes(30, seed=32, width=48, height=48, min_side=4, max_side=30)
    outside = oracles.random_boxes(10, seed=33, width=48, height=48, min_side=4, max_side=12) + torch.tensor(
        [0.0, 60.0, 0.0, 60.0])
    logits = list(oracles.distinct_logits(40, 3, seed=34, low=-4, high=3).split([30, 10]))
    codes = list(oracles.randn(40, 4, seed=35, scale=0.2).split([30, 10]))
    anchors = [inside, outside]
    expected = retinanet_detections(logits, codes, anchors, (48, 48))
    got = student.retinanet_postprocess(logits, codes, anchors, (48, 48))
    for g, e, name in zip(got, expected, ("boxes", "scores", "labels")):
        assert_tensor(g, e, atol=1e-4 if name == "boxes" else 1e-6 if name == "scores" else 0,
                      case=f"a level of anchors below the image: {name}")
