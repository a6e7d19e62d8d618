"""Hidden tests of attention and attention_weights [attention].

Oracle: torch.nn.functional.scaled_dot_product_attention (trusted side only), float64 loops
for the pinned fully-masked-row result, and numerical gradients through the proxy.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from _tf_oracles import PeakMemory, randn, student_pid
from harness.testkit import assert_tensor, check_gradient, devices

TOL = {torch.float32: dict(atol=2e-5, rtol=1e-4), torch.float64: dict(atol=1e-10, rtol=1e-9)}


def qkv(shape_q, shape_k, ev=None, seed=0, dtype=torch.float32):
    q = randn(*shape_q, seed=seed, dtype=dtype)
    k = randn(*shape_k, seed=seed + 1, dtype=dtype)
    v = randn(*shape_k[:-1], ev or shape_k[-1], seed=seed + 2, dtype=dtype)
    return q, k, v


def sdpa(q, k, v, **kw):
    return F.scaled_dot_product_attention(q, k, v, **kw)


CASES = {
    "no mask": dict(),
    "custom scale": dict(scale=0.37),
    "scale zero": dict(scale=0.0),
}


@pytest.mark.task("attention")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_attention_matches_sdpa(student, case, dtype):
    q, k, v = qkv((2, 3, 5, 8), (2, 3, 7, 8), ev=6, seed=1, dtype=dtype)
    got = student.attention(q, k, v, **CASES[case])
    assert_tensor(got, sdpa(q, k, v, **CASES[case]), **TOL[dtype], case=f"{case}, {dtype}")


@pytest.mark.task("attention")
def test_attention_scale_matters(student):
    # large features: the default 1/sqrt(E) is far from 1
    q, k, v = qkv((1, 6, 64), (1, 9, 64), seed=3)
    assert_tensor(student.attention(q, k, v), sdpa(q, k, v), atol=2e-5, rtol=1e-4, case="E=64, default scale")


@pytest.mark.task("attention")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_attention_bool_mask_true_means_attend(student, dtype):
    q, k, v = qkv((2, 2, 6, 4), (2, 2, 9, 4), seed=5, dtype=dtype)
    mask = torch.rand(6, 9, generator=torch.Generator().manual_seed(0)) > 0.4
    mask[:, 0] = True  # every row attends somewhere
    assert_tensor(student.attention(q, k, v, attn_mask=mask), sdpa(q, k, v, attn_mask=mask), **TOL[dtype],
                  case="bool mask [L, S]")
    # a per-batch, per-head mask broadcast against [B, H, L, S]
    mask4 = torch.rand(2, 1, 6, 9, generator=torch.Generator().manual_seed(1)) > 0.5
    mask4[..., 3] = True
    assert_tensor(student.attention(q, k, v, attn_mask=mask4), sdpa(q, k, v, attn_mask=mask4), **TOL[dtype],
                  case="bool mask [B, 1, L, S]")


@pytest.mark.task("attention")
def test_attention_float_mask_is_added(student):
    q, k, v = qkv((3, 5, 8), (3, 7, 8), seed=7)
    bias = randn(3, 5, 7, seed=8, scale=2.0)
    bias[0, 1, 2:] = float("-inf")
    assert_tensor(student.attention(q, k, v, attn_mask=bias), sdpa(q, k, v, attn_mask=bias), atol=2e-5, rtol=1e-4,
                  case="additive mask with some -inf")


@pytest.mark.task("attention")
@pytest.mark.parametrize("L, S", [(6, 6), (4, 7), (7, 4)])
def test_attention_causal(student, L, S):
    q, k, v = qkv((2, L, 8), (2, S, 8), seed=L + S)
    got = student.attention(q, k, v, is_causal=True)
    expected = torch.empty_like(got)
    # float64 loop: query i attends to keys j <= i (upper-left aligned, as SDPA)
    for b in range(2):
        for i in range(L):
            js = [j for j in range(S) if j <= i]
            s = torch.stack([q[b, i].double() @ k[b, j].double() / math.sqrt(8) for j in js])
            w = torch.softmax(s, 0)
            expected[b, i] = sum(w[n] * v[b, j].double() for n, j in enumerate(js)).float()
    assert_tensor(got, expected, atol=2e-5, rtol=1e-4, case=f"causal L={L}, S={S}")
    if L <= S:
        assert_tensor(got, sdpa(q, k, v, is_causal=True), atol=2e-5, rtol=1e-4, case="causal vs SDPA")


@pytest.mark.task("attention")
def test_attention_fully_masked_row_is_zero(student):
    q, k, v = qkv((2, 4, 4), (2, 5, 4), seed=11)
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[2] = False
    got = student.attention(q, k, v, attn_mask=mask)
    assert_tensor(got[:, 2], torch.zeros(2, 4), case="fully masked row (bool): zeros, not NaN")
    keep = torch.tensor([0, 1, 3])
    assert_tensor(got[:, keep], sdpa(q, k, v, attn_mask=mask)[:, keep], atol=2e-5, rtol=1e-4, case="other rows")
    bias = torch.zeros(4, 5)
    bias[1] = float("-inf")
    got = student.attention(q, k, v, attn_mask=bias)
    assert_tensor(got[:, 1], torch.zeros(2, 4), case="fully masked row (-inf): zeros")
    w = student.attention_weights(q, k, attn_mask=mask)
    assert_tensor(w[:, 2], torch.zeros(2, 5), case="weights of a fully masked row")


@pytest.mark.task("attention")
def test_attention_weights_rows_and_values(student):
    q, k, _ = qkv((2, 3, 5, 8), (2, 3, 7, 8), seed=13)
    w = student.attention_weights(q, k, scale=0.5)
    expected = torch.softmax((q.double() @ k.double().transpose(-2, -1)) * 0.5, dim=-1).float()
    assert_tensor(w, expected, atol=1e-6, rtol=1e-5, case="softmax over the keys (last axis)")


@pytest.mark.task("attention")
def test_attention_gradients_match_sdpa(student):
    q, k, v = qkv((2, 4, 6), (2, 5, 6), seed=17, dtype=torch.float64)
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[1, :2] = False
    g = randn(2, 4, 6, seed=18, dtype=torch.float64)
    out, grads = student.vjp("attention", [q, k, v], {"attn_mask": mask, "scale": 0.7}, wrt=(0, 1, 2),
                             grad_outputs=g)
    qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
    ref = sdpa(qq, kk, vv, attn_mask=mask, scale=0.7)
    expected = torch.autograd.grad(ref, (qq, kk, vv), g)
    assert_tensor(out, ref.detach(), atol=1e-10, case="output")
    for name, got, exp in zip("qkv", grads, expected):
        assert got is not None, f"no gradient flowed to {name}"
        assert_tensor(got, exp, atol=1e-9, rtol=1e-7, case=f"d/d{name}")


@pytest.mark.task("attention")
def test_attention_gradcheck_causal_and_additive(student):
    q, k, v = qkv((1, 3, 4), (1, 3, 4), seed=19, dtype=torch.float64)
    check_gradient(student, "attention", [q, k, v], {"is_causal": True}, wrt=(0, 1, 2))
    bias = randn(3, 3, seed=20, dtype=torch.float64)
    check_gradient(student, "attention", [q, k, v, bias], wrt=(0, 3))


@pytest.mark.task("attention")
def test_attention_fully_masked_row_has_zero_gradient(student):
    q, k, v = qkv((3, 4), (5, 4), seed=21, dtype=torch.float64)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[0] = False
    _, grads = student.vjp("attention", [q, k, v], {"attn_mask": mask}, wrt=(0,))
    assert grads[0] is not None and bool(torch.isfinite(grads[0]).all()), "gradient must be finite"
    assert_tensor(grads[0][0], torch.zeros(4, dtype=torch.float64), case="d/dq of the fully masked row")


@pytest.mark.task("attention")
def test_attention_empty_queries(student):
    q, k, v = qkv((2, 0, 4), (2, 3, 4), seed=23)
    assert_tensor(student.attention(q, k, v), torch.zeros(2, 0, 4), case="L=0")


@pytest.mark.task("attention")
def test_attention_rejects_bad_inputs(student):
    q, k, v = qkv((2, 3, 4), (2, 5, 4), seed=25)
    with pytest.raises(ValueError, match="feature|query|key"):
        student.attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="tokens|key|value"):
        student.attention(q, k, v[:, :4])
    with pytest.raises(ValueError, match="is_causal|attn_mask"):
        student.attention(q, k, v, attn_mask=torch.ones(3, 5, dtype=torch.bool), is_causal=True)
    with pytest.raises(TypeError, match="mask"):
        student.attention(q, k, v, attn_mask=torch.ones(3, 5, dtype=torch.int64))
    with pytest.raises(TypeError, match="query"):
        student.attention(q.long(), k, v)


@pytest.mark.task("attention")
@pytest.mark.parametrize("device", devices())
def test_attention_on_device(student, device):
    q, k, v = (t.to(device) for t in qkv((2, 4, 33, 16), (2, 4, 47, 16), seed=27))
    mask = (torch.rand(33, 47, generator=torch.Generator().manual_seed(2)) > 0.3).to(device)
    mask[:, 0] = True
    got = student.attention(q, k, v, attn_mask=mask)
    assert_tensor(got, sdpa(q, k, v, attn_mask=mask), atol=1e-4, rtol=1e-3, case=device)
    assert_tensor(student.attention(q, k, v, is_causal=True), sdpa(q, k, v, is_causal=True),
                  atol=1e-4, rtol=1e-3, case=f"{device}, causal")


@pytest.mark.task("attention")
def test_attention_memory_is_quadratic_not_more(student):
    """Peak memory of the process running the student's code (VmHWM) against the token count:
    the increment must stay below a small multiple of the L x S matrix (a broadcast over the
    features, ``(q[..., :, None, :] * k[..., None, :, :]).sum(-1)``, needs E times more)."""
    pid = student_pid(student)
    if pid is None:
        pytest.skip("the worker's memory is not visible to the grader with this backend")
    probe = PeakMemory(pid)
    bh, e = 8, 16
    measured = {}
    for n in (256, 1024, 2048):
        q, k, v = qkv((bh, n, e), (bh, n, e), seed=n)
        measured[n] = probe.measure(lambda q=q, k=k, v=v: student.attention(q, k, v))
    matrix = {n: bh * n * n * 4 for n in measured}
    report = ", ".join(f"N={n}: +{measured[n] / 2**20:.0f} MiB (N x N matrix {matrix[n] / 2**20:.0f} MiB)"
                       for n in measured)
    assert measured[2048] <= 8 * matrix[2048], f"peak memory grows faster than O(N^2): {report}"


@pytest.mark.task("attention")
@pytest.mark.parametrize("q_dtype, mask_dtype", [(torch.float32, torch.float64), (torch.float64, torch.float32)],
                         ids=["float32-query", "float64-query"])
def test_attention_additive_mask_of_another_dtype(student, q_dtype, mask_dtype):
    # "same dtype as query": an additive mask of another floating dtype is cast to the query's
    q, k, v = (randn(2, 4, 3, 8, seed=s, dtype=q_dtype) for s in (71, 72, 73))
    mask = randn(4, 3, 5, seed=74, dtype=mask_dtype)[..., :3] / 3
    got = student.attention(q, k, v, attn_mask=mask)
    assert got.dtype == q_dtype, f"expected the query's dtype {q_dtype}, got {got.dtype}"
    expected = F.scaled_dot_product_attention(q.double(), k.double(), v.double(), attn_mask=mask.to(q_dtype).double())
    tol = 1e-5 if q_dtype == torch.float32 else 1e-12
    assert_tensor(got, expected.to(q_dtype), atol=tol, rtol=tol, case=f"{mask_dtype} mask, {q_dtype} query")
