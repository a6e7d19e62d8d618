"""Hidden tests of MaskTrack [masktrack].

Oracles: torch.cat for the input; a float64 per-pixel loop for the affine warp (backward nearest
sampling, halves rounded up); scipy.ndimage.binary_dilation with skimage's disk for the
dilation. The random deformation is graded by invariants (determinism, identity at zero
parameters, bounds) and by its distributions over 160 seeds: the shift and scale draws are
uniform, so their means and standard deviations are known (U[-a, a]: sd a / sqrt(3)); the
tolerances are > 4 standard errors of those estimates.
"""

import math

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.morphology import disk

from harness.testkit import assert_tensor, devices


def blob(h=40, w=40, dtype=torch.int64):
    m = torch.zeros(h, w, dtype=dtype)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    inside = ((yy - 20) / 3.2) ** 2 + ((xx - 19) / 8.3) ** 2 < 1  # a 17 x 7 ellipse
    m[inside] = 1
    m[20, 10:12] = 1
    return m


def warp_oracle(mask, scale, shift, centre=None):
    m = mask.numpy()
    h, w = m.shape
    fg = np.nonzero(m)
    if len(fg[0]) == 0:
        return torch.zeros_like(mask)
    cx, cy = (fg[1].mean(), fg[0].mean()) if centre is None else centre
    out = np.zeros_like(m)
    for y in range(h):
        for x in range(w):
            sx = cx + (x - cx - shift[0]) / scale
            sy = cy + (y - cy - shift[1]) / scale
            ix, iy = math.floor(sx + 0.5), math.floor(sy + 0.5)
            if 0 <= ix < w and 0 <= iy < h:
                out[y, x] = m[iy, ix]
    return torch.from_numpy(out)


def centroid(m):
    ys, xs = torch.nonzero(m, as_tuple=True)
    return float(xs.double().mean()), float(ys.double().mean())


@pytest.mark.task("masktrack")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mask_dtype", [torch.int64, torch.bool, torch.uint8, torch.float32])
def test_masktrack_input(student, dtype, mask_dtype):
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(2, 3, 5, 6, generator=g, dtype=torch.float64).to(dtype)
    masks = torch.randint(0, 3, (2, 5, 6), generator=g)
    expected = torch.cat([frames, (masks != 0).to(dtype)[:, None]], dim=1)
    assert_tensor(student.masktrack_input(frames, masks.to(mask_dtype)), expected, case=str(mask_dtype))


@pytest.mark.task("masktrack")
def test_masktrack_input_errors(student):
    frames = torch.zeros(2, 3, 4, 4)
    assert student.masktrack_input(frames, torch.zeros(2, 4, 4)).shape == (2, 4, 4, 4)
    with pytest.raises(ValueError, match="prev_masks|frames"):
        student.masktrack_input(frames, torch.zeros(2, 4, 5))
    with pytest.raises(TypeError, match="frames"):
        student.masktrack_input(frames.long(), torch.zeros(2, 4, 4))


WARPS = {"grow and shift": (1.2345, (2.31, -1.17), None), "shrink about a point": (0.7321, (0.0, 0.0), (10.3, 25.7)),
         "shift only": (1.0, (-3.4, 5.6), None), "big scale": (2.113, (0.4, 0.4), None),
         "identity": (1.0, (0.0, 0.0), None)}


@pytest.mark.task("masktrack")
@pytest.mark.parametrize("case", list(WARPS))
@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8])
def test_affine_warp_matches_loop(student, case, dtype):
    scale, shift, centre = WARPS[case]
    m = blob(dtype=dtype)
    got = student.affine_warp_mask(m, scale, shift, centre)
    assert_tensor(got, warp_oracle(m, scale, shift, centre), case=case)


@pytest.mark.task("masktrack")
def test_affine_warp_bool_empty_and_errors(student):
    m = blob(dtype=torch.bool)
    assert_tensor(student.affine_warp_mask(m, 1.1, (1.3, 0.2)), warp_oracle(m, 1.1, (1.3, 0.2)))
    empty = torch.zeros(6, 7, dtype=torch.int64)
    assert_tensor(student.affine_warp_mask(empty, 1.5, (2.0, 1.0)), empty)
    with pytest.raises(ValueError, match="scale"):
        student.affine_warp_mask(m, 0.0, (0.0, 0.0))
    with pytest.raises(ValueError, match="shift"):
        student.affine_warp_mask(m, 1.0, (0.0,))


@pytest.mark.task("masktrack")
@pytest.mark.parametrize("radius", [0, 1, 2, 3])
@pytest.mark.parametrize("device", devices())
def test_dilate_mask_matches_scipy(student, radius, device):
    rng = np.random.default_rng(radius)
    m = (rng.random((15, 19)) < 0.06).astype(np.uint8)
    m[0, 0] = m[14, 18] = 1
    expected = ndimage.binary_dilation(m, structure=disk(radius).astype(bool)).astype(np.uint8)
    got = student.dilate_mask(torch.from_numpy(m).to(device), radius)
    assert_tensor(got, torch.from_numpy(expected).to(device), case=f"radius {radius}")
    with pytest.raises(ValueError, match="radius"):
        student.dilate_mask(torch.from_numpy(m), -1)


# ----------------------------------------------------------------------------- deform_mask
ZERO = dict(max_scale=0.0, max_shift=0.0, nonrigid=0.0, dilation=0)


@pytest.mark.task("masktrack")
def test_deform_is_seeded_and_identity_at_zero(student):
    m = blob()
    a = student.deform_mask(m, seed=3)
    b = student.deform_mask(m, seed=3)
    assert type(a) is torch.Tensor and a.dtype == torch.int64 and a.shape == m.shape
    assert torch.equal(a, b), "the same seed must give the same deformation"
    distinct = {tuple(student.deform_mask(m, seed=s).flatten().tolist()) for s in range(8)}
    assert len(distinct) >= 6, f"8 seeds gave only {len(distinct)} different masks"
    assert set(a.unique().tolist()) <= {0, 1}
    for s in (0, 1):
        assert torch.equal(student.deform_mask(m, seed=s, **ZERO), m), "zero parameters must give the input"
    u8 = student.deform_mask(m.to(torch.uint8), seed=4)
    assert u8.dtype == torch.uint8
    empty = torch.zeros(9, 9, dtype=torch.int64)
    assert torch.equal(student.deform_mask(empty, seed=1), empty)


@pytest.mark.task("masktrack")
def test_deform_shift_distribution(student):
    m = blob()
    x0, y0 = centroid(m)
    ys, xs = torch.nonzero(m, as_tuple=True)
    bw, bh = float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)  # 18 x 7
    a = 0.2
    dx, dy = [], []
    for s in range(160):
        out = student.deform_mask(m, seed=s, max_scale=0.0, max_shift=a, nonrigid=0.0)
        assert int(out.sum()) == int(m.sum()), "a shift must not change the area here"
        x, y = centroid(out)
        dx.append((x - x0) / bw)
        dy.append((y - y0) / bh)
    dx, dy = np.array(dx), np.array(dy)
    # integer rounding of the shift: at most half a pixel beyond the range
    assert np.all(np.abs(dx) <= a + 0.5 / bw + 1e-9) and np.all(np.abs(dy) <= a + 0.5 / bh + 1e-9)
    sd = a / math.sqrt(3)
    for name, v, rnd in (("x", dx, 1 / (12 ** 0.5 * bw)), ("y", dy, 1 / (12 ** 0.5 * bh))):
        expected_sd = math.sqrt(sd ** 2 + rnd ** 2)  # uniform draw plus rounding noise
        assert abs(v.mean()) < 4 * expected_sd / math.sqrt(len(v)), f"{name} shift mean {v.mean():.4f} is not 0"
        assert abs(v.std() / expected_sd - 1) < 0.25, (f"{name} shift / box size has sd {v.std():.4f}; "
                                                         f"U[-{a}, {a}] gives {sd:.4f}")
    assert abs(np.corrcoef(dx, dy)[0, 1]) < 0.3, "x and y shifts must be drawn independently"


@pytest.mark.task("masktrack")
def test_deform_scale_distribution(student):
    m = blob()
    area0 = float(m.sum())
    x0, y0 = centroid(m)
    a = 0.2
    ratios = []
    for s in range(160):
        out = student.deform_mask(m, seed=s, max_scale=a, max_shift=0.0, nonrigid=0.0)
        x, y = centroid(out)
        assert abs(x - x0) < 1.0 and abs(y - y0) < 1.0, "scaling must keep the centroid"
        ratios.append(math.sqrt(float(out.sum()) / area0))
    r = np.array(ratios)
    assert r.min() > 1 - a - 0.08 and r.max() < 1 + a + 0.08, \
        f"linear scale outside 1 +- {a}: {r.min():.3f}..{r.max():.3f}"
    assert abs(r.mean() - 1) < 0.03, f"mean linear scale {r.mean():.3f}, expected 1"
    assert abs(r.std() / (a / math.sqrt(3)) - 1) < 0.3, f"sd of the linear scale {r.std():.4f}"


@pytest.mark.task("masktrack")
def test_deform_nonrigid_moves_pixels_a_bounded_distance(student):
    m = blob()
    dist_to_mask = ndimage.distance_transform_edt(m.numpy() == 0)
    amp = 3.0
    changed = 0
    for s in range(20):
        out = student.deform_mask(m, seed=s, max_scale=0.0, max_shift=0.0, nonrigid=amp, grid=3)
        far = dist_to_mask[out.numpy() != 0]
        assert far.size and far.max() <= amp * math.sqrt(2) + 0.75, \
            f"seed {s}: a pixel {far.max():.2f} px from the mask with displacements of at most {amp}"
        changed += int(not torch.equal(out, m))
    assert changed >= 15, f"the non-rigid deformation changed only {changed} of 20 masks"
    # a smooth field: one control cell over the image moves neighbouring pixels alike
    out = student.deform_mask(m, seed=0, max_scale=0.0, max_shift=0.0, nonrigid=1.4, grid=1)
    assert abs(int(out.sum()) - int(m.sum())) <= 0.35 * int(m.sum())


@pytest.mark.task("masktrack")
def test_deform_dilation_and_errors(student):
    m = blob()
    expected = ndimage.binary_dilation(m.numpy(), structure=disk(2).astype(bool)).astype(np.int64)
    assert_tensor(student.deform_mask(m, seed=5, max_scale=0.0, max_shift=0.0, nonrigid=0.0, dilation=2),
                  torch.from_numpy(expected))
    with pytest.raises((ValueError, TypeError), match="max_scale"):  # "TypeError / ValueError"
        student.deform_mask(m, seed=0, max_scale=1.0)
    with pytest.raises((ValueError, TypeError), match="grid"):
        student.deform_mask(m, seed=0, grid=0)
    with pytest.raises((ValueError, TypeError), match="nonrigid"):
        student.deform_mask(m, seed=0, nonrigid=-1.0)


@pytest.mark.task("masktrack")
def test_masktrack_input_checks(student):
    m = blob()
    assert student.dilate_mask(m, 0).shape == m.shape
    with pytest.raises(TypeError, match="mask"):
        student.affine_warp_mask(m.float(), 1.0, (0.0, 0.0))
    with pytest.raises((ValueError, TypeError), match="mask"):
        student.dilate_mask(m[None], 1)
    with pytest.raises((ValueError, TypeError), match="seed"):
        student.deform_mask(m, seed=1.5)
    with pytest.raises((ValueError, TypeError), match="max_shift"):
        student.deform_mask(m, seed=0, max_shift=-0.1)
    with pytest.raises((ValueError, TypeError), match="dilation"):
        student.deform_mask(m, seed=0, dilation=-1)
    with pytest.raises(ValueError, match="centre"):
        student.affine_warp_mask(m, 1.0, (0.0, 0.0), (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="frames"):
        student.masktrack_input(torch.zeros(2, 4, 4, 4), torch.zeros(2, 4, 4))
    with pytest.raises((ValueError, TypeError), match="mask"):
        student.dilate_mask([[0, 1]], 1)
    with pytest.raises((ValueError, TypeError), match="prev_masks"):  # no type documented for it
        student.masktrack_input(torch.zeros(1, 3, 2, 2), [[[0, 1], [1, 0]]])


@pytest.mark.task("masktrack")
def test_deform_shift_range_is_relative_to_the_bounding_box(student):
    # a wide canvas so that shifts of a whole box width stay inside; with 300 seeds the largest
    # draw of |U[-1, 1]| exceeds 0.973 with probability 1 - 0.973^300 > 0.9997
    m = torch.zeros(100, 100, dtype=torch.int64)
    m[47:54, 41:59] = 1  # bw = 18, bh = 7 (x_max - x_min + 1)
    x0, y0 = centroid(m)
    dx, dy = [], []
    for s in range(300):
        out = student.deform_mask(m, seed=s, max_scale=0.0, max_shift=1.0, nonrigid=0.0)
        x, y = centroid(out)
        dx.append(abs(x - x0))
        dy.append(abs(y - y0))
    assert max(dx) <= 18.5 + 1e-9 and max(dx) >= 17.5, f"largest |dx| {max(dx):.2f}: expected about bw = 18"
    assert max(dy) <= 7.5 + 1e-9 and max(dy) >= 6.5, f"largest |dy| {max(dy):.2f}: expected about bh = 7"


@pytest.mark.task("masktrack")
@pytest.mark.parametrize("shift", [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0), (2.0, -2.0)], ids=str)
def test_affine_warp_reads_zero_just_outside_every_border(student, shift):
    # a full mask moved by whole pixels: the pixels that read from one step outside the map are
    # 0 (no wraparound to the opposite border, no clamping to the nearest one)
    m = torch.ones(5, 6, dtype=torch.int64)
    assert_tensor(student.affine_warp_mask(m, 1.0, shift, (2.0, 2.0)), warp_oracle(m, 1.0, shift, (2.0, 2.0)),
                  case=f"a full 5 x 6 mask shifted by {shift}")


@pytest.mark.task("masktrack")
@pytest.mark.parametrize("bad, exc", [(lambda m: m.float(), TypeError), (lambda m: m[None], ValueError),
                                      (lambda m: m.tolist(), (TypeError, ValueError))], ids=["float", "3-D", "list"])
def test_every_mask_function_checks_the_mask(student, bad, exc):
    m = blob()
    assert torch.equal(student.deform_mask(m, seed=0, max_scale=0.0, max_shift=0.0, nonrigid=0.0), m)
    calls = {"affine_warp_mask": lambda x: student.affine_warp_mask(x, 1.0, (0.0, 0.0)),
             "dilate_mask": lambda x: student.dilate_mask(x, 1),
             "deform_mask": lambda x: student.deform_mask(x, seed=0)}
    for name, call in calls.items():
        # affine_warp_mask and dilate_mask pin TypeError for a float mask and ValueError for a 3-D
        # one; deform_mask says "TypeError / ValueError": either is accepted there
        with pytest.raises(exc if name != "deform_mask" else (TypeError, ValueError), match="mask"):
            call(bad(m))
            pytest.fail(f"{name} accepted a malformed mask")
