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

from torch import Tensor

__all__ = ["masktrack_input", "affine_warp_mask", "dilate_mask", "deform_mask"]


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
    raise NotImplementedError("masktrack_input: implement me (see README.md, section `masktrack`)")


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
    raise NotImplementedError("affine_warp_mask: implement me (see README.md, section `masktrack`)")


def dilate_mask(mask: Tensor, radius: int) -> Tensor:
    """Binary dilation by a disk: output pixel ``p`` is 1 where some nonzero input pixel ``q`` has
    ``|p - q|^2 <= radius^2`` (skimage's ``disk``); ``mask``'s dtype, values in ``{0, 1}``.

    Args:
        mask (Tensor[H, W]): integer or bool, as for :func:`affine_warp_mask`.
        radius (int): >= 0; 0 returns the mask binarised.

    Raises:
        TypeError: ``mask`` floating. ValueError: ``mask`` not 2-d, ``radius`` not an int >= 0.
    """
    raise NotImplementedError("dilate_mask: implement me (see README.md, section `masktrack`)")


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
    raise NotImplementedError("deform_mask: implement me (see README.md, section `masktrack`)")
