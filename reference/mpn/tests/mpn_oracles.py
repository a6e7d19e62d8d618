"""Trusted oracles of the mpn hidden tests: networkx min-cost flow, brute-force graphs, checks.

Trusted side only (never sent to the sandbox). networkx's network simplex wants integer
costs: float costs are scaled by SCALE and rounded, so its optimum is within
``(#edges) * 0.5 / SCALE`` of the true one; tests with float costs use that tolerance.
"""

from __future__ import annotations

import math

import networkx as nx
import torch

SCALE = 10**6


def integer_weights(cost: torch.Tensor) -> list[int]:
    return [int(round(float(c) * SCALE)) for c in cost.double()]


def nx_min_cost(edge_index: torch.Tensor, cost: torch.Tensor, num_nodes: int, num_tracks=None):
    """(optimal cost, flow as a bool Tensor[E]) with node 0 the source, node 1 the sink.

    Parallel edges are split with a private middle node (networkx DiGraph has one edge per
    pair); num_tracks=None lets the amount free through a zero-cost bypass source -> sink."""
    g = nx.DiGraph()
    g.add_nodes_from(range(num_nodes))
    weights = integer_weights(cost)
    names = []
    for e, (u, v) in enumerate(edge_index.t().tolist()):
        mid = ("e", e)
        g.add_edge(u, mid, capacity=1, weight=weights[e])
        g.add_edge(mid, v, capacity=1, weight=0)
        names.append((u, mid))
    if num_tracks is None:
        k = edge_index.shape[1] + 1
        g.add_node("bypass")
        g.add_edge(0, "bypass", capacity=k, weight=0)
        g.add_edge("bypass", 1, capacity=k, weight=0)
    else:
        k = num_tracks
    g.nodes[0]["demand"] = -k
    g.nodes[1]["demand"] = k
    flow = nx.min_cost_flow(g)
    active = torch.tensor([flow[u][m] == 1 for u, m in names], dtype=torch.bool)
    return float(cost.double()[active].sum()), active


def check_flow(active, edge_index, num_nodes, num_tracks=None, case=""):
    """Raise AssertionError unless ``active`` is a bool Tensor[E] 0/1 flow from 0 to 1.

    Returns the amount of flow."""
    e = edge_index.shape[1]
    if type(active) is not torch.Tensor or active.dtype != torch.bool or tuple(active.shape) != (e,):
        raise AssertionError(f"[{case}] expected a bool Tensor[{e}], got "
                             f"{type(active).__name__} {getattr(active, 'dtype', '')} "
                             f"{list(getattr(active, 'shape', []))}")
    a = active.cpu()
    ones = torch.ones(int(a.sum()), dtype=torch.int64)
    out_deg = torch.zeros(num_nodes, dtype=torch.int64).index_add(0, edge_index[0][a], ones)
    in_deg = torch.zeros(num_nodes, dtype=torch.int64).index_add(0, edge_index[1][a], ones)
    bad = [v for v in range(2, num_nodes) if out_deg[v] != in_deg[v]]
    if bad:
        raise AssertionError(f"[{case}] flow is not conserved at node(s) {bad[:10]} "
                             f"(in {in_deg[bad[0]].item()}, out {out_deg[bad[0]].item()})")
    amount = int(out_deg[0] - in_deg[0])
    if amount != int(in_deg[1] - out_deg[1]):
        raise AssertionError(f"[{case}] the source sends {amount} units but the sink receives "
                             f"{int(in_deg[1] - out_deg[1])}")
    if num_tracks is not None and amount != num_tracks:
        raise AssertionError(f"[{case}] expected {num_tracks} units of flow, got {amount}")
    return amount


def random_dag(num_inner: int, num_edges: int, seed: int, low=-5, high=10, floats=False):
    """A random acyclic graph: source 0, sink 1, inner nodes 2.. in topological order."""
    gen = torch.Generator().manual_seed(seed)
    order = [0] + list(range(2, 2 + num_inner)) + [1]
    pairs = set()
    while len(pairs) < num_edges:
        a, b = sorted(torch.randint(0, len(order), (2,), generator=gen).tolist())
        if a != b and (a, b) != (0, len(order) - 1):
            pairs.add((order[a], order[b]))
    pairs = sorted(pairs)
    edge_index = torch.tensor(pairs, dtype=torch.int64).t().contiguous()
    if floats:
        cost = torch.rand(len(pairs), generator=gen, dtype=torch.float64) * (high - low) + low
    else:
        cost = torch.randint(low, high + 1, (len(pairs),), generator=gen).double()
    return {"edge_index": edge_index, "cost": cost, "num_nodes": num_inner + 2}


def synthetic_tracks(seed: int, num_frames=8, num_objects=4, p_detect=0.8, dtype=torch.float64):
    """Small jittered linear tracks, plus a few false positives; returns boxes, frames, scores."""
    gen = torch.Generator().manual_seed(seed)
    start = torch.rand(num_objects, 2, generator=gen, dtype=torch.float64) * 60
    vel = torch.randn(num_objects, 2, generator=gen, dtype=torch.float64) * 2
    size = torch.rand(num_objects, 2, generator=gen, dtype=torch.float64) * 10 + 8
    boxes, frames, scores = [], [], []
    for t in range(num_frames):
        for o in range(num_objects):
            if torch.rand(1, generator=gen).item() < p_detect:
                xy = start[o] + t * vel[o] + torch.randn(2, generator=gen, dtype=torch.float64) * 0.7
                boxes.append(torch.cat([xy, xy + size[o]]))
                frames.append(t)
                scores.append(torch.rand(1, generator=gen, dtype=torch.float64).item() * 0.8 + 0.2)
        if torch.rand(1, generator=gen).item() < 0.3:
            xy = torch.rand(2, generator=gen, dtype=torch.float64) * 60
            boxes.append(torch.cat([xy, xy + 10]))
            frames.append(t)
            scores.append(torch.rand(1, generator=gen, dtype=torch.float64).item() * 0.5)
    perm = torch.randperm(len(boxes), generator=gen)
    return (torch.stack(boxes)[perm].to(dtype), torch.tensor(frames, dtype=torch.int64)[perm],
            torch.tensor(scores, dtype=torch.float64)[perm].to(dtype))


def flow_graph_oracle(boxes, frames, scores, max_gap=1, min_iou=0.3, entry_cost=1.0, exit_cost=1.0,
                      gap_cost=0.5, eps=1e-6):
    """build_flow_graph written with Python loops (float64)."""
    n = boxes.shape[0]
    b = boxes.double().tolist()
    f = frames.tolist()
    s = scores.double().tolist()

    def iou(p, q):
        iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        inter = iw * ih
        union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
        return inter / union if union > 0 else 0.0

    tails, heads, cost, kind = [], [], [], []
    for i in range(n):
        si = min(max(s[i], eps), 1 - eps)
        tails.append(2 + 2 * i), heads.append(3 + 2 * i), cost.append(math.log((1 - si) / si)), kind.append(0)
    for i in range(n):
        tails.append(0), heads.append(2 + 2 * i), cost.append(entry_cost), kind.append(1)
    for i in range(n):
        tails.append(3 + 2 * i), heads.append(1), cost.append(exit_cost), kind.append(2)
    for i in range(n):
        for j in range(n):
            dt = f[j] - f[i]
            if 1 <= dt <= max_gap:
                q = iou(b[i], b[j])
                if q >= min_iou:
                    tails.append(3 + 2 * i), heads.append(2 + 2 * j)
                    cost.append(-math.log(q) + gap_cost * (dt - 1)), kind.append(3)
    return {"edge_index": torch.tensor([tails, heads], dtype=torch.int64).reshape(2, -1),
            "cost": torch.tensor(cost, dtype=torch.float64), "kind": torch.tensor(kind, dtype=torch.int64),
            "num_nodes": 2 * n + 2}


def trajectories_oracle(graph, active) -> torch.Tensor:
    ei = graph["edge_index"]
    n = (int(graph["num_nodes"]) - 2) // 2
    used, succ, has_pred = [False] * n, [-1] * n, [False] * n
    for u, v in ei[:, active].t().tolist():
        if u >= 2 and u % 2 == 0 and v == u + 1:
            used[(u - 2) // 2] = True
        elif u >= 3 and u % 2 == 1 and v >= 2 and v % 2 == 0:
            succ[(u - 3) // 2] = (v - 2) // 2
            has_pred[(v - 2) // 2] = True
    ids, t = [-1] * n, 0
    for i in range(n):
        if used[i] and not has_pred[i]:
            node = i
            while node != -1:
                ids[node] = t
                node = succ[node]
            t += 1
    return torch.tensor(ids, dtype=torch.int64)


def build_graph_oracle(frames, features, top_k, max_gap):
    """build_graph with Python loops over pairs (float64 distances, index tie-break)."""
    n = frames.shape[0]
    f = frames.tolist()
    x = features.double()
    d = [[float((x[i] - x[j]).norm()) for j in range(n)] for i in range(n)]
    keep = set()
    for i in range(n):
        fut = sorted((d[i][j], j) for j in range(n) if 1 <= f[j] - f[i] <= max_gap)
        keep |= {(i, j) for _, j in fut[:top_k]}
        past = sorted((d[i][j], j) for j in range(n) if 1 <= f[i] - f[j] <= max_gap)
        keep |= {(j, i) for _, j in past[:top_k]}
    return torch.tensor(sorted(keep), dtype=torch.int64).reshape(-1, 2).t().contiguous()


def edge_features_oracle(boxes, frames, features, edge_index):
    b = boxes.double()
    rows = []
    for i, j in edge_index.t().tolist():
        wi, hi = b[i, 2] - b[i, 0], b[i, 3] - b[i, 1]
        wj, hj = b[j, 2] - b[j, 0], b[j, 3] - b[j, 1]
        cxi, cyi = (b[i, 0] + b[i, 2]) / 2, (b[i, 1] + b[i, 3]) / 2
        cxj, cyj = (b[j, 0] + b[j, 2]) / 2, (b[j, 1] + b[j, 3]) / 2
        rows.append([float(2 * (cxj - cxi) / (hi + hj)), float(2 * (cyj - cyi) / (hi + hj)),
                     math.log(float(hj / hi)), math.log(float(wj / wi)), float(frames[j] - frames[i]),
                     float((features[j].double() - features[i].double()).norm())])
    return torch.tensor(rows, dtype=torch.float64).reshape(-1, 6)


def greedy_oracle(edge_index, scores, frames, threshold):
    e = edge_index.shape[1]
    items = sorted(range(e), key=lambda k: (-float(scores[k]), k))
    out_used, in_used = set(), set()
    active = [False] * e
    for k in items:
        if not float(scores[k]) > threshold:
            continue
        a, b = edge_index[:, k].tolist()
        p, f = (a, b) if frames[a] < frames[b] else (b, a)
        if p not in out_used and f not in in_used:
            active[k] = True
            out_used.add(p)
            in_used.add(f)
    return torch.tensor(active, dtype=torch.bool)


def matching_oracle(edge_index, scores, frames, threshold):
    """Best total sum(score - threshold) under the postprocess constraints (networkx flow)."""
    n = frames.shape[0]
    cand = [k for k in range(edge_index.shape[1]) if float(scores[k]) > threshold]
    tails, heads, cost = [], [], []
    for v in range(n):
        tails.append(0), heads.append(2 + 2 * v), cost.append(0.0)
    for k in cand:
        a, b = edge_index[:, k].tolist()
        p, f = (a, b) if frames[a] < frames[b] else (b, a)
        tails.append(2 + 2 * p), heads.append(3 + 2 * f), cost.append(threshold - float(scores[k]))
    for v in range(n):
        tails.append(3 + 2 * v), heads.append(1), cost.append(0.0)
    best, _ = nx_min_cost(torch.tensor([tails, heads], dtype=torch.int64),
                          torch.tensor(cost, dtype=torch.float64), 2 * n + 2)
    return -best


def check_postprocess_valid(active, edge_index, scores, frames, threshold, case=""):
    e = edge_index.shape[1]
    if type(active) is not torch.Tensor or active.dtype != torch.bool or tuple(active.shape) != (e,):
        raise AssertionError(f"[{case}] expected a bool Tensor[{e}], got {type(active).__name__} "
                             f"{getattr(active, 'dtype', '')} {list(getattr(active, 'shape', []))}")
    out_used, in_used = set(), set()
    for k in active.nonzero()[:, 0].tolist():
        if not float(scores[k]) > threshold:
            raise AssertionError(f"[{case}] edge {k} is active with score {float(scores[k])} <= threshold")
        a, b = edge_index[:, k].tolist()
        p, f = (a, b) if frames[a] < frames[b] else (b, a)
        if p in out_used:
            raise AssertionError(f"[{case}] detection {p} has two active edges to the future")
        if f in in_used:
            raise AssertionError(f"[{case}] detection {f} has two active edges to the past")
        out_used.add(p)
        in_used.add(f)
    return float((scores.double()[active] - threshold).sum())


def nx_max_units(edge_index: torch.Tensor, num_nodes: int) -> int:
    """Most units of flow that can go from node 0 to node 1 (unit capacities)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(num_nodes))
    for e, (u, v) in enumerate(edge_index.t().tolist()):
        g.add_edge(u, ("e", e), capacity=1)
        g.add_edge(("e", e), v, capacity=1)
    return int(nx.maximum_flow_value(g, 0, 1))


def check_track_rows(out, num_frames, case):
    """track_sequence's documented format: float32 [M, 6] rows (frame, id, box), integer-valued
    frame in 1..num_frames and id >= 1, one row per (frame, id), sorted by frame then id."""
    if type(out) is not torch.Tensor or out.dtype != torch.float32 or out.dim() != 2 or out.shape[1] != 6:
        raise AssertionError(f"[{case}] expected a float32 Tensor[M, 6], got {type(out).__name__} "
                             f"{getattr(out, 'dtype', '')} {list(getattr(out, 'shape', []))}")
    frames, ids = out[:, 0], out[:, 1]
    assert bool(torch.isfinite(out).all()), f"[{case}] non-finite values"
    assert bool((frames == frames.round()).all() and (ids == ids.round()).all()), f"[{case}] non-integer frame or id"
    assert bool(((frames >= 1) & (frames <= num_frames)).all()), f"[{case}] frame outside [1, {num_frames}]"
    assert bool((ids >= 1).all()), f"[{case}] id < 1"
    keys = (frames * 100000 + ids).tolist()
    assert len(set(keys)) == len(keys), f"[{case}] two rows with the same (frame, id)"
    assert keys == sorted(keys), f"[{case}] rows not sorted by frame, then id"


def steady_rows(t: int) -> list[list[float]]:
    """Frame ``t``'s detections ``(x1, y1, x2, y2, score)`` of three far-apart objects moving
    steadily (8 px right, 2 px down per frame), scored well above any sensible threshold."""
    return [[20.0 + 8 * t + 150 * k, 40.0 + 2 * t, 60.0 + 8 * t + 150 * k, 140.0 + 2 * t, 0.95] for k in range(3)]


def unit_embeddings(n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` random 16-d embeddings of unit norm, like the data's: track_sequence runs the
    student's trained network on them."""
    return torch.nn.functional.normalize(torch.randn(n, 16, generator=gen), dim=1)
