"""OTB one-pass evaluation: per-frame IoU and centre error, success and precision plots.

Conventions (OTB's toolkit; README.md, section `ope`): boxes ``(x1, y1, x2, y2)``, no +1; every
frame counts, the first included; a predicted box with ``x2 < x1`` or ``y2 < y1`` has zero area
(IoU 0) but its centre is still the midpoint; success thresholds ``linspace(0, 1, 21)`` with a
strict ``IoU > t``; AUC = the mean of the 21 success rates; precision thresholds 0, 1, ..., 50
pixels with ``error <= d``; the reported precision is at 20 pixels. All results are float64.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["frame_iou", "centre_error", "success_curve", "success_auc", "precision_curve", "precision_at"]


def frame_iou(pred: Tensor, gt: Tensor) -> Tensor:
    """IoU of ``pred[t]`` and ``gt[t]`` per frame.

    Args:
        pred (Tensor[T, 4]): predicted boxes (a negative width or height counts as 0 area).
        gt (Tensor[T, 4]): ground truth, positive sizes.

    Returns:
        Tensor[T]: float64 IoU in [0, 1].

    Raises:
        ValueError: shapes other than [T, 4] with the same T >= 1.
    """
    raise NotImplementedError("frame_iou: implement me (see README.md, section `ope`)")


def centre_error(pred: Tensor, gt: Tensor) -> Tensor:
    """Euclidean distance between the box centres per frame.

    Returns:
        Tensor[T]: float64 distances in pixels.

    Raises:
        ValueError: as :func:`frame_iou`.
    """
    raise NotImplementedError("centre_error: implement me (see README.md, section `ope`)")


def success_curve(pred: Tensor, gt: Tensor) -> Tensor:
    """The success plot: the fraction of frames with IoU > t for t = 0, 0.05, ..., 1.

    Returns:
        Tensor[21]: float64 success rates (thresholds ``torch.linspace(0, 1, 21)`` in float64).

    Raises:
        ValueError: as :func:`frame_iou`.
    """
    raise NotImplementedError("success_curve: implement me (see README.md, section `ope`)")


def success_auc(pred: Tensor, gt: Tensor) -> Tensor:
    """The area under the success plot: the mean of the 21 success rates (a 0-d float64 tensor)."""
    raise NotImplementedError("success_auc: implement me (see README.md, section `ope`)")


def precision_curve(pred: Tensor, gt: Tensor) -> Tensor:
    """The precision plot: the fraction of frames with centre error <= d for d = 0, 1, ..., 50.

    Returns:
        Tensor[51]: float64 precisions.

    Raises:
        ValueError: as :func:`frame_iou`.
    """
    raise NotImplementedError("precision_curve: implement me (see README.md, section `ope`)")


def precision_at(pred: Tensor, gt: Tensor, pixels: float = 20.0) -> Tensor:
    """The fraction of frames with centre error <= ``pixels`` (OTB reports 20), 0-d float64.

    Raises:
        ValueError: as :func:`frame_iou`, or ``pixels < 0``.
    """
    raise NotImplementedError("precision_at: implement me (see README.md, section `ope`)")
