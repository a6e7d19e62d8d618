"""Hidden tests of panoptic_merge [panoptic_merge], panoptic_quality [pq] and predict_panoptic
[predict].

Oracles: a pixel loop of Panoptic FPN's merging heuristic written here from the paper's and
Detectron2's documented description (no Detectron2 code), with its published defaults
(overlap 0.5, stuff area 4096, instance score 0.5); torchmetrics' ``PanopticQuality`` in its own
input format; torchvision's ``paste_masks_in_image`` for the inference pipeline.
"""

import re

import pytest
import torch
from torchmetrics.detection import PanopticQuality
from torchvision.models.detection.roi_heads import paste_masks_in_image

from harness.testkit import assert_tensor, devices

THINGS, STUFFS = [1, 2, 3], [4, 5, 6]


def merge_loop(masks, scores, labels, semantic, overlap=0.5, stuff_area=4096, score_thr=0.5):
    h, w = semantic.shape
    pan = torch.zeros(h, w, dtype=torch.int64)
    cats, things = [], []
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    for i in order:
        if float(scores[i]) < score_thr:
            break
        area = int(masks[i].sum())
        if area == 0:
            continue
        inter = int((masks[i] & (pan > 0)).sum())
        if inter / area > overlap:
            continue
        cats.append(int(labels[i]))
        things.append(True)
        pan[masks[i] & (pan == 0)] = len(cats)
    for c in sorted(set(semantic.flatten().tolist())):
        if c == 0:
            continue
        free = (semantic == c) & (pan == 0)
        if int(free.sum()) < stuff_area:
            continue
        cats.append(c)
        things.append(False)
        pan[free] = len(cats)
    return pan, torch.tensor(cats, dtype=torch.int64), torch.tensor(things, dtype=torch.bool)


def _instances(n, h, w, seed, score_lo=0.2):
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    masks = []
    for _ in range(n):
        y0, x0 = int(torch.randint(0, h - 4, (1,), generator=gen)), int(torch.randint(0, w - 4, (1,), generator=gen))
        hh, ww = int(torch.randint(3, h // 2, (1,), generator=gen)), int(torch.randint(3, w // 2, (1,), generator=gen))
        masks.append((yy >= y0) & (yy < y0 + hh) & (xx >= x0) & (xx < x0 + ww))
    masks = torch.stack(masks)
    scores = torch.rand(n, generator=gen) * (1 - score_lo) + score_lo
    labels = torch.randint(1, 4, (n,), generator=gen)
    return masks, scores, labels


def _semantic(h, w, seed):
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 5, (h // 8, w // 8), generator=gen)
    coarse = torch.where(coarse >= 4, torch.zeros_like(coarse), coarse + 3)  # 0 (things) or 4..6
    coarse[coarse == 3] = 0
    return coarse.repeat_interleave(8, 0).repeat_interleave(8, 1)


def _check_merge(got, expected, case):
    assert isinstance(got, (tuple, list)) and len(got) == 3, f"[{case}] expected (panoptic, categories, isthing)"
    for g, e, name in zip(got, expected, ("panoptic", "segment categories", "isthing")):
        assert_tensor(g, e, case=f"{case}: {name}")


# ================================================================ merging


@pytest.mark.task("panoptic_merge")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merge_matches_the_loop(student, seed):
    masks, scores, labels = _instances(12, 48, 64, seed)
    sem = _semantic(48, 64, seed + 10)
    kw = dict(overlap_threshold=0.5, stuff_area_threshold=100, score_threshold=0.5)
    got = student.panoptic_merge(masks, scores, labels, sem, **kw)
    _check_merge(got, merge_loop(masks, scores, labels, sem, 0.5, 100, 0.5), f"seed {seed}")


@pytest.mark.task("panoptic_merge")
@pytest.mark.parametrize("overlap,stuff,score", [(0.2, 64, 0.3), (0.9, 1, 0.0), (0.0, 500, 0.7)])
def test_merge_parameters(student, overlap, stuff, score):
    masks, scores, labels = _instances(15, 40, 40, seed=4)
    sem = _semantic(40, 40, seed=5)
    got = student.panoptic_merge(masks, scores, labels, sem, overlap_threshold=overlap,
                                 stuff_area_threshold=stuff, score_threshold=score)
    _check_merge(got, merge_loop(masks, scores, labels, sem, overlap, stuff, score), f"{overlap}, {stuff}, {score}")


@pytest.mark.task("panoptic_merge")
def test_merge_defaults_follow_detectron2(student):
    # 80 x 80: a stuff region of 4096 pixels is kept, one of 4095 is not
    masks = torch.zeros(2, 80, 80, dtype=torch.bool)
    masks[0, :10, :10] = True
    masks[1, 20:30, 20:30] = True
    scores = torch.tensor([0.5, 0.49])  # 0.5 is kept, 0.49 is not
    labels = torch.tensor([1, 2])
    sem = torch.zeros(80, 80, dtype=torch.int64)
    sem.view(-1)[:4096 + 100] = 4  # 4096 free pixels after the first instance (100 pixels) on top
    sem.view(-1)[4196:4196 + 1000] = 5
    got = student.panoptic_merge(masks, scores, labels, sem)
    _check_merge(got, merge_loop(masks, scores, labels, sem), "defaults")
    assert got[1].tolist() == [1, 4], "defaults: score 0.5 kept, 0.49 not; 4096 stuff pixels kept, 1000 not"


@pytest.mark.task("panoptic_merge")
def test_merge_overlap_threshold_is_strict(student):
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, :2] = True  # 8 pixels
    masks[1, 1:3] = True  # 8 pixels, 4 on the first: overlap exactly 0.5 -> kept
    got = student.panoptic_merge(masks, torch.tensor([0.9, 0.8]), torch.tensor([1, 2]),
                                 torch.zeros(4, 4, dtype=torch.int64), stuff_area_threshold=0)
    expected = torch.zeros(4, 4, dtype=torch.int64)
    expected[:2] = 1
    expected[2] = 2
    assert_tensor(got[0], expected, case="overlap == threshold keeps the instance, on its free pixels only")
    got = student.panoptic_merge(masks, torch.tensor([0.9, 0.8]), torch.tensor([1, 2]),
                                 torch.zeros(4, 4, dtype=torch.int64), overlap_threshold=0.49)
    assert got[1].tolist() == [1]


@pytest.mark.task("panoptic_merge")
def test_merge_things_win_and_other_is_dropped(student):
    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, 2:6, 2:6] = True
    sem = torch.full((8, 8), 5, dtype=torch.int64)
    sem[:, :1] = 0  # "other": never a segment
    got = student.panoptic_merge(masks, torch.tensor([0.8]), torch.tensor([3]), sem, stuff_area_threshold=1)
    _check_merge(got, merge_loop(masks, torch.tensor([0.8]), torch.tensor([3]), sem, 0.5, 1, 0.5), "things over stuff")
    assert int((got[0] == 0).sum()) == 8 and got[2].tolist() == [True, False]


@pytest.mark.task("panoptic_merge")
def test_merge_empty_masks_and_no_instances(student):
    masks = torch.zeros(2, 6, 6, dtype=torch.bool)
    sem = torch.full((6, 6), 4, dtype=torch.int64)
    got = student.panoptic_merge(masks, torch.tensor([0.9, 0.8]), torch.tensor([1, 1]), sem, stuff_area_threshold=1)
    _check_merge(got, (torch.ones(6, 6, dtype=torch.int64), torch.tensor([4]), torch.tensor([False])), "empty masks")
    got = student.panoptic_merge(torch.zeros(0, 6, 6, dtype=torch.bool), torch.zeros(0),
                                 torch.zeros(0, dtype=torch.int64),
                                 torch.zeros(6, 6, dtype=torch.int64))
    _check_merge(got, (torch.zeros(6, 6, dtype=torch.int64), torch.zeros(0, dtype=torch.int64),
                       torch.zeros(0, dtype=torch.bool)), "nothing at all")


@pytest.mark.task("panoptic_merge")
@pytest.mark.parametrize("device", devices())
def test_merge_on_device(student, device):
    masks, scores, labels = _instances(8, 32, 32, seed=6)
    sem = _semantic(32, 32, seed=7)
    expected = merge_loop(masks, scores, labels, sem, 0.5, 50, 0.5)
    got = student.panoptic_merge(masks.to(device), scores.to(device), labels.to(device), sem.to(device),
                                 stuff_area_threshold=50)
    _check_merge(got, tuple(e.to(device) for e in expected), device)


@pytest.mark.task("panoptic_merge")
def test_merge_rejects_bad_inputs(student):
    with pytest.raises(ValueError, match="masks|semantic"):
        student.panoptic_merge(torch.zeros(1, 5, 5, dtype=torch.bool), torch.ones(1), torch.ones(1, dtype=torch.int64),
                               torch.zeros(4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="overlap_threshold"):
        student.panoptic_merge(torch.zeros(0, 4, 4, dtype=torch.bool), torch.zeros(0),
                               torch.zeros(0, dtype=torch.int64),
                               torch.zeros(4, 4, dtype=torch.int64), overlap_threshold=1.5)


# ================================================================ PQ


def _pairs(b, h, w, seed, void=True):
    gen = torch.Generator().manual_seed(seed)
    hi = 7 if void else 6
    cat = torch.randint(1, hi, (b, h // 4, w // 4), generator=gen)
    cat = torch.where(cat == 6, torch.zeros_like(cat), cat) if void else cat  # 0 = void
    inst = torch.randint(0, 3, (b, h // 4, w // 4), generator=gen)
    up = lambda t: t.repeat_interleave(4, 1).repeat_interleave(4, 2)  # noqa: E731
    return torch.stack([up(cat), up(inst)], dim=-1)


def _perturb(target, seed, frac=0.25):
    gen = torch.Generator().manual_seed(seed)
    preds = target.clone()
    noise = _pairs(*target.shape[:3], seed=seed + 100)
    m = torch.rand(target.shape[:3], generator=gen) < frac
    preds[m] = noise[m]
    return preds


def _tm(preds, target, per_class=False):
    metric = PanopticQuality(things=set(THINGS), stuffs=set(STUFFS), return_sq_and_rq=True,
                             return_per_class=per_class, allow_unknown_preds_category=True)
    return metric(preds, target)


@pytest.mark.task("pq")
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_pq_matches_torchmetrics(student, seed):
    target = _pairs(3, 32, 32, seed)
    preds = _perturb(target, seed) if seed % 2 else _pairs(3, 32, 32, seed + 50)
    assert_tensor(student.panoptic_quality(preds, target, THINGS, STUFFS), _tm(preds, target), atol=1e-6,
                  case=f"seed {seed}")


@pytest.mark.task("pq")
@pytest.mark.parametrize("seed", [5, 6])
def test_pq_per_class_matches_torchmetrics(student, seed):
    target = _pairs(2, 32, 32, seed)
    preds = _perturb(target, seed, frac=0.15)
    got = student.panoptic_quality(preds, target, THINGS, STUFFS, return_per_class=True)
    assert_tensor(got, _tm(preds, target, per_class=True), atol=1e-6, case=f"per class, seed {seed}")


@pytest.mark.task("pq")
def test_pq_category_order_things_then_stuffs(student):
    target = _pairs(2, 16, 16, seed=7)
    preds = _perturb(target, seed=7)
    things, stuffs = [3, 1, 2], [6, 4, 5]
    metric = PanopticQuality(things=set(things), stuffs=set(stuffs), return_sq_and_rq=True, return_per_class=True,
                             allow_unknown_preds_category=True)
    got = student.panoptic_quality(preds, target, things, stuffs, return_per_class=True)
    assert_tensor(got, metric(preds, target), atol=1e-6, case="sorted things, then sorted stuffs")


@pytest.mark.task("pq")
def test_pq_perfect_prediction_and_iou_exactly_half(student):
    target = _pairs(2, 16, 16, seed=8, void=False)
    assert_tensor(student.panoptic_quality(target, target, THINGS, STUFFS),
                  torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), atol=1e-12, case="perfect")
    # one thing of 8 pixels predicted on 4 of them plus 4 others: IoU 4/12 -> no match
    tgt = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    tgt[..., 0] = 4
    tgt[0, :2, :, 0], tgt[0, :2, :, 1] = 1, 7
    pred = tgt.clone()
    pred[0, :2, :2, 0] = 4
    pred[0, :2, :2, 1] = 0
    pred[0, 2, :2, 0], pred[0, 2, :2, 1] = 1, 7
    got = student.panoptic_quality(pred, tgt, THINGS, STUFFS, return_per_class=True)
    assert_tensor(got, _tm(pred, tgt, per_class=True), atol=1e-6, case="IoU 4/10 for the thing: not matched")


@pytest.mark.task("pq")
def test_pq_stuff_instance_ids_are_ignored(student):
    target = _pairs(1, 16, 16, seed=9, void=False)
    preds = target.clone()
    stuff = preds[..., 0] >= 4
    preds[..., 1][stuff] = 99  # stuff instance ids differ: still one segment per category
    assert_tensor(student.panoptic_quality(preds, target, THINGS, STUFFS),
                  torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), atol=1e-12, case="stuff instances ignored")


@pytest.mark.task("pq")
def test_pq_void_in_target_and_in_preds(student):
    target = _pairs(2, 24, 24, seed=10, void=True)
    preds = _perturb(target, seed=11, frac=0.3)
    assert bool((preds[..., 0] == 0).any()) and bool((target[..., 0] == 0).any())
    assert_tensor(student.panoptic_quality(preds, target, THINGS, STUFFS, return_per_class=True),
                  _tm(preds, target, per_class=True), atol=1e-6, case="void on both sides")


@pytest.mark.task("pq")
@pytest.mark.parametrize("device", devices())
def test_pq_on_device(student, device):
    target = _pairs(2, 16, 16, seed=12)
    preds = _perturb(target, seed=12)
    got = student.panoptic_quality(preds.to(device), target.to(device), THINGS, STUFFS)
    assert_tensor(got, _tm(preds, target), atol=1e-6, case=device, check_device=False)


@pytest.mark.task("pq")
def test_pq_rejects_bad_inputs(student):
    x = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    with pytest.raises(ValueError, match="things|stuffs|disjoint"):
        student.panoptic_quality(x, x, [1, 2], [2, 3])
    with pytest.raises(ValueError, match="same shape|preds|target"):
        student.panoptic_quality(x, x[:, :2], [1], [2])
    with pytest.raises(ValueError, match="preds|target"):  # both are malformed
        student.panoptic_quality(x[..., 0], x[..., 0], [1], [2])


# ================================================================ predict


def _raw_outputs(seed, n=5, h=40, w=48, m=14, k=3):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen) * torch.tensor([w - 12.0, h - 12.0])
    wh = torch.rand(n, 2, generator=gen) * 12 + 4
    return {"mask_logits": torch.randn(n, m, m, generator=gen) * 3, "boxes": torch.cat([xy, xy + wh], dim=1),
            "scores": torch.rand(n, generator=gen), "labels": torch.randint(1, 4, (n,), generator=gen),
            "semantic_logits": torch.randn(1 + k, h // 4, w // 4, generator=gen).repeat_interleave(4, 1)
            .repeat_interleave(4, 2), "stuff_ids": torch.tensor([4, 5, 6][:k])}


def _expected_predict(out, mask_threshold=0.5, overlap=0.5, stuff=4096, score=0.5):
    h, w = out["semantic_logits"].shape[-2:]
    probs = paste_masks_in_image(out["mask_logits"].sigmoid()[:, None], out["boxes"], (h, w), 1)[:, 0]
    masks = probs > mask_threshold
    lookup = torch.cat([torch.zeros(1, dtype=torch.int64), out["stuff_ids"]])
    sem = lookup[out["semantic_logits"].argmax(0)]
    pan, cats, things = merge_loop(masks, out["scores"], out["labels"], sem, overlap, stuff, score)
    return {"masks": masks, "scores": out["scores"], "labels": out["labels"], "panoptic": pan,
            "segment_categories": cats, "segment_isthing": things}


def _check_predict(got, expected, case):
    assert isinstance(got, list) and len(got) == len(expected), f"[{case}] expected a list of {len(expected)} dicts"
    for i, (g, e) in enumerate(zip(got, expected)):
        assert isinstance(g, dict), f"[{case}] image {i}: expected a dict"
        for key, value in e.items():
            assert key in g, f"[{case}] image {i}: missing '{key}'"
            assert_tensor(g[key], value, case=f"{case}, image {i}, {key}")


@pytest.mark.task("predict")
def test_predict_pipeline(student):
    outs = [_raw_outputs(s) for s in (1, 2, 3)]
    got = student.predict_panoptic(outs, stuff_area_threshold=40)
    _check_predict(got, [_expected_predict(o, stuff=40) for o in outs], "stuff area 40")


@pytest.mark.task("predict")
def test_predict_thresholds(student):
    outs = [_raw_outputs(4, n=8)]
    kw = dict(mask_threshold=0.3, overlap_threshold=0.2, stuff_area_threshold=10, score_threshold=0.1)
    got = student.predict_panoptic(outs, **kw)
    _check_predict(got, [_expected_predict(outs[0], 0.3, 0.2, 10, 0.1)], "custom thresholds")


@pytest.mark.task("predict")
def test_predict_no_instances_and_no_images(student):
    out = _raw_outputs(5, n=0)
    got = student.predict_panoptic([out], stuff_area_threshold=1)
    _check_predict(got, [_expected_predict(out, stuff=1)], "no instances")
    assert student.predict_panoptic([]) == []


@pytest.mark.task("panoptic_merge")
def test_merge_rejects_negative_stuff_area(student):
    with pytest.raises(ValueError, match="stuff_area_threshold"):
        student.panoptic_merge(torch.zeros(0, 4, 4, dtype=torch.bool), torch.zeros(0),
                               torch.zeros(0, dtype=torch.int64),
                               torch.zeros(4, 4, dtype=torch.int64), stuff_area_threshold=-1)


@pytest.mark.task("predict")
def test_predict_rejects_bad_inputs(student):
    with pytest.raises(TypeError, match="outputs"):
        student.predict_panoptic(_raw_outputs(1))
    with pytest.raises(TypeError, match="outputs"):  # names the argument (no Raises section pins a format)
        student.predict_panoptic([torch.zeros(3)])
    bad = _raw_outputs(2)
    bad["stuff_ids"] = torch.tensor([4, 5])
    with pytest.raises(ValueError, match="stuff_ids|semantic_logits"):  # they disagree: either may be named
        student.predict_panoptic([bad])


@pytest.mark.task("pq")
def test_pq_iou_of_exactly_one_half_is_not_a_match(student):
    tgt = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    tgt[..., 0] = 4
    tgt[0, :2, :, 0], tgt[0, :2, :, 1] = 1, 7  # a thing of 8 pixels
    pred = tgt.clone()
    pred[0, 1, :, 0], pred[0, 1, :, 1] = 0, 0  # half of it void -> torchmetrics leaves it out of the union
    pred[0, 1, :, 0] = 2  # half of it another thing: IoU 4 / 8 = 0.5 exactly
    got = student.panoptic_quality(pred, tgt, THINGS, STUFFS, return_per_class=True)
    expected = _tm(pred, tgt, per_class=True)
    assert_tensor(got, expected, atol=1e-6, case="IoU exactly 0.5: no match (IoU > 0.5 is required)")
    assert float(got[0, 2]) == 0.0


@pytest.mark.task("pq")
def test_pq_averages_only_over_present_categories(student):
    tgt = torch.zeros(1, 8, 8, 2, dtype=torch.int64)
    tgt[..., 0] = 4
    tgt[0, :4, :4] = torch.tensor([1, 1])
    pred = tgt.clone()
    pred[0, :4, :2] = torch.tensor([4, 0])  # the thing half covered: IoU 0.5, no match
    got = student.panoptic_quality(pred, tgt, THINGS, STUFFS)
    assert_tensor(got, _tm(pred, tgt), atol=1e-6, case="categories 2, 3, 5, 6 absent: not averaged")
    stuff_iou = 48 / 56
    assert abs(float(got[0]) - stuff_iou / 2) < 1e-6


@pytest.mark.task("panoptic_merge")
@pytest.mark.parametrize("mask_dtype", [torch.uint8, torch.float32], ids=str)
def test_merge_accepts_0_1_masks_of_other_dtypes(student, mask_dtype):
    # the docstring asks for bool masks and the README's input checks raise TypeError for a bad
    # type: refusing a 0/1 mask of another dtype that way is a reading the spec allows
    masks, scores, labels = _instances(6, 24, 24, seed=8)
    sem = _semantic(24, 24, seed=9)
    try:
        got = student.panoptic_merge(masks.to(mask_dtype), scores, labels, sem, stuff_area_threshold=20)
    except TypeError as e:
        assert "masks" in str(e), f"a TypeError for {mask_dtype} masks must name masks, got: {e}"
        return
    _check_merge(got, merge_loop(masks, scores, labels, sem, 0.5, 20, 0.5), f"{mask_dtype} masks")


@pytest.mark.task("pq")
def test_pq_rejects_non_tensors(student):
    x = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    with pytest.raises(TypeError, match="target"):
        student.panoptic_quality(x, x.tolist(), [1], [2])
    with pytest.raises(TypeError, match="preds"):
        student.panoptic_quality(x.tolist(), x, [1], [2])


@pytest.mark.task("predict")
def test_predict_mask_threshold_is_strict(student):
    out = _raw_outputs(6, n=3)
    out["mask_logits"] = torch.zeros_like(out["mask_logits"])  # probability exactly 0.5 inside the boxes
    got = student.predict_panoptic([out], stuff_area_threshold=1)
    _check_predict(got, [_expected_predict(out, stuff=1)], "probabilities of exactly 0.5")
    assert not bool(got[0]["masks"].any()), "masks are prob > mask_threshold (strict)"


@pytest.mark.task("panoptic_merge")
def test_merge_rejects_a_semantic_map_of_the_wrong_shape(student):
    with pytest.raises(ValueError, match="semantic"):
        student.panoptic_merge(torch.zeros(0, 4, 4, dtype=torch.bool), torch.zeros(0),
                               torch.zeros(0, dtype=torch.int64), torch.zeros(1, 4, 4, dtype=torch.int64))


@pytest.mark.task("pq")
def test_pq_accepts_flat_point_inputs(student):
    target = _pairs(2, 16, 16, seed=13).reshape(2, 256, 2)  # [B, P, 2] (torchmetrics' point clouds)
    preds = _perturb(_pairs(2, 16, 16, seed=13), seed=14).reshape(2, 256, 2)
    # the docstring documents [B, H, W, 2]; torchmetrics also takes flat point clouds: a solution may
    # score them the same way or refuse them naming the argument, never score them differently
    try:
        got = student.panoptic_quality(preds, target, THINGS, STUFFS)
    except (ValueError, TypeError) as e:
        assert re.search("preds|target", str(e)), f"refusing [B, P, 2] inputs must name preds or target: {e}"
        return
    assert_tensor(got, _tm(preds, target), atol=1e-6, case="[B, P, 2] inputs")
