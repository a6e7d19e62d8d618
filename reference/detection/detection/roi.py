"""Region-of-interest feature extraction: RoI Pool (Fast R-CNN) and RoI Align (Mask R-CNN).

RoIs are given as ``Tensor[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` in image
coordinates; ``spatial_scale`` maps them onto the feature map (e.g. 1/16 for a stride-16
backbone). Pixel ``(h, w)`` of the feature map has its centre at ``(h + 0.5, w + 0.5)`` in the
continuous coordinates used by ``aligned=True``.

Precision: both ops compute in float32 when ``input`` is float16 or bfloat16 (the RoIs are
read in float32 too, never rounded to the feature map's dtype) and return the input's dtype,
which is what torchvision does under ``torch.autocast``; the result does not depend on
whether autocast is active. float64 inputs are computed in float64.
"""

from __future__ import annotations

# BEGIN SOLUTION
import math

import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor, nn

__all__ = ["roi_pool", "roi_align", "RoIAlign"]

# BEGIN SOLUTION
# Upper bound on gathered samples (RoIs x bins x sampling points x 4 corners) per chunk of
# RoIs in roi_align, to keep index/weight tensors small for huge adaptive grids.
_MAX_SAMPLES_PER_CHUNK = 1 << 22


def _check_roi_inputs(input: object, boxes: object) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"input must be a torch.Tensor of shape [N, C, H, W], got {type(input).__name__}")
    if input.dim() != 4:
        raise ValueError(f"input must have shape [N, C, H, W], got {list(input.shape)}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"input must be a floating-point tensor, got dtype {input.dtype}")
    if not isinstance(boxes, Tensor):
        raise TypeError(
            f"boxes must be a torch.Tensor of shape [K, 5] (batch_index, x1, y1, x2, y2), "
            f"got {type(boxes).__name__}"
        )
    if boxes.dim() != 2 or boxes.shape[1] != 5:
        raise ValueError(
            f"boxes must have shape [K, 5] with rows (batch_index, x1, y1, x2, y2), got {list(boxes.shape)}"
        )
    if boxes.shape[0] > 0:
        batch = boxes[:, 0]
        bad = (batch < 0) | (batch >= input.shape[0]) | (batch != batch.floor())
        if bool(bad.any()):
            value = batch[bad][0].item()
            raise ValueError(
                f"boxes[:, 0] must hold batch indices in [0, {input.shape[0] - 1}], got {value!r}"
            )


def _output_pair(output_size: object) -> tuple[int, int]:
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        size = (output_size, output_size)
    elif (
        isinstance(output_size, (tuple, list))
        and len(output_size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) for s in output_size)
    ):
        size = (int(output_size[0]), int(output_size[1]))
    else:
        raise TypeError(f"output_size must be an int or a pair of ints (height, width), got {output_size!r}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"output_size must be positive, got {output_size!r}")
    return size


def _round_half_away(x: Tensor) -> Tensor:
    """C's ``round``: halves go away from zero (``torch.round`` rounds them to even)."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def _compute_dtype(input: Tensor) -> torch.dtype:
    """float32 for half-precision feature maps (sampling positions, bilinear weights and
    sums lose digits in float16 / bfloat16), else the input's own dtype."""
    return torch.float32 if input.dtype in (torch.float16, torch.bfloat16) else input.dtype


def _autocast_off(input: Tensor):
    """A context that disables autocast on the input's device: the op picks its own precision
    (as torchvision's autocast kernels run the float32 kernel with autocast excluded)."""
    return torch.autocast(device_type=input.device.type, enabled=False)
# END SOLUTION


def roi_pool(
    input: Tensor,
    boxes: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> Tensor:
    """RoI max pooling (Fast R-CNN), with the legacy quantised conventions.

    Each RoI is scaled by ``spatial_scale`` and its corners are rounded to integers
    (``x1' = round(x1 * spatial_scale)`` etc., halves away from zero); its size counts both
    end pixels, ``roi_w = max(x2' - x1' + 1, 1)`` (the legacy ``+1``). Bin ``(ph, pw)`` covers
    rows ``[y1' + floor(ph * roi_h / oh), y1' + ceil((ph + 1) * roi_h / oh))`` and the
    analogous columns, clipped to the feature map; the output is the maximum over the bin, or
    0 for an empty bin. Equal to ``torchvision.ops.roi_pool``.

    The rounding and the bin edges are computed in float32 for a float16 / bfloat16 ``input``
    (in its own dtype otherwise); the maxima are exact in any dtype. ``boxes`` may have another
    floating dtype than ``input``. The gradient of a bin goes to its maximum; where several
    elements tie for it, to the first of them in row-major order (as in torchvision).

    Args:
        input (Tensor[N, C, H, W]): feature maps, float.
        boxes (Tensor[K, 5]): (batch_index, x1, y1, x2, y2) in image coordinates.
        output_size (int or tuple[int, int]): (oh, ow), or one int for both; a bool is not an
            int here (``True`` / ``False`` raise ``TypeError``).
        spatial_scale (float): factor from image to feature-map coordinates.

    Returns:
        Tensor[K, C, oh, ow]: pooled features, in the dtype of ``input``.

    Raises:
        TypeError: if an argument has the wrong type, e.g. an ``input`` that is not floating
            point (a ``ValueError`` is accepted for that too).
        ValueError: if a shape is wrong, ``output_size`` is not positive or a batch index is
            out of range.
    """
    # BEGIN SOLUTION
    _check_roi_inputs(input, boxes)
    oh, ow = _output_pair(output_size)
    with _autocast_off(input):
        return _roi_pool(input, boxes, oh, ow, spatial_scale)
    # END SOLUTION


# BEGIN SOLUTION
def _roi_pool(input: Tensor, boxes: Tensor, oh: int, ow: int, spatial_scale: float) -> Tensor:
    """The body of :func:`roi_pool` on checked arguments."""
    _, channels, height, width = input.shape
    num_rois = boxes.shape[0]
    out = input.new_zeros((num_rois, channels, oh, ow))  # [K, C, oh, ow]
    if num_rois == 0:
        return out

    # bin edges in float32 for half-precision maps (as torchvision on float32 / autocast)
    rois = boxes.detach().to(_compute_dtype(input))  # [K, 5]
    corners = _round_half_away(rois[:, 1:] * spatial_scale).to(torch.int64)  # [K, 4]
    roi_w = (corners[:, 2] - corners[:, 0] + 1).clamp(min=1).to(rois.dtype)  # [K]
    roi_h = (corners[:, 3] - corners[:, 1] + 1).clamp(min=1).to(rois.dtype)  # [K]
    bin_w = roi_w / ow  # [K]
    bin_h = roi_h / oh  # [K]
    ph = torch.arange(oh, device=input.device, dtype=rois.dtype)  # [oh]
    pw = torch.arange(ow, device=input.device, dtype=rois.dtype)  # [ow]
    # bin edges in feature-map pixels, clipped to the map
    h_start = (torch.floor(ph * bin_h[:, None]).long() + corners[:, 1:2]).clamp(0, height)  # [K, oh]
    h_end = (torch.ceil((ph + 1) * bin_h[:, None]).long() + corners[:, 1:2]).clamp(0, height)  # [K, oh]
    w_start = (torch.floor(pw * bin_w[:, None]).long() + corners[:, 0:1]).clamp(0, width)  # [K, ow]
    w_end = (torch.ceil((pw + 1) * bin_w[:, None]).long() + corners[:, 0:1]).clamp(0, width)  # [K, ow]

    batch_index = rois[:, 0].long().tolist()
    h_start_l, h_end_l = h_start.tolist(), h_end.tolist()
    w_start_l, w_end_l = w_start.tolist(), w_end.tolist()
    cols = torch.arange(width, device=input.device)  # [W]
    neg_inf = torch.tensor(-math.inf, dtype=input.dtype, device=input.device)
    for k in range(num_rois):
        w0, w1 = min(w_start_l[k]), max(w_end_l[k])  # columns spanned by the RoI's bins
        h0, h1 = min(h_start_l[k]), max(h_end_l[k])  # rows spanned by the RoI's bins
        if w1 <= w0 or h1 <= h0:
            continue  # every bin is empty
        window = input[batch_index[k], :, h0:h1, w0:w1]  # [C, h, w]
        # the max over a rectangle is separable: the columns of each bin first (a mask, bins
        # may share a column), then the rows of each bin (contiguous slices). max(dim) picks
        # the first maximal element, so a bin's gradient goes to its first maximum in row-major
        # order, the element torchvision's kernel picks
        in_col_bin = (cols[w0:w1] >= w_start[k, :, None]) & (cols[w0:w1] < w_end[k, :, None])  # [ow, w]
        col_max = torch.where(in_col_bin, window[:, :, None, :], neg_inf).max(dim=3).values  # [C, h, ow]
        bin_max = torch.stack(
            [
                col_max[:, hs - h0 : he - h0].max(dim=1).values if he > hs else neg_inf.expand(channels, ow)
                for hs, he in zip(h_start_l[k], h_end_l[k], strict=True)
            ],
            dim=1,
        )  # [C, oh, ow]
        empty = (h_end[k] <= h_start[k])[:, None] | (w_end[k] <= w_start[k])[None, :]  # [oh, ow]
        out[k] = torch.where(empty, torch.zeros_like(bin_max), bin_max)
    return out
# END SOLUTION


# BEGIN SOLUTION
def _roi_align_chunk(
    flat_input: Tensor,
    rois: Tensor,
    height: int,
    width: int,
    oh: int,
    ow: int,
    grid_h: int,
    grid_w: int,
    spatial_scale: float,
    aligned: bool,
) -> Tensor:
    """RoI Align of RoIs that share the sampling grid (grid_h x grid_w points per bin).

    ``flat_input`` is the feature map as ``Tensor[N * H * W, C]``; returns ``Tensor[k, C, oh, ow]``.
    """
    num_rois = rois.shape[0]
    dtype, device = flat_input.dtype, flat_input.device
    offset = 0.5 if aligned else 0.0
    x1 = rois[:, 1] * spatial_scale - offset  # [k]
    y1 = rois[:, 2] * spatial_scale - offset  # [k]
    roi_w = rois[:, 3] * spatial_scale - offset - x1  # [k]
    roi_h = rois[:, 4] * spatial_scale - offset - y1  # [k]
    if not aligned:  # legacy: force malformed RoIs to be at least 1x1
        roi_w = roi_w.clamp(min=1.0)
        roi_h = roi_h.clamp(min=1.0)
    bin_w = roi_w / ow  # [k]
    bin_h = roi_h / oh  # [k]

    def axis(start: Tensor, bin_size: Tensor, bins: int, grid: int, size: int):
        """Sample positions along one axis -> corner indices [k, bins, grid, 2] and weights."""
        b = torch.arange(bins, device=device, dtype=dtype)  # [bins]
        g = torch.arange(grid, device=device, dtype=dtype) + 0.5  # [grid]
        pos = (start[:, None, None] + b[None, :, None] * bin_size[:, None, None]) + (
            g * bin_size[:, None, None] / grid
        )  # [k, bins, grid]
        valid = (pos >= -1.0) & (pos <= size)  # [k, bins, grid]: further out samples count 0
        pos = pos.clamp(min=0)
        low = pos.floor().long()  # [k, bins, grid]
        at_edge = low >= size - 1
        low = torch.where(at_edge, size - 1, low)
        high = torch.where(at_edge, size - 1, low + 1)
        pos = torch.where(at_edge, low.to(dtype), pos)
        frac = pos - low  # [k, bins, grid]
        w_low = torch.where(valid, 1.0 - frac, 0.0)  # [k, bins, grid]
        w_high = torch.where(valid, frac, 0.0)  # [k, bins, grid]
        return torch.stack((low, high), dim=-1), torch.stack((w_low, w_high), dim=-1)

    y_idx, y_w = axis(y1, bin_h, oh, grid_h, height)  # [k, oh, gh, 2] each
    x_idx, x_w = axis(x1, bin_w, ow, grid_w, width)  # [k, ow, gw, 2] each
    base = rois[:, 0].long() * (height * width)  # [k]
    # dims: k, ph, pw, iy, ix, y-corner, x-corner
    index = (
        base[:, None, None, None, None, None, None]
        + y_idx[:, :, None, :, None, :, None] * width
        + x_idx[:, None, :, None, :, None, :]
    )  # [k, oh, ow, gh, gw, 2, 2]
    weight = (
        y_w[:, :, None, :, None, :, None] * x_w[:, None, :, None, :, None, :] / (grid_h * grid_w)
    )  # [k, oh, ow, gh, gw, 2, 2]
    samples = 4 * grid_h * grid_w
    pooled = F.embedding_bag(
        index.reshape(-1, samples),
        flat_input,
        per_sample_weights=weight.reshape(-1, samples),
        mode="sum",
    )  # [k * oh * ow, C]
    return pooled.reshape(num_rois, oh, ow, -1).permute(0, 3, 1, 2)  # [k, C, oh, ow]
# END SOLUTION


def roi_align(
    input: Tensor,
    boxes: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoI Align (Mask R-CNN): average of bilinearly interpolated samples per output bin.

    The RoI is scaled by ``spatial_scale`` and, with ``aligned=True``, shifted by -0.5 so that
    pixel centres sit at integer coordinates; without it, its size is clamped to at least 1.
    It is split into ``oh x ow`` bins; each bin averages ``gh x gw`` regularly spaced samples
    (at ``(i + 0.5) / g`` of the bin), ``gh = gw = sampling_ratio`` if it is positive, else
    ``gh = ceil(roi_h / oh)`` and ``gw = ceil(roi_w / ow)`` for every RoI (adaptive). A bin
    without samples (adaptive ``gh <= 0`` or ``gw <= 0``, e.g. a RoI of zero or negative size
    with ``aligned=True``) outputs 0, as torchvision divides by ``max(gh * gw, 1)``. A sample
    further than one pixel outside the map contributes 0; coordinates below 0 are clamped to 0
    and the bilinear interpolation stops at the last row/column. Equal to
    ``torchvision.ops.roi_align``; differentiable with respect to ``input``.

    A float16 / bfloat16 ``input`` is computed in float32 (RoIs included, never rounded to the
    input's dtype) and the result rounded to the input's dtype: torchvision's result under
    ``torch.autocast``, with or without autocast active. ``boxes`` may have another floating
    dtype than ``input``.

    Args:
        input (Tensor[N, C, H, W]): feature maps, float.
        boxes (Tensor[K, 5]): (batch_index, x1, y1, x2, y2) in image coordinates.
        output_size (int or tuple[int, int]): (oh, ow), or one int for both; a bool is not an
            int here (``True`` / ``False`` raise ``TypeError``).
        spatial_scale (float): factor from image to feature-map coordinates.
        sampling_ratio (int): sampling points per bin along each axis; <= 0 means adaptive.
        aligned (bool): shift the RoI by half a pixel (the corrected, recommended convention).

    Returns:
        Tensor[K, C, oh, ow]: pooled features, in the dtype of ``input``.

    Raises:
        TypeError: if an argument has the wrong type, e.g. an ``input`` that is not floating
            point (a ``ValueError`` is accepted for that too).
        ValueError: if a shape is wrong, ``output_size`` is not positive or a batch index is
            out of range.
    """
    # BEGIN SOLUTION
    _check_roi_inputs(input, boxes)
    oh, ow = _output_pair(output_size)
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, int):
        raise TypeError(f"sampling_ratio must be an int (<= 0 for adaptive), got {sampling_ratio!r}")
    with _autocast_off(input):
        return _roi_align(input, boxes, oh, ow, spatial_scale, sampling_ratio, aligned)
    # END SOLUTION


# BEGIN SOLUTION
def _roi_align(
    input: Tensor, boxes: Tensor, oh: int, ow: int, spatial_scale: float, sampling_ratio: int, aligned: bool
) -> Tensor:
    """The body of :func:`roi_align` on checked arguments."""
    num_batch, channels, height, width = input.shape
    num_rois = boxes.shape[0]
    if num_rois == 0:
        return input.new_zeros((0, channels, oh, ow))

    dtype = _compute_dtype(input)  # float32 for half-precision maps, as torchvision under autocast
    rois = boxes.detach().to(dtype)  # [K, 5]
    flat_input = input.to(dtype).permute(0, 2, 3, 1).reshape(num_batch * height * width, channels)  # [N*H*W, C]

    # sampling grid of every RoI, [K] each
    if sampling_ratio > 0:
        grid_h = torch.full((num_rois,), sampling_ratio, dtype=torch.int64, device=input.device)
        grid_w = grid_h
    else:
        offset = 0.5 if aligned else 0.0
        roi_w = (rois[:, 3] * spatial_scale - offset) - (rois[:, 1] * spatial_scale - offset)  # [K]
        roi_h = (rois[:, 4] * spatial_scale - offset) - (rois[:, 2] * spatial_scale - offset)  # [K]
        if not aligned:
            roi_w = roi_w.clamp(min=1.0)
            roi_h = roi_h.clamp(min=1.0)
        grid_w = torch.ceil(roi_w / ow).clamp(min=0).long()  # [K]
        grid_h = torch.ceil(roi_h / oh).clamp(min=0).long()  # [K]

    out = flat_input.new_zeros((num_rois, channels, oh, ow))  # [K, C, oh, ow]
    # RoIs with the same grid are processed together, in chunks of bounded size
    grids, group = torch.unique(torch.stack((grid_h, grid_w), dim=1), dim=0, return_inverse=True)
    for g, (gh, gw) in enumerate(grids.tolist()):
        if gh == 0 or gw == 0:
            continue  # no sampling point: torchvision's output is 0
        members = torch.nonzero(group == g).squeeze(1)  # [k]
        chunk = max(1, _MAX_SAMPLES_PER_CHUNK // (oh * ow * gh * gw * 4))
        for start in range(0, members.numel(), chunk):
            idx = members[start : start + chunk]
            out[idx] = _roi_align_chunk(
                flat_input, rois[idx], height, width, oh, ow, gh, gw, spatial_scale, aligned
            )
    return out.to(input.dtype)
# END SOLUTION


class RoIAlign(nn.Module):
    """Module form of :func:`roi_align`.

    Args:
        output_size (int or tuple[int, int]): (oh, ow), or one int for both.
        spatial_scale (float): factor from image to feature-map coordinates.
        sampling_ratio (int): sampling points per bin along each axis; <= 0 means adaptive.
        aligned (bool): shift the RoI by half a pixel.
    """

    def __init__(
        self,
        output_size: int | tuple[int, int],
        spatial_scale: float = 1.0,
        sampling_ratio: int = -1,
        aligned: bool = False,
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        """Apply :func:`roi_align` with this module's settings.

        Args:
            input (Tensor[N, C, H, W]): feature maps, float.
            rois (Tensor[K, 5]): (batch_index, x1, y1, x2, y2) in image coordinates.

        Returns:
            Tensor[K, C, oh, ow]: pooled features.
        """
        # BEGIN SOLUTION
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)
        # END SOLUTION
