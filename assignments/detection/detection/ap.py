"""Average precision: matching detections to ground truth, PR curves, VOC and COCO AP.

Detections are matched greedily in decreasing score order; AP is the area under the
precision-recall curve after replacing precision by its monotone envelope
``p_interp(r) = max_{r' >= r} p(r')``. The variants differ in how that area is sampled:
VOC2010+ integrates it exactly ("voc"), VOC2007 averages 11 recall points ("voc07"), COCO 101
("coco") and averages over IoU thresholds .50:.05:.95 and categories.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["match_detections", "precision_recall_curve", "average_precision", "coco_evaluate"]


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
    raise NotImplementedError("match_detections: implement me (see README.md, section `ap`)")


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
    raise NotImplementedError("precision_recall_curve: implement me (see README.md, section `ap`)")


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
    raise NotImplementedError("average_precision: implement me (see README.md, section `ap`)")


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
    raise NotImplementedError("coco_evaluate: implement me (see README.md, section `ap`)")
