"""Hidden tests of sigmoid_focal_loss [focal_loss].

Oracles: torchvision.ops.sigmoid_focal_loss (values and autograd gradients) and
binary_cross_entropy_with_logits (gamma 0, alpha < 0). Extreme logits test numerical stability.

Half precision: torchvision computes the loss in the inputs' dtype. The expected value is
torchvision's in float16 / bfloat16; the tolerance is 4 times torchvision's own largest error
there (against the float64 loss of the same half-precision inputs) plus 2 units in the last
place, so computing in half precision like torchvision or in float32 then rounding both pass,
and ``log(sigmoid(x))`` (-inf below x = -17 in float16) does not.
"""

import pytest
import torch
import torch.nn.functional as F
import torchvision

from harness.testkit import assert_tensor, check_gradient, devices

TOL = {torch.float32: dict(atol=1e-6, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
HALF = [torch.float16, torch.bfloat16]


def half_tolerance(low, exact):
    """4 x the largest error of torchvision's half-precision result ``low`` against ``exact``
    (float64 on the same inputs), and 2 units in the last place of ``low``'s dtype."""
    worst = float((low.double() - exact.double()).abs().max()) if low.numel() else 0.0
    return dict(atol=4 * worst, rtol=2 * torch.finfo(low.dtype).eps)


def logits_and_targets(shape, seed, dtype=torch.float32, scale=3.0, positive=0.3):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    targets = (torch.rand(shape, generator=gen, dtype=torch.float64) < positive).to(torch.float64)
    return logits.to(dtype), targets.to(dtype)


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize(
    "alpha, gamma",
    [(0.25, 2.0), (-1.0, 2.0), (0.0, 2.0), (0.5, 0.0), (0.75, 1.5)],
    ids=["default", "no-alpha", "alpha-0", "gamma-0", "alpha-0.75"],
)
def test_focal_loss_matches_torchvision(student, alpha, gamma):
    logits, targets = logits_and_targets((16, 5), seed=1)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, alpha, gamma, "none")
    got = student.sigmoid_focal_loss(logits, targets, alpha, gamma, "none")
    assert_tensor(got, expected, **TOL[torch.float32], case=f"[16, 5] logits, alpha {alpha}, gamma {gamma}")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_focal_loss_reductions(student, reduction):
    logits, targets = logits_and_targets((32, 4), seed=2)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, reduction)
    got = student.sigmoid_focal_loss(logits, targets, reduction=reduction)
    assert_tensor(got, expected, **TOL[torch.float32], case=f"[32, 4] logits, reduction {reduction!r}")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_focal_loss_in_float64(student, reduction):
    logits, targets = logits_and_targets((10, 3), seed=3, dtype=torch.float64)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.4, 2.5, reduction)
    got = student.sigmoid_focal_loss(logits, targets, 0.4, 2.5, reduction)
    assert_tensor(got, expected, **TOL[torch.float64], case=f"float64, alpha 0.4, gamma 2.5, {reduction!r}")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("device", devices())
def test_focal_loss_on_device(student, device):
    logits, targets = logits_and_targets((8, 6), seed=4)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "mean").to(device)
    got = student.sigmoid_focal_loss(logits.to(device), targets.to(device), 0.25, 2.0, "mean")
    assert_tensor(got, expected, **TOL[torch.float32], case=f"[8, 6] logits on {device}")


@pytest.mark.task("focal_loss")
def test_focal_loss_without_focusing_is_bce_in_float64(student):
    logits, targets = logits_and_targets((7, 9), seed=5, dtype=torch.float64, scale=5.0)
    expected = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
    got = student.sigmoid_focal_loss(logits, targets, -1.0, 0.0, "sum")
    assert_tensor(got, expected, **TOL[torch.float64], case="float64, alpha -1, gamma 0, sum")


@pytest.mark.task("focal_loss")
def test_focal_loss_soft_targets(student):
    logits, _ = logits_and_targets((6, 4), seed=6)
    targets = torch.rand(6, 4, generator=torch.Generator().manual_seed(7))  # in [0, 1)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "none")
    got = student.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "none")
    assert_tensor(got, expected, **TOL[torch.float32], case="targets in [0, 1)")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_focal_loss_is_stable_for_extreme_logits(student, dtype):
    logits = torch.tensor([-200.0, -60.0, -20.0, 20.0, 60.0, 200.0] * 2, dtype=dtype)
    targets = torch.tensor([0.0] * 6 + [1.0] * 6, dtype=dtype)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "none")
    got = student.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "none")
    assert_tensor(got, expected, **TOL[dtype], case=f"logits +-20, 60, 200, {dtype}")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_focal_loss_half_precision_matches_torchvision(student, dtype, reduction, device):
    logits, targets = logits_and_targets((24, 6), seed=13, scale=4.0)
    logits[0] = torch.tensor([-30.0, -20.0, -12.0, 12.0, 20.0, 30.0])  # log(sigmoid) underflows
    targets[0] = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    logits, targets = logits.to(dtype), targets.to(dtype)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, reduction)
    exact = torchvision.ops.sigmoid_focal_loss(logits.double(), targets.double(), 0.25, 2.0, reduction)
    got = student.sigmoid_focal_loss(logits.to(device), targets.to(device), 0.25, 2.0, reduction)
    case = f"[24, 6] {dtype} logits up to +-30, reduction {reduction!r}"
    assert_tensor(got, expected.to(device), **half_tolerance(expected, exact), case=case)


@pytest.mark.task("focal_loss")
def test_focal_loss_float16_logits_with_float32_targets(student):
    # type promotion as in torchvision: the loss is float32 (torchvision's sigmoid is float16)
    logits, targets = logits_and_targets((10, 4), seed=14)
    logits = logits.to(torch.float16)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "none")
    exact = torchvision.ops.sigmoid_focal_loss(logits.double(), targets.double(), 0.25, 2.0, "none")
    got = student.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "none")
    assert_tensor(got, expected, **half_tolerance(expected, exact), case="float16 logits, float32 targets")


@pytest.mark.task("focal_loss")
def test_focal_loss_under_autocast(student):
    logits, targets = logits_and_targets((12, 5), seed=15)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "sum")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = student.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "sum")
    assert_tensor(got, expected, **TOL[torch.float32], case="float32 logits under torch.autocast('cpu')")


@pytest.mark.task("focal_loss")
def test_focal_loss_keeps_the_input_shape(student):
    logits, targets = logits_and_targets((2, 3, 4, 5), seed=8)
    expected = torchvision.ops.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "none")
    got = student.sigmoid_focal_loss(logits, targets)
    assert_tensor(got, expected, **TOL[torch.float32], case="[2, 3, 4, 5] logits, defaults")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("reduction, expected", [("none", torch.zeros(0, 4)), ("sum", torch.tensor(0.0))])
def test_focal_loss_of_empty_inputs(student, reduction, expected):
    got = student.sigmoid_focal_loss(torch.zeros(0, 4), torch.zeros(0, 4), 0.25, 2.0, reduction)
    assert_tensor(got, expected, case=f"[0, 4] logits, reduction {reduction!r}")


@pytest.mark.task("focal_loss")
def test_focal_loss_rejects_unknown_reduction(student):
    logits, targets = logits_and_targets((3, 2), seed=9)
    with pytest.raises(ValueError, match=r"(?s)(?=.*none)(?=.*mean)(?=.*sum)"):
        student.sigmoid_focal_loss(logits, targets, 0.25, 2.0, "avg")


@pytest.mark.task("focal_loss")
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_focal_loss_gradient(student, reduction):
    logits, targets = logits_and_targets((5, 3), seed=10, dtype=torch.float64)
    check_gradient(student, "sigmoid_focal_loss", (logits, targets, 0.25, 2.0, reduction), wrt=(0,))


@pytest.mark.task("focal_loss")
def test_focal_loss_vjp_matches_torchvision(student):
    logits, targets = logits_and_targets((6, 4), seed=11, dtype=torch.float64, scale=4.0)
    v = torch.randn(6, 4, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    leaf = logits.clone().requires_grad_(True)
    loss = torchvision.ops.sigmoid_focal_loss(leaf, targets, 0.25, 2.0, "none")
    (expected,) = torch.autograd.grad(loss, leaf, v)
    _, grads = student.vjp(
        "sigmoid_focal_loss", (logits, targets, 0.25, 2.0, "none"), wrt=(0,), grad_outputs=v
    )
    assert len(grads) == 1, f"expected 1 gradient, got {len(grads)}"
    assert_tensor(grads[0], expected, atol=1e-12, rtol=1e-10, case="d/d inputs, [6, 4] logits")
