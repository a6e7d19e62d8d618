"""Inputs of the instance speed check (trusted side).

``matrix_nms_case`` returns ``(args, kwargs)`` for one call of ``matrix_nms``: 1000 masks of
32 x 32 in 80 clusters of overlapping discs (SOLOv2 keeps up to 500 to 1000 candidates before
Matrix NMS), 2 labels, distinct scores: the N x N decay dominates, not the mask products.
Built on the CPU from a fixed seed, then moved to ``device``;
``variant`` picks another seed (variant 0 is the input the bands were calibrated on).
"""

from __future__ import annotations

import torch

__all__ = ["matrix_nms_case"]

VARIANT_STRIDE = 1_000_003


def matrix_nms_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    if type(variant) is not int or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    gen = torch.Generator().manual_seed(4242 + VARIANT_STRIDE * variant)
    n, size, clusters = 1000, 32, 80
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    centres = torch.rand(clusters, 2, generator=gen) * size
    which = torch.randint(0, clusters, (n,), generator=gen)
    c = centres[which] + torch.randn(n, 2, generator=gen) * 2.0
    r = torch.rand(n, generator=gen) * 4 + 2
    masks = ((yy - c[:, 0, None, None]) ** 2 + (xx - c[:, 1, None, None]) ** 2) <= r[:, None, None] ** 2
    labels = torch.randint(0, 2, (n,), generator=gen)
    scores = (torch.randperm(n, generator=gen).float() + 1) / (n + 1)
    return (masks.to(device), labels.to(device), scores.to(device)), {"kernel": "gaussian", "sigma": 2.0}
