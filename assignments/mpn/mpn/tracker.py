"""From edge scores to tracks: flow-conserving rounding and the whole tracker."""

from __future__ import annotations

from torch import Tensor

__all__ = ["postprocess", "track_sequence"]


def postprocess(edge_index: Tensor, edge_scores: Tensor, frames: Tensor, threshold: float = 0.5,
                method: str = "greedy") -> Tensor:
    """Round edge scores to a set of active edges that satisfies flow conservation.

    Every edge joins detections of two different frames; ``frames`` decides which end is the
    *past* one (an edge may be listed in either direction). The result activates only edges
    with ``score > threshold`` and gives every detection **at most one** active edge to its
    past and at most one to its future, so the active edges form disjoint chains (tracks).

    * ``"greedy"``: visit the edges by decreasing score (equal scores: lower edge index first)
      and activate an edge when neither its past end already has an active edge to the future
      nor its future end an active edge to the past.
    * ``"flow"``: maximise ``sum(score - threshold)`` over the active edges under the same
      constraints, as a min-cost flow (a source feeds every detection's "future side", an edge
      ``(p, f)`` joins the future side of ``p`` to the past side of ``f`` at cost
      ``threshold - score``, every past side drains into the sink). Any optimum is accepted.

    Args:
        edge_index (Tensor[2, E] int64): detection indices of every edge.
        edge_scores (Tensor[E] float): probability (or any score) of every edge.
        frames (Tensor[N] int): frame number of every detection.
        threshold (float): scores at or below it are never active.
        method (str): ``"greedy"`` or ``"flow"``.

    Returns:
        Tensor[E] bool: the active edges, on the device of ``edge_scores``.

    Raises:
        TypeError: if an argument is not a tensor or has a wrong dtype.
        ValueError: on wrong shapes, indices outside ``[0, N)``, an edge within one frame, or
            an unknown ``method``.
    """
    raise NotImplementedError("postprocess: implement me (see README.md, section `postprocess`)")


def track_sequence(detections: list, features: list) -> Tensor:
    """Track a whole sequence with the trained message-passing network.

    Loads the network's weights from ``checkpoint.pt`` inside this package (with
    ``torch.load(..., weights_only=True)``; see README.md for how to train it), builds the
    graph (:func:`build_graph`), its edge features (:func:`edge_features`), classifies the
    edges, rounds them with :func:`postprocess` and turns the chains into tracks. What happens
    around that (dropping short tracks, filling gaps, thresholds) is up to you: the accuracy
    checks grade the result with IDF1 and MOTA on held-out sequences.

    Args:
        detections (list[Tensor[n_t, 5]]): per frame ``t`` (frame number ``t + 1``), rows
            ``(x1, y1, x2, y2, score)``; a frame may have no detection (``n_t = 0``). A
            detection may have zero width or height: drop it or track it, but never raise.
        features (list[Tensor[n_t, D]]): the appearance embedding of each detection.
            Both lists may hold float32 or float64 tensors: the same values give the same tracks.

    Returns:
        Tensor[M, 6] float32: rows ``(frame, id, x1, y1, x2, y2)`` with integer-valued
        1-based ``frame`` and ``id >= 1``, at most one row per ``(frame, id)``; sorted by
        frame, then id.

    Raises:
        TypeError: if the arguments are not lists of tensors.
        ValueError: if the lists differ in length or a frame's tensors have wrong shapes.
    """
    raise NotImplementedError("track_sequence: implement me (see README.md, section `postprocess`)")
