"""Hidden tests of postprocess and track_sequence [postprocess].

Oracles: greedy rounding written as a Python loop; for method="flow", the best total
``sum(score - threshold)`` from networkx's min-cost flow (costs scaled to integers), with the
validity of the active set checked directly. track_sequence is checked for its output format
here; its tracking quality is graded by the accuracy checks (IDF1, MOTA).
"""

import pytest
import torch

from cv3data.mot import frame_detections, make_sequence
from harness.testkit import assert_tensor, devices
from mpn_oracles import (SCALE, build_graph_oracle, check_postprocess_valid, check_track_rows, greedy_oracle,
                         matching_oracle)


def scored_graph(n, num_frames, seed, top_k=3, max_gap=3, shuffle_directions=True):
    gen = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, num_frames, (n,), generator=gen)
    feats = torch.randn(n, 4, generator=gen)
    ei = build_graph_oracle(frames, feats, top_k, max_gap)
    if shuffle_directions:
        flip = torch.rand(ei.shape[1], generator=gen) < 0.5
        ei = torch.where(flip, ei.flip(0), ei)
    scores = torch.rand(ei.shape[1], generator=gen)
    return ei, scores, frames


@pytest.mark.task("postprocess")
@pytest.mark.parametrize("seed, threshold", [(0, 0.5), (1, 0.5), (2, 0.2), (3, 0.8)])
def test_greedy_matches_loop(student, seed, threshold):
    ei, scores, frames = scored_graph(40, 8, seed)
    got = student.postprocess(ei, scores, frames, threshold)
    assert_tensor(got, greedy_oracle(ei, scores, frames, threshold),
                  case=f"{ei.shape[1]} edges in both directions, threshold {threshold}")


@pytest.mark.task("postprocess")
@pytest.mark.parametrize("device", devices())
def test_greedy_on_device(student, device):
    ei, scores, frames = scored_graph(30, 6, seed=4)
    got = student.postprocess(ei.to(device), scores.to(device), frames.to(device))
    assert_tensor(got, greedy_oracle(ei, scores, frames, 0.5).to(device), case=device)


@pytest.mark.task("postprocess")
def test_greedy_threshold_is_strict_and_ties_go_to_the_lower_index(student):
    frames = torch.tensor([0, 1, 1, 2])
    ei = torch.tensor([[0, 0, 1, 2], [1, 2, 3, 3]])
    scores = torch.tensor([0.9, 0.9, 0.5, 0.75])
    got = student.postprocess(ei, scores, frames, 0.5)
    # edges 0 and 1 tie: edge 0 wins node 0's future; edge 2 scores exactly the threshold
    assert_tensor(got, torch.tensor([True, False, False, True]), case="a tie and a score at the threshold")


@pytest.mark.task("postprocess")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flow_rounding_is_optimal(student, seed):
    ei, scores, frames = scored_graph(30, 6, seed=10 + seed)
    got = student.postprocess(ei, scores.double(), frames, 0.4, method="flow")
    weight = check_postprocess_valid(got, ei, scores.double(), frames, 0.4, case=f"flow, seed {seed}")
    best = matching_oracle(ei, scores.double(), frames, 0.4)
    assert weight == pytest.approx(best, abs=ei.shape[1] / SCALE), f"total {weight}, optimum {best}"
    greedy = check_postprocess_valid(greedy_oracle(ei, scores, frames, 0.4), ei, scores.double(), frames, 0.4)
    assert weight >= greedy - 1e-9


@pytest.mark.task("postprocess")
def test_flow_rounding_beats_greedy_on_a_trap(student):
    # greedy takes 0->2 (0.9) and then loses both 0->3 and 1->2 (0.8 each)
    frames = torch.tensor([0, 0, 1, 1])
    ei = torch.tensor([[0, 0, 1], [2, 3, 2]])
    scores = torch.tensor([0.9, 0.8, 0.8], dtype=torch.float64)
    assert_tensor(student.postprocess(ei, scores, frames, 0.5), torch.tensor([True, False, False]), case="greedy")
    assert_tensor(student.postprocess(ei, scores, frames, 0.5, method="flow"), torch.tensor([False, True, True]),
                  case="flow")


@pytest.mark.task("postprocess")
def test_postprocess_without_edges(student):
    got = student.postprocess(torch.zeros(2, 0, dtype=torch.int64), torch.zeros(0), torch.tensor([0, 1]))
    assert_tensor(got, torch.zeros(0, dtype=torch.bool), case="no edges")


@pytest.mark.task("postprocess")
def test_postprocess_rejects_bad_inputs(student):
    frames = torch.tensor([0, 0, 1])
    with pytest.raises(ValueError, match="frame"):
        student.postprocess(torch.tensor([[0], [1]]), torch.tensor([0.9]), frames)
    with pytest.raises(ValueError, match="method"):
        student.postprocess(torch.tensor([[0], [2]]), torch.tensor([0.9]), frames, method="hungarian")
    with pytest.raises(ValueError, match="edge_scores|edge_index"):  # lengths disagree: either may be named
        student.postprocess(torch.tensor([[0], [2]]), torch.tensor([0.9, 0.1]), frames)


# ================================================================ track_sequence (format)


@pytest.mark.task("postprocess")
def test_track_sequence_output_format(student):
    seq = make_sequence(77, num_frames=20, num_objects=6)
    dets, feats = frame_detections(seq)
    out = student.track_sequence(dets, feats)
    check_track_rows(out, 20, "20 frames")
    assert out.shape[0] >= 0.5 * seq["gt"].shape[0], "far fewer boxes than objects"


@pytest.mark.task("postprocess")
def test_track_sequence_empty_frames(student):
    dets, feats = frame_detections(make_sequence(78, num_frames=12, num_objects=5))
    for t in (0, 5, 6, 11):
        dets[t], feats[t] = dets[t][:0], feats[t][:0]
    check_track_rows(student.track_sequence(dets, feats), 12, "frames 1, 6, 7, 12 empty")
    dim = feats[1].shape[1]
    out = student.track_sequence([torch.zeros(0, 5)] * 3, [torch.zeros(0, dim)] * 3)
    check_track_rows(out, 3, "no detections at all")
    assert out.shape[0] == 0
