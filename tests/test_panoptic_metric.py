"""harness/metrics/panoptic.py: the trusted PQ equals torchmetrics' PanopticQuality in its own
input format (both conventions where they agree, the torchmetrics convention everywhere), and
the panopticapi convention's predicted-void and crowd rules hold on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.detection import PanopticQuality

from harness.metrics.panoptic import panoptic_quality

THINGS, STUFFS = [1, 2, 3], [4, 5]


def _pairs(b, h, w, seed, void_in=True):
    gen = torch.Generator().manual_seed(seed)
    cat = torch.randint(0 if void_in else 1, 6, (b, h // 4, w // 4), generator=gen)
    inst = torch.randint(0, 3, (b, h // 4, w // 4), generator=gen)
    up = lambda t: t.repeat_interleave(4, 1).repeat_interleave(4, 2)  # noqa: E731
    return torch.stack([up(cat), up(inst)], dim=-1)


def _perturb(target, seed, void_in=True):
    gen = torch.Generator().manual_seed(seed)
    preds = target.clone()
    m = torch.rand(target.shape[:3], generator=gen) < 0.25
    preds[m] = _pairs(*target.shape[:3], seed=seed + 7, void_in=void_in)[m]
    return preds


def _torchmetrics(preds, target):
    pq = PanopticQuality(things=set(THINGS), stuffs=set(STUFFS), return_sq_and_rq=True, return_per_class=True,
                         allow_unknown_preds_category=True)
    per_class = pq(preds, target)
    avg = PanopticQuality(things=set(THINGS), stuffs=set(STUFFS), return_sq_and_rq=True,
                          allow_unknown_preds_category=True)(preds, target)
    return per_class, avg


def _ours(result):
    per_class = torch.tensor([[v["pq"], v["sq"], v["rq"]] for v in result["per_class"].values()], dtype=torch.float64)
    return per_class, torch.tensor([result["PQ"], result["SQ"], result["RQ"]], dtype=torch.float64)


@pytest.mark.parametrize("seed", range(6))
def test_torchmetrics_convention_matches_torchmetrics(seed):
    target = _pairs(3, 32, 32, seed)
    preds = _perturb(target, seed) if seed % 2 else _pairs(3, 32, 32, seed + 100)
    per_class, avg = _ours(panoptic_quality(preds, target, THINGS, STUFFS, convention="torchmetrics"))
    tm_per_class, tm_avg = _torchmetrics(preds, target)
    torch.testing.assert_close(per_class, tm_per_class, atol=1e-6, rtol=0)
    torch.testing.assert_close(avg, tm_avg, atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", range(4))
def test_both_conventions_agree_without_predicted_void(seed):
    target = _pairs(2, 32, 32, seed + 20, void_in=True)  # void in the target only
    preds = _perturb(_pairs(2, 32, 32, seed + 20, void_in=False), seed, void_in=False)
    api = panoptic_quality(preds, target, THINGS, STUFFS)
    tm = panoptic_quality(preds, target, THINGS, STUFFS, convention="torchmetrics")
    assert api["per_class"] == tm["per_class"]
    per_class, _ = _ours(api)
    torch.testing.assert_close(per_class, _torchmetrics(preds, target)[0], atol=1e-6, rtol=0)


def _scene():
    """One thing (category 1) of 8 pixels on a stuff (category 4) background of 4 x 4."""
    t = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    t[..., 0] = 4
    t[0, :2, :, 0], t[0, :2, :, 1] = 1, 1
    return t


def test_panopticapi_counts_predicted_void_in_the_union():
    target = _scene()
    preds = target.clone()
    preds[0, 1, :, 0] = 0  # half of the thing left unlabeled (void): IoU 4/8 = 0.5 -> not a match
    api = panoptic_quality(preds, target, THINGS, STUFFS)["per_class"][1]
    tm = panoptic_quality(preds, target, THINGS, STUFFS, convention="torchmetrics")["per_class"][1]
    assert (api["tp"], api["fp"], api["fn"]) == (0, 1, 1)
    assert (tm["tp"], tm["fp"], tm["fn"]) == (1, 0, 0) and tm["iou"] == 1.0  # void pixels left out


def test_target_void_is_left_out_of_the_union_in_both():
    target = _scene()
    target[0, 3, :, 0] = 0  # void row in the target
    preds = _scene()
    for convention in ("panopticapi", "torchmetrics"):
        r = panoptic_quality(preds, target, THINGS, STUFFS, convention=convention)
        assert r["per_class"][4]["tp"] == 1 and r["per_class"][4]["iou"] == 1.0


def test_unmatched_prediction_mostly_on_void_is_not_a_false_positive():
    target = _scene()
    target[0, 2:, :2, 0] = 0  # 4 void pixels
    preds = _scene()
    preds[0, 2:, :3] = torch.tensor([2, 5])  # a thing of 6 pixels, 4 on void: not a FP
    r = panoptic_quality(preds, target, THINGS, STUFFS)
    assert r["per_class"][2]["fp"] == 0
    preds[0, 2:, :4] = torch.tensor([2, 5])  # 8 pixels, 4 on void: exactly half -> a FP
    assert panoptic_quality(preds, target, THINGS, STUFFS)["per_class"][2]["fp"] == 1


def test_crowd_regions_follow_panopticapi():
    target = _scene()
    crowd = torch.zeros(1, 4, 4, dtype=torch.bool)
    crowd[0, :2] = True  # the thing is a crowd region
    preds = target.clone()
    r = panoptic_quality(preds, target, THINGS, STUFFS, crowd=crowd)
    assert (r["per_class"][1]["tp"], r["per_class"][1]["fp"], r["per_class"][1]["fn"]) == (0, 0, 0)
    assert math.isclose(r["PQ"], 1.0)  # only the stuff class is counted
    # a prediction of another category on the crowd region is a FP
    preds[0, :2, :, 0] = 2
    assert panoptic_quality(preds, target, THINGS, STUFFS, crowd=crowd)["per_class"][2]["fp"] == 1
    # and one of the crowd's category on half crowd, half stuff: not a FP (crowd + void > half? no: 4/8 -> FP)
    preds = target.clone()
    preds[0, 1:3, :, 0], preds[0, 1:3, :, 1] = 1, 9
    r = panoptic_quality(preds, target, THINGS, STUFFS, crowd=crowd)
    assert r["per_class"][1]["fp"] == 1
    preds[0, 2, :, 0] = 4
    preds[0, 2, :, 1] = 0
    preds[0, 0, :, 0], preds[0, 0, :, 1] = 1, 9  # now 8 pixels, all on the crowd
    assert panoptic_quality(preds, target, THINGS, STUFFS, crowd=crowd)["per_class"][1]["fp"] == 0
    with pytest.raises(ValueError, match="crowd"):
        panoptic_quality(preds, target, THINGS, STUFFS, crowd=crowd, convention="torchmetrics")


def test_averages_over_present_classes_and_groups():
    target = _scene()
    r = panoptic_quality(target, target, THINGS, STUFFS)
    assert r["PQ"] == r["PQ_th"] == r["PQ_st"] == 1.0
    only_stuff = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    only_stuff[..., 0] = 5
    r = panoptic_quality(only_stuff, only_stuff, THINGS, STUFFS)
    assert r["PQ"] == 1.0 and math.isnan(r["PQ_th"])
    void = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    assert math.isnan(panoptic_quality(void, void, THINGS, STUFFS)["PQ"])


def test_rejects_bad_inputs():
    t = _scene()
    with pytest.raises(ValueError, match="convention"):
        panoptic_quality(t, t, THINGS, STUFFS, convention="coco")
    with pytest.raises(ValueError, match="disjoint"):
        panoptic_quality(t, t, [1, 4], STUFFS)
    with pytest.raises(ValueError, match="shape"):
        panoptic_quality(t, t[:, :2], THINGS, STUFFS)
    with pytest.raises(ValueError, match="integer"):
        panoptic_quality(t.float(), t.float(), THINGS, STUFFS)
    with pytest.raises(ValueError, match="crowd"):
        panoptic_quality(t, t, THINGS, STUFFS, crowd=torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="torch.Tensor"):
        panoptic_quality(t.numpy(), t, THINGS, STUFFS)
