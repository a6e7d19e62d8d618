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

# BEGIN SOLUTION
import torch
# END SOLUTION
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


# BEGIN SOLUTION
def _check_boxes(name: str, boxes: object) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape [N, 4] with rows (x1, y1, x2, y2), got {list(boxes.shape)}")


def _upcast(boxes: Tensor) -> Tensor:
    """float16 / bfloat16 -> float32 (areas overflow or lose digits); other dtypes unchanged."""
    return boxes.float() if boxes.dtype in (torch.float16, torch.bfloat16) else boxes
# END SOLUTION


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
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("box_iou: paste your code from assignment detection (README.md, `helpers`)")
    _check_boxes("boxes1", boxes1)
    _check_boxes("boxes2", boxes2)
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # [N]
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # [M]
    lt = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])  # [N, M, 2]
    rb = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])  # [N, M, 2]
    wh = (rb - lt).clamp(min=0)  # [N, M, 2]
    inter = wh[..., 0] * wh[..., 1]  # [N, M]
    union = area1[:, None] + area2[None, :] - inter  # [N, M]
    safe = torch.where(union > 0, union, torch.ones_like(union))
    return torch.where(union > 0, inter / safe, torch.zeros_like(inter))
    # END SOLUTION


# BEGIN SOLUTION
def _greedy(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS; equal scores are visited in input order (a stable sort)."""
    order = torch.sort(scores, descending=True, stable=True).indices  # [N]
    over = box_iou(boxes[order], boxes[order]) > iou_threshold  # [N, N] by decreasing score
    pairs = torch.nonzero(over.triu(diagonal=1)).tolist()  # (i, j): i outranks and overlaps j
    suppresses: dict[int, list[int]] = {}
    for i, j in pairs:
        suppresses.setdefault(i, []).append(j)
    removed = [False] * order.numel()
    keep = []
    for i in range(order.numel()):
        if not removed[i]:
            keep.append(i)
            for j in suppresses.get(i, ()):
                removed[j] = True
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]
# END SOLUTION


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
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("nms: paste your code from assignment detection (README.md, `helpers`)")
    _check_boxes("boxes", boxes)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    return _greedy(_upcast(boxes), scores, float(iou_threshold))
    # END SOLUTION


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
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("batched_nms: paste your code from assignment detection (README.md, `helpers`)")
    _check_boxes("boxes", boxes)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    # offset every category by more than the extent of all boxes: no overlap across categories
    boxes = _upcast(boxes)
    extent = boxes.max() - boxes.min() + 1
    shifted = boxes - boxes.min() + (idxs.to(boxes.dtype) * extent)[:, None]  # [N, 4]
    return _greedy(shifted, scores, float(iou_threshold))
    # END SOLUTION


# BEGIN SOLUTION
def _weights(weights: Sequence[float]) -> tuple[float, float, float, float]:
    values = tuple(float(w) for w in weights)
    if len(values) != 4:
        raise ValueError(f"weights must have 4 entries (w_x, w_y, w_w, w_h), got {weights!r}")
    return values  # type: ignore[return-value]
# END SOLUTION


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
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("encode_boxes: paste your code from assignment detection (README.md, `helpers`)")
    wx, wy, ww, wh = _weights(weights)
    p_w = proposals[:, 2] - proposals[:, 0]  # [N]
    p_h = proposals[:, 3] - proposals[:, 1]  # [N]
    p_cx = proposals[:, 0] + 0.5 * p_w  # [N]
    p_cy = proposals[:, 1] + 0.5 * p_h  # [N]
    g_w = reference_boxes[:, 2] - reference_boxes[:, 0]  # [N]
    g_h = reference_boxes[:, 3] - reference_boxes[:, 1]  # [N]
    g_cx = reference_boxes[:, 0] + 0.5 * g_w  # [N]
    g_cy = reference_boxes[:, 1] + 0.5 * g_h  # [N]
    return torch.stack(
        (wx * (g_cx - p_cx) / p_w, wy * (g_cy - p_cy) / p_h, ww * torch.log(g_w / p_w), wh * torch.log(g_h / p_h)),
        dim=1,
    )
    # END SOLUTION


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
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("decode_boxes: paste your code from assignment detection (README.md, `helpers`)")
    wx, wy, ww, wh = _weights(weights)
    boxes = boxes.to(rel_codes.dtype)
    p_w = boxes[:, 2] - boxes[:, 0]  # [N]
    p_h = boxes[:, 3] - boxes[:, 1]  # [N]
    p_cx = boxes[:, 0] + 0.5 * p_w  # [N]
    p_cy = boxes[:, 1] + 0.5 * p_h  # [N]
    dx = rel_codes[:, 0] / wx  # [N]
    dy = rel_codes[:, 1] / wy  # [N]
    dw = torch.clamp(rel_codes[:, 2] / ww, max=bbox_xform_clip)  # [N]
    dh = torch.clamp(rel_codes[:, 3] / wh, max=bbox_xform_clip)  # [N]
    cx = dx * p_w + p_cx  # [N]
    cy = dy * p_h + p_cy  # [N]
    half_w = 0.5 * torch.exp(dw) * p_w  # [N]
    half_h = 0.5 * torch.exp(dh) * p_h  # [N]
    return torch.stack((cx - half_w, cy - half_h, cx + half_w, cy + half_h), dim=1)
    # END SOLUTION


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clip boxes to an image: x to ``[0, width]``, y to ``[0, height]``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2).
        size (tuple[int, int]): (height, width) of the image.

    Returns:
        Tensor[N, 4]: the clipped boxes.
    """
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "clip_boxes_to_image: paste your code from assignment detection (README.md, `helpers`)"
    # STUB: )
    height, width = int(size[0]), int(size[1])
    x = boxes[:, 0::2].clamp(min=0, max=width)  # [N, 2]
    y = boxes[:, 1::2].clamp(min=0, max=height)  # [N, 2]
    return torch.stack((x[:, 0], y[:, 0], x[:, 1], y[:, 1]), dim=1)
    # END SOLUTION


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """Indices of the boxes whose width and height are both at least ``min_size``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2).
        min_size (float): the smallest side kept.

    Returns:
        Tensor[K] int64: indices of the kept boxes, in input order.
    """
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "remove_small_boxes: paste your code from assignment detection (README.md, `helpers`)"
    # STUB: )
    w = boxes[:, 2] - boxes[:, 0]  # [N]
    h = boxes[:, 3] - boxes[:, 1]  # [N]
    return torch.nonzero((w >= min_size) & (h >= min_size)).flatten()
    # END SOLUTION


# BEGIN SOLUTION
def _bilinear_axis(start: Tensor, bin_size: Tensor, bins: int, grid: int, size: int):
    """Sample positions along one axis: corner indices [k, bins, grid, 2] and their weights."""
    dtype, device = start.dtype, start.device
    b = torch.arange(bins, device=device, dtype=dtype)[None, :, None]  # [1, bins, 1]
    g = (torch.arange(grid, device=device, dtype=dtype) + 0.5)[None, None, :] / grid  # [1, 1, grid]
    pos = start[:, None, None] + (b + g) * bin_size[:, None, None]  # [k, bins, grid]
    inside = (pos >= -1.0) & (pos <= size)  # samples further out contribute 0
    pos = pos.clamp(min=0)
    low = pos.floor().long()
    last = low >= size - 1
    low = torch.where(last, torch.full_like(low, size - 1), low)
    high = torch.where(last, low, low + 1)
    frac = torch.where(last, torch.zeros_like(pos), pos - low.to(dtype))
    w_low = torch.where(inside, 1.0 - frac, torch.zeros_like(frac))
    w_high = torch.where(inside, frac, torch.zeros_like(frac))
    return torch.stack((low, high), dim=-1), torch.stack((w_low, w_high), dim=-1)


def _roi_align_grid(input: Tensor, rois: Tensor, oh: int, ow: int, gh: int, gw: int, scale: float,
                    aligned: bool) -> Tensor:
    """RoI Align of RoIs sharing one sampling grid (gh x gw points per bin): [k, C, oh, ow]."""
    n, c, height, width = input.shape
    offset = 0.5 if aligned else 0.0
    x1 = rois[:, 1] * scale - offset  # [k]
    y1 = rois[:, 2] * scale - offset  # [k]
    roi_w = rois[:, 3] * scale - offset - x1  # [k]
    roi_h = rois[:, 4] * scale - offset - y1  # [k]
    if not aligned:
        roi_w = roi_w.clamp(min=1.0)
        roi_h = roi_h.clamp(min=1.0)
    y_idx, y_w = _bilinear_axis(y1, roi_h / oh, oh, gh, height)  # [k, oh, gh, 2]
    x_idx, x_w = _bilinear_axis(x1, roi_w / ow, ow, gw, width)  # [k, ow, gw, 2]
    k = rois.shape[0]
    flat = input.reshape(n, c, height * width)  # [N, C, H*W]
    # index and weight of every (bin row, bin col, sample row, sample col, corner y, corner x)
    index = y_idx[:, :, None, :, None, :, None] * width + x_idx[:, None, :, None, :, None, :]
    weight = y_w[:, :, None, :, None, :, None] * x_w[:, None, :, None, :, None, :]
    index = index.reshape(k, -1)  # [k, S]
    weight = weight.reshape(k, -1).to(input.dtype)  # [k, S]
    values = flat[rois[:, 0].long()]  # [k, C, H*W]
    picked = torch.gather(values, 2, index[:, None, :].expand(k, c, index.shape[1]))  # [k, C, S]
    out = (picked * weight[:, None, :]).reshape(k, c, oh, ow, -1).sum(-1)  # [k, C, oh, ow]
    return out / (gh * gw)
# END SOLUTION


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
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("roi_align: paste your code from assignment detection (README.md, `helpers`)")
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else (int(output_size[0]), int(output_size[1]))
    if input.dtype in (torch.float16, torch.bfloat16):
        with torch.autocast(device_type=input.device.type, enabled=False):
            return roi_align(input.float(), boxes.float(), (oh, ow), spatial_scale, sampling_ratio,
                             aligned).to(input.dtype)
    k, c = boxes.shape[0], input.shape[1]
    out = input.new_zeros((k, c, oh, ow))  # [K, C, oh, ow]
    if k == 0:
        return out
    rois = boxes.detach().to(input.dtype)  # [K, 5]
    if sampling_ratio > 0:
        grid = torch.full((k, 2), sampling_ratio, dtype=torch.int64)
    else:
        roi_w = (rois[:, 3] - rois[:, 1]) * spatial_scale  # [K], the half-pixel shift cancels
        roi_h = (rois[:, 4] - rois[:, 2]) * spatial_scale  # [K]
        if not aligned:
            roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
        grid = torch.stack((torch.ceil(roi_h / oh), torch.ceil(roi_w / ow)), dim=1).long().cpu()  # [K, 2]
    shapes, group = torch.unique(grid, dim=0, return_inverse=True)
    for g, (gh, gw) in enumerate(shapes.tolist()):
        if gh <= 0 or gw <= 0:
            continue
        members = torch.nonzero(group == g).flatten().to(input.device)  # [k]
        out = out.index_copy(0, members, _roi_align_grid(input, rois[members], oh, ow, gh, gw,
                                                         float(spatial_scale), aligned))
    return out
    # END SOLUTION
