"""Hidden tests of roi_pool [roi_pool], roi_align and RoIAlign [roi_align].

Oracles: torchvision.ops.roi_pool / roi_align (values and autograd gradients) and hand-computed
cases on ramps and constant maps. Regions of interest partly (or wholly) outside the feature
map, smaller than a bin, and of very different sizes (adaptive sampling) are included.

Half precision: a float16 / bfloat16 feature map is pooled in float32 (the RoIs are read in
float32, not rounded to the map's dtype) and the result rounded to the map's dtype: what
torchvision computes under ``torch.autocast`` (its CPU kernels have no bfloat16, and without
autocast they refuse RoIs of another dtype than the map). The expected values are
torchvision's on the float32 copies, rounded; the tolerances are torchvision's own for float16
(4e-3) and torch.testing's relative tolerance for bfloat16 (1.6e-2). Under ``torch.autocast``
the results must not change. (Autocast is a property of the calling thread: through the
grading sandbox the call runs without it, so these tests bite fully in-process, where students
run them, and check the plain call in grading.)
"""

import pytest
import torch
import torchvision

from harness.testkit import assert_tensor, check_gradient, devices

TOL = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
HALF = [torch.float16, torch.bfloat16]
HALF_TOL = {
    torch.float16: dict(atol=4e-3, rtol=4e-3),
    torch.bfloat16: dict(atol=1.6e-2, rtol=1.6e-2),
    torch.float32: TOL[torch.float32],
}


def feature_map(n, c, h, w, seed, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, h, w, generator=gen, dtype=torch.float64).to(dtype)


def random_rois(k, seed, num_images, height, width, spatial_scale=1.0, dtype=torch.float32):
    """``k`` rows (batch_index, x1, y1, x2, y2) in image coordinates; some stick out of the map."""
    gen = torch.Generator().manual_seed(seed)
    size = torch.tensor([width, height], dtype=torch.float64) / spatial_scale
    xy = torch.rand(k, 2, generator=gen, dtype=torch.float64) * (size + 6) - 4  # may start outside
    wh = torch.rand(k, 2, generator=gen, dtype=torch.float64) * size * 0.8 + 0.3
    index = torch.randint(0, num_images, (k, 1), generator=gen).to(torch.float64)
    rois = torch.cat([index, xy, xy + wh], dim=1)  # [k, 5]
    # roi_pool rounds scaled coordinates half away from zero: keep them off exact halves
    scaled = rois[:, 1:] * spatial_scale
    rois[:, 1:] += ((scaled - scaled.floor()) == 0.5).to(torch.float64) * 1e-3
    return rois.to(dtype)


def autocast_expected(op, x, rois, *args):
    """torchvision's result under autocast: computed on float32 copies, in ``x``'s dtype."""
    return op(x.float(), rois.float(), *args).to(x.dtype)


# ================================================================ roi_pool


@pytest.mark.task("roi_pool")
@pytest.mark.parametrize("spatial_scale", [1.0, 0.5])
@pytest.mark.parametrize("output_size", [7, (3, 5)], ids=["7", "3x5"])
def test_roi_pool_matches_torchvision(student, output_size, spatial_scale):
    x = feature_map(2, 3, 14, 11, seed=1)
    rois = random_rois(12, seed=2, num_images=2, height=14, width=11, spatial_scale=spatial_scale)
    expected = torchvision.ops.roi_pool(x, rois, output_size, spatial_scale)
    got = student.roi_pool(x, rois, output_size, spatial_scale)
    assert_tensor(
        got, expected, case=f"12 rois on [2, 3, 14, 11], output {output_size}, scale {spatial_scale}"
    )


@pytest.mark.task("roi_pool")
def test_roi_pool_in_float64(student):
    x = feature_map(1, 2, 9, 12, seed=3, dtype=torch.float64)
    rois = random_rois(8, seed=4, num_images=1, height=9, width=12, spatial_scale=0.25, dtype=torch.float64)
    expected = torchvision.ops.roi_pool(x, rois, (2, 3), 0.25)
    got = student.roi_pool(x, rois, (2, 3), 0.25)
    assert_tensor(got, expected, case="float64, 8 rois, output 2 x 3, scale 0.25")


@pytest.mark.task("roi_pool")
@pytest.mark.parametrize("device", devices())
def test_roi_pool_on_device(student, device):
    x = feature_map(2, 2, 10, 10, seed=5)
    rois = random_rois(6, seed=6, num_images=2, height=10, width=10)
    expected = torchvision.ops.roi_pool(x, rois, 4, 1.0).to(device)
    got = student.roi_pool(x.to(device), rois.to(device), 4, 1.0)
    assert_tensor(got, expected, case=f"6 rois, output 4 on {device}")


@pytest.mark.task("roi_pool")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_roi_pool_half_precision_map_with_float32_rois(student, dtype, device):
    # a stride-16 map of a ~600 x 800 image: bfloat16 would round these RoIs by up to 4 pixels
    x = feature_map(2, 3, 40, 50, seed=30, dtype=dtype)
    rois = random_rois(16, seed=31, num_images=2, height=40, width=50, spatial_scale=1 / 16)
    expected = autocast_expected(torchvision.ops.roi_pool, x, rois, (3, 4), 1 / 16).to(device)
    got = student.roi_pool(x.to(device), rois.to(device), (3, 4), 1 / 16)
    assert_tensor(got, expected, case=f"16 float32 rois on a {dtype} map, scale 1/16")


@pytest.mark.task("roi_pool")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_roi_pool_half_precision_matches_torchvision(student, dtype):
    x = feature_map(2, 3, 14, 11, seed=32, dtype=dtype)
    rois = random_rois(12, seed=33, num_images=2, height=14, width=11, spatial_scale=0.5, dtype=dtype)
    expected = autocast_expected(torchvision.ops.roi_pool, x, rois, 5, 0.5)
    got = student.roi_pool(x, rois, 5, 0.5)
    assert_tensor(got, expected, case=f"12 {dtype} rois on a {dtype} map, scale 0.5")


@pytest.mark.task("roi_pool")
@pytest.mark.parametrize("x_dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_roi_pool_under_autocast(student, x_dtype):
    x = feature_map(2, 3, 12, 10, seed=34, dtype=x_dtype)
    rois = random_rois(10, seed=35, num_images=2, height=12, width=10, spatial_scale=0.5)
    expected = autocast_expected(torchvision.ops.roi_pool, x, rois, (2, 3), 0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = student.roi_pool(x, rois, (2, 3), 0.5)
    assert_tensor(got, expected, case=f"{x_dtype} map, float32 rois, torch.autocast('cpu', bfloat16)")


@pytest.mark.task("roi_pool")
def test_roi_pool_rounds_halves_away_from_zero(student):
    x = feature_map(1, 2, 12, 12, seed=9)
    # odd integer coordinates at scale 0.5 land on halves: 2.5 -> 3, 4.5 -> 5 (C's round)
    rois = torch.tensor([[0.0, 5.0, 3.0, 15.0, 9.0], [0.0, 1.0, 7.0, 9.0, 21.0], [0.0, 3.0, 1.0, 19.0, 13.0]])
    expected = torchvision.ops.roi_pool(x, rois, (2, 3), 0.5)
    got = student.roi_pool(x, rois, (2, 3), 0.5)
    assert_tensor(got, expected, case="odd integer rois at scale 0.5: coordinates on halves")


@pytest.mark.task("roi_pool")
def test_roi_pool_keeps_the_legacy_plus_one(student):
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # roi (0, 0, 1, 1) covers pixels 0..1 in x and y (width 1 + 1 = 2): one pixel per bin
    got = student.roi_pool(x, torch.tensor([[0.0, 0.0, 0.0, 1.0, 1.0]]), 2)
    assert_tensor(got, torch.tensor([[[[0.0, 1.0], [4.0, 5.0]]]]), case="roi (0, 0, 1, 1) on a 4 x 4 ramp")


@pytest.mark.task("roi_pool")
def test_roi_pool_of_negative_values(student):
    x = -1.0 - torch.arange(32.0).reshape(1, 2, 4, 4)  # every value negative
    got = student.roi_pool(x, torch.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]]), 1)
    assert_tensor(got, torch.tensor([[[[-1.0]], [[-17.0]]]]), case="whole map, all values negative")


@pytest.mark.task("roi_pool")
def test_roi_pool_outside_the_map_is_zero(student):
    x = feature_map(1, 2, 6, 6, seed=7)
    rois = torch.tensor([[0.0, 20.0, 20.0, 30.0, 28.0], [0.0, -9.0, -9.0, -4.0, -3.0]])
    got = student.roi_pool(x, rois, 3)
    assert_tensor(got, torch.zeros(2, 2, 3, 3), case="rois beyond the right/bottom and left/top edges")


@pytest.mark.task("roi_pool")
def test_roi_pool_of_no_rois(student):
    got = student.roi_pool(feature_map(1, 3, 5, 5, seed=8), torch.zeros(0, 5), (2, 4))
    assert_tensor(got, torch.zeros(0, 3, 2, 4), case="K=0")


# ================================================================ roi_align


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("sampling_ratio", [2, -1])
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_matches_torchvision(student, aligned, sampling_ratio):
    x = feature_map(2, 3, 12, 15, seed=10)
    rois = random_rois(12, seed=11, num_images=2, height=12, width=15, spatial_scale=0.5)
    expected = torchvision.ops.roi_align(x, rois, (3, 5), 0.5, sampling_ratio, aligned)
    got = student.roi_align(x, rois, (3, 5), 0.5, sampling_ratio, aligned)
    case = f"12 rois, output 3 x 5, scale 0.5, sampling_ratio {sampling_ratio}, aligned={aligned}"
    assert_tensor(got, expected, **TOL[torch.float32], case=case)


@pytest.mark.task("roi_align")
def test_roi_align_adaptive_sampling_with_mixed_roi_sizes(student):
    x = feature_map(1, 2, 32, 32, seed=12)
    rois = torch.tensor(
        [
            [0, 0.3, 0.6, 31.2, 30.9],
            [0, 4.2, 5.1, 6.0, 5.9],
            [0, 10.0, 2.0, 30.0, 8.0],
            [0, 1.0, 1.0, 1.4, 9.7],
        ]
    )
    expected = torchvision.ops.roi_align(x, rois, 7, 1.0, 0, True)
    got = student.roi_align(x, rois, 7, 1.0, 0, True)
    assert_tensor(got, expected, **TOL[torch.float32], case="4 rois from 0.4 to 31 pixels, sampling_ratio 0")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_in_float64(student, aligned):
    x = feature_map(2, 2, 9, 10, seed=13, dtype=torch.float64)
    rois = random_rois(8, seed=14, num_images=2, height=9, width=10, dtype=torch.float64)
    expected = torchvision.ops.roi_align(x, rois, 4, 1.0, -1, aligned)
    got = student.roi_align(x, rois, 4, 1.0, -1, aligned)
    assert_tensor(got, expected, **TOL[torch.float64], case=f"float64, 8 rois, output 4, aligned={aligned}")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("sampling_ratio", [2, -1])
@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_roi_align_half_precision_matches_torchvision(student, dtype, aligned, sampling_ratio, device):
    x = feature_map(2, 3, 24, 30, seed=36, dtype=dtype)
    rois = random_rois(16, seed=37, num_images=2, height=24, width=30, spatial_scale=0.25)
    args = ((4, 5), 0.25, sampling_ratio, aligned)
    expected = autocast_expected(torchvision.ops.roi_align, x, rois, *args).to(device)
    got = student.roi_align(x.to(device), rois.to(device), *args)
    case = f"16 float32 rois on a {dtype} map, scale 0.25, sampling_ratio {sampling_ratio}, aligned={aligned}"
    assert_tensor(got, expected, **HALF_TOL[dtype], case=case)


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_roi_align_half_precision_rois(student, dtype):
    # RoIs in the map's dtype, as torchvision's own forward test passes them
    x = feature_map(2, 4, 10, 10, seed=38, dtype=dtype)
    rois = torch.tensor([[0, 0, 0, 9, 9], [0, 0, 5, 4, 9], [0, 5, 5, 9, 9], [1, 0, 0, 9, 9]], dtype=dtype)
    expected = autocast_expected(torchvision.ops.roi_align, x, rois, 5, 1.0, -1, False)
    got = student.roi_align(x, rois, 5, 1.0, -1, False)
    assert_tensor(got, expected, **HALF_TOL[dtype], case=f"4 {dtype} rois on a {dtype} 10 x 10 map")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("rois_dtype", [torch.float32, torch.float16], ids=str)
@pytest.mark.parametrize("x_dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_roi_align_under_autocast(student, x_dtype, rois_dtype, device):
    x = feature_map(2, 3, 12, 15, seed=39, dtype=x_dtype)
    rois = random_rois(10, seed=40, num_images=2, height=12, width=15, spatial_scale=0.5, dtype=rois_dtype)
    args = ((3, 4), 0.5, -1, True)
    expected = autocast_expected(torchvision.ops.roi_align, x, rois, *args).to(device)
    # bfloat16 is autocast's default on the CPU; on CUDA the default is float16
    with torch.autocast(device, dtype=torch.bfloat16 if device == "cpu" else torch.float16):
        got = student.roi_align(x.to(device), rois.to(device), *args)
    case = f"{x_dtype} map, {rois_dtype} rois, torch.autocast({device!r})"
    assert_tensor(got, expected, **HALF_TOL[x_dtype], case=case)


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_roi_align_half_precision_vjp_matches_torchvision(student, dtype):
    x = feature_map(1, 2, 8, 9, seed=41, dtype=dtype)
    rois = random_rois(5, seed=42, num_images=1, height=8, width=9)
    v = torch.randn(5, 2, 3, 3, generator=torch.Generator().manual_seed(43)).to(dtype)
    leaf = x.float().requires_grad_(True)
    out = torchvision.ops.roi_align(leaf, rois, 3, 1.0, 2, True)
    (expected,) = torch.autograd.grad(out, leaf, v.float())
    _, grads = student.vjp("roi_align", (x, rois, 3, 1.0, 2, True), wrt=(0,), grad_outputs=v)
    assert len(grads) == 1, f"expected 1 gradient, got {len(grads)}"
    assert_tensor(grads[0], expected.to(dtype), **HALF_TOL[dtype], case=f"d/d input, {dtype} map, 5 rois")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("device", devices())
def test_roi_align_on_device(student, device):
    x = feature_map(2, 3, 10, 10, seed=15)
    rois = random_rois(6, seed=16, num_images=2, height=10, width=10)
    expected = torchvision.ops.roi_align(x, rois, 3, 1.0, 2, True).to(device)
    got = student.roi_align(x.to(device), rois.to(device), 3, 1.0, 2, True)
    assert_tensor(got, expected, **TOL[torch.float32], case=f"6 rois, output 3 on {device}")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("aligned, expected", [(False, 3.0 + 10 * 3.0), (True, 2.5 + 10 * 2.5)])
def test_roi_align_half_pixel_shift(student, aligned, expected):
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    x = (xs + 10 * ys)[None, None]  # value = x + 10 y: bilinear sampling reads the position
    # roi (1, 1, 5, 5), one bin, one sample at its centre: (3, 3), or (2.5, 2.5) when aligned
    got = student.roi_align(x, torch.tensor([[0.0, 1.0, 1.0, 5.0, 5.0]]), 1, 1.0, 1, aligned)
    assert_tensor(got, torch.tensor([[[[expected]]]]), atol=1e-5, case=f"ramp x + 10 y, aligned={aligned}")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_tiny_and_outside_rois(student, aligned):
    x = feature_map(1, 2, 6, 7, seed=17)
    rois = torch.tensor(
        [
            [0, 2.1, 3.2, 2.4, 3.3],  # smaller than a pixel (min size 1 unless aligned)
            [0, -3.0, -2.0, 2.0, 3.0],  # sticks out of the top-left corner
            [0, 5.0, 4.0, 9.5, 8.0],  # sticks out of the bottom-right corner
            [0, -6.0, 1.0, -1.5, 3.0],  # left of the map: samples at x < -1 read 0
            [0, 6.2, 5.3, 6.9, 5.9],  # in the last pixel row and column
        ]
    )
    expected = torchvision.ops.roi_align(x, rois, 2, 1.0, 2, aligned)
    got = student.roi_align(x, rois, 2, 1.0, 2, aligned)
    assert_tensor(got, expected, **TOL[torch.float32], case=f"tiny and border rois, aligned={aligned}")


@pytest.mark.task("roi_align")
def test_roi_align_of_a_constant_map(student):
    x = torch.full((2, 3, 9, 9), -2.5, dtype=torch.float64)
    rois = torch.tensor([[1, 0.5, 0.5, 8.0, 8.0], [0, 2.0, 1.0, 7.0, 3.5]], dtype=torch.float64)
    got = student.roi_align(x, rois, (4, 3), 1.0, 3, True)
    assert_tensor(got, torch.full((2, 3, 4, 3), -2.5, dtype=torch.float64), atol=1e-12, case="constant -2.5")


@pytest.mark.task("roi_align")
def test_roi_align_of_no_rois(student):
    got = student.roi_align(feature_map(1, 3, 5, 5, seed=18), torch.zeros(0, 5), (2, 4), 1.0, 2, True)
    assert_tensor(got, torch.zeros(0, 3, 2, 4), case="K=0")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_module(student, aligned):
    x = feature_map(2, 2, 10, 10, seed=19)
    rois = random_rois(5, seed=20, num_images=2, height=20, width=20, spatial_scale=0.5)
    expected = torchvision.ops.RoIAlign(3, 0.5, 2, aligned)(x, rois)
    got = student.RoIAlign(3, 0.5, 2, aligned)(x, rois)
    assert_tensor(got, expected, **TOL[torch.float32], case=f"RoIAlign(3, 0.5, 2, {aligned})")


@pytest.mark.task("roi_align")
def test_roi_align_gradient(student):
    x = feature_map(1, 2, 7, 8, seed=21, dtype=torch.float64)
    rois = random_rois(4, seed=22, num_images=1, height=7, width=8, dtype=torch.float64)
    check_gradient(student, "roi_align", (x, rois, 3, 1.0, 2, True), wrt=(0,))


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("sampling_ratio", [2, -1])
def test_roi_align_vjp_matches_torchvision(student, sampling_ratio):
    x = feature_map(2, 2, 8, 9, seed=23, dtype=torch.float64)
    rois = random_rois(6, seed=24, num_images=2, height=8, width=9, dtype=torch.float64)
    v = torch.randn(6, 2, 3, 3, generator=torch.Generator().manual_seed(25), dtype=torch.float64)
    leaf = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(
        torchvision.ops.roi_align(leaf, rois, 3, 1.0, sampling_ratio, True), leaf, v
    )
    _, grads = student.vjp("roi_align", (x, rois, 3, 1.0, sampling_ratio, True), wrt=(0,), grad_outputs=v)
    assert len(grads) == 1, f"expected 1 gradient, got {len(grads)}"
    assert_tensor(
        grads[0], expected, atol=1e-12, rtol=1e-10, case=f"d/d input, 6 rois, sampling_ratio {sampling_ratio}"
    )


# ================================================================ classes of one-mistake variants
# (found by `cv3 check detection --mutants`): float64 bin edges, RoIs leaving the map on one side
# only, and every boundary of the argument checks.

# RoI sizes (in feature cells) and output sizes where a float32 bin size ``n / o`` rounds up, so
# that ``o * bin`` passes ``n`` and the last bin would take one column (row) too many
_FLOAT32_BINS = [(7, 13), (13, 11), (14, 13), (15, 11), (25, 11), (29, 7)]


@pytest.mark.task("roi_pool")
@pytest.mark.parametrize("n, o", _FLOAT32_BINS)
def test_roi_pool_float64_bins_are_computed_in_float64(student, n, o):
    x = feature_map(1, 3, 48, 48, seed=n * 100 + o, dtype=torch.float64)
    rois = torch.tensor([[0, 4, 5, 4 + n - 1, 5 + n - 1], [0, 2, 3, 2 + n - 1, 3 + 3]], dtype=torch.float64)
    expected = torchvision.ops.roi_pool(x, rois, (o, o), 1.0)
    assert_tensor(student.roi_pool(x, rois, (o, o), 1.0), expected, **TOL[torch.float64],
                  case=f"RoI of {n} cells, output {o}x{o}, float64")


@pytest.mark.task("roi_pool")
@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_roi_pool_roi_leaving_the_map_on_one_side(student, side, dtype):
    x = feature_map(1, 2, 10, 12, seed=3, dtype=dtype)
    inside = [0.0, 3.0, 2.0, 8.0, 7.0]
    far = {"left": [0.0, -30.0, 2.0, -20.0, 7.0], "right": [0.0, 14.0, 2.0, 25.0, 7.0],
           "top": [0.0, 3.0, -30.0, 8.0, -20.0], "bottom": [0.0, 3.0, 12.0, 8.0, 25.0]}[side]
    half = {"left": [0.0, -6.0, 2.0, 4.0, 7.0], "right": [0.0, 8.0, 2.0, 16.0, 7.0],
            "top": [0.0, 3.0, -6.0, 8.0, 4.0], "bottom": [0.0, 3.0, 6.0, 8.0, 14.0]}[side]
    rois = torch.tensor([inside, far, half], dtype=dtype)
    for size in [(2, 3), (3, 2), (4, 4)]:
        expected = torchvision.ops.roi_pool(x, rois, size, 1.0)
        assert_tensor(student.roi_pool(x, rois, size, 1.0), expected, **TOL[dtype],
                      case=f"RoIs outside the map on the {side}, output {size}")


def _bad_roi_arguments():
    x = feature_map(2, 2, 6, 6, seed=0)
    good = torch.tensor([[0.0, 1.0, 1.0, 4.0, 4.0]])
    return x, good, [
        ("boxes", good[:, 1:], ValueError, "boxes"),
        ("boxes", good[:, :, None], ValueError, "boxes"),
        ("boxes", good[0], ValueError, "boxes"),
        ("output_size", (2, 2.5), TypeError, "output_size"),
        ("output_size", (2.5, 2), TypeError, "output_size"),
        ("output_size", (True, 2), TypeError, "output_size"),
        ("output_size", (2, 2, 2), (TypeError, ValueError), "output_size"),  # not a pair: type or shape
        ("output_size", (0, 2), ValueError, "output_size"),
        ("output_size", (2, 0), ValueError, "output_size"),
        ("output_size", (2, -1), ValueError, "output_size"),
        ("output_size", 0, ValueError, "output_size"),
    ]


@pytest.mark.parametrize("op", [pytest.param("roi_pool", marks=pytest.mark.task("roi_pool")),
                                pytest.param("roi_align", marks=pytest.mark.task("roi_align"))])
def test_roi_ops_reject_each_bad_argument(student, op):
    x, good, cases = _bad_roi_arguments()
    for name, value, error, match in cases:
        boxes = value if name == "boxes" else good
        size = value if name == "output_size" else 2
        with pytest.raises(error, match=match):
            getattr(student, op)(x, boxes, size, 1.0)
    # the smallest allowed output size works
    assert getattr(student, op)(x, good, (1, 1), 1.0).shape == (1, 2, 1, 1)


@pytest.mark.parametrize("op", [pytest.param("roi_pool", marks=pytest.mark.task("roi_pool")),
                                pytest.param("roi_align", marks=pytest.mark.task("roi_align"))])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_roi_ops_on_inverted_rois(student, op, dtype):
    # x2 < x1 and / or y2 < y1: torchvision clamps the size (roi_pool: to 1 cell; roi_align with
    # aligned=False: to 1 unit; aligned=True keeps the negative size)
    x = feature_map(1, 2, 9, 11, seed=4, dtype=dtype)
    rois = torch.tensor([[0, 6.0, 2.0, 3.0, 7.0], [0, 2.0, 6.0, 7.0, 3.0], [0, 7.0, 6.0, 2.0, 1.0],
                         [0, 4.0, 4.0, 3.6, 3.2]], dtype=dtype)
    if op == "roi_pool":
        for size in [(2, 2), (3, 1)]:
            expected = torchvision.ops.roi_pool(x, rois, size, 1.0)
            assert_tensor(student.roi_pool(x, rois, size, 1.0), expected, **TOL[dtype],
                          case=f"inverted RoIs, output {size}")
        return
    for aligned in (False, True):
        expected = torchvision.ops.roi_align(x, rois, (2, 3), 1.0, 2, aligned)
        assert_tensor(student.roi_align(x, rois, (2, 3), 1.0, 2, aligned), expected, **TOL[dtype],
                      case=f"inverted RoIs, aligned={aligned}")


@pytest.mark.task("roi_align")
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_rois_between_one_and_two_cells(student, aligned):
    # aligned=False clamps a RoI's size to at least 1 cell (for the bins and for the adaptive
    # sampling grid ceil(size / output)): sizes of 0.3 to 1.9 cells, fixed and adaptive sampling
    x = feature_map(1, 2, 8, 9, seed=19)
    rois = torch.tensor([[0, 1.0, 2.0, 2.5, 3.2], [0, 3.3, 1.1, 5.2, 2.6], [0, 0.4, 4.0, 1.6, 5.9],
                         [0, 2.2, 2.4, 2.5, 3.0], [0, 6.1, 0.3, 6.8, 0.7], [0, 2.7, 5.0, 3.4, 5.6]])
    for size in (1, 2, 3):
        for ratio in (2, 0):
            expected = torchvision.ops.roi_align(x, rois, size, 1.0, ratio, aligned)
            assert_tensor(student.roi_align(x, rois, size, 1.0, ratio, aligned), expected, **TOL[torch.float32],
                          case=f"RoIs of 0.3 to 1.9 cells, output {size}, sampling_ratio {ratio}, aligned={aligned}")
