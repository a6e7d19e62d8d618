"""Hidden tests of mask_targets [mask_targets], maskrcnn_mask_loss [mask_loss] and paste_masks
[paste_masks].

Oracles: torchvision's ``project_masks_on_boxes``, ``maskrcnn_loss`` and ``paste_masks_in_image``
(torchvision.models.detection.roi_heads), a float64 loop of RoI Align written here, and
hand-computed cases (a full mask gives targets of 1 inside the image, a box half outside the
image gives the in/out fraction).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.detection.roi_heads import maskrcnn_loss, paste_masks_in_image, project_masks_on_boxes

from harness.testkit import assert_tensor, check_gradient, devices

F32 = dict(atol=2e-5, rtol=1e-5)
F64 = dict(atol=1e-10, rtol=1e-10)


def _gt_masks(g, h, w, seed):
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(g, 1, max(h // 4, 1), max(w // 4, 1), generator=gen)
    return F.interpolate(coarse, size=(h, w), mode="nearest")[:, 0] > 0.5  # [G, H, W] blobs


def _boxes(n, h, w, seed, dtype=torch.float32, outside=True):
    gen = torch.Generator().manual_seed(seed)
    lo = -4.0 if outside else 0.0
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * torch.tensor([w * 0.8, h * 0.8]) + lo
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * torch.tensor([w * 0.6, h * 0.6]) + 0.3
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


def _roi_align_loop(mask, box, m):
    """float64 RoI Align (aligned=False, adaptive sampling) of one [H, W] map, in pure Python."""
    h, w = len(mask), len(mask[0])
    x1, y1, x2, y2 = box
    rw, rh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    bw, bh = rw / m, rh / m
    gw, gh = math.ceil(rw / m), math.ceil(rh / m)

    def bilinear(y, x):
        if y < -1.0 or y > h or x < -1.0 or x > w:
            return 0.0
        y, x = max(y, 0.0), max(x, 0.0)
        y0, x0 = int(y), int(x)
        if y0 >= h - 1:
            y0 = y1_ = h - 1
            y = float(y0)
        else:
            y1_ = y0 + 1
        if x0 >= w - 1:
            x0 = x1_ = w - 1
            x = float(x0)
        else:
            x1_ = x0 + 1
        ly, lx = y - y0, x - x0
        return ((1 - ly) * (1 - lx) * mask[y0][x0] + (1 - ly) * lx * mask[y0][x1_]
                + ly * (1 - lx) * mask[y1_][x0] + ly * lx * mask[y1_][x1_])

    out = torch.zeros(m, m, dtype=torch.float64)
    for py in range(m):
        for px in range(m):
            acc = 0.0
            for iy in range(gh):
                for ix in range(gw):
                    acc += bilinear(y1 + py * bh + (iy + 0.5) * bh / gh, x1 + px * bw + (ix + 0.5) * bw / gw)
            out[py, px] = acc / (gh * gw)
    return out


# ================================================================ mask targets


@pytest.mark.task("mask_targets")
@pytest.mark.parametrize("m", [1, 7, 14, 28])
def test_mask_targets_match_torchvision(student, m):
    gt = _gt_masks(3, 30, 40, seed=1)
    boxes = _boxes(25, 30, 40, seed=2)
    idx = torch.randint(0, 3, (25,), generator=torch.Generator().manual_seed(3))
    expected = project_masks_on_boxes(gt, boxes, idx, m)
    got = student.mask_targets(gt, boxes, idx, m)
    assert_tensor(got, expected, **F32, case=f"25 boxes, M = {m}")


@pytest.mark.task("mask_targets")
def test_mask_targets_float64_match_a_loop(student):
    gt = _gt_masks(2, 12, 15, seed=4)
    boxes = _boxes(6, 12, 15, seed=5, dtype=torch.float64)
    idx = torch.tensor([0, 1, 1, 0, 1, 0])
    expected = torch.stack([_roi_align_loop(gt[i].double().tolist(), boxes[k].tolist(), 5)
                            for k, i in enumerate(idx.tolist())])
    got = student.mask_targets(gt, boxes, idx, 5)
    assert_tensor(got, expected, **F64, case="float64 boxes, M = 5, loop oracle")
    assert_tensor(got, project_masks_on_boxes(gt, boxes, idx, 5), **F64, case="float64 vs torchvision")


@pytest.mark.task("mask_targets")
@pytest.mark.parametrize("mask_dtype", [torch.bool, torch.uint8, torch.float32], ids=str)
def test_mask_targets_accept_mask_dtypes(student, mask_dtype):
    gt = _gt_masks(2, 20, 20, seed=6)
    boxes = _boxes(5, 20, 20, seed=7)
    idx = torch.tensor([1, 0, 1, 1, 0])
    got = student.mask_targets(gt.to(mask_dtype), boxes, idx, 8)
    assert_tensor(got, project_masks_on_boxes(gt, boxes, idx, 8), **F32, case=f"{mask_dtype} masks")


@pytest.mark.task("mask_targets")
def test_mask_targets_are_soft_not_thresholded(student):
    # a vertical edge through the middle of a box: targets of the edge column are fractional
    gt = torch.zeros(1, 10, 10, dtype=torch.bool)
    gt[0, :, :5] = True
    boxes = torch.tensor([[1.0, 1.0, 9.0, 9.0]])
    got = student.mask_targets(gt, boxes, torch.tensor([0]), 3)
    expected = project_masks_on_boxes(gt, boxes, torch.tensor([0]), 3)
    assert_tensor(got, expected, **F32, case="half-filled box")
    frac = got[(got > 0) & (got < 1)]
    assert frac.numel() > 0, "mask targets must be soft (bilinear averages), not thresholded to 0/1"


@pytest.mark.task("mask_targets")
def test_mask_targets_use_aligned_false(student):
    # aligned=False: no half-pixel shift; the sample positions differ from aligned=True
    gt = torch.zeros(1, 8, 8, dtype=torch.bool)
    gt[0, :, 4:] = True
    boxes = torch.tensor([[2.0, 2.0, 6.0, 6.0]])
    got = student.mask_targets(gt, boxes, torch.tensor([0]), 4)
    from torchvision.ops import roi_align

    aligned = roi_align(gt[:, None].float(), torch.tensor([[0.0, 2.0, 2.0, 6.0, 6.0]]), (4, 4), 1.0, -1, True)[:, 0]
    expected = project_masks_on_boxes(gt, boxes, torch.tensor([0]), 4)
    assert not torch.allclose(aligned, expected)
    assert_tensor(got, expected, **F32, case="aligned=False")


@pytest.mark.task("mask_targets")
def test_mask_targets_full_mask_and_box_half_outside(student):
    gt = torch.ones(1, 10, 10, dtype=torch.bool)
    boxes = torch.tensor([[2.0, 2.0, 8.0, 8.0], [-10.0, 0.0, 10.0, 10.0], [0.0, 0.0, 0.5, 0.5]])
    got = student.mask_targets(gt, boxes, torch.zeros(3, dtype=torch.int64), 4)
    assert_tensor(got[0], torch.ones(4, 4), **F32, case="box inside a full mask")
    assert_tensor(got, project_masks_on_boxes(gt, boxes, torch.zeros(3, dtype=torch.int64), 4), **F32,
                  case="boxes outside / tiny")
    # the left half of the wide box lies beyond x = -1: its samples read 0
    assert float(got[1, :, 0].max()) == 0.0 and float(got[1, :, -1].min()) > 0.999


@pytest.mark.task("mask_targets")
def test_mask_targets_empty(student):
    gt = _gt_masks(2, 10, 10, seed=8)
    got = student.mask_targets(gt, torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), 7)
    assert_tensor(got, torch.zeros(0, 7, 7), case="no boxes")
    got = student.mask_targets(torch.zeros(0, 10, 10, dtype=torch.bool), torch.zeros(0, 4, dtype=torch.float64),
                               torch.zeros(0, dtype=torch.int64), 3)
    assert_tensor(got, torch.zeros(0, 3, 3, dtype=torch.float64), case="no ground truth, no boxes")


@pytest.mark.task("mask_targets")
@pytest.mark.parametrize("device", devices())
def test_mask_targets_on_device(student, device):
    gt = _gt_masks(2, 16, 16, seed=9)
    boxes = _boxes(6, 16, 16, seed=10)
    idx = torch.tensor([0, 1, 0, 1, 0, 1])
    expected = project_masks_on_boxes(gt, boxes, idx, 6).to(device)
    got = student.mask_targets(gt.to(device), boxes.to(device), idx.to(device), 6)
    assert_tensor(got, expected, **F32, case=device)


@pytest.mark.task("mask_targets")
def test_mask_targets_reject_bad_inputs(student):
    gt = _gt_masks(2, 10, 10, seed=11)
    with pytest.raises(ValueError, match="mask_size"):
        student.mask_targets(gt, torch.zeros(1, 4), torch.zeros(1, dtype=torch.int64), 0)
    with pytest.raises(ValueError, match="matched_idxs"):
        student.mask_targets(gt, torch.zeros(1, 4), torch.tensor([2]), 4)
    with pytest.raises(ValueError, match="boxes"):
        student.mask_targets(gt, torch.zeros(1, 5), torch.zeros(1, dtype=torch.int64), 4)
    with pytest.raises(TypeError, match="matched_idxs"):
        student.mask_targets(gt, torch.zeros(1, 4), torch.zeros(1), 4)


# ================================================================ mask loss


def _loss_inputs(seed, num_images=2, classes=5, m=14, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    proposals, gt_masks, gt_labels, idxs = [], [], [], []
    for i in range(num_images):
        g, p = 2 + i, 4 + 3 * i
        gt_masks.append(_gt_masks(g, 24, 28, seed=seed * 10 + i))
        proposals.append(_boxes(p, 24, 28, seed=seed * 10 + i + 5, dtype=dtype))
        gt_labels.append(torch.randint(1, classes, (g,), generator=gen))
        idxs.append(torch.randint(0, g, (p,), generator=gen))
    total = sum(p.shape[0] for p in proposals)
    logits = torch.randn(total, classes, m, m, generator=gen, dtype=dtype) * 2
    return logits, proposals, gt_masks, gt_labels, idxs


@pytest.mark.task("mask_loss")
@pytest.mark.parametrize("m", [7, 14])
def test_mask_loss_matches_torchvision(student, m):
    args = _loss_inputs(1, m=m)
    assert_tensor(student.maskrcnn_mask_loss(*args), maskrcnn_loss(*args), atol=1e-6, rtol=1e-5, case=f"M = {m}")


@pytest.mark.task("mask_loss")
def test_mask_loss_uses_only_the_ground_truth_channel(student):
    logits, proposals, gt_masks, gt_labels, idxs = _loss_inputs(2)
    base = student.maskrcnn_mask_loss(logits, proposals, gt_masks, gt_labels, idxs)
    labels = torch.cat([lab[i] for lab, i in zip(gt_labels, idxs)])
    other = logits.clone()
    keep = torch.zeros_like(other, dtype=torch.bool)
    keep[torch.arange(labels.numel()), labels] = True
    other[~keep] = 100.0  # every other channel changed: the loss must not move
    assert_tensor(student.maskrcnn_mask_loss(other, proposals, gt_masks, gt_labels, idxs), base, atol=1e-6,
                  case="other channels changed")


@pytest.mark.task("mask_loss")
def test_mask_loss_in_float64_and_gradient(student):
    args = _loss_inputs(3, num_images=1, m=5, dtype=torch.float64)
    assert_tensor(student.maskrcnn_mask_loss(*args), maskrcnn_loss(*args), **F64, case="float64")
    check_gradient(student, "maskrcnn_mask_loss", list(args), wrt=(0,))


@pytest.mark.task("mask_loss")
def test_mask_loss_with_no_proposals(student):
    logits = torch.zeros(0, 3, 7, 7, requires_grad=False)
    got = student.maskrcnn_mask_loss(logits, [torch.zeros(0, 4)], [_gt_masks(1, 8, 8, seed=1)],
                                     [torch.tensor([1])], [torch.zeros(0, dtype=torch.int64)])
    assert_tensor(got, torch.tensor(0.0), case="no proposals: a zero, not nan")


@pytest.mark.task("mask_loss")
def test_mask_loss_one_image_without_proposals(student):
    logits, proposals, gt_masks, gt_labels, idxs = _loss_inputs(4)
    proposals[0], idxs[0] = proposals[0][:0], idxs[0][:0]
    logits = logits[-proposals[1].shape[0]:]
    args = (logits, proposals, gt_masks, gt_labels, idxs)
    assert_tensor(student.maskrcnn_mask_loss(*args), maskrcnn_loss(*args), atol=1e-6, rtol=1e-5,
                  case="first image has no proposals")


@pytest.mark.task("mask_loss")
def test_mask_loss_rejects_mismatched_lists(student):
    logits, proposals, gt_masks, gt_labels, idxs = _loss_inputs(5)
    with pytest.raises(ValueError, match="proposals|gt_masks|gt_labels|matched_idxs|one entry per image"):
        student.maskrcnn_mask_loss(logits, proposals, gt_masks[:1], gt_labels, idxs)
    with pytest.raises(ValueError, match="mask_logits"):
        student.maskrcnn_mask_loss(logits[1:], proposals, gt_masks, gt_labels, idxs)


# ================================================================ paste masks


def _paste_inputs(n, h, w, m, seed, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    masks = torch.rand(n, m, m, generator=gen, dtype=dtype)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * torch.tensor([w - 2.0, h - 2.0])
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * torch.tensor([w * 0.7, h * 0.7]) + 0.2
    boxes = torch.cat([xy, xy + wh], dim=1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w - 1)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h - 1)
    return masks, boxes.to(dtype)


@pytest.mark.task("paste_masks")
@pytest.mark.parametrize("padding", [0, 1, 3])
@pytest.mark.parametrize("m", [7, 28])
def test_paste_masks_match_torchvision(student, padding, m):
    masks, boxes = _paste_inputs(12, 40, 50, m, seed=padding + m)
    expected = paste_masks_in_image(masks[:, None], boxes, (40, 50), padding)[:, 0]
    assert_tensor(student.paste_masks(masks, boxes, (40, 50), padding), expected, atol=1e-6,
                  case=f"M = {m}, padding {padding}")


@pytest.mark.task("paste_masks")
def test_paste_masks_default_padding_is_one(student):
    masks, boxes = _paste_inputs(5, 30, 30, 14, seed=11)
    expected = paste_masks_in_image(masks[:, None], boxes, (30, 30), 1)[:, 0]
    assert_tensor(student.paste_masks(masks, boxes, (30, 30)), expected, atol=1e-6, case="default padding")


@pytest.mark.task("paste_masks")
def test_paste_masks_float64_and_boxes_on_the_border(student):
    masks, boxes = _paste_inputs(6, 20, 24, 10, seed=12, dtype=torch.float64)
    boxes[0] = torch.tensor([0.0, 0.0, 23.0, 19.0], dtype=torch.float64)  # expands beyond the image
    boxes[1] = torch.tensor([20.3, 15.7, 23.0, 19.0], dtype=torch.float64)
    boxes[2] = torch.tensor([5.0, 5.0, 5.0, 5.0], dtype=torch.float64)  # degenerate
    expected = paste_masks_in_image(masks[:, None], boxes, (20, 24), 1)[:, 0]
    assert_tensor(student.paste_masks(masks, boxes, (20, 24)), expected, **F64, case="float64, border boxes")


@pytest.mark.task("paste_masks")
def test_paste_masks_constant_mask_fills_its_box(student):
    masks = torch.ones(1, 8, 8)
    boxes = torch.tensor([[4.0, 6.0, 20.0, 14.0]])
    got = student.paste_masks(masks, boxes, (24, 30), 0)
    expected = torch.zeros(1, 24, 30)
    expected[0, 6:15, 4:21] = 1.0  # integer box, x2 and y2 included
    assert_tensor(got, expected, atol=1e-6, case="ones, padding 0")


@pytest.mark.task("paste_masks")
def test_paste_masks_empty(student):
    got = student.paste_masks(torch.zeros(0, 28, 28), torch.zeros(0, 4), (13, 17))
    assert_tensor(got, torch.zeros(0, 13, 17), case="no masks")


@pytest.mark.task("paste_masks")
@pytest.mark.parametrize("device", devices())
def test_paste_masks_on_device(student, device):
    masks, boxes = _paste_inputs(4, 20, 20, 7, seed=13)
    expected = paste_masks_in_image(masks[:, None], boxes, (20, 20), 1)[:, 0].to(device)
    assert_tensor(student.paste_masks(masks.to(device), boxes.to(device), (20, 20)), expected, atol=1e-6, case=device)


@pytest.mark.task("paste_masks")
def test_paste_masks_reject_bad_inputs(student):
    masks, boxes = _paste_inputs(2, 10, 10, 5, seed=14)
    with pytest.raises(ValueError, match="padding"):
        student.paste_masks(masks, boxes, (10, 10), -1)
    with pytest.raises(ValueError, match="image_size"):
        student.paste_masks(masks, boxes, (10, 0))
    with pytest.raises(ValueError, match="boxes"):
        student.paste_masks(masks, boxes[:1], (10, 10))


@pytest.mark.task("paste_masks")
def test_paste_masks_into_a_one_row_image(student):
    masks = torch.rand(2, 5, 5, generator=torch.Generator().manual_seed(15))
    boxes = torch.tensor([[0.0, 0.0, 3.0, 0.0], [2.0, 0.0, 6.0, 0.0]])
    expected = paste_masks_in_image(masks[:, None], boxes, (1, 7), 1)[:, 0]
    assert_tensor(student.paste_masks(masks, boxes, (1, 7)), expected, atol=1e-6, case="image of 1 x 7")


@pytest.mark.task("mask_loss")
def test_mask_loss_rejects_bad_logits(student):
    _, proposals, gt_masks, gt_labels, idxs = _loss_inputs(6)
    total = sum(p.shape[0] for p in proposals)
    with pytest.raises(ValueError, match="mask_logits"):
        student.maskrcnn_mask_loss(torch.zeros(total, 14, 14), proposals, gt_masks, gt_labels, idxs)
    with pytest.raises(TypeError, match="mask_logits"):
        student.maskrcnn_mask_loss(torch.zeros(total, 5, 14, 14, dtype=torch.int64), proposals, gt_masks, gt_labels,
                                   idxs)


@pytest.mark.task("mask_targets")
def test_mask_targets_pixel_noise_masks_at_the_border(student):
    # per-pixel random masks: the last rows and columns differ, so the border rule matters
    gen = torch.Generator().manual_seed(16)
    gt = torch.rand(2, 9, 11, generator=gen) > 0.5
    boxes = torch.tensor([[5.3, 4.2, 12.0, 10.5], [-0.7, 6.1, 10.6, 9.4], [7.5, 7.5, 10.2, 8.9], [0.0, 0.0, 11.0, 9.0]])
    idx = torch.tensor([0, 1, 0, 1])
    for m in (3, 7):
        assert_tensor(student.mask_targets(gt, boxes, idx, m), project_masks_on_boxes(gt, boxes, idx, m), **F32,
                      case=f"noise masks, boxes at the border, M = {m}")
    with pytest.raises(ValueError, match="matched_idxs|boxes"):  # N disagrees: either may be named
        student.mask_targets(gt, boxes, idx[:3], 3)
