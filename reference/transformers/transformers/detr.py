"""DETR's set prediction (Carion et al., 2020): Hungarian matching, the set criterion, and
inference without non-maximum suppression.

Boxes are normalised ``(cx, cy, w, h)`` in [0, 1] (DETR's format) unless said otherwise.
``pred_logits [B, Q, K + 1]``: the last class (index ``K``) is "no object". Targets are a
list of ``B`` dicts ``{"labels": int64[T_b], "boxes": float[T_b, 4]}``.
"""

from __future__ import annotations

from torch import Tensor

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
# END SOLUTION

__all__ = ["box_cxcywh_to_xyxy", "generalized_box_iou", "matching_cost", "hungarian_match", "set_criterion",
           "detr_postprocess"]


def box_cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``(cx, cy, w, h) -> (cx - w/2, cy - h/2, cx + w/2, cy + h/2)``, ``Tensor[..., 4]``."""
    # BEGIN SOLUTION
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    for name, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        if b.numel() and bool(((b[:, 2:] < b[:, :2]).any())):
            raise ValueError(f"{name} holds a box with x2 < x1 or y2 < y1")
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # [N]
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # [M]
    lt = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])  # [N, M, 2]
    rb = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)  # [N, M]
    union = area1[:, None] + area2[None, :] - inter
    iou = inter / union
    lt_c = torch.min(boxes1[:, None, :2], boxes2[None, :, :2])
    rb_c = torch.max(boxes1[:, None, 2:], boxes2[None, :, 2:])
    enclosing = (rb_c - lt_c).clamp(min=0).prod(-1)
    return iou - (enclosing - union) / enclosing
    # END SOLUTION


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
    # BEGIN SOLUTION
    prob = pred_logits.softmax(-1)  # [Q, K+1]
    c_class = -prob[:, tgt_labels]  # [Q, T]
    c_bbox = torch.cdist(pred_boxes, tgt_boxes.to(pred_boxes.dtype), p=1)  # [Q, T]
    c_giou = -generalized_box_iou(box_cxcywh_to_xyxy(pred_boxes), box_cxcywh_to_xyxy(tgt_boxes.to(pred_boxes.dtype)))
    return cost_bbox * c_bbox + cost_class * c_class + cost_giou * c_giou
    # END SOLUTION


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
    # BEGIN SOLUTION
    if len(targets) != pred_logits.shape[0]:
        raise ValueError(f"got {len(targets)} targets for a batch of {pred_logits.shape[0]} images")
    out = []
    with torch.no_grad():
        for b, t in enumerate(targets):
            cost = matching_cost(pred_logits[b], pred_boxes[b], t["labels"], t["boxes"],
                                 cost_class, cost_bbox, cost_giou)
            i, j = linear_sum_assignment(cost.detach().cpu().double().numpy())
            out.append((torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64)))
    return out
    # END SOLUTION


# BEGIN SOLUTION
def _layer_losses(pred_logits, pred_boxes, targets, num_classes, eos_coef, num_boxes, weights):
    indices = hungarian_match(pred_logits, pred_boxes, targets, *weights)
    b, q, _ = pred_logits.shape
    target_classes = torch.full((b, q), num_classes, dtype=torch.int64, device=pred_logits.device)
    src_boxes, tgt_boxes = [], []
    for i, ((src, tgt), t) in enumerate(zip(indices, targets)):
        src, tgt = src.to(pred_logits.device), tgt.to(pred_logits.device)
        target_classes[i, src] = t["labels"][tgt].to(pred_logits.device)
        src_boxes.append(pred_boxes[i, src])
        tgt_boxes.append(t["boxes"][tgt].to(pred_boxes))
    empty_weight = torch.ones(num_classes + 1, dtype=pred_logits.dtype, device=pred_logits.device)
    empty_weight[-1] = eos_coef
    loss_ce = F.cross_entropy(pred_logits.transpose(1, 2), target_classes, weight=empty_weight)
    sb, tb = torch.cat(src_boxes), torch.cat(tgt_boxes)  # [M, 4]
    loss_bbox = F.l1_loss(sb, tb, reduction="none").sum() / num_boxes
    giou = torch.diag(generalized_box_iou(box_cxcywh_to_xyxy(sb), box_cxcywh_to_xyxy(tb)))
    loss_giou = (1 - giou).sum() / num_boxes
    return {"loss_ce": loss_ce, "loss_bbox": loss_bbox, "loss_giou": loss_giou}
# END SOLUTION


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
    # BEGIN SOLUTION
    if pred_logits.shape[-1] != num_classes + 1:
        raise ValueError(f"pred_logits has {pred_logits.shape[-1]} classes, expected num_classes + 1 = "
                         f"{num_classes + 1}")
    aux_logits, aux_boxes = aux_logits or [], aux_boxes or []
    if len(aux_logits) != len(aux_boxes):
        raise ValueError(f"aux_logits and aux_boxes differ in length: {len(aux_logits)} and {len(aux_boxes)}")
    num_boxes = max(sum(int(t["labels"].numel()) for t in targets), 1)
    weights = (cost_class, cost_bbox, cost_giou)
    losses = _layer_losses(pred_logits, pred_boxes, targets, num_classes, eos_coef, num_boxes, weights)
    for i, (lg, bx) in enumerate(zip(aux_logits, aux_boxes)):
        for k, v in _layer_losses(lg, bx, targets, num_classes, eos_coef, num_boxes, weights).items():
            losses[f"{k}_{i}"] = v
    return losses
    # END SOLUTION


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
    # BEGIN SOLUTION
    prob = pred_logits.softmax(-1)[..., :-1]  # [B, Q, K]
    scores, labels = prob.max(-1)
    boxes = box_cxcywh_to_xyxy(pred_boxes)  # [B, Q, 4]
    h, w = image_sizes.to(boxes.dtype).unbind(1)
    scale = torch.stack((w, h, w, h), dim=1)[:, None, :]  # [B, 1, 4]
    boxes = boxes * scale
    return [{"scores": s, "labels": lb, "boxes": bx} for s, lb, bx in zip(scores, labels, boxes)]
    # END SOLUTION
