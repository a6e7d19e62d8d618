"""Hidden tests of the contrastive scores, NT-Xent and its range [contrastive].

Oracles: ``lightly.loss.NTXentLoss`` (values and autograd gradients) and float64 loops written
here.
"""

import math

import pytest
import torch
from lightly.loss import NTXentLoss

from harness.testkit import assert_tensor, check_gradient, devices


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def scores_oracle(z1, z2, t):
    z = [list(map(float, r)) for r in torch.cat([z1, z2]).double()]
    n2 = len(z)
    out = torch.empty(n2, n2, dtype=torch.float64)
    for i in range(n2):
        for j in range(n2):
            if i == j:
                out[i, j] = -math.inf
                continue
            dot = sum(a * b for a, b in zip(z[i], z[j]))
            norm = math.sqrt(sum(a * a for a in z[i])) * math.sqrt(sum(b * b for b in z[j]))
            out[i, j] = dot / norm / t
    return out


def loss_oracle(z1, z2, t):
    s = scores_oracle(z1, z2, t)
    n = z1.shape[0]
    total = 0.0
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        denom = sum(math.exp(float(s[i, k])) for k in range(2 * n) if k != i)
        total += -(float(s[i, p]) - math.log(denom))
    return total / (2 * n)


@pytest.mark.task("contrastive")
@pytest.mark.parametrize("n, d, t", [(3, 4, 0.5), (5, 2, 0.1), (1, 3, 1.0)])
def test_contrastive_scores_match_a_loop(student, n, d, t):
    z1, z2 = randn(n, d, seed=n) * 3, randn(n, d, seed=n + 10)
    got = student.contrastive_scores(z1, z2, t)
    assert_tensor(got, scores_oracle(z1, z2, t), atol=1e-10, rtol=1e-10, case=f"N={n}, D={d}, T={t}")
    finite = got[torch.isfinite(got)]
    assert float(finite.abs().max()) <= 1 / t + 1e-9, "scores lie in [-1/T, 1/T]"


@pytest.mark.task("contrastive")
def test_contrastive_scores_default_temperature_is_one_half(student):
    z1, z2 = randn(4, 3, seed=1), randn(4, 3, seed=2)
    assert_tensor(student.contrastive_scores(z1, z2), scores_oracle(z1, z2, 0.5), atol=1e-10, case="default T")


@pytest.mark.task("contrastive")
@pytest.mark.parametrize("n, d, t", [(4, 8, 0.5), (7, 3, 0.07), (2, 5, 2.0), (16, 32, 0.2)])
def test_nt_xent_matches_lightly_and_a_loop(student, n, d, t):
    z1, z2 = randn(n, d, seed=3 * n) * 2, randn(n, d, seed=3 * n + 1)
    got = student.nt_xent_loss(z1, z2, t)
    expected = NTXentLoss(temperature=t)(z1, z2)
    assert_tensor(got, expected.detach(), atol=1e-10, rtol=1e-10, case=f"lightly, N={n}, T={t}")
    assert abs(float(got) - loss_oracle(z1, z2, t)) < 1e-9, "float64 loop"


@pytest.mark.task("contrastive")
def test_nt_xent_default_temperature_is_lightlys(student):
    z1, z2 = randn(6, 4, seed=5), randn(6, 4, seed=6)
    assert NTXentLoss().temperature == 0.5
    assert_tensor(student.nt_xent_loss(z1, z2), NTXentLoss()(z1, z2).detach(), atol=1e-10, case="T = 0.5")


@pytest.mark.task("contrastive")
@pytest.mark.parametrize("t", [0.5, 0.1])
def test_nt_xent_gradients_match_lightly(student, t):
    z1, z2 = randn(5, 6, seed=11), randn(5, 6, seed=12)
    g = randn(1, seed=13).reshape(())
    a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    (NTXentLoss(temperature=t)(a, b) * g).backward()
    _, grads = student.vjp("nt_xent_loss", [z1, z2, t], wrt=(0, 1), grad_outputs=g)
    assert_tensor(grads[0], a.grad, atol=1e-10, rtol=1e-8, case="d/dz1")
    assert_tensor(grads[1], b.grad, atol=1e-10, rtol=1e-8, case="d/dz2")


@pytest.mark.task("contrastive")
def test_nt_xent_gradcheck_float64(student):
    check_gradient(student, "nt_xent_loss", [randn(4, 3, seed=21), randn(4, 3, seed=22), 0.3], wrt=(0, 1))


@pytest.mark.task("contrastive")
@pytest.mark.parametrize("device", devices())
def test_nt_xent_float32_dtype_and_device(student, device):
    z1, z2 = randn(8, 4, seed=7, dtype=torch.float32), randn(8, 4, seed=8, dtype=torch.float32)
    got = student.nt_xent_loss(z1.to(device), z2.to(device), 0.5)
    assert_tensor(got, NTXentLoss()(z1, z2).to(device), atol=1e-5, rtol=1e-5, case=f"float32 {device}")


@pytest.mark.task("contrastive")
def test_nt_xent_of_one_pair_is_zero_and_of_aligned_views_hits_the_lower_bound(student):
    # N = 1: the positive is the only candidate
    assert abs(float(student.nt_xent_loss(randn(1, 3, seed=1), randn(1, 3, seed=2)))) < 1e-12
    # N = 2: views of a sample agree, the two samples point in opposite directions
    e = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    lo, _ = student.nt_xent_bounds(2, 0.5)
    assert abs(float(student.nt_xent_loss(e, 3 * e, 0.5)) - lo) < 1e-10
    assert abs(lo - math.log1p(2 * math.exp(-4.0))) < 1e-12


@pytest.mark.task("contrastive")
@pytest.mark.parametrize("n, t", [(1, 0.5), (2, 0.5), (8, 0.1), (64, 0.07), (3, 0.001), (5, 1000.0)])
def test_nt_xent_bounds_match_the_formula(student, n, t):
    lo, hi = student.nt_xent_bounds(n, t)
    m = 2 * n - 2
    if m == 0:
        exp_lo = exp_hi = 0.0
    else:
        exp_lo = math.log1p(m * math.exp(-2 / t))
        # log(1 + m e^{2/T}) without overflow
        a = math.log(m) + 2 / t
        exp_hi = a + math.log1p(math.exp(-a))
    assert type(lo) is float and type(hi) is float
    assert lo == pytest.approx(exp_lo, rel=1e-9, abs=1e-12) and hi == pytest.approx(exp_hi, rel=1e-9, abs=1e-12)


@pytest.mark.task("contrastive")
def test_nt_xent_of_random_embeddings_lies_in_its_range(student):
    for seed in range(4):
        z1, z2 = randn(6, 3, seed=seed), randn(6, 3, seed=seed + 50)
        lo, hi = student.nt_xent_bounds(6, 0.2)
        assert lo <= float(student.nt_xent_loss(z1, z2, 0.2)) <= hi


@pytest.mark.task("contrastive")
@pytest.mark.parametrize("name", ["contrastive_scores", "nt_xent_loss"])
def test_contrastive_rejects_bad_inputs(student, name):
    fn = getattr(student, name)
    with pytest.raises(ValueError, match="temperature"):
        fn(randn(2, 3), randn(2, 3), 0.0)
    with pytest.raises(ValueError, match="z1|z2|same shape"):
        fn(randn(2, 3), randn(3, 3), 0.5)
    with pytest.raises(ValueError, match="z1|z2|N = 0"):
        fn(torch.zeros(0, 3), torch.zeros(0, 3), 0.5)


@pytest.mark.task("contrastive")
def test_nt_xent_bounds_reject_bad_inputs(student):
    with pytest.raises(ValueError, match="batch_size"):
        student.nt_xent_bounds(0, 0.5)
    with pytest.raises(ValueError, match="temperature"):
        student.nt_xent_bounds(4, -1.0)
