"""Public tests of the mpn assignment: small hand-computed cases, brute force and identities.

Run them with ``nox -s test -- mpn``. Your package is reached only through the ``student``
fixture, exactly as in grading. Passing these tests does not guarantee full marks: the hidden
tests try more inputs (random graphs against an independent min-cost flow solver, other dtypes,
empty inputs, the network against known weights) against the same contract.
"""

import itertools
import math

import pytest
import torch

from harness.testkit import assert_tensor, check_gradient


# ---------------------------------------------------------------- flow


def brute_force_min_cost(edge_index, cost, num_nodes, num_tracks=None):
    """Cheapest 0/1 flow from node 0 to node 1 by trying every subset of edges (tiny graphs)."""
    edges, costs = edge_index.t().tolist(), cost.tolist()
    best = None
    for bits in itertools.product([0, 1], repeat=len(edges)):
        balance = [0] * num_nodes
        for (u, v), b in zip(edges, bits):
            balance[u] -= b
            balance[v] += b
        if any(balance[2:]) or (num_tracks is not None and balance[1] != num_tracks):
            continue
        c = sum(x for x, b in zip(costs, bits) if b)
        best = c if best is None else min(best, c)
    return best


def assert_valid_flow(active, edge_index, num_nodes, num_tracks=None):
    assert type(active) is torch.Tensor and active.dtype == torch.bool, f"expected a bool tensor, got {active!r}"
    assert active.shape == (edge_index.shape[1],)
    balance = torch.zeros(num_nodes, dtype=torch.int64)
    balance.index_add_(0, edge_index[0][active], -torch.ones(int(active.sum()), dtype=torch.int64))
    balance.index_add_(0, edge_index[1][active], torch.ones(int(active.sum()), dtype=torch.int64))
    assert bool((balance[2:] == 0).all()), f"flow not conserved: {balance.tolist()}"
    if num_tracks is not None:
        assert int(balance[1]) == num_tracks, f"expected {num_tracks} units, got {int(balance[1])}"


@pytest.mark.task("flow")
def test_build_flow_graph_two_detections(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]], dtype=torch.float64)
    frames = torch.tensor([3, 4])
    scores = torch.tensor([0.8, 0.5], dtype=torch.float64)
    g = student.build_flow_graph(boxes, frames, scores, entry_cost=2.0, exit_cost=1.5)
    # nodes: 0 source, 1 sink, det 0 = (2, 3), det 1 = (4, 5); IoU = 50 / 100
    assert g["num_nodes"] == 6
    assert_tensor(g["edge_index"], torch.tensor([[2, 4, 0, 0, 3, 5, 3], [3, 5, 2, 4, 1, 1, 4]]))
    assert_tensor(g["kind"], torch.tensor([0, 0, 1, 1, 2, 2, 3]))
    expected = torch.tensor([math.log(0.2 / 0.8), 0.0, 2.0, 2.0, 1.5, 1.5, -math.log(0.5)], dtype=torch.float64)
    assert_tensor(g["cost"], expected, atol=1e-12)


@pytest.mark.task("flow")
def test_build_flow_graph_skips_far_frames_and_low_iou(student):
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]])
    frames = torch.tensor([0, 3, 1])
    g = student.build_flow_graph(boxes, frames, torch.tensor([0.9, 0.9, 0.9]), max_gap=2)
    assert int((g["kind"] == 3).sum()) == 0, "no pair is both close in time and overlapping"
    g = student.build_flow_graph(boxes, frames, torch.tensor([0.9, 0.9, 0.9]), max_gap=3, gap_cost=1.0)
    assert_tensor(g["edge_index"][:, g["kind"] == 3], torch.tensor([[3], [4]]))
    assert_tensor(g["cost"][g["kind"] == 3], torch.tensor([2.0]), atol=1e-6)  # -log 1 + 1.0 * 2 skipped frames


@pytest.mark.task("flow")
def test_min_cost_flow_must_reroute(student):
    # the cheapest path 0-2-3-1 (cost 2) is not part of the best 2-unit flow (cost 8)
    ei = torch.tensor([[0, 0, 2, 2, 3, 4], [2, 4, 3, 1, 1, 3]])
    cost = torch.tensor([0.0, 2.0, 1.0, 4.0, 1.0, 1.0], dtype=torch.float64)
    g = {"edge_index": ei, "cost": cost, "num_nodes": 5}
    for k in (1, 2):
        got = student.solve_min_cost_flow(g, k)
        assert_valid_flow(got, ei, 5, k)
        assert float(cost[got].sum()) == pytest.approx(brute_force_min_cost(ei, cost, 5, k))


@pytest.mark.task("flow")
def test_min_cost_flow_free_amount_by_brute_force(student):
    gen = torch.Generator().manual_seed(0)
    ei = torch.tensor([[0, 0, 0, 2, 2, 3, 3, 4, 4, 5, 2], [2, 3, 4, 3, 5, 5, 1, 5, 1, 1, 1]])
    for trial in range(3):
        cost = torch.randint(-4, 5, (ei.shape[1],), generator=gen).double()
        got = student.solve_min_cost_flow({"edge_index": ei, "cost": cost, "num_nodes": 6})
        assert_valid_flow(got, ei, 6)
        assert float(cost[got].sum()) == pytest.approx(brute_force_min_cost(ei, cost, 6)), f"trial {trial}"


@pytest.mark.task("flow")
def test_flow_to_trajectories_two_tracks(student):
    # detections 0..3: tracks 3 -> 1 and 0 -> 2; ids follow the index of the first detection
    ei = torch.tensor([[2, 4, 6, 8, 0, 0, 3, 9, 5, 7], [3, 5, 7, 9, 2, 8, 6, 4, 1, 1]])
    got = student.flow_to_trajectories({"edge_index": ei, "num_nodes": 10}, torch.ones(10, dtype=torch.bool))
    assert_tensor(got, torch.tensor([0, 1, 0, 1]))


# ---------------------------------------------------------------- graph


@pytest.mark.task("graph")
def test_build_graph_top1_union(student):
    frames = torch.tensor([0, 1, 1, 0])
    feats = torch.tensor([[0.0], [1.0], [4.0], [10.0]])
    got = student.build_graph(frames, feats, top_k=1, max_gap=1)
    # future of 0: b(1) nearest; future of 3: c(2); past of 1: 0; past of 2: 0 (d 4) vs 3 (d 6)
    assert_tensor(got, torch.tensor([[0, 0, 3], [1, 2, 2]]))


@pytest.mark.task("graph")
def test_build_graph_respects_the_window(student):
    frames = torch.tensor([0, 1, 2, 3])
    got = student.build_graph(frames, torch.randn(4, 3), top_k=5, max_gap=2)
    assert_tensor(got, torch.tensor([[0, 0, 1, 1, 2], [1, 2, 2, 3, 3]]))


@pytest.mark.task("graph")
def test_edge_features_one_edge(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0], [10.0, 5.0, 30.0, 45.0]], dtype=torch.float64)
    feats = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    got = student.edge_features(boxes, torch.tensor([1, 4]), feats, torch.tensor([[0], [1]]))
    expected = torch.tensor([[0.5, 0.5, math.log(2.0), math.log(2.0), 3.0, 5.0]], dtype=torch.float64)
    assert_tensor(got, expected, atol=1e-12)


@pytest.mark.task("graph")
def test_edge_features_gradient(student):
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(4, 2, generator=gen, dtype=torch.float64) * 10
    boxes = torch.cat([xy, xy + 5 + torch.rand(4, 2, generator=gen, dtype=torch.float64)], 1)
    feats = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    ei = torch.tensor([[0, 0, 1], [2, 3, 3]])
    check_gradient(student, "edge_features", [boxes, torch.tensor([0, 0, 1, 2]), feats, ei], wrt=(0, 2))


# ---------------------------------------------------------------- mpn


def spec_shapes(f, e_in, n, e):
    """Parameter shapes from the docstring of MessagePassingNetwork."""
    layers = {"node_encoder": [f, n], "edge_encoder": [e_in, e, e], "edge_update": [2 * n + 2 * e, e, e],
              "message_past": [2 * n + e, n], "message_future": [2 * n + e, n], "node_update": [2 * n, n]}
    shapes = {}
    for name, sizes in layers.items():
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"{name}.{2 * k}.weight"] = (b, a)
            shapes[f"{name}.{2 * k}.bias"] = (b,)
    shapes.update({"classifier.0.weight": (e, e), "classifier.0.bias": (e,),
                   "classifier.2.weight": (1, e), "classifier.2.bias": (1,)})
    return shapes


def random_weights(shapes, seed):
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=gen) * 0.3 for k, s in shapes.items()}


@pytest.mark.task("mpn")
def test_mpn_only_the_classifier_bias(student):
    # all weights zero: every embedding is 0 and every logit is the classifier's last bias
    weights = {k: torch.zeros(s) for k, s in spec_shapes(4, 6, 8, 5).items()}
    weights["classifier.2.bias"] = torch.tensor([0.25])
    model = student.MessagePassingNetwork(4, 6, 8, 5, 3)
    model.load_weights(weights)
    got = model(torch.randn(5, 4), torch.tensor([[0, 1, 1], [2, 2, 4]]), torch.randn(3, 6))
    assert_tensor(got, torch.full((3, 3), 0.25))


@pytest.mark.task("mpn")
def test_mpn_is_permutation_equivariant(student):
    model = student.MessagePassingNetwork(4, 6, 8, 5, 2)
    model.load_weights(random_weights(spec_shapes(4, 6, 8, 5), seed=1))
    gen = torch.Generator().manual_seed(2)
    x, attr = torch.randn(6, 4, generator=gen), torch.randn(5, 6, generator=gen)
    ei = torch.tensor([[0, 0, 1, 2, 3], [2, 3, 4, 5, 5]])
    perm = torch.tensor([5, 2, 0, 4, 1, 3])  # new node k is old node perm[k]
    inverse = torch.argsort(perm)
    base = model(x, ei, attr)
    assert_tensor(model(x[perm], inverse[ei], attr), base, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(model(x, ei.flip(0), attr), base), "past and future must be treated differently"


@pytest.mark.task("mpn")
def test_mpn_edge_probabilities_are_sigmoid_of_the_last_step(student):
    model = student.MessagePassingNetwork(4, 6, 8, 5, 2)
    model.load_weights(random_weights(spec_shapes(4, 6, 8, 5), seed=3))
    x, attr, ei = torch.randn(3, 4), torch.randn(2, 6), torch.tensor([[0, 1], [1, 2]])
    assert_tensor(model.edge_probabilities(x, ei, attr), torch.sigmoid(model(x, ei, attr)[-1]), atol=1e-6)


# ---------------------------------------------------------------- postprocess


@pytest.mark.task("postprocess")
def test_postprocess_greedy_and_flow(student):
    frames = torch.tensor([0, 0, 1, 1])
    ei = torch.tensor([[0, 0, 1], [2, 3, 2]])
    scores = torch.tensor([0.9, 0.8, 0.8], dtype=torch.float64)
    # greedy takes 0->2 first and then cannot use 0->3 or 1->2; the flow takes both 0.8 edges
    assert_tensor(student.postprocess(ei, scores, frames, 0.5), torch.tensor([True, False, False]))
    assert_tensor(student.postprocess(ei, scores, frames, 0.5, method="flow"), torch.tensor([False, True, True]))
    # edges may come in either direction; the threshold is strict
    assert_tensor(student.postprocess(ei.flip(0), scores, frames, 0.8), torch.tensor([True, False, False]))


@pytest.mark.task("postprocess")
def test_track_sequence_output_format(student):
    from cv3data.mot import frame_detections, make_sequence

    dets, feats = frame_detections(make_sequence(5, num_frames=15, num_objects=5))
    out = student.track_sequence(dets, feats)
    assert type(out) is torch.Tensor and out.dtype == torch.float32 and out.dim() == 2 and out.shape[1] == 6
    keys = (out[:, 0] * 10000 + out[:, 1]).tolist()
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "sorted by frame then id, one row per (frame, id)"
    assert bool((out[:, 0] >= 1).all() and (out[:, 0] <= 15).all() and (out[:, 1] >= 1).all())
