"""OTB one-pass evaluation: per-frame IoU and centre error, success and precision plots.

Conventions (OTB's toolkit; README.md, section `ope`): boxes ``(x1, y1, x2, y2)``, no +1; every
frame counts, the first included; a predicted box with ``x2 < x1`` or ``y2 < y1`` has zero area
(IoU 0) but its centre is still the midpoint; success thresholds ``linspace(0, 1, 21)`` with a
strict ``IoU > t``; AUC = the mean of the 21 success rates; precision thresholds 0, 1, ..., 50
pixels with ``error <= d``; the reported precision is at 20 pixels. All results are float64.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["frame_iou", "centre_error", "success_curve", "success_auc", "precision_curve", "precision_at"]

# BEGIN SOLUTION


def _pair(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    for name, x in (("pred", pred), ("gt", gt)):
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != 4:
            raise ValueError(f"{name} must be a Tensor[T, 4] (x1, y1, x2, y2)")
    if pred.shape[0] != gt.shape[0]:
        raise ValueError(f"pred has {pred.shape[0]} frames but gt has {gt.shape[0]}")
    if pred.shape[0] == 0:
        raise ValueError("need at least one frame")
    return pred.to(torch.float64), gt.to(torch.float64)
# END SOLUTION


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
    # BEGIN SOLUTION
    p, g = _pair(pred, gt)
    pw, ph = (p[:, 2] - p[:, 0]).clamp(min=0), (p[:, 3] - p[:, 1]).clamp(min=0)
    iw = (torch.minimum(p[:, 2], g[:, 2]) - torch.maximum(p[:, 0], g[:, 0])).clamp(min=0)
    ih = (torch.minimum(p[:, 3], g[:, 3]) - torch.maximum(p[:, 1], g[:, 1])).clamp(min=0)
    inter = torch.where((pw > 0) & (ph > 0), iw * ih, torch.zeros_like(iw))
    union = pw * ph + (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]) - inter
    return inter / union
    # END SOLUTION


def centre_error(pred: Tensor, gt: Tensor) -> Tensor:
    """Euclidean distance between the box centres per frame.

    Returns:
        Tensor[T]: float64 distances in pixels.

    Raises:
        ValueError: as :func:`frame_iou`.
    """
    # BEGIN SOLUTION
    p, g = _pair(pred, gt)
    dx = (p[:, 0] + p[:, 2]) / 2 - (g[:, 0] + g[:, 2]) / 2
    dy = (p[:, 1] + p[:, 3]) / 2 - (g[:, 1] + g[:, 3]) / 2
    return torch.sqrt(dx * dx + dy * dy)
    # END SOLUTION


def success_curve(pred: Tensor, gt: Tensor) -> Tensor:
    """The success plot: the fraction of frames with IoU > t for t = 0, 0.05, ..., 1.

    Returns:
        Tensor[21]: float64 success rates (thresholds ``torch.linspace(0, 1, 21)`` in float64).

    Raises:
        ValueError: as :func:`frame_iou`.
    """
    # BEGIN SOLUTION
    iou = frame_iou(pred, gt)
    thresholds = torch.linspace(0, 1, 21, dtype=torch.float64, device=iou.device)
    return (iou[None, :] > thresholds[:, None]).to(torch.float64).mean(dim=1)
    # END SOLUTION


def success_auc(pred: Tensor, gt: Tensor) -> Tensor:
    """The area under the success plot: the mean of the 21 success rates (a 0-d float64 tensor)."""
    # BEGIN SOLUTION
    return success_curve(pred, gt).mean()
    # END SOLUTION


def precision_curve(pred: Tensor, gt: Tensor) -> Tensor:
    """The precision plot: the fraction of frames with centre error <= d for d = 0, 1, ..., 50.

    Returns:
        Tensor[51]: float64 precisions.

    Raises:
        ValueError: as :func:`frame_iou`.
    """
    # BEGIN SOLUTION
    err = centre_error(pred, gt)
    thresholds = torch.arange(0, 51, dtype=torch.float64, device=err.device)
    return (err[None, :] <= thresholds[:, None]).to(torch.float64).mean(dim=1)
    # END SOLUTION


def precision_at(pred: Tensor, gt: Tensor, pixels: float = 20.0) -> Tensor:
    """The fraction of frames with centre error <= ``pixels`` (OTB reports 20), 0-d float64.

    Raises:
        ValueError: as :func:`frame_iou`, or ``pixels < 0``.
    """
    # BEGIN SOLUTION
    if not pixels >= 0:
        raise ValueError(f"pixels must be >= 0, got {pixels}")
    return (centre_error(pred, gt) <= pixels).to(torch.float64).mean()
    # END SOLUTION
