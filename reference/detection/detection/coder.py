"""Box regression targets: the (t_x, t_y, t_w, t_h) parametrisation of R-CNN.

A box is coded relative to a reference box (an anchor or a proposal) ``p``:
``t_x = w_x (g_cx - p_cx) / p_w``, ``t_y = w_y (g_cy - p_cy) / p_h``,
``t_w = w_w log(g_w / p_w)``, ``t_h = w_h log(g_h / p_h)``, with ``w = x2 - x1`` and
``cx = x1 + 0.5 w``. The weights are (1, 1, 1, 1) for the RPN and (10, 10, 5, 5) for the
RoI heads of Faster R-CNN.

Precision: both functions compute in the dtype of their inputs, float16 and bfloat16 included,
exactly as torchvision's ``BoxCoder`` does (it does not upcast); computing in float32 and
rounding the result is just as correct and accepted by the tests.
"""

from __future__ import annotations

import math
from typing import Sequence

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["encode_boxes", "decode_boxes"]


# BEGIN SOLUTION
def _check_pair(name1: str, boxes1: object, name2: str, boxes2: object) -> None:
    for name, boxes in ((name1, boxes1), (name2, boxes2)):
        if not isinstance(boxes, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
        if boxes.dim() != 2 or boxes.shape[1] != 4:
            raise ValueError(f"{name} must have shape [N, 4], got {list(boxes.shape)}")
    if boxes1.shape[0] != boxes2.shape[0]:
        raise ValueError(
            f"{name1} and {name2} must have the same number of rows, got {list(boxes1.shape)} "
            f"and {list(boxes2.shape)}"
        )


def _check_weights(weights: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(w) for w in weights)
    except (TypeError, ValueError):
        raise TypeError(
            f"weights must be a sequence of 4 numbers (w_x, w_y, w_w, w_h), got {weights!r}"
        ) from None
    if len(values) != 4:
        raise ValueError(f"weights must have 4 entries (w_x, w_y, w_w, w_h), got {len(values)}: {weights!r}")
    return values  # type: ignore[return-value]
# END SOLUTION


def encode_boxes(
    reference_boxes: Tensor,
    proposals: Tensor,
    weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
) -> Tensor:
    """Regression targets of ``reference_boxes`` relative to ``proposals``.

    ``t_x = w_x (g_cx - p_cx) / p_w``, ``t_y = w_y (g_cy - p_cy) / p_h``,
    ``t_w = w_w log(g_w / p_w)``, ``t_h = w_h log(g_h / p_h)``, where ``g`` is a reference
    (ground-truth) box, ``p`` its proposal (anchor), ``w = x2 - x1``, ``h = y2 - y1``,
    ``cx = x1 + 0.5 w`` and ``cy = y1 + 0.5 h``. Equal to
    ``torchvision.models.detection._utils.BoxCoder(weights).encode_single(reference_boxes, proposals)``.

    Args:
        reference_boxes (Tensor[N, 4]): (x1, y1, x2, y2) boxes to encode (ground truth).
        proposals (Tensor[N, 4]): (x1, y1, x2, y2) reference boxes (anchors or proposals),
            row i goes with ``reference_boxes[i]``.
        weights (sequence of 4 floats): (w_x, w_y, w_w, w_h).

    Returns:
        Tensor[N, 4]: (t_x, t_y, t_w, t_h) per row, in the promoted dtype of the two box
        tensors (the dtype of ``reference_boxes`` when both have the same), as torchvision's;
        integer boxes are converted to the default float dtype (float32) first.

    Raises:
        TypeError: if a box argument is not a tensor or ``weights`` is not numeric.
        ValueError: if a box tensor is not [N, 4], the row counts differ, or ``weights``
            does not have 4 entries.
    """
    # BEGIN SOLUTION
    _check_pair("reference_boxes", reference_boxes, "proposals", proposals)
    wx, wy, ww, wh = _check_weights(weights)
    # type promotion as in torchvision (float16 gt against float32 anchors gives float32)
    dtype = torch.promote_types(reference_boxes.dtype, proposals.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    reference_boxes, proposals = reference_boxes.to(dtype), proposals.to(dtype)

    p_w = proposals[:, 2] - proposals[:, 0]  # [N]
    p_h = proposals[:, 3] - proposals[:, 1]  # [N]
    p_cx = proposals[:, 0] + 0.5 * p_w  # [N]
    p_cy = proposals[:, 1] + 0.5 * p_h  # [N]

    g_w = reference_boxes[:, 2] - reference_boxes[:, 0]  # [N]
    g_h = reference_boxes[:, 3] - reference_boxes[:, 1]  # [N]
    g_cx = reference_boxes[:, 0] + 0.5 * g_w  # [N]
    g_cy = reference_boxes[:, 1] + 0.5 * g_h  # [N]

    t_x = wx * (g_cx - p_cx) / p_w  # [N]
    t_y = wy * (g_cy - p_cy) / p_h  # [N]
    t_w = ww * torch.log(g_w / p_w)  # [N]
    t_h = wh * torch.log(g_h / p_h)  # [N]
    return torch.stack((t_x, t_y, t_w, t_h), dim=1)  # [N, 4]
    # END SOLUTION


def decode_boxes(
    rel_codes: Tensor,
    boxes: Tensor,
    weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    bbox_xform_clip: float = math.log(1000.0 / 16),
) -> Tensor:
    """Boxes from regression codes: the inverse of :func:`encode_boxes`.

    ``cx = p_cx + (t_x / w_x) p_w``, ``cy = p_cy + (t_y / w_y) p_h``,
    ``w = p_w exp(min(t_w / w_w, clip))``, ``h = p_h exp(min(t_h / w_h, clip))``, then
    ``(cx - 0.5 w, cy - 0.5 h, cx + 0.5 w, cy + 0.5 h)``. The clamp (default
    ``log(1000 / 16)``) keeps ``exp`` from overflowing on wild predictions. Equal to
    ``BoxCoder(weights, bbox_xform_clip).decode_single(rel_codes, boxes)``.

    Args:
        rel_codes (Tensor[N, 4]): (t_x, t_y, t_w, t_h) per row.
        boxes (Tensor[N, 4]): (x1, y1, x2, y2) reference boxes (anchors or proposals).
        weights (sequence of 4 floats): (w_x, w_y, w_w, w_h).
        bbox_xform_clip (float): upper bound on ``t_w / w_w`` and ``t_h / w_h`` before ``exp``.

    Returns:
        Tensor[N, 4]: decoded (x1, y1, x2, y2) boxes, in the dtype of ``rel_codes``.

    Raises:
        TypeError: if a box argument is not a tensor or ``weights`` is not numeric.
        ValueError: if a tensor is not [N, 4], the row counts differ, or ``weights`` does not
            have 4 entries.
    """
    # BEGIN SOLUTION
    _check_pair("rel_codes", rel_codes, "boxes", boxes)
    wx, wy, ww, wh = _check_weights(weights)
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
    half_w = 0.5 * (torch.exp(dw) * p_w)  # [N]
    half_h = 0.5 * (torch.exp(dh) * p_h)  # [N]
    return torch.stack((cx - half_w, cy - half_h, cx + half_w, cy + half_h), dim=1)  # [N, 4]
    # END SOLUTION
