"""The tracking graph of the message-passing tracker: sparse edges in time and their features.

Detections are the nodes. An edge joins two detections of *different* frames and always points
forward in time: ``edge_index[0]`` is the earlier ("past") detection, ``edge_index[1]`` the later
("future") one. Frames are integer frame numbers (any offset; only differences matter).
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["build_graph", "edge_features"]


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
    raise NotImplementedError("build_graph: implement me (see README.md, section `graph`)")


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
    raise NotImplementedError("edge_features: implement me (see README.md, section `graph`)")
