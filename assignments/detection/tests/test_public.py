"""Public tests of the detection assignment: small hand-computed cases and torchvision oracles.

Run them with ``nox -s test -- detection``. Your package is reached only through the ``student``
fixture, exactly as in grading. Passing these tests does not guarantee full marks: the hidden
tests try more inputs (other dtypes, empty inputs, edge cases) against the same contract.
"""

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from harness.testkit import assert_tensor


def random_boxes(n, seed, dtype=torch.float32, low=0.0, high=50.0, max_size=20.0):
    """``n`` valid (x1, y1, x2, y2) boxes, sides in [1, max_size]."""
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * (high - low) + low
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * (max_size - 1) + 1
    return torch.cat([xy, xy + wh], dim=1).to(dtype)  # [n, 4]


# ---------------------------------------------------------------- iou


@pytest.mark.task("iou")
def test_iou_of_a_box_with_itself_is_one(student):
    # five boxes in separate cells of a grid: each overlaps only itself
    boxes = random_boxes(5, seed=0, high=10.0, max_size=10.0) + 20 * torch.arange(5.0)[:, None]
    got = student.box_iou(boxes, boxes)
    assert_tensor(got, torch.eye(5), atol=1e-6, case="5 separated boxes with themselves")


@pytest.mark.task("iou")
def test_iou_of_disjoint_boxes_is_zero(student):
    boxes1 = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    boxes2 = torch.tensor([[2.0, 2.0, 3.0, 3.0], [1.0, 0.0, 2.0, 1.0]])  # apart; touching an edge
    got = student.box_iou(boxes1, boxes2)
    assert_tensor(got, torch.zeros(1, 2), case="disjoint and edge-touching boxes")


@pytest.mark.task("iou")
def test_iou_hand_computed_2x2(student):
    boxes1 = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
    boxes2 = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 1.0]])
    # [1,1,3,3] vs [0,0,2,2]: intersection 1, union 4 + 4 - 1 = 7
    # [0,0,2,2] vs [1,0,3,1]: intersection 1, union 4 + 2 - 1 = 5
    expected = torch.tensor([[1.0, 1 / 5], [1 / 7, 0.0]])
    got = student.box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-6, case="hand-computed 2x2")


@pytest.mark.task("iou")
def test_iou_matches_torchvision(student):
    boxes1, boxes2 = random_boxes(7, seed=1), random_boxes(5, seed=2)
    expected = torchvision.ops.box_iou(boxes1, boxes2)
    got = student.box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-6, rtol=1e-5, case="7 x 5 random boxes")


@pytest.mark.task("iou")
def test_generalized_iou_matches_torchvision(student):
    boxes1, boxes2 = random_boxes(6, seed=3), random_boxes(4, seed=4)
    expected = torchvision.ops.generalized_box_iou(boxes1, boxes2)
    got = student.generalized_box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-6, rtol=1e-5, case="6 x 4 random boxes")


# ---------------------------------------------------------------- nms


@pytest.mark.task("nms")
def test_nms_three_hand_placed_boxes(student):
    boxes = torch.tensor(
        [
            [1.0, 1.0, 11.0, 11.0],  # overlaps box 2 with IoU 81/119 > 0.5
            [20.0, 20.0, 30.0, 30.0],  # far away
            [0.0, 0.0, 10.0, 10.0],  # best score
        ]
    )
    scores = torch.tensor([0.8, 0.7, 0.9])
    got = student.nms(boxes, scores, 0.5)
    assert_tensor(got, torch.tensor([2, 1]), case="3 hand-placed boxes, threshold 0.5")


@pytest.mark.task("nms")
def test_nms_suppresses_only_above_the_threshold(student):
    # intersection 2, union 4: IoU is exactly 0.5, which is not > 0.5
    boxes = torch.tensor([[0.0, 0.0, 3.0, 1.0], [1.0, 0.0, 4.0, 1.0]])
    scores = torch.tensor([0.9, 0.8])
    assert_tensor(student.nms(boxes, scores, 0.5), torch.tensor([0, 1]), case="IoU == threshold 0.5")
    assert_tensor(student.nms(boxes, scores, 0.4), torch.tensor([0]), case="IoU 0.5 > threshold 0.4")


@pytest.mark.task("nms")
def test_nms_of_no_boxes_is_empty(student):
    got = student.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert_tensor(got, torch.zeros(0, dtype=torch.int64), case="N = 0")


@pytest.mark.task("nms")
def test_nms_matches_torchvision(student):
    boxes = random_boxes(60, seed=5, high=40.0)
    scores = torch.randperm(60, generator=torch.Generator().manual_seed(6)).float() / 60  # distinct
    expected = torchvision.ops.nms(boxes, scores, 0.5)
    got = student.nms(boxes, scores, 0.5)
    assert_tensor(got, expected, case="60 random boxes, distinct scores, threshold 0.5")


@pytest.mark.task("nms")
def test_batched_nms_matches_torchvision(student):
    boxes = random_boxes(40, seed=7, high=30.0)
    scores = torch.randperm(40, generator=torch.Generator().manual_seed(8)).float() / 40
    idxs = torch.randint(0, 3, (40,), generator=torch.Generator().manual_seed(9))
    expected = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)
    got = student.batched_nms(boxes, scores, idxs, 0.5)
    assert_tensor(got, expected, case="40 random boxes in 3 categories, threshold 0.5")


# ---------------------------------------------------------------- coder


@pytest.mark.task("coder")
def test_encode_a_box_relative_to_itself_is_zero(student):
    boxes = random_boxes(4, seed=10)
    got = student.encode_boxes(boxes, boxes)
    assert_tensor(got, torch.zeros(4, 4), atol=1e-6, case="4 random boxes against themselves")


@pytest.mark.task("coder")
def test_encode_hand_computed(student):
    proposal = torch.tensor([[0.0, 0.0, 10.0, 10.0]])  # centre (5, 5), 10 x 10
    gt = torch.tensor([[5.0, 0.0, 15.0, 20.0]])  # centre (10, 10), 10 x 20
    expected = torch.tensor([[0.5, 0.5, 0.0, math.log(2.0)]])
    got = student.encode_boxes(gt, proposal)
    assert_tensor(got, expected, atol=1e-6, case="hand-computed, weights (1, 1, 1, 1)")


@pytest.mark.task("coder")
def test_encode_decode_round_trip(student):
    gt, proposals = random_boxes(8, seed=11), random_boxes(8, seed=12)
    codes = student.encode_boxes(gt, proposals, (10.0, 10.0, 5.0, 5.0))
    got = student.decode_boxes(codes, proposals, (10.0, 10.0, 5.0, 5.0))
    assert_tensor(got, gt, atol=1e-4, case="decode(encode(gt, p), p), weights (10, 10, 5, 5)")


@pytest.mark.task("coder")
def test_coder_matches_torchvision(student):
    gt, proposals = random_boxes(8, seed=13), random_boxes(8, seed=14)
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    codes = torch.randn(8, 4, generator=torch.Generator().manual_seed(15))
    assert_tensor(
        student.encode_boxes(gt, proposals, (10.0, 10.0, 5.0, 5.0)),
        coder.encode_single(gt, proposals),
        atol=1e-5,
        rtol=1e-5,
        case="encode, 8 random pairs, weights (10, 10, 5, 5)",
    )
    assert_tensor(
        student.decode_boxes(codes, proposals, (10.0, 10.0, 5.0, 5.0)),
        coder.decode_single(codes, proposals),
        atol=1e-4,
        rtol=1e-5,
        case="decode, 8 random codes, weights (10, 10, 5, 5)",
    )


# ---------------------------------------------------------------- anchors


@pytest.mark.task("anchors")
def test_anchor_count_and_centres(student):
    height, width, stride_h, stride_w = 2, 3, 8, 16
    # size 32, aspect ratios (h / w) 0.5, 1, 2; half sides rounded: 32 * sqrt(2) / 2 = 22.6 -> 23
    base = [[-23.0, -11.0, 23.0, 11.0], [-16.0, -16.0, 16.0, 16.0], [-11.0, -23.0, 11.0, 23.0]]
    expected = torch.tensor(
        [
            [j * stride_w + x1, i * stride_h + y1, j * stride_w + x2, i * stride_h + y2]
            for i in range(height)  # rows (y) first
            for j in range(width)
            for x1, y1, x2, y2 in base
        ]
    )  # [H * W * A, 4], centred on (j * stride_w, i * stride_h)
    got = student.generate_anchors((height, width), (stride_h, stride_w), (32.0,), (0.5, 1.0, 2.0))
    assert_tensor(got, expected, case="feature 2 x 3, stride (8, 16), size 32, ratios (0.5, 1, 2)")


@pytest.mark.task("anchors")
def test_aspect_ratio_is_height_over_width(student):
    # size 32, ratio 2: h = 32 * sqrt(2) = 45.25, w = 32 / sqrt(2) = 22.63, halves rounded
    got = student.generate_anchors((1, 1), (16, 16), (32.0,), (2.0,))
    assert_tensor(got, torch.tensor([[-11.0, -23.0, 11.0, 23.0]]), case="size 32, aspect ratio 2")


@pytest.mark.task("anchors")
def test_anchors_match_torchvision(student):
    sizes, ratios = (32.0, 64.0), (0.5, 1.0, 2.0)
    features = torch.zeros(1, 1, 4, 5)
    images = ImageList(torch.zeros(1, 3, 64, 80), [(64, 80)])
    expected = AnchorGenerator((sizes,), (ratios,))(images, [features])[0]
    got = student.generate_anchors((4, 5), (16, 16), sizes, ratios)
    assert_tensor(got, expected, case="feature 4 x 5, stride 16, 2 sizes, 3 ratios")


# ---------------------------------------------------------------- matching


@pytest.mark.task("matching")
def test_assign_anchor_targets_hand_case(student):
    anchors = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],  # IoU 1 with gt 0: matched
            [0.0, 0.0, 10.0, 20.0],  # IoU 0.5 with gt 0: between the thresholds, ignored
            [0.0, 0.0, 10.0, 40.0],  # IoU 0.25 with gt 0: background
            [100.0, 100.0, 110.0, 130.0],  # IoU 1/3 with gt 1, its best anchor
        ]
    )
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [100.0, 100.0, 110.0, 110.0]])
    got = student.assign_anchor_targets(anchors, gt, 0.7, 0.3, True)
    assert_tensor(got, torch.tensor([0, -2, -1, 1]), case="4 anchors, 2 gt, low-quality matches on")
    got = student.assign_anchor_targets(anchors, gt, 0.7, 0.3, False)
    assert_tensor(got, torch.tensor([0, -2, -1, -2]), case="4 anchors, 2 gt, low-quality matches off")


@pytest.mark.task("matching")
def test_anchor_labels(student):
    got = student.anchor_labels(torch.tensor([3, -1, 0, -2, -1]))
    assert_tensor(got, torch.tensor([1.0, 0.0, 1.0, -1.0, 0.0]), case="matched idxs [3, -1, 0, -2, -1]")


@pytest.mark.task("matching")
def test_sample_balanced_counts(student):
    labels = torch.cat([torch.ones(10), torch.zeros(50), -torch.ones(5)])
    pos, neg = student.sample_balanced(labels, 16, 0.25, seed=0)
    for name, mask in (("pos_mask", pos), ("neg_mask", neg)):
        assert type(mask) is torch.Tensor and mask.dtype == torch.bool and mask.shape == (65,), (
            f"{name} must be a bool Tensor[65], got {mask!r:.60}"
        )
    assert_tensor(pos.sum(), torch.tensor(4), case="positives: min(10, int(16 * 0.25))")
    assert_tensor(neg.sum(), torch.tensor(12), case="negatives: min(50, 16 - 4)")
    assert_tensor(pos & (labels != 1), torch.zeros(65, dtype=torch.bool), case="positives have label 1")
    assert_tensor(neg & (labels != 0), torch.zeros(65, dtype=torch.bool), case="negatives have label 0")


# ---------------------------------------------------------------- roi_pool


@pytest.mark.task("roi_pool")
def test_roi_pool_of_the_whole_map_is_the_maximum(student):
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    got = student.roi_pool(x, torch.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]]), 1)
    assert_tensor(got, torch.tensor([[[[15.0]]]]), case="roi (0, 0, 3, 3) on a 4 x 4 map, 1 x 1 output")


@pytest.mark.task("roi_pool")
def test_roi_pool_matches_torchvision(student):
    x = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(16))
    rois = torch.tensor([[0, 1.2, 0.7, 9.1, 8.3], [1, 3.3, 2.1, 11.6, 6.4], [0, 0.0, 0.0, 4.2, 11.8]])
    expected = torchvision.ops.roi_pool(x, rois, (3, 3), 1.0)
    got = student.roi_pool(x, rois, (3, 3), 1.0)
    assert_tensor(got, expected, case="3 rois on [2, 3, 12, 12], output 3 x 3")


# ---------------------------------------------------------------- roi_align


@pytest.mark.task("roi_align")
def test_roi_align_of_a_constant_map_is_constant(student):
    x = torch.full((1, 2, 8, 8), 3.0)
    got = student.roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 6.0, 6.0]]), 2, 1.0, 2, True)
    assert_tensor(got, torch.full((1, 2, 2, 2), 3.0), atol=1e-6, case="constant 3 map")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_matches_torchvision(student, aligned):
    x = torch.randn(2, 3, 10, 12, generator=torch.Generator().manual_seed(17))
    rois = torch.tensor([[0, 1.2, 0.7, 9.1, 8.3], [1, 3.3, 2.1, 11.6, 6.4], [1, 0.5, 0.5, 2.0, 3.0]])
    expected = torchvision.ops.roi_align(x, rois, 3, 1.0, 2, aligned)
    got = student.roi_align(x, rois, 3, 1.0, 2, aligned)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case=f"3 rois, output 3, aligned={aligned}")


@pytest.mark.task("roi_align")
def test_roi_align_module(student):
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(18))
    rois = torch.tensor([[0, 1.5, 1.0, 6.5, 7.0]])
    expected = torchvision.ops.roi_align(x, rois, 2, 0.5, 2, True)
    got = student.RoIAlign(2, 0.5, 2, True)(x, rois)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case="RoIAlign(2, 0.5, 2, True)")


# ---------------------------------------------------------------- focal_loss


@pytest.mark.task("focal_loss")
def test_focal_loss_without_focusing_is_bce(student):
    gen = torch.Generator().manual_seed(19)
    logits = torch.randn(6, 3, generator=gen) * 3
    targets = (torch.rand(6, 3, generator=gen) > 0.5).float()
    expected = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    got = student.sigmoid_focal_loss(logits, targets, alpha=-1.0, gamma=0.0)
    assert_tensor(got, expected, atol=1e-6, rtol=1e-5, case="gamma 0, alpha -1")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_loss_matches_torchvision(student, reduction):
    gen = torch.Generator().manual_seed(20)
    logits = torch.randn(5, 4, generator=gen) * 3
    targets = (torch.rand(5, 4, generator=gen) > 0.7).float()
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, reduction)
    got = student.sigmoid_focal_loss(logits, targets, 0.25, 2.0, reduction)
    assert_tensor(got, expected, atol=1e-6, rtol=1e-5, case=f"alpha 0.25, gamma 2, {reduction}")


# ---------------------------------------------------------------- ap


@pytest.mark.task("ap")
def test_precision_recall_hand_computed(student):
    scores = torch.tensor([0.7, 0.9, 0.6, 0.8])  # ranked: 0.9 TP, 0.8 FP, 0.7 TP, 0.6 FP
    is_tp = torch.tensor([True, True, False, False])
    precision, recall = student.precision_recall_curve(scores, is_tp, 3)
    expected_p = torch.tensor([1.0, 1 / 2, 2 / 3, 2 / 4], dtype=torch.float64)
    expected_r = torch.tensor([1 / 3, 1 / 3, 2 / 3, 2 / 3], dtype=torch.float64)
    assert_tensor(precision, expected_p, atol=1e-12, case="precision, 4 detections, 3 gt")
    assert_tensor(recall, expected_r, atol=1e-12, case="recall, 4 detections, 3 gt")


@pytest.mark.task("ap")
@pytest.mark.parametrize("method", ["voc", "voc07", "coco"])
def test_ap_of_a_perfect_detector_is_one(student, method):
    gt = random_boxes(5, seed=21, high=200.0)
    scores = torch.tensor([0.5, 0.9, 0.3, 0.7, 0.8])
    is_tp = student.match_detections(gt, scores, gt, 0.5)
    assert_tensor(is_tp, torch.ones(5, dtype=torch.bool), case="detections equal to the gt")
    precision, recall = student.precision_recall_curve(scores, is_tp, 5)
    got = student.average_precision(precision, recall, method)
    assert type(got) is float, f"average_precision must return a float, got {type(got).__name__}"
    assert abs(got - 1.0) < 1e-9, f"[perfect detector, method {method!r}] expected AP 1.0, got {got!r}"


@pytest.mark.task("ap")
def test_coco_evaluate_of_a_perfect_detector_is_one(student):
    targets = [
        {"boxes": random_boxes(3, seed=22, high=100.0), "labels": torch.tensor([1, 2, 1])},
        {"boxes": random_boxes(2, seed=23, high=100.0), "labels": torch.tensor([2, 2])},
    ]
    predictions = [
        {
            "boxes": t["boxes"].clone(),
            "scores": torch.linspace(0.9, 0.5, len(t["labels"])),
            "labels": t["labels"],
        }
        for t in targets
    ]
    got = student.coco_evaluate(predictions, targets)
    assert type(got) is dict, f"coco_evaluate must return a dict, got {type(got).__name__}"
    for key in ("AP", "AP50", "AP75"):
        value = got.get(key)
        assert type(value) is float, f"coco_evaluate()[{key!r}] must be a float, got {value!r:.40}"
        assert abs(value - 1.0) < 1e-9, f"[perfect detector] expected {key} 1.0, got {value!r}"
