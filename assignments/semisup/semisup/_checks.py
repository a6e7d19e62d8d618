"""Input checks shared by the modules (given code: it is the same in the stub)."""

from __future__ import annotations

import torch


def describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def float_tensor(name: str, x, min_dim: int = 1, max_dim: int | None = None) -> None:
    """``ValueError``/``TypeError`` unless ``x`` is a floating-point tensor with enough dims."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {str(x.dtype).removeprefix('torch.')}")
    if x.dim() < min_dim or (max_dim is not None and x.dim() > max_dim):
        allowed = f"{min_dim}" if max_dim == min_dim else f"{min_dim} or more" if max_dim is None \
            else f"{min_dim} to {max_dim}"
        raise ValueError(f"{name} must have {allowed} dimensions, got shape {list(x.shape)}")


def probability(name: str, value, *, low_open: bool = False) -> float:
    """``value`` as a float in [0, 1] (or (0, 1] with ``low_open``), else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {describe(value)}")
    value = float(value)
    if not (0.0 <= value <= 1.0) or (low_open and value == 0.0):
        allowed = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be in {allowed}, got {value}")
    return value
