"""Hidden tests of point_sample and uncertainty [point_sample], sample_training_points
[point_selection], uncertain_grid_points and subdivision_inference [subdivision].

Oracles: dense float64 implementations written here (bilinear sampling with zero padding at
``x W - 0.5``, the uncertainty formulas, the selection from injected uniform draws, and the
subdivision loop), plus counts and invariants of the seeded random selection.
"""

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor, check_gradient, devices

F32 = dict(atol=1e-5, rtol=1e-5)
F64 = dict(atol=1e-10, rtol=1e-10)


def _rand(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _uniform(*shape, seed, dtype=torch.float64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def sample_loop(x, points):
    """float64 bilinear sampling of x [N, C, H, W] at (x, y) in [0, 1], zero outside."""
    x, points = x.double(), points.double()
    n, c, h, w = x.shape
    out = torch.zeros(n, c, points.shape[1], dtype=torch.float64)
    for b in range(n):
        for p in range(points.shape[1]):
            px = float(points[b, p, 0]) * w - 0.5
            py = float(points[b, p, 1]) * h - 0.5
            x0, y0 = int(torch.floor(torch.tensor(px))), int(torch.floor(torch.tensor(py)))
            for yy, wy in ((y0, y0 + 1 - py), (y0 + 1, py - y0)):
                for xx, wx in ((x0, x0 + 1 - px), (x0 + 1, px - x0)):
                    if 0 <= yy < h and 0 <= xx < w:
                        out[b, :, p] += wy * wx * x[b, :, yy, xx]
    return out


def uncertainty_dense(logits):
    logits = logits.double()
    if logits.shape[1] == 1:
        return -logits.abs()
    s = logits.sort(dim=1, descending=True).values
    return (s[:, 1:2] - s[:, 0:1])


def select_dense(logits, num_points, k, beta, noise):
    """The selection in float64 from the same uniform draws."""
    n = logits.shape[0]
    num_sampled, num_uncertain = int(num_points * k), int(beta * num_points)
    out = []
    for b in range(n):
        cand = noise[b, :num_sampled].double()
        unc = uncertainty_dense(sample_loop(logits[b:b + 1], cand[None]))[0, 0]
        order = sorted(range(num_sampled), key=lambda i: -float(unc[i]))[:num_uncertain]
        out.append(torch.cat([cand[order].reshape(-1, 2), noise[b, num_sampled:].double()]))
    return torch.stack(out)


def subdivide_dense(coarse, fine, weight, bias, steps, num_points):
    logits = coarse.double()
    n, c = coarse.shape[:2]
    for _ in range(steps):
        logits = F.interpolate(logits, scale_factor=2, mode="bilinear", align_corners=False)
        h, w = logits.shape[-2:]
        unc = uncertainty_dense(logits).reshape(n, h * w)
        p = min(num_points, h * w)
        for b in range(n):
            idx = sorted(range(h * w), key=lambda i: -float(unc[b, i]))[:p]
            pts = torch.tensor([[((i % w) + 0.5) / w, ((i // w) + 0.5) / h] for i in idx], dtype=torch.float64)
            feats = torch.cat([sample_loop(coarse[b:b + 1], pts[None])[0], sample_loop(fine[b:b + 1], pts[None])[0]])
            pred = weight.double() @ feats + bias.double()[:, None]  # [C, P]
            flat = logits[b].reshape(c, h * w).clone()
            flat[:, idx] = pred
            logits[b] = flat.view(c, h, w)
    return logits


# ================================================================ point_sample / uncertainty


@pytest.mark.task("point_sample")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_point_sample_matches_a_loop(student, dtype):
    x = _rand(2, 3, 5, 7, seed=1, dtype=dtype)
    pts = (_uniform(2, 40, 2, seed=2) * 1.2 - 0.1).to(dtype)  # some outside [0, 1]
    pts[0, 0] = torch.tensor([0.0, 0.0])
    pts[0, 1] = torch.tensor([1.0, 1.0])
    pts[1, 0] = torch.tensor([0.5 / 7, 2.5 / 5])  # a pixel centre
    got = student.point_sample(x, pts)
    assert_tensor(got, sample_loop(x, pts).to(dtype), **(F64 if dtype == torch.float64 else F32),
                  case=f"{dtype}, 40 points")
    assert_tensor(got[1, :, 0], x[1, :, 2, 0], **F32, case="a pixel centre reads the pixel")


@pytest.mark.task("point_sample")
def test_point_sample_no_points(student):
    x = _rand(2, 3, 4, 4, seed=3, dtype=torch.float32)
    assert_tensor(student.point_sample(x, torch.zeros(2, 0, 2)), torch.zeros(2, 3, 0), case="P = 0")


@pytest.mark.task("point_sample")
@pytest.mark.parametrize("device", devices())
def test_point_sample_on_device(student, device):
    x = _rand(1, 2, 6, 6, seed=4, dtype=torch.float32)
    pts = _uniform(1, 20, 2, seed=5, dtype=torch.float32)
    expected = sample_loop(x, pts).float().to(device)
    assert_tensor(student.point_sample(x.to(device), pts.to(device)), expected, **F32, case=device)


@pytest.mark.task("point_sample")
def test_point_sample_gradient(student):
    x = _rand(1, 2, 4, 5, seed=6)
    pts = _uniform(1, 6, 2, seed=7) * 0.8 + 0.1
    check_gradient(student, "point_sample", [x, pts], wrt=(0, 1))


@pytest.mark.task("point_sample")
def test_point_sample_rejects_bad_shapes(student):
    with pytest.raises(ValueError, match="points"):
        student.point_sample(torch.zeros(2, 1, 3, 3), torch.zeros(2, 4, 3))
    with pytest.raises(ValueError, match="input"):
        student.point_sample(torch.zeros(1, 3, 3), torch.zeros(1, 4, 2))


@pytest.mark.task("point_sample")
@pytest.mark.parametrize("channels", [1, 2, 5])
def test_uncertainty_formulas(student, channels):
    logits = _rand(3, channels, 4, 6, seed=8 + channels)
    assert_tensor(student.uncertainty(logits), uncertainty_dense(logits), **F64, case=f"C = {channels}")
    flat = logits.reshape(3, channels, 24).float()
    assert_tensor(student.uncertainty(flat), uncertainty_dense(flat).float(), **F32, case="[N, C, P] float32")


@pytest.mark.task("point_sample")
def test_uncertainty_is_highest_at_zero_logit(student):
    logits = torch.tensor([[[-3.0, -0.5, 0.0, 0.25, 2.0]]])
    got = student.uncertainty(logits)
    assert_tensor(got, torch.tensor([[[-3.0, -0.5, 0.0, -0.25, -2.0]]]), case="-|logit|")


# ================================================================ training points


def _noise(n, p, k, beta, seed, dtype=torch.float64):
    total = int(p * k) + p - int(beta * p)
    return _uniform(n, total, 2, seed=seed, dtype=dtype)


@pytest.mark.task("point_selection")
@pytest.mark.parametrize("p,k,beta", [(16, 3.0, 0.75), (10, 2.0, 0.5), (7, 1.0, 1.0), (9, 4.5, 0.0), (12, 3.0, 0.99)])
def test_training_points_match_dense_selection(student, p, k, beta):
    logits = _rand(2, 1, 7, 9, seed=10) * 3
    noise = _noise(2, p, k, beta, seed=11)
    got = student.sample_training_points(logits, p, k, beta, noise=noise)
    assert_tensor(got, select_dense(logits, p, k, beta, noise), **F64, case=f"P={p}, k={k}, beta={beta}")


@pytest.mark.task("point_selection")
def test_training_points_multiclass_uncertainty(student):
    logits = _rand(3, 4, 6, 6, seed=12)
    noise = _noise(3, 20, 3.0, 0.75, seed=13)
    got = student.sample_training_points(logits, 20, 3.0, 0.75, noise=noise)
    assert_tensor(got, select_dense(logits, 20, 3.0, 0.75, noise), **F64, case="C = 4: top-2 gap")


@pytest.mark.task("point_selection")
def test_training_points_defaults(student):
    logits = _rand(1, 1, 8, 8, seed=14)
    noise = _noise(1, 14, 3.0, 0.75, seed=15)
    got = student.sample_training_points(logits, 14, noise=noise)
    assert_tensor(got, select_dense(logits, 14, 3.0, 0.75, noise), **F64, case="defaults k = 3, beta = 0.75")


@pytest.mark.task("point_selection")
def test_training_points_float32_select_the_same_set(student):
    logits = _rand(2, 1, 10, 10, seed=16, dtype=torch.float32) * 4
    noise = _noise(2, 24, 3.0, 0.75, seed=17, dtype=torch.float32)
    got = student.sample_training_points(logits, 24, 3.0, 0.75, noise=noise)
    expected = select_dense(logits, 24, 3.0, 0.75, noise).float()
    assert got.dtype == torch.float32 and got.shape == (2, 24, 2)
    for b in range(2):  # near-ties may order differently in float32: compare as sets
        g = sorted(map(tuple, got[b].tolist()))
        e = sorted(map(tuple, expected[b].tolist()))
        assert g == e, f"image {b}: selected points differ"


@pytest.mark.task("point_selection")
def test_training_points_seeded_counts_and_invariants(student):
    logits = _rand(2, 1, 12, 12, seed=18, dtype=torch.float32) * 2
    a = student.sample_training_points(logits, 32, 3.0, 0.75, seed=7)
    b = student.sample_training_points(logits, 32, 3.0, 0.75, seed=7)
    c = student.sample_training_points(logits, 32, 3.0, 0.75, seed=8)
    assert_tensor(a, b, case="same seed, same points")
    assert a.shape == (2, 32, 2) and a.dtype == torch.float32
    assert not torch.equal(a, c), "another seed must give other points"
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    # the 24 importance points are more uncertain than the median of a uniform sample
    unc = uncertainty_dense(sample_loop(logits, a.double()))[:, 0]
    ref = uncertainty_dense(sample_loop(logits, _uniform(2, 96, 2, seed=19)))[:, 0]
    assert bool((unc[:, :24].median(dim=1).values > ref.median(dim=1).values).all())
    # the importance points come by decreasing uncertainty
    assert bool((unc[:, :23] >= unc[:, 1:24] - 1e-6).all())


@pytest.mark.task("point_selection")
def test_training_points_reject_bad_parameters(student):
    logits = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="oversample_ratio"):
        student.sample_training_points(logits, 8, 0.5, 0.75)
    with pytest.raises(ValueError, match="importance_sample_ratio"):
        student.sample_training_points(logits, 8, 3.0, 1.5)
    with pytest.raises(ValueError, match="num_points"):
        student.sample_training_points(logits, 0, 3.0, 0.75)
    with pytest.raises(ValueError, match="noise"):
        student.sample_training_points(logits, 8, 3.0, 0.75, noise=torch.rand(1, 5, 2))


# ================================================================ subdivision


@pytest.mark.task("subdivision")
@pytest.mark.parametrize("num_points", [1, 10, 1000])
def test_uncertain_grid_points(student, num_points):
    unc = _rand(2, 1, 5, 7, seed=20)
    idx, pts = student.uncertain_grid_points(unc, num_points)
    p = min(num_points, 35)
    order = unc.reshape(2, 35).argsort(dim=1, descending=True)[:, :p]
    assert_tensor(idx, order, case=f"indices, P = {num_points}")
    expected = torch.stack([((order % 7).double() + 0.5) / 7, ((order // 7).double() + 0.5) / 5], dim=2)
    assert_tensor(pts, expected, **F64, case="cell centres (x, y)")


@pytest.mark.task("subdivision")
@pytest.mark.parametrize("steps,num_points", [(1, 12), (2, 30), (3, 50), (2, 10_000)])
def test_subdivision_matches_dense(student, steps, num_points):
    coarse = _rand(2, 1, 4, 5, seed=21) * 3
    fine = _rand(2, 3, 16, 20, seed=22)
    weight, bias = _rand(1, 4, seed=23), _rand(1, seed=24)
    got = student.subdivision_inference(coarse, fine, weight, bias, steps, num_points)
    expected = subdivide_dense(coarse, fine, weight, bias, steps, num_points)
    assert_tensor(got, expected, **F64, case=f"{steps} steps, {num_points} points")


@pytest.mark.task("subdivision")
def test_subdivision_multiclass_float32(student):
    coarse = _rand(1, 3, 3, 3, seed=25, dtype=torch.float32) * 2
    fine = _rand(1, 2, 12, 12, seed=26, dtype=torch.float32)
    weight, bias = _rand(3, 5, seed=27, dtype=torch.float32), _rand(3, seed=28, dtype=torch.float32)
    got = student.subdivision_inference(coarse, fine, weight, bias, 2, 16)
    expected = subdivide_dense(coarse, fine, weight, bias, 2, 16).float()
    assert_tensor(got, expected, atol=1e-4, rtol=1e-4, case="C = 3, float32")


@pytest.mark.task("subdivision")
def test_subdivision_zero_steps_and_untouched_cells(student):
    coarse = _rand(1, 1, 4, 4, seed=29)
    fine = _rand(1, 2, 8, 8, seed=30)
    weight, bias = _rand(1, 3, seed=31), _rand(1, seed=32)
    assert_tensor(student.subdivision_inference(coarse, fine, weight, bias, 0, 5), coarse, case="0 steps")
    got = student.subdivision_inference(coarse, fine, weight, bias, 1, 5)
    up = F.interpolate(coarse, scale_factor=2, mode="bilinear", align_corners=False)
    changed = (got != up).sum()
    assert int(changed) <= 5, "at most num_points cells are recomputed per step"


@pytest.mark.task("subdivision")
@pytest.mark.parametrize("device", devices())
def test_subdivision_on_device(student, device):
    coarse = _rand(1, 1, 4, 4, seed=33, dtype=torch.float32)
    fine = _rand(1, 2, 8, 8, seed=34, dtype=torch.float32)
    weight, bias = _rand(1, 3, seed=35, dtype=torch.float32), _rand(1, seed=36, dtype=torch.float32)
    expected = subdivide_dense(coarse, fine, weight, bias, 2, 8).float().to(device)
    got = student.subdivision_inference(coarse.to(device), fine.to(device), weight.to(device), bias.to(device), 2, 8)
    assert_tensor(got, expected, atol=1e-4, rtol=1e-4, case=device)


@pytest.mark.task("subdivision")
def test_subdivision_rejects_bad_inputs(student):
    coarse, fine = torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 8, 8)
    with pytest.raises(ValueError, match="point_head_weight"):
        student.subdivision_inference(coarse, fine, torch.zeros(1, 2), torch.zeros(1), 1, 4)
    with pytest.raises(ValueError, match="num_steps"):
        student.subdivision_inference(coarse, fine, torch.zeros(1, 3), torch.zeros(1), -1, 4)
    with pytest.raises(ValueError, match="num_points"):
        student.uncertain_grid_points(torch.zeros(1, 1, 3, 3), 0)


@pytest.mark.task("point_sample")
def test_point_sample_and_uncertainty_reject_bad_types(student):
    with pytest.raises(TypeError, match="input"):
        student.point_sample(torch.zeros(1, 1, 3, 3, dtype=torch.int64), torch.zeros(1, 4, 2))
    with pytest.raises(TypeError, match="points"):
        student.point_sample(torch.zeros(1, 1, 3, 3), [[0.5, 0.5]])
    with pytest.raises(ValueError, match="logits"):
        student.uncertainty(torch.zeros(3))


@pytest.mark.task("subdivision")
def test_subdivision_rejects_mismatched_maps(student):
    with pytest.raises(ValueError, match="uncertainty_map"):
        student.uncertain_grid_points(torch.zeros(1, 2, 3, 3), 4)
    coarse = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="fine_features|coarse_logits"):  # N disagrees: either may be named
        student.subdivision_inference(coarse, torch.zeros(2, 2, 8, 8), torch.zeros(1, 3), torch.zeros(1), 1, 4)
    with pytest.raises(ValueError, match="num_points"):
        student.subdivision_inference(coarse, torch.zeros(1, 2, 8, 8), torch.zeros(1, 3), torch.zeros(1), 1, 0)


@pytest.mark.task("point_sample")
def test_uncertainty_rejects_integer_logits(student):
    with pytest.raises(TypeError, match="logits"):
        student.uncertainty(torch.zeros(1, 2, 3, dtype=torch.int64))


@pytest.mark.task("point_selection")
def test_training_points_reject_integer_noise_and_logits(student):
    logits = torch.zeros(1, 1, 4, 4)
    with pytest.raises(TypeError, match="noise"):
        student.sample_training_points(logits, 4, 2.0, 0.5, noise=torch.zeros(1, 10, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="coarse_logits"):
        student.sample_training_points(torch.zeros(1, 1, 4, 4, dtype=torch.int64), 4, 2.0, 0.5)


@pytest.mark.task("subdivision")
def test_subdivision_rejects_bad_types(student):
    with pytest.raises(TypeError, match="uncertainty_map"):
        student.uncertain_grid_points(torch.zeros(1, 1, 3, 3, dtype=torch.int64), 4)
    # a float count is a bad value and a bad type: the README's two readings are both accepted
    with pytest.raises((ValueError, TypeError), match="num_points"):
        student.uncertain_grid_points(torch.zeros(1, 1, 3, 3), 2.5)
    fine, w, b = torch.zeros(1, 2, 8, 8), torch.zeros(1, 3), torch.zeros(1)
    with pytest.raises(TypeError, match="coarse_logits"):
        student.subdivision_inference(torch.zeros(1, 1, 4, 4, dtype=torch.int64), fine, w, b, 1, 4)
    with pytest.raises((ValueError, TypeError), match="num_points"):
        student.subdivision_inference(torch.zeros(1, 1, 4, 4), fine, w, b, 1, 2.5)


@pytest.mark.task("subdivision")
def test_subdivision_with_one_point_per_step(student):
    coarse = _rand(1, 1, 3, 4, seed=37) * 2
    fine = _rand(1, 2, 6, 8, seed=38)
    weight, bias = _rand(1, 3, seed=39), _rand(1, seed=40)
    got = student.subdivision_inference(coarse, fine, weight, bias, 2, 1)
    assert_tensor(got, subdivide_dense(coarse, fine, weight, bias, 2, 1), **F64, case="num_points = 1")


@pytest.mark.task("point_sample")
def test_uncertainty_rejects_zero_channels(student):
    with pytest.raises(ValueError, match="logits"):
        student.uncertainty(torch.zeros(2, 0, 3))
