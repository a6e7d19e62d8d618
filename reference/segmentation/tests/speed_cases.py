"""Inputs of the segmentation speed checks (trusted side).

Each function returns ``(args, kwargs)`` for one call of the timed op, valid for both the
submission and the baseline. Built on the CPU from a fixed seed, then moved to ``device``;
``variant`` picks another seed (variant 0 is the calibrated input).
"""

from __future__ import annotations

import torch

__all__ = ["conv_transpose_case", "mean_field_case"]

VARIANT_STRIDE = 1_000_003


def _generator(seed: int, variant: int) -> torch.Generator:
    if type(variant) is not int or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    return torch.Generator().manual_seed(seed + VARIANT_STRIDE * variant)


def conv_transpose_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    """``conv_transpose2d(x, weight, bias, stride=2, padding=1)``: x [4, 32, 24, 24], weight
    [32, 16, 4, 4] (a 2x learned upsampling layer), float32."""
    g = _generator(3101, variant)
    x = torch.randn(4, 32, 24, 24, generator=g)
    weight = torch.randn(32, 16, 4, 4, generator=g) * 0.1
    bias = torch.randn(16, generator=g)
    return (x.to(device), weight.to(device), bias.to(device)), {"stride": 2, "padding": 1}


def mean_field_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    """``dense_crf_mean_field(unary, image, num_iters=5)`` on a 3-label 24 x 24 image
    (576 pixels, a dense 576 x 576 kernel), float32."""
    g = _generator(3102, variant)
    unary = torch.randn(3, 24, 24, generator=g) * 2
    image = torch.rand(3, 24, 24, generator=g)
    return (unary.to(device), image.to(device)), {"num_iters": 5, "theta_alpha": 6.0, "theta_beta": 0.2,
                                                  "theta_gamma": 2.0}
