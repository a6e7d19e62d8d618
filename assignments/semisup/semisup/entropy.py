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
    raise NotImplementedError("entropy: implement me (see README.md, section `entropy`)")
