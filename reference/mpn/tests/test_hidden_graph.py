"""Hidden tests of build_graph and edge_features [graph].

Oracles: pair-by-pair Python loops (float64). Features are random, so no two distances tie
closely enough for float rounding to change a top-k choice; exact ties are tested with a
hand-made case. edge_features is also gradient-checked in float64.
"""

import math

import pytest
import torch

from harness.testkit import assert_tensor, check_gradient, devices
from mpn_oracles import build_graph_oracle, edge_features_oracle


def random_detections(n, num_frames, dim, seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, num_frames, (n,), generator=gen)
    feats = torch.randn(n, dim, generator=gen, dtype=torch.float64).to(dtype)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 100
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 30 + 5
    boxes = torch.cat([xy, xy + wh], dim=1).to(dtype)
    return boxes, frames, feats


# ================================================================ build_graph


@pytest.mark.task("graph")
@pytest.mark.parametrize("top_k, max_gap", [(1, 1), (2, 3), (3, 2), (50, 4)])
def test_build_graph_matches_loops(student, top_k, max_gap):
    _, frames, feats = random_detections(40, 8, 5, seed=top_k * 10 + max_gap)
    got = student.build_graph(frames, feats, top_k, max_gap)
    assert_tensor(got, build_graph_oracle(frames, feats, top_k, max_gap),
                  case=f"40 detections in 8 frames, top_k {top_k}, max_gap {max_gap}")


@pytest.mark.task("graph")
def test_build_graph_float32_and_frame_offsets(student):
    _, frames, feats = random_detections(30, 6, 8, seed=3, dtype=torch.float32)
    frames = frames * 2 + 100  # every other frame, 1-based or not: only differences count
    got = student.build_graph(frames, feats, 2, 4)
    assert_tensor(got, build_graph_oracle(frames, feats, 2, 4), case="float32, frames 100, 102, ...")


@pytest.mark.task("graph")
@pytest.mark.parametrize("device", devices())
def test_build_graph_on_device(student, device):
    _, frames, feats = random_detections(25, 5, 4, seed=4)
    got = student.build_graph(frames.to(device), feats.to(device), 2, 2)
    assert_tensor(got, build_graph_oracle(frames, feats, 2, 2).to(device), case=device)


@pytest.mark.task("graph")
def test_build_graph_union_of_both_directions(student):
    # frame 0: a; frame 1: b, c. a's nearest future is b, but c's nearest past is a -> both kept
    frames = torch.tensor([0, 1, 1, 0])
    feats = torch.tensor([[0.0], [1.0], [5.0], [10.0]])
    got = student.build_graph(frames, feats, 1, 1)
    # d: a-b 1, a-c 5, d-b 9, d-c 5 -> a:{b}, d:{c}; b's past {a}, c's past {a (5 vs 5: index 0 first)}
    assert_tensor(got, torch.tensor([[0, 0, 3], [1, 2, 2]]), case="union and a tie")


@pytest.mark.task("graph")
def test_build_graph_without_candidates(student):
    got = student.build_graph(torch.tensor([0, 0, 5]), torch.randn(3, 4), 3, 2)
    assert_tensor(got, torch.zeros(2, 0, dtype=torch.int64), case="one frame and a far frame")
    got = student.build_graph(torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4), 3, 2)
    assert_tensor(got, torch.zeros(2, 0, dtype=torch.int64), case="no detections")


@pytest.mark.task("graph")
def test_build_graph_rejects_bad_arguments(student):
    frames, feats = torch.tensor([0, 1]), torch.randn(2, 3)
    with pytest.raises(ValueError, match="top_k"):
        student.build_graph(frames, feats, 0, 2)
    with pytest.raises(ValueError, match="max_gap"):
        student.build_graph(frames, feats, 2, 0)
    with pytest.raises(ValueError):
        student.build_graph(torch.tensor([0, 1, 2]), feats, 2, 2)
    with pytest.raises(TypeError, match="frames"):
        student.build_graph(torch.tensor([0.0, 1.0]), feats, 2, 2)


# ================================================================ edge_features


@pytest.mark.task("graph")
@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-10), (torch.float32, 1e-4)], ids=["f64", "f32"])
def test_edge_features_match_formula(student, dtype, atol):
    boxes, frames, feats = random_detections(30, 6, 6, seed=7, dtype=dtype)
    ei = build_graph_oracle(frames, feats, 3, 3)
    got = student.edge_features(boxes, frames, feats, ei)
    expected = edge_features_oracle(boxes, frames, feats, ei).to(dtype)
    assert_tensor(got, expected, atol=atol, rtol=1e-5, case=f"{ei.shape[1]} edges, {dtype}")


@pytest.mark.task("graph")
def test_edge_features_hand_computed(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0], [10.0, 5.0, 30.0, 45.0]], dtype=torch.float64)
    feats = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    got = student.edge_features(boxes, torch.tensor([1, 4]), feats, torch.tensor([[0], [1]]))
    # centres (5, 10) and (20, 25); heights 20, 40; widths 10, 20
    expected = torch.tensor([[2 * 15 / 60, 2 * 15 / 60, math.log(2.0), math.log(2.0), 3.0, 5.0]],
                            dtype=torch.float64)
    assert_tensor(got, expected, atol=1e-12, case="one edge")


@pytest.mark.task("graph")
def test_edge_features_are_antisymmetric(student):
    boxes, frames, feats = random_detections(12, 4, 3, seed=9)
    ei = build_graph_oracle(frames, feats, 2, 2)
    fwd = student.edge_features(boxes, frames, feats, ei)
    bwd = student.edge_features(boxes, frames, feats, ei.flip(0))
    sign = torch.tensor([-1.0, -1.0, -1.0, -1.0, -1.0, 1.0], dtype=torch.float64)
    assert_tensor(bwd, fwd * sign, atol=1e-12, case="reversed edges flip all but the distance")


@pytest.mark.task("graph")
def test_edge_features_gradient(student):
    boxes, frames, feats = random_detections(8, 3, 3, seed=11)
    ei = build_graph_oracle(frames, feats, 2, 2)
    check_gradient(student, "edge_features", [boxes, frames, feats, ei], wrt=(0, 2))


@pytest.mark.task("graph")
def test_edge_features_without_edges(student):
    boxes, frames, feats = random_detections(5, 3, 3, seed=1)
    got = student.edge_features(boxes, frames, feats, torch.zeros(2, 0, dtype=torch.int64))
    assert_tensor(got, torch.zeros(0, 6, dtype=torch.float64), case="no edges")


@pytest.mark.task("graph")
def test_edge_features_rejects_bad_inputs(student):
    boxes, frames, feats = random_detections(5, 3, 3, seed=1)
    ei = torch.tensor([[0], [1]])
    flat = boxes.clone()
    flat[1, 3] = flat[1, 1]
    with pytest.raises(ValueError, match="boxes|height"):
        student.edge_features(flat, frames, feats, ei)
    with pytest.raises(ValueError, match="edge_index"):
        student.edge_features(boxes, frames, feats, torch.tensor([[0], [5]]))
    with pytest.raises(ValueError, match="boxes"):
        student.edge_features(boxes[:, :3], frames, feats, ei)


# ================================================================ classes of one-mistake variants
# (found by `cv3 check mpn --mutants`): degenerate boxes at the boundary (exactly zero width or
# height) are refused with the documented exception, in either coordinate and in any row.


@pytest.mark.task("graph")
@pytest.mark.parametrize("bad", [[2.0, 1.0, 2.0, 5.0], [2.0, 1.0, 6.0, 1.0], [2.0, 1.0, 1.0, 5.0],
                                 [2.0, 1.0, 6.0, 0.5], [3.0, 3.0, 3.0, 3.0]],
                         ids=["zero-width", "zero-height", "negative-width", "negative-height", "a-point"])
@pytest.mark.parametrize("row", [0, 2])
def test_edge_features_refuse_boxes_without_area(student, bad, row):
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 5.0, 6.0], [2.0, 2.0, 3.0, 7.0]], dtype=torch.float64)
    boxes[row] = torch.tensor(bad, dtype=torch.float64)
    frames = torch.tensor([1, 2, 3])
    feats = torch.zeros(3, 2)
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="boxes|positive width and height"):
        student.edge_features(boxes, frames, feats, ei)
