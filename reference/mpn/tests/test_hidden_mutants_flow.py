"""Hidden tests for the classes of one-mistake variants that survived `cv3 check mpn --mutants`
(issue 11), each tested across the API rather than line by line:

* degenerate geometry: boxes smaller than a pixel in build_flow_graph (an IoU dividing by
  max(union, 1)) and in edge_features (a width or height test against 1 instead of 0); boxes
  apart by less than a pixel in both directions; a detection of zero width or height in
  track_sequence (documented errors are for malformed lists and shapes only) [flow, graph,
  postprocess];
* float64 precision of documented float64 results: entry, exit and gap costs that float32
  cannot represent (0.1, 1/3, 0.7) compared at 1e-12 [flow];
* empty and extreme inputs: a flow graph of no detection (num_nodes = 2); one track through
  every detection (a chain as long as the sequence); the second unit of flow cancelling edge 0
  (the backward residual of edge 0 has id E) [flow];
* strict bounds: edge scores exactly at the threshold are never active, in both methods and
  dtypes [postprocess];
* the chains become tracks: an easy scene (three steady objects, maybe one lone detection
  first in its frame) gives tracks that stay on one object, without holes, with at most two
  of the objects' detections untracked [postprocess].

Oracles: mpn_oracles.flow_graph_oracle and edge_features_oracle (Python loops, float64); hand
built flows with a unique optimum; the scene's own detections.
"""

import pytest
import torch

from harness.testkit import assert_tensor
from mpn_oracles import (check_track_rows, edge_features_oracle, flow_graph_oracle, steady_rows, synthetic_tracks,
                         unit_embeddings)


@pytest.mark.task("flow")
@pytest.mark.parametrize("scale", [0.01, 0.05])
def test_build_flow_graph_of_sub_pixel_boxes(student, scale):
    # IoU is scale-invariant: the same sequence shrunk below one pixel has the same transitions
    boxes, frames, scores = synthetic_tracks(5)
    small = boxes * scale
    assert float(((small[:, 2] - small[:, 0]) * (small[:, 3] - small[:, 1])).max()) < 1.0
    got = student.build_flow_graph(small, frames, scores)
    expected = flow_graph_oracle(small, frames, scores)
    assert type(got) is dict and got.get("num_nodes") == expected["num_nodes"]
    assert_tensor(got["edge_index"], expected["edge_index"], case=f"scale {scale}: edge_index", check_device=False)
    assert_tensor(got["kind"], expected["kind"], case=f"scale {scale}: kind", check_device=False)
    assert_tensor(got["cost"], expected["cost"].to(small.dtype), atol=1e-9, rtol=1e-7, case=f"scale {scale}: cost",
                  check_device=False)
    full = flow_graph_oracle(boxes, frames, scores)
    assert expected["edge_index"].shape == full["edge_index"].shape, "the oracle itself is scale-invariant"


# ================================================================ seed 701 sweep (issue 11)
# Classes: costs promised in the dtype of boxes keep float64 precision for parameters that
# float32 cannot represent (a float32 intermediate rounds them); boxes apart by less than one
# pixel in both directions (a negative overlap must count as none, or two negatives multiply
# into a positive intersection); graphs of no detection (num_nodes = 2); one track through
# every detection (a chain as long as the sequence is followed to its end).


def _one_object(n, step=1.0):
    """One box moving slowly right, one detection per frame 0 .. n - 1 (IoU well above 0.3)."""
    x = torch.arange(n, dtype=torch.float64) * step
    zero = torch.zeros(n, dtype=torch.float64)
    boxes = torch.stack([x, zero, x + 10, zero + 10], 1)
    return boxes, torch.arange(n), torch.full((n,), 0.9, dtype=torch.float64)


@pytest.mark.task("flow")
@pytest.mark.parametrize("kw", [
    dict(entry_cost=0.1, exit_cost=1 / 3, gap_cost=0.7, max_gap=3),
    dict(entry_cost=1 / 3, exit_cost=0.1, gap_cost=1 / 3, max_gap=2, min_iou=0.1),
], ids=["a", "b"])
def test_build_flow_graph_float64_costs_are_exact(student, kw):
    # float64 boxes: every cost (entry, exit, gap term) is float64, to 1e-12 -- a float32
    # intermediate of 0.1, 1/3 or 0.7 is off by about 1e-8
    boxes, frames, scores = synthetic_tracks(6, num_frames=9, p_detect=0.6)
    got = student.build_flow_graph(boxes, frames, scores, **kw)
    expected = flow_graph_oracle(boxes, frames, scores, **kw)
    assert type(got) is dict and got.get("num_nodes") == expected["num_nodes"]
    assert_tensor(got["edge_index"], expected["edge_index"], case="edge_index", check_device=False)
    assert bool((expected["kind"] == 3).any()) and bool((got["edge_index"][1] - got["edge_index"][0] != 1).any())
    assert_tensor(got["cost"], expected["cost"], atol=1e-12, rtol=1e-12, case="float64 costs", check_device=False)


@pytest.mark.task("flow")
@pytest.mark.parametrize("gap", [0.25, 0.5, 0.9])
def test_build_flow_graph_boxes_apart_by_less_than_a_pixel(student, gap):
    # boxes 0.5 wide, diagonal neighbours `gap` apart in x and in y: they do not overlap (IoU 0,
    # no transition); boxes 1 -> 2 are the same box (IoU 1, a transition)
    s = 0.5
    boxes = torch.tensor([[0.0, 0.0, s, s], [s + gap, s + gap, 2 * s + gap, 2 * s + gap],
                          [s + gap, s + gap, 2 * s + gap, 2 * s + gap]], dtype=torch.float64)
    frames = torch.tensor([0, 1, 2])
    scores = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)
    for kw in (dict(min_iou=0.01, max_gap=2), dict(min_iou=0.3)):
        got = student.build_flow_graph(boxes, frames, scores, **kw)
        expected = flow_graph_oracle(boxes, frames, scores, **kw)
        assert expected["edge_index"].shape[1] == 3 * 3 + 1
        assert type(got) is dict and got.get("num_nodes") == 8
        assert_tensor(got["edge_index"], expected["edge_index"], case=f"gap {gap}, {kw}: edge_index",
                      check_device=False)
        assert_tensor(got["cost"], expected["cost"], atol=1e-9, rtol=1e-7, case=f"gap {gap}: cost", check_device=False)
    # the same pairs overlapping by `gap` in x only and apart in y: still no overlap
    shifted = boxes.clone()
    shifted[1:, 0] -= 2 * gap
    shifted[1:, 2] -= 2 * gap
    got = student.build_flow_graph(shifted, frames, scores, min_iou=0.01, max_gap=2)
    expected = flow_graph_oracle(shifted, frames, scores, min_iou=0.01, max_gap=2)
    assert_tensor(got["edge_index"], expected["edge_index"], case=f"gap {gap}, apart in y only", check_device=False)


@pytest.mark.task("flow")
def test_flow_to_trajectories_of_no_detection(student):
    boxes = torch.zeros(0, 4, dtype=torch.float64)
    frames = torch.zeros(0, dtype=torch.int64)
    graph = flow_graph_oracle(boxes, frames, torch.zeros(0, dtype=torch.float64))
    assert graph["num_nodes"] == 2
    got = student.flow_to_trajectories(graph, torch.zeros(0, dtype=torch.bool))
    assert_tensor(got, torch.zeros(0, dtype=torch.int64), case="N = 0: no track id", check_device=False)
    # a graph of no detection whose source feeds the sink directly
    graph = {"edge_index": torch.tensor([[0], [1]]), "num_nodes": 2}
    got = student.flow_to_trajectories(graph, torch.tensor([True]))
    assert_tensor(got, torch.zeros(0, dtype=torch.int64), case="N = 0, source -> sink", check_device=False)


@pytest.mark.task("flow")
@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_flow_to_trajectories_of_one_track_through_every_detection(student, n):
    boxes, frames, scores = _one_object(n)
    graph = flow_graph_oracle(boxes, frames, scores)
    kind = graph["kind"]
    ei = graph["edge_index"]
    # detections, the first entrance, the last exit and every transition
    active = (kind == 0) | (kind == 3)
    active |= (kind == 1) & (ei[1] == 2)
    active |= (kind == 2) & (ei[0] == 3 + 2 * (n - 1))
    assert int((kind == 3).sum()) == n - 1
    got = student.flow_to_trajectories(graph, active)
    assert_tensor(got, torch.zeros(n, dtype=torch.int64), case=f"one track of {n} detections", check_device=False)
    # the same chain with its first detection left out: one track of the n - 1 others
    if n > 2:
        first = ((kind == 0) & (ei[0] == 2)) | ((kind == 3) & (ei[0] == 3)) | ((kind == 1) & (ei[1] == 2))
        rest = (active & ~first) | ((kind == 1) & (ei[1] == 4))
        expected = torch.tensor([-1] + [0] * (n - 1))
        got = student.flow_to_trajectories(graph, rest)
        assert_tensor(got, expected, case=f"one track of detections 1..{n - 1}", check_device=False)


@pytest.mark.task("graph")
@pytest.mark.parametrize("scale", [0.02, 1 / 30])
def test_edge_features_of_sub_pixel_boxes(student, scale):
    # every width and height is positive (valid) but below one pixel, and one box is exactly
    # 1 x 1: the features are scale-free in the geometry, so they match the oracle as usual
    gen = torch.Generator().manual_seed(7)
    n = 6
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 100
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 25 + 5
    boxes = torch.cat([xy, xy + wh], 1) * scale
    boxes[0, 2:] = boxes[0, :2] + 1.0
    assert float((boxes[:, 2:] - boxes[:, :2]).max()) <= 1.0
    frames = torch.tensor([0, 1, 1, 2, 3, 3])
    feats = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    ei = (frames[None, :] - frames[:, None] > 0).nonzero().t().contiguous()
    got = student.edge_features(boxes, frames, feats, ei)
    assert_tensor(got, edge_features_oracle(boxes, frames, feats, ei), atol=1e-9, rtol=1e-9,
                  case=f"boxes scaled by {scale:.3g}", check_device=False)


@pytest.mark.task("postprocess")
@pytest.mark.parametrize("flat", ["width", "height"])
def test_track_sequence_survives_a_detection_without_area(student, flat):
    # a detector may return a box of zero width or height; track_sequence documents errors only
    # for malformed lists and shapes, so such a row (whatever the tracker does with it) must not
    # stop three steady objects from being tracked (unit-norm embeddings, like the data's)
    gen = torch.Generator().manual_seed(4)
    emb = unit_embeddings(4, gen)
    dets, feats = [], []
    for t in range(6):
        rows = steady_rows(t)
        rows.append([500.0, 300.0, 500.0 if flat == "width" else 540.0, 380.0 if flat == "width" else 300.0, 0.95])
        dets.append(torch.tensor(rows))
        feats.append(emb.clone())
    out = student.track_sequence(dets, feats)
    check_track_rows(out, 6, f"a detection of zero {flat} in every frame")
    assert out.shape[0] >= 3 * 5, f"three steady objects over 6 frames gave only {out.shape[0]} rows"


LONE = [300.0, 400.0, 340.0, 480.0, 0.95]  # a detection seen once, far from the three objects


@pytest.mark.task("postprocess")
@pytest.mark.parametrize("num_frames, lone_frame", [(6, None), (8, None), (6, 0), (8, 2)])
def test_track_sequence_turns_chains_into_tracks_without_holes(student, num_frames, lone_frame):
    # three far-apart objects moving steadily, each with its own embedding, detected in every
    # frame with a good score (and maybe one lone detection, first in its frame): each track
    # stays on one object, its rows are detections of that object, one per frame over a run of
    # consecutive frames (a chain becomes a track with all of its detections), and at most two
    # of the objects' detections go untracked; the lone one may form a track of its own or none
    # (unit-norm embeddings, like the data's)
    gen = torch.Generator().manual_seed(4)
    emb = unit_embeddings(3, gen)
    lone = unit_embeddings(1, gen)
    dets, feats = [], []
    for t in range(num_frames):
        rows = steady_rows(t)
        f = emb.clone()
        if t == lone_frame:
            rows, f = [LONE] + rows, torch.cat([lone, f])
        dets.append(torch.tensor(rows))
        feats.append(f)
    out = student.track_sequence(dets, feats)
    check_track_rows(out, num_frames, "three easy objects")
    tracks = {}
    for row in out.tolist():
        t = int(row[0]) - 1
        if lone_frame is not None and abs(row[2] - LONE[0]) < 4 and abs(row[3] - LONE[1]) < 4:
            assert t == lone_frame, f"frame {t + 1}: a row {row} on the lone detection of frame {lone_frame + 1}"
            tracks.setdefault(int(row[1]), []).append((t, "lone"))
            continue
        steady = steady_rows(t)
        k = min(range(3), key=lambda k: abs(row[2] - steady[k][0]))
        on_it = abs(row[2] - steady[k][0]) < 4 and abs(row[3] - steady[k][1]) < 4
        assert on_it, f"frame {t + 1}: the row {row} is not on a detection"
        tracks.setdefault(int(row[1]), []).append((t, k))
    tracked = sum(1 for rows in tracks.values() for _, k in rows if k != "lone")
    assert tracked >= 3 * num_frames - 2, f"only {tracked} of the {3 * num_frames} easy detections are tracked"
    for tid, rows in tracks.items():
        objects = {k for _, k in rows}
        assert len(objects) == 1, f"track {tid} jumps between objects {sorted(objects, key=str)}"
        frames = sorted(t for t, _ in rows)
        assert frames == list(range(frames[0], frames[-1] + 1)), f"track {tid} has holes: frames {frames}"


def _cancel_graph(a_cost, b_cost):
    # source 0, sink 1, a = 2, b = 3; edge 0 is a -> b, the middle of the first shortest path,
    # which the second unit must cancel (s -> b -> a backwards -> t)
    return {"edge_index": torch.tensor([[2, 0, 3, 0, 2], [3, 2, 1, 3, 1]]),
            "cost": torch.tensor([1.0, a_cost, 1.0, b_cost, 3.0], dtype=torch.float64), "num_nodes": 4}


@pytest.mark.task("flow")
@pytest.mark.parametrize("num_tracks, a_cost, b_cost", [(2, 1.0, 3.0), (None, -5.0, -3.0)],
                         ids=["two-units", "free-amount"])
def test_min_cost_flow_cancels_edge_zero(student, num_tracks, a_cost, b_cost):
    g = _cancel_graph(a_cost, b_cost)
    if num_tracks is None:
        # first path s-a-b-t costs -3, the rerouting one -1: the free amount is 2
        got = student.solve_min_cost_flow(g)
    else:
        assert_tensor(student.solve_min_cost_flow(g, 1), torch.tensor([True, True, True, False, False]),
                      case="one unit: s -> a -> b -> t", check_device=False)
        got = student.solve_min_cost_flow(g, num_tracks)
    # the only 2-unit flow: both source and both sink edges, so a -> b (edge 0) carries nothing
    assert_tensor(got, torch.tensor([False, True, True, True, True]), case="edge 0 cancelled", check_device=False)


@pytest.mark.task("postprocess")
@pytest.mark.parametrize("method", ["greedy", "flow"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_postprocess_scores_at_the_threshold_are_never_active(student, method, dtype):
    # four unblocked edges (no detection shared): those scoring exactly the threshold stay off,
    # those a hair above it are on (0.5 and 0.25 are exact in both dtypes)
    frames = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    ei = torch.tensor([[0, 2, 5, 6], [1, 3, 4, 7]])
    for threshold in (0.5, 0.25):
        scores = torch.tensor([threshold, threshold + 0.125, threshold, threshold + 1e-3], dtype=dtype)
        got = student.postprocess(ei, scores, frames, threshold, method=method)
        assert_tensor(got, torch.tensor([False, True, False, True]), case=f"{method}, threshold {threshold}",
                      check_device=False)
