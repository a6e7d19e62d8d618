"""Data association: IoU costs, the Hungarian algorithm, and gated matching with pseudo nodes.

Boxes are ``(x1, y1, x2, y2)`` float tensors in pixels with no ``+1`` (torchvision's convention).
"""

from __future__ import annotations

# BEGIN SOLUTION
import math

import numpy as np
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["iou_cost", "linear_assignment", "associate"]


# BEGIN SOLUTION
def _check_boxes(name: str, boxes: object) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape [N, 4] with rows (x1, y1, x2, y2), got {list(boxes.shape)}")


def _check_cost(cost: object) -> None:
    if not isinstance(cost, Tensor):
        raise TypeError(f"cost must be a torch.Tensor of shape [T, D], got {type(cost).__name__}")
    if cost.dim() != 2:
        raise ValueError(f"cost must be 2-D of shape [T, D], got shape {list(cost.shape)}")
    if not (cost.dtype.is_floating_point or cost.dtype in (torch.int32, torch.int64, torch.int16, torch.int8)):
        raise ValueError(f"cost must hold real numbers, got dtype {cost.dtype}")


def _box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU; negative widths/heights count as 0 and an empty union gives IoU 0."""
    dtype = torch.promote_types(boxes1.dtype, boxes2.dtype)
    dtype = dtype if dtype.is_floating_point else torch.get_default_dtype()
    if dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32  # a float16 area overflows above about 256 x 256 pixels
    a, b = boxes1.to(dtype), boxes2.to(dtype)
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)  # [N]
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)  # [M]
    iw = (torch.min(a[:, None, 2], b[None, :, 2]) - torch.max(a[:, None, 0], b[None, :, 0])).clamp(min=0)  # [N, M]
    ih = (torch.min(a[:, None, 3], b[None, :, 3]) - torch.max(a[:, None, 1], b[None, :, 1])).clamp(min=0)  # [N, M]
    inter = iw * ih  # [N, M]
    union = area_a[:, None] + area_b[None, :] - inter  # [N, M]
    positive = union > 0
    return torch.where(positive, inter / torch.where(positive, union, torch.ones_like(union)),
                       torch.zeros_like(inter))  # [N, M]
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("tracks", tracks)
    _check_boxes("dets", dets)
    return 1.0 - _box_iou(tracks, dets)  # [T, D]
    # END SOLUTION


# BEGIN SOLUTION
def _hungarian(cost: np.ndarray) -> np.ndarray:
    """Shortest augmenting paths with potentials (Kuhn-Munkres / Jonker-Volgenant), O(n^2 m).

    ``cost`` is float64 [n, m] with n <= m; returns the column of every row."""
    n, m = cost.shape
    u = np.zeros(n + 1)  # row potentials (1-based, 0 unused)
    v = np.zeros(m + 1)  # column potentials; column 0 is the virtual start
    p = np.zeros(m + 1, dtype=np.int64)  # p[j] = row (1-based) assigned to column j, 0 if free
    way = np.zeros(m + 1, dtype=np.int64)  # previous column on the shortest path
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)  # shortest reduced distance to every column
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            free = ~used[1:]  # [m]
            reduced = cost[i0 - 1] - u[i0] - v[1:]  # [m] reduced costs from row i0
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            candidates = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[p[used]] += delta  # rows on the tree
            v[used] -= delta  # columns on the tree
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:  # augment along the path
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    col_of_row = np.empty(n, dtype=np.int64)
    assigned = np.flatnonzero(p[1:])
    col_of_row[p[1:][assigned] - 1] = assigned
    return col_of_row
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_cost(cost)
    device = cost.device
    t, d = cost.shape
    if t == 0 or d == 0:
        empty = torch.empty(0, dtype=torch.int64, device=device)
        return empty, empty.clone()
    c = cost.detach().to("cpu", torch.float64).numpy()
    if not np.isfinite(c).all():
        raise ValueError("cost must be finite (no nan or inf); give forbidden pairs a large finite cost")
    if t <= d:
        rows = np.arange(t)
        cols = _hungarian(c)
    else:
        cols_t = _hungarian(c.T)  # for every column of cost, its row
        order = np.argsort(cols_t)
        rows, cols = cols_t[order], order
    return (torch.as_tensor(rows, dtype=torch.int64, device=device),
            torch.as_tensor(cols, dtype=torch.int64, device=device))
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_cost(cost)
    if isinstance(max_cost, bool) or not isinstance(max_cost, (int, float)):
        raise TypeError(f"max_cost must be a float, got {max_cost!r}")
    if not math.isfinite(max_cost):
        raise ValueError(f"max_cost must be finite, got {max_cost}")
    device = cost.device
    t, d = cost.shape
    c = cost.detach().to("cpu", torch.float64)
    if torch.isnan(c).any():
        raise ValueError("cost holds nan; use +inf for pairs that must never match")
    allowed = c < max_cost  # [T, D] gating
    matches = torch.empty(0, 2, dtype=torch.int64)
    if t > 0 and d > 0 and bool(allowed.any()):
        finite = c[allowed]
        # a forbidden entry must lose against any choice of allowed ones and pseudo nodes
        big = (finite.abs().max().item() + abs(max_cost) + 1.0) * (t + 1) * 4
        augmented = torch.full((t, d + t), big, dtype=torch.float64)  # [T, D + T]
        augmented[:, :d] = torch.where(allowed, c, torch.full_like(c, big))
        augmented[:, d:].fill_diagonal_(float(max_cost))
        rows, cols = linear_assignment(augmented)
        real = (cols < d) & allowed[rows, cols.clamp(max=d - 1)]
        matches = torch.stack([rows[real], cols[real]], dim=1)  # [M, 2]
    track_used = torch.zeros(t, dtype=torch.bool)
    det_used = torch.zeros(d, dtype=torch.bool)
    track_used[matches[:, 0]] = True
    det_used[matches[:, 1]] = True
    return (matches.to(device),
            torch.nonzero(~track_used).flatten().to(device),
            torch.nonzero(~det_used).flatten().to(device))
    # END SOLUTION
