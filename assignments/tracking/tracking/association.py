"""Data association: IoU costs, the Hungarian algorithm, and gated matching with pseudo nodes.

Boxes are ``(x1, y1, x2, y2)`` float tensors in pixels with no ``+1`` (torchvision's convention).
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["iou_cost", "linear_assignment", "associate"]


def iou_cost(tracks: Tensor, dets: Tensor) -> Tensor:
    """Association cost ``1 - IoU`` between track boxes and detection boxes.

    ``IoU(a, b) = area(a & b) / area(a | b)`` where a box's width ``x2 - x1`` and height
    ``y2 - y1`` count as 0 when negative (an inverted box, e.g. extrapolated by a motion model,
    overlaps nothing). A pair whose union area is 0 has IoU 0, so cost 1.

    Args:
        tracks (Tensor[T, 4]): (x1, y1, x2, y2) boxes of the tracks (e.g. predicted positions).
        dets (Tensor[D, 4]): (x1, y1, x2, y2) boxes of the detections.

    Returns:
        Tensor[T, D]: ``out[t, d] = 1 - IoU(tracks[t], dets[d])`` in [0, 1], in the promoted
        floating dtype of the inputs (integer inputs give the default float dtype; float16 and
        bfloat16 inputs are computed in float32 and give float32, as ``torchvision.ops.box_iou``:
        a float16 area overflows above about 256 x 256 pixels).

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if a tensor is not 2-D with 4 columns.
    """
    raise NotImplementedError("iou_cost: implement me (see README.md, section `association`)")


def linear_assignment(cost: Tensor) -> tuple[Tensor, Tensor]:
    """Minimum-cost assignment of a rectangular cost matrix (the Hungarian algorithm).

    Chooses ``K = min(T, D)`` pairs ``(rows[k], cols[k])``, no row and no column twice, that
    minimise ``sum_k cost[rows[k], cols[k]]``: the same problem as
    ``scipy.optimize.linear_sum_assignment(cost)``. Equal-cost optima are equally correct.
    Implement it yourself (Kuhn-Munkres, or shortest augmenting paths with potentials as in
    Jonker-Volgenant): O(n^3), not an enumeration of permutations. scipy is not available in
    grading.

    Args:
        cost (Tensor[T, D]): finite real costs (any sign). It may require grad: it is treated
            as a constant (detach it before ``.numpy()``).

    Returns:
        tuple[Tensor[K] int64, Tensor[K] int64]: ``(rows, cols)`` with ``rows`` ascending, on
        ``cost``'s device. An empty matrix (T or D is 0) gives two empty tensors.

    Raises:
        TypeError: if ``cost`` is not a tensor.
        ValueError: if ``cost`` is not 2-D or holds nan or infinite values.
    """
    raise NotImplementedError("linear_assignment: implement me (see README.md, section `association`)")


def associate(cost: Tensor, max_cost: float) -> tuple[Tensor, Tensor, Tensor]:
    """Gated one-to-one matching of tracks and detections with pseudo nodes.

    Every track ``t`` gets its own pseudo detection ("not matched") that costs ``max_cost``;
    a real pair can be matched only if ``cost[t, d] < max_cost`` (gating, strict). Among all such
    matchings the result minimises

        ``sum_{(t, d) matched} cost[t, d] + max_cost * (number of unmatched tracks)``,

    i.e. the assignment problem on the ``T x (D + T)`` matrix ``[C | P]`` where ``C`` is
    ``cost`` with gated pairs forbidden and ``P`` holds ``max_cost`` on its diagonal and
    forbidden entries elsewhere. Solve it with :func:`linear_assignment`. Unmatched detections
    cost nothing (a tracker starts new tracks from them). ``cost`` may hold ``+inf`` for pairs
    that must never match.

    Args:
        cost (Tensor[T, D]): association costs, e.g. from :func:`iou_cost`; no nan. It may
            require grad: it is treated as a constant (detach it).
        max_cost (float): finite threshold; the cost of leaving a track unmatched.

    Returns:
        tuple[Tensor[M, 2] int64, Tensor[T - M] int64, Tensor[D - M] int64]:
        ``(matches, unmatched_tracks, unmatched_dets)``: rows ``(track index, detection
        index)`` sorted by track index, and the unmatched indices in ascending order, all on
        ``cost``'s device. Empty inputs are fine (e.g. ``matches`` of shape [0, 2]).

    Raises:
        TypeError: if ``cost`` is not a tensor or ``max_cost`` is not a real number.
        ValueError: if ``cost`` is not 2-D or holds nan, or ``max_cost`` is not finite.
    """
    raise NotImplementedError("associate: implement me (see README.md, section `association`)")
