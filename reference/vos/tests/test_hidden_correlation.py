"""Hidden tests of the FlowNetC correlation layer [correlation].

Oracle: ``flow_oracles.correlation_loop``, explicit float64 loops over batch, output pixels,
displacements and patch offsets (numpy only for the channel dot product), zero outside ``f2``.
Tolerances: 1e-10 in float64, 1e-5 in float32 (means of products of N(0, 1) values).
Gradients: random-projection gradcheck in float64 through the proxy (harness.testkit).
"""

import numpy as np
import pytest
import torch
from flow_oracles import correlation_loop

from harness.testkit import assert_tensor, check_gradient, devices


def feats(seed, shape, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64).to(dtype),
            torch.randn(shape, generator=g, dtype=torch.float64).to(dtype))


CASES = [
    # (shape, patch_size, max_displacement, stride1, stride2)
    ((2, 3, 7, 8), 1, 0, 1, 1),   # zero displacement only: D = 1
    ((2, 3, 7, 8), 1, 3, 1, 1),
    ((1, 4, 9, 7), 3, 2, 1, 1),   # a 3 x 3 patch: output shrinks by 2
    ((1, 2, 10, 11), 1, 4, 2, 1), # stride1 2, odd and even sizes
    ((2, 2, 9, 10), 3, 4, 2, 2),  # stride2 2: D = 5
    ((1, 3, 8, 8), 1, 5, 1, 2),   # max_displacement not a multiple of stride2: R = 2
    ((1, 2, 6, 9), 5, 1, 3, 1),   # a 5 x 5 patch, stride1 3
    ((1, 1, 5, 5), 1, 2, 1, 3),   # stride2 > max_displacement: D = 1
]


@pytest.mark.task("correlation")
@pytest.mark.parametrize("shape,k,md,s1,s2", CASES)
def test_correlation_loop(student, shape, k, md, s1, s2):
    f1, f2 = feats(1, shape)
    expected = torch.from_numpy(correlation_loop(f1.numpy(), f2.numpy(), k, md, s1, s2))
    got = student.correlation(f1, f2, patch_size=k, max_displacement=md, stride1=s1, stride2=s2)
    assert_tensor(got, expected, atol=1e-10, case=f"{shape}, patch {k}, max_disp {md}, strides {s1}/{s2}")


@pytest.mark.task("correlation")
@pytest.mark.parametrize("device", devices())
def test_correlation_float32_defaults(student, device):
    f1, f2 = feats(2, (2, 5, 9, 12), torch.float32)
    expected = torch.from_numpy(correlation_loop(f1.double().numpy(), f2.double().numpy(), 1, 4, 1, 1)).float()
    got = student.correlation(f1.to(device), f2.to(device))
    assert_tensor(got, expected.to(device), atol=1e-5, case="float32, defaults (patch 1, max_disp 4, strides 1)")


@pytest.mark.task("correlation")
def test_correlation_channel_layout(student):
    # a single 1 in f1 at (y, x) = (4, 5) and in f2 at (4 + dy, 5 + dx): only channel p * D + q lights up
    h, w, md = 9, 11, 3
    d = 2 * md + 1
    for dy, dx in ((-2, 1), (3, -3), (0, 2)):
        f1 = torch.zeros(1, 1, h, w, dtype=torch.float64)
        f2 = torch.zeros(1, 1, h, w, dtype=torch.float64)
        f1[0, 0, 4, 5] = 1.0
        f2[0, 0, 4 + dy, 5 + dx] = 1.0
        got = student.correlation(f1, f2, max_displacement=md)
        expected = torch.zeros(1, d * d, h, w, dtype=torch.float64)
        expected[0, (dy + md) * d + (dx + md), 4, 5] = 1.0
        assert_tensor(got, expected, atol=1e-12,
                      case=f"displacement (dx, dy) = ({dx}, {dy}): channel (dy + R) * D + (dx + R)")


@pytest.mark.task("correlation")
def test_correlation_normalisation(student):
    # constant features: every full overlap gives <f1, f2> = C * a * b per pixel, divided by C
    f1 = torch.full((1, 4, 5, 5), 2.0, dtype=torch.float64)
    f2 = torch.full((1, 4, 5, 5), 3.0, dtype=torch.float64)
    got = student.correlation(f1, f2, patch_size=3, max_displacement=0)
    assert_tensor(got, torch.full((1, 1, 3, 3), 6.0, dtype=torch.float64), atol=1e-12,
                  case="mean over patch^2 * C (not a sum)")
    got = student.correlation(f1, f2, patch_size=1, max_displacement=1)
    # at the corner pixel (0, 0) the displacement (-1, -1) reads zero padding
    assert float(got[0, 0, 0, 0]) == 0.0 and float(got[0, 4, 0, 0]) == 6.0, got[0, :, 0, 0]


@pytest.mark.task("correlation")
@pytest.mark.parametrize("k,md,s1,s2", [(1, 2, 1, 1), (3, 2, 2, 2)])
def test_correlation_gradients(student, k, md, s1, s2):
    f1, f2 = feats(3, (1, 2, 6, 7))
    check_gradient(student, "correlation", (f1, f2),
                   dict(patch_size=k, max_displacement=md, stride1=s1, stride2=s2), wrt=(0, 1))


@pytest.mark.task("correlation")
def test_correlation_autograd_matches_loop_gradient(student):
    # d out / d f1 of sum(out * v) against the float64 loop's exact gradient (linear in f1)
    f1, f2 = feats(4, (1, 2, 5, 6))
    v = torch.randn(1, 9, 5, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    _, grads = student.vjp("correlation", (f1, f2), dict(max_displacement=1), wrt=(0,), grad_outputs=v)
    expected = np.zeros((1, 2, 5, 6))
    for c in range(2):
        for y in range(5):
            for x in range(6):
                e = torch.zeros(1, 2, 5, 6, dtype=torch.float64)
                e[0, c, y, x] = 1.0
                loop = torch.from_numpy(correlation_loop(e.numpy(), f2.numpy(), 1, 1, 1, 1))
                expected[0, c, y, x] = float((loop * v).sum())
    assert_tensor(grads[0], torch.from_numpy(expected), atol=1e-10, case="gradient wrt f1")


@pytest.mark.task("correlation")
def test_correlation_errors(student):
    f = torch.zeros(1, 2, 6, 6)
    with pytest.raises(ValueError, match="patch_size"):
        student.correlation(f, f, patch_size=2)
    with pytest.raises(ValueError, match="patch_size"):
        student.correlation(f, f, patch_size=0)
    with pytest.raises(ValueError, match="max_displacement"):
        student.correlation(f, f, max_displacement=-1)
    with pytest.raises(ValueError, match="stride1"):
        student.correlation(f, f, stride1=0)
    with pytest.raises(ValueError, match="stride2"):
        student.correlation(f, f, stride2=0)
    with pytest.raises(ValueError, match="f1|f2|shape"):
        student.correlation(f, torch.zeros(1, 2, 6, 7))
    with pytest.raises(TypeError, match="f1|f2|dtype"):
        student.correlation(f, f.double())
    with pytest.raises(ValueError, match="patch_size|f1|f2"):
        student.correlation(torch.zeros(1, 1, 2, 6), torch.zeros(1, 1, 2, 6), patch_size=3)


@pytest.mark.task("correlation")
@pytest.mark.parametrize("f1,match,exc", [
    ([[0.0]], "f1", TypeError),
    (torch.zeros(2, 6, 6), "f1", ValueError),
    (torch.zeros(1, 2, 6, 6, dtype=torch.int64), "f1", TypeError),
])
def test_correlation_input_errors(student, f1, match, exc):
    with pytest.raises(exc, match=match):
        student.correlation(f1, torch.zeros(1, 2, 6, 6))
