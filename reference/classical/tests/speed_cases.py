"""Inputs of part A's speed checks (trusted side): ZNCC template matching and Haar features.

Each function returns ``(args, kwargs)`` for one call of the timed op, the same call for the
submission and the reference baseline. Inputs come from a fixed seed; ``variant`` picks another
seed (variant 0 is the input the bands were calibrated on), so memoising an input gains nothing.
"""

from __future__ import annotations

import torch

__all__ = ["zncc_case", "haar_case"]

VARIANT_STRIDE = 1_000_003


def _generator(seed: int, variant: int) -> torch.Generator:
    if type(variant) is not int or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    return torch.Generator().manual_seed(seed + VARIANT_STRIDE * variant)


def zncc_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    """``zncc(image, template)``: a 128 x 128 float64 image and a 12 x 12 template cut from it
    (13 689 positions; a Python loop over the positions is the typical mistake)."""
    gen = _generator(3031, variant)
    image = torch.rand(128, 128, generator=gen, dtype=torch.float64)
    y, x = (int(v) for v in torch.randint(0, 116, (2,), generator=gen))
    return (image.to(device), image[y:y + 12, x:x + 12].clone().to(device)), {}


def haar_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    """``haar_features(ii, rects, signs)``: integral images of 4 windows of 24 x 24 and all
    162 336 features (a Python loop over the features, or pixel sums without the integral
    image, is the typical mistake)."""
    gen = _generator(3032, variant)
    windows = torch.rand(4, 24, 24, generator=gen, dtype=torch.float64)
    ii = torch.nn.functional.pad(windows.cumsum(-2).cumsum(-1), (1, 0, 1, 0))  # [4, 25, 25]
    rects, signs = _all_features(24)
    return (ii.to(device), rects.to(device), signs.to(device)), {}


def _all_features(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every Haar feature of an n x n window as ([K, 4, 4] rects, [K, 4] signs) (any order)."""
    rects, signs = [], []
    for nx, ny, offsets in ((2, 1, [(0, 0), (0, 1)]), (1, 2, [(0, 0), (1, 0)]), (3, 1, [(0, 0), (0, 1), (0, 2)]),
                            (1, 3, [(0, 0), (1, 0), (2, 0)]), (2, 2, [(0, 0), (0, 1), (1, 1), (1, 0)])):
        y, x, dy, dx = torch.meshgrid(torch.arange(n), torch.arange(n), torch.arange(1, n + 1),
                                      torch.arange(1, n + 1), indexing="ij")
        keep = (y + ny * dy <= n) & (x + nx * dx <= n)
        y, x, dy, dx = y[keep], x[keep], dy[keep], dx[keep]
        r = torch.zeros(y.shape[0], 4, 4, dtype=torch.int64)
        s = torch.zeros(y.shape[0], 4, dtype=torch.float64)
        for k, (down, across) in enumerate(offsets):
            r[:, k] = torch.stack([y + down * dy, x + across * dx, dy, dx], dim=1)
            s[:, k] = -1.0 if k % 2 == 0 else 1.0
        rects.append(r)
        signs.append(s)
    return torch.cat(rects), torch.cat(signs)
