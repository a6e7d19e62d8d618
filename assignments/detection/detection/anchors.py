"""Anchor boxes on a feature-map grid (Faster R-CNN's RPN)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

__all__ = ["generate_anchors"]


def generate_anchors(
    feature_size: tuple[int, int],
    stride: tuple[int, int],
    sizes: Sequence[float],
    aspect_ratios: Sequence[float],
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Tensor:
    """All anchors of one feature map, as torchvision's ``AnchorGenerator`` makes them.

    Base anchors are centred on 0: for aspect ratio ``r = h / w`` and size ``s``,
    ``w = s / sqrt(r)``, ``h = s * sqrt(r)`` (so ``w * h = s^2``), and the base anchor is
    ``round((-w / 2, -h / 2, w / 2, h / 2))``. The base anchors are then shifted to every
    location: location (i, j) (row i, column j) adds ``(j * stride_w, i * stride_h)`` to both
    corners.

    Order: locations row-major (y, then x); within a location, aspect ratio is the outer and
    size the inner index, i.e. row ``((i * W + j) * len(aspect_ratios) + r) * len(sizes) + s``.
    Equal to ``AnchorGenerator((tuple(sizes),), (tuple(aspect_ratios),))`` on an image of size
    ``(H * stride_h, W * stride_w)`` with a feature map of size ``(H, W)``.

    Strides are integers, as torchvision's (``image_size // feature_size``); a float stride,
    even ``16.0``, is a ``TypeError`` in the reference. For an integral float the tests accept
    either that ``TypeError`` (naming ``stride``) or the anchors of the int stride.

    Precision: the base anchors are computed in float32 and rounded, then converted to
    ``dtype`` and shifted in ``dtype``, as torchvision does; so float16 / bfloat16 anchors far
    from the origin are rounded like torchvision's (bfloat16 represents integers exactly only
    up to 256).

    Args:
        feature_size (tuple[int, int]): (H, W) of the feature map.
        stride (tuple[int, int]): (stride_h, stride_w) in image pixels per feature-map cell,
            positive ints. A bool is not an int here nor in ``feature_size`` (``True`` /
            ``False`` raise ``TypeError``).
        sizes (sequence of float): anchor sizes (square root of the area) in pixels.
        aspect_ratios (sequence of float): height / width ratios.
        dtype (torch.dtype): dtype of the result.
        device (torch.device or str): device of the result.

    Returns:
        Tensor[H * W * A, 4]: (x1, y1, x2, y2) anchors, ``A = len(sizes) * len(aspect_ratios)``.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if a size, ratio, stride or feature-map side is not positive.
    """
    raise NotImplementedError("generate_anchors: implement me (see README.md, section `anchors`)")
