import pytest
import torch
from torch.distributions import Categorical

from _common import DEVICES, DTYPES, TOL, randn
from harness.testkit import assert_tensor, check_gradient


def oracle(logits, dim=1):
    return Categorical(logits=logits.movedim(dim, -1)).entropy()


@pytest.mark.task("entropy")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_per_sample_matches_categorical(student, device, dtype):
    logits = randn(7, 5, seed=1, dtype=dtype, scale=3.0, device=device)
    assert_tensor(student.entropy(logits, reduction="none"), oracle(logits), **TOL[dtype])
    assert_tensor(student.entropy(logits), oracle(logits).mean(), **TOL[dtype])
    assert_tensor(student.entropy(logits, reduction="sum"), oracle(logits).sum(), **TOL[dtype])


@pytest.mark.task("entropy")
@pytest.mark.parametrize("dtype", DTYPES)
def test_per_pixel_matches_categorical(student, dtype):
    logits = randn(2, 4, 3, 5, seed=2, dtype=dtype, scale=2.0)
    assert_tensor(student.entropy(logits, dim=1, reduction="none"), oracle(logits, 1), **TOL[dtype])
    assert_tensor(student.entropy(logits, dim=1, reduction="mean"), oracle(logits, 1).mean(), **TOL[dtype])


@pytest.mark.task("entropy")
def test_other_class_axis(student):
    logits = randn(3, 4, 6, seed=3)
    assert_tensor(student.entropy(logits, dim=-1, reduction="none"), oracle(logits, -1), atol=1e-12)
    assert_tensor(student.entropy(logits, dim=2, reduction="none"), oracle(logits, 2), atol=1e-12)
    assert_tensor(student.entropy(logits, dim=0, reduction="none"), oracle(logits, 0), atol=1e-12)


@pytest.mark.task("entropy")
def test_masked_reductions(student):
    logits = randn(2, 3, 4, 4, seed=4, scale=2.0)
    mask = randn(2, 4, 4, seed=5) > 0.3
    h = oracle(logits, 1)
    assert_tensor(student.entropy(logits, reduction="mean", mask=mask), h[mask].mean(), atol=1e-12)
    assert_tensor(student.entropy(logits, reduction="sum", mask=mask), h[mask].sum(), atol=1e-12)
    assert_tensor(student.entropy(logits, reduction="none", mask=mask), torch.where(mask, h, 0.0), atol=1e-12)


@pytest.mark.task("entropy")
def test_mask_with_no_true_entry_gives_zero(student):
    logits = randn(4, 3, seed=6)
    out = student.entropy(logits, mask=torch.zeros(4, dtype=torch.bool))
    assert_tensor(out, torch.tensor(0.0, dtype=torch.float64))
    # and an informative call of the same function
    assert_tensor(student.entropy(logits, mask=torch.ones(4, dtype=torch.bool)), oracle(logits).mean(), atol=1e-12)
    # one True entry: the mean over one sample is that sample's entropy (a count of exactly 1)
    one = torch.tensor([False, False, True, False])
    assert_tensor(student.entropy(logits, mask=one), oracle(logits)[2], atol=1e-12, case="a mask with one True entry")


@pytest.mark.task("entropy")
def test_minus_infinity_logits_are_zero_probability(student):
    logits = torch.tensor([[0.0, float("-inf"), 1.0], [float("-inf"), 2.0, float("-inf")]], dtype=torch.float64)
    got = student.entropy(logits, reduction="none")
    assert_tensor(got, oracle(logits), atol=1e-12)
    assert bool(torch.isfinite(got).all())


@pytest.mark.task("entropy")
def test_extremes_uniform_and_one_hot(student):
    c = 6
    uniform = torch.zeros(3, c)
    assert_tensor(student.entropy(uniform, reduction="none"), torch.full((3,), float(torch.log(torch.tensor(6.0)))),
                  atol=1e-6)
    peaked = torch.tensor([[100.0, 0.0, 0.0], [0.0, 0.0, 200.0]])
    assert_tensor(student.entropy(peaked, reduction="none"), oracle(peaked), atol=1e-6)


@pytest.mark.task("entropy")
def test_empty_batch(student):
    logits = torch.zeros(0, 4)
    assert_tensor(student.entropy(logits, reduction="none"), torch.zeros(0))
    assert_tensor(student.entropy(logits, reduction="sum"), torch.tensor(0.0))
    assert_tensor(student.entropy(logits, reduction="mean"), torch.tensor(0.0))


@pytest.mark.task("entropy")
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
def test_gradient(student, shape):
    check_gradient(student, "entropy", [randn(*shape, seed=7)], {"reduction": "sum"})
    logits = randn(*shape, seed=8)
    _, (g,) = student.vjp("entropy", [logits], {"reduction": "mean"})
    x = logits.clone().requires_grad_(True)
    (e,) = torch.autograd.grad(oracle(x).mean(), [x])
    assert_tensor(g, e, atol=1e-10)


@pytest.mark.task("entropy")
def test_bad_inputs(student):
    with pytest.raises(TypeError, match="logits"):
        student.entropy(torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="reduction"):
        student.entropy(torch.zeros(3, 4), reduction="avg")
    with pytest.raises(ValueError, match="dim"):
        student.entropy(torch.zeros(3, 4), dim=2)
    with pytest.raises(ValueError, match="mask"):
        student.entropy(torch.zeros(3, 4), mask=torch.ones(4, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask"):
        student.entropy(torch.zeros(3, 4), mask=torch.ones(3))
