"""Inputs of the detection speed checks (trusted side).

Each function returns ``(args, kwargs)`` for one call of the timed op; the same call is made on
the submission and on the torchvision baseline, so the arguments follow both signatures.
Inputs are built on the CPU from a fixed seed, then moved to ``device``: every run, machine and
device times the same numbers. ``variant`` picks another seed (variant 0 is the input the bands
were calibrated on): the grader gives every timed call its own variant, so a submission that
memoises its input gains nothing.
"""

from __future__ import annotations

import torch

__all__ = ["nms_case", "roi_align_case"]

#: seeds of variants 1, 2, ... are this far apart (variant 0 keeps the calibrated seed)
VARIANT_STRIDE = 1_000_003


def _generator(seed: int, variant: int) -> torch.Generator:
    if type(variant) is not int or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    return torch.Generator().manual_seed(seed + VARIANT_STRIDE * variant)


def nms_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    """``nms(boxes, scores, iou_threshold)`` on 2000 boxes in 100 clusters of overlapping boxes
    (an 800 x 800 image), distinct scores, IoU threshold 0.5; another draw per ``variant``."""
    gen = _generator(2024, variant)
    num_boxes, num_clusters = 2000, 100
    centres = torch.rand(num_clusters, 2, generator=gen) * 760 + 20  # [100, 2]
    which = torch.randint(0, num_clusters, (num_boxes,), generator=gen)  # [2000]
    ctr = centres[which] + torch.randn(num_boxes, 2, generator=gen) * 6  # [2000, 2]
    wh = torch.rand(num_boxes, 2, generator=gen) * 40 + 20  # [2000, 2]
    boxes = torch.cat([ctr - wh / 2, ctr + wh / 2], dim=1)  # [2000, 4]
    scores = (torch.randperm(num_boxes, generator=gen).float() + 1) / num_boxes  # [2000], distinct
    return (boxes.to(device), scores.to(device), 0.5), {}


def roi_align_case(device: str = "cpu", variant: int = 0) -> tuple[tuple, dict]:
    """``roi_align(input, boxes, 7, spatial_scale=1.0, sampling_ratio=2, aligned=True)`` with
    input [2, 64, 50, 50] float32 and 256 RoIs (batch_index, x1, y1, x2, y2) of 4 to 40 pixels;
    another draw per ``variant``."""
    gen = _generator(2025, variant)
    features = torch.randn(2, 64, 50, 50, generator=gen)  # [2, 64, 50, 50]
    num_rois = 256
    xy = torch.rand(num_rois, 2, generator=gen) * 45  # [256, 2]
    wh = torch.rand(num_rois, 2, generator=gen) * 36 + 4  # [256, 2]
    index = torch.randint(0, 2, (num_rois, 1), generator=gen).float()  # [256, 1]
    rois = torch.cat([index, xy, xy + wh], dim=1)  # [256, 5]
    return (features.to(device), rois.to(device), 7), {
        "spatial_scale": 1.0,
        "sampling_ratio": 2,
        "aligned": True,
    }
