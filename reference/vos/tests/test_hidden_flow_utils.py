"""Hidden tests of the flow utilities [flowutils].

Oracles (flow_oracles.py): bilinear sampling by explicit float64 loops with the sample point
clamped to the image; end-point error and forward-backward consistency as float64 loops over
pixels; Baker et al.'s colour wheel in numpy (the flow_vis / Middlebury code, re-written).
Tolerances: 1e-10 in float64, 1e-5 in float32 (bilinear weights of values in [0, 1]); the
colour picture may differ by 1 level where floor(255 * col) sits on an integer (another order of
operations): at most 0.2 % of the pixels.
"""

import math

import numpy as np
import pytest
import torch
from flow_oracles import bilinear_border, flow_to_color_np, warp_loop

from harness.testkit import assert_tensor, check_gradient, devices


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- warp


@pytest.mark.task("flowutils")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", [(2, 3, 6, 7), (1, 1, 5, 4), (1, 2, 1, 6), (1, 2, 2, 3), (1, 1, 3, 2)])
def test_warp_bilinear_loop(student, device, dtype, shape):
    b, c, h, w = shape
    image = torch.rand(shape, generator=gen(1), dtype=torch.float64)
    # flows that reach outside the image on every side (border clamped) and fractional positions
    flow = (torch.rand(b, 2, h, w, generator=gen(2), dtype=torch.float64) - 0.5) * 2 * max(h, w)
    expected = torch.from_numpy(warp_loop(image.numpy(), flow.numpy())).to(dtype)
    got = student.warp(image.to(device, dtype), flow.to(device, dtype))
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert_tensor(got, expected.to(device), atol=tol, case=f"{shape} {dtype}")


@pytest.mark.task("flowutils")
def test_warp_mixed_dtypes(student):
    image = torch.rand(1, 2, 4, 5, generator=gen(9))
    flow = torch.randn(1, 2, 4, 5, generator=gen(10), dtype=torch.float64)
    expected = torch.from_numpy(warp_loop(image.double().numpy(), flow.float().double().numpy())).float()
    assert_tensor(student.warp(image, flow), expected, atol=1e-5, case="float32 image, float64 flow -> float32")


@pytest.mark.task("flowutils")
def test_warp_integer_shift_and_identity(student):
    image = torch.arange(20, dtype=torch.float64).reshape(1, 1, 4, 5)
    zero = torch.zeros(1, 2, 4, 5, dtype=torch.float64)
    assert_tensor(student.warp(image, zero), image, atol=1e-12, case="zero flow = identity (align_corners=True)")
    flow = zero.clone()
    flow[:, 0] = 1.0  # u = +1: out(x, y) = image(x + 1, y)
    expected = image.clone()
    expected[..., :-1] = image[..., 1:]
    expected[..., -1] = image[..., -1]  # border replicated
    assert_tensor(student.warp(image, flow), expected, atol=1e-12, case="u = +1 samples the right neighbour")
    flow = zero.clone()
    flow[:, 1] = 0.25  # v = 0.25: a quarter of the way to the next row
    expected = image.clone()
    expected[..., :-1, :] = 0.75 * image[..., :-1, :] + 0.25 * image[..., 1:, :]
    assert_tensor(student.warp(image, flow), expected, atol=1e-12, case="v = 0.25 interpolates along rows")


@pytest.mark.task("flowutils")
def test_warp_gradients(student):
    image = torch.rand(1, 2, 5, 6, generator=gen(3), dtype=torch.float64)
    # keep sample points inside and away from integer positions (bilinear is piecewise linear)
    flow = 0.3 + 0.4 * torch.rand(1, 2, 5, 6, generator=gen(4), dtype=torch.float64)
    flow[:, :, -1, :] *= -1
    flow[:, :, :, -1] *= -1
    check_gradient(student, "warp", (image, flow), wrt=(0, 1))


@pytest.mark.task("flowutils")
def test_warp_errors(student):
    with pytest.raises(ValueError, match="flow"):
        student.warp(torch.zeros(1, 1, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="flow|image"):
        student.warp(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="image"):
        student.warp(torch.zeros(4, 4), torch.zeros(1, 2, 4, 4))


# ----------------------------------------------------------------------------- EPE


@pytest.mark.task("flowutils")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_endpoint_error_loop(student, dtype):
    f = torch.randn(2, 2, 3, 4, generator=gen(5), dtype=torch.float64)
    g = torch.randn(2, 2, 3, 4, generator=gen(6), dtype=torch.float64)
    valid = torch.rand(2, 3, 4, generator=gen(7)) > 0.4
    errs, errs_valid = [], []
    for b in range(2):
        for y in range(3):
            for x in range(4):
                e = math.hypot(float(f[b, 0, y, x] - g[b, 0, y, x]), float(f[b, 1, y, x] - g[b, 1, y, x]))
                errs.append(e)
                if valid[b, y, x]:
                    errs_valid.append(e)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert_tensor(student.endpoint_error(f.to(dtype), g.to(dtype)), torch.tensor(sum(errs) / len(errs), dtype=dtype),
                  atol=tol, case="mean over all pixels")
    assert_tensor(student.endpoint_error(f.to(dtype), g.to(dtype), valid),
                  torch.tensor(sum(errs_valid) / len(errs_valid), dtype=dtype), atol=tol, case="mean over valid pixels")


@pytest.mark.task("flowutils")
def test_endpoint_error_edge_cases(student):
    f = torch.zeros(1, 2, 2, 2)
    g = torch.zeros(1, 2, 2, 2)
    g[0, 0, 0, 0], g[0, 1, 0, 0] = 3.0, 4.0  # one pixel at distance 5
    assert_tensor(student.endpoint_error(f, g), torch.tensor(1.25), atol=1e-6, case="5 / 4 pixels")
    got = student.endpoint_error(f, g, torch.zeros(1, 2, 2, dtype=torch.bool))
    assert type(got) is torch.Tensor and got.dim() == 0 and bool(torch.isnan(got)), f"no valid pixel -> nan, got {got}"
    with pytest.raises((ValueError, TypeError), match="gt|flow"):
        student.endpoint_error(f, torch.zeros(1, 2, 2, 3))
    with pytest.raises((ValueError, TypeError), match="valid|flow"):
        student.endpoint_error(f, g, torch.ones(1, 2, 3, dtype=torch.bool))
    with pytest.raises((ValueError, TypeError), match="valid"):
        student.endpoint_error(f, g, torch.ones(1, 2, 2))


# ----------------------------------------------------------------------------- forward-backward


def fb_loop(fw, bw, alpha, beta):
    b, _, h, w = fw.shape
    out = np.zeros((b, h, w), dtype=bool)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                u, v = float(fw[bi, 0, y, x]), float(fw[bi, 1, y, x])
                bu = bilinear_border(bw[bi, 0], x + u, y + v)
                bv = bilinear_border(bw[bi, 1], x + u, y + v)
                lhs = (u + bu) ** 2 + (v + bv) ** 2
                rhs = alpha * (u * u + v * v + bu * bu + bv * bv) + beta
                out[bi, y, x] = lhs > rhs
    return out


@pytest.mark.task("flowutils")
@pytest.mark.parametrize("alpha,beta", [(0.01, 0.5), (0.1, 0.05), (0.0, 1.0)])
def test_fb_occlusion_loop(student, alpha, beta):
    g = gen(8)
    fw = torch.randn(2, 2, 7, 8, generator=g, dtype=torch.float64) * 2
    bw = -fw + 0.6 * torch.randn(2, 2, 7, 8, generator=g, dtype=torch.float64)  # roughly consistent
    expected = torch.from_numpy(fb_loop(fw.numpy(), bw.numpy(), alpha, beta))
    got = student.fb_occlusion(fw, bw, alpha=alpha, beta=beta)
    assert_tensor(got, expected, case=f"alpha {alpha}, beta {beta}")
    assert 0 < int(expected.sum()) < expected.numel(), "sanity: the case mixes both labels"


@pytest.mark.task("flowutils")
def test_fb_occlusion_defaults_and_strictness(student):
    fw = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    fw[:, 0] = 1.0
    bw = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    # lhs = 1, rhs = alpha * 1 + beta
    assert not bool(student.fb_occlusion(fw, bw, alpha=0.5, beta=0.5).any()), "lhs == rhs is consistent (strict >)"
    assert bool(student.fb_occlusion(fw, bw, alpha=0.5, beta=0.49).all()), "lhs > rhs is occluded"
    # defaults alpha 0.01, beta 0.5: lhs = 0.36, rhs = 0.01 * 0.36 + 0.5 -> consistent; lhs = 0.64 -> occluded
    fw[:, 0] = 0.6
    assert not bool(student.fb_occlusion(fw, bw).any()), "defaults: 0.6 px mismatch is consistent"
    fw[:, 0] = 0.8
    assert bool(student.fb_occlusion(fw, bw).all()), "defaults: 0.8 px mismatch is occluded"
    # perfectly consistent large motion: w_b = -w_f (constant field)
    fw2 = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    fw2[:, 0], fw2[:, 1] = 1.0, 2.0
    got = student.fb_occlusion(fw2, -fw2)
    assert_tensor(got, torch.zeros(1, 4, 4, dtype=torch.bool), case="w_b = -w_f")
    with pytest.raises((ValueError, TypeError), match="alpha"):
        student.fb_occlusion(fw, bw, alpha=-0.1)
    with pytest.raises((ValueError, TypeError), match="flow_bw|flow_fw"):
        student.fb_occlusion(fw, torch.zeros(1, 2, 3, 4))


@pytest.mark.task("flowutils")
def test_fb_occlusion_uses_the_warped_backward_flow(student):
    # a translation by +2 px in x: forward (2, 0); backward flow defined on frame 1 is (-2, 0) on the
    # left part only; the right two columns of frame 1 carry garbage. Pixel x of frame 0 reads the
    # backward flow at x + 2: columns 0..w-5 read the good part, the others read garbage.
    h, w = 3, 8
    fw = torch.zeros(1, 2, h, w, dtype=torch.float64)
    fw[:, 0] = 2.0
    bw = torch.zeros(1, 2, h, w, dtype=torch.float64)
    bw[:, 0] = -2.0
    bw[:, 0, :, w - 3:] = 5.0
    got = student.fb_occlusion(fw, bw)
    expected = torch.zeros(1, h, w, dtype=torch.bool)
    expected[..., w - 5:] = True  # x + 2 >= w - 3
    assert_tensor(got, expected, case="w_b read at x + w_f(x), not at x")


# ----------------------------------------------------------------------------- colour wheel


def assert_color(got, expected, case):
    """``expected``: the oracle's ``(uint8 picture, levels 255 * col)``. Where a level is an integer
    (the hue is a wheel entry: the axes, the diagonals), any order of the float64 operations the
    docstring allows may floor one level lower (the docstring's own order, r = |flow| / max_flow,
    does so at 1.8 % of the wheel grid below); everywhere else the picture must be exact."""
    picture, levels = expected
    assert type(got) is torch.Tensor and got.dtype == torch.uint8, f"[{case}] expected uint8, got {got!r:.60}"
    assert tuple(got.shape) == picture.shape, f"[{case}] shape {list(got.shape)} != {list(picture.shape)}"
    diff = got.numpy().astype(int) - picture.astype(int)
    on_integer = np.abs(levels - np.rint(levels)) < 1e-9
    allowed = np.where(on_integer, np.abs(diff) <= 1, diff == 0)
    assert allowed.all(), (
        f"[{case}] {int((~allowed).sum())} colour values differ from the oracle, e.g. by {diff[~allowed][0]} "
        f"(only values that sit exactly on a level may differ, by one)")


@pytest.mark.task("flowutils")
@pytest.mark.parametrize("max_flow", [None, 2.0, 10.0])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_flow_to_color_wheel(student, max_flow, dtype):
    # "computed in float64 whatever the dtype": the oracle sees the same (exactly upcast) values
    y, x = torch.meshgrid(torch.linspace(-3, 3, 61, dtype=torch.float64),
                          torch.linspace(-4, 4, 81, dtype=torch.float64),
                          indexing="ij")
    flow = torch.stack([x, y]).to(dtype)
    expected = flow_to_color_np(flow[0].double().numpy(), flow[1].double().numpy(), max_flow, levels=True)
    assert_color(student.flow_to_color(flow, max_flow), expected, f"{dtype} flow, max_flow {max_flow}")


@pytest.mark.task("flowutils")
def test_flow_to_color_known_colours(student):
    # u = +1 (right): a = atan2(0, -1) / pi = 1, the last wheel entry; u = -1: a = 0, the middle
    flow = torch.tensor([[[1.0, -1.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0, -1.0, 0.0]]], dtype=torch.float64)
    got = student.flow_to_color(flow, 1.0)
    expected = flow_to_color_np(flow[0].numpy(), flow[1].numpy(), 1.0, levels=True)
    assert_color(got, expected, "unit flows right, left, down, up, zero")
    assert got[0, 4].tolist() == [255, 255, 255], "zero flow is white"
    assert got[0, 0, 0] == 255 and got[0, 0, 1] == 0, "u = +1 (to the right) is red-magenta on the Middlebury wheel"
    assert got[0, 1, 0] == 0 and got[0, 1, 2] == 255, "u = -1 (to the left) is cyan-blue on the Middlebury wheel"
    out_of_range = student.flow_to_color(flow * 4, 1.0)
    assert_color(out_of_range, flow_to_color_np(4 * flow[0].numpy(), 4 * flow[1].numpy(), 1.0, levels=True),
                 "r > 1 darkened by 0.75")
    assert_tensor(student.flow_to_color(torch.zeros(2, 2, 3)), torch.full((2, 3, 3), 255, dtype=torch.uint8),
                  case="an all-zero field (max_flow None) is white")
    with pytest.raises((ValueError, TypeError), match="max_flow"):
        student.flow_to_color(flow, 0.0)
    with pytest.raises((ValueError, TypeError), match="flow"):
        student.flow_to_color(torch.zeros(3, 2, 2))


@pytest.mark.task("flowutils")
@pytest.mark.parametrize("name,args,exc,match", [
    ("warp", (torch.zeros(1, 1, 3, 3), [[0.0]]), TypeError, "flow"),
    ("warp", (torch.zeros(1, 1, 3, 3), torch.zeros(1, 2, 3, 3, dtype=torch.int64)), TypeError, "flow"),
    ("warp", ([[0.0]], torch.zeros(1, 2, 3, 3)), TypeError, "image"),
    ("warp", (torch.zeros(1, 1, 3, 3, dtype=torch.uint8), torch.zeros(1, 2, 3, 3)), TypeError, "image"),
    ("endpoint_error", (torch.zeros(1, 2, 3, 3), [[0.0]]), (ValueError, TypeError), "gt"),
    ("fb_occlusion", (torch.zeros(2, 3, 3), torch.zeros(2, 3, 3)), (ValueError, TypeError), "flow_fw|flow_bw"),
    ("flow_to_color", ([[0.0]],), (ValueError, TypeError), "flow"),
])
def test_input_errors(student, name, args, exc, match):
    with pytest.raises(exc, match=match):
        getattr(student, name)(*args)
