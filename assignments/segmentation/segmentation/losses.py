"""Pixel-wise cross-entropy with an ignore label, and the dataset-level mIoU (VOC convention).

Labels are ``int64`` class indices in ``[0, C)``; the value ``ignore_index`` (255 by default,
VOC's "void" border) marks pixels that count neither in the loss nor in the metric.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["pixel_cross_entropy", "confusion_matrix", "mean_iou"]


def pixel_cross_entropy(logits: Tensor, target: Tensor, *, ignore_index: int = 255,
                        reduction: str = "mean") -> Tensor:
    """Cross-entropy of per-pixel class scores, ignoring the pixels labelled ``ignore_index``.

    ``loss(p) = -log softmax(logits[:, p])[target[p]]`` for every pixel ``p`` whose label is not
    ``ignore_index``. ``reduction="mean"`` averages over the non-ignored pixels of the whole
    batch (not per image), ``"sum"`` sums them, ``"none"`` returns the map with 0 at ignored
    pixels. Equal to ``F.cross_entropy(logits, target, ignore_index=ignore_index,
    reduction=...)`` (do not call it): with every pixel ignored the mean is ``nan`` (0 / 0).

    Args:
        logits (Tensor[N, C, H, W]): unnormalised scores, floating point (float32 or float64).
        target (Tensor[N, H, W]): int64 labels in ``[0, C)`` or ``ignore_index``.
        ignore_index (int): the label to ignore.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        Tensor: a scalar (``"mean"``, ``"sum"``) or ``Tensor[N, H, W]`` (``"none"``), in the
        dtype of ``logits``; differentiable with respect to ``logits``.

    Raises:
        TypeError: ``logits`` is not floating point or ``target`` is not int64.
        ValueError: shapes that do not match, a label outside ``[0, C)`` that is not
            ``ignore_index``, or an unknown ``reduction``.
    """
    raise NotImplementedError("pixel_cross_entropy: implement me (see README.md, section `loss_metric`)")


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int, *, ignore_index: int = 255) -> Tensor:
    """Confusion matrix of predicted against true labels over all pixels given.

    ``M[t, p]`` counts the pixels with true label ``t`` (row) and predicted label ``p``
    (column); pixels whose *target* is ``ignore_index`` are skipped. Confusion matrices of
    several batches add up: the dataset's matrix is the sum of its images' matrices.

    Args:
        pred (Tensor[...]): integer predicted labels in ``[0, num_classes)`` (int64, or any
            integer dtype such as uint8 VOC masks, counted exactly as int64).
        target (Tensor[...]): integer true labels in ``[0, num_classes)`` or ``ignore_index``,
            same shape as ``pred`` (any integer dtype, as ``pred``).
        num_classes (int): ``C >= 1``.
        ignore_index (int): the target label to skip.

    Returns:
        Tensor[C, C]: int64 counts.

    Raises:
        TypeError: ``pred`` or ``target`` is not an integer tensor.
        ValueError: shapes differ, ``num_classes < 1``, or a label is out of range (a
            prediction outside ``[0, C)``, a target outside it that is not ``ignore_index``).
    """
    raise NotImplementedError("confusion_matrix: implement me (see README.md, section `loss_metric`)")


def mean_iou(confusion: Tensor) -> tuple[Tensor, Tensor]:
    """Per-class IoU and their mean from a (dataset-level) confusion matrix.

    ``IoU_c = M[c, c] / (sum_p M[c, p] + sum_t M[t, c] - M[c, c])`` (true positives over
    the union of the true and predicted pixels of class ``c``). A class with an empty union
    (neither in the targets nor in the predictions) has IoU ``nan`` and is left out of the
    mean; the mean of no classes is ``nan``. This is torchmetrics'
    ``MulticlassJaccardIndex(average="macro")`` on the same pixels.

    Args:
        confusion (Tensor[C, C]): counts, rows = true labels, columns = predictions (integer
            or floating point, non-negative).

    Returns:
        tuple[Tensor, Tensor]: ``(miou, iou)``, a float64 scalar and float64 ``Tensor[C]``,
        computed in float64 (the confusion matrix converted first, integer or float32).

    Raises:
        ValueError: ``confusion`` is empty (``C = 0``), not square or holds negative counts.
    """
    raise NotImplementedError("mean_iou: implement me (see README.md, section `loss_metric`)")
