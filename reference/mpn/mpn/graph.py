"""The tracking graph of the message-passing tracker: sparse edges in time and their features.

Detections are the nodes. An edge joins two detections of *different* frames and always points
forward in time: ``edge_index[0]`` is the earlier ("past") detection, ``edge_index[1]`` the later
("future") one. Frames are integer frame numbers (any offset; only differences matter).
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["build_graph", "edge_features"]


# BEGIN SOLUTION
def _check_tensor(name: str, x: object, dims: int, shape: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if x.dim() != dims:
        raise ValueError(f"{name} must have shape {shape}, got {list(x.shape)}")


def _check_frames(frames: object, n: int | None = None) -> None:
    _check_tensor("frames", frames, 1, "[N]")
    if frames.dtype.is_floating_point or frames.dtype == torch.bool or frames.is_complex():
        raise TypeError(f"frames must be an integer tensor, got dtype {frames.dtype}")
    if n is not None and frames.shape[0] != n:
        raise ValueError(f"frames must have shape [{n}] (one frame per detection), got {list(frames.shape)}")
# END SOLUTION


def build_graph(frames: Tensor, features: Tensor, top_k: int = 10, max_gap: int = 5) -> Tensor:
    """Sparse tracking graph: top-k appearance neighbours in time within a window.

    A pair of detections ``(i, j)`` with ``1 <= frames[j] - frames[i] <= max_gap`` is a
    *candidate*. With ``d(i, j) = ||features[i] - features[j]||_2``, the candidate is kept as
    an edge when ``j`` is among the ``top_k`` candidates of ``i`` in the future closest to ``i``
    **or** ``i`` is among the ``top_k`` candidates of ``j`` in the past closest to ``j``
    (the union of both neighbourhoods, as in Braso & Leal-Taixe 2020). Equal distances are
    ranked by the lower detection index first.

    Args:
        frames (Tensor[N] int): frame number of every detection.
        features (Tensor[N, D] float): appearance embedding of every detection.
        top_k (int): neighbours kept per node and direction, ``>= 1``.
        max_gap (int): largest frame difference of an edge, ``>= 1``.

    Returns:
        Tensor[2, E] int64: ``(past, future)`` detection indices of every edge, with
        ``frames[past] < frames[future]``, sorted by ``past`` then ``future`` (no duplicates),
        on the device of ``features``.

    Raises:
        TypeError: if ``frames`` or ``features`` is not a tensor or ``frames`` is not integer
            (bool is not an integer dtype here: bool, float and complex ``frames`` raise).
        ValueError: on wrong shapes, ``top_k < 1`` or ``max_gap < 1``.
    """
    # BEGIN SOLUTION
    _check_tensor("features", features, 2, "[N, D]")
    _check_frames(frames, features.shape[0])
    if type(top_k) is not int or top_k < 1:
        raise ValueError(f"top_k must be an int >= 1, got {top_k!r}")
    if type(max_gap) is not int or max_gap < 1:
        raise ValueError(f"max_gap must be an int >= 1, got {max_gap!r}")
    n = features.shape[0]
    device = features.device
    if n == 0:
        return torch.zeros(2, 0, dtype=torch.int64, device=device)
    frames = frames.to(device)
    dt = frames[None, :] - frames[:, None]  # [N, N]: dt[i, j] = t_j - t_i
    candidate = (dt >= 1) & (dt <= max_gap)  # [N, N]: j in the future of i
    f = features.to(torch.float64)
    dist = torch.cdist(f, f, compute_mode="donot_use_mm_for_euclid_dist")  # [N, N]
    inf = torch.full_like(dist, float("inf"))
    d = torch.where(candidate, dist, inf)  # [N, N]
    # rank of j among i's future candidates (row) and of i among j's past candidates (column)
    order_row = torch.sort(d, dim=1, stable=True).indices  # [N, N]
    rank_row = torch.empty_like(order_row)
    rank_row.scatter_(1, order_row, torch.arange(n, device=device).expand(n, n).contiguous())
    order_col = torch.sort(d, dim=0, stable=True).indices  # [N, N]
    rank_col = torch.empty_like(order_col)
    rank_col.scatter_(0, order_col, torch.arange(n, device=device)[:, None].expand(n, n).contiguous())
    keep = candidate & ((rank_row < top_k) | (rank_col < top_k))  # [N, N]
    return keep.nonzero().t().contiguous()  # [2, E], row-major = sorted by (past, future)
    # END SOLUTION


def edge_features(boxes: Tensor, frames: Tensor, features: Tensor, edge_index: Tensor) -> Tensor:
    """Initial edge features of the message-passing network (Braso & Leal-Taixe 2020, Sec. 4.1).

    For an edge from ``i`` (past) to ``j`` (future), with box centres ``(x, y)``, widths ``w``
    and heights ``h``::

        [ 2 (x_j - x_i) / (h_i + h_j),
          2 (y_j - y_i) / (h_i + h_j),
          log(h_j / h_i),
          log(w_j / w_i),
          t_j - t_i,
          ||features[j] - features[i]||_2 ]

    Differentiable with respect to ``boxes`` and ``features``.

    Args:
        boxes (Tensor[N, 4] float): (x1, y1, x2, y2) with positive width and height.
        frames (Tensor[N] int): frame number of every detection.
        features (Tensor[N, D] float): appearance embedding of every detection.
        edge_index (Tensor[2, E] int64): ``(past, future)`` indices, e.g. from :func:`build_graph`.
            Their direction is not checked: a reversed edge gets the formula as written (every
            feature but the distance changes sign).

    Returns:
        Tensor[E, 6]: the features above, in the dtype and on the device of ``boxes``.

    Raises:
        TypeError: if an argument is not a tensor, or ``frames``/``edge_index`` is not integer.
        ValueError: on wrong shapes, indices outside ``[0, N)``, or a box with width or height
            ``<= 0``.
    """
    # BEGIN SOLUTION
    _check_tensor("boxes", boxes, 2, "[N, 4]")
    if boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape [N, 4] with rows (x1, y1, x2, y2), got {list(boxes.shape)}")
    n = boxes.shape[0]
    _check_frames(frames, n)
    _check_tensor("features", features, 2, "[N, D]")
    if features.shape[0] != n:
        raise ValueError(f"features must have shape [{n}, D], got {list(features.shape)}")
    _check_tensor("edge_index", edge_index, 2, "[2, E]")
    if edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
    if edge_index.dtype != torch.int64:
        raise TypeError(f"edge_index must be int64, got {edge_index.dtype}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= n):
        raise ValueError(f"edge_index holds indices outside [0, {n}): "
                         f"min {int(edge_index.min())}, max {int(edge_index.max())}")
    w = boxes[:, 2] - boxes[:, 0]  # [N]
    h = boxes[:, 3] - boxes[:, 1]  # [N]
    if n and bool(((w <= 0) | (h <= 0)).any()):
        raise ValueError("boxes must have positive width and height (x2 > x1 and y2 > y1)")
    cx = (boxes[:, 0] + boxes[:, 2]) / 2  # [N]
    cy = (boxes[:, 1] + boxes[:, 3]) / 2  # [N]
    i, j = edge_index.to(boxes.device).unbind(0)  # [E], [E]
    hs = h[i] + h[j]  # [E]
    diff = features[j].to(boxes.dtype) - features[i].to(boxes.dtype)  # [E, D]
    dist = diff.pow(2).sum(-1).sqrt()  # [E]
    dt = (frames.to(boxes.device)[j] - frames.to(boxes.device)[i]).to(boxes.dtype)  # [E]
    return torch.stack([
        2 * (cx[j] - cx[i]) / hs,
        2 * (cy[j] - cy[i]) / hs,
        torch.log(h[j] / h[i]),
        torch.log(w[j] / w[i]),
        dt,
        dist,
    ], dim=1)  # [E, 6]
    # END SOLUTION
