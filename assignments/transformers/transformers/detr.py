"""DETR's set prediction (Carion et al., 2020): Hungarian matching, the set criterion, and
inference without non-maximum suppression.

Boxes are normalised ``(cx, cy, w, h)`` in [0, 1] (DETR's format) unless said otherwise.
``pred_logits [B, Q, K + 1]``: the last class (index ``K``) is "no object". Targets are a
list of ``B`` dicts ``{"labels": int64[T_b], "boxes": float[T_b, 4]}``.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["box_cxcywh_to_xyxy", "generalized_box_iou", "matching_cost", "hungarian_match", "set_criterion",
           "detr_postprocess"]


def box_cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``(cx, cy, w, h) -> (cx - w/2, cy - h/2, cx + w/2, cy + h/2)``, ``Tensor[..., 4]``."""
    raise NotImplementedError("box_cxcywh_to_xyxy: implement me (see README.md, section `detr`)")


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise GIoU of (x1, y1, x2, y2) boxes: ``IoU - (|C| - |A u B|) / |C|`` with ``C`` the
    smallest enclosing box (``torchvision.ops.generalized_box_iou``).

    Args:
        boxes1 (Tensor[N, 4]), boxes2 (Tensor[M, 4]): ``x2 >= x1``, ``y2 >= y1``.

    Returns:
        Tensor[N, M] in [-1, 1]; differentiable.

    Raises:
        ValueError: if a box has ``x2 < x1`` or ``y2 < y1``.
    """
    raise NotImplementedError("generalized_box_iou: implement me (see README.md, section `detr`)")


def matching_cost(pred_logits: Tensor, pred_boxes: Tensor, tgt_labels: Tensor, tgt_boxes: Tensor,
                  cost_class: float = 1.0, cost_bbox: float = 5.0, cost_giou: float = 2.0) -> Tensor:
    """DETR's matching cost of one image's ``Q`` predictions against its ``T`` targets.

    ``C[q, t] = cost_bbox * ||b_q - b_t||_1 - cost_class * p_q(c_t) - cost_giou * GIoU(b_q, b_t)``
    with ``p_q = softmax(pred_logits[q])`` (over all ``K + 1`` classes), the L1 distance on
    ``(cx, cy, w, h)`` and GIoU on the boxes converted to (x1, y1, x2, y2).

    Args:
        pred_logits (Tensor[Q, K + 1]), pred_boxes (Tensor[Q, 4]): one image.
        tgt_labels (Tensor[T]): int64 in ``[0, K)``.
        tgt_boxes (Tensor[T, 4]): (cx, cy, w, h).
        cost_class, cost_bbox, cost_giou (float): the weights.

    Returns:
        Tensor[Q, T]: float, ``Tensor[Q, 0]`` when ``T = 0``.
    """
    raise NotImplementedError("matching_cost: implement me (see README.md, section `detr`)")


def hungarian_match(pred_logits: Tensor, pred_boxes: Tensor, targets: list[dict[str, Tensor]],
                    cost_class: float = 1.0, cost_bbox: float = 5.0,
                    cost_giou: float = 2.0) -> list[tuple[Tensor, Tensor]]:
    """The minimum-cost one-to-one matching of predictions to targets, per image.

    Minimises the sum of :func:`matching_cost` over matched pairs (every target is matched
    when ``Q >= T``), e.g. with ``scipy.optimize.linear_sum_assignment`` on the cost moved to
    the CPU and detached. No gradient flows through the matching.

    Args:
        pred_logits (Tensor[B, Q, K + 1]), pred_boxes (Tensor[B, Q, 4]).
        targets (list of B dicts): ``labels`` int64[T_b], ``boxes`` float[T_b, 4].
        cost_class, cost_bbox, cost_giou (float): the weights.

    Returns:
        list of B pairs ``(pred_idx, tgt_idx)``: int64 tensors of ``min(Q, T_b)`` elements,
        ``pred_idx`` sorted ascending, on the CPU.

    Raises:
        ValueError: if ``len(targets) != B``.
    """
    raise NotImplementedError("hungarian_match: implement me (see README.md, section `detr`)")


def set_criterion(pred_logits: Tensor, pred_boxes: Tensor, targets: list[dict[str, Tensor]], num_classes: int,
                  eos_coef: float = 0.1, aux_logits: list[Tensor] | None = None,
                  aux_boxes: list[Tensor] | None = None, cost_class: float = 1.0, cost_bbox: float = 5.0,
                  cost_giou: float = 2.0) -> dict[str, Tensor]:
    """DETR's ``SetCriterion`` losses ``loss_ce``, ``loss_bbox`` and ``loss_giou``.

    After :func:`hungarian_match` (with the same cost weights):

    - ``loss_ce``: ``F.cross_entropy`` over all ``B * Q`` predictions, the matched ones with their
      target's class and the others with the no-object class ``K``, with class weights 1 and
      ``eos_coef`` for no-object (so it is the **weighted mean**: divided by the sum of the
      weights of the targets, PyTorch's rule); the weights are made in ``pred_logits``' dtype
      (a float32 ``eos_coef`` of 0.1 is not float64's 0.1).
    - ``loss_bbox``: the sum of the L1 distances of matched (cx, cy, w, h) boxes over all
      coordinates, divided by ``num_boxes = max(total number of targets in the batch, 1)``.
    - ``loss_giou``: ``sum(1 - GIoU)`` over matched pairs, divided by ``num_boxes``.

    Auxiliary losses: for every decoder layer ``l`` in ``aux_logits`` / ``aux_boxes`` (each
    ``[B, Q, K + 1]`` / ``[B, Q, 4]``) the same three losses under keys ``loss_ce_{l}``,
    ``loss_bbox_{l}``, ``loss_giou_{l}``, each layer **matched afresh** (its own Hungarian
    matching), with the same ``num_boxes``; ``l = 0, 1, ...`` is the layer's index in
    ``aux_logits`` (DETR's numbering: ``loss_ce_0`` is the first auxiliary layer).

    Args:
        pred_logits (Tensor[B, Q, K + 1]), pred_boxes (Tensor[B, Q, 4]): the last layer.
        targets (list of B dicts): ``labels``, ``boxes`` (cx, cy, w, h).
        num_classes (int): ``K``.
        eos_coef (float): weight of the no-object class.
        aux_logits, aux_boxes (list[Tensor] or None): earlier layers, same length.
        cost_class, cost_bbox, cost_giou (float): the matcher's weights.

    Returns:
        dict[str, Tensor]: scalar losses, differentiable in the predictions.

    Raises:
        ValueError: if ``pred_logits.shape[-1] != num_classes + 1``, or the auxiliary lists
            differ in length.
    """
    raise NotImplementedError("set_criterion: implement me (see README.md, section `detr`)")


def detr_postprocess(pred_logits: Tensor, pred_boxes: Tensor, image_sizes: Tensor) -> list[dict[str, Tensor]]:
    """DETR's inference (its ``PostProcess``): no NMS, one detection per query.

    ``p = softmax(logits)``; the score and label of a query are the max and argmax of ``p``
    over the ``K`` object classes (the no-object column dropped); boxes go to (x1, y1, x2, y2)
    in pixels: ``x * img_w``, ``y * img_h``.

    Args:
        pred_logits (Tensor[B, Q, K + 1]), pred_boxes (Tensor[B, Q, 4]): normalised (cx, cy, w, h).
        image_sizes (Tensor[B, 2]): (height, width) of each image.

    Returns:
        list of B dicts: ``scores`` [Q], ``labels`` int64 [Q], ``boxes`` [Q, 4], in query order.
    """
    raise NotImplementedError("detr_postprocess: implement me (see README.md, section `detr`)")
