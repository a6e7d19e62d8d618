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

from torch import Tensor, nn

__all__ = ["roi_pool", "roi_align", "RoIAlign"]


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
    raise NotImplementedError("roi_pool: implement me (see README.md, section `roi_pool`)")


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
    raise NotImplementedError("roi_align: implement me (see README.md, section `roi_align`)")


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
        raise NotImplementedError("RoIAlign.forward: implement me (see README.md, section `roi_align`)")
