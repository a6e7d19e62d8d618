"""Trusted semantic-segmentation metrics (VOC convention), used by accuracy-check scorers.

One confusion matrix over the whole dataset (not a mean of per-image IoUs): ``M[t, p]`` counts
pixels of true class ``t`` predicted as ``p``; pixels whose target is ``ignore_index`` are
skipped. ``IoU_c = M[c, c] / (row_c + col_c - M[c, c])``; classes with an empty union are left
out of the mean (torchmetrics ``MulticlassJaccardIndex(average="macro", ignore_index=...)``
gives the same number; ``tests/test_segmentation_metrics.py`` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

__all__ = ["SegmentationScore", "confusion_matrix", "iou_from_confusion", "evaluate_segmentation"]


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int, *, ignore_index: int = 255) -> np.ndarray:
    """int64 ``[C, C]`` confusion matrix of one image (or any batch) of integer labels.

    Raises:
        ValueError: different shapes, a prediction outside ``[0, C)`` or a target outside it
            that is not ``ignore_index``.
    """
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {pred.shape} and {target.shape}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    t = target.reshape(-1).astype(np.int64)
    p = pred.reshape(-1).astype(np.int64)
    keep = t != ignore_index
    t, p = t[keep], p[keep]
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"target labels must lie in [0, {num_classes}) or be {ignore_index}")
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"predicted labels must lie in [0, {num_classes})")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_from_confusion(conf: np.ndarray) -> tuple[float, np.ndarray]:
    """``(mIoU, per-class IoU)``; a class with an empty union has IoU ``nan`` and is left out of
    the mean; the mean of no classes is ``nan``."""
    conf = np.asarray(conf, dtype=np.float64)
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / np.where(union > 0, union, 1.0), np.nan)
    present = union > 0
    return (float(iou[present].mean()) if present.any() else float("nan")), iou


@dataclass
class SegmentationScore:
    miou: float
    iou: np.ndarray
    confusion: np.ndarray
    pixel_accuracy: float
    per_image_miou: float = field(default=float("nan"))  # the *other* convention, for comparison


def evaluate_segmentation(pairs: Iterable[tuple[np.ndarray, np.ndarray]], num_classes: int, *,
                          ignore_index: int = 255) -> SegmentationScore:
    """Dataset-level mIoU of ``(pred, target)`` pairs: one confusion matrix summed over all
    images. Also reports pixel accuracy and, for comparison, the mean of per-image mIoUs."""
    total = np.zeros((num_classes, num_classes), dtype=np.int64)
    per_image = []
    for pred, target in pairs:
        c = confusion_matrix(pred, target, num_classes, ignore_index=ignore_index)
        total += c
        m, _ = iou_from_confusion(c)
        if m == m:
            per_image.append(m)
    miou, iou = iou_from_confusion(total)
    n = total.sum()
    acc = float(np.trace(total) / n) if n else float("nan")
    return SegmentationScore(miou=miou, iou=iou, confusion=total, pixel_accuracy=acc,
                             per_image_miou=float(np.mean(per_image)) if per_image else float("nan"))
