"""Hidden tests of input checks and boundary values across the tasks (each next to an
informative call of the same function, so that raising alone earns nothing)."""

import pytest
import torch
from torch import nn
from torchvision.models import swin_transformer as tvs
from torchvision.models.vision_transformer import EncoderBlock

from _tf_oracles import cxcywh_boxes, perturbed, randn, state_dict
from harness.testkit import assert_tensor


@pytest.mark.task("attention")
def test_attention_needs_token_and_feature_axes(student):
    q = randn(3, 4, seed=1)
    assert_tensor(student.attention_weights(q, q).sum(-1), torch.ones(3), atol=1e-6, case="rows sum to 1")
    with pytest.raises(ValueError, match="dimensions|query|key|value"):
        student.attention(torch.zeros(4), torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match="dimensions|query|key"):
        student.attention_weights(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match="feature|query|key"):
        student.attention_weights(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(TypeError, match="query"):
        student.attention_weights(torch.zeros(3, 4, dtype=torch.int64), torch.zeros(3, 4))


@pytest.mark.task("mha")
def test_mha_rejects_key_value_mismatch(student):
    ref = perturbed(nn.MultiheadAttention(8, 2), 1)
    mine = student.MultiHeadAttention(8, 2)
    mine.load_weights(state_dict(ref))
    q, k = randn(3, 2, 8, seed=2), randn(5, 2, 8, seed=3)
    out, _ = mine(q, k, k)
    assert_tensor(out, ref(q, k, k)[0].detach(), atol=2e-5, rtol=1e-4, case="[L, N, E] layout")
    with pytest.raises(ValueError, match="key|value"):
        mine(q, k, k[:4])


@pytest.mark.task("posenc")
def test_posenc_boundaries(student):
    assert_tensor(student.sinusoidal_encoding_1d(1, 4), torch.tensor([[0.0, 1.0, 0.0, 1.0]]), case="position 0")
    with pytest.raises(ValueError, match="num_positions"):
        student.sinusoidal_encoding_1d(-1, 4)
    with pytest.raises(ValueError, match="base"):
        student.sinusoidal_encoding_1d(3, 4, base=0.0)
    with pytest.raises(ValueError, match="base"):
        student.sincos_encoding_2d(2, 2, 8, base=-1.0)
    pe = randn(1, 5, 4, seed=4)
    assert_tensor(student.interpolate_pos_embedding(pe, (2, 2), (2, 2)), pe, atol=1e-6, case="same grid: unchanged")
    with pytest.raises(ValueError, match="shape|pos_embedding"):
        student.interpolate_pos_embedding(pe[0], (2, 2), (3, 3))
    with pytest.raises(ValueError, match="grid"):
        student.interpolate_pos_embedding(pe, (2, 2), (0, 3))


@pytest.mark.task("vit")
def test_vit_parts_reject_bad_shapes(student):
    ref = perturbed(EncoderBlock(2, 8, 16, 0.0, 0.0), seed=5)
    mine = student.EncoderBlock(2, 8, 16)
    mine.load_weights(state_dict(ref))
    # tiny activations: LayerNorm's eps (1e-6) matters
    x = randn(2, 5, 8, seed=6, scale=1e-3)
    assert_tensor(mine(x), ref(x).detach(), atol=1e-6, rtol=1e-4, case="small activations (eps = 1e-6)")
    with pytest.raises(ValueError, match=r"x must|\bx\b"):
        mine(x[0])
    pe = student.PatchEmbedding(3, 4, 4)
    assert pe(torch.zeros(1, 3, 8, 8)).shape == (1, 4, 4)
    with pytest.raises(ValueError, match="images|patch_size"):
        pe(torch.zeros(1, 3, 6, 8))
    with pytest.raises(ValueError, match="images"):
        student.patchify(torch.zeros(3, 8, 8), 4)


@pytest.mark.task("swin")
def test_swin_rejects_bad_sizes(student):
    w = student.window_partition(randn(1, 4, 4, 2, seed=7), 2)
    assert w.shape == (4, 2, 2, 2)
    with pytest.raises(ValueError, match="windows|window_size|height|width"):
        student.window_reverse(w, 2, 6, 4)
    with pytest.raises(ValueError, match="window_size|height"):
        student.shifted_window_mask(6, 8, 4, 2)
    attn = perturbed(tvs.ShiftedWindowAttention(6, [2, 2], [0, 0], 2), 8)
    bias = attn.get_relative_position_bias().detach()
    sd = state_dict(attn)
    x = randn(1, 4, 4, 6, seed=9)
    got = student.shifted_window_attention(x, sd["qkv.weight"], sd["proj.weight"], bias, (2, 2), 2, (1, 1),
                                           sd["qkv.bias"], sd["proj.bias"])
    expected = tvs.shifted_window_attention(x, sd["qkv.weight"], sd["proj.weight"], bias, [2, 2], 2, [1, 1],
                                            qkv_bias=sd["qkv.bias"], proj_bias=sd["proj.bias"], training=False)
    assert_tensor(got, expected, atol=3e-5, rtol=1e-4, case="4x4, window 2, shift 1")
    with pytest.raises(ValueError, match=r"num_heads|\bx\b"):
        student.shifted_window_attention(x, sd["qkv.weight"], sd["proj.weight"], bias, (2, 2), 4, (1, 1))


@pytest.mark.task("detr")
def test_detr_rejects_mismatched_batches(student):
    logits = randn(2, 3, 4, seed=10)
    boxes = torch.stack([cxcywh_boxes(3, seed=11), cxcywh_boxes(3, seed=12)])
    targets = [{"labels": torch.tensor([0]), "boxes": cxcywh_boxes(1, seed=13)}] * 2
    assert len(student.hungarian_match(logits, boxes, targets)) == 2
    with pytest.raises(ValueError, match="targets|pred_logits|pred_boxes"):
        student.hungarian_match(logits, boxes, targets[:1])
    with pytest.raises(ValueError, match="aux"):
        student.set_criterion(logits, boxes, targets, 3, aux_logits=[logits], aux_boxes=[])
