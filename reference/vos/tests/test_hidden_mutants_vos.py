"""Hidden tests for the classes of one-mistake variants that survived `cv3 check vos --mutants`
(seed 31): degenerate image sizes (a single column, a single row, a single pixel) where a
normalisation by ``W - 1`` or ``H - 1`` must not divide by zero, with zero flow (the sample
point lies exactly on the pixel) and with flows that leave the image on both sides.

Oracle: ``warp_loop`` in flow_oracles.py (float64 loop: clamp to the border, then bilinear).
"""

import pytest
import torch
from flow_oracles import warp_loop

from harness.testkit import assert_tensor


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.task("flowutils")
@pytest.mark.parametrize("shape", [(1, 2, 5, 1), (2, 1, 1, 1), (1, 1, 1, 4), (1, 3, 4, 1)])
@pytest.mark.parametrize("flow_kind", ["zero", "random"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_warp_single_row_column_or_pixel(student, shape, flow_kind, dtype):
    b, c, h, w = shape
    image = torch.rand(shape, generator=gen(3), dtype=torch.float64)
    if flow_kind == "zero":
        flow = torch.zeros(b, 2, h, w, dtype=torch.float64)
    else:
        flow = (torch.rand(b, 2, h, w, generator=gen(4), dtype=torch.float64) - 0.5) * 6
    expected = torch.from_numpy(warp_loop(image.numpy(), flow.numpy())).to(dtype)
    got = student.warp(image.to(dtype), flow.to(dtype))
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert_tensor(got, expected, atol=tol, case=f"{shape} {flow_kind} flow {dtype}")


def loop_gradients(image, flow, eps=1e-6):
    """d sum(warp) / d flow and d image by central differences of the float64 loop oracle."""
    grads = []
    for t in (flow, image):
        g = torch.zeros_like(t)
        flat, gflat = t.view(-1), g.view(-1)
        for i in range(flat.numel()):
            keep = float(flat[i])
            flat[i] = keep + eps
            plus = warp_loop(image.numpy(), flow.numpy()).sum()
            flat[i] = keep - eps
            minus = warp_loop(image.numpy(), flow.numpy()).sum()
            flat[i] = keep
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.task("flowutils")
@pytest.mark.parametrize("shape", [(1, 2, 5, 1), (1, 1, 1, 4), (1, 1, 1, 1)])
def test_warp_gradients_single_row_column_or_pixel(student, shape):
    b, c, h, w = shape
    image = torch.rand(shape, generator=gen(5), dtype=torch.float64)
    # fractional sample points strictly inside the image along its long side (no kink at +-eps)
    flow = (torch.rand(b, 2, h, w, generator=gen(6), dtype=torch.float64) - 0.5) * 0.8
    exp_flow, exp_image = loop_gradients(image.clone(), flow.clone())
    # the gradients of sum(warp(image, flow)), computed by the student's autograd (through the proxy)
    _, grads = student.vjp("warp", (image, flow), {}, wrt=(0, 1), grad_outputs=torch.ones(shape, dtype=torch.float64))
    assert len(grads) == 2 and grads[0] is not None and grads[1] is not None, \
        "warp must be differentiable in image and flow"
    assert_tensor(grads[1], exp_flow, atol=1e-6, case=f"d/d flow, {shape}")
    assert_tensor(grads[0], exp_image, atol=1e-6, case=f"d/d image, {shape}")
