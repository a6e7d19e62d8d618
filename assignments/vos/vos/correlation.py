"""The FlowNetC correlation layer (task `correlation`; Dosovitskiy et al., 2015).

The correlation of two feature maps compares a ``patch_size x patch_size`` patch of ``f1``
centred at ``x1`` with the patch of ``f2`` centred at ``x1 + d`` for every displacement ``d`` on
a grid of step ``stride2`` with ``|dx|, |dy| <= max_displacement``:

    ``c(x1, d) = 1 / (patch_size^2 * C) * sum_{o in patch} <f1(x1 + o), f2(x1 + d + o)>``

``f2`` is zero outside the image (FlowNetC pads by ``max_displacement``).
"""

from __future__ import annotations

import torch

__all__ = ["correlation"]


def _check_param(value, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def _check_inputs(f1, f2, patch_size, max_displacement, stride1, stride2) -> None:
    """The input checks of :func:`correlation` (raise TypeError / ValueError)."""
    for name, f in (("f1", f1), ("f2", f2)):
        if type(f) is not torch.Tensor:
            raise TypeError(f"{name} must be a torch.Tensor, got {type(f).__name__}")
        if f.dim() != 4:
            raise ValueError(f"{name} must have shape [B, C, H, W], got {list(f.shape)}")
        if not f.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {f.dtype}")
    if f1.shape != f2.shape:
        raise ValueError(f"f1 {list(f1.shape)} and f2 {list(f2.shape)} must have the same shape")
    if f1.dtype != f2.dtype:
        raise TypeError(f"f1 ({f1.dtype}) and f2 ({f2.dtype}) must have the same dtype")
    _check_param(patch_size, "patch_size", 1)
    if patch_size % 2 == 0:
        raise ValueError(f"patch_size must be odd, got {patch_size}")
    _check_param(max_displacement, "max_displacement", 0)
    _check_param(stride1, "stride1", 1)
    _check_param(stride2, "stride2", 1)
    if min(f1.shape[2:]) < patch_size:
        raise ValueError(f"H and W ({list(f1.shape[2:])}) must be >= patch_size ({patch_size})")


def correlation(f1: torch.Tensor, f2: torch.Tensor, patch_size: int = 1, max_displacement: int = 4,
                stride1: int = 1, stride2: int = 1) -> torch.Tensor:
    """FlowNetC correlation (the Caffe layer with ``pad_size = max_displacement``).

    With ``k = (patch_size - 1) // 2``, ``R = max_displacement // stride2`` and
    ``D = 2 R + 1``:

    - output centres: ``x1 = (k + j * stride1, k + i * stride1)`` (x, y) for
      ``i < H_out = (H - 2k - 1) // stride1 + 1`` and ``j < W_out = (W - 2k - 1) // stride1 + 1``
      (every patch of ``f1`` lies inside the image);
    - displacements: ``dx = (q - R) * stride2``, ``dy = (p - R) * stride2`` for
      ``p, q = 0 .. D-1``; output channel ``p * D + q`` (FlowNetC layout: dy major, dx minor,
      so channel ``(D * D) // 2`` is the zero displacement);
    - ``out[b, p * D + q, i, j] = sum_{c, oy, ox in [-k, k]} f1[b, c, y1 + oy, x1 + ox] *
      f2[b, c, y1 + oy + dy, x1 + ox + dx] / (patch_size^2 * C)``, ``f2`` zero outside.

    Differentiable in ``f1`` and ``f2``; runs on the inputs' device.

    Args:
        f1, f2 (Tensor[B, C, H, W]): float, same shape, dtype and device; ``H, W >= patch_size``.
        patch_size (int): odd, >= 1.
        max_displacement (int): >= 0.
        stride1 (int): >= 1, step between output centres.
        stride2 (int): >= 1, step between displacements.

    Returns:
        Tensor[B, D * D, H_out, W_out]: dtype of the inputs.

    Raises:
        TypeError: non-tensor or non-float inputs, or different dtypes.
        ValueError: shapes or parameters out of range (an even ``patch_size``, ...).
    """
    _check_inputs(f1, f2, patch_size, max_displacement, stride1, stride2)
    raise NotImplementedError("correlation: implement me (see README.md, section `correlation`)")
