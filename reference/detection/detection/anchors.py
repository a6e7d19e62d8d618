"""Anchor boxes on a feature-map grid (Faster R-CNN's RPN)."""

from __future__ import annotations

# BEGIN SOLUTION
import math
import numbers
# END SOLUTION
from typing import Sequence

import torch
from torch import Tensor

__all__ = ["generate_anchors"]


# BEGIN SOLUTION
def _check_positive_pair(name: str, value: object) -> tuple[int, int]:
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f"{name} must be a pair of ints (height, width), got {value!r}")
    if value[0] <= 0 or value[1] <= 0:
        raise ValueError(f"{name} must be positive (height, width), got {tuple(value)!r}")
    return int(value[0]), int(value[1])


def _check_positive_numbers(name: str, values: object) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a non-empty sequence of positive numbers, got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of positive numbers, got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must contain numbers, got {v!r} in {values!r}")
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must contain positive finite numbers, got {v!r} in {values!r}")
        out.append(float(v))
    return out
# END SOLUTION


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
    # BEGIN SOLUTION
    height, width = _check_positive_pair("feature_size", feature_size)
    stride_h, stride_w = _check_positive_pair("stride", stride)
    scales = _check_positive_numbers("sizes", sizes)
    ratios = _check_positive_numbers("aspect_ratios", aspect_ratios)

    # base anchors are computed in float32 and rounded, then cast, as torchvision does
    scales_t = torch.tensor(scales, dtype=torch.float32, device=device)  # [S]
    ratios_t = torch.tensor(ratios, dtype=torch.float32, device=device)  # [R]
    h_ratios = torch.sqrt(ratios_t)  # [R]
    w_ratios = 1 / h_ratios  # [R]
    ws = (w_ratios[:, None] * scales_t[None, :]).reshape(-1)  # [R * S], ratio outer, size inner
    hs = (h_ratios[:, None] * scales_t[None, :]).reshape(-1)  # [R * S]
    base = (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round().to(dtype)  # [A, 4]

    shift_x = torch.arange(width, dtype=torch.int64, device=device) * stride_w  # [W]
    shift_y = torch.arange(height, dtype=torch.int64, device=device) * stride_h  # [H]
    grid_y, grid_x = torch.meshgrid(shift_y, shift_x, indexing="ij")  # [H, W] each
    grid_x, grid_y = grid_x.reshape(-1), grid_y.reshape(-1)  # [H * W]
    shifts = torch.stack((grid_x, grid_y, grid_x, grid_y), dim=1).to(dtype)  # [H * W, 4]
    return (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)  # [H * W * A, 4]
    # END SOLUTION
