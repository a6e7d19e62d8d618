"""Box geometry: IoU, generalized IoU and non-maximum suppression.

Boxes are ``(x1, y1, x2, y2)`` float tensors in pixels, with no ``+1`` in widths and heights
(torchvision's convention): a box's width is ``x2 - x1`` and its area ``(x2 - x1) * (y2 - y1)``.

Half precision: an area overflows float16 once a box is wider and taller than about 181
pixels (``181 * 181 * 2 > 65504``), so every function here computes in float32 when given
float16 or bfloat16 boxes, as torchvision does (its ``_upcast``; its NMS kernels accumulate in
float).
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["box_iou", "generalized_box_iou", "nms", "batched_nms"]


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
    raise NotImplementedError("box_iou: implement me (see README.md, section `iou`)")


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
    raise NotImplementedError("generalized_box_iou: implement me (see README.md, section `iou`)")


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
    raise NotImplementedError("nms: implement me (see README.md, section `nms`)")


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
    raise NotImplementedError("batched_nms: implement me (see README.md, section `nms`)")
