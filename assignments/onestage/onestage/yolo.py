"""YOLO v1 (Redmon et al., 2016) training targets and loss.

The image is split into an ``S x S`` grid; each cell predicts ``B`` boxes ``(x, y, w, h,
confidence)`` and ``C`` class scores. Layout of a cell's ``B * 5 + C`` numbers (pinned):
``[x_0, y_0, w_0, h_0, conf_0, x_1, ..., conf_{B-1}, p_0, ..., p_{C-1}]``. ``x, y`` are the box
centre's offset inside its cell (0..1), ``w, h`` the box size relative to the image. Boxes are
normalised ``(x1, y1, x2, y2)`` in [0, 1]. Cell ``(row, col)``: row from the centre's y, col
from its x. See README.md, section `yolo`, for every convention.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["yolo_cell_index", "yolo_decode", "yolo_targets", "yolo_loss"]


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
    raise NotImplementedError("yolo_cell_index: implement me (see README.md, section `yolo`)")


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
    raise NotImplementedError("yolo_decode: implement me (see README.md, section `yolo`)")


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
    raise NotImplementedError("yolo_targets: implement me (see README.md, section `yolo`)")


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
    raise NotImplementedError("yolo_loss: implement me (see README.md, section `yolo`)")
