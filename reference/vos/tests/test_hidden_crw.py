"""Hidden tests of the contrastive random walk [crw].

Oracle: float64 loops written here (normalise each embedding, dot products, an explicit
softmax per row, matrix products of the palindrome one step at a time, -mean log of the
diagonal + 1e-20). Tolerances 1e-10 in float64, 1e-5 in float32.
"""

import math

import pytest
import torch

from harness.testkit import assert_tensor, check_gradient, devices


def trans_oracle(x, y, temp):
    out = torch.zeros(x.shape[0], x.shape[1], y.shape[1], dtype=torch.float64)
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            xi = x[b, i].double() / max(float(x[b, i].double().norm()), 1e-12)
            logits = []
            for j in range(y.shape[1]):
                yj = y[b, j].double() / max(float(y[b, j].double().norm()), 1e-12)
                logits.append(float((xi * yj).sum()) / temp)
            m = max(logits)
            ex = [math.exp(v - m) for v in logits]
            for j in range(y.shape[1]):
                out[b, i, j] = ex[j] / sum(ex)
    return out


def walk_oracle(feats, temp):
    t = feats.shape[1]
    order = list(range(t)) + list(range(t - 2, -1, -1))
    w = None
    for s, u in zip(order[:-1], order[1:]):
        a = trans_oracle(feats[:, s], feats[:, u], temp)
        w = a if w is None else torch.bmm(w, a)
    return w


def feats_case(seed, b, t, p, d):
    return torch.randn(b, t, p, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.task("crw")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("temp", [0.07, 0.5, 2.0])
def test_transition_matrix_matches_loop(student, dtype, temp):
    f = feats_case(1, 2, 2, 5, 3)
    x, y = f[:, 0, :5], f[:, 1, :4] * 3.0  # different patch counts; scale must not matter
    expected = trans_oracle(x, y, temp)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    got = student.transition_matrix(x.to(dtype), y.to(dtype), temperature=temp)
    assert_tensor(got, expected.to(dtype), atol=tol, rtol=tol, case=f"T={temp}")


@pytest.mark.task("crw")
@pytest.mark.parametrize("device", devices())
def test_transition_matrix_default_temperature_and_errors(student, device):
    f = feats_case(2, 1, 2, 4, 6)
    got = student.transition_matrix(f[:, 0].to(device), f[:, 1].to(device))
    assert_tensor(got, trans_oracle(f[:, 0], f[:, 1], 0.07).to(device), atol=1e-10, rtol=1e-10, case="default 0.07")
    with pytest.raises((ValueError, TypeError), match="temperature"):  # "TypeError / ValueError"
        student.transition_matrix(f[:, 0], f[:, 1], temperature=0.0)
    with pytest.raises((ValueError, TypeError), match=r"\bx\b|\by\b|agree"):
        student.transition_matrix(f[:, 0], f[:, 1, :, :3])


@pytest.mark.task("crw")
@pytest.mark.parametrize("t", [2, 3, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_palindrome_walk_matches_loop(student, t, dtype):
    f = feats_case(t, 2, t, 4, 3)
    expected = walk_oracle(f, 0.3)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    got = student.palindrome_walk(f.to(dtype), temperature=0.3)
    assert_tensor(got, expected.to(dtype), atol=tol, rtol=tol, case=f"T={t}")
    assert torch.allclose(got.double().sum(-1), torch.ones(2, 4, dtype=torch.float64), atol=1e-5)


@pytest.mark.task("crw")
def test_palindrome_walk_uses_backward_softmax_not_transpose(student):
    # with unequal patch norms and few patches the backward softmax differs from A^T clearly
    f = feats_case(11, 1, 2, 3, 2)
    expected = walk_oracle(f, 0.5)
    a = trans_oracle(f[:, 0], f[:, 1], 0.5)
    wrong = torch.bmm(a, a.transpose(1, 2))
    assert not torch.allclose(expected, wrong, atol=1e-3)
    assert_tensor(student.palindrome_walk(f, temperature=0.5), expected, atol=1e-10, rtol=1e-10)
    with pytest.raises(ValueError, match="feats|T >= 2"):
        student.palindrome_walk(f[:, :1])


@pytest.mark.task("crw")
@pytest.mark.parametrize("t", [2, 4])
def test_cycle_loss_matches_loop(student, t):
    f = feats_case(20 + t, 3, t, 5, 4)
    w = walk_oracle(f, 0.1)
    expected = -torch.log(torch.diagonal(w, dim1=1, dim2=2) + 1e-20).mean()
    assert_tensor(student.cycle_consistency_loss(f, temperature=0.1), expected, atol=1e-10, rtol=1e-10)
    assert_tensor(student.cycle_consistency_loss(f.float(), temperature=0.1), expected.float(), atol=1e-5, rtol=1e-5)


@pytest.mark.task("crw")
def test_cycle_loss_edge_cases(student):
    one = feats_case(3, 2, 3, 1, 4)  # a single patch always walks back: loss 0
    assert_tensor(student.cycle_consistency_loss(one), torch.tensor(0.0, dtype=torch.float64), atol=1e-12)
    # identical frames with orthogonal patches and a low temperature: nearly perfect cycles
    e = torch.eye(4, dtype=torch.float64)[None, None].repeat(1, 3, 1, 1)
    loss = student.cycle_consistency_loss(e, temperature=0.01)
    assert float(loss) < 1e-10
    # a tiny diagonal does not give inf: the 1e-20 inside the log
    e2 = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]], dtype=torch.float64)
    loss2 = student.cycle_consistency_loss(e2, temperature=0.001)
    assert math.isfinite(float(loss2))


@pytest.mark.task("crw")
def test_crw_gradients(student):
    f = feats_case(7, 1, 3, 4, 3)
    check_gradient(student, "cycle_consistency_loss", [f], {"temperature": 0.5})
    check_gradient(student, "transition_matrix", [f[:, 0], f[:, 1]], {"temperature": 0.3}, wrt=(0, 1))


@pytest.mark.task("crw")
def test_crw_input_checks(student):
    f = feats_case(1, 1, 2, 3, 2)
    assert student.palindrome_walk(f).shape == (1, 3, 3)
    with pytest.raises(TypeError, match="feats"):
        student.palindrome_walk(f.long())
    with pytest.raises(ValueError, match="feats"):
        student.palindrome_walk(f[0])
    with pytest.raises((ValueError, TypeError), match="x"):
        student.transition_matrix(f[:, 0].long(), f[:, 1])
    with pytest.raises((ValueError, TypeError), match="temperature"):
        student.cycle_consistency_loss(f, temperature=-1.0)
    with pytest.raises((ValueError, TypeError), match="y"):
        student.transition_matrix(f[:, 0], [[[1.0, 0.0]]])
