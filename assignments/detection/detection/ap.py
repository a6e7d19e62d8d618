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
        tuple[Tensor[D], Tensor[D]]: (precision, recall), float64, in sorted order, computed in
        float64 (convert the counts before dividing: in torch an int64 tensor divided by an
        int64 tensor is float32).

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
        float: the average precision in [0, 1]; 0.0 for empty inputs. The curves are converted
        to float64 first: a float32 curve gives the float64 area of its values (envelope, recall
        steps, sums and means in float64).

    Raises:
        TypeError: if ``precision`` or ``recall`` is not a tensor.
        ValueError: if the shapes differ or ``method`` is unknown.
    """
    raise NotImplementedError("average_precision: implement me (see README.md, section `ap`)")


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
    raise NotImplementedError("coco_evaluate: implement me (see README.md, section `ap`)")
