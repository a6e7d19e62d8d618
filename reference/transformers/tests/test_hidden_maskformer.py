"""Hidden tests of MaskFormer / Mask2Former inference, masked attention and mask losses
[maskformer].

Oracles: float64 formulas and loops written here (MaskFormer's panoptic_inference transcribed
from the paper's code), torchvision.ops.sigmoid_focal_loss, F.binary_cross_entropy_with_logits,
and a float64 bilinear interpolation loop for the point sampling.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from _tf_oracles import rand, randn
from harness.testkit import assert_tensor, check_gradient, devices


@pytest.mark.task("maskformer")
@pytest.mark.parametrize("device", devices())
def test_semantic_inference(student, device):
    cls, masks = randn(5, 4, seed=1, scale=2.0), randn(5, 6, 7, seed=2, scale=3.0)
    prob = cls.double().softmax(-1)[:, :-1]
    expected = torch.zeros(3, 6, 7, dtype=torch.float64)
    for q in range(5):
        expected += prob[q][:, None, None] * masks[q].double().sigmoid()[None]
    got = student.semantic_inference(cls.to(device), masks.to(device))
    assert_tensor(got, expected.float().to(device), atol=1e-5, case=f"{device}: no-object dropped after softmax")


def panoptic_oracle(mask_cls, mask_pred, is_thing, omt, ot):
    scores, labels = F.softmax(mask_cls.double(), dim=-1).max(-1)
    mask_pred = mask_pred.double().sigmoid()
    k = mask_cls.shape[-1] - 1
    keep = labels.ne(k) & (scores > omt)
    cur_scores, cur_classes, cur_masks = scores[keep], labels[keep], mask_pred[keep]
    cur_prob_masks = cur_scores.view(-1, 1, 1) * cur_masks
    h, w = cur_masks.shape[-2:]
    panoptic_seg = torch.zeros((h, w), dtype=torch.int64)
    segments = []
    current_segment_id = 0
    if cur_masks.shape[0] == 0:
        return panoptic_seg, torch.zeros(0, 3, dtype=torch.int64)
    cur_mask_ids = cur_prob_masks.argmax(0)
    stuff_memory_list = {}
    for q in range(cur_classes.shape[0]):
        pred_class = cur_classes[q].item()
        isthing = is_thing[pred_class]
        mask_area = (cur_mask_ids == q).sum().item()
        original_area = (cur_masks[q] >= 0.5).sum().item()
        mask = (cur_mask_ids == q) & (cur_masks[q] >= 0.5)
        if mask_area > 0 and original_area > 0 and mask.sum().item() > 0:
            if mask_area / original_area < ot:
                continue
            if not isthing:
                if int(pred_class) in stuff_memory_list:
                    panoptic_seg[mask] = stuff_memory_list[int(pred_class)]
                    continue
                stuff_memory_list[int(pred_class)] = current_segment_id + 1
            current_segment_id += 1
            panoptic_seg[mask] = current_segment_id
            segments.append([current_segment_id, int(pred_class), int(bool(isthing))])
    return panoptic_seg, torch.tensor(segments, dtype=torch.int64).reshape(-1, 3)


def panoptic_case(seed):
    # confident classes; blob-shaped masks so that thresholds matter
    gen = torch.Generator().manual_seed(seed)
    q, k, h, w = 8, 4, 12, 12
    labels = torch.randint(0, k + 1, (q,), generator=gen)
    cls = torch.randn(q, k + 1, generator=gen) * 0.5
    cls[torch.arange(q), labels] += torch.rand(q, generator=gen) * 4 + 1.0
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    centres = torch.rand(q, 2, generator=gen) * 12
    radius = torch.rand(q, generator=gen) * 4 + 1.5
    d = ((yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2).sqrt()
    masks = (radius[:, None, None] - d) * 2.0
    return cls, masks


@pytest.mark.task("maskformer")
@pytest.mark.parametrize("seed, omt, ot", [(1, 0.5, 0.5), (2, 0.6, 0.8), (3, 0.3, 0.3), (4, 0.8, 0.8), (5, 0.0, 0.0)])
def test_panoptic_inference(student, seed, omt, ot):
    cls, masks = panoptic_case(seed)
    is_thing = [True, False, True, False]
    seg, segments = student.panoptic_inference(cls, masks, is_thing, omt, ot)
    exp_seg, exp_segments = panoptic_oracle(cls, masks, is_thing, omt, ot)
    assert_tensor(segments, exp_segments, case=f"segments (id, category, is_thing), seed {seed}")
    assert_tensor(seg, exp_seg, case=f"panoptic map, seed {seed}")


@pytest.mark.task("maskformer")
def test_panoptic_inference_mask_probability_exactly_one_half(student):
    # "sigmoid(mask_pred) >= 0.5" keeps a pixel whose mask logit is exactly 0
    cls = torch.tensor([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    masks = torch.full((2, 3, 4), -6.0)
    masks[0, :, :2] = 0.0  # probability exactly 1/2: still the query's pixel
    masks[1, :, 2:] = 5.0
    seg, segments = student.panoptic_inference(cls, masks, [True, False], 0.5, 0.5)
    exp_seg, exp_segments = panoptic_oracle(cls, masks, [True, False], 0.5, 0.5)
    assert_tensor(segments, exp_segments, case="segments with a mask at probability 1/2")
    assert_tensor(seg, exp_seg, case="map with a mask at probability 1/2")
    assert int((seg == 1).sum()) == 6, "the six pixels of logit 0 belong to the first segment"


@pytest.mark.task("maskformer")
def test_sigmoid_focal_loss_alpha_zero_weights_positives_by_zero(student):
    # alpha = 0 is a weighting (positives weigh 0); only alpha < 0 disables it
    x, t = randn(3, 10, seed=91), (torch.rand(3, 10, generator=torch.Generator().manual_seed(92)) > 0.5).float()
    for alpha in (0.0, -1.0):
        fl = sigmoid_focal_loss(x, t, alpha=alpha, gamma=2.0, reduction="none").mean(1).sum() / 3.0
        assert_tensor(student.sigmoid_focal_loss(x, t, 3.0, alpha, 2.0), fl, atol=1e-6, case=f"alpha {alpha}")


@pytest.mark.task("maskformer")
def test_panoptic_inference_merges_stuff(student):
    # two confident queries of the same stuff class: one segment
    cls = torch.tensor([[0.0, 9.0, 0.0], [0.0, 9.0, 0.0], [9.0, 0.0, 0.0]])
    masks = torch.full((3, 4, 4), -9.0)
    masks[0, :2] = 9.0
    masks[1, 2:, :2] = 9.0
    masks[2, 2:, 2:] = 9.0
    seg, segments = student.panoptic_inference(cls, masks, [True, False], 0.5, 0.5)
    assert_tensor(segments, torch.tensor([[1, 1, 0], [2, 0, 1]]), case="stuff merged, thing separate")
    expected = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 2, 2], [1, 1, 2, 2]])
    assert_tensor(seg, expected, case="map")
    seg, segments = student.panoptic_inference(cls, masks, [True, False], 0.99999, 0.5)
    assert_tensor(segments, torch.zeros(0, 3, dtype=torch.int64), case="nothing kept")
    assert_tensor(seg, torch.zeros(4, 4, dtype=torch.int64), case="all void")


def masked_attention_oracle(logits, size, heads):
    m = F.interpolate(logits.double(), size=size, mode="bilinear", align_corners=False).sigmoid()
    b, q = logits.shape[:2]
    out = torch.zeros(b * heads, q, size[0] * size[1], dtype=torch.bool)
    for bi in range(b):
        for qi in range(q):
            blocked = m[bi, qi].reshape(-1) < 0.5
            if bool(blocked.all()):
                blocked[:] = False  # an empty mask attends everywhere
            for h in range(heads):
                out[bi * heads + h, qi] = blocked
    return out


@pytest.mark.task("maskformer")
@pytest.mark.parametrize("size, heads", [((4, 4), 2), ((3, 5), 1), ((16, 16), 3)])
def test_masked_attention_mask(student, size, heads):
    logits = randn(2, 5, 8, 8, seed=sum(size), scale=3.0)
    logits[0, 1] = -5.0  # an empty mask
    logits[1, 3] = 5.0  # a full mask
    got = student.masked_attention_mask(logits, size, heads)
    assert_tensor(got, masked_attention_oracle(logits, size, heads), case=f"size {size}, {heads} heads")


@pytest.mark.task("maskformer")
def test_masked_attention_is_usable_with_mha(student):
    logits = randn(1, 3, 4, 4, seed=9, scale=3.0)
    logits[0, 0] = -4.0
    mask = student.masked_attention_mask(logits, (2, 2), 2)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    q, kv = randn(1, 3, 8, seed=10), randn(1, 4, 8, seed=11)
    out, _ = mha(q, kv, kv, attn_mask=mask)
    assert bool(torch.isfinite(out).all()), "an empty query mask must not produce NaN"


def bilinear_oracle(img, x, y):
    """float64 value at normalised (x, y) with align_corners=False and zero padding."""
    h, w = img.shape
    px, py = x * w - 0.5, y * h - 0.5
    x0, y0 = math.floor(px), math.floor(py)
    val = 0.0
    for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
        for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                val += wy * wx * float(img[yy, xx])
    return val


@pytest.mark.task("maskformer")
def test_point_sample(student):
    maps = randn(2, 3, 5, 7, seed=12, dtype=torch.float64)
    coords = rand(2, 6, 2, seed=13, dtype=torch.float64)
    coords[0, 0] = torch.tensor([0.0, 1.0])  # corners: half-pixel outside, zero padded
    got = student.point_sample(maps, coords)
    expected = torch.tensor([[[bilinear_oracle(maps[n, c], *coords[n, p].tolist()) for p in range(6)]
                              for c in range(3)] for n in range(2)], dtype=torch.float64)
    assert_tensor(got, expected, atol=1e-10, case="(x, y) in [0, 1], align_corners=False")
    check_gradient(student, "point_sample", [maps, coords])
    # float32 points (as sample_points gives them) on float64 maps: converted to the maps' dtype
    got32 = student.point_sample(maps, coords.float())
    assert got32.dtype == torch.float64, got32.dtype
    assert_tensor(got32, student.point_sample(maps, coords.float().double()), atol=1e-12, case="float32 coords")


@pytest.mark.task("maskformer")
def test_sample_points_is_seeded(student):
    got = student.sample_points(3, 5, seed=42)
    assert_tensor(got, torch.rand(3, 5, 2, generator=torch.Generator().manual_seed(42)), case="seed 42")
    assert_tensor(student.sample_points(2, 4, seed=1, dtype=torch.float64),
                  torch.rand(2, 4, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64), case="float64")


def dice_oracle(x, t, n):
    p = x.double().sigmoid()
    t = t.double()
    return sum(1 - (2 * (p[i] * t[i]).sum() + 1) / (p[i].sum() + t[i].sum() + 1) for i in range(x.shape[0])) / n


@pytest.mark.task("maskformer")
def test_dice_ce_and_focal_losses(student):
    x = randn(4, 30, seed=14, scale=2.0)
    t = (rand(4, 30, seed=15) > 0.6).float()
    assert_tensor(student.dice_loss(x, t, 3.0), dice_oracle(x, t, 3.0).float().reshape(()), atol=1e-6, case="dice")
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none").mean(1).sum() / 3.0
    assert_tensor(student.sigmoid_ce_loss(x, t, 3.0), ce, atol=1e-6, case="BCE: mean over points, sum / num_masks")
    for alpha, gamma in ((0.25, 2.0), (-1.0, 1.0), (0.5, 0.0)):
        fl = sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction="none").mean(1).sum() / 3.0
        assert_tensor(student.sigmoid_focal_loss(x, t, 3.0, alpha, gamma), fl, atol=1e-6,
                      case=f"focal alpha={alpha}, gamma={gamma}")


@pytest.mark.task("maskformer")
def test_mask_loss_gradients(student):
    x = randn(3, 10, seed=16, dtype=torch.float64)
    t = (rand(3, 10, seed=17) > 0.5).double()
    check_gradient(student, "dice_loss", [x, t, 2.0])
    check_gradient(student, "sigmoid_focal_loss", [x, t, 2.0])
    check_gradient(student, "sigmoid_ce_loss", [x, t, 2.0])


@pytest.mark.task("maskformer")
@pytest.mark.parametrize("num_masks", [None, 7.0])
def test_mask_losses_with_point_sampling(student, num_masks):
    pred = randn(3, 8, 8, seed=18, scale=2.0)
    target = rand(3, 16, 16, seed=19) > 0.5
    got = student.mask_losses(pred, target, 20, 123, num_masks)
    coords = torch.rand(3, 20, 2, generator=torch.Generator().manual_seed(123))
    grid = 2 * coords[:, :, None, :] - 1
    lg = F.grid_sample(pred[:, None], grid, align_corners=False)[:, 0, :, 0]
    lb = F.grid_sample(target[:, None].float(), grid, align_corners=False)[:, 0, :, 0]
    n = 3.0 if num_masks is None else num_masks
    ce = F.binary_cross_entropy_with_logits(lg, lb, reduction="none").mean(1).sum() / n
    assert sorted(got) == ["loss_dice", "loss_mask"]
    assert_tensor(got["loss_mask"], ce, atol=1e-6, case="loss_mask")
    assert_tensor(got["loss_dice"], dice_oracle(lg, lb, n).float().reshape(()), atol=1e-6, case="loss_dice")
