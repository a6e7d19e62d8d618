"""Hidden tests of the spatial transformer [stn].

Oracles: torch.nn.functional.affine_grid / grid_sample (values and gradients, both
align_corners settings, float32 and float64), a float64 loop over the four neighbours written
here, and the PyTorch STN tutorial's modules built here with copied weights.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.testkit import assert_tensor, check_gradient, devices

pytestmark = pytest.mark.filterwarnings("ignore:Since version 1.3.0:UserWarning")


def randn(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def rand_grid(n, h, w, seed, lo=-1.3, hi=1.3, dtype=torch.float64):
    g = torch.rand(n, h, w, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (lo + (hi - lo) * g).to(dtype)


def loop_grid_sample(x, grid, align_corners):
    """float64 loop: the four neighbours of every grid point, zero outside."""
    x, grid = x.double(), grid.double()
    n, c, h_in, w_in = x.shape
    _, h, w, _ = grid.shape
    out = torch.zeros(n, c, h, w, dtype=torch.float64)
    for b in range(n):
        for i in range(h):
            for j in range(w):
                gx, gy = float(grid[b, i, j, 0]), float(grid[b, i, j, 1])
                if align_corners:
                    ix, iy = (gx + 1) / 2 * (w_in - 1), (gy + 1) / 2 * (h_in - 1)
                else:
                    ix, iy = ((gx + 1) * w_in - 1) / 2, ((gy + 1) * h_in - 1) / 2
                x0, y0 = math.floor(ix), math.floor(iy)
                for xx, yy in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)):
                    wgt = (1 - abs(ix - xx)) * (1 - abs(iy - yy))
                    if 0 <= xx < w_in and 0 <= yy < h_in:
                        out[b, :, i, j] += wgt * x[b, :, yy, xx]
    return out


# ------------------------------------------------------------------------------ affine_grid
@pytest.mark.task("stn")
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("size", [(2, 3, 5, 7), (3, 1, 4, 4), (1, 2, 1, 6), (2, 1, 5, 1), (1, 1, 1, 1)])
def test_affine_grid_matches_torch(student, align_corners, dtype, size):
    theta = randn(size[0], 2, 3, seed=sum(size), dtype=dtype)
    expected = F.affine_grid(theta, list(size), align_corners=align_corners)
    got = student.affine_grid(theta, list(size), align_corners=align_corners)
    assert_tensor(got, expected, atol=1e-6 if dtype == torch.float32 else 1e-12, rtol=1e-6,
                  case=f"size {size}, align_corners={align_corners}")


@pytest.mark.task("stn")
def test_affine_grid_identity_gives_pixel_centres(student):
    theta = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    got = student.affine_grid(theta, [1, 1, 2, 4], align_corners=False)
    xs = torch.tensor([-0.75, -0.25, 0.25, 0.75], dtype=torch.float64)
    ys = torch.tensor([-0.5, 0.5], dtype=torch.float64)
    expected = torch.stack([xs.expand(2, 4), ys[:, None].expand(2, 4)], dim=-1)[None]
    assert_tensor(got, expected, atol=1e-12, case="identity, align_corners=False, (x, y) order")
    got = student.affine_grid(theta, [1, 1, 2, 4], align_corners=True)
    xs = torch.tensor([-1.0, -1 / 3, 1 / 3, 1.0], dtype=torch.float64)
    ys = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    expected = torch.stack([xs.expand(2, 4), ys[:, None].expand(2, 4)], dim=-1)[None]
    assert_tensor(got, expected, atol=1e-12, case="identity, align_corners=True")


@pytest.mark.task("stn")
def test_affine_grid_translation_and_empty_batch(student):
    theta = torch.tensor([[[2.0, 0.0, 0.5], [0.0, -1.0, -0.25]]])
    got = student.affine_grid(theta, [1, 3, 3, 3], align_corners=True)
    assert_tensor(got, F.affine_grid(theta, [1, 3, 3, 3], align_corners=True), atol=1e-6, case="scale + shift")
    empty = student.affine_grid(torch.zeros(0, 2, 3), [0, 1, 4, 5], align_corners=False)
    assert_tensor(empty, torch.zeros(0, 4, 5, 2), case="empty batch")


@pytest.mark.task("stn")
def test_affine_grid_gradient_wrt_theta(student):
    theta = randn(2, 2, 3, seed=5)
    check_gradient(student, "affine_grid", [theta, [2, 1, 3, 4]], {"align_corners": False}, wrt=(0,))
    v = randn(2, 3, 4, 2, seed=6)
    _, grads = student.vjp("affine_grid", [theta, [2, 1, 3, 4]], {"align_corners": True}, wrt=(0,), grad_outputs=v)
    t = theta.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad((F.affine_grid(t, [2, 1, 3, 4], align_corners=True) * v).sum(), t)
    assert_tensor(grads[0], expected, atol=1e-10, case="d/dtheta, align_corners=True")


@pytest.mark.task("stn")
@pytest.mark.parametrize("bad, match", [
    ((torch.zeros(2, 3, 3), [2, 1, 4, 4]), "theta"),
    ((torch.zeros(2, 2, 3), [2, 1, 4]), "size"),
    ((torch.zeros(2, 2, 3), [3, 1, 4, 4]), "size|theta"),  # N disagrees: either may be named
    ((torch.zeros(1, 2, 3), [1, 1, 0, 4]), "size"),
    ((torch.zeros(1, 2, 3), [1, 1, 4, 0]), "size"),
])
def test_affine_grid_rejects_bad_arguments(student, bad, match):
    with pytest.raises(ValueError, match=match):
        student.affine_grid(*bad)


@pytest.mark.task("stn")
def test_affine_grid_rejects_integer_theta(student):
    with pytest.raises(TypeError, match="theta"):
        student.affine_grid(torch.zeros(1, 2, 3, dtype=torch.int64), [1, 1, 2, 2])


# ------------------------------------------------------------------------------ grid_sample
@pytest.mark.task("stn")
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [((2, 3, 5, 7), (4, 6)), ((1, 1, 1, 1), (3, 2)), ((1, 2, 6, 1), (2, 5)),
                                   ((2, 1, 4, 4), (1, 1))])
def test_grid_sample_matches_torch(student, align_corners, dtype, shape):
    (n, c, h_in, w_in), (h, w) = shape
    x = randn(n, c, h_in, w_in, seed=h_in * 10 + w_in, dtype=dtype)
    grid = rand_grid(n, h, w, seed=h * 10 + w, dtype=dtype)
    expected = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    got = student.grid_sample(x, grid, align_corners=align_corners)
    assert_tensor(got, expected, atol=1e-5 if dtype == torch.float32 else 1e-12, rtol=1e-5,
                  case=f"input {shape[0]}, grid {h}x{w}, align_corners={align_corners}")


@pytest.mark.task("stn")
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_a_float64_loop(student, align_corners):
    x = randn(2, 2, 4, 5, seed=11)
    grid = rand_grid(2, 3, 3, seed=12, lo=-1.6, hi=1.6)
    assert_tensor(student.grid_sample(x, grid, align_corners=align_corners),
                  loop_grid_sample(x, grid, align_corners), atol=1e-12, case="loop oracle, zeros outside")


@pytest.mark.task("stn")
def test_grid_sample_edges_and_outside_points(student):
    """Pixel centres, points half outside (weights on the zero padding) and far outside."""
    x = torch.arange(1.0, 13.0, dtype=torch.float64).view(1, 1, 3, 4)
    pts = torch.tensor([[-0.75, -2 / 3], [0.75, 2 / 3], [-1.0, 0.0], [1.0, 0.0], [-1.1, 0.9], [3.0, 3.0],
                        [-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64).view(1, 1, 8, 2)
    for ac in (False, True):
        expected = F.grid_sample(x, pts, align_corners=ac)
        assert_tensor(student.grid_sample(x, pts, align_corners=ac), expected, atol=1e-12,
                      case=f"edge points, align_corners={ac}")


@pytest.mark.task("stn")
def test_grid_sample_identity_and_empty(student):
    x = randn(2, 3, 5, 6, seed=13)
    theta = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], dtype=torch.float64).expand(2, 2, 3)
    for ac in (False, True):
        grid = F.affine_grid(theta, [2, 3, 5, 6], align_corners=ac)
        assert_tensor(student.grid_sample(x, grid, align_corners=ac), x, atol=1e-12, case=f"identity, {ac}")
    got = student.grid_sample(torch.zeros(0, 2, 3, 3), torch.zeros(0, 4, 5, 2))
    assert_tensor(got, torch.zeros(0, 2, 4, 5), case="empty batch")


@pytest.mark.task("stn")
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_gradients_match_torch(student, align_corners):
    x = randn(2, 3, 5, 6, seed=14)
    grid = rand_grid(2, 4, 3, seed=15, lo=-1.2, hi=1.2)
    v = randn(2, 3, 4, 3, seed=16)
    _, grads = student.vjp("grid_sample", [x, grid], {"align_corners": align_corners}, wrt=(0, 1), grad_outputs=v)
    xr, gr = x.clone().requires_grad_(True), grid.clone().requires_grad_(True)
    out = F.grid_sample(xr, gr, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    ex, eg = torch.autograd.grad((out * v).sum(), (xr, gr))
    assert_tensor(grads[0], ex, atol=1e-10, case="d/dinput")
    assert_tensor(grads[1], eg, atol=1e-10, case="d/dgrid")


@pytest.mark.task("stn")
def test_grid_sample_gradcheck(student):
    x = randn(1, 2, 4, 4, seed=17)
    grid = rand_grid(1, 3, 2, seed=18, lo=-1.1, hi=1.1)
    check_gradient(student, "grid_sample", [x, grid], {"align_corners": False}, wrt=(0, 1))
    check_gradient(student, "grid_sample", [x, grid], {"align_corners": True}, wrt=(0, 1), seed=1)


@pytest.mark.task("stn")
@pytest.mark.parametrize("device", devices())
def test_grid_sample_on_device(student, device):
    x = randn(2, 3, 6, 5, seed=19, dtype=torch.float32)
    grid = rand_grid(2, 4, 4, seed=20, dtype=torch.float32)
    expected = F.grid_sample(x, grid, align_corners=False).to(device)
    assert_tensor(student.grid_sample(x.to(device), grid.to(device)), expected, atol=1e-5, rtol=1e-5,
                  case=f"on {device}")
    theta = randn(2, 2, 3, seed=21, dtype=torch.float32)
    assert_tensor(student.affine_grid(theta.to(device), [2, 1, 3, 4]),
                  F.affine_grid(theta, [2, 1, 3, 4], align_corners=False).to(device), atol=1e-6, case=device)


@pytest.mark.task("stn")
@pytest.mark.parametrize("bad, err, match", [
    ((torch.zeros(2, 3, 4), torch.zeros(2, 2, 2, 2)), ValueError, "input"),
    ((torch.zeros(2, 3, 0, 4), torch.zeros(2, 2, 2, 2)), ValueError, "input"),
    ((torch.zeros(2, 3, 4, 0), torch.zeros(2, 2, 2, 2)), ValueError, "input"),
    ((torch.zeros(2, 1, 3, 3), torch.zeros(2, 2, 2, 3)), ValueError, "grid"),
    ((torch.zeros(2, 1, 3, 3), torch.zeros(1, 2, 2, 2)), ValueError, "batch|grid|input"),
    ((torch.zeros(1, 1, 3, 3), torch.zeros(1, 2, 2, 2, dtype=torch.float64)), TypeError, "dtype|input|grid"),
    # integer input and grid: the message may name either argument or the dtype
    ((torch.zeros(1, 1, 3, 3, dtype=torch.int64), torch.zeros(1, 2, 2, 2, dtype=torch.int64)), TypeError,
     "dtype|input|grid|floating"),
])
def test_grid_sample_rejects_bad_arguments(student, bad, err, match):
    with pytest.raises(err, match=match):
        student.grid_sample(*bad)


# ------------------------------------------------------------------------------ the module
class TutorialSTN(nn.Module):
    """The oracle: the PyTorch STN tutorial's localisation network, sampling with F.*."""

    def __init__(self, c, h, w, out_size=None, align_corners=False):
        super().__init__()
        self.out_size = (h, w) if out_size is None else out_size
        self.align_corners = align_corners
        self.localization = nn.Sequential(nn.Conv2d(c, 8, 7), nn.MaxPool2d(2, 2), nn.ReLU(True),
                                          nn.Conv2d(8, 10, 5), nn.MaxPool2d(2, 2), nn.ReLU(True))
        fh, fw = ((h - 6) // 2 - 4) // 2, ((w - 6) // 2 - 4) // 2
        self.fc_loc = nn.Sequential(nn.Linear(10 * fh * fw, 32), nn.ReLU(True), nn.Linear(32, 6))

    def theta(self, x):
        return self.fc_loc(self.localization(x).flatten(1)).view(-1, 2, 3)

    def forward(self, x):
        theta = self.theta(x)
        grid = F.affine_grid(theta, [x.shape[0], x.shape[1], *self.out_size], align_corners=self.align_corners)
        return F.grid_sample(x, grid, align_corners=self.align_corners)


def perturbed_state(module, seed):
    gen = torch.Generator().manual_seed(seed)
    return {k: (v + 0.3 * torch.randn(v.shape, generator=gen)).detach().clone()
            for k, v in module.state_dict().items()}


@pytest.mark.task("stn")
def test_stn_starts_at_the_identity(student):
    stn = student.SpatialTransformer(2, 28, 24)
    x = randn(3, 2, 28, 24, seed=22, dtype=torch.float32)
    theta = stn.theta(x)
    assert_tensor(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(3, 2, 3), atol=0,
                  case="identity transform at initialisation")
    assert_tensor(stn(x), x, atol=1e-5, rtol=1e-5, case="the output equals the input at initialisation")
    sd = stn.state_dict()
    assert_tensor(sd["fc_loc.2.weight"], torch.zeros(6, 32), case="last layer's weights are 0")
    assert_tensor(sd["fc_loc.2.bias"], torch.tensor([1.0, 0, 0, 0, 1.0, 0]), case="last layer's bias")
    shapes = {k: list(v.shape) for k, v in sd.items()}
    oracle = {k: list(v.shape) for k, v in TutorialSTN(2, 28, 24).state_dict().items()}
    assert shapes == oracle, f"parameter names and shapes must be the tutorial's: expected {oracle}, got {shapes}"


@pytest.mark.task("stn")
@pytest.mark.parametrize("out_size, align_corners", [(None, False), ((12, 10), False), ((16, 16), True)])
def test_stn_forward_matches_the_oracle(student, out_size, align_corners):
    oracle = TutorialSTN(1, 32, 30, out_size, align_corners)
    state = perturbed_state(oracle, seed=23)
    oracle.load_state_dict(state)
    stn = student.SpatialTransformer(1, 32, 30, out_size=out_size, align_corners=align_corners)
    stn.load_weights(state)
    x = randn(4, 1, 32, 30, seed=24, dtype=torch.float32)
    theta = stn.theta(x)
    assert_tensor(theta, oracle.theta(x).detach(), atol=1e-5, rtol=1e-5, case="theta")
    # the sampling is judged at the student's own theta: a float32 rounding of theta (allowed above)
    # moves a sample by ~1e-5 pixels, which on a random image changes a value by up to ~1e-4 (a
    # round 16 solution differed by 1.02e-4 at one of 3840 values against the oracle's output), and
    # float32 sample coordinates alone move one by ~1e-5 pixels too (round 18: 5.2e-5 at the
    # solution's own theta); a wrong sampling rule moves samples by a pixel or half of one
    size = [x.shape[0], x.shape[1], *oracle.out_size]
    grid = F.affine_grid(theta.detach().double(), size, align_corners=align_corners)
    expected = F.grid_sample(x.double(), grid, align_corners=align_corners).float()
    out = stn(x)
    assert_tensor(out, expected, atol=3e-4, rtol=1e-4, case=f"output, out_size={out_size}")
    assert_tensor(out, oracle(x).detach(), atol=1e-3, rtol=1e-3,
                  case=f"output against the oracle's, out_size={out_size}")


@pytest.mark.task("stn")
def test_stn_rejects_small_inputs(student):
    with pytest.raises(ValueError, match="height"):
        student.SpatialTransformer(1, 17, 32)
    with pytest.raises(ValueError, match="width"):
        student.SpatialTransformer(1, 32, 16)
