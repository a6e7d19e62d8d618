"""Min-cost flow tracking (Zhang, Li & Nevatia 2008): the baseline that the MPN learns to solve.

Node numbering of a flow graph with ``N`` detections: ``0`` is the source, ``1`` the sink,
detection ``i`` is split into an *in*-node ``2 + 2 i`` and an *out*-node ``3 + 2 i``. Every
edge has capacity 1, so a flow is a set of active edges and every unit of flow is one track.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["build_flow_graph", "solve_min_cost_flow", "flow_to_trajectories"]


def build_flow_graph(
    boxes: Tensor,
    frames: Tensor,
    scores: Tensor,
    max_gap: int = 1,
    min_iou: float = 0.3,
    entry_cost: float = 1.0,
    exit_cost: float = 1.0,
    gap_cost: float = 0.5,
    eps: float = 1e-6,
) -> dict:
    """Min-cost flow graph of a sequence of detections.

    Edges, in this order (``kind`` in brackets):

    1. detection ``in_i -> out_i`` for every ``i`` [0], cost ``log((1 - s_i) / s_i)`` with
       ``s_i = scores[i]`` clamped to ``[eps, 1 - eps]`` (negative for confident detections);
    2. entrance ``source -> in_i`` for every ``i`` [1], cost ``entry_cost``;
    3. exit ``out_i -> sink`` for every ``i`` [2], cost ``exit_cost``;
    4. transition ``out_i -> in_j`` [3] for every pair with
       ``1 <= frames[j] - frames[i] <= max_gap`` and ``IoU(boxes[i], boxes[j]) >= min_iou``,
       sorted by ``i`` then ``j``, cost ``-log(IoU) + gap_cost * (frames[j] - frames[i] - 1)``.

    Args:
        boxes (Tensor[N, 4] float): (x1, y1, x2, y2).
        frames (Tensor[N] int): frame number of every detection.
        scores (Tensor[N] float): detection confidences in ``[0, 1]``.
        max_gap (int): largest frame difference of a transition, ``>= 1``.
        min_iou (float): smallest IoU of a transition, in ``(0, 1]``.
        entry_cost (float): cost of starting a track.
        exit_cost (float): cost of ending a track.
        gap_cost (float): extra cost per skipped frame of a transition.
        eps (float): clamp of the scores, in ``(0, 0.5)``.

    Returns:
        dict: ``"edge_index"`` (Tensor[2, E] int64, tail and head node of every edge),
        ``"cost"`` (Tensor[E], computed in the dtype of ``boxes``, the float costs too: an
        ``entry_cost`` of 0.1 is made in that dtype, never a float32 tensor first),
        ``"kind"`` (Tensor[E] int64, 0 to 3 as above) and ``"num_nodes"`` (int, ``2 N + 2``).
        ``E = 3 N + #transitions``.

    Raises:
        TypeError: if a tensor argument is not a tensor or ``frames`` is not integer.
        ValueError: on wrong shapes or a parameter outside its range.
    """
    raise NotImplementedError("build_flow_graph: implement me (see README.md, section `flow`)")


def solve_min_cost_flow(graph: dict, num_tracks: int | None = None) -> Tensor:
    """Minimum-cost flow from node 0 (source) to node 1 (sink) with unit capacities.

    Every edge carries flow 0 or 1. With ``num_tracks = k`` the flow sends exactly ``k`` units
    and has the lowest total cost among such flows; with ``num_tracks=None`` the amount is free
    too and the flow has the lowest total cost of all flows (possibly 0 units, cost 0). Costs
    may be negative; the graph must have no cycle of negative total cost (flow graphs of
    tracking are acyclic). Successive shortest paths with Bellman-Ford on the residual graph
    solve both cases. When several flows tie, any of them is accepted.

    Args:
        graph (dict): ``"edge_index"`` (Tensor[2, E] int64, tail and head of every edge),
            ``"cost"`` (Tensor[E] float) and ``"num_nodes"`` (int); other keys are ignored.
        num_tracks (int | None): units of flow to send, or None for the cheapest amount.

    Returns:
        Tensor[E] bool: the edges that carry flow, on the device of ``graph["edge_index"]``.

    Raises:
        TypeError: if ``graph`` is not a dict or ``edge_index`` is not int64.
        ValueError: on malformed graphs (an edge endpoint outside ``[0, num_nodes)`` included),
            ``num_tracks < 0``, or when fewer than ``num_tracks`` units can reach the sink (the
            message says how many can).
    """
    raise NotImplementedError("solve_min_cost_flow: implement me (see README.md, section `flow`)")


def flow_to_trajectories(graph: dict, active: Tensor) -> Tensor:
    """Track id of every detection from a flow on a graph of :func:`build_flow_graph`.

    Detection ``i`` is tracked when its detection edge ``2 + 2 i -> 3 + 2 i`` is active. An
    active edge ``3 + 2 i -> 2 + 2 j`` (out-node to in-node) links ``i`` to its successor
    ``j``; the chains of links are the tracks. Tracks are numbered ``0, 1, ...`` in increasing
    order of the index of their first (earliest) detection; untracked detections get ``-1``.
    Only the node numbering is used (not ``"kind"`` or the edge order).

    Args:
        graph (dict): ``"edge_index"`` (Tensor[2, E] int64) and ``"num_nodes"`` (int,
            ``2 N + 2``); other keys are ignored.
        active (Tensor[E] bool): the edges that carry flow.

    Returns:
        Tensor[N] int64: the track id of every detection, or -1.

    Raises:
        TypeError: if ``active`` is not a bool tensor.
        ValueError: if ``active`` has the wrong shape, ``num_nodes`` is odd, or a detection has
            more than one active link to a successor or from a predecessor.
    """
    raise NotImplementedError("flow_to_trajectories: implement me (see README.md, section `flow`)")
