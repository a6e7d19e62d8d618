"""Inputs of the sot speed check (trusted side).

``hmm_case`` returns ``(args, kwargs)`` for ``hmm_forward(initial, transition, likelihoods)`` on
a 20 x 20 grid (S = 400 states) over T = 100 frames: a Gaussian motion kernel and likelihoods
of a target walking over the grid. ``variant`` picks another walk (variant 0 is the input the
bands were calibrated on), so memoising an input gains nothing.
"""

from __future__ import annotations

import torch

__all__ = ["hmm_case"]

VARIANT_STRIDE = 1_000_003
GRID = (20, 20)
FRAMES = 100


def _transition(height: int, width: int, sigma: float) -> torch.Tensor:
    r = torch.arange(height, dtype=torch.float64).repeat_interleave(width)
    c = torch.arange(width, dtype=torch.float64).repeat(height)
    k = torch.exp(-((r[:, None] - r[None]) ** 2 + (c[:, None] - c[None]) ** 2) / (2 * sigma ** 2))
    return k / k.sum(1, keepdim=True)


def hmm_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    if type(variant) is not int or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    gen = torch.Generator().manual_seed(31 + VARIANT_STRIDE * variant)
    h, w = GRID
    trans = _transition(h, w, 1.5).float()
    pos = torch.tensor([h / 2, w / 2])
    r = torch.arange(h, dtype=torch.float32).repeat_interleave(w)
    c = torch.arange(w, dtype=torch.float32).repeat(h)
    liks = []
    for _ in range(FRAMES):
        pos = (pos + torch.randn(2, generator=gen)).clamp(0, h - 1)
        z = pos + 0.8 * torch.randn(2, generator=gen)
        liks.append(torch.exp(-((r - z[0]) ** 2 + (c - z[1]) ** 2) / (2 * 2.0 ** 2)) + 1e-3)
    initial = torch.full((h * w,), 1.0 / (h * w))
    return (initial.to(device), trans.to(device), torch.stack(liks).to(device)), {}
