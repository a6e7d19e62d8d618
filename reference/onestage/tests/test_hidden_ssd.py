"""Hidden tests of SSD [ssd].

Oracles: torchvision's SSD internals, on the trusted side: ``DefaultBoxGenerator`` (its scales
and ``_grid_default_boxes``, normalised ``(cx, cy, w, h)``), ``SSDMatcher`` on
``box_iou``, ``BoxCoder(weights=(10, 10, 5, 5))`` (= 1 / variances), and ``SSD.compute_loss``
called on a stand-in (its hard negative mining and normalisation); float64 loops written here
where torchvision's conventions differ (the negatives cap, conflicts of best priors).
"""

import math
from types import SimpleNamespace

import pytest
import torch
from torchvision.models.detection._utils import BoxCoder, SSDMatcher
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssd import SSD
from torchvision.ops import box_convert, box_iou

from harness.testkit import assert_tensor, check_gradient, devices

SSD300_SIZES = [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]
SSD300_RATIOS = [[2], [2, 3], [2, 3], [2, 3], [2], [2]]


def gen(seed):
    return torch.Generator().manual_seed(seed)


def random_boxes(m, seed, dtype=torch.float64, lo=0.08, hi=0.7):
    g = gen(seed)
    c = 0.05 + 0.9 * torch.rand(m, 2, generator=g, dtype=torch.float64)
    wh = lo + (hi - lo) * torch.rand(m, 2, generator=g, dtype=torch.float64)
    return torch.cat([c - wh / 2, c + wh / 2], 1).clamp(0.001, 0.999).to(dtype)


def small_priors(dtype=torch.float64):
    gen_ = DefaultBoxGenerator([[2], [2, 3], [2]], min_ratio=0.2, max_ratio=0.9)
    return gen_._grid_default_boxes([[6, 6], [3, 3], [1, 1]], [300, 300], dtype=dtype)


# ------------------------------------------------------------------------------ default boxes
@pytest.mark.task("ssd")
@pytest.mark.parametrize("m, s_min, s_max", [(6, 0.2, 0.9), (1, 0.2, 0.9), (2, 0.1, 0.95), (4, 0.15, 0.9),
                                             (3, 0.5, 0.5)])
def test_scales_match_torchvision(student, m, s_min, s_max):
    expected = DefaultBoxGenerator([[2]] * m, min_ratio=s_min, max_ratio=s_max).scales
    got = student.ssd_scales(m, s_min, s_max)
    assert type(got) is list and len(got) == len(expected), f"expected {len(expected)} scales, got {got!r}"
    for k, (a, b) in enumerate(zip(got, expected)):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"scale {k}: expected {b}, got {a}"
    assert student.ssd_scales(m) == pytest.approx(DefaultBoxGenerator([[2]] * m, 0.2, 0.9).scales, abs=1e-12), \
        "defaults s_min=0.2, s_max=0.9"


@pytest.mark.task("ssd")
@pytest.mark.parametrize("bad", [(0, 0.2, 0.9), (3, 0.0, 0.9), (3, 0.5, 0.4), (3, 0.2, 1.2)])
def test_scales_reject_bad_arguments(student, bad):
    with pytest.raises(ValueError, match="num_maps" if bad[0] < 1 else "s_min|s_max"):
        student.ssd_scales(*bad)


@pytest.mark.task("ssd")
@pytest.mark.parametrize("sizes, ratios, s_min, s_max, clip", [
    (SSD300_SIZES, SSD300_RATIOS, 0.2, 0.9, True),
    ([(4, 6), (2, 3)], [[2, 3], [3]], 0.3, 0.95, True),
    ([(4, 6), (2, 3)], [[2, 3], [3]], 0.3, 0.95, False),
    ([(5, 5)], [[2]], 0.4, 0.8, True),
    ([(3, 2), (2, 2), (1, 1)], [[], [2], [2, 3]], 0.2, 0.9, False),
])
def test_default_boxes_match_torchvision(student, sizes, ratios, s_min, s_max, clip):
    oracle = DefaultBoxGenerator(ratios, min_ratio=s_min, max_ratio=s_max, clip=clip)
    expected = oracle._grid_default_boxes([list(s) for s in sizes], [300, 300], dtype=torch.float64)
    got = student.default_boxes(sizes, ratios, s_min, s_max, clip=clip, dtype=torch.float64)
    # torchvision computes the centres in float32 even for float64 output
    assert_tensor(got, expected, atol=1e-7, case=f"maps {sizes}, ratios {ratios}, clip={clip}")


@pytest.mark.task("ssd")
def test_default_boxes_ssd300_count_and_dtype(student):
    got = student.default_boxes(SSD300_SIZES, SSD300_RATIOS)
    assert type(got) is torch.Tensor and got.dtype == torch.float32 and tuple(got.shape) == (8732, 4), \
        f"SSD300 has 8732 default boxes [8732, 4] float32, got {got.dtype} {list(got.shape)}"
    expected = DefaultBoxGenerator(SSD300_RATIOS, 0.2, 0.9)._grid_default_boxes(
        [list(s) for s in SSD300_SIZES], [300, 300], dtype=torch.float32)
    assert_tensor(got, expected, atol=1e-6, case="float32")


@pytest.mark.task("ssd")
def test_default_boxes_first_position_is_pinned(student):
    got = student.default_boxes([(2, 2)], [[2]], 0.2, 0.9, dtype=torch.float64)
    s, sp, q = 0.2, math.sqrt(0.2 * 0.9), math.sqrt(2)
    expected = torch.tensor([[0.25, 0.25, s, s], [0.25, 0.25, sp, sp], [0.25, 0.25, s * q, s / q],
                             [0.25, 0.25, s / q, s * q], [0.75, 0.25, s, s]], dtype=torch.float64)
    assert_tensor(got[:5], expected, atol=1e-12,
                  case="position-major (x moves first along a row), boxes (s, s), (s', s'), "
                       "(s sqrt r, s / sqrt r), ...")


@pytest.mark.task("ssd")
def test_default_boxes_reject_bad_arguments(student):
    with pytest.raises(ValueError, match="feature_sizes|aspect_ratios"):  # the two lists disagree
        student.default_boxes([(2, 2)], [[2], [2]])
    with pytest.raises(ValueError, match="feature_sizes|aspect_ratios"):  # both empty
        student.default_boxes([], [])
    with pytest.raises(ValueError, match="feature_sizes"):
        student.default_boxes([(0, 2)], [[2]])


@pytest.mark.task("ssd")
def test_cxcywh_to_xyxy(student):
    b = random_boxes(7, seed=1)
    cxcywh = box_convert(b, "xyxy", "cxcywh")
    assert_tensor(student.cxcywh_to_xyxy(cxcywh), b, atol=1e-12, case="against torchvision.ops.box_convert")
    assert_tensor(student.cxcywh_to_xyxy(cxcywh.float().view(7, 1, 4)), b.float().view(7, 1, 4), atol=1e-6,
                  case="[..., 4], float32")


# ------------------------------------------------------------------------------ matching
def torchvision_match(gt, priors, threshold):
    return SSDMatcher(threshold)(box_iou(gt, box_convert(priors, "cxcywh", "xyxy")))


@pytest.mark.task("ssd")
@pytest.mark.parametrize("seed, m, threshold", [(0, 3, 0.5), (1, 8, 0.5), (2, 5, 0.3), (3, 1, 0.7)])
def test_match_matches_torchvision(student, seed, m, threshold):
    priors = small_priors()
    while True:  # test data where no two ground truths share a best prior (torchvision leaves it open)
        gt = random_boxes(m, seed=seed)
        best = box_iou(gt, box_convert(priors, "cxcywh", "xyxy")).argmax(dim=1)
        if len(set(best.tolist())) == m:
            break
        seed += 100
    expected = torchvision_match(gt, priors, threshold)
    assert_tensor(student.ssd_match(gt, priors, threshold), expected, case=f"{m} ground truths, threshold {threshold}")


@pytest.mark.task("ssd")
def test_match_threshold_is_inclusive_and_best_prior_is_forced(student):
    priors = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.25], [0.125, 0.125, 0.125, 0.125],
                           [0.875, 0.875, 0.0625, 0.0625]], dtype=torch.float64)
    gt = torch.tensor([[0.25, 0.25, 0.75, 0.75], [0.8, 0.8, 0.98, 0.98]], dtype=torch.float64)
    # IoU(gt0, prior1) = 0.5 exactly: matched (>= threshold); gt1's best prior (IoU 0.12) is forced
    got = student.ssd_match(gt, priors, 0.5)
    assert_tensor(got, torch.tensor([0, 0, -1, 1]), case="IoU == threshold matches; every gt gets its best prior")


@pytest.mark.task("ssd")
def test_match_conflict_later_ground_truth_wins(student):
    priors = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.1, 0.1, 0.05, 0.05], [0.9, 0.1, 0.05, 0.05]],
                          dtype=torch.float64)
    gt = torch.tensor([[0.38, 0.38, 0.58, 0.58], [0.42, 0.42, 0.62, 0.62]], dtype=torch.float64)
    # both have prior 0 as their best; the second ground truth keeps it
    assert_tensor(student.ssd_match(gt, priors, 0.5), torch.tensor([1, -1, -1]),
                  case="two ground truths with the same best prior: the later one keeps it")
    assert_tensor(student.ssd_match(gt.flip(0), priors, 0.5), torch.tensor([1, -1, -1]),
                  case="reversed order")
    # the best prior per gt is forced even below the threshold, and above-threshold priors
    # keep their own best ground truth
    gt2 = torch.tensor([[0.4, 0.4, 0.6, 0.6], [0.0, 0.0, 0.3, 0.3]], dtype=torch.float64)
    assert_tensor(student.ssd_match(gt2, priors, 0.5), torch.tensor([0, 1, -1]), case="forced low-IoU match")


@pytest.mark.task("ssd")
def test_match_empty_and_errors(student):
    priors = small_priors()
    got = student.ssd_match(torch.zeros(0, 4, dtype=torch.float64), priors)
    assert_tensor(got, torch.full((priors.shape[0],), -1, dtype=torch.int64), case="no ground truth: all -1")
    got = student.ssd_match(random_boxes(2, seed=4), torch.zeros(0, 4, dtype=torch.float64))
    assert_tensor(got, torch.zeros(0, dtype=torch.int64), case="no priors")
    with pytest.raises(ValueError, match="threshold"):
        student.ssd_match(random_boxes(2, seed=4), priors, 1.5)
    with pytest.raises(ValueError, match="gt_boxes"):
        student.ssd_match(torch.zeros(2, 5), priors)
    with pytest.raises(ValueError, match="priors"):
        student.ssd_match(torch.zeros(2, 4), torch.zeros(3, 3))


@pytest.mark.task("ssd")
def test_match_float32_priors(student):
    priors = small_priors(torch.float32)
    gt = random_boxes(4, seed=5, dtype=torch.float32)
    assert_tensor(student.ssd_match(gt, priors), torchvision_match(gt, priors, 0.5), case="float32")


# ------------------------------------------------------------------------------ coding
@pytest.mark.task("ssd")
@pytest.mark.parametrize("variances", [(0.1, 0.2), (0.2, 0.5), (1.0, 1.0)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_encode_matches_boxcoder(student, variances, dtype):
    priors = small_priors(dtype)[:40]
    boxes = random_boxes(40, seed=6, dtype=dtype)
    coder = BoxCoder(weights=(1 / variances[0], 1 / variances[0], 1 / variances[1], 1 / variances[1]))
    expected = coder.encode_single(boxes, box_convert(priors, "cxcywh", "xyxy"))
    got = student.ssd_encode(boxes, priors, variances)
    assert_tensor(got, expected, atol=1e-4 if dtype == torch.float32 else 1e-10, rtol=1e-4,
                  case=f"variances {variances}")


@pytest.mark.task("ssd")
def test_encode_default_variances(student):
    priors = torch.tensor([[0.5, 0.5, 0.2, 0.4]], dtype=torch.float64)
    boxes = torch.tensor([[0.42, 0.3, 0.62, 0.9]], dtype=torch.float64)  # centre (0.52, 0.6), size 0.2 x 0.6
    expected = torch.tensor([[0.02 / 0.2 / 0.1, 0.1 / 0.4 / 0.1, 0.0, math.log(1.5) / 0.2]], dtype=torch.float64)
    assert_tensor(student.ssd_encode(boxes, priors), expected, atol=1e-12, case="variances (0.1, 0.2) by default")


@pytest.mark.task("ssd")
@pytest.mark.parametrize("variances", [(0.1, 0.2), (0.25, 0.5)])
def test_decode_matches_boxcoder_and_inverts_encode(student, variances):
    priors = small_priors()[:30]
    codes = torch.randn(30, 4, generator=gen(7), dtype=torch.float64)
    coder = BoxCoder(weights=(1 / variances[0], 1 / variances[0], 1 / variances[1], 1 / variances[1]))
    expected = coder.decode_single(codes, box_convert(priors, "cxcywh", "xyxy"))
    got = student.ssd_decode(codes, priors, variances)
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10, case=f"decode, variances {variances}")
    boxes = random_boxes(30, seed=8)
    back = student.ssd_decode(student.ssd_encode(boxes, priors, variances), priors, variances)
    assert_tensor(back, boxes, atol=1e-12, case="decode(encode(b)) == b")
    big = torch.tensor([[0.0, 0.0, 25.0, 25.0]], dtype=torch.float64)  # no clamping of the sizes
    expected = priors[:1, 2:] * math.exp(25.0 * variances[1])
    got = student.ssd_decode(big, priors[:1], variances)
    assert_tensor(got[:, 2:] - got[:, :2], expected, rtol=1e-10, case="large dw, dh are not clamped")


@pytest.mark.task("ssd")
def test_coding_gradients(student):
    priors = small_priors()[:6]
    check_gradient(student, "ssd_decode", [torch.randn(6, 4, generator=gen(9), dtype=torch.float64) * 0.5, priors],
                   wrt=(0,))
    check_gradient(student, "ssd_encode", [random_boxes(6, seed=10), priors], wrt=(0,))


@pytest.mark.task("ssd")
def test_coding_rejects_bad_arguments(student):
    priors = small_priors()[:3]
    with pytest.raises(ValueError, match="variances"):
        student.ssd_encode(random_boxes(3, seed=1), priors, (0.1, 0.0))
    with pytest.raises(ValueError, match="variances"):
        student.ssd_decode(torch.zeros(3, 4, dtype=torch.float64), priors, (0.1,))
    # 2 rows against 3 priors: either argument of the disagreement may be named
    with pytest.raises(ValueError, match="boxes|priors"):
        student.ssd_encode(random_boxes(2, seed=1), priors)
    with pytest.raises(ValueError, match="codes|priors"):
        student.ssd_decode(torch.zeros(2, 4, dtype=torch.float64), priors)


# ------------------------------------------------------------------------------ mining
def torchvision_mining(loss, positives, ratio):
    num_negative = ratio * positives.sum(1, keepdim=True)
    negative_loss = loss.clone()
    negative_loss[positives] = -float("inf")
    _, idx = negative_loss.sort(1, descending=True)
    return idx.sort(1)[1] < num_negative


@pytest.mark.task("ssd")
@pytest.mark.parametrize("ratio", [3, 1, 2, 0])
def test_mining_matches_torchvision(student, ratio):
    n, p = 4, 60
    loss = torch.rand(n, p, generator=gen(11), dtype=torch.float64)
    positives = torch.rand(n, p, generator=gen(12)) < torch.tensor([[0.1], [0.0], [0.05], [0.2]])
    got = student.hard_negative_mining(loss, positives, ratio)
    assert_tensor(got, torchvision_mining(loss, positives, ratio), case=f"neg_pos_ratio={ratio}")


@pytest.mark.task("ssd")
def test_mining_default_ratio_and_float32(student):
    loss = torch.rand(2, 40, generator=gen(13))
    positives = torch.zeros(2, 40, dtype=torch.bool)
    positives[0, [3, 7, 11]] = True
    positives[1, 5] = True
    got = student.hard_negative_mining(loss, positives)
    expected = torchvision_mining(loss, positives, 3)
    assert_tensor(got, expected, case="neg_pos_ratio=3 by default")
    assert [int(x) for x in got.sum(1)] == [9, 3], "3 negatives per positive"


@pytest.mark.task("ssd")
def test_mining_caps_at_the_available_negatives(student):
    loss = torch.tensor([[0.9, 0.1, 0.5, 0.3, 0.7, 0.2]], dtype=torch.float64)
    positives = torch.tensor([[True, False, True, False, False, False]])
    got = student.hard_negative_mining(loss, positives, 3)
    assert_tensor(got, torch.tensor([[False, True, False, True, True, True]]),
                  case="6 wanted, 4 available: every non-positive, never a positive")
    got = student.hard_negative_mining(loss, positives, 1)
    assert_tensor(got, torch.tensor([[False, False, False, True, True, False]]), case="the two hardest negatives")


@pytest.mark.task("ssd")
def test_mining_without_positives_and_errors(student):
    loss = torch.rand(3, 10, generator=gen(14))
    got = student.hard_negative_mining(loss, torch.zeros(3, 10, dtype=torch.bool))
    assert_tensor(got, torch.zeros(3, 10, dtype=torch.bool), case="no positives: no negatives")
    got = student.hard_negative_mining(torch.zeros(0, 10), torch.zeros(0, 10, dtype=torch.bool))
    assert_tensor(got, torch.zeros(0, 10, dtype=torch.bool), case="empty batch")
    with pytest.raises((ValueError, TypeError), match="positives"):  # a dtype: TypeError is as good
        student.hard_negative_mining(loss, torch.zeros(3, 10))
    with pytest.raises(ValueError, match="positives"):
        student.hard_negative_mining(loss, torch.zeros(3, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match="neg_pos_ratio"):
        student.hard_negative_mining(loss, torch.zeros(3, 10, dtype=torch.bool), -1)


# ------------------------------------------------------------------------------ multibox loss
def loss_inputs(seed, n=3, k=4, counts=(3, 2, 4), dtype=torch.float64):
    priors = small_priors(dtype)
    p = priors.shape[0]
    g = gen(seed)
    loc = (torch.randn(n, p, 4, generator=g, dtype=torch.float64) * 0.5).to(dtype)
    conf = torch.randn(n, p, k + 1, generator=g, dtype=torch.float64).to(dtype)
    boxes, labels = [], []
    for i in range(n):
        while True:  # data without shared best priors (torchvision's tie rule is unspecified)
            b = random_boxes(counts[i], seed=seed * 100 + i + 1000 * len(boxes), dtype=dtype)
            best = box_iou(b, box_convert(priors, "cxcywh", "xyxy")).argmax(dim=1)
            if len(set(best.tolist())) == counts[i]:
                break
            seed += 1
        boxes.append(b)
        labels.append(torch.randint(1, k + 1, (counts[i],), generator=g))
    return loc, conf, boxes, labels, priors


def torchvision_loss(loc, conf, boxes, labels, priors, threshold=0.5, ratio=3, variances=(0.1, 0.2)):
    xyxy = box_convert(priors, "cxcywh", "xyxy")
    stand_in = SimpleNamespace(box_coder=BoxCoder(weights=(1 / variances[0], 1 / variances[0], 1 / variances[1],
                                                          1 / variances[1])),
                               neg_to_pos_ratio=ratio)
    matched = [SSDMatcher(threshold)(box_iou(b, xyxy)) if b.numel() else torch.full((priors.shape[0],), -1)
               for b in boxes]
    targets = [{"boxes": b, "labels": lab} for b, lab in zip(boxes, labels)]
    out = SSD.compute_loss(stand_in, targets, {"bbox_regression": loc, "cls_logits": conf},
                           [xyxy] * loc.shape[0], matched)
    return torch.stack([out["bbox_regression"], out["classification"]])


@pytest.mark.task("ssd")
@pytest.mark.parametrize("seed", [0, 1])
def test_multibox_loss_matches_torchvision(student, seed):
    loc, conf, boxes, labels, priors = loss_inputs(seed=20 + seed)
    expected = torchvision_loss(loc, conf, boxes, labels, priors)
    got = student.multibox_loss(loc, conf, boxes, labels, priors)
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10, case="(loc, conf), normalised by the positives")


@pytest.mark.task("ssd")
def test_multibox_loss_parameters(student):
    loc, conf, boxes, labels, priors = loss_inputs(seed=22, counts=(2, 1, 2))
    expected = torchvision_loss(loc, conf, boxes, labels, priors, threshold=0.35, ratio=2, variances=(0.2, 0.4))
    got = student.multibox_loss(loc, conf, boxes, labels, priors, threshold=0.35, neg_pos_ratio=2,
                                variances=(0.2, 0.4))
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10, case="threshold 0.35, ratio 2, variances (0.2, 0.4)")


@pytest.mark.task("ssd")
def test_multibox_loss_with_an_empty_image_and_float32(student):
    loc, conf, boxes, labels, priors = loss_inputs(seed=23, counts=(3, 0, 2))
    expected = torchvision_loss(loc, conf, boxes, labels, priors)
    got = student.multibox_loss(loc, conf, boxes, labels, priors)
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10, case="an image without objects takes no negatives")
    got = student.multibox_loss(loc.float(), conf.float(), [b.float() for b in boxes], labels, priors.float())
    assert_tensor(got, expected.float(), atol=1e-4, rtol=1e-4, case="float32")


@pytest.mark.task("ssd")
def test_multibox_loss_without_positives_is_zero(student):
    loc, conf, _, _, priors = loss_inputs(seed=24, n=2, counts=(1, 1))
    empty = [torch.zeros(0, 4, dtype=torch.float64)] * 2
    nolab = [torch.zeros(0, dtype=torch.int64)] * 2
    got = student.multibox_loss(loc, conf, empty, nolab, priors)
    assert_tensor(got, torch.zeros(2, dtype=torch.float64), case="N = 0: both losses are 0")
    _, grads = student.vjp("multibox_loss", [loc, conf, empty, nolab, priors], wrt=(0, 1),
                           grad_outputs=torch.ones(2, dtype=torch.float64))
    for g, name in zip(grads, ("loc_pred", "conf_pred")):
        assert g is None or (type(g) is torch.Tensor and bool((g == 0).all())), f"N = 0: zero gradient to {name}"


@pytest.mark.task("ssd")
def test_multibox_loss_gradients_match_torchvision(student):
    loc, conf, boxes, labels, priors = loss_inputs(seed=25, n=2, counts=(3, 2))
    v = torch.tensor([1.3, 0.7], dtype=torch.float64)
    _, grads = student.vjp("multibox_loss", [loc, conf, boxes, labels, priors], wrt=(0, 1), grad_outputs=v)
    lr, cr = loc.clone().requires_grad_(True), conf.clone().requires_grad_(True)
    el, ec = torch.autograd.grad((torchvision_loss(lr, cr, boxes, labels, priors) * v).sum(), (lr, cr))
    assert_tensor(grads[0], el, atol=1e-10, case="d / d loc_pred")
    assert_tensor(grads[1], ec, atol=1e-10, case="d / d conf_pred")


@pytest.mark.task("ssd")
@pytest.mark.parametrize("device", devices())
def test_multibox_loss_on_device(student, device):
    loc, conf, boxes, labels, priors = loss_inputs(seed=26, n=2, counts=(2, 3))
    expected = torchvision_loss(loc, conf, boxes, labels, priors)
    got = student.multibox_loss(loc.to(device), conf.to(device), [b.to(device) for b in boxes],
                                [lab.to(device) for lab in labels], priors.to(device))
    assert_tensor(got, expected.to(device), atol=1e-10, rtol=1e-10, case=f"on {device}")


@pytest.mark.task("ssd")
def test_multibox_loss_rejects_bad_arguments(student):
    loc, conf, boxes, labels, priors = loss_inputs(seed=27, n=2, counts=(1, 1))
    with pytest.raises(ValueError, match="gt_labels"):
        student.multibox_loss(loc, conf, boxes, [torch.tensor([0]), labels[1]], priors)
    with pytest.raises(ValueError, match="gt_labels"):
        student.multibox_loss(loc, conf, boxes, [torch.tensor([5]), labels[1]], priors)
    with pytest.raises((ValueError, TypeError), match="gt_labels"):  # a dtype: the README's TypeError too
        student.multibox_loss(loc, conf, boxes, [torch.tensor([1.0]), labels[1]], priors)
    with pytest.raises(ValueError, match="gt_boxes|gt_labels"):
        student.multibox_loss(loc, conf, boxes[:1], labels[:1], priors)
    with pytest.raises(ValueError, match="loc_pred|conf_pred|priors"):  # P disagrees
        student.multibox_loss(loc[:, :-1], conf, boxes, labels, priors)
    # K + 1 = 1 column: no class, so conf_pred is too narrow or every label is outside 1 .. K
    with pytest.raises(ValueError, match="conf_pred|gt_labels"):
        student.multibox_loss(loc, conf[..., :1], boxes, labels, priors)


@pytest.mark.task("ssd")
@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_match_threshold_bounds_are_allowed(student, threshold):
    priors = small_priors()
    seed = 40
    while True:  # no two ground truths share a best prior
        gt = random_boxes(3, seed=seed)
        if len(set(box_iou(gt, box_convert(priors, "cxcywh", "xyxy")).argmax(1).tolist())) == 3:
            break
        seed += 1
    got = student.ssd_match(gt, priors, threshold)
    assert_tensor(got, torchvision_match(gt, priors, threshold), case=f"threshold {threshold} (inclusive bounds)")


@pytest.mark.task("ssd")
def test_coding_mixed_dtypes(student):
    priors = small_priors(torch.float64)[:10]
    boxes = random_boxes(10, seed=41, dtype=torch.float32)
    expected = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)).encode_single(boxes.double(), box_convert(priors, "cxcywh",
                                                                                                  "xyxy"))
    got = student.ssd_encode(boxes, priors)
    assert_tensor(got, expected.float(), atol=1e-4, rtol=1e-4, case="float32 boxes, float64 priors -> float32")
    codes = torch.randn(10, 4, generator=gen(42)) * 0.5
    got = student.ssd_decode(codes, priors)
    expected = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)).decode_single(codes.double(),
                                                                      box_convert(priors, "cxcywh", "xyxy"))
    assert_tensor(got, expected.float(), atol=1e-5, rtol=1e-5, case="float32 codes, float64 priors -> float32")


@pytest.mark.task("ssd")
def test_multibox_loss_with_one_class(student):
    loc, conf, boxes, _, priors = loss_inputs(seed=43, n=2, k=1, counts=(2, 3))
    labels = [torch.ones(b.shape[0], dtype=torch.int64) for b in boxes]
    expected = torchvision_loss(loc, conf, boxes, labels, priors)
    got = student.multibox_loss(loc, conf, boxes, labels, priors)
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10, case="K = 1 (two logits: background, object)")


@pytest.mark.task("ssd")
def test_multibox_loss_float32_predictions_with_float64_targets(student):
    loc, conf, boxes, labels, priors = loss_inputs(seed=44, n=2, counts=(2, 2))
    expected = torchvision_loss(loc, conf, boxes, labels, priors)
    got = student.multibox_loss(loc.float(), conf.float(), boxes, labels, priors)
    assert_tensor(got, expected.float(), atol=1e-4, rtol=1e-4,
                  case="float32 predictions, float64 boxes and priors -> float32 (loc_pred's dtype)")
