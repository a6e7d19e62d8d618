"""Inputs of the vos speed check (trusted side).

``correlation_case`` returns ``(args, kwargs)`` for ``correlation(f1, f2, max_displacement=4)``
on a small FlowNetC-like feature map: B = 1, C = 8, 96 x 96, patch 1, strides 1 (81
displacements; few channels on a large map, so that the Python overhead of a per-pixel loop shows).
``variant`` picks other random features (variant 0 is the input the bands were calibrated on),
so memoising an input gains nothing.
"""

from __future__ import annotations

import torch

__all__ = ["correlation_case"]

VARIANT_STRIDE = 1_000_003
SHAPE = (1, 8, 96, 96)


def correlation_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    if type(variant) is not int or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    gen = torch.Generator().manual_seed(17 + VARIANT_STRIDE * variant)
    f1 = torch.randn(SHAPE, generator=gen)
    f2 = torch.randn(SHAPE, generator=gen)
    return (f1.to(device), f2.to(device)), {"patch_size": 1, "max_displacement": 4, "stride1": 1, "stride2": 1}
