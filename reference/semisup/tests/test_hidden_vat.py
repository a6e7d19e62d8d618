import pytest
import torch
from torch.autograd.functional import hessian

from _common import DTYPES, kl, mlp, oracle_direction, randn, unit
from harness.testkit import assert_tensor, check_gradient


def weights(d_in=3, hidden=8, classes=3, seed=0, scale=1.5):
    return [randn(hidden, d_in, seed=seed, scale=scale), randn(hidden, seed=seed + 1, scale=0.5),
            randn(classes, hidden, seed=seed + 2, scale=scale), randn(classes, seed=seed + 3, scale=0.5)]


def kl_hessians(x, w):
    """Exact float64 Hessians of r -> KL(p(x_i) || p(x_i + r)) at r = 0, one per sample."""
    out = []
    for i in range(x.shape[0]):
        xi = x[i:i + 1].flatten(1)
        clean = mlp(xi, w).detach()
        out.append(hessian(lambda r, clean=clean, xi=xi: kl(clean, mlp(xi + r[None], w)),
                           torch.zeros(xi.shape[1], dtype=torch.float64)))
    return torch.stack(out)  # [N, D, D]


@pytest.mark.task("vat")
@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_div_logits(student, dtype):
    p, q = randn(6, 4, seed=1, dtype=dtype, scale=2.0), randn(6, 4, seed=2, dtype=dtype, scale=2.0)
    tol = dict(atol=1e-6) if dtype == torch.float32 else dict(atol=1e-12)
    assert_tensor(student.kl_div_logits(p, q), kl(p, q), **tol)
    assert_tensor(student.kl_div_logits(p, p), torch.tensor(0.0, dtype=dtype), atol=1e-6)
    check_gradient(student, "kl_div_logits", [p.double(), q.double()], wrt=(0, 1))


@pytest.mark.task("vat")
def test_kl_div_empty(student):
    assert_tensor(student.kl_div_logits(torch.zeros(0, 3), torch.zeros(0, 3)), torch.tensor(0.0))


@pytest.mark.task("vat")
def test_direction_aligns_with_top_hessian_eigenvector(student):
    w = weights(seed=10)
    x = randn(12, 3, seed=11)
    h = kl_hessians(x, w)
    vals, vecs = torch.linalg.eigh(h)  # ascending
    good = vals[:, -2].abs() < 0.7 * vals[:, -1]  # a clear eigen-gap: 40 iterations converge
    assert int(good.sum()) >= 6
    d = student.vat_direction(w, x, xi=1e-6, power_iterations=40, d=randn(12, 3, seed=12))
    assert type(d) is torch.Tensor and d.shape == x.shape
    cos = (d[good] * vecs[good, :, -1]).sum(1).abs()
    assert bool((cos > 0.999).all()), f"|cos(direction, top eigenvector)| = {cos.tolist()}"


@pytest.mark.task("vat")
def test_one_power_iteration_is_a_hessian_vector_product(student):
    w = weights(seed=20)
    x = randn(8, 3, seed=21)
    d0 = randn(8, 3, seed=22)
    h = kl_hessians(x, w)
    expected = unit(torch.einsum("nij,nj->ni", h, unit(d0)))
    assert_tensor(student.vat_direction(w, x, xi=1e-6, power_iterations=1, d=d0), expected, atol=1e-4)
    # the default is one iteration and xi = 1e-6
    assert_tensor(student.vat_direction(w, x, d=d0), expected, atol=1e-4)


@pytest.mark.task("vat")
def test_direction_matches_finite_difference_power_iteration(student):
    w = weights(d_in=4, seed=30)
    x = randn(5, 1, 2, 2, seed=31)  # image-shaped: flattened by the model, normalised per sample
    d0 = randn(5, 1, 2, 2, seed=32)
    for k, xi in ((1, 1e-3), (3, 1e-2), (2, 0.5)):
        got = student.vat_direction(w, x, xi=xi, power_iterations=k, d=d0)
        assert_tensor(got, oracle_direction(x, w, d0, xi, k), atol=1e-8, case=f"K={k}, xi={xi}")


@pytest.mark.task("vat")
def test_random_direction_is_unit_per_sample(student):
    w = weights(seed=40)
    x = randn(6, 3, seed=41)
    d = student.vat_direction(w, x, power_iterations=2)
    assert type(d) is torch.Tensor and d.shape == x.shape and d.dtype == torch.float64
    assert_tensor(d.norm(dim=1), torch.ones(6, dtype=torch.float64), atol=1e-9)


@pytest.mark.task("vat")
@pytest.mark.parametrize("eps", [0.1, 1.0, 3.0])
def test_vat_loss(student, eps):
    w = weights(seed=50)
    x = randn(7, 3, seed=51)
    d0 = randn(7, 3, seed=52)
    r = eps * oracle_direction(x, w, d0, 1e-6, 2)
    expected = kl(mlp(x, w), mlp(x + r, w))
    assert_tensor(student.vat_loss(w, x, eps=eps, power_iterations=2, d=d0), expected, atol=1e-8)


@pytest.mark.task("vat")
def test_vat_loss_gradient_flows_through_the_perturbed_branch_only(student):
    w = weights(seed=60)
    x = randn(5, 3, seed=61)
    d0 = randn(5, 3, seed=62)
    r = 0.5 * oracle_direction(x, w, d0, 1e-6, 1)
    xx = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(kl(mlp(xx, w).detach(), mlp(xx + r, w)), [xx])
    _, (g,) = student.vjp("vat_loss", [w, x], {"eps": 0.5, "d": d0}, wrt=(1,))
    assert_tensor(g, expected, atol=1e-7)


@pytest.mark.task("vat")
def test_bad_inputs(student):
    w = weights()
    x = randn(4, 3)
    with pytest.raises(ValueError, match="xi"):
        student.vat_direction(w, x, xi=0.0)
    with pytest.raises(ValueError, match="power_iterations"):
        student.vat_direction(w, x, power_iterations=0)
    with pytest.raises(ValueError, match="d"):
        student.vat_direction(w, x, d=torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="eps"):
        student.vat_loss(w, x, eps=-1.0)
    with pytest.raises(TypeError, match="model"):
        student.vat_loss(3, x)
    with pytest.raises(TypeError, match="x"):
        student.vat_direction(w, torch.zeros(4, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="logits_q|logits_p"):  # shapes disagree: either may be named
        student.kl_div_logits(torch.zeros(2, 3), torch.zeros(2, 4))
