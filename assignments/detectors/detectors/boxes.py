"""Box helpers every part of a detector needs: IoU, NMS, the box coder, clipping and RoI Align.

You wrote all of these in the ``detection`` assignment: paste your implementations here (the
sandbox blocks ``torchvision``). The graded functions and your model call them, and a few
hidden tests check them again against torchvision under those functions' tasks. Boxes are
``(x1, y1, x2, y2)`` float tensors in pixels with no ``+1`` (torchvision's convention).

Half precision, as in ``detection``: IoU and NMS compute in float32 for float16 / bfloat16
boxes (an area overflows float16 once a box is about 181 x 181 pixels), and RoI Align computes
in float32 for a half-precision feature map and returns the map's dtype, with or without
``torch.autocast`` (what torchvision does under autocast). Under ``torch.autocast`` a float32
map is still computed in float32 (disable autocast inside), matching the plain float32 result
to 1e-5.
"""

from __future__ import annotations

import math
from typing import Sequence

from torch import Tensor

__all__ = [
    "box_iou",
    "nms",
    "batched_nms",
    "encode_boxes",
    "decode_boxes",
    "clip_boxes_to_image",
    "remove_small_boxes",
    "roi_align",
]


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise intersection over union of two sets of boxes.

    ``IoU(a, b) = area(a & b) / area(a | b)``; a pair whose union area is 0 gets IoU 0.

    Args:
        boxes1 (Tensor[N, 4]): (x1, y1, x2, y2), float.
        boxes2 (Tensor[M, 4]): (x1, y1, x2, y2), float.

    Returns:
        Tensor[N, M]: ``out[i, j] = IoU(boxes1[i], boxes2[j])``; float32 for float16 / bfloat16
        boxes.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if a shape is not [*, 4].
    """
    raise NotImplementedError("box_iou: paste your code from assignment detection (README.md, `helpers`)")


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression (as ``torchvision.ops.nms``).

    Boxes are visited by decreasing score, equal scores in input order (a stable sort, as in
    ``detection``); a box is kept unless its IoU with an already kept box is strictly greater
    than ``iou_threshold``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2), float.
        scores (Tensor[N]): one score per box.
        iou_threshold (float): the IoU above which a lower-scoring box is discarded.

    Returns:
        Tensor[K] int64: indices of the kept boxes, by decreasing score.

    Raises:
        TypeError: if ``boxes`` is not a tensor.
        ValueError: if ``boxes`` is not [N, 4].
    """
    raise NotImplementedError("nms: paste your code from assignment detection (README.md, `helpers`)")


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression independently per category (as ``torchvision.ops.batched_nms``).

    Within a category, equal scores are visited in input order, as in :func:`nms`.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2), float.
        scores (Tensor[N]): one score per box.
        idxs (Tensor[N] int64): category (or level, or image) of each box.
        iou_threshold (float): the IoU above which a lower-scoring box of the same category
            is discarded.

    Returns:
        Tensor[K] int64: indices of the kept boxes, by decreasing score.

    Raises:
        TypeError: if ``boxes`` is not a tensor.
        ValueError: if ``boxes`` is not [N, 4].
    """
    raise NotImplementedError("batched_nms: paste your code from assignment detection (README.md, `helpers`)")


def encode_boxes(
    reference_boxes: Tensor, proposals: Tensor, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)
) -> Tensor:
    """Regression targets of ``reference_boxes`` relative to ``proposals`` (anchors).

    ``t_x = w_x (g_cx - p_cx) / p_w``, ``t_y = w_y (g_cy - p_cy) / p_h``,
    ``t_w = w_w log(g_w / p_w)``, ``t_h = w_h log(g_h / p_h)``. Equal to torchvision's
    ``BoxCoder(weights).encode_single(reference_boxes, proposals)``.

    Args:
        reference_boxes (Tensor[N, 4]): ground-truth boxes g, (x1, y1, x2, y2).
        proposals (Tensor[N, 4]): anchors or proposals p, (x1, y1, x2, y2).
        weights (sequence of 4 floats): (w_x, w_y, w_w, w_h).

    Returns:
        Tensor[N, 4]: (t_x, t_y, t_w, t_h).
    """
    raise NotImplementedError("encode_boxes: paste your code from assignment detection (README.md, `helpers`)")


def decode_boxes(
    rel_codes: Tensor,
    boxes: Tensor,
    weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    bbox_xform_clip: float = math.log(1000.0 / 16),
) -> Tensor:
    """Boxes from regression codes, the inverse of :func:`encode_boxes`.

    ``cx = p_cx + (t_x / w_x) p_w``, ``cy = p_cy + (t_y / w_y) p_h``,
    ``w = p_w exp(min(t_w / w_w, clip))``, ``h = p_h exp(min(t_h / w_h, clip))``, then
    ``(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)``. Equal to torchvision's
    ``BoxCoder(weights, bbox_xform_clip).decode_single(rel_codes, boxes)``.

    Args:
        rel_codes (Tensor[N, 4]): (t_x, t_y, t_w, t_h).
        boxes (Tensor[N, 4]): anchors or proposals p, (x1, y1, x2, y2).
        weights (sequence of 4 floats): (w_x, w_y, w_w, w_h).
        bbox_xform_clip (float): upper bound of ``t_w / w_w`` and ``t_h / w_h``.

    Returns:
        Tensor[N, 4]: decoded boxes (x1, y1, x2, y2) in the dtype of ``rel_codes``; ``boxes``
        are converted to that dtype first (as ``BoxCoder.decode_single`` does), so everything is
        computed in it.
    """
    raise NotImplementedError("decode_boxes: paste your code from assignment detection (README.md, `helpers`)")


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clip boxes to an image: x to ``[0, width]``, y to ``[0, height]``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2).
        size (tuple[int, int]): (height, width) of the image.

    Returns:
        Tensor[N, 4]: the clipped boxes.
    """
    raise NotImplementedError(
        "clip_boxes_to_image: paste your code from assignment detection (README.md, `helpers`)"
    )


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """Indices of the boxes whose width and height are both at least ``min_size``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2).
        min_size (float): the smallest side kept.

    Returns:
        Tensor[K] int64: indices of the kept boxes, in input order.
    """
    raise NotImplementedError(
        "remove_small_boxes: paste your code from assignment detection (README.md, `helpers`)"
    )


def roi_align(
    input: Tensor,
    boxes: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoI Align (as ``torchvision.ops.roi_align``), differentiable with respect to ``input``.

    Each RoI, scaled by ``spatial_scale`` (and shifted by -0.5 with ``aligned=True``; its
    size clamped to at least 1 without it), is split into ``oh x ow`` bins; a bin averages
    ``gh x gw`` bilinear samples at ``(i + 0.5) / g`` of the bin, with ``g = sampling_ratio``
    if it is positive, else ``ceil(roi_size / output_size)`` per RoI (adaptive). A bin with no
    sample (adaptive, ``aligned=True`` and a RoI of zero width or height) pools to 0: the
    average divides by ``max(gh * gw, 1)``.

    Args:
        input (Tensor[N, C, H, W]): feature maps.
        boxes (Tensor[K, 5]): (batch_index, x1, y1, x2, y2) in image coordinates.
        output_size (int or tuple[int, int]): (oh, ow).
        spatial_scale (float): factor from image to feature-map coordinates.
        sampling_ratio (int): samples per bin along each axis; <= 0 means adaptive.
        aligned (bool): shift the RoI by half a pixel.

    Returns:
        Tensor[K, C, oh, ow]: pooled features, in the dtype of ``input`` (computed in float32 for
        a float16 / bfloat16 map, and for a float32 map under ``torch.autocast`` too).
    """
    raise NotImplementedError("roi_align: paste your code from assignment detection (README.md, `helpers`)")
