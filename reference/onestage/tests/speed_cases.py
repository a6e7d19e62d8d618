"""Inputs of the speed check (trusted side): SSD matching of 20 ground truths against the 8732
default boxes of SSD300 (a Python loop over the priors pays its overhead 8732 times, so it
separates from the vectorised solutions); ``variant`` gives fresh boxes per timed call."""

from __future__ import annotations

import torch

SSD300_SIZES = [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]
SSD300_RATIOS = [[2], [2, 3], [2, 3], [2, 3], [2], [2]]
_PRIORS: dict[str, torch.Tensor] = {}


def _priors() -> torch.Tensor:
    if "p" not in _PRIORS:
        from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

        gen = DefaultBoxGenerator(SSD300_RATIOS, min_ratio=0.2, max_ratio=0.9)
        _PRIORS["p"] = gen._grid_default_boxes([list(s) for s in SSD300_SIZES], [300, 300], dtype=torch.float32)
    return _PRIORS["p"]


def match_case(device: str = "cpu", variant: int = 0):
    gen = torch.Generator().manual_seed(2000 + variant)
    c = 0.05 + 0.9 * torch.rand(20, 2, generator=gen)
    wh = 0.05 + 0.5 * torch.rand(20, 2, generator=gen)
    gt = torch.cat([c - wh / 2, c + wh / 2], 1).clamp(0, 1)
    return [gt.to(device), _priors().to(device)], {"threshold": 0.5}
