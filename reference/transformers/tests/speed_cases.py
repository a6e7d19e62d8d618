"""Inputs of the speed check (trusted side): attention of one head over 1024 tokens of 16
features with a boolean mask (a per-query Python loop pays its overhead 1024 times, so it
separates from the vectorised solutions); ``variant`` gives a fresh input per timed call."""

from __future__ import annotations

import torch


def attention_case(device: str = "cpu", variant: int = 0):
    gen = torch.Generator().manual_seed(1000 + variant)
    q, k, v = (torch.randn(1, 1, 1024, 16, generator=gen).to(device) for _ in range(3))
    mask = (torch.rand(1024, 1024, generator=gen) > 0.2).to(device)
    mask[:, 0] = True
    return [q, k, v], {"attn_mask": mask}
