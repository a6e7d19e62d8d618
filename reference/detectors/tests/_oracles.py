"""Shared inputs of the hidden tests (trusted side): seeded tensors and torchvision modules
with non-trivial weights, whose state dicts are copied into the student's modules."""

from __future__ import annotations

import torch


def randn(*shape, seed: int, dtype=torch.float32, scale: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(dtype)


def random_boxes(n: int, seed: int, width: float, height: float, min_side: float = 2.0,
                 max_side: float | None = None, outside: float = 0.0) -> torch.Tensor:
    """``n`` float32 boxes (x1, y1, x2, y2) in a width x height image; with ``outside`` > 0
    some stick out by up to that many pixels."""
    gen = torch.Generator().manual_seed(seed)
    max_side = max_side or min(width, height) / 2
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * (max_side - min_side) + min_side
    lo = torch.tensor([-outside, -outside], dtype=torch.float64)
    hi = torch.tensor([width, height], dtype=torch.float64) + outside
    xy = lo + torch.rand(n, 2, generator=gen, dtype=torch.float64) * (hi - lo - wh).clamp(min=1)
    return torch.cat([xy, xy + wh], dim=1).float()


def perturbed(module: torch.nn.Module, seed: int, scale: float = 0.2) -> torch.nn.Module:
    """``module`` with every parameter set to seeded noise (non-zero biases included), so that
    a mix-up of two parameters or a forgotten bias changes the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen) * scale / max(fan_in, 1) ** 0.5)
    return module.eval()


def state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A plain dict of detached tensors (what crosses the sandbox)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def distinct_logits(*shape, seed: int, low: float = -4.0, high: float = 4.0) -> torch.Tensor:
    """Float32 logits whose sigmoids are all different (NMS and top-k order by score, and equal
    scores have no defined order): a seeded permutation of evenly spaced values in [low, high]."""
    n = 1
    for s in shape:
        n *= s
    gen = torch.Generator().manual_seed(seed)
    values = torch.randperm(n, generator=gen).to(torch.float64) / max(n - 1, 1) * (high - low) + low
    return values.float().reshape(shape)
