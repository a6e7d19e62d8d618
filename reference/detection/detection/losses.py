"""Losses for dense detectors: the sigmoid focal loss of RetinaNet (Lin et al., 2017)."""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor

__all__ = ["sigmoid_focal_loss"]

# BEGIN SOLUTION
_REDUCTIONS = ("none", "mean", "sum")
# END SOLUTION


def sigmoid_focal_loss(
    inputs: Tensor,
    targets: Tensor,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> Tensor:
    """Sigmoid focal loss ``FL(p_t) = -alpha_t (1 - p_t)^gamma log(p_t)``, elementwise.

    ``p = sigmoid(inputs)``, ``p_t = p`` where ``targets == 1`` and ``1 - p`` where
    ``targets == 0`` (``p_t = p * t + (1 - p) * (1 - t)`` in general), and
    ``alpha_t = alpha * t + (1 - alpha) * (1 - t)``. ``-log(p_t)`` is the binary cross-entropy
    computed from the logits (numerically stable). A negative ``alpha`` disables the alpha
    weighting (``alpha_t = 1``); ``gamma = 0`` and ``alpha < 0`` give plain BCE. Equal to
    ``torchvision.ops.sigmoid_focal_loss``; differentiable with respect to ``inputs``.

    Precision: computed in the dtype of ``inputs`` and ``targets`` promoted together, float16
    and bfloat16 included, as torchvision does (a float16 ``inputs`` with float32 ``targets``
    gives float32); integer or bool targets are converted to the dtype of ``inputs``. Taking
    ``-log(p_t)`` from the logits keeps float16 finite where ``log(sigmoid(x))`` underflows
    (``x < -17``). Computing a half-precision loss in float32 and rounding it is accepted too.

    Args:
        inputs (Tensor[*]): logits, float, any shape.
        targets (Tensor[*]): binary targets (0 or 1, soft values allowed), same shape as ``inputs``.
        alpha (float): weight of the positive class in [0, 1], or negative for none.
        gamma (float): focusing exponent, >= 0.
        reduction (str): "none" (elementwise loss), "mean" or "sum".

    Returns:
        Tensor: the loss, shaped like ``inputs`` for "none", a scalar otherwise; in the
        promoted dtype of ``inputs`` and ``targets``.

    Raises:
        TypeError: if ``inputs`` or ``targets`` is not a tensor.
        ValueError: if the shapes differ or ``reduction`` is not one of "none", "mean", "sum".
    """
    # BEGIN SOLUTION
    if not isinstance(inputs, Tensor) or not isinstance(targets, Tensor):
        bad = "inputs" if not isinstance(inputs, Tensor) else "targets"
        value = inputs if bad == "inputs" else targets
        raise TypeError(f"{bad} must be a torch.Tensor, got {type(value).__name__}")
    if inputs.shape != targets.shape:
        raise ValueError(
            f"targets must have the shape of inputs {list(inputs.shape)}, got {list(targets.shape)}"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of 'none', 'mean', 'sum', got {reduction!r}")

    if not targets.dtype.is_floating_point:
        targets = targets.to(inputs.dtype)  # 0/1 labels as integers or bools
    p = torch.sigmoid(inputs)  # [*]
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")  # [*] = -log(p_t)
    p_t = p * targets + (1 - p) * (1 - targets)  # [*]
    loss = ce_loss * ((1 - p_t) ** gamma)  # [*]
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)  # [*]
        loss = alpha_t * loss

    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
    # END SOLUTION
