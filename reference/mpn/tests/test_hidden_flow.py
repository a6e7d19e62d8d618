"""Hidden tests of build_flow_graph, solve_min_cost_flow and flow_to_trajectories [flow].

Oracles: a loop-by-loop build_flow_graph; networkx.min_cost_flow (network simplex) with
integer costs (scaled and rounded, tolerance from the rounding) for the optimal total cost;
flow conservation and capacities checked directly. Ties make the optimal flow ambiguous, so
the solver is graded on validity and total cost, never on which optimum it picks.
"""

import pytest
import torch

from harness.testkit import assert_tensor, devices
from mpn_oracles import (SCALE, check_flow, flow_graph_oracle, nx_min_cost, nx_max_units, random_dag, synthetic_tracks,
                     trajectories_oracle)


def assert_graph(got, expected, case, dtype=torch.float64, atol=1e-9, rtol=1e-7):
    if not isinstance(got, dict):
        raise AssertionError(f"[{case}] expected a dict, got {type(got).__name__}")
    for key in ("edge_index", "cost", "kind", "num_nodes"):
        if key not in got:
            raise AssertionError(f"[{case}] the graph has no key '{key}' (keys: {sorted(got)})")
    if type(got["num_nodes"]) is not int or got["num_nodes"] != expected["num_nodes"]:
        raise AssertionError(f"[{case}] num_nodes must be the int {expected['num_nodes']}, got {got['num_nodes']!r}")
    assert_tensor(got["edge_index"], expected["edge_index"], case=f"{case}: edge_index", check_device=False)
    assert_tensor(got["kind"], expected["kind"], case=f"{case}: kind", check_device=False)
    assert_tensor(got["cost"], expected["cost"].to(dtype), atol=atol, rtol=rtol, case=f"{case}: cost",
                  check_device=False)


# ================================================================ build_flow_graph


@pytest.mark.task("flow")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_build_flow_graph_matches_loops(student, seed):
    boxes, frames, scores = synthetic_tracks(seed)
    got = student.build_flow_graph(boxes, frames, scores)
    assert_graph(got, flow_graph_oracle(boxes, frames, scores), f"seed {seed}, defaults")


@pytest.mark.task("flow")
def test_build_flow_graph_parameters_and_float32(student):
    boxes, frames, scores = synthetic_tracks(3, num_frames=10, p_detect=0.6, dtype=torch.float32)
    kw = dict(max_gap=3, min_iou=0.1, entry_cost=2.5, exit_cost=0.5, gap_cost=0.25, eps=1e-3)
    got = student.build_flow_graph(boxes, frames, scores, **kw)
    assert_graph(got, flow_graph_oracle(boxes, frames, scores, **kw), "max_gap 3, float32",
                 dtype=torch.float32, atol=1e-5, rtol=1e-5)


@pytest.mark.task("flow")
@pytest.mark.parametrize("device", devices())
def test_build_flow_graph_on_device(student, device):
    boxes, frames, scores = synthetic_tracks(4)
    got = student.build_flow_graph(boxes.to(device), frames.to(device), scores.to(device))
    assert got["edge_index"].device.type == device and got["cost"].device.type == device
    assert_graph(got, flow_graph_oracle(boxes, frames, scores), device)


@pytest.mark.task("flow")
def test_build_flow_graph_scores_are_clamped(student):
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 11, 11]], dtype=torch.float64)
    frames = torch.tensor([0, 1, 2])
    scores = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)
    got = student.build_flow_graph(boxes, frames, scores, eps=1e-4)
    assert_graph(got, flow_graph_oracle(boxes, frames, scores, eps=1e-4), "scores 0, 1 and 0.5")


@pytest.mark.task("flow")
def test_build_flow_graph_empty(student):
    got = student.build_flow_graph(torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), torch.zeros(0))
    assert got["num_nodes"] == 2
    assert_tensor(got["edge_index"], torch.zeros(2, 0, dtype=torch.int64), case="no detections")
    assert_tensor(got["cost"], torch.zeros(0), case="no detections")


@pytest.mark.task("flow")
@pytest.mark.parametrize("kwargs, match", [
    (dict(max_gap=0), "max_gap"),
    (dict(min_iou=0.0), "min_iou"),
    (dict(min_iou=1.5), "min_iou"),
])
def test_build_flow_graph_rejects_bad_parameters(student, kwargs, match):
    boxes, frames, scores = synthetic_tracks(0, num_frames=3)
    with pytest.raises(ValueError, match=match):
        student.build_flow_graph(boxes, frames, scores, **kwargs)


@pytest.mark.task("flow")
def test_build_flow_graph_rejects_bad_shapes(student):
    with pytest.raises(ValueError, match="boxes"):
        student.build_flow_graph(torch.zeros(3, 5), torch.zeros(3, dtype=torch.int64), torch.zeros(3))
    with pytest.raises(ValueError):
        student.build_flow_graph(torch.zeros(3, 4), torch.zeros(2, dtype=torch.int64), torch.zeros(3))


# ================================================================ solve_min_cost_flow


@pytest.mark.task("flow")
@pytest.mark.parametrize("seed", range(4))
def test_min_cost_flow_free_amount_matches_networkx(student, seed):
    g = random_dag(10, 30, seed)
    best, _ = nx_min_cost(g["edge_index"], g["cost"], g["num_nodes"])
    got = student.solve_min_cost_flow(g)
    check_flow(got, g["edge_index"], g["num_nodes"], case=f"random DAG {seed}")
    cost = float(g["cost"][got.cpu()].sum())
    assert cost == pytest.approx(best, abs=1e-9), f"total cost {cost}, optimum {best}"


@pytest.mark.task("flow")
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_min_cost_flow_fixed_amount_matches_networkx(student, k):
    g = random_dag(12, 40, seed=12 + k, low=-3, high=8)
    assert nx_max_units(g["edge_index"], g["num_nodes"]) >= k  # the case is feasible
    best, _ = nx_min_cost(g["edge_index"], g["cost"], g["num_nodes"], num_tracks=k)
    got = student.solve_min_cost_flow(g, k)
    check_flow(got, g["edge_index"], g["num_nodes"], num_tracks=k, case=f"{k} units")
    assert float(g["cost"][got.cpu()].sum()) == pytest.approx(best, abs=1e-9)


@pytest.mark.task("flow")
def test_min_cost_flow_needs_cancelling_a_path(student):
    # the cheapest single path 0-2-3-1 (cost 2) is not part of the best 2-unit flow: the
    # second shortest path must undo edge 2->3 through the residual graph
    g = {"edge_index": torch.tensor([[0, 0, 2, 2, 3, 4], [2, 4, 3, 1, 1, 3]]),
         "cost": torch.tensor([0.0, 2.0, 1.0, 4.0, 1.0, 1.0], dtype=torch.float64), "num_nodes": 5}
    got = student.solve_min_cost_flow(g, 1)
    assert_tensor(got, torch.tensor([True, False, True, False, True, False]), case="1 unit")
    got = student.solve_min_cost_flow(g, 2)
    assert_tensor(got, torch.tensor([True, True, False, True, True, True]), case="2 units (cost 8)")


@pytest.mark.task("flow")
@pytest.mark.parametrize("seed", [0, 5])
def test_min_cost_flow_on_tracking_graphs(student, seed):
    boxes, frames, scores = synthetic_tracks(seed, num_frames=10, num_objects=5)
    g = flow_graph_oracle(boxes, frames, scores, max_gap=2)
    e = g["edge_index"].shape[1]
    for k in (None, 3):
        best, _ = nx_min_cost(g["edge_index"], g["cost"], g["num_nodes"], num_tracks=k)
        got = student.solve_min_cost_flow(g, k)
        check_flow(got, g["edge_index"], g["num_nodes"], num_tracks=k, case=f"tracking graph, {k} units")
        # networkx solved the costs rounded to 1/SCALE: its optimum is within E / 2 / SCALE
        assert float(g["cost"][got].sum()) == pytest.approx(best, abs=e / SCALE)


@pytest.mark.task("flow")
def test_min_cost_flow_float32_costs(student):
    g = random_dag(8, 20, seed=7, floats=True)
    g32 = {**g, "cost": g["cost"].float()}
    best, _ = nx_min_cost(g["edge_index"], g32["cost"].double(), g["num_nodes"])
    got = student.solve_min_cost_flow(g32)
    check_flow(got, g["edge_index"], g["num_nodes"], case="float32 costs")
    assert float(g32["cost"].double()[got].sum()) == pytest.approx(best, abs=1e-4)


@pytest.mark.task("flow")
def test_min_cost_flow_all_positive_costs_sends_nothing(student):
    g = random_dag(6, 15, seed=3, low=1, high=5)
    got = student.solve_min_cost_flow(g)
    assert_tensor(got, torch.zeros(15, dtype=torch.bool), case="every path costs > 0")


@pytest.mark.task("flow")
def test_min_cost_flow_without_edges(student):
    g = {"edge_index": torch.zeros(2, 0, dtype=torch.int64), "cost": torch.zeros(0), "num_nodes": 2}
    assert_tensor(student.solve_min_cost_flow(g), torch.zeros(0, dtype=torch.bool), case="no edges")
    assert_tensor(student.solve_min_cost_flow(g, 0), torch.zeros(0, dtype=torch.bool), case="no edges, 0 units")


@pytest.mark.task("flow")
def test_min_cost_flow_infeasible_amount_raises(student):
    g = {"edge_index": torch.tensor([[0, 2, 0], [2, 1, 1]]), "cost": torch.tensor([1.0, 1.0, 5.0]),
         "num_nodes": 3}
    assert_tensor(student.solve_min_cost_flow(g, 2), torch.tensor([True, True, True]), case="2 units")
    with pytest.raises(ValueError, match=r"num_tracks|\b2\b"):  # "the message says how many can": 2
        student.solve_min_cost_flow(g, 3)
    with pytest.raises(ValueError, match="num_tracks"):
        student.solve_min_cost_flow(g, -1)


# ================================================================ flow_to_trajectories


@pytest.mark.task("flow")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flow_to_trajectories_matches_oracle(student, seed):
    boxes, frames, scores = synthetic_tracks(seed, num_frames=10)
    g = flow_graph_oracle(boxes, frames, scores, max_gap=2)
    _, active = nx_min_cost(g["edge_index"], g["cost"], g["num_nodes"], num_tracks=4)
    got = student.flow_to_trajectories(g, active)
    assert_tensor(got, trajectories_oracle(g, active), case=f"networkx flow, seed {seed}")


@pytest.mark.task("flow")
def test_flow_to_trajectories_ignores_edge_order(student):
    boxes, frames, scores = synthetic_tracks(8, num_frames=8)
    g = flow_graph_oracle(boxes, frames, scores, max_gap=2)
    _, active = nx_min_cost(g["edge_index"], g["cost"], g["num_nodes"], num_tracks=3)
    perm = torch.randperm(active.numel(), generator=torch.Generator().manual_seed(0))
    shuffled = {"edge_index": g["edge_index"][:, perm], "num_nodes": g["num_nodes"]}
    got = student.flow_to_trajectories(shuffled, active[perm])
    assert_tensor(got, trajectories_oracle(g, active), case="edges shuffled, kind left out")


@pytest.mark.task("flow")
def test_flow_to_trajectories_hand_made(student):
    # detections 0..3; tracks 3 -> 1 and 0 -> 2 (track ids by the index of their first detection)
    ei = torch.tensor([[2, 4, 6, 8, 0, 0, 3, 9, 5, 7],
                       [3, 5, 7, 9, 2, 8, 6, 4, 1, 1]])
    active = torch.ones(10, dtype=torch.bool)
    got = student.flow_to_trajectories({"edge_index": ei, "num_nodes": 10}, active)
    assert_tensor(got, torch.tensor([0, 1, 0, 1]), case="two tracks")
    got = student.flow_to_trajectories({"edge_index": ei, "num_nodes": 10}, torch.zeros(10, dtype=torch.bool))
    assert_tensor(got, torch.full((4,), -1), case="no flow")


@pytest.mark.task("flow")
def test_flow_to_trajectories_rejects_a_split(student):
    # detection 0 links to both 1 and 2
    ei = torch.tensor([[0, 2, 4, 6, 3, 3, 5, 7], [2, 3, 5, 7, 4, 6, 1, 1]])
    with pytest.raises(ValueError):
        student.flow_to_trajectories({"edge_index": ei, "num_nodes": 8}, torch.ones(8, dtype=torch.bool))
    with pytest.raises(TypeError):
        student.flow_to_trajectories({"edge_index": ei, "num_nodes": 8}, torch.ones(8))
