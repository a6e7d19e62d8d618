"""Input checks shared by the modules (real exceptions naming the argument and the bad value)."""

from __future__ import annotations

import torch

__all__ = ["check_tensor", "check_shape"]


def check_tensor(name: str, x, *, dims: int | None = None, floating: bool = False) -> None:
    """Raise ``TypeError`` unless ``x`` is a tensor (optionally floating-point), ``ValueError``
    unless it has ``dims`` dimensions."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if dims is not None and x.dim() != dims:
        raise ValueError(f"{name} must have {dims} dimensions, got shape {list(x.shape)}")


def check_shape(name: str, x: torch.Tensor, shape: tuple) -> None:
    """Raise ``ValueError`` unless ``x.shape`` matches ``shape`` (``None`` = any size)."""
    ok = x.dim() == len(shape) and all(s is None or s == d for s, d in zip(shape, x.shape))
    if not ok:
        want = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
        raise ValueError(f"{name} must have shape {want}, got {list(x.shape)}")
