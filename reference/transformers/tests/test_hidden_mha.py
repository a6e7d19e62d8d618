"""Hidden tests of MultiHeadAttention [mha].

Oracle: torch.nn.MultiheadAttention (eval mode, dropout 0) with perturbed weights copied into
the student's module through load_weights.
"""

import pytest
import torch
from torch import nn

from _tf_oracles import perturbed, randn, state_dict
from harness.testkit import assert_tensor, devices


def pair(student, e, h, batch_first, seed):
    ref = perturbed(nn.MultiheadAttention(e, h, batch_first=batch_first), seed)
    mine = student.MultiHeadAttention(e, h, batch_first=batch_first)
    mine.load_weights(state_dict(ref))
    return ref, mine


def inputs(n, length, s, e, batch_first, seed, self_attention=False):
    q = randn(n, length, e, seed=seed)
    k = q if self_attention else randn(n, s, e, seed=seed + 1)
    v = q if self_attention else randn(n, s, e, seed=seed + 2)
    if not batch_first:
        q, k, v = (t.transpose(0, 1).contiguous() for t in (q, k, v))
    return q, k, v


def check(got, expected, case, atol=2e-5):
    out, w = got
    assert_tensor(out, expected[0].detach(), atol=atol, rtol=1e-4, case=f"{case}: output")
    if expected[1] is None:
        assert w is None, f"[{case}] need_weights=False must return None weights, got {type(w).__name__}"
    else:
        assert_tensor(w, expected[1].detach(), atol=atol, rtol=1e-4, case=f"{case}: weights")


@pytest.mark.task("mha")
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_mha_matches_torch(student, batch_first, average):
    ref, mine = pair(student, 12, 3, batch_first, seed=1)
    q, k, v = inputs(2, 5, 7, 12, batch_first, seed=2)
    check(mine(q, k, v, average_attn_weights=average), ref(q, k, v, average_attn_weights=average),
          f"batch_first={batch_first}, average={average}")


@pytest.mark.task("mha")
def test_mha_self_attention_and_no_weights(student):
    ref, mine = pair(student, 16, 4, True, seed=3)
    q, k, v = inputs(3, 6, 6, 16, True, seed=4, self_attention=True)
    check(mine(q, k, v, need_weights=False), ref(q, k, v, need_weights=False), "need_weights=False")


@pytest.mark.task("mha")
@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_key_padding_mask(student, batch_first):
    ref, mine = pair(student, 8, 2, batch_first, seed=5)
    q, k, v = inputs(3, 4, 6, 8, batch_first, seed=6)
    kpm = torch.zeros(3, 6, dtype=torch.bool)
    kpm[0, 4:] = True
    kpm[2, 1:3] = True
    check(mine(q, k, v, key_padding_mask=kpm, average_attn_weights=False),
          ref(q, k, v, key_padding_mask=kpm, average_attn_weights=False), "bool key_padding_mask (True = padding)")
    fk = torch.zeros(3, 6)
    fk[1, 0] = -2.5
    fk[0, 5] = float("-inf")
    check(mine(q, k, v, key_padding_mask=fk), ref(q, k, v, key_padding_mask=fk), "float key_padding_mask")


@pytest.mark.task("mha")
def test_mha_attn_mask_true_means_blocked(student):
    ref, mine = pair(student, 8, 2, True, seed=7)
    q, k, v = inputs(2, 5, 5, 8, True, seed=8, self_attention=True)
    causal_blocked = torch.ones(5, 5, dtype=torch.bool).triu(1)
    check(mine(q, k, v, attn_mask=causal_blocked), ref(q, k, v, attn_mask=causal_blocked),
          "bool attn_mask [L, S], True = blocked")
    bias = randn(5, 5, seed=9)
    check(mine(q, k, v, attn_mask=bias), ref(q, k, v, attn_mask=bias), "float attn_mask [L, S]")


@pytest.mark.task("mha")
def test_mha_per_head_mask_and_padding_together(student):
    ref, mine = pair(student, 12, 3, False, seed=10)
    q, k, v = inputs(2, 4, 6, 12, False, seed=11)
    m3 = torch.rand(2 * 3, 4, 6, generator=torch.Generator().manual_seed(3)) > 0.6
    m3[..., 0] = False  # key 0 stays open for everyone
    kpm = torch.zeros(2, 6, dtype=torch.bool)
    kpm[1, 3:] = True
    check(mine(q, k, v, key_padding_mask=kpm, attn_mask=m3, average_attn_weights=False),
          ref(q, k, v, key_padding_mask=kpm, attn_mask=m3, average_attn_weights=False),
          "attn_mask [N * H, L, S] (batch-major) with key_padding_mask")


@pytest.mark.task("mha")
def test_mha_fully_blocked_query_gives_zero_weights(student):
    ref, mine = pair(student, 8, 2, True, seed=12)
    q, k, v = inputs(1, 3, 4, 8, True, seed=13)
    am = torch.zeros(3, 4, dtype=torch.bool)
    am[1] = True
    out, w = mine(q, k, v, attn_mask=am, average_attn_weights=False)
    assert_tensor(w[0, :, 1], torch.zeros(2, 4), case="weights of a fully blocked query")
    # its output is out_proj of zeros: the out_proj bias
    assert_tensor(out[0, 1], state_dict(ref)["out_proj.bias"], atol=1e-6, case="output of a fully blocked query")
    exp = ref(q, k, v, attn_mask=am, average_attn_weights=False)
    assert_tensor(out[0, [0, 2]], exp[0][0, [0, 2]].detach(), atol=2e-5, rtol=1e-4, case="the other queries")


@pytest.mark.task("mha")
def test_mha_load_weights_is_strict_and_init(student):
    mine = student.MultiHeadAttention(8, 2)
    sd = state_dict(nn.MultiheadAttention(8, 2))
    bad = dict(sd)
    del bad["in_proj_bias"]
    with pytest.raises(RuntimeError):
        mine.load_weights(bad)
    bad = dict(sd)
    bad["in_proj_weight"] = torch.zeros(8, 8)
    with pytest.raises(RuntimeError):
        mine.load_weights(bad)
    with pytest.raises(ValueError, match="num_heads|embed_dim"):
        student.MultiHeadAttention(10, 3)


@pytest.mark.task("mha")
def test_mha_rejects_bad_masks(student):
    _, mine = pair(student, 8, 2, True, seed=14)
    q, k, v = inputs(2, 3, 4, 8, True, seed=15)
    with pytest.raises(ValueError, match="attn_mask"):
        mine(q, k, v, attn_mask=torch.zeros(4, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_padding_mask"):
        mine(q, k, v, key_padding_mask=torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="query"):
        mine(q[0], k, v)


@pytest.mark.task("mha")
@pytest.mark.parametrize("device", devices())
def test_mha_on_device(student, device):
    ref = perturbed(nn.MultiheadAttention(16, 4, batch_first=True), 16)
    mine = student.MultiHeadAttention(16, 4, batch_first=True)
    mine.load_weights({k: t.to(device) for k, t in state_dict(ref).items()})
    q, k, v = inputs(2, 9, 11, 16, True, seed=17)
    expected = ref(q, k, v)
    out, w = mine(q.to(device), k.to(device), v.to(device))
    assert_tensor(out, expected[0].detach().to(device), atol=1e-4, rtol=1e-3, case=device)
    assert_tensor(w, expected[1].detach().to(device), atol=1e-4, rtol=1e-3, case=device)
