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

from torch import Tensor

__all__ = ["encode_boxes", "decode_boxes"]


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
    raise NotImplementedError("encode_boxes: implement me (see README.md, section `coder`)")


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
    raise NotImplementedError("decode_boxes: implement me (see README.md, section `coder`)")
