"""YOLO v1 (Redmon et al., 2016) training targets and loss.

The image is split into an ``S x S`` grid; each cell predicts ``B`` boxes ``(x, y, w, h,
confidence)`` and ``C`` class scores. Layout of a cell's ``B * 5 + C`` numbers (pinned):
``[x_0, y_0, w_0, h_0, conf_0, x_1, ..., conf_{B-1}, p_0, ..., p_{C-1}]``. ``x, y`` are the box
centre's offset inside its cell (0..1), ``w, h`` the box size relative to the image. Boxes are
normalised ``(x1, y1, x2, y2)`` in [0, 1]. Cell ``(row, col)``: row from the centre's y, col
from its x. See README.md, section `yolo`, for every convention.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["yolo_cell_index", "yolo_decode", "yolo_targets", "yolo_loss"]


# BEGIN SOLUTION
def _check_boxes(boxes: Tensor, labels: Tensor | None = None, num_classes: int | None = None) -> None:
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must have shape [M, 4], got {list(boxes.shape)}")
    if not boxes.is_floating_point():
        raise TypeError(f"boxes must be floating point, got {boxes.dtype}")
    if labels is not None:
        if labels.dtype != torch.int64 or labels.shape != boxes.shape[:1]:
            raise ValueError(f"labels must be int64 of shape [{boxes.shape[0]}], got {labels.dtype} "
                             f"{list(labels.shape)}")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
            raise ValueError(f"labels must be in 0 .. {num_classes - 1}, got {labels.tolist()}")


def _check_pred(pred: Tensor, S: int, B: int, C: int) -> None:
    if S < 1 or B < 1 or C < 1:
        raise ValueError(f"S, B and C must be >= 1, got S={S}, B={B}, C={C}")
    if pred.dim() < 3 or tuple(pred.shape[-3:]) != (S, S, B * 5 + C):
        raise ValueError(f"pred must have shape [..., {S}, {S}, {B * 5 + C}] (S, S, B*5+C), got {list(pred.shape)}")


def _iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of matching rows: a, b [..., 4] -> [...]; 0 when the union is empty."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(a.dtype).tiny), torch.zeros_like(inter))
# END SOLUTION


def yolo_cell_index(boxes: Tensor, S: int) -> Tensor:
    """The grid cell of each box centre.

    ``col = floor(cx * S)``, ``row = floor(cy * S)`` (in the boxes' dtype), clamped to
    ``0 .. S - 1``: a centre exactly on a border between two cells belongs to the cell to its
    right (below), a centre at 1.0 to the last cell.

    Args:
        boxes (Tensor[M, 4]): normalised ``(x1, y1, x2, y2)``.
        S (int): grid size (>= 1).

    Returns:
        Tensor[M, 2]: int64 ``(row, col)``.

    Raises:
        ValueError: if ``boxes`` is not ``[M, 4]`` or ``S < 1``.
        TypeError: if ``boxes`` is not floating point.
    """
    # BEGIN SOLUTION
    if S < 1:
        raise ValueError(f"S must be >= 1, got {S}")
    _check_boxes(boxes)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2  # [M]
    cy = (boxes[:, 1] + boxes[:, 3]) / 2  # [M]
    col = torch.floor(cx * S).clamp(0, S - 1)
    row = torch.floor(cy * S).clamp(0, S - 1)
    return torch.stack([row, col], dim=1).long()
    # END SOLUTION


def yolo_decode(pred: Tensor, S: int, B: int, C: int) -> Tensor:
    """The ``B`` predicted boxes of every cell as normalised ``(x1, y1, x2, y2)``.

    For the predictor ``b`` of cell ``(row, col)``: ``cx = (col + x) / S``, ``cy = (row + y) / S``,
    ``w`` and ``h`` as predicted but clamped at 0 from below.

    Args:
        pred (Tensor[..., S, S, B * 5 + C]): network outputs (layout in the module docstring).
        S (int): grid size.
        B (int): boxes per cell.
        C (int): classes.

    Returns:
        Tensor[..., S, S, B, 4]: same dtype as ``pred``.

    Raises:
        ValueError: if ``pred``'s last three dimensions are not ``(S, S, B * 5 + C)`` or S, B, C < 1.
    """
    # BEGIN SOLUTION
    _check_pred(pred, S, B, C)
    p = pred[..., :B * 5].reshape(*pred.shape[:-1], B, 5)  # [..., S, S, B, 5]
    rows = torch.arange(S, dtype=pred.dtype, device=pred.device).view(S, 1, 1)
    cols = torch.arange(S, dtype=pred.dtype, device=pred.device).view(1, S, 1)
    cx = (cols + p[..., 0]) / S
    cy = (rows + p[..., 1]) / S
    w = p[..., 2].clamp(min=0)
    h = p[..., 3].clamp(min=0)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
    # END SOLUTION


def yolo_targets(pred: Tensor, boxes: Tensor, labels: Tensor, S: int, B: int, C: int) -> tuple[Tensor, Tensor]:
    """The target tensor of one image and the responsible predictors.

    Each ground truth goes to the cell of its centre (:func:`yolo_cell_index`). When several
    ground truths fall in one cell, the first one (lowest index) is kept and the others are
    ignored. In a cell with a ground truth, the responsible predictor is the one of the cell's
    ``B`` predicted boxes (:func:`yolo_decode` of ``pred``, no gradient) with the highest IoU with
    it (ties: the lowest ``b``). Its 5 target numbers are ``(cx * S - col, cy * S - row, w, h,
    IoU)`` (the confidence target is that IoU), and the cell's class target is the one-hot of
    the label. Everything else is 0.

    Args:
        pred (Tensor[S, S, B * 5 + C]): one image's predictions.
        boxes (Tensor[M, 4]): ground truths, normalised ``(x1, y1, x2, y2)`` (M may be 0).
        labels (Tensor[M]): int64 in ``0 .. C - 1``.
        S (int): grid size.
        B (int): boxes per cell.
        C (int): classes.

    Returns:
        tuple: ``target`` Tensor[S, S, B * 5 + C] (pred's dtype, no gradient) and
        ``responsible`` bool Tensor[S, S, B].

    Raises:
        ValueError: on shapes that do not match, labels out of range, or S, B, C < 1.
        TypeError: if ``boxes`` is not floating point.
    """
    # BEGIN SOLUTION
    _check_pred(pred, S, B, C)
    if pred.dim() != 3:
        raise ValueError(f"pred must have shape [{S}, {S}, {B * 5 + C}] (one image), got {list(pred.shape)}")
    _check_boxes(boxes, labels, C)
    pred = pred.detach()
    target = torch.zeros(S, S, B * 5 + C, dtype=pred.dtype, device=pred.device)
    responsible = torch.zeros(S, S, B, dtype=torch.bool, device=pred.device)
    cells = yolo_cell_index(boxes, S)  # [M, 2]
    cell_id = cells[:, 0] * S + cells[:, 1]  # [M]
    same = cell_id[:, None] == cell_id[None, :]  # [M, M]
    earlier = torch.tril(same, diagonal=-1).any(dim=1)  # [M] an earlier ground truth has this cell
    keep = (~earlier).nonzero()[:, 0]  # [K] the first ground truth of every occupied cell
    gt = boxes[keep]  # [K, 4]
    row, col = cells[keep, 0], cells[keep, 1]
    decoded = yolo_decode(pred, S, B, C)[row, col]  # [K, B, 4]
    ious = _iou(decoded, gt[:, None, :])  # [K, B]
    best = ious.argmax(dim=1)  # [K] the first of equal IoUs
    best_iou = ious.gather(1, best[:, None])[:, 0]  # [K]
    cx = (gt[:, 0] + gt[:, 2]) / 2
    cy = (gt[:, 1] + gt[:, 3]) / 2
    five = torch.stack([cx * S - col, cy * S - row, gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1],
                        best_iou], dim=1)  # [K, 5]
    boxes_part = target[..., :B * 5].view(S, S, B, 5)
    boxes_part[row, col, best] = five.to(target.dtype)
    target[row, col, B * 5 + labels[keep]] = 1
    responsible[row, col, best] = True
    return target, responsible
    # END SOLUTION


def yolo_loss(pred: Tensor, boxes: list[Tensor], labels: list[Tensor], S: int = 7, B: int = 2, C: int = 20,
              lambda_coord: float = 5.0, lambda_noobj: float = 0.5) -> Tensor:
    """The YOLO v1 loss of a batch, summed over cells and divided by the batch size ``N``.

    With ``1_ij`` = predictor j of cell i is responsible (:func:`yolo_targets`) and ``1_i`` = cell i
    holds a ground truth::

        lambda_coord * sum 1_ij [(x - x^)^2 + (y - y^)^2]
      + lambda_coord * sum 1_ij [(sqrt(w) - sqrt(max(w^, 1e-9)))^2 + (same for h)]
      + sum 1_ij (IoU - conf^)^2  +  lambda_noobj * sum (1 - 1_ij) conf^^2
      + sum_i 1_i sum_c (p_c - p^_c)^2

    (``^`` marks predictions, without ``^`` targets; every predictor that is not responsible
    counts as "no object", also in a cell with an object). An empty batch gives 0, once
    ``pred``'s shape has been checked.

    Args:
        pred (Tensor[N, S, S, B * 5 + C]): predictions (floating point, differentiable).
        boxes (list[Tensor[M_n, 4]]): ground truths per image, normalised ``(x1, y1, x2, y2)``.
        labels (list[Tensor[M_n]]): int64 classes per image.
        S (int): grid size.
        B (int): boxes per cell.
        C (int): classes.
        lambda_coord (float): weight of the coordinate terms.
        lambda_noobj (float): weight of the no-object confidence term.

    Returns:
        Tensor[]: the loss, pred's dtype.

    Raises:
        ValueError: if shapes do not match, ``len(boxes)`` or ``len(labels)`` differs from ``N``,
            or a label is out of range.
    """
    # BEGIN SOLUTION
    _check_pred(pred, S, B, C)
    if pred.dim() != 4:
        raise ValueError(f"pred must have shape [N, {S}, {S}, {B * 5 + C}], got {list(pred.shape)}")
    n = pred.shape[0]
    if len(boxes) != n or len(labels) != n:
        raise ValueError(f"boxes and labels must have one entry per image ({n}), got {len(boxes)} and {len(labels)}")
    if n == 0:
        return pred.sum() * 0
    built = [yolo_targets(pred[i], boxes[i], labels[i], S, B, C) for i in range(n)]
    target = torch.stack([t for t, _ in built])  # [N, S, S, B*5+C]
    resp = torch.stack([r for _, r in built])  # [N, S, S, B]
    p = pred[..., :B * 5].reshape(n, S, S, B, 5)
    t = target[..., :B * 5].reshape(n, S, S, B, 5)
    obj_cell = resp.any(dim=-1)  # [N, S, S]
    xy = ((p[..., 0] - t[..., 0]) ** 2 + (p[..., 1] - t[..., 1]) ** 2)[resp].sum()
    wh = ((torch.sqrt(t[..., 2]) - torch.sqrt(p[..., 2].clamp(min=1e-9))) ** 2
          + (torch.sqrt(t[..., 3]) - torch.sqrt(p[..., 3].clamp(min=1e-9))) ** 2)[resp].sum()
    obj = ((t[..., 4] - p[..., 4]) ** 2)[resp].sum()
    noobj = (p[..., 4] ** 2)[~resp].sum()
    cls = ((target[..., B * 5:] - pred[..., B * 5:]) ** 2).sum(dim=-1)[obj_cell].sum()
    return (lambda_coord * (xy + wh) + obj + lambda_noobj * noobj + cls) / n
    # END SOLUTION
