"""MaskTrack (Perazzi et al., CVPR 2017): the previous frame's mask as a fourth input channel.

At test time the network sees ``[R, G, B, mask of frame t-1]`` and refines the mask for frame
``t``. It is trained from *static* images: the "previous mask" is simulated by deforming the
ground-truth mask -- an affine transform (a random scale and a random shift relative to the
object's size), a smooth non-rigid deformation (a random displacement field on a coarse grid,
interpolated bilinearly), and a coarsening dilation -- so that the network learns to correct a
rough, shifted estimate. The simulation is random, so it is seeded and graded through its
distributions and invariants.
"""

from __future__ import annotations

from typing import Sequence

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor

__all__ = ["masktrack_input", "affine_warp_mask", "dilate_mask", "deform_mask"]

# BEGIN SOLUTION


def _check_mask(name: str, m: object) -> Tensor:
    if not isinstance(m, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(m).__name__}")
    if m.dim() != 2:
        raise ValueError(f"{name} must have shape [H, W], got {list(m.shape)}")
    if m.is_floating_point() or m.is_complex():
        raise TypeError(f"{name} must be an integer or bool tensor, got dtype {m.dtype}")
    return m


def _number(name: str, v: object, lo: float, *, strict: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or (v <= lo if strict else v < lo):
        raise ValueError(f"{name} must be a number {'>' if strict else '>='} {lo}, got {v!r}")
    return float(v)


def _nearest_sample(mask: Tensor, src_x: Tensor, src_y: Tensor) -> Tensor:
    """mask at the nearest pixel of (src_x, src_y) (round half up), 0 outside."""
    h, w = mask.shape
    ix = torch.floor(src_x + 0.5).to(torch.int64)
    iy = torch.floor(src_y + 0.5).to(torch.int64)
    ok = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    out = torch.zeros((h, w), dtype=mask.dtype, device=mask.device)
    out[ok] = mask[iy[ok], ix[ok]]
    return out
# END SOLUTION


def masktrack_input(frames: Tensor, prev_masks: Tensor) -> Tensor:
    """The MaskTrack input: the RGB frames with the previous masks appended as channel 3.

    Args:
        frames (Tensor[N, 3, H, W]): float.
        prev_masks (Tensor[N, H, W]): masks (nonzero = object), any integer, bool or float dtype.

    Returns:
        Tensor[N, 4, H, W]: ``frames``' dtype; channel 3 is ``1.0`` on the object, ``0.0`` elsewhere.

    Raises:
        TypeError: ``frames`` not a floating-point tensor. ValueError: ``frames`` not
            ``[N, 3, H, W]``, or ``prev_masks`` not ``[N, H, W]`` with the same N, H and W.
    """
    # BEGIN SOLUTION
    if not isinstance(frames, Tensor) or not isinstance(prev_masks, Tensor):
        raise TypeError(f"frames and prev_masks must be torch.Tensor, got {type(frames).__name__} and "
                        f"{type(prev_masks).__name__}")
    if not frames.is_floating_point():
        raise TypeError(f"frames must be a floating-point tensor, got dtype {frames.dtype}")
    if frames.dim() != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must have shape [N, 3, H, W], got {list(frames.shape)}")
    expected = [frames.shape[0], *frames.shape[2:]]
    if list(prev_masks.shape) != expected:
        raise ValueError(f"prev_masks must have shape {expected}, got {list(prev_masks.shape)}")
    return torch.cat([frames, (prev_masks != 0).to(frames.dtype)[:, None]], dim=1)
    # END SOLUTION


def affine_warp_mask(mask: Tensor, scale: float, shift: Sequence[float],
                     centre: Sequence[float] | None = None) -> Tensor:
    """Scale ``mask`` by ``scale`` about ``centre`` and translate it by ``shift``, by backward
    nearest-neighbour sampling.

    Coordinates are pixel centres, ``x`` = column, ``y`` = row. Output pixel ``(x, y)`` takes the
    value of the input at ``(cx + (x - cx - dx) / scale, cy + (y - cy - dy) / scale)`` rounded to
    the nearest pixel (``floor(v + 0.5)``, halves up), and 0 where that falls outside the image.

    Args:
        mask (Tensor[H, W]): integer or bool.
        scale (float): > 0.
        shift: ``(dx, dy)`` in pixels.
        centre: ``(cx, cy)``; default the centroid of the nonzero pixels (mean column, mean row).
            An empty mask is returned unchanged (all zero).

    Returns:
        Tensor[H, W]: ``mask``'s dtype.

    Raises:
        TypeError: ``mask`` floating. ValueError: not 2-d, ``scale <= 0``, ``shift``/``centre``
            not two numbers.
    """
    # BEGIN SOLUTION
    _check_mask("mask", mask)
    s = _number("scale", scale, 0.0, strict=True)
    for name, v in (("shift", shift), ("centre", centre)):
        if v is not None and (not isinstance(v, (tuple, list)) or len(v) != 2
                              or any(isinstance(a, bool) or not isinstance(a, (int, float)) for a in v)):
            raise ValueError(f"{name} must be two numbers (x, y), got {v!r}")
    fg = mask != 0
    if not bool(fg.any()):
        return torch.zeros_like(mask)
    h, w = mask.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64, device=mask.device),
                            torch.arange(w, dtype=torch.float64, device=mask.device), indexing="ij")
    if centre is None:
        cx, cy = float(xs[fg].mean()), float(ys[fg].mean())
    else:
        cx, cy = float(centre[0]), float(centre[1])
    dx, dy = float(shift[0]), float(shift[1])
    return _nearest_sample(mask, cx + (xs - cx - dx) / s, cy + (ys - cy - dy) / s)
    # END SOLUTION


def dilate_mask(mask: Tensor, radius: int) -> Tensor:
    """Binary dilation by a disk: output pixel ``p`` is 1 where some nonzero input pixel ``q`` has
    ``|p - q|^2 <= radius^2`` (skimage's ``disk``); ``mask``'s dtype, values in ``{0, 1}``.

    Args:
        mask (Tensor[H, W]): integer or bool, as for :func:`affine_warp_mask`.
        radius (int): >= 0; 0 returns the mask binarised.

    Raises:
        TypeError: ``mask`` floating. ValueError: ``mask`` not 2-d, ``radius`` not an int >= 0.
    """
    # BEGIN SOLUTION
    _check_mask("mask", mask)
    if type(radius) is not int or radius < 0:
        raise ValueError(f"radius must be an int >= 0, got {radius!r}")
    r = radius
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    kernel = ((yy * yy + xx * xx) <= r * r).to(torch.float32, ).to(mask.device)[None, None]
    x = (mask != 0).to(torch.float32)[None, None]
    out = F.conv2d(x, kernel, padding=r)[0, 0] > 0.5
    return out.to(mask.dtype)
    # END SOLUTION


def deform_mask(mask: Tensor, *, seed: int, max_scale: float = 0.05, max_shift: float = 0.1,
                nonrigid: float = 2.0, grid: int = 4, dilation: int = 0) -> Tensor:
    """Simulate a previous-frame mask from a ground-truth mask (MaskTrack's training inputs).

    Using ``g = torch.Generator().manual_seed(seed)`` only (the global generator is untouched),
    in this order:

    1. affine: ``scale ~ U[1 - max_scale, 1 + max_scale]``, ``dx ~ U[-max_shift, max_shift] * bw``,
       ``dy ~ U[-max_shift, max_shift] * bh`` (``bw``, ``bh``: the width and height of the
       object's bounding box, ``x_max - x_min + 1``), then :func:`affine_warp_mask` about the centroid;
    2. non-rigid: a displacement field with ``(grid + 1) x (grid + 1)`` control values per
       component, each ``~ U[-nonrigid, nonrigid]`` pixels, upsampled to ``H x W`` by bilinear
       interpolation with ``align_corners=True`` (the control points sit on the image corners);
       output pixel ``p`` takes the nearest input pixel of ``p + field(p)`` (0 outside);
    3. :func:`dilate_mask` by ``dilation``.

    Invariants the grader checks: the same seed gives the same result; all-zero parameters give
    the input back; the centroid shift, the area ratio, the distance of moved pixels stay in the
    ranges the parameters allow, and their distributions over seeds are those of the uniform
    draws above; an empty mask stays empty.

    Args:
        mask (Tensor[H, W]): integer or bool.
        seed (int): the seed of the generator.
        max_scale (float): in ``[0, 1)``. max_shift, nonrigid (float): >= 0. grid (int): >= 1.
        dilation (int): >= 0.

    Returns:
        Tensor[H, W]: ``mask``'s dtype, values in ``{0, 1}``.

    Raises:
        TypeError / ValueError: a malformed mask or a parameter out of range.
    """
    # BEGIN SOLUTION
    _check_mask("mask", mask)
    if type(seed) is not int:
        raise ValueError(f"seed must be an int, got {seed!r}")
    ms = _number("max_scale", max_scale, 0.0)
    if ms >= 1:
        raise ValueError(f"max_scale must be in [0, 1), got {max_scale!r}")
    msh = _number("max_shift", max_shift, 0.0)
    amp = _number("nonrigid", nonrigid, 0.0)
    if type(grid) is not int or grid < 1:
        raise ValueError(f"grid must be an int >= 1, got {grid!r}")
    if type(dilation) is not int or dilation < 0:
        raise ValueError(f"dilation must be an int >= 0, got {dilation!r}")
    binary = (mask != 0).to(mask.dtype)
    if not bool(binary.any()):
        return torch.zeros_like(mask)
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(3, generator=g, dtype=torch.float64) * 2 - 1  # U[-1, 1]
    rows, cols = torch.nonzero(binary, as_tuple=True)
    bw = float(cols.max() - cols.min() + 1)
    bh = float(rows.max() - rows.min() + 1)
    out = affine_warp_mask(binary, 1 + ms * float(u[0]), (msh * float(u[1]) * bw, msh * float(u[2]) * bh))
    h, w = mask.shape
    ctrl = (torch.rand(1, 2, grid + 1, grid + 1, generator=g, dtype=torch.float64) * 2 - 1) * amp
    field = F.interpolate(ctrl, size=(h, w), mode="bilinear", align_corners=True)[0].to(mask.device)  # [2, H, W]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64, device=mask.device),
                            torch.arange(w, dtype=torch.float64, device=mask.device), indexing="ij")
    out = _nearest_sample(out, xs + field[0], ys + field[1])
    return dilate_mask(out, dilation)
    # END SOLUTION
