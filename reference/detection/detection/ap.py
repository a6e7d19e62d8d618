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


def _greedy_match(
    ious: Tensor, thresholds: Sequence[float], crowd_ious: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """COCO's greedy matching for detections already sorted by decreasing score.

    ``ious`` is ``Tensor[D, G]`` (regular ground truth), ``crowd_ious`` ``Tensor[D, C]``
    (intersection over detection area with crowd regions, or None). Returns ``(hits,
    ignored)``, each ``Tensor[T, D]`` bool, one row per threshold. Each detection takes the
    unmatched regular ground truth of highest IoU if it is >= the threshold (a true positive);
    among equal IoUs the later ground truth wins, as in pycocotools. Failing that, a detection
    that covers a crowd region with a ratio >= the threshold is ignored; crowd regions are never
    used up.
    """
    num_det, num_gt = ious.shape
    rows = ious.tolist()
    crowd_rows = crowd_ious.tolist() if crowd_ious is not None else [[] for _ in range(num_det)]
    hits, ignored = [], []
    for threshold in thresholds:
        taken = [False] * num_gt
        for row, crowd_row in zip(rows, crowd_rows):
            best, best_iou = -1, threshold
            for g, value in enumerate(row):
                if not taken[g] and value >= best_iou:
                    best, best_iou = g, value
            if best >= 0:
                taken[best] = True
            hits.append(best >= 0)
            ignored.append(best < 0 and any(value >= threshold for value in crowd_row))
    shape = (len(thresholds), num_det)
    return torch.tensor(hits, dtype=torch.bool).reshape(shape), torch.tensor(ignored, dtype=torch.bool).reshape(shape)


def _crowd_overlap(det_boxes: Tensor, crowd_boxes: Tensor) -> Tensor:
    """Intersection over the detection's area, ``Tensor[D, C]`` (pycocotools' crowd IoU)."""
    lt = torch.maximum(det_boxes[:, None, :2], crowd_boxes[None, :, :2])  # [D, C, 2]
    rb = torch.minimum(det_boxes[:, None, 2:], crowd_boxes[None, :, 2:])  # [D, C, 2]
    wh = (rb - lt).clamp(min=0)  # [D, C, 2]
    inter = wh[..., 0] * wh[..., 1]  # [D, C]
    area = ((det_boxes[:, 2] - det_boxes[:, 0]) * (det_boxes[:, 3] - det_boxes[:, 1]))[:, None]  # [D, 1]
    return torch.where(inter > 0, inter / area.clamp(min=torch.finfo(area.dtype).tiny), 0.0)
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
    When two free ground-truth boxes have the same IoU with a detection, it takes the later one
    (in the order of ``gt_boxes``), as pycocotools does.

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
    hits_sorted = _greedy_match(ious, [float(iou_threshold)])[0][0].to(det_boxes.device)  # [D]
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
        tuple[Tensor[D], Tensor[D]]: (precision, recall), float64, in sorted order, computed in
        float64 (convert the counts before dividing: in torch an int64 tensor divided by an
        int64 tensor is float32).

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
        float: the average precision in [0, 1]; 0.0 for empty inputs. The curves are converted
        to float64 first: a float32 curve gives the float64 area of its values (envelope, recall
        steps, sums and means in float64).

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
def _check_crowd(targets: list[dict]) -> None:
    for i, target in enumerate(targets):
        if "iscrowd" in target:
            crowd = target["iscrowd"]
            _check_vector(f"targets[{i}]['iscrowd']", crowd, target["boxes"].shape[0])
            if crowd.dtype.is_floating_point or crowd.dtype.is_complex:
                raise TypeError(f"targets[{i}]['iscrowd'] must be bool or integer, got {crowd.dtype}")


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

    For every category with at least one (non-crowd) ground-truth box and every IoU threshold
    ``t``: in each image keep the category's 100 highest-scoring detections, match them
    greedily (:func:`match_detections`'s rule, crowd regions below), pool the detections of all
    images, sort them by decreasing score (stable: image 0's before image 1's at equal scores,
    and within an image the input order), and take the 101-point interpolated AP
    (:func:`average_precision` with ``"coco"``). "AP" averages over thresholds and categories,
    "AP50" and "AP75" over categories at one threshold. Categories without non-crowd ground
    truth are ignored; there are no area ranges (area "all").

    Conventions (pycocotools' exactly):

    * IoU in float64 (convert the boxes first), a match needs ``IoU >= t``, and the thresholds
      are ``numpy.linspace(0.5, 0.95, 10)``: 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85,
      0.8999999999999999, 0.95 (not ``0.5 + 0.05 * k``, which gives 0.8500000000000001 and
      0.9). So an IoU of exactly 0.85 or 0.9 in float64 meets the threshold 0.85 or 0.9 (a
      float32 IoU of 0.9 is 0.8999999761581421 and does not).
    * Recall levels ``numpy.linspace(0, 1, 101)``: ``k * 0.01`` in float64, the last exactly
      1.0 (so level 35 is 0.35000000000000003, not 0.35).
    * Equal IoU: a detection takes the later of the free ground-truth boxes (in the order of
      the target's ``boxes``).
    * Crowd regions (``targets[i]["iscrowd"]`` true): they are not objects to find, so they do
      not count in the number of ground truth. A detection is matched to the regular ground
      truth first; only when none is left for it (IoU >= t, still free), it is compared with the
      crowd regions of its category by ``intersection / area(detection)``: if that is >= t for
      one of them, the detection is *ignored* (neither TP nor FP; it is left out of the PR
      curve). A crowd region can absorb any number of detections. Without ``"iscrowd"`` no box
      is a crowd region.

    Args:
        predictions (list[dict]): per image, ``{"boxes": Tensor[K, 4] (x1, y1, x2, y2),
            "scores": Tensor[K], "labels": Tensor[K] int64}``.
        targets (list[dict]): per image, ``{"boxes": Tensor[G, 4] (x1, y1, x2, y2),
            "labels": Tensor[G] int64}`` and optionally ``"iscrowd": Tensor[G]`` (bool or
            integer, nonzero = crowd region); image i of ``targets`` goes with image i of
            ``predictions``.

    Returns:
        dict[str, float]: {"AP", "AP50", "AP75"}, equal to ``COCOeval.stats[0:3]``; all -1.0
        when there is no non-crowd ground truth at all (as pycocotools reports it).

    Raises:
        TypeError: if an argument or a field has the wrong type.
        ValueError: if the lists differ in length, a key is missing or a shape is wrong.
            About a record, either message names the list, the record's index and the field,
            e.g. ``predictions[1]['boxes']``.
    """
    # BEGIN SOLUTION
    _check_records("predictions", predictions, ("boxes", "scores", "labels"))
    _check_records("targets", targets, ("boxes", "labels"))
    _check_crowd(targets)
    if len(predictions) != len(targets):
        raise ValueError(
            f"predictions and targets must describe the same images, got {len(predictions)} "
            f"predictions and {len(targets)} targets"
        )
    iou_thresholds = _linspace(0.5, 0.95, 10)

    # per (category, image): detections sorted by score, at most 100; regular and crowd boxes
    dets: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
    gts: dict[tuple[int, int], Tensor] = {}
    crowds: dict[tuple[int, int], Tensor] = {}
    for i, (pred, target) in enumerate(zip(predictions, targets, strict=True)):
        gt_boxes = target["boxes"].detach().cpu().double()  # [G, 4]
        gt_labels = target["labels"].detach().cpu()  # [G]
        if "iscrowd" in target:
            is_crowd = target["iscrowd"].detach().cpu().bool()  # [G]
        else:
            is_crowd = torch.zeros(gt_labels.shape, dtype=torch.bool)  # [G]
        for c in gt_labels.unique().tolist():
            gts[c, i] = gt_boxes[(gt_labels == c) & ~is_crowd]
            crowds[c, i] = gt_boxes[(gt_labels == c) & is_crowd]
        boxes = pred["boxes"].detach().cpu().double()  # [K, 4]
        scores = pred["scores"].detach().cpu().double()  # [K]
        labels = pred["labels"].detach().cpu()  # [K]
        for c in labels.unique().tolist():
            mask = labels == c
            order = torch.sort(scores[mask], descending=True, stable=True).indices[:_COCO_MAX_DETS]
            dets[c, i] = (boxes[mask][order], scores[mask][order])

    num_gts = {}
    for (c, _), boxes in gts.items():
        num_gts[c] = num_gts.get(c, 0) + boxes.shape[0]
    categories = sorted(c for c, n in num_gts.items() if n > 0)
    if not categories:
        return {"AP": -1.0, "AP50": -1.0, "AP75": -1.0}
    ap = torch.zeros(len(iou_thresholds), len(categories), dtype=torch.float64)  # [T, C]
    empty_boxes = torch.zeros(0, 4, dtype=torch.float64)
    for ci, c in enumerate(categories):
        all_scores, all_hits, all_ignored = [], [], []
        for i in range(len(targets)):
            if (c, i) not in dets:
                continue
            boxes, scores = dets[c, i]  # [D, 4], [D] by decreasing score
            ious = box_iou(boxes, gts.get((c, i), empty_boxes))  # [D, G]
            crowd_ious = _crowd_overlap(boxes, crowds.get((c, i), empty_boxes))  # [D, C]
            hits, ignored = _greedy_match(ious, iou_thresholds, crowd_ious)  # [T, D] each
            all_hits.append(hits)
            all_ignored.append(ignored)
            all_scores.append(scores)
        if not all_scores:
            continue  # no detection of this category: AP 0
        scores = torch.cat(all_scores)  # [D_total]
        hits = torch.cat(all_hits, dim=1)  # [T, D_total]
        ignored = torch.cat(all_ignored, dim=1)  # [T, D_total]
        for t in range(len(iou_thresholds)):
            keep = ~ignored[t]  # [D_total]
            precision, recall = precision_recall_curve(scores[keep], hits[t][keep], num_gts[c])
            ap[t, ci] = average_precision(precision, recall, method="coco")
    return {
        "AP": float(ap.mean()),
        "AP50": float(ap[0].mean()),
        "AP75": float(ap[5].mean()),
    }
    # END SOLUTION
