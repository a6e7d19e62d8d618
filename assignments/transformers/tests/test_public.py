"""Public tests of the transformers assignment (also graded). Run: `cv3 test transformers`.

Oracles: torch's own attention (F.scaled_dot_product_attention, nn.MultiheadAttention) and
torchvision's ViT and Swin modules. Your package may not use any of them (the grader blocks
them); these tests may.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.testkit import assert_tensor, check_gradient


def randn(*shape, seed, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


@pytest.mark.task("attention")
def test_attention_matches_sdpa_with_a_bool_mask(student):
    q, k, v = randn(2, 4, 5, 8, seed=0), randn(2, 4, 6, 8, seed=1), randn(2, 4, 6, 3, seed=2)
    mask = torch.rand(5, 6, generator=torch.Generator().manual_seed(3)) > 0.5
    mask[:, 0] = True
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_tensor(student.attention(q, k, v, attn_mask=mask), expected, atol=2e-5, rtol=1e-4)


@pytest.mark.task("attention")
def test_attention_gradient(student):
    q, k, v = (randn(3, 4, seed=s, dtype=torch.float64) for s in (4, 5, 6))
    check_gradient(student, "attention", [q, k, v], wrt=(0, 1, 2))


@pytest.mark.task("mha")
def test_mha_matches_torch(student):
    ref = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    mine = student.MultiHeadAttention(8, 2, batch_first=True)
    mine.load_weights({k: v.detach().clone() for k, v in ref.state_dict().items()})
    x = randn(2, 5, 8, seed=7)
    out, w = mine(x, x, x)
    e_out, e_w = ref(x, x, x)
    assert_tensor(out, e_out.detach(), atol=2e-5, rtol=1e-4)
    assert_tensor(w, e_w.detach(), atol=2e-5, rtol=1e-4)


@pytest.mark.task("posenc")
def test_sinusoidal_encoding_first_rows(student):
    pe = student.sinusoidal_encoding_1d(3, 4)
    expected = torch.tensor([[0.0, 1.0, 0.0, 1.0],
                             [0.8414709848, 0.5403023059, 0.0099998333, 0.9999500004],
                             [0.9092974268, -0.4161468365, 0.0199986667, 0.9998000067]])
    assert_tensor(pe, expected, atol=1e-6)


@pytest.mark.task("posenc")
def test_sincos_2d_shape_and_first_token(student):
    pe = student.sincos_encoding_2d(2, 3, 8, cls_token=True)
    assert pe.shape == (7, 8)
    assert_tensor(pe[0], torch.zeros(8))
    assert_tensor(pe[1], torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]), atol=1e-7)


@pytest.mark.task("vit")
def test_patchify_matches_unfold(student):
    x = randn(2, 3, 8, 8, seed=8)
    assert_tensor(student.patchify(x, 4), F.unfold(x, 4, stride=4).transpose(1, 2))


@pytest.mark.task("vit")
def test_vit_matches_torchvision(student):
    tv = pytest.importorskip("torchvision.models.vision_transformer")
    ref = tv.VisionTransformer(8, 4, 1, 2, 8, 16, num_classes=3).eval()
    mine = student.VisionTransformer(8, 4, 1, 2, 8, 16, 3)
    mine.load_weights({k: v.detach().clone() for k, v in ref.state_dict().items()})
    x = randn(2, 3, 8, 8, seed=9)
    assert_tensor(mine(x), ref(x).detach(), atol=5e-5, rtol=1e-4)


@pytest.mark.task("swin")
def test_window_partition_roundtrip(student):
    x = randn(1, 4, 6, 2, seed=10)
    w = student.window_partition(x, 2)
    assert w.shape == (6, 2, 2, 2)
    assert_tensor(w[1], x[0, 0:2, 2:4])
    assert_tensor(student.window_reverse(w, 2, 4, 6), x)


@pytest.mark.task("swin")
def test_shifted_window_mask_values(student):
    m = student.shifted_window_mask(4, 4, 2, 1)
    assert m.shape == (4, 4, 4)
    assert_tensor(m[0], torch.zeros(4, 4))  # the top-left window is one region
    assert set(m[3].unique().tolist()) == {0.0, -100.0}


@pytest.mark.task("detr")
def test_hungarian_match_small(student):
    logits = torch.tensor([[[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]]])
    boxes = torch.tensor([[[0.2, 0.2, 0.1, 0.1], [0.7, 0.7, 0.2, 0.2], [0.5, 0.5, 0.5, 0.5]]])
    targets = [{"labels": torch.tensor([1, 0]), "boxes": torch.tensor([[0.7, 0.7, 0.2, 0.2], [0.2, 0.2, 0.1, 0.1]])}]
    (i, j), = student.hungarian_match(logits, boxes, targets)
    assert i.tolist() == [0, 1] and j.tolist() == [1, 0]


@pytest.mark.task("maskformer")
def test_semantic_inference_shape(student):
    out = student.semantic_inference(randn(4, 3, seed=11), randn(4, 5, 5, seed=12))
    assert out.shape == (2, 5, 5)


@pytest.mark.task("maskformer")
def test_dice_loss_perfect_prediction(student):
    t = torch.tensor([[1.0, 0.0, 1.0]])
    x = torch.tensor([[50.0, -50.0, 50.0]])
    assert_tensor(student.dice_loss(x, t, 1.0), torch.tensor(0.0), atol=1e-6)


@pytest.mark.task("classifier")
def test_predict_after_a_short_training(student):
    x = torch.rand(32, 1, 16, 16, generator=torch.Generator().manual_seed(13))
    y = torch.arange(32) % 10
    student.train(x, y, seed=0, time_budget_s=2.0)
    out = student.predict(x[:4])
    assert out["logits"].shape == (4, 10) and out["logits"].dtype == torch.float32
    assert out["attention"].dim() == 3 and out["attention"].shape[0] == 4


@pytest.mark.task("classifier")
def test_load_pretrained_then_predict_matches_torchvision(student):
    # the check `digits_pretrained` copies trained weights in the same way: if this matches, your
    # modules compute what the grader's ViT was trained to compute
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    ref = VisionTransformer(image_size=16, patch_size=4, num_layers=3, num_heads=4, hidden_dim=64, mlp_dim=128,
                            num_classes=10)
    ref.conv_proj = nn.Conv2d(1, 64, 4, 4)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.2 * torch.randn_like(p))  # away from the initial zeros (class token, biases)
    ref.eval()
    student.load_pretrained({k: v.detach().clone() for k, v in ref.state_dict().items()})
    x = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(14))
    with torch.no_grad():
        expected = ref(x)
    assert_tensor(student.predict(x)["logits"], expected, atol=1e-4, rtol=1e-4)
