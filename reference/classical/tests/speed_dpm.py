"""Input of the distance-transform speed check (trusted side).

A 2 x 32768 map of random part scores (rows are long: a brute force over every source position
costs 32768 operations per pixel along x, the lower envelope a handful; with 4 x 8192 the
vectorised brute force was only 12x the reference, as slow as a documented numpy envelope), with a wide quadratic
cost along x and a narrow one along y. ``variant`` gives a fresh map per timed call.
"""

from __future__ import annotations

import torch

__all__ = ["dt2d_case", "SPEED_SHAPE"]

SPEED_SHAPE = (2, 32768)


def dt2d_case(device: str = "cpu", variant: int = 0):
    gen = torch.Generator().manual_seed(7000 + variant)
    scores = torch.randn(SPEED_SHAPE, generator=gen, dtype=torch.float64) * 3.0
    return [scores.to(device)], {"ax": 0.002, "bx": 0.01, "ay": 0.5, "by": -0.1}
