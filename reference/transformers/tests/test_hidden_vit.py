"""Hidden tests of patchify, PatchEmbedding, EncoderBlock and VisionTransformer [vit].

Oracles: torchvision.models.vision_transformer (EncoderBlock, VisionTransformer) with
perturbed weights copied in; F.unfold and Conv2d for the patch embedding.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vision_transformer import EncoderBlock, VisionTransformer

from _tf_oracles import perturbed, randn, state_dict
from harness.testkit import assert_tensor, devices


@pytest.mark.task("vit")
@pytest.mark.parametrize("c, h, w, p", [(3, 8, 12, 4), (1, 6, 6, 2), (2, 5, 5, 5), (3, 4, 4, 1)])
def test_patchify_matches_unfold(student, c, h, w, p):
    x = randn(2, c, h, w, seed=c + h + p)
    assert_tensor(student.patchify(x, p), F.unfold(x, p, stride=p).transpose(1, 2), case=f"{c}x{h}x{w}, p={p}")


@pytest.mark.task("vit")
def test_patchify_rejects_a_patch_that_does_not_divide(student):
    with pytest.raises(ValueError, match="patch_size|images"):
        student.patchify(torch.zeros(1, 3, 10, 8), 4)


@pytest.mark.task("vit")
def test_patch_embedding_conv_equals_linear(student):
    conv = perturbed(nn.Conv2d(3, 10, 4, stride=4), 1)
    pe = student.PatchEmbedding(3, 10, 4)
    pe.load_weights({"conv_proj.weight": conv.weight.detach().clone(), "conv_proj.bias": conv.bias.detach().clone()})
    x = randn(2, 3, 8, 12, seed=2)
    expected = conv(x).flatten(2).transpose(1, 2).detach()
    assert_tensor(pe(x), expected, atol=1e-5, rtol=1e-5, case="strided convolution")
    assert_tensor(pe.forward_linear(x), expected, atol=1e-5, rtol=1e-5, case="unfold + linear")


@pytest.mark.task("vit")
@pytest.mark.parametrize("heads, d, mlp", [(2, 8, 16), (4, 16, 24), (1, 6, 6)])
def test_encoder_block_matches_torchvision(student, heads, d, mlp):
    ref = perturbed(EncoderBlock(heads, d, mlp, 0.0, 0.0), seed=heads + d)
    mine = student.EncoderBlock(heads, d, mlp)
    mine.load_weights(state_dict(ref))
    x = randn(3, 7, d, seed=d)
    assert_tensor(mine(x), ref(x).detach(), atol=3e-5, rtol=1e-4, case=f"heads={heads}, D={d}, mlp={mlp}")


CONFIGS = {
    "16px, patch 4, 2 layers": dict(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=16,
                                    num_classes=5),
    "12px, patch 3, 1 layer": dict(image_size=12, patch_size=3, num_layers=1, num_heads=3, hidden_dim=12, mlp_dim=10,
                                   num_classes=2),
    "8px, patch 8": dict(image_size=8, patch_size=8, num_layers=3, num_heads=1, hidden_dim=4, mlp_dim=8,
                         num_classes=3),
}


@pytest.mark.task("vit")
@pytest.mark.parametrize("name", list(CONFIGS))
def test_vit_matches_torchvision(student, name):
    cfg = CONFIGS[name]
    ref = perturbed(VisionTransformer(**cfg), seed=len(name))
    mine = student.VisionTransformer(**cfg)
    mine.load_weights(state_dict(ref))
    x = randn(2, 3, cfg["image_size"], cfg["image_size"], seed=5)
    assert_tensor(mine(x), ref(x).detach(), atol=5e-5, rtol=1e-4, case=name)
    # the encoder's input: class token first, then the patches, plus the position embeddings
    tok = ref._process_input(x)
    expected = torch.cat([ref.class_token.expand(2, -1, -1), tok], dim=1) + ref.encoder.pos_embedding
    assert_tensor(mine.tokens(x), expected.detach(), atol=1e-5, rtol=1e-5, case=f"{name}: tokens")


@pytest.mark.task("vit")
def test_vit_head_reads_the_class_token(student):
    cfg = CONFIGS["16px, patch 4, 2 layers"]
    ref = perturbed(VisionTransformer(**cfg), seed=9)
    mine = student.VisionTransformer(**cfg)
    mine.load_weights(state_dict(ref))
    x = randn(1, 3, 16, 16, seed=6)
    y = ref.encoder(torch.cat([ref.class_token, ref._process_input(x)], dim=1))
    assert_tensor(mine(x), ref.heads(y[:, 0]).detach(), atol=5e-5, rtol=1e-4, case="head on token 0")


@pytest.mark.task("vit")
def test_vit_class_attention(student):
    cfg = CONFIGS["16px, patch 4, 2 layers"]
    ref = perturbed(VisionTransformer(**cfg), seed=11)
    mine = student.VisionTransformer(**cfg)
    mine.load_weights(state_dict(ref))
    x = randn(2, 3, 16, 16, seed=7)
    tokens = torch.cat([ref.class_token.expand(2, -1, -1), ref._process_input(x)], dim=1) + ref.encoder.pos_embedding
    layers = list(ref.encoder.layers)
    h = layers[0](tokens)
    y = layers[1].ln_1(h)
    _, w = layers[1].self_attention(y, y, y, need_weights=True, average_attn_weights=True)
    assert_tensor(mine.class_attention(x), w[:, 0, 1:].reshape(2, 4, 4).detach(), atol=1e-5, rtol=1e-4,
                  case="class token -> patches, last block, mean over heads")


@pytest.mark.task("vit")
def test_vit_rejects_wrong_sizes(student):
    with pytest.raises(ValueError, match="patch_size|image_size"):
        student.VisionTransformer(10, 4, 1, 1, 4, 4, 2)
    mine = student.VisionTransformer(8, 4, 1, 1, 4, 4, 2)
    with pytest.raises(ValueError, match="images|image_size"):
        mine(torch.zeros(1, 3, 12, 12))


@pytest.mark.task("vit")
@pytest.mark.parametrize("device", devices())
def test_vit_on_device(student, device):
    cfg = CONFIGS["12px, patch 3, 1 layer"]
    ref = perturbed(VisionTransformer(**cfg), seed=13)
    mine = student.VisionTransformer(**cfg)
    mine.load_weights({k: v.to(device) for k, v in state_dict(ref).items()})
    x = randn(2, 3, 12, 12, seed=8)
    assert_tensor(mine(x.to(device)), ref(x).detach().to(device), atol=1e-4, rtol=1e-3, case=device)


@pytest.mark.task("vit")
def test_encoder_block_second_layer_norm_eps(student):
    # a small residual stream AFTER the attention (its output projection scaled down) puts the
    # second LayerNorm's input at variance ~1e-6, where its eps = 1e-6 matters as much as ln_1's
    ref = perturbed(EncoderBlock(2, 8, 16, 0.0, 0.0), seed=81)
    with torch.no_grad():
        ref.self_attention.out_proj.weight.mul_(1e-3)
        ref.self_attention.out_proj.bias.mul_(1e-3)
    mine = student.EncoderBlock(2, 8, 16)
    mine.load_weights(state_dict(ref))
    x = randn(2, 5, 8, seed=82, scale=1e-3)
    assert_tensor(mine(x), ref(x).detach(), atol=1e-6, rtol=1e-4, case="second LayerNorm on a tiny residual stream")
