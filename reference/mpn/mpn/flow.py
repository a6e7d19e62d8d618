"""Min-cost flow tracking (Zhang, Li & Nevatia 2008): the baseline that the MPN learns to solve.

Node numbering of a flow graph with ``N`` detections: ``0`` is the source, ``1`` the sink,
detection ``i`` is split into an *in*-node ``2 + 2 i`` and an *out*-node ``3 + 2 i``. Every
edge has capacity 1, so a flow is a set of active edges and every unit of flow is one track.
"""

from __future__ import annotations

# BEGIN SOLUTION
import math

import torch
# END SOLUTION
from torch import Tensor

__all__ = ["build_flow_graph", "solve_min_cost_flow", "flow_to_trajectories"]

# BEGIN SOLUTION
SOURCE, SINK = 0, 1
DETECTION, ENTRANCE, EXIT, TRANSITION = 0, 1, 2, 3


def _box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise IoU ``Tensor[N, M]`` (0 where the union is empty)."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])  # [N]
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # [M]
    iw = (torch.min(a[:, None, 2], b[:, 2]) - torch.max(a[:, None, 0], b[:, 0])).clamp(min=0)  # [N, M]
    ih = (torch.min(a[:, None, 3], b[:, 3]) - torch.max(a[:, None, 1], b[:, 1])).clamp(min=0)  # [N, M]
    inter = iw * ih
    union = area_a[:, None] + area_b - inter
    return torch.where(union > 0, inter / torch.where(union > 0, union, torch.ones_like(union)),
                       torch.zeros_like(union))
# END SOLUTION


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
    # BEGIN SOLUTION
    for name, x, dims, shape in (("boxes", boxes, 2, "[N, 4]"), ("frames", frames, 1, "[N]"),
                                 ("scores", scores, 1, "[N]")):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
        if x.dim() != dims:
            raise ValueError(f"{name} must have shape {shape}, got {list(x.shape)}")
    n = boxes.shape[0]
    if boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape [N, 4], got {list(boxes.shape)}")
    if frames.dtype.is_floating_point or frames.dtype == torch.bool:
        raise TypeError(f"frames must be an integer tensor, got dtype {frames.dtype}")
    if frames.shape[0] != n or scores.shape[0] != n:
        raise ValueError(f"frames and scores must have shape [{n}], got {list(frames.shape)} "
                         f"and {list(scores.shape)}")
    if type(max_gap) is not int or max_gap < 1:
        raise ValueError(f"max_gap must be an int >= 1, got {max_gap!r}")
    if not 0 < min_iou <= 1:
        raise ValueError(f"min_iou must be in (0, 1], got {min_iou!r}")
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps!r}")
    device, dtype = boxes.device, boxes.dtype
    idx = torch.arange(n, device=device)
    in_node, out_node = 2 + 2 * idx, 3 + 2 * idx  # [N], [N]
    s = scores.to(dtype).clamp(eps, 1 - eps)
    det_cost = torch.log((1 - s) / s)  # [N]

    frames = frames.to(device)
    dt = frames[None, :] - frames[:, None]  # [N, N]
    iou = _box_iou(boxes, boxes)  # [N, N]
    ok = (dt >= 1) & (dt <= max_gap) & (iou >= min_iou)  # [N, N]
    ti, tj = ok.nonzero().unbind(1)  # [T], [T] sorted by (i, j)
    trans_cost = -torch.log(iou[ti, tj]) + gap_cost * (dt[ti, tj] - 1).to(dtype)  # [T]

    src = torch.full_like(idx, SOURCE)
    snk = torch.full_like(idx, SINK)
    tails = torch.cat([in_node, src, out_node, out_node[ti]])
    heads = torch.cat([out_node, in_node, snk, in_node[tj]])
    cost = torch.cat([det_cost, torch.full((n,), float(entry_cost), dtype=dtype, device=device),
                      torch.full((n,), float(exit_cost), dtype=dtype, device=device), trans_cost])
    kind = torch.cat([torch.full((n,), k, dtype=torch.int64, device=device)
                      for k in (DETECTION, ENTRANCE, EXIT)]
                     + [torch.full((ti.numel(),), TRANSITION, dtype=torch.int64, device=device)])
    return {"edge_index": torch.stack([tails, heads]), "cost": cost, "kind": kind, "num_nodes": 2 * n + 2}
    # END SOLUTION


# BEGIN SOLUTION
def _check_graph(graph: object) -> tuple[Tensor, Tensor, int]:
    if not isinstance(graph, dict):
        raise TypeError(f"graph must be a dict with 'edge_index', 'cost' and 'num_nodes', got "
                        f"{type(graph).__name__}")
    missing = [k for k in ("edge_index", "cost", "num_nodes") if k not in graph]
    if missing:
        raise ValueError(f"graph is missing the key(s) {missing}")
    edge_index, cost = graph["edge_index"], graph["cost"]
    num_nodes = int(graph["num_nodes"])
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError("graph['edge_index'] must be a Tensor[2, E]")
    if edge_index.dtype != torch.int64:
        raise TypeError(f"graph['edge_index'] must be int64, got {edge_index.dtype}")
    if not isinstance(cost, Tensor) or cost.shape != (edge_index.shape[1],):
        raise ValueError(f"graph['cost'] must be a Tensor[{edge_index.shape[1]}] (one cost per edge)")
    if num_nodes < 2:
        raise ValueError(f"graph['num_nodes'] must be >= 2 (source and sink), got {num_nodes}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"graph['edge_index'] holds nodes outside [0, {num_nodes})")
    return edge_index, cost, num_nodes


def _shortest_path(tails: Tensor, heads: Tensor, rcost: Tensor, usable: Tensor, num_nodes: int):
    """Bellman-Ford from the source over the usable residual edges (vectorised relaxation).

    Returns the distance to every node and the residual edge each node was last improved
    through (-1 for none). Only strict improvements update a predecessor, so without negative
    cycles the predecessor graph is a tree."""
    inf = torch.tensor(math.inf, dtype=torch.float64, device=tails.device)
    dist = torch.full((num_nodes,), math.inf, dtype=torch.float64, device=tails.device)
    dist[SOURCE] = 0.0
    pred = torch.full((num_nodes,), -1, dtype=torch.int64, device=tails.device)
    edge_ids = torch.arange(tails.numel(), device=tails.device)
    for _ in range(num_nodes):
        cand = torch.where(usable, dist[tails] + rcost, inf)  # [2E]
        best = dist.scatter_reduce(0, heads, cand, reduce="amin", include_self=True)  # [V]
        improved = best < dist  # [V]
        if not bool(improved.any()):
            break
        hit = improved[heads] & (cand == best[heads])  # [2E]: edges that realise an improvement
        chosen = torch.full((num_nodes,), -1, dtype=torch.int64, device=tails.device)
        chosen = chosen.scatter_reduce(0, heads[hit], edge_ids[hit], reduce="amax", include_self=True)
        pred = torch.where(improved, chosen, pred)
        dist = best
    else:
        raise RuntimeError("negative cycle in the residual graph (the flow was not optimal)")
    return dist, pred
# END SOLUTION


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
    # BEGIN SOLUTION
    edge_index, cost, num_nodes = _check_graph(graph)
    if num_tracks is not None and (type(num_tracks) is not int or num_tracks < 0):
        raise ValueError(f"num_tracks must be None or an int >= 0, got {num_tracks!r}")
    e = edge_index.shape[1]
    device = edge_index.device
    flow = torch.zeros(e, dtype=torch.bool, device=device)
    # residual edges: 0..E-1 forward (usable when flow 0), E..2E-1 backward (usable when flow 1)
    tails = torch.cat([edge_index[0], edge_index[1]])
    heads = torch.cat([edge_index[1], edge_index[0]])
    c = cost.detach().to(device=device, dtype=torch.float64)
    rcost = torch.cat([c, -c])
    sent = 0
    while num_tracks is None or sent < num_tracks:
        usable = torch.cat([~flow, flow])
        dist, pred = _shortest_path(tails, heads, rcost, usable, num_nodes)
        if not math.isfinite(float(dist[SINK])):
            if num_tracks is None:
                break
            raise ValueError(f"cannot send num_tracks={num_tracks} units of flow: at most {sent} "
                             "can reach the sink")
        if num_tracks is None and float(dist[SINK]) >= 0:
            break  # path costs never decrease: more flow would not lower the total
        node, steps = SINK, 0
        while node != SOURCE:
            r = int(pred[node])
            if r < 0 or steps > num_nodes:
                raise RuntimeError("broken shortest-path tree")  # pragma: no cover - see README
            flow[r % e] = r < e  # forward residual: push; backward residual: cancel
            node = int(tails[r])
            steps += 1
        sent += 1
    return flow
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(graph, dict) or "edge_index" not in graph or "num_nodes" not in graph:
        raise ValueError("graph must be a dict with 'edge_index' and 'num_nodes'")
    edge_index = graph["edge_index"]
    num_nodes = int(graph["num_nodes"])
    if num_nodes < 2 or num_nodes % 2:
        raise ValueError(f"graph['num_nodes'] must be 2 N + 2, got {num_nodes}")
    if not isinstance(active, Tensor) or active.dtype != torch.bool:
        raise TypeError(f"active must be a bool tensor, got {getattr(active, 'dtype', type(active).__name__)}")
    if active.shape != (edge_index.shape[1],):
        raise ValueError(f"active must have shape [{edge_index.shape[1]}], got {list(active.shape)}")
    n = (num_nodes - 2) // 2
    tail, head = edge_index[:, active.to(edge_index.device)].tolist()
    used = [False] * n
    succ, pred = [-1] * n, [-1] * n
    for u, v in zip(tail, head):
        if u >= 2 and v == u + 1 and u % 2 == 0:  # detection edge in_i -> out_i
            used[(u - 2) // 2] = True
        elif u >= 3 and u % 2 == 1 and v >= 2 and v % 2 == 0:  # link out_i -> in_j
            i, j = (u - 3) // 2, (v - 2) // 2
            if succ[i] != -1:
                raise ValueError(f"detection {i} has more than one active link to a successor")
            if pred[j] != -1:
                raise ValueError(f"detection {j} has more than one active link from a predecessor")
            succ[i], pred[j] = j, i
    ids = [-1] * n
    track = 0
    for start in range(n):
        if not used[start] or (pred[start] != -1 and used[pred[start]]):
            continue
        node, steps = start, 0
        while node != -1 and used[node] and ids[node] == -1 and steps <= n:
            ids[node] = track
            node = succ[node]
            steps += 1
        track += 1
    return torch.tensor(ids, dtype=torch.int64, device=edge_index.device)
    # END SOLUTION
