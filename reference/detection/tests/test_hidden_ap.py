"""Hidden tests of match_detections, precision_recall_curve, average_precision and
coco_evaluate [ap].

Oracles: pycocotools COCOeval on cv3data scenes (COCO ground truth built from the generator's
COCO dict), small numpy re-statements of the VOC / VOC07 / COCO interpolations written for these
tests, hand-computed cases, and the reference for random matching cases.
"""

import contextlib
import copy
import io
import math
import re

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from cv3data import make_scenes, to_coco
from harness.testkit import assert_tensor

# ---------------------------------------------------------------- oracles


def oracle_precision_recall(scores, is_tp, num_gt):
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    tp = np.cumsum(np.asarray(is_tp, dtype=np.float64)[order])
    return tp / np.arange(1, len(order) + 1), tp / num_gt


def oracle_average_precision(precision, recall, method):
    precision, recall = np.asarray(precision, dtype=np.float64), np.asarray(recall, dtype=np.float64)
    if precision.size == 0:
        return 0.0
    if method == "voc07":  # 11-point: max precision at recall >= t
        return float(np.mean([precision[recall >= t].max(initial=0.0) for t in np.linspace(0, 1, 11)]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    if method == "coco":  # as COCOeval.accumulate
        index = np.searchsorted(recall, np.linspace(0.0, 1.0, 101), side="left")
        return float(np.mean([envelope[i] if i < len(envelope) else 0.0 for i in index]))
    # "voc": area under the envelope, recall steps from 0
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


def xyxy_to_xywh(box):
    x1, y1, x2, y2 = box
    return [x1, y1, x2 - x1, y2 - y1]


def cocoeval_stats(coco_gt_dict, predictions):
    """COCOeval bbox stats[0:3] for ``predictions[i]`` on image id ``i + 1``."""
    results = [
        {"image_id": i + 1, "category_id": int(label), "bbox": xyxy_to_xywh(box), "score": float(score)}
        for i, p in enumerate(predictions)
        for box, score, label in zip(
            p["boxes"].tolist(), p["scores"].tolist(), p["labels"].tolist(), strict=True
        )
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(coco_gt_dict)  # COCOeval writes into the annotations
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {
        "AP": float(evaluator.stats[0]),
        "AP50": float(evaluator.stats[1]),
        "AP75": float(evaluator.stats[2]),
    }


def assert_float(got, expected, *, atol, case):
    if type(got) is not float:
        raise AssertionError(f"[{case}] expected a float, got {type(got).__name__} {got!r:.60}")
    if not abs(got - expected) <= atol:
        raise AssertionError(f"[{case}] expected {expected!r}, got {got!r} (atol={atol})")


def assert_coco_stats(got, expected, case):
    if type(got) is not dict:
        raise AssertionError(f"[{case}] coco_evaluate must return a dict, got {type(got).__name__}")
    for key in ("AP", "AP50", "AP75"):
        assert_float(got.get(key), expected[key], atol=1e-6, case=f"{case}: {key}")


def as_bool(values):
    return torch.tensor(values, dtype=torch.bool)


# ================================================================ match_detections


@pytest.mark.task("ap")
def test_match_detections_is_greedy_by_score(student):
    gt = torch.tensor([[0.0, 0.0, 10.0, 1.0], [4.0, 0.0, 14.0, 1.0]])
    det = torch.tensor(
        [
            [4.0, 0.0, 14.0, 1.0],  # score 0.8: IoU 1 with gt 1 (taken), 6/14 with gt 0
            [3.0, 0.0, 13.0, 1.0],  # score 0.9: IoU 9/11 with gt 1, 7/13 with gt 0
        ]
    )
    got = student.match_detections(det, torch.tensor([0.8, 0.9]), gt, 0.5)
    assert_tensor(got, as_bool([False, True]), case="best detection takes its highest-IoU gt")


@pytest.mark.task("ap")
@pytest.mark.parametrize("threshold, det_box", [(0.5, [0.0, 0.0, 2.0, 1.0]), (0.75, [0.0, 0.0, 3.0, 1.0])])
def test_match_detections_at_the_threshold(student, threshold, det_box):
    gt = torch.tensor([[0.0, 0.0, 4.0, 1.0], [40.0, 0.0, 44.0, 1.0]])
    det = torch.tensor([det_box, [40.0, 0.0, 43.0, 0.5]])  # IoU == threshold; IoU 3/8
    got = student.match_detections(det, torch.tensor([0.9, 0.8]), gt, threshold)
    assert_tensor(got, as_bool([True, False]), case=f"IoU exactly {threshold}, threshold {threshold}")


@pytest.mark.task("ap")
def test_match_detections_duplicates_are_false_positives(student):
    gt = torch.tensor([[10.0, 10.0, 20.0, 30.0]])
    det = torch.tensor([[10.0, 10.0, 20.0, 30.0], [10.0, 11.0, 20.0, 30.0], [10.0, 10.0, 20.0, 29.0]])
    got = student.match_detections(det, torch.tensor([0.3, 0.5, 0.4]), gt, 0.5)
    assert_tensor(got, as_bool([False, True, False]), case="3 detections of 1 gt")


@pytest.mark.task("ap")
def test_match_detections_ties_in_score_are_stable(student):
    gt = torch.tensor([[0.0, 0.0, 5.0, 5.0]])
    det = torch.tensor([[0.0, 0.0, 5.0, 4.0], [0.0, 0.0, 5.0, 5.0], [0.0, 0.0, 4.0, 5.0]])
    got = student.match_detections(det, torch.tensor([0.7, 0.7, 0.7]), gt, 0.5)
    assert_tensor(got, as_bool([True, False, False]), case="equal scores: the first detection wins")


@pytest.mark.task("ap")
@pytest.mark.parametrize("num_det, num_gt", [(3, 0), (0, 2)])
def test_match_detections_empty(student, num_det, num_gt):
    det = torch.tensor([[0.0, 0.0, 2.0, 2.0]]).repeat(num_det, 1)
    gt = torch.tensor([[0.0, 0.0, 2.0, 2.0]]).repeat(num_gt, 1)
    got = student.match_detections(det, torch.linspace(0.9, 0.1, num_det), gt, 0.5)
    assert_tensor(got, torch.zeros(num_det, dtype=torch.bool), case=f"D={num_det}, G={num_gt}")


@pytest.mark.task("ap")
@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_match_detections_matches_the_reference(student, reference, threshold):
    gen = torch.Generator().manual_seed(1)
    gt = torch.rand(12, 2, generator=gen) * 80
    gt = torch.cat([gt, gt + torch.rand(12, 2, generator=gen) * 20 + 5], dim=1)
    det = gt[torch.randint(0, 12, (30,), generator=gen)] + torch.randn(30, 4, generator=gen) * 2.5
    det[:, 2:] = torch.maximum(det[:, 2:], det[:, :2] + 1)
    scores = torch.rand(30, generator=gen)
    expected = reference.match_detections(det, scores, gt, threshold)
    got = student.match_detections(det, scores, gt, threshold)
    assert_tensor(got, expected, case=f"30 jittered detections of 12 gt, threshold {threshold}")


# ================================================================ precision_recall_curve


@pytest.mark.task("ap")
def test_precision_recall_with_tied_scores(student):
    scores = torch.tensor([0.5, 0.5, 0.9])  # stable order: 0.9 (TP), then index 0 (FP), index 1 (TP)
    is_tp = as_bool([False, True, True])
    precision, recall = student.precision_recall_curve(scores, is_tp, 4)
    expected_p = torch.tensor([1.0, 1 / 2, 2 / 3], dtype=torch.float64)
    expected_r = torch.tensor([1 / 4, 1 / 4, 2 / 4], dtype=torch.float64)
    assert_tensor(precision, expected_p, atol=1e-12, case="precision, tied scores")
    assert_tensor(recall, expected_r, atol=1e-12, case="recall, tied scores")


@pytest.mark.task("ap")
def test_precision_recall_matches_oracle(student):
    gen = torch.Generator().manual_seed(2)
    scores = torch.rand(40, generator=gen)
    is_tp = torch.rand(40, generator=gen) < 0.4
    expected_p, expected_r = oracle_precision_recall(scores.numpy(), is_tp.numpy(), 25)
    precision, recall = student.precision_recall_curve(scores, is_tp, 25)
    assert_tensor(precision, torch.from_numpy(expected_p), atol=1e-12, case="precision, 40 random detections")
    assert_tensor(recall, torch.from_numpy(expected_r), atol=1e-12, case="recall, 40 random detections")


@pytest.mark.task("ap")
def test_precision_recall_empty(student):
    precision, recall = student.precision_recall_curve(torch.zeros(0), torch.zeros(0, dtype=torch.bool), 3)
    assert_tensor(precision, torch.zeros(0, dtype=torch.float64), case="precision, D=0")
    assert_tensor(recall, torch.zeros(0, dtype=torch.float64), case="recall, D=0")


@pytest.mark.task("ap")
@pytest.mark.parametrize("num_gt", [0, -2])
def test_precision_recall_rejects_no_ground_truth(student, num_gt):
    with pytest.raises(ValueError, match="num_gt"):
        student.precision_recall_curve(torch.tensor([0.5]), as_bool([True]), num_gt)


# ================================================================ average_precision


@pytest.mark.task("ap")
@pytest.mark.parametrize("method, expected", [("voc", 5 / 9), ("voc07", 6 / 11), ("coco", 56 / 101)])
def test_average_precision_hand_computed(student, method, expected):
    # ranked TP, FP, TP, FP with 3 gt: precision 1, 1/2, 2/3, 1/2 at recall 1/3, 1/3, 2/3, 2/3;
    # envelope 1, 2/3, 2/3, 1/2. voc: 1/3 * 1 + 1/3 * 2/3; voc07: 4 points at 1, 3 at 2/3, 4 at 0;
    # coco: 34 thresholds <= 1/3 at 1, 33 in (1/3, 2/3] at 2/3, 34 above at 0
    precision = torch.tensor([1.0, 1 / 2, 2 / 3, 1 / 2], dtype=torch.float64)
    recall = torch.tensor([1 / 3, 1 / 3, 2 / 3, 2 / 3], dtype=torch.float64)
    got = student.average_precision(precision, recall, method)
    assert_float(got, expected, atol=1e-12, case=f"4 ranked detections, method {method!r}")


@pytest.mark.task("ap")
@pytest.mark.parametrize("method", ["voc", "voc07", "coco"])
def test_average_precision_matches_oracle(student, method):
    gen = torch.Generator().manual_seed(3)
    is_tp = torch.rand(50, generator=gen) < 0.5
    # 29 gt: no recall value equals a sampled recall level other than 0 and 1, so the test does
    # not depend on how 0.1 * k or linspace(0, 1, 101) round in binary
    precision, recall = oracle_precision_recall(torch.rand(50, generator=gen).numpy(), is_tp.numpy(), 29)
    expected = oracle_average_precision(precision, recall, method)
    got = student.average_precision(torch.from_numpy(precision), torch.from_numpy(recall), method)
    assert_float(got, expected, atol=1e-12, case=f"50 random detections, 29 gt, method {method!r}")


@pytest.mark.task("ap")
@pytest.mark.parametrize("method", ["voc", "voc07", "coco"])
def test_average_precision_of_nothing_is_zero(student, method):
    empty = torch.zeros(0, dtype=torch.float64)
    assert_float(student.average_precision(empty, empty, method), 0.0, atol=0.0, case=f"D=0, {method!r}")


@pytest.mark.task("ap")
def test_average_precision_rejects_unknown_method(student):
    with pytest.raises(ValueError, match="voc2012"):
        student.average_precision(
            torch.ones(2, dtype=torch.float64), torch.tensor([0.5, 1.0], dtype=torch.float64), "voc2012"
        )


# ================================================================ coco_evaluate


CATEGORY_NAMES = ["rectangle", "ellipse", "triangle", "unused"]  # category 4 has no ground truth


@pytest.fixture(scope="module")
def scenes():
    # seed 7: 13, 9 and 11 boxes of categories 1, 2, 3. Counts coprime to 10 keep every recall
    # value off the 101 sampled recall levels (except 0 and 1), so an implementation is not
    # graded on how it rounds linspace(0, 1, 101) in binary
    scenes = make_scenes(8, seed=7, image_size=(96, 96), num_classes=3, max_objects=6)
    counts = torch.bincount(torch.cat([s["labels"] for s in scenes]), minlength=4)[1:].tolist()
    assert all(math.gcd(n, 10) == 1 for n in counts), f"test setup: category counts {counts}"
    return scenes


@pytest.fixture(scope="module")
def coco_gt(scenes):
    return to_coco(scenes, category_names=CATEGORY_NAMES)


def targets_of(scenes):
    return [{"boxes": s["boxes"].clone(), "labels": s["labels"].clone()} for s in scenes]


def noisy_predictions(scenes, seed):
    """Jittered detections of ~85% of the objects, duplicates, false positives (some in category
    4, which has no ground truth) and scores rounded to 0.05, so that ties cross images."""
    gen = torch.Generator().manual_seed(seed)
    predictions = []
    for s in scenes:
        gt, labels = s["boxes"], s["labels"]
        keep = torch.rand(len(gt), generator=gen) < 0.85
        size = (gt[:, 2:] - gt[:, :2]).repeat(1, 2)
        jitter = torch.randn(len(gt), 4, generator=gen) * size * 0.08
        boxes, lab = [(gt + jitter)[keep]], [labels[keep]]
        dup = torch.rand(len(gt), generator=gen) < 0.2  # duplicates: false positives
        boxes.append((gt + torch.randn(len(gt), 4, generator=gen) * size * 0.05)[dup])
        lab.append(labels[dup])
        n_fp = int(torch.randint(0, 4, (), generator=gen))
        xy = torch.rand(n_fp, 2, generator=gen) * 70
        boxes.append(torch.cat([xy, xy + torch.rand(n_fp, 2, generator=gen) * 20 + 4], dim=1))
        lab.append(torch.randint(1, 5, (n_fp,), generator=gen))
        boxes, lab = torch.cat(boxes), torch.cat(lab)
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        scores = (torch.rand(len(boxes), generator=gen) * 20).round() / 20 + 0.01
        predictions.append({"boxes": boxes, "scores": scores, "labels": lab})
    return predictions


@pytest.mark.task("ap")
@pytest.mark.parametrize("seed", [1, 2])
def test_coco_evaluate_matches_cocoeval(student, scenes, coco_gt, seed):
    predictions = noisy_predictions(scenes, seed)
    expected = cocoeval_stats(coco_gt, predictions)
    got = student.coco_evaluate(predictions, targets_of(scenes))
    assert_coco_stats(got, expected, case=f"8 scenes, noisy detections (seed {seed}), tied scores")


@pytest.mark.task("ap")
def test_coco_evaluate_keeps_100_detections_per_image_and_category(student, scenes, coco_gt):
    # 100 confident false positives per image in category 1; the true detections score lowest
    predictions = []
    for i, s in enumerate(scenes):
        xy = torch.rand(100, 2, generator=torch.Generator().manual_seed(100 + i)) * 3 + 90  # a corner
        fp = torch.cat([xy, xy + 2], dim=1)
        boxes = torch.cat([fp, s["boxes"]])
        scores = torch.cat([torch.linspace(0.99, 0.5, 100), torch.full((len(s["boxes"]),), 0.1)])
        labels = torch.cat([torch.ones(100, dtype=torch.int64), s["labels"]])
        predictions.append({"boxes": boxes, "scores": scores, "labels": labels})
    expected = cocoeval_stats(coco_gt, predictions)
    got = student.coco_evaluate(predictions, targets_of(scenes))
    assert_coco_stats(got, expected, case="100 false positives of category 1 outscore the true ones")


@pytest.mark.task("ap")
def test_coco_evaluate_iou_at_the_thresholds(student):
    targets = [
        {
            "boxes": torch.tensor([[0.0, 0.0, 40.0, 10.0], [50.0, 50.0, 90.0, 60.0]]),
            "labels": torch.tensor([1, 1]),
        },
        {"boxes": torch.tensor([[10.0, 10.0, 30.0, 50.0]]), "labels": torch.tensor([2])},
    ]
    predictions = [
        # IoU exactly 0.5 and 0.75 with the two ground-truth boxes of image 0
        {
            "boxes": torch.tensor([[0.0, 0.0, 20.0, 10.0], [50.0, 50.0, 80.0, 60.0]]),
            "scores": torch.tensor([0.9, 0.6]),
            "labels": torch.tensor([1, 1]),
        },
        # category 2 found exactly; a category-1 false positive in an image without category 1
        {
            "boxes": torch.tensor([[10.0, 10.0, 30.0, 50.0], [0.0, 0.0, 5.0, 5.0]]),
            "scores": torch.tensor([0.8, 0.7]),
            "labels": torch.tensor([2, 1]),
        },
    ]
    annotations = []
    for i, t in enumerate(targets):
        for box, label in zip(t["boxes"].tolist(), t["labels"].tolist(), strict=True):
            x, y, w, h = xyxy_to_xywh(box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": label,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    coco_gt = {
        "images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": annotations,
    }
    expected = cocoeval_stats(coco_gt, predictions)
    got = student.coco_evaluate(predictions, targets)
    assert_coco_stats(got, expected, case="IoU exactly 0.5 and 0.75")


@pytest.mark.task("ap")
def test_coco_evaluate_counts_a_missed_category(student, scenes, coco_gt):
    # perfect detections of categories 1 and 2, nothing for category 3; no detections at all in image 0
    predictions = []
    for i, s in enumerate(scenes):
        keep = (s["labels"] != 3) & (i != 0)
        n = int(keep.sum())
        predictions.append(
            {"boxes": s["boxes"][keep], "scores": torch.linspace(0.9, 0.2, n), "labels": s["labels"][keep]}
        )
    expected = cocoeval_stats(coco_gt, predictions)
    got = student.coco_evaluate(predictions, targets_of(scenes))
    assert_coco_stats(got, expected, case="category 3 never detected, image 0 without detections")


# ================================================================ coco_evaluate: conventions


def coco_dict(targets):
    """COCO ground truth of ``targets`` (image i has id i + 1; ``iscrowd`` kept)."""
    annotations = []
    for i, t in enumerate(targets):
        crowd = t.get("iscrowd", torch.zeros(len(t["labels"]), dtype=torch.bool)).tolist()
        for box, label, is_crowd in zip(t["boxes"].tolist(), t["labels"].tolist(), crowd, strict=True):
            x, y, w, h = xyxy_to_xywh(box)
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": label,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": int(is_crowd)})
    labels = sorted({a["category_id"] for a in annotations} | {1})
    return {
        "images": [{"id": i + 1, "width": 400, "height": 400} for i in range(len(targets))],
        "categories": [{"id": c, "name": str(c)} for c in labels],
        "annotations": annotations,
    }


def one_category(det_boxes, det_scores, gt_boxes):
    predictions = [{"boxes": torch.tensor(det_boxes), "scores": torch.tensor(det_scores),
                    "labels": torch.ones(len(det_boxes), dtype=torch.int64)}]
    targets = [{"boxes": torch.tensor(gt_boxes), "labels": torch.ones(len(gt_boxes), dtype=torch.int64)}]
    return predictions, targets


@pytest.mark.task("ap")
def test_coco_evaluate_equal_iou_takes_the_later_ground_truth(student):
    # the first detection has IoU 2/3 with both boxes: taking the later one leaves the first
    # (IoU 0.9) to the second detection, so both are true positives at t <= 0.65
    predictions, targets = one_category([[2.0, 0.0, 12.0, 10.0], [0.0, 0.0, 9.0, 10.0]], [0.9, 0.8],
                                        [[0.0, 0.0, 10.0, 10.0], [4.0, 0.0, 14.0, 10.0]])
    expected = cocoeval_stats(coco_dict(targets), predictions)
    assert expected["AP50"] == pytest.approx(1.0), "test setup: pycocotools takes the later box"
    got = student.coco_evaluate(predictions, targets)
    assert_coco_stats(got, expected, case="equal IoU with two ground-truth boxes: the later one is taken")


@pytest.mark.task("ap")
@pytest.mark.parametrize("width, iou", [(17.0, "0.85"), (18.0, "0.9")])
def test_coco_evaluate_iou_exactly_085_and_09(student, width, iou):
    # float64 IoU 170/200 == 0.85 meets numpy.linspace(.5, .95, 10)[7] == 0.85; 180/200 == 0.9
    # meets [8] == 0.8999999999999999 (a float32 IoU 0.9 would not)
    predictions, targets = one_category([[0.0, 0.0, width, 10.0]], [0.9], [[0.0, 0.0, 20.0, 10.0]])
    expected = cocoeval_stats(coco_dict(targets), predictions)
    got = student.coco_evaluate(predictions, targets)
    assert_coco_stats(got, expected, case=f"IoU exactly {iou} in float64, thresholds numpy.linspace(0.5, 0.95, 10)")


# ================================================================ coco_evaluate: crowd regions


def crowd_targets(scenes):
    """The scenes' targets with the first two boxes of every category marked as crowd regions:
    13, 9 and 11 boxes become 11, 7 and 9 objects (still coprime to 10)."""
    targets, seen = [], {}
    for s in scenes:
        crowd = []
        for label in s["labels"].tolist():
            seen[label] = seen.get(label, 0) + 1
            crowd.append(seen[label] <= 2)
        targets.append({"boxes": s["boxes"].clone(), "labels": s["labels"].clone(), "iscrowd": torch.tensor(crowd)})
    return targets


def inside_crowd(targets, seed):
    """Two detections inside every crowd region (random sizes, so some cover less than t)."""
    gen = torch.Generator().manual_seed(seed)
    extra = []
    for t in targets:
        boxes = t["boxes"][t["iscrowd"]].repeat_interleave(2, dim=0)
        size = boxes[:, 2:] - boxes[:, :2]
        wh = size * (torch.rand(len(boxes), 2, generator=gen) * 0.6 + 0.3)
        xy = boxes[:, :2] + (size - wh) * torch.rand(len(boxes), 2, generator=gen) * 1.6 - size * 0.2
        extra.append({"boxes": torch.cat([xy, xy + wh], dim=1), "scores": torch.rand(len(boxes), generator=gen),
                      "labels": t["labels"][t["iscrowd"]].repeat_interleave(2)})
    return extra


@pytest.mark.task("ap")
@pytest.mark.parametrize("seed", [1, 2])
def test_coco_evaluate_ignores_detections_of_crowd_regions(student, scenes, seed):
    targets = crowd_targets(scenes)
    predictions = []
    for p, e in zip(noisy_predictions(scenes, seed), inside_crowd(targets, seed), strict=True):
        predictions.append({k: torch.cat([p[k], e[k]]) for k in ("boxes", "scores", "labels")})
    expected = cocoeval_stats(coco_dict(targets), predictions)
    plain = [{k: t[k] for k in ("boxes", "labels")} for t in targets]
    assert expected != cocoeval_stats(coco_dict(plain), predictions), "test setup: crowd regions matter"
    got = student.coco_evaluate(predictions, targets)
    assert_coco_stats(got, expected, case=f"8 scenes, 6 crowd regions with detections inside (seed {seed})")


@pytest.mark.task("ap")
def test_coco_evaluate_crowd_overlap_of_sub_pixel_detections(student):
    # detections smaller than a pixel around a crowd region: their coverage is the exact
    # intersection over their own area (no intersection is rounded up to a pixel)
    targets = [{"boxes": torch.tensor([[0.0, 0.0, 20.0, 20.0], [100.0, 100.0, 200.0, 200.0]]),
                "labels": torch.tensor([1, 1]), "iscrowd": torch.tensor([False, True])}]
    tiny = [[99.2, 150.0, 99.9, 150.8],  # left of the region: no overlap
            [200.1, 120.0, 201.0, 121.0],  # right of it
            [99.5, 99.5, 100.3, 100.4],  # corner: covers 0.12 / 0.72 of itself
            [199.8, 150.0, 200.4, 150.5],  # covers 1/3 of itself
            [199.5, 160.0, 200.2, 160.5],  # covers 5/7: ignored up to t = 0.7
            [200.5, 200.5, 200.9, 200.9]]  # beyond the corner on both axes: no overlap, a false positive
    predictions = [{"boxes": torch.tensor([[0.5, 0.0, 20.0, 20.5]] + tiny),
                    "scores": torch.tensor([0.3, 0.9, 0.8, 0.7, 0.6, 0.5, 0.95]),
                    "labels": torch.ones(7, dtype=torch.int64)}]
    expected = cocoeval_stats(coco_dict(targets), predictions)
    got = student.coco_evaluate(predictions, targets)
    assert_coco_stats(got, expected, case="sub-pixel detections at a crowd region's border")


@pytest.mark.task("ap")
def test_coco_evaluate_crowd_rules(student):
    crowd = torch.tensor([False, True])
    targets = [
        {"boxes": torch.tensor([[0.0, 0.0, 20.0, 20.0], [0.0, 0.0, 100.0, 100.0]]), "labels": torch.tensor([1, 1]),
         "iscrowd": crowd},
        # category 2 has a crowd region only: the category is left out (not AP 0)
        {"boxes": torch.tensor([[150.0, 150.0, 190.0, 190.0], [200.0, 200.0, 300.0, 300.0]]),
         "labels": torch.tensor([1, 2]), "iscrowd": crowd},
    ]
    predictions = [
        {"boxes": torch.tensor([[0.0, 0.0, 20.0, 20.0],  # the regular box first, though inside the crowd
                                [1.0, 1.0, 21.0, 21.0],  # duplicate: absorbed by the crowd region
                                [90.0, 90.0, 110.0, 110.0],  # covers the crowd by 1/4: a false positive
                                [60.0, 60.0, 80.0, 90.0],  # inside: absorbed as well
                                [80.0, 0.0, 120.0, 20.0]]),  # half inside: ignored at t = 0.5 only
         "scores": torch.tensor([0.9, 0.8, 0.7, 0.65, 0.75]), "labels": torch.tensor([1, 1, 1, 1, 1])},
        {"boxes": torch.tensor([[150.0, 150.0, 190.0, 190.0], [210.0, 210.0, 250.0, 250.0]]),
         "scores": torch.tensor([0.6, 0.95]), "labels": torch.tensor([1, 2])},
    ]
    expected = cocoeval_stats(coco_dict(targets), predictions)
    got = student.coco_evaluate(predictions, targets)
    assert_coco_stats(got, expected, case="crowd regions: regular ground truth first, coverage by area(detection)")
    only_crowd = [{**t, "iscrowd": torch.ones(2, dtype=torch.bool)} for t in targets]
    got = student.coco_evaluate(predictions, only_crowd)
    assert_coco_stats(got, {"AP": -1.0, "AP50": -1.0, "AP75": -1.0}, case="every box a crowd region")


@pytest.mark.task("ap")
def test_coco_evaluate_iscrowd_is_optional(student, scenes, coco_gt):
    predictions = noisy_predictions(scenes, 3)
    expected = cocoeval_stats(coco_gt, predictions)
    for dtype in (torch.bool, torch.int64, torch.uint8):
        targets = [{**t, "iscrowd": torch.zeros(len(t["labels"]), dtype=dtype)} for t in targets_of(scenes)]
        got = student.coco_evaluate(predictions, targets)
        assert_coco_stats(got, expected, case=f"iscrowd all zero, {dtype}")


@pytest.mark.task("ap")
def test_coco_evaluate_rejects_a_bad_iscrowd(student, scenes):
    targets = targets_of(scenes)
    targets[3]["iscrowd"] = torch.zeros(len(targets[3]["labels"]) + 1, dtype=torch.bool)
    with pytest.raises(ValueError, match="iscrowd"):
        student.coco_evaluate(noisy_predictions(scenes, 1), targets)


# ================================================================ classes of one-mistake variants
# (found by `cv3 check detection --mutants`): every argument checked, float64 arithmetic for
# float32 curves, the 11 recall levels at exact recall values, a category without detections
# anywhere in the list of categories.


@pytest.mark.task("ap")
@pytest.mark.parametrize("which", ["det_boxes", "gt_boxes", "det_scores"])
def test_match_detections_checks_every_argument(student, which):
    args = {"det_boxes": torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 5.0, 5.0]]),
            "det_scores": torch.tensor([0.9, 0.8]), "gt_boxes": torch.tensor([[0.0, 0.0, 4.0, 4.0]])}
    bad = {"det_boxes": args["det_boxes"][:, :3], "gt_boxes": args["gt_boxes"][0],
           "det_scores": args["det_scores"][:1]}[which]
    args[which] = bad
    # det_scores shorter than det_boxes: a length mismatch that either argument may be named for
    name = "det_scores|det_boxes" if which == "det_scores" else which
    with pytest.raises(ValueError, match=name):
        student.match_detections(args["det_boxes"], args["det_scores"], args["gt_boxes"], 0.5)


@pytest.mark.task("ap")
@pytest.mark.parametrize("method", ["voc", "voc07", "coco"])
def test_average_precision_of_float32_curves_is_computed_in_float64(student, method):
    gen = torch.Generator().manual_seed(7)
    is_tp = torch.rand(300, generator=gen) < 0.6
    tp = torch.cumsum(is_tp.double(), 0)
    precision = (tp / torch.arange(1, 301, dtype=torch.float64)).float()  # float32 curves
    recall = (tp / 211.0).float()
    expected = oracle_average_precision(precision.double().numpy(), recall.double().numpy(), method)
    got = student.average_precision(precision, recall, method)
    assert_float(got, expected, atol=1e-13, case=f"{method}, float32 inputs, the sums in float64")


@pytest.mark.task("ap")
def test_average_precision_voc07_at_recalls_equal_to_the_levels(student):
    # recall exactly 0.1, 0.2, ..., 1.0 (k / 10 in float64): the levels are numpy.arange(0, 1.1, 0.1)
    # in float64 (0.30000000000000004, 0.7000000000000001...), not float32 and not linspace
    recall = torch.arange(1, 11, dtype=torch.float64) / 10
    precision = torch.linspace(1.0, 0.1, 10, dtype=torch.float64) ** 2
    levels = np.arange(0, 1.1, 0.1)
    r, p = recall.numpy(), precision.numpy()
    expected = float(np.mean([p[r >= t].max(initial=0.0) for t in levels]))
    assert_float(student.average_precision(precision, recall, "voc07"), expected, atol=1e-15,
                 case="recall exactly at the 11 levels")


@pytest.mark.task("ap")
@pytest.mark.parametrize("missing", [1, 2])
def test_coco_evaluate_a_category_without_detections_before_others(student, scenes, coco_gt, missing):
    predictions = []
    for s in scenes:
        keep = s["labels"] != missing
        n = int(keep.sum())
        predictions.append({"boxes": s["boxes"][keep], "scores": torch.linspace(0.9, 0.2, n),
                            "labels": s["labels"][keep]})
    expected = cocoeval_stats(coco_gt, predictions)
    got = student.coco_evaluate(predictions, targets_of(scenes))
    assert_coco_stats(got, expected, case=f"no detection of category {missing} in any image")


@pytest.mark.task("ap")
@pytest.mark.parametrize("which", ["predictions", "targets"])
def test_coco_evaluate_checks_the_boxes_of_every_record(student, which):
    record = {"boxes": torch.tensor([[0.0, 0.0, 4.0, 4.0]]), "labels": torch.tensor([1])}
    pred = {**record, "scores": torch.tensor([0.9])}
    for bad, error in [(torch.tensor([[0.0, 0.0, 4.0]]), ValueError), (torch.tensor([0.0, 0.0, 4.0, 4.0]), ValueError),
                       ([[0.0, 0.0, 4.0, 4.0]], TypeError)]:
        preds, targets = [pred, dict(pred)], [record, dict(record)]
        (preds if which == "predictions" else targets)[1]["boxes"] = bad
        # the message names the argument, the field and the record (any format:
        # predictions[1]["boxes"], "predictions[1]: boxes ...", "boxes of predictions 1")
        with pytest.raises(error) as caught:
            student.coco_evaluate(preds, targets)
        message = str(caught.value)
        assert which in message and "boxes" in message and re.search(r"(?<![\d.])1(?![\d.])", message), \
            f"the error must name {which}, the field boxes and the record 1: {message}"
