"""Hidden tests of iou_cost, linear_assignment and associate [association].

Oracles: torchvision.ops.box_iou for the cost; scipy.optimize.linear_sum_assignment for the
Hungarian algorithm and, on the pseudo-node matrix [C | diag(max_cost)], for associate. Ties make
the chosen pairs ambiguous, so assignments are compared by total cost and checked for validity.
"""

import numpy as np
import pytest
import torch
import torchvision
from scipy.optimize import linear_sum_assignment

from harness.testkit import assert_tensor, devices


def random_boxes(n, seed, dtype=torch.float32, high=60.0, max_size=25.0):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * high
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * (max_size - 1) + 1
    return torch.cat([xy, xy + wh], dim=1).to(dtype)  # [n, 4]


def int64_vector(got, name, case):
    if type(got) is not torch.Tensor or got.dtype != torch.int64 or got.dim() != 1:
        raise AssertionError(f"[{case}] {name} must be a 1-D int64 tensor, got {got!r:.100}")
    return got


def check_assignment(got, cost, case):
    """A valid assignment of min(T, D) pairs with the oracle's total cost."""
    assert type(got) in (tuple, list) and len(got) == 2, f"[{case}] expected (rows, cols), got {got!r:.100}"
    rows, cols = (int64_vector(g, n, case) for g, n in zip(got, ("rows", "cols")))
    c = cost.double().numpy()
    k = min(c.shape)
    assert rows.shape == cols.shape == (k,), f"[{case}] expected {k} pairs, got {rows.shape[0]} and {cols.shape[0]}"
    r, s = rows.tolist(), cols.tolist()
    assert r == sorted(r), f"[{case}] rows must be ascending, got {r[:20]}"
    assert len(set(r)) == k and len(set(s)) == k, f"[{case}] a row or a column is used twice"
    assert all(0 <= i < c.shape[0] for i in r) and all(0 <= j < c.shape[1] for j in s), f"[{case}] index out of range"
    if k:
        o_rows, o_cols = linear_sum_assignment(c)
        best = c[o_rows, o_cols].sum()
        total = c[r, s].sum()
        assert abs(total - best) <= 1e-9 * max(1.0, abs(best)), \
            f"[{case}] total cost {total:.10g} is not minimal ({best:.10g})"


def check_association(got, cost, max_cost, case):
    """Valid, gated, and optimal for sum(matched cost) + max_cost * (unmatched tracks)."""
    assert type(got) in (tuple, list) and len(got) == 3, f"[{case}] expected 3 tensors, got {got!r:.100}"
    matches, ut, ud = got
    t, d = cost.shape
    if type(matches) is not torch.Tensor or matches.dtype != torch.int64 or matches.dim() != 2 \
            or matches.shape[1] != 2:
        raise AssertionError(f"[{case}] matches must be an int64 Tensor[M, 2], got {matches!r:.100}")
    int64_vector(ut, "unmatched_tracks", case)
    int64_vector(ud, "unmatched_dets", case)
    m = matches.tolist()
    tracks, dets = [a for a, _ in m], [b for _, b in m]
    assert tracks == sorted(tracks), f"[{case}] matches must be sorted by track index, got {m[:10]}"
    assert len(set(tracks)) == len(m) and len(set(dets)) == len(m), f"[{case}] an index is matched twice"
    assert ut.tolist() == sorted(set(range(t)) - set(tracks)), \
        f"[{case}] unmatched_tracks {ut.tolist()[:20]} is not the ascending complement of the matched tracks"
    assert ud.tolist() == sorted(set(range(d)) - set(dets)), \
        f"[{case}] unmatched_dets {ud.tolist()[:20]} is not the ascending complement of the matched detections"
    c = cost.double().numpy()
    for a, b in m:
        assert c[a, b] < max_cost, f"[{case}] pair ({a}, {b}) has cost {c[a, b]:.6g} >= max_cost {max_cost}"
    total = sum(c[a, b] for a, b in m) + max_cost * (t - len(m))
    if t == 0:
        best = 0.0
    else:
        big = 1e6
        aug = np.full((t, d + t), big)
        aug[:, :d] = np.where(c < max_cost, c, big)
        aug[np.arange(t), d + np.arange(t)] = max_cost
        r, s = linear_sum_assignment(aug)
        best = aug[r, s].sum()
    assert abs(total - best) <= 1e-9 * max(1.0, abs(best)), \
        f"[{case}] sum of matched costs + max_cost * unmatched tracks = {total:.10g}, optimum is {best:.10g}"


# ================================================================ iou_cost


@pytest.mark.task("association")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_iou_cost_matches_torchvision(student, dtype):
    a, b = random_boxes(9, 1, dtype), random_boxes(7, 2, dtype)
    expected = 1 - torchvision.ops.box_iou(a, b)
    atol = 1e-6 if dtype == torch.float32 else 1e-12
    assert_tensor(student.iou_cost(a, b), expected, atol=atol, case=f"9 x 7 random boxes, {dtype}")


@pytest.mark.task("association")
@pytest.mark.parametrize("device", devices())
def test_iou_cost_on_device(student, device):
    a, b = random_boxes(5, 3), random_boxes(6, 4)
    expected = (1 - torchvision.ops.box_iou(a, b)).to(device)
    assert_tensor(student.iou_cost(a.to(device), b.to(device)), expected, atol=1e-6, case=f"on {device}")


@pytest.mark.task("association")
def test_iou_cost_of_empty_sets(student):
    boxes = random_boxes(3, 5)
    assert_tensor(student.iou_cost(torch.zeros(0, 4), boxes), torch.zeros(0, 3), case="T = 0")
    assert_tensor(student.iou_cost(boxes, torch.zeros(0, 4)), torch.zeros(3, 0), case="D = 0")


@pytest.mark.task("association")
def test_iou_cost_inverted_and_degenerate_boxes_overlap_nothing(student):
    tracks = torch.tensor([[10.0, 10.0, 0.0, 0.0],  # inverted (e.g. extrapolated): width -10
                           [5.0, 5.0, 5.0, 5.0]])  # a point
    dets = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 5.0, 5.0]])
    assert_tensor(student.iou_cost(tracks, dets), torch.ones(2, 2), case="inverted and empty boxes")


@pytest.mark.task("association")
def test_iou_cost_hand_computed(student):
    tracks = torch.tensor([[0.0, 0.0, 4.0, 2.0]])
    dets = torch.tensor([[2.0, 0.0, 6.0, 2.0], [0.0, 0.0, 4.0, 2.0], [0.0, 1.0, 2.0, 3.0]])
    # intersections 4, 8, 2; unions 12, 8, 10
    expected = torch.tensor([[1 - 4 / 12, 0.0, 1 - 2 / 10]])
    assert_tensor(student.iou_cost(tracks, dets), expected, atol=1e-6, case="hand-computed 1 x 3")


@pytest.mark.task("association")
def test_iou_cost_rejects_bad_input(student):
    with pytest.raises(ValueError, match="tracks"):
        student.iou_cost(torch.zeros(3, 5), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="dets"):
        student.iou_cost(torch.zeros(3, 4), torch.zeros(4))
    with pytest.raises(TypeError):
        student.iou_cost([[0.0, 0.0, 1.0, 1.0]], torch.zeros(2, 4))


# ================================================================ linear_assignment


@pytest.mark.task("association")
@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (4, 9), (9, 4), (30, 30), (25, 40)], ids=str)
def test_linear_assignment_matches_scipy_on_random_costs(student, shape):
    gen = torch.Generator().manual_seed(sum(shape))
    cost = torch.randn(*shape, generator=gen, dtype=torch.float64) * 10
    check_assignment(student.linear_assignment(cost), cost, f"random {shape}")


@pytest.mark.task("association")
@pytest.mark.parametrize("shape", [(6, 6), (5, 8), (8, 5)], ids=str)
def test_linear_assignment_with_ties(student, shape):
    gen = torch.Generator().manual_seed(11 + shape[0])
    cost = torch.randint(0, 4, shape, generator=gen).double()  # many equal-cost optima
    check_assignment(student.linear_assignment(cost), cost, f"integer costs in 0..3, {shape}")


@pytest.mark.task("association")
def test_linear_assignment_is_not_greedy(student):
    # greedy takes (0, 0) for 1, then must take (1, 1) for 100: total 101; optimum is 2 + 3 = 5
    cost = torch.tensor([[1.0, 2.0], [3.0, 100.0]])
    got = student.linear_assignment(cost)
    check_assignment(got, cost, "greedy trap")
    assert got[1].tolist() == [1, 0]


@pytest.mark.task("association")
def test_linear_assignment_with_negative_and_large_costs(student):
    gen = torch.Generator().manual_seed(12)
    cost = torch.randn(12, 15, generator=gen, dtype=torch.float64) * 1e3 - 5e2
    cost[3, :] = 1e9  # a row where everything is expensive
    check_assignment(student.linear_assignment(cost), cost, "negative costs and a row of 1e9")


@pytest.mark.task("association")
def test_linear_assignment_of_a_large_problem_is_polynomial(student):
    # 80 x 120: enumerating assignments would never finish; O(n^3) takes milliseconds
    gen = torch.Generator().manual_seed(13)
    cost = torch.rand(80, 120, generator=gen, dtype=torch.float64)
    check_assignment(student.linear_assignment(cost), cost, "80 x 120 random")


@pytest.mark.task("association")
def test_linear_assignment_float32_and_integer_costs(student):
    gen = torch.Generator().manual_seed(14)
    cost32 = torch.rand(7, 9, generator=gen)
    check_assignment(student.linear_assignment(cost32), cost32, "float32 7 x 9")
    cost_int = torch.randint(-50, 50, (8, 6), generator=gen)
    check_assignment(student.linear_assignment(cost_int), cost_int, "int64 8 x 6")


@pytest.mark.task("association")
@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (3, 0)], ids=str)
def test_linear_assignment_of_an_empty_matrix(student, shape):
    rows, cols = student.linear_assignment(torch.zeros(shape))
    assert_tensor(rows, torch.zeros(0, dtype=torch.int64), case=f"empty rows {shape}")
    assert_tensor(cols, torch.zeros(0, dtype=torch.int64), case=f"empty cols {shape}")


@pytest.mark.task("association")
def test_linear_assignment_rejects_bad_input(student):
    with pytest.raises(ValueError):
        student.linear_assignment(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError):
        student.linear_assignment(torch.tensor([[1.0, float("inf")], [0.0, 1.0]]))
    with pytest.raises(ValueError):
        student.linear_assignment(torch.zeros(3))
    with pytest.raises(TypeError):
        student.linear_assignment([[1.0, 2.0]])


# ================================================================ associate


@pytest.mark.task("association")
@pytest.mark.parametrize("shape, max_cost", [((6, 6), 0.5), ((4, 9), 0.7), ((9, 4), 0.3), ((20, 25), 0.6)],
                         ids=["6x6", "4x9", "9x4", "20x25"])
def test_associate_is_optimal_with_pseudo_nodes(student, shape, max_cost):
    gen = torch.Generator().manual_seed(shape[0] * 31 + shape[1])
    cost = torch.rand(*shape, generator=gen, dtype=torch.float64)
    check_association(student.associate(cost, max_cost), cost, max_cost, f"random {shape}, max_cost {max_cost}")


@pytest.mark.task("association")
def test_associate_on_iou_costs_of_moving_boxes(student):
    prev = random_boxes(12, 21, torch.float64, high=200.0, max_size=40.0)
    gen = torch.Generator().manual_seed(22)
    dets = prev[torch.randperm(12, generator=gen)[:10]] + torch.randn(10, 4, generator=gen, dtype=torch.float64) * 3
    cost = 1 - torchvision.ops.box_iou(prev, dets)
    check_association(student.associate(cost, 0.7), cost, 0.7, "12 tracks, 10 jittered detections")


@pytest.mark.task("association")
def test_associate_pseudo_node_cost_is_per_track(student):
    # one match (0.1 + 0.6 for the unmatched track = 0.7) beats two (0.5 + 0.5 = 1.0)
    cost = torch.tensor([[0.1, 0.5], [0.5, 9.0]])
    matches, ut, ud = student.associate(cost, 0.6)
    assert matches.tolist() == [[0, 0]] and ut.tolist() == [1] and ud.tolist() == [1], \
        f"expected matches [[0, 0]], got {matches.tolist()} (pseudo detections cost max_cost per unmatched track)"


@pytest.mark.task("association")
def test_associate_gates_strictly(student):
    cost = torch.tensor([[0.5, 0.2], [0.3, 0.5]])
    matches, ut, ud = student.associate(cost, 0.5)
    assert matches.tolist() == [[0, 1], [1, 0]]
    cost = torch.tensor([[0.5]])  # exactly max_cost: not matched
    matches, ut, ud = student.associate(cost, 0.5)
    assert matches.shape == (0, 2) and ut.tolist() == [0] and ud.tolist() == [0], \
        f"a pair with cost == max_cost must not match, got {matches.tolist()}"


@pytest.mark.task("association")
def test_associate_with_forbidden_pairs(student):
    inf = float("inf")
    cost = torch.tensor([[inf, 0.2, inf], [0.1, inf, inf], [inf, inf, inf]])
    matches, ut, ud = student.associate(cost, 0.8)
    assert matches.tolist() == [[0, 1], [1, 0]] and ut.tolist() == [2] and ud.tolist() == [2]


@pytest.mark.task("association")
def test_associate_when_everything_is_gated(student):
    cost = torch.full((3, 4), 0.9)
    matches, ut, ud = student.associate(cost, 0.5)
    assert matches.shape == (0, 2) and matches.dtype == torch.int64
    assert ut.tolist() == [0, 1, 2] and ud.tolist() == [0, 1, 2, 3]


@pytest.mark.task("association")
@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (0, 0)], ids=str)
def test_associate_empty(student, shape):
    matches, ut, ud = student.associate(torch.zeros(shape), 0.5)
    assert_tensor(matches, torch.zeros(0, 2, dtype=torch.int64), case=f"matches of {shape}")
    assert_tensor(ut, torch.arange(shape[0]), case=f"unmatched tracks of {shape}")
    assert_tensor(ud, torch.arange(shape[1]), case=f"unmatched dets of {shape}")


@pytest.mark.task("association")
def test_associate_rejects_bad_input(student):
    with pytest.raises(ValueError):
        student.associate(torch.tensor([[float("nan")]]), 0.5)
    with pytest.raises(ValueError):
        student.associate(torch.zeros(2, 2), float("inf"))
    with pytest.raises(ValueError):
        student.associate(torch.zeros(2), 0.5)


# ================================================================ classes of one-mistake variants
# (found by `cv3 check tracking --mutants`): degenerate geometry in either argument.


def iou_cost_oracle(a, b):
    """1 - IoU in a float64 loop; negative widths and heights count as 0, an empty union gives 0."""
    out = torch.ones(len(a), len(b), dtype=torch.float64)
    for i, p in enumerate(a.double().tolist()):
        for j, q in enumerate(b.double().tolist()):
            area = [max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1]) for r in (p, q)]
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            union = area[0] + area[1] - iw * ih
            out[i, j] = 1.0 - (iw * ih / union if union > 0 else 0.0)
    return out


@pytest.mark.task("association")
@pytest.mark.parametrize("side", ["tracks", "dets"])
def test_iou_cost_degenerate_boxes_in_either_argument(student, side):
    normal = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 3.5], [2.0, 0.5, 2.5, 0.75]], dtype=torch.float64)
    odd = torch.tensor([
        [1.0, 1.0, 3.0, 0.5],  # inverted in y by less than 1
        [1.0, 1.0, 0.5, 3.0],  # inverted in x by less than 1
        [0.0, 3.0, 4.0, 0.0],  # inverted in y by 3
        [1.0, 1.0, 1.5, 1.25],  # smaller than a pixel
        [0.5, 0.5, 3.5, 1.2],  # less than a pixel high
        [2.0, 2.0, 2.0, 2.0],  # a point
    ], dtype=torch.float64)
    tracks, dets = (odd, normal) if side == "tracks" else (normal, odd)
    assert_tensor(student.iou_cost(tracks, dets), iou_cost_oracle(tracks, dets), atol=1e-12,
                  case=f"inverted and sub-pixel boxes as {side}")


@pytest.mark.task("association")
@pytest.mark.parametrize("fn", ["linear_assignment", "associate"])
def test_cost_checks_name_the_argument(student, fn):
    extra = (0.5,) if fn == "associate" else ()
    cases = [([[0.1, 0.2]], TypeError, "cost"),
             (torch.zeros(3), ValueError, "cost"),
             (torch.zeros(2, 2, 2), ValueError, "cost")]  # bool costs: see test_cost_dtypes_accepted_and_rejected
    for cost, error, match in cases:
        with pytest.raises(error, match=match):
            getattr(student, fn)(cost, *extra)
