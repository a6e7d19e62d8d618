"""Hidden tests of the transposed convolution, bilinear kernels and resize-convolution [transposed].

Oracles: F.conv_transpose2d (values and gradients), the adjoint identity with F.conv2d,
F.interpolate (bilinear, interior only; nearest), and the tap-count pattern of a checkerboard.
"""

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor, check_gradient, devices

# (C_in, C_out, H, W, k, stride, padding, output_padding, dilation)
CASES = {
    "plain": (3, 2, 5, 6, 3, 1, 0, 0, 1),
    "stride 2": (2, 3, 4, 5, 3, 2, 0, 0, 1),
    "stride 2 pad 1 outpad 1": (2, 2, 4, 4, 3, 2, 1, 1, 1),
    "stride 3 k 4 pad 2": (1, 2, 3, 5, 4, 3, 2, 2, 1),
    "dilation 2": (2, 2, 4, 4, 3, 1, 1, 0, 2),
    "dilation 3 stride 2 outpad 2": (2, 1, 3, 4, 2, 2, 1, 2, 3),
    "rectangular stride and padding": (2, 3, 5, 4, (2, 3), (2, 1), (1, 0), (1, 0), (1, 2)),
    "1x1 kernel stride 2": (3, 3, 3, 3, 1, 2, 0, 1, 1),
}


def make(case, dtype=torch.float32, seed=0):
    c_in, c_out, h, w, k, s, p, op, d = CASES[case]
    kh, kw = (k, k) if isinstance(k, int) else k
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, c_in, h, w, generator=g, dtype=dtype)
    weight = torch.randn(c_in, c_out, kh, kw, generator=g, dtype=dtype)
    bias = torch.randn(c_out, generator=g, dtype=dtype)
    return x, weight, bias, dict(stride=s, padding=p, output_padding=op, dilation=d)


@pytest.mark.task("transposed")
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conv_transpose2d_matches_torch(student, case, dtype):
    x, weight, bias, kw = make(case, dtype)
    expected = F.conv_transpose2d(x, weight, bias, **kw)
    got = student.conv_transpose2d(x, weight, bias, **kw)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert_tensor(got, expected, atol=tol, rtol=tol, case=case)


@pytest.mark.task("transposed")
@pytest.mark.parametrize("device", devices())
def test_conv_transpose2d_on_device_without_bias(student, device):
    x, weight, _, kw = make("stride 2 pad 1 outpad 1", seed=3)
    x, weight = x.to(device), weight.to(device)
    assert_tensor(student.conv_transpose2d(x, weight, None, **kw), F.conv_transpose2d(x, weight, None, **kw),
                  atol=1e-5, rtol=1e-5, case=device)


@pytest.mark.task("transposed")
@pytest.mark.parametrize("case", ["stride 2 pad 1 outpad 1", "dilation 3 stride 2 outpad 2",
                                  "rectangular stride and padding"])
def test_conv_transpose2d_gradients(student, case):
    x, weight, bias, kw = make(case, torch.float64, seed=5)
    x, weight, bias = x[:1], weight, bias
    check_gradient(student, "conv_transpose2d", [x, weight, bias], kw, wrt=(0, 1, 2))


@pytest.mark.task("transposed")
def test_conv_transpose2d_gradient_equals_torch(student):
    x, weight, bias, kw = make("stride 3 k 4 pad 2", torch.float64, seed=6)
    out = F.conv_transpose2d(x, weight, bias, **kw)
    v = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    xr, wr, br = (t.clone().requires_grad_(True) for t in (x, weight, bias))
    (F.conv_transpose2d(xr, wr, br, **kw) * v).sum().backward()
    _, grads = student.vjp("conv_transpose2d", [x, weight, bias], kw, wrt=(0, 1, 2), grad_outputs=v)
    for g, e, name in zip(grads, (xr.grad, wr.grad, br.grad), ("x", "weight", "bias")):
        assert_tensor(g, e, atol=1e-10, rtol=1e-10, case=f"d/d{name}")


@pytest.mark.task("transposed")
def test_conv_transpose2d_is_the_adjoint_of_conv2d(student):
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> (output_padding fills the sizes)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(1, 2, 9, 8, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 3, generator=g, dtype=torch.float64)  # conv2d: C_out=3, C_in=2
    y = F.conv2d(x, w, stride=2, padding=1)
    v = torch.randn(y.shape, generator=g, dtype=torch.float64)
    back = student.conv_transpose2d(v, w, None, stride=2, padding=1, output_padding=(0, 1))
    assert back.shape == x.shape, f"expected {list(x.shape)}, got {list(back.shape)}"
    assert abs(float((y * v).sum()) - float((x * back).sum())) < 1e-9


@pytest.mark.task("transposed")
def test_conv_transpose2d_rejects_bad_arguments(student):
    x = torch.randn(1, 2, 3, 3)
    w = torch.randn(2, 1, 3, 3)
    with pytest.raises(ValueError, match="output_padding|stride|dilation"):
        student.conv_transpose2d(x, w, None, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"weight|\bx\b"):
        student.conv_transpose2d(x, torch.randn(3, 1, 3, 3))
    with pytest.raises(ValueError, match="bias|weight"):
        student.conv_transpose2d(x, w, torch.randn(2))
    with pytest.raises(ValueError, match="stride"):
        student.conv_transpose2d(x, w, None, stride=0)
    with pytest.raises(TypeError, match=r"\bx\b|weight|dtype"):
        student.conv_transpose2d(x.double(), w)
    with pytest.raises(ValueError, match=r"padding|\bx\b|weight|empty"):
        student.conv_transpose2d(torch.randn(1, 2, 1, 1), torch.randn(2, 1, 1, 1), None, padding=1)
    for shape in [(0, 2, 3, 3), (1, 2, 0, 3), (1, 2, 3, 0)]:  # "an empty input": N, H or W = 0
        with pytest.raises(ValueError, match=r"\bx\b|size|empty"):
            student.conv_transpose2d(torch.zeros(shape), torch.randn(2, 1, 3, 3), None, stride=2)


@pytest.mark.task("transposed")
@pytest.mark.parametrize("args", [(5, 3, 2, 1, 1, 1), (4, 4, 2, 1, 0, 1), (7, 3, 1, 0, 0, 3), (1, 1, 1, 0, 0, 1),
                                  (3, 2, 2, 0, 2, 3)])
def test_transposed_output_size(student, args):
    size, k, s, p, op, d = args
    x = torch.zeros(1, 1, size, 1)
    expected = F.conv_transpose2d(x, torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                                  output_padding=(op, 0), dilation=(d, 1)).shape[2]
    assert student.transposed_output_size(size, k, s, p, op, d) == expected


@pytest.mark.task("transposed")
def test_transposed_output_size_rejects(student):
    with pytest.raises(ValueError, match="output_padding|stride|dilation"):
        student.transposed_output_size(4, 3, 2, 0, 2, 1)
    with pytest.raises(ValueError, match="size"):
        student.transposed_output_size(0, 3)
    with pytest.raises(ValueError, match="size|padding|empty"):
        student.transposed_output_size(1, 1, 1, 1)


def fcn_filter(k):
    factor = (k + 1) // 2
    centre = factor - 1 if k % 2 == 1 else factor - 0.5
    rows = []
    for i in range(k):
        rows.append([(1 - abs(i - centre) / factor) * (1 - abs(j - centre) / factor) for j in range(k)])
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.task("transposed")
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8])
def test_bilinear_kernel_values(student, k):
    w = student.bilinear_kernel(3, k, dtype=torch.float64)
    expected = torch.zeros(3, 3, k, k, dtype=torch.float64)
    for c in range(3):
        expected[c, c] = fcn_filter(k)
    assert_tensor(w, expected, atol=1e-12)
    assert student.bilinear_kernel(2, k).dtype == torch.get_default_dtype()


@pytest.mark.task("transposed")
@pytest.mark.parametrize("s", [2, 4])
def test_bilinear_upsampling_equals_interpolate_inside(student, s):
    x = torch.randn(1, 2, 6, 7, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
    w = student.bilinear_kernel(2, 2 * s, dtype=torch.float64)
    up = student.conv_transpose2d(x, w, None, stride=s, padding=s // 2)
    ref = F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)
    assert up.shape == ref.shape
    m = s  # one input pixel of border
    assert_tensor(up[..., m:-m, m:-m], ref[..., m:-m, m:-m], atol=1e-12, rtol=1e-12, case="interior")


@pytest.mark.task("transposed")
def test_bilinear_kernel_rejects(student):
    with pytest.raises(ValueError, match="kernel_size"):
        student.bilinear_kernel(2, 0)
    with pytest.raises(ValueError, match="channels"):
        student.bilinear_kernel(0, 2)


@pytest.mark.task("transposed")
def test_checkerboard_when_kernel_not_divisible_by_stride(student):
    """Ones in, all-ones kernel: each output pixel counts the kernel taps that reach it. k=3,
    s=2 alternates 1, 2 (a checkerboard of 1/2/4 in 2-D); k=4, s=2 is flat inside."""
    x = torch.ones(1, 1, 6, 6, dtype=torch.float64)
    odd = student.conv_transpose2d(x, torch.ones(1, 1, 3, 3, dtype=torch.float64), None, stride=2)
    counts_1d = torch.tensor([1.0 if i % 2 == 0 else 0.0 for i in range(13)], dtype=torch.float64) + 1.0
    counts_1d[0] = counts_1d[-1] = 1.0
    expected = counts_1d[:, None] * counts_1d[None, :]
    assert_tensor(odd[0, 0], expected[None].expand(1, 13, 13)[0], atol=1e-12, case="k=3, s=2")
    inner = odd[0, 0, 2:-2, 2:-2]
    assert float(inner.max() - inner.min()) == 3.0, "k=3, s=2 must show a checkerboard (values 1, 2, 4)"
    even = student.conv_transpose2d(x, torch.ones(1, 1, 4, 4, dtype=torch.float64), None, stride=2)
    assert_tensor(even[0, 0, 2:-2, 2:-2], torch.full((10, 10), 4.0, dtype=torch.float64), case="k=4, s=2 interior")
    rc = student.resize_conv2d(x, torch.ones(1, 1, 3, 3, dtype=torch.float64), None, 2)
    assert_tensor(rc[0, 0, 1:-1, 1:-1], torch.full((10, 10), 9.0, dtype=torch.float64), case="resize-conv interior")


@pytest.mark.task("transposed")
@pytest.mark.parametrize("scale,k", [(2, 3), (3, 1), (2, 5), (1, 3)])
def test_resize_conv2d_matches_nearest_then_conv(student, scale, k):
    g = torch.Generator().manual_seed(scale * 10 + k)
    x = torch.randn(2, 3, 4, 5, generator=g)
    w = torch.randn(2, 3, k, k, generator=g)
    b = torch.randn(2, generator=g)
    expected = F.conv2d(F.interpolate(x, scale_factor=scale, mode="nearest"), w, b, padding=k // 2)
    assert_tensor(student.resize_conv2d(x, w, b, scale), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.task("transposed")
def test_resize_conv2d_gradient_and_rejects(student):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 2, 3, 3, generator=g, dtype=torch.float64)
    w = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64)
    check_gradient(student, "resize_conv2d", [x, w, None, 2], wrt=(0, 1))
    with pytest.raises(ValueError, match="weight|odd"):
        student.resize_conv2d(x, torch.randn(2, 2, 2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="scale_factor"):
        student.resize_conv2d(x, w, None, 0)
