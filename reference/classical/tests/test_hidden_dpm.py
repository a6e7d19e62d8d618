"""Hidden tests of distance_transform_1d, distance_transform_2d and dpm_score [dpm].

Oracle: brute force in float64 written here (every source position for every anchor position:
O(n^2) in 1-D, O((HW)^2) in 2-D), on small maps with random scores (no ties, so the argmax is
unique and compared exactly); with ties the test checks that the returned argmax attains the max.
"""

import math

import pytest
import torch

from harness.testkit import assert_tensor


def brute_1d(f, a, b):
    n = f.shape[0]
    q = torch.arange(n, dtype=torch.float64)
    v = f.double()[None, :] - a * (q[None, :] - q[:, None]) ** 2 - b * (q[None, :] - q[:, None])  # [p, q]
    return v.max(dim=1)


def brute_2d(f, ax, bx, ay, by):
    h, w = f.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    qy, qx = yy.reshape(-1), xx.reshape(-1)
    dx = qx[None, :] - qx[:, None]  # [p, q]
    dy = qy[None, :] - qy[:, None]
    v = f.double().reshape(-1)[None, :] - ax * dx ** 2 - bx * dx - ay * dy ** 2 - by * dy
    m, i = v.max(dim=1)
    return m.reshape(h, w), (i // w).reshape(h, w), (i % w).reshape(h, w)


def scores(shape, seed, dtype=torch.float64, scale=4.0):
    return (torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale).to(dtype)


# ------------------------------------------------------------------------------- 1-D
@pytest.mark.task("dpm")
@pytest.mark.parametrize("n", [1, 2, 3, 17, 64])
@pytest.mark.parametrize("a,b", [(1.0, 0.0), (0.05, 0.0), (0.3, 0.7), (2.5, -1.5), (0.01, 0.02), (40.0, 0.0)])
def test_dt1d_against_brute_force(student, n, a, b):
    f = scores(n, seed=n)
    d, arg = student.distance_transform_1d(f, a, b)
    md, mi = brute_1d(f, a, b)
    assert_tensor(d, md, atol=1e-10, rtol=1e-12, case=f"n={n}, a={a}, b={b}")
    assert_tensor(arg, mi, case=f"argmax, n={n}, a={a}, b={b}")


@pytest.mark.task("dpm")
def test_dt1d_float32(student):
    f = scores(30, seed=3, dtype=torch.float32)
    d, arg = student.distance_transform_1d(f, 0.2, 0.1)
    md, mi = brute_1d(f, 0.2, 0.1)
    assert_tensor(d, md.float(), atol=1e-5, case="float32 scores: float32 result")
    assert_tensor(arg, mi, case="float32 scores: int64 argmax")


@pytest.mark.task("dpm")
def test_dt1d_large_cost_is_the_identity(student):
    f = scores(12, seed=4)
    d, arg = student.distance_transform_1d(f, 1e6, 0.0)
    assert_tensor(d, f, atol=1e-9, case="a huge quadratic cost keeps every part at its anchor")
    assert_tensor(arg, torch.arange(12), case="argmax = p")


@pytest.mark.task("dpm")
def test_dt1d_single_peak(student):
    # one high score: every anchor reaches for it, paying a (q - p)^2 + b (q - p)
    f = torch.full((9,), -100.0, dtype=torch.float64)
    f[6] = 10.0
    d, arg = student.distance_transform_1d(f, 0.5, 1.0)
    p = torch.arange(9, dtype=torch.float64)
    assert_tensor(d, 10.0 - 0.5 * (6 - p) ** 2 - 1.0 * (6 - p), atol=1e-12,
                  case="peak at 6: D(p) = 10 - a (6 - p)^2 - b (6 - p) (displacement = part - anchor)")
    assert_tensor(arg, torch.full((9,), 6), case="argmax: the peak")


@pytest.mark.task("dpm")
def test_dt1d_ties_attain_the_maximum(student):
    f = torch.zeros(8, dtype=torch.float64)  # every argmax ties at distance 0 ... and at +-1 with b
    d, arg = student.distance_transform_1d(f, 1.0, 1.0)  # cost (q-p)^2 + (q-p) = 0 at q = p and q = p - 1
    md, _ = brute_1d(f, 1.0, 1.0)
    assert_tensor(d, md, atol=1e-12, case="constant scores, a tie between q = p and q = p - 1")
    q = arg.double()
    p = torch.arange(8, dtype=torch.float64)
    attained = f[arg] - (q - p) ** 2 - (q - p)
    assert_tensor(attained, md, atol=1e-12, case="the returned argmax must attain the maximum")


@pytest.mark.task("dpm")
def test_dt1d_empty(student):
    d, arg = student.distance_transform_1d(torch.zeros(0, dtype=torch.float64), 1.0, 0.0)
    assert_tensor(d, torch.zeros(0, dtype=torch.float64), case="n = 0")
    assert_tensor(arg, torch.zeros(0, dtype=torch.int64), case="n = 0: int64 argmax")


@pytest.mark.task("dpm")
def test_dt1d_rejects_bad_input(student):
    with pytest.raises(ValueError, match="a"):
        student.distance_transform_1d(torch.zeros(4, dtype=torch.float64), 0.0, 0.0)
    with pytest.raises(ValueError, match="scores|finite"):
        student.distance_transform_1d(torch.tensor([0.0, math.inf]), 1.0, 0.0)
    with pytest.raises(TypeError, match="scores|float32 or float64"):
        student.distance_transform_1d(torch.zeros(4, dtype=torch.int64), 1.0, 0.0)


# ------------------------------------------------------------------------------- 2-D
@pytest.mark.task("dpm")
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (8, 1), (6, 11), (13, 7)])
@pytest.mark.parametrize("coef", [(1.0, 0.0, 1.0, 0.0), (0.1, 0.3, 0.5, -0.2), (0.02, 0.0, 3.0, 1.0),
                                  (2.0, -1.0, 0.05, 0.4)])
def test_dt2d_against_brute_force(student, shape, coef):
    f = scores(shape, seed=sum(shape))
    d, qy, qx = student.distance_transform_2d(f, *coef)
    md, my, mx = brute_2d(f, *coef)
    assert_tensor(d, md, atol=1e-10, rtol=1e-12, case=f"{shape}, (ax, bx, ay, by) = {coef}")
    assert_tensor(qy, my, case=f"argmax row, {shape}, {coef}")
    assert_tensor(qx, mx, case=f"argmax column, {shape}, {coef}")


@pytest.mark.task("dpm")
def test_dt2d_axes_are_not_swapped(student):
    # a cheap x cost and an expensive y cost on a non-square map
    f = scores((5, 9), seed=8)
    d, qy, qx = student.distance_transform_2d(f, 0.01, 0.0, 50.0, 0.0)
    md, my, mx = brute_2d(f, 0.01, 0.0, 50.0, 0.0)
    assert_tensor(d, md, atol=1e-10, case="ax (columns) = 0.01, ay (rows) = 50")
    assert_tensor(qy, my, case="rows stay put")
    assert_tensor(qx, mx, case="columns move")


@pytest.mark.task("dpm")
def test_dt2d_float32_and_empty(student):
    f = scores((7, 6), seed=9, dtype=torch.float32)
    d, qy, qx = student.distance_transform_2d(f, 0.3, 0.0, 0.3, 0.0)
    md, _, _ = brute_2d(f, 0.3, 0.0, 0.3, 0.0)
    assert_tensor(d, md.float(), atol=1e-5, case="float32 map")
    d, qy, qx = student.distance_transform_2d(torch.zeros(0, 5), 1.0, 0.0, 1.0, 0.0)
    assert_tensor(d, torch.zeros(0, 5), case="H = 0")
    assert_tensor(qy, torch.zeros(0, 5, dtype=torch.int64), case="H = 0: int64 rows")
    assert_tensor(qx, torch.zeros(0, 5, dtype=torch.int64), case="H = 0: int64 columns")
    d, qy, qx = student.distance_transform_2d(torch.zeros(4, 0), 1.0, 0.0, 1.0, 0.0)
    assert_tensor(d, torch.zeros(4, 0), case="W = 0")
    assert_tensor(qy, torch.zeros(4, 0, dtype=torch.int64), case="W = 0: int64 rows")
    assert_tensor(qx, torch.zeros(4, 0, dtype=torch.int64), case="W = 0: int64 columns")


@pytest.mark.task("dpm")
def test_dt2d_rejects_non_positive_quadratic_cost(student):
    with pytest.raises(ValueError, match="ay"):
        student.distance_transform_2d(torch.zeros(3, 3), 1.0, 0.0, -1.0, 0.0)
    with pytest.raises(ValueError, match="ax"):
        student.distance_transform_2d(torch.zeros(3, 3), 0.0, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="scores|dimensions"):
        student.distance_transform_2d(torch.zeros(3), 1.0, 0.0, 1.0, 0.0)


# ------------------------------------------------------------------------------- star model
def brute_star(root, parts, anchors, defs):
    h, w = root.shape
    total = root.double().clone()
    place = torch.full((parts.shape[0], h, w, 2), -1, dtype=torch.int64)
    for y in range(h):
        for x in range(w):
            s = float(root[y, x])
            where = []
            for i in range(parts.shape[0]):
                py, px = y + int(anchors[i, 0]), x + int(anchors[i, 1])
                if not (0 <= py < h and 0 <= px < w):
                    s = -math.inf
                    break
                ax, bx, ay, by = defs[i].tolist()
                best, arg = -math.inf, None
                for qy in range(h):
                    for qx in range(w):
                        dx, dy = qx - px, qy - py
                        v = float(parts[i, qy, qx]) - ax * dx ** 2 - bx * dx - ay * dy ** 2 - by * dy
                        if v > best:
                            best, arg = v, (qy, qx)
                s += best
                where.append(arg)
            total[y, x] = s
            if s > -math.inf:
                for i, (qy, qx) in enumerate(where):
                    place[i, y, x, 0], place[i, y, x, 1] = qy, qx
    return total, place


@pytest.mark.task("dpm")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_dpm_score_against_brute_force(student, dtype):
    root = scores((6, 7), seed=11, dtype=dtype)
    parts = scores((3, 6, 7), seed=12, dtype=dtype)
    anchors = torch.tensor([[0, 0], [-1, 2], [2, -1]])
    defs = torch.tensor([[0.5, 0.0, 0.5, 0.0], [0.1, 0.2, 1.0, -0.3], [2.0, 0.0, 0.05, 0.1]], dtype=torch.float64)
    got, place = student.dpm_score(root, parts, anchors, defs)
    et, ep = brute_star(root, parts, anchors, defs)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    assert_tensor(got, et.to(dtype), atol=tol, case="root + sum of transformed parts at the anchors; -inf outside")
    assert_tensor(place, ep, case="part placements (y, x), -1 where an anchor leaves the grid")


@pytest.mark.task("dpm")
def test_dpm_score_without_parts_is_the_root(student):
    root = scores((4, 5), seed=13)
    got, place = student.dpm_score(root, torch.zeros(0, 4, 5, dtype=torch.float64),
                                   torch.zeros(0, 2, dtype=torch.int64), torch.zeros(0, 4, dtype=torch.float64))
    assert_tensor(got, root, case="P = 0")
    assert_tensor(place, torch.zeros(0, 4, 5, 2, dtype=torch.int64), case="P = 0: [0, H, W, 2]")


@pytest.mark.task("dpm")
def test_dpm_score_rejects_bad_shapes(student):
    with pytest.raises(ValueError, match="parts"):
        student.dpm_score(torch.zeros(4, 5), torch.zeros(1, 5, 4), torch.zeros(1, 2, dtype=torch.int64),
                          torch.ones(1, 4))
    with pytest.raises((ValueError, TypeError), match="anchors"):  # a float dtype: either reading
        student.dpm_score(torch.zeros(4, 5), torch.zeros(1, 4, 5), torch.zeros(1, 2), torch.ones(1, 4))
    with pytest.raises(ValueError, match="deformations"):
        student.dpm_score(torch.zeros(4, 5), torch.zeros(1, 4, 5), torch.zeros(1, 2, dtype=torch.int64),
                          torch.ones(1, 3))


@pytest.mark.task("dpm")
def test_dt_rejects_non_finite_coefficients(student):
    with pytest.raises(ValueError, match="b"):
        student.distance_transform_1d(torch.zeros(4, dtype=torch.float64), 1.0, math.nan)
    with pytest.raises(ValueError, match="bx"):
        student.distance_transform_2d(torch.zeros(3, 3), 1.0, math.inf, 1.0, 0.0)
