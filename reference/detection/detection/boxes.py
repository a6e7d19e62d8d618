"""Box geometry: IoU, generalized IoU and non-maximum suppression.

Boxes are ``(x1, y1, x2, y2)`` float tensors in pixels, with no ``+1`` in widths and heights
(torchvision's convention): a box's width is ``x2 - x1`` and its area ``(x2 - x1) * (y2 - y1)``.

Half precision: an area overflows float16 once a box is wider and taller than about 181
pixels (``181 * 181 * 2 > 65504``), so every function here computes in float32 when given
float16 or bfloat16 boxes, as torchvision does (its ``_upcast``; its NMS kernels accumulate in
float).
"""

from __future__ import annotations

# BEGIN SOLUTION
import itertools

import torch
# END SOLUTION
from torch import Tensor

__all__ = ["box_iou", "generalized_box_iou", "nms", "batched_nms"]

# BEGIN SOLUTION
# Rows of the sorted boxes that nms resolves together: one IoU block of this many rows
# against the remaining boxes at a time keeps memory at O(block * N) instead of O(N^2).
_NMS_BLOCK = 128


def _check_boxes(name: str, boxes: object) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape [N, 4] with rows (x1, y1, x2, y2), got {list(boxes.shape)}")


def _working_dtype(*tensors: Tensor) -> torch.dtype:
    """Dtype to compute in: the inputs' promoted dtype, with integers as the default float
    dtype and float16 / bfloat16 upcast to float32 (their areas overflow or lose digits)."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    if not dtype.is_floating_point:
        return torch.get_default_dtype()
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    """Pairwise intersection and union areas, both ``Tensor[N, M]``."""
    x1, y1, x2, y2 = boxes1.unbind(1)  # 4 x [N]
    u1, v1, u2, v2 = boxes2.unbind(1)  # 4 x [M]
    area1 = (x2 - x1) * (y2 - y1)  # [N]
    area2 = (u2 - u1) * (v2 - v1)  # [M]
    inter_w = (torch.min(x2[:, None], u2) - torch.max(x1[:, None], u1)).clamp(min=0)  # [N, M]
    inter_h = (torch.min(y2[:, None], v2) - torch.max(y1[:, None], v1)).clamp(min=0)  # [N, M]
    inter = inter_w * inter_h  # [N, M]
    union = area1[:, None] + area2 - inter  # [N, M]
    return inter, union


def _safe_divide(num: Tensor, den: Tensor, fallback: Tensor | float) -> Tensor:
    """``num / den`` where ``den != 0``, else ``fallback``; no nan leaks into gradients."""
    nonzero = den != 0
    ratio = num / torch.where(nonzero, den, torch.ones_like(den))
    return torch.where(nonzero, ratio, fallback)
# END SOLUTION


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise intersection over union (Jaccard index) of two sets of boxes.

    ``IoU(a, b) = area(a & b) / area(a | b)``. A pair whose union area is 0 (two degenerate
    boxes) gets IoU 0, where ``torchvision.ops.box_iou`` gives nan. An inverted box
    (``x2 < x1`` or ``y2 < y1``) is not reordered: its intersection with any box is empty, so
    its IoU is 0 (as in torchvision, whose signed area also gives 0 there).

    float16 and bfloat16 boxes are converted to float32 first and the result is float32, like
    torchvision's (computing in float16 overflows: boxes wider and taller than ~181 pixels
    give IoU 0, larger ones nan).

    Args:
        boxes1 (Tensor[N, 4]): (x1, y1, x2, y2), float.
        boxes2 (Tensor[M, 4]): (x1, y1, x2, y2), float.

    Returns:
        Tensor[N, M]: ``out[i, j] = IoU(boxes1[i], boxes2[j])``, in the inputs' (promoted)
        dtype; float32 for float16 / bfloat16 inputs. Boxes of two float dtypes are both
        converted to the promoted dtype first (areas included): float32 with float64 gives the
        float64 IoU of the exact values.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if a tensor is not 2-D with 4 columns.
    """
    # BEGIN SOLUTION
    _check_boxes("boxes1", boxes1)
    _check_boxes("boxes2", boxes2)
    dtype = _working_dtype(boxes1, boxes2)
    inter, union = _inter_union(boxes1.to(dtype), boxes2.to(dtype))  # [N, M], [N, M]
    return _safe_divide(inter, union, torch.zeros_like(inter))  # [N, M]
    # END SOLUTION


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise generalized IoU (Rezatofighi et al., 2019) of two sets of boxes.

    ``GIoU(a, b) = IoU(a, b) - (area(C) - area(a | b)) / area(C)`` with ``C`` the smallest box
    enclosing both. It lies in ``[-1, 1]``. A pair with union area 0 has IoU 0; a pair with
    enclosing area 0 has ``GIoU = IoU``. Differentiable with respect to both inputs. GIoU of
    an inverted box (``x2 < x1`` or ``y2 < y1``) is not specified (torchvision's value there
    can leave ``[-1, 1]``); the tests never use one.

    float16 and bfloat16 boxes are converted to float32 first and the result is float32, like
    torchvision's; gradients flow back to the inputs in their own dtype.

    Args:
        boxes1 (Tensor[N, 4]): (x1, y1, x2, y2), float.
        boxes2 (Tensor[M, 4]): (x1, y1, x2, y2), float.

    Returns:
        Tensor[N, M]: ``out[i, j] = GIoU(boxes1[i], boxes2[j])``, in the inputs' (promoted)
        dtype; float32 for float16 / bfloat16 inputs. Boxes of two float dtypes are both
        converted to the promoted dtype first, as in :func:`box_iou`.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if a tensor is not 2-D with 4 columns.
    """
    # BEGIN SOLUTION
    _check_boxes("boxes1", boxes1)
    _check_boxes("boxes2", boxes2)
    dtype = _working_dtype(boxes1, boxes2)
    boxes1, boxes2 = boxes1.to(dtype), boxes2.to(dtype)
    inter, union = _inter_union(boxes1, boxes2)  # [N, M], [N, M]
    iou = _safe_divide(inter, union, torch.zeros_like(inter))  # [N, M]

    lt = torch.min(boxes1[:, None, :2], boxes2[None, :, :2])  # [N, M, 2]
    rb = torch.max(boxes1[:, None, 2:], boxes2[None, :, 2:])  # [N, M, 2]
    wh = (rb - lt).clamp(min=0)  # [N, M, 2]
    enclosing = wh[..., 0] * wh[..., 1]  # [N, M]
    return iou - _safe_divide(enclosing - union, enclosing, torch.zeros_like(iou))  # [N, M]
    # END SOLUTION


# BEGIN SOLUTION
def _check_nms_inputs(boxes: Tensor, scores: Tensor, iou_threshold: float) -> None:
    _check_boxes("boxes", boxes)
    if not isinstance(scores, Tensor):
        raise TypeError(f"scores must be a torch.Tensor of shape [N], got {type(scores).__name__}")
    if scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"scores must have shape [N] = [{boxes.shape[0]}] to match boxes {list(boxes.shape)}, "
            f"got {list(scores.shape)}"
        )
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, (int, float)):
        raise TypeError(f"iou_threshold must be a float, got {iou_threshold!r}")


def _greedy_nms(boxes: Tensor, scores: Tensor, iou_threshold: float, idxs: Tensor | None) -> Tensor:
    """Greedy NMS in blocks of sorted boxes; pairs from different ``idxs`` never suppress."""
    order = torch.sort(scores, descending=True, stable=True).indices  # [N]
    boxes = boxes[order].to(_working_dtype(boxes))  # [N, 4] by decreasing score
    labels = None if idxs is None else idxs[order]  # [N]
    n = boxes.shape[0]

    def overlaps(rows: Tensor | slice, cols: slice) -> Tensor:
        """Bool [R, C]: IoU > threshold (and same category) for sorted rows vs sorted cols."""
        inter, union = _inter_union(boxes[rows], boxes[cols])  # [R, C]
        over = inter / union > iou_threshold  # [R, C]; 0 / 0 = nan never suppresses
        if labels is not None:
            over &= labels[rows][:, None] == labels[cols]
        return over

    suppressed = torch.zeros(n, dtype=torch.bool, device=boxes.device)  # [N]
    keep: list[int] = []
    for start in range(0, n, _NMS_BLOCK):
        stop = min(start + _NMS_BLOCK, n)
        # resolve the block sequentially on the host; earlier blocks are already applied
        within = overlaps(slice(start, stop), slice(start, stop)).tolist()  # B x [B] bools
        removed = suppressed[start:stop].tolist()  # [B] bools
        kept = []
        for i, row in enumerate(within):
            if removed[i]:
                continue
            kept.append(start + i)
            for j in itertools.compress(range(len(row)), row):
                removed[j] = True
        keep.extend(kept)
        # every box kept in this block suppresses the later boxes it overlaps
        if kept and stop < n:
            rows = torch.tensor(kept, dtype=torch.int64, device=boxes.device)  # [R]
            suppressed[stop:] |= overlaps(rows, slice(stop, n)).any(dim=0)  # [N - stop]
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]  # [K]
# END SOLUTION


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression.

    Boxes are visited by decreasing score; a box is kept unless its IoU with an already kept
    box is strictly greater than ``iou_threshold``. Equal to ``torchvision.ops.nms`` for
    distinct scores; equal scores are visited in input order (a stable sort), as the tests
    check. IoUs are computed in float32 for float16 / bfloat16 boxes (as torchvision's CUDA
    kernel does; its CPU kernel refuses half precision), and in float64 for float64 boxes.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2), float.
        scores (Tensor[N]): one score per box.
        iou_threshold (float): boxes overlapping a kept box with IoU > iou_threshold are discarded.

    Returns:
        Tensor[K] int64: indices into ``boxes`` of the kept boxes, by decreasing score.
        Empty input gives an empty int64 tensor.

    Raises:
        TypeError: if ``boxes`` or ``scores`` is not a tensor.
        ValueError: if ``boxes`` is not [N, 4] or ``scores`` is not [N].
    """
    # BEGIN SOLUTION
    _check_nms_inputs(boxes, scores, iou_threshold)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    return _greedy_nms(boxes, scores, float(iou_threshold), None)
    # END SOLUTION


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression independently per category.

    Boxes of different categories (different ``idxs``) never suppress each other. Equal to
    ``torchvision.ops.batched_nms`` for distinct scores; within a category, equal scores are
    visited in input order (a stable sort, as in :func:`nms`), as the tests check. Order of
    the result: decreasing score; the reference lists equal scores in input order, and for
    boxes of *different* categories with equal scores every order is accepted (torchvision's
    two implementations differ there). IoUs in float32 for float16 / bfloat16 boxes, as in
    :func:`nms`.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2), float.
        scores (Tensor[N]): one score per box.
        idxs (Tensor[N] integer): category (or image) of each box, of any integer dtype (e.g.
            int64 or int32).
        iou_threshold (float): boxes overlapping a kept box of the same category with
            IoU > iou_threshold are discarded.

    Returns:
        Tensor[K] int64: indices into ``boxes`` of the kept boxes, by decreasing score.

    Raises:
        TypeError: if ``boxes``, ``scores`` or ``idxs`` is not a tensor.
        ValueError: if the shapes do not match or ``idxs`` is not an integer tensor.
    """
    # BEGIN SOLUTION
    _check_nms_inputs(boxes, scores, iou_threshold)
    if not isinstance(idxs, Tensor):
        raise TypeError(f"idxs must be a torch.Tensor of shape [N], got {type(idxs).__name__}")
    if idxs.dim() != 1 or idxs.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"idxs must have shape [N] = [{boxes.shape[0]}] to match boxes {list(boxes.shape)}, "
            f"got {list(idxs.shape)}"
        )
    if idxs.dtype.is_floating_point or idxs.dtype.is_complex or idxs.dtype == torch.bool:
        raise ValueError(f"idxs must be an integer tensor (int64), got dtype {idxs.dtype}")
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    return _greedy_nms(boxes, scores, float(iou_threshold), idxs)
    # END SOLUTION
