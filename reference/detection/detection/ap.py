"""Average precision: matching detections to ground truth, PR curves, VOC and COCO AP.

Detections are matched greedily in decreasing score order; AP is the area under the
precision-recall curve after replacing precision by its monotone envelope
``p_interp(r) = max_{r' >= r} p(r')``. The variants differ in how that area is sampled:
VOC2010+ integrates it exactly ("voc"), VOC2007 averages 11 recall points ("voc07"), COCO 101
("coco") and averages over IoU thresholds .50:.05:.95 and categories.
"""

from __future__ import annotations

# BEGIN SOLUTION
from typing import Sequence

import torch
# END SOLUTION
from torch import Tensor

# BEGIN SOLUTION
from .boxes import _check_boxes, box_iou
# END SOLUTION

__all__ = ["match_detections", "precision_recall_curve", "average_precision", "coco_evaluate"]

# BEGIN SOLUTION
_AP_METHODS = ("voc", "voc07", "coco")
_COCO_MAX_DETS = 100


def _linspace(start: float, stop: float, num: int) -> list[float]:
    """``numpy.linspace(start, stop, num)`` bit for bit: ``start + i * step``, last = stop."""
    step = (stop - start) / (num - 1)
    return [i * step + start for i in range(num - 1)] + [stop]


def _check_vector(name: str, value: object, length: int | None = None) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [D], got {type(value).__name__}")
    if value.dim() != 1:
        raise ValueError(f"{name} must be 1-D of shape [D], got shape {list(value.shape)}")
    if length is not None and value.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got shape {list(value.shape)}")


def _greedy_match(ious: Tensor, thresholds: Sequence[float]) -> Tensor:
    """COCO's greedy matching for detections already sorted by decreasing score.

    ``ious`` is ``Tensor[D, G]``; returns ``Tensor[T, D]`` bool, one row per threshold. Each
    detection takes the unmatched ground truth of highest IoU if it is >= the threshold;
    among equal IoUs the later ground truth wins, as in pycocotools.
    """
    num_det, num_gt = ious.shape
    rows = ious.tolist()
    hits = []
    for threshold in thresholds:
        taken = [False] * num_gt
        for row in rows:
            best, best_iou = -1, threshold
            for g, value in enumerate(row):
                if not taken[g] and value >= best_iou:
                    best, best_iou = g, value
            if best >= 0:
                taken[best] = True
            hits.append(best >= 0)
    return torch.tensor(hits, dtype=torch.bool).reshape(len(thresholds), num_det)
# END SOLUTION


def match_detections(
    det_boxes: Tensor,
    det_scores: Tensor,
    gt_boxes: Tensor,
    iou_threshold: float = 0.5,
) -> Tensor:
    """Greedy matching of one image's detections (of one category) to its ground truth.

    Detections are visited in decreasing score order (a stable sort: equal scores keep input
    order). Each takes the still unmatched ground-truth box with the highest IoU, if that IoU
    is >= ``iou_threshold``, and is then a true positive; otherwise it is a false positive
    (COCO's rule: a detection never steals a ground truth matched by a higher-scoring one).

    Args:
        det_boxes (Tensor[D, 4]): (x1, y1, x2, y2) detections.
        det_scores (Tensor[D]): detection scores.
        gt_boxes (Tensor[G, 4]): (x1, y1, x2, y2) ground-truth boxes.
        iou_threshold (float): minimum IoU of a match.

    Returns:
        Tensor[D] bool: True for true positives, in the input order of the detections.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if a shape is wrong.
    """
    # BEGIN SOLUTION
    _check_boxes("det_boxes", det_boxes)
    _check_boxes("gt_boxes", gt_boxes)
    _check_vector("det_scores", det_scores, det_boxes.shape[0])
    order = torch.sort(det_scores, descending=True, stable=True).indices  # [D]
    ious = box_iou(det_boxes[order].double(), gt_boxes.double()).cpu()  # [D, G]
    hits_sorted = _greedy_match(ious, [float(iou_threshold)])[0].to(det_boxes.device)  # [D]
    hits = torch.zeros_like(hits_sorted)  # [D]
    hits[order] = hits_sorted
    return hits
    # END SOLUTION


def precision_recall_curve(scores: Tensor, is_tp: Tensor, num_gt: int) -> tuple[Tensor, Tensor]:
    """Precision and recall after each detection, by decreasing score.

    After sorting by decreasing score (stable), ``precision[i] = TP_i / (i + 1)`` and
    ``recall[i] = TP_i / num_gt`` with ``TP_i`` the number of true positives among the first
    ``i + 1`` detections.

    Args:
        scores (Tensor[D]): detection scores.
        is_tp (Tensor[D] bool): whether each detection is a true positive.
        num_gt (int): number of ground-truth objects (> 0).

    Returns:
        tuple[Tensor[D], Tensor[D]]: (precision, recall), float64, in sorted order.

    Raises:
        TypeError: if ``scores`` or ``is_tp`` is not a tensor.
        ValueError: if the shapes differ or ``num_gt <= 0``.
    """
    # BEGIN SOLUTION
    _check_vector("scores", scores)
    _check_vector("is_tp", is_tp, scores.shape[0])
    if isinstance(num_gt, bool) or not isinstance(num_gt, int):
        raise TypeError(f"num_gt must be an int, got {num_gt!r}")
    if num_gt <= 0:
        raise ValueError(f"num_gt must be > 0 (recall is undefined without ground truth), got {num_gt}")
    order = torch.sort(scores, descending=True, stable=True).indices  # [D]
    hits = is_tp[order].bool()  # [D]
    tp = hits.to(torch.float64).cumsum(0)  # [D]
    fp = (~hits).to(torch.float64).cumsum(0)  # [D]
    return tp / (tp + fp), tp / num_gt
    # END SOLUTION


def average_precision(precision: Tensor, recall: Tensor, method: str = "voc") -> float:
    """Area under a precision-recall curve, with the precision made monotone first.

    The envelope is ``p_interp[i] = max_{j >= i} precision[j]``. Then

    * "voc" (VOC2010+, all points): ``sum_i (r_i - r_{i-1}) * p_interp[i]`` over the points
      where recall changes, with ``r_{-1} = 0``;
    * "voc07" (11 points): the mean over ``t = k * 0.1``, ``k = 0..10`` (as
      ``numpy.arange(0, 1.1, 0.1)``), of ``max(precision[recall >= t])``, 0 if none;
    * "coco" (101 points): the mean over ``t = numpy.linspace(0, 1, 101)`` of ``p_interp`` at
      the first index with ``recall >= t`` (``searchsorted(recall, t, side="left")``), 0 when
      recall never reaches ``t``.

    Args:
        precision (Tensor[D]): precision after each detection (from
            :func:`precision_recall_curve`).
        recall (Tensor[D]): recall after each detection, non-decreasing.
        method (str): "voc", "voc07" or "coco".

    Returns:
        float: the average precision in [0, 1]; 0.0 for empty inputs.

    Raises:
        TypeError: if ``precision`` or ``recall`` is not a tensor.
        ValueError: if the shapes differ or ``method`` is unknown.
    """
    # BEGIN SOLUTION
    if method not in _AP_METHODS:
        raise ValueError(f"method must be one of 'voc', 'voc07', 'coco', got {method!r}")
    _check_vector("precision", precision)
    _check_vector("recall", recall, precision.shape[0])
    if precision.numel() == 0:
        return 0.0
    precision = precision.detach().to(torch.float64)  # [D]
    recall = recall.detach().to(torch.float64)  # [D]
    envelope = precision.flip(0).cummax(0).values.flip(0)  # [D]

    if method == "voc":
        zero = recall.new_zeros(1)
        r = torch.cat((zero, recall))  # [D + 1]
        return float(((r[1:] - r[:-1]) * envelope).sum())

    if method == "voc07":
        thresholds = torch.tensor([k * 0.1 for k in range(11)], dtype=torch.float64)  # [11]
    else:
        thresholds = torch.tensor(_linspace(0.0, 1.0, 101), dtype=torch.float64)  # [101]
    thresholds = thresholds.to(recall.device)
    first = torch.searchsorted(recall.contiguous(), thresholds, side="left")  # [R]
    reached = first < recall.numel()  # [R]
    sampled = torch.where(reached, envelope[first.clamp(max=recall.numel() - 1)], 0.0)  # [R]
    return float(sampled.mean())
    # END SOLUTION


# BEGIN SOLUTION
def _check_records(name: str, records: object, keys: tuple[str, ...]) -> None:
    if not isinstance(records, (list, tuple)):
        raise TypeError(f"{name} must be a list of dicts, got {type(records).__name__}")
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise TypeError(f"{name}[{i}] must be a dict with keys {keys}, got {type(record).__name__}")
        for key in keys:
            if key not in record:
                raise ValueError(f"{name}[{i}] must have the keys {keys}, missing {key!r}")
        _check_boxes(f"{name}[{i}]['boxes']", record["boxes"])
        num = record["boxes"].shape[0]
        for key in keys[1:]:
            _check_vector(f"{name}[{i}][{key!r}]", record[key], num)
# END SOLUTION


def coco_evaluate(predictions: list[dict], targets: list[dict]) -> dict[str, float]:
    """COCO box mAP, as pycocotools' ``COCOeval(iouType="bbox")`` computes it.

    For every category with at least one ground-truth box and every IoU threshold
    ``t in .50:.05:.95``: in each image keep the category's 100 highest-scoring detections,
    match them greedily (:func:`match_detections`'s rule), pool the detections of all images,
    sort them by decreasing score (stable, images in order), and take the 101-point
    interpolated AP. "AP" averages over thresholds and categories, "AP50" and "AP75" over
    categories at one threshold. Categories without ground truth are ignored; there are no
    crowd boxes and no area ranges (area "all").

    Args:
        predictions (list[dict]): per image, ``{"boxes": Tensor[K, 4] (x1, y1, x2, y2),
            "scores": Tensor[K], "labels": Tensor[K] int64}``.
        targets (list[dict]): per image, ``{"boxes": Tensor[G, 4] (x1, y1, x2, y2),
            "labels": Tensor[G] int64}``; image i of ``targets`` goes with image i of
            ``predictions``.

    Returns:
        dict[str, float]: {"AP", "AP50", "AP75"}, equal to ``COCOeval.stats[0:3]``; all -1.0
        when there is no ground truth at all (as pycocotools reports it).

    Raises:
        TypeError: if an argument or a field has the wrong type.
        ValueError: if the lists differ in length, a key is missing or a shape is wrong.
    """
    # BEGIN SOLUTION
    _check_records("predictions", predictions, ("boxes", "scores", "labels"))
    _check_records("targets", targets, ("boxes", "labels"))
    if len(predictions) != len(targets):
        raise ValueError(
            f"predictions and targets must describe the same images, got {len(predictions)} "
            f"predictions and {len(targets)} targets"
        )
    iou_thresholds = _linspace(0.5, 0.95, 10)

    # per (category, image): detections sorted by score, at most 100; ground-truth boxes
    dets: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
    gts: dict[tuple[int, int], Tensor] = {}
    for i, (pred, target) in enumerate(zip(predictions, targets, strict=True)):
        gt_boxes = target["boxes"].detach().cpu().double()  # [G, 4]
        gt_labels = target["labels"].detach().cpu()  # [G]
        for c in gt_labels.unique().tolist():
            gts[c, i] = gt_boxes[gt_labels == c]
        boxes = pred["boxes"].detach().cpu().double()  # [K, 4]
        scores = pred["scores"].detach().cpu().double()  # [K]
        labels = pred["labels"].detach().cpu()  # [K]
        for c in labels.unique().tolist():
            mask = labels == c
            order = torch.sort(scores[mask], descending=True, stable=True).indices[:_COCO_MAX_DETS]
            dets[c, i] = (boxes[mask][order], scores[mask][order])

    categories = sorted({c for c, _ in gts})
    if not categories:
        return {"AP": -1.0, "AP50": -1.0, "AP75": -1.0}
    ap = torch.zeros(len(iou_thresholds), len(categories), dtype=torch.float64)  # [T, C]
    empty_boxes = torch.zeros(0, 4, dtype=torch.float64)
    for ci, c in enumerate(categories):
        num_gt = sum(gts[c, i].shape[0] for i in range(len(targets)) if (c, i) in gts)
        all_scores, all_hits = [], []
        for i in range(len(targets)):
            if (c, i) not in dets:
                continue
            boxes, scores = dets[c, i]  # [D, 4], [D] by decreasing score
            ious = box_iou(boxes, gts.get((c, i), empty_boxes))  # [D, G]
            all_hits.append(_greedy_match(ious, iou_thresholds))  # [T, D]
            all_scores.append(scores)
        if not all_scores:
            continue  # no detection of this category: AP 0
        scores = torch.cat(all_scores)  # [D_total]
        hits = torch.cat(all_hits, dim=1)  # [T, D_total]
        for t in range(len(iou_thresholds)):
            precision, recall = precision_recall_curve(scores, hits[t], num_gt)
            ap[t, ci] = average_precision(precision, recall, method="coco")
    return {
        "AP": float(ap.mean()),
        "AP50": float(ap[0].mean()),
        "AP75": float(ap[5].mean()),
    }
    # END SOLUTION
