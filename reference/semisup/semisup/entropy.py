"""Task `entropy`: entropy minimisation, per sample and per pixel."""

from __future__ import annotations

import torch

from ._checks import float_tensor

__all__ = ["entropy"]

REDUCTIONS = ("none", "mean", "sum")


def entropy(logits: torch.Tensor, dim: int = 1, reduction: str = "mean",
            mask: torch.Tensor | None = None) -> torch.Tensor:
    """Shannon entropy (in nats) of the softmax of ``logits`` along ``dim``.

    ``H(p) = -sum_c p_c log p_c`` with ``p = softmax(logits, dim)``; equal to
    ``torch.distributions.Categorical(logits=logits.movedim(dim, -1)).entropy()``, including
    logits of ``-inf`` (a class with probability 0 contributes 0, never ``nan``).

    Args:
        logits (Tensor[N, C] or Tensor[N, C, H, W] or any shape): floating point; the class
            axis is ``dim`` (per sample: ``[N, C]``, per pixel: ``[N, C, H, W]``, both ``dim=1``).
        dim (int): the class axis (negative values count from the end).
        reduction (str): ``"none"`` (the entropy of every sample or pixel: ``logits``' shape
            without ``dim``), ``"mean"`` (the mean over the selected entries) or ``"sum"``.
        mask (Tensor or None): bool, the shape of the ``"none"`` output; only entries where it is
            True count in ``"mean"``/``"sum"`` (with ``"none"`` masked-out entries are 0).
            ``"mean"`` over an empty selection (no True, or no entries at all) is 0.

    Returns:
        Tensor: ``"none"``: ``logits.shape`` without ``dim``; otherwise a 0-dim tensor.
        Same dtype and device as ``logits``; differentiable.

    Raises:
        TypeError: ``logits`` is not a floating-point tensor; ``mask`` is not a bool tensor.
        ValueError: ``dim`` out of range, unknown ``reduction``, ``mask`` of the wrong shape.
    """
    # BEGIN SOLUTION
    float_tensor("logits", logits)
    if isinstance(dim, bool) or not isinstance(dim, int) or not -logits.dim() <= dim < logits.dim():
        raise ValueError(f"dim must be an int in [{-logits.dim()}, {logits.dim() - 1}] for logits of shape "
                         f"{list(logits.shape)}, got {dim!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    log_p = torch.log_softmax(logits, dim=dim)
    # p log p with log p clamped to the smallest finite value: 0 * (-inf) would be nan
    plogp = log_p.exp() * log_p.clamp(min=torch.finfo(logits.dtype).min)
    h = -plogp.sum(dim=dim)  # logits.shape without dim
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            got = mask if not isinstance(mask, torch.Tensor) else mask.dtype
            raise TypeError(f"mask must be a bool tensor, got {got}")
        if mask.shape != h.shape:
            raise ValueError(f"mask must have shape {list(h.shape)} (logits without dim {dim}), "
                             f"got {list(mask.shape)}")
        h = torch.where(mask, h, h.new_zeros(()))
        count = mask.sum()
    else:
        count = torch.tensor(h.numel(), device=h.device)
    if reduction == "none":
        return h
    if reduction == "sum":
        return h.sum()
    return h.sum() / count.clamp(min=1).to(h.dtype)
    # END SOLUTION
