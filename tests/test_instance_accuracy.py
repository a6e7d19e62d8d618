"""The accuracy check of the instance assignment (reference/instance/tests/accuracy_cases.py):
the reference pipeline scores in the calibrated band, malformed outputs are refused with a
clear ValueError (never a crash), and the figures keep ground truth out of the student tiles."""

from __future__ import annotations

import sys

import pytest
import torch

from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "instance" / "tests"


_load = load_module


@pytest.fixture(scope="module")
def cases():
    return _load(HIDDEN / "accuracy_cases.py", "cv3_instance_accuracy_cases")


@pytest.fixture(scope="module")
def reference():
    sys.path.insert(0, str(ROOT / "reference" / "instance"))
    try:
        import instance
    finally:
        sys.path.pop(0)
    return instance


@pytest.fixture(scope="module")
def graded(cases, reference):
    calls, targets = cases.holdout(seed=12345)
    outputs = [reference.predict_panoptic(*a, **k) for a, k in calls]
    return calls, targets, outputs


def test_holdout_calls_hold_no_ground_truth(graded, cases):
    calls, targets, _ = graded
    assert len(calls) == cases.HOLDOUT_IMAGES // cases.BATCH_SIZE
    (outs,), kwargs = calls[0]
    assert kwargs == cases.PREDICT_KWARGS and len(outs) == cases.BATCH_SIZE
    assert set(outs[0]) == {"mask_logits", "boxes", "scores", "labels", "semantic_logits", "stuff_ids"}
    assert all(type(v) is torch.Tensor for v in outs[0].values())


def test_reference_scores_and_figures(graded, cases):
    _, targets, outputs = graded
    pq, details = cases.score(outputs, targets)
    assert 0.6 < pq < 0.8 and details["PQ"] == round(pq, 6)
    assert 0.4 < details["mask_AP"] <= 1.0 and details["mask_AP50"] >= details["mask_AP"]
    assert len(details["table"]["rows"]) == 6
    fig = details["figures"][0]
    assert len(fig["tiles"]) == len(fig["student_tiles"]) == cases.EXAMPLES
    assert "ground truth" in fig["tiles"][0] and "ground truth" not in fig["student_tiles"][0]


def test_determinism(cases):
    a, _ = cases.holdout(seed=7)
    b, _ = cases.holdout(seed=7)
    assert torch.equal(a[0][0][0][0]["mask_logits"], b[0][0][0][0]["mask_logits"])


def test_a_perfect_merge_scores_one(graded, cases):
    """Panoptic maps built from the ground truth itself score PQ = 1 (the metric and the
    conversion of predictions agree with the targets)."""
    _, targets, outputs = graded
    perfect = []
    for i, scene in enumerate(targets["scenes"]):
        res = dict(outputs[i // cases.BATCH_SIZE][i % cases.BATCH_SIZE])
        pan = torch.zeros_like(scene["segment_ids"])
        cats, things = [], []
        for seg in scene["segments"]:
            cats.append(seg["category_id"])
            things.append(seg["category_id"] in (1, 2, 3))
            pan[scene["segment_ids"] == seg["id"]] = len(cats)
        res.update(panoptic=pan, segment_categories=torch.tensor(cats), segment_isthing=torch.tensor(things))
        perfect.append(res)
    batches = [perfect[i:i + cases.BATCH_SIZE] for i in range(0, len(perfect), cases.BATCH_SIZE)]
    pq, _ = cases.score(batches, targets)
    assert pq == pytest.approx(1.0)


@pytest.mark.parametrize("breakage,message", [
    (lambda r: r.pop("panoptic"), "lacks 'panoptic'"),
    (lambda r: r.update(panoptic=r["panoptic"].float()), "dtype"),
    (lambda r: r.update(panoptic=r["panoptic"] + 100), "segment ids"),
    (lambda r: r.update(segment_isthing=~r["segment_isthing"]), "isthing"),
    (lambda r: r.update(masks=r["masks"][:, :3]), "shape"),
    (lambda r: r.update(scores=r["scores"] * float("nan")), "nan"),
    (lambda r: r.update(labels=r["labels"] + 10), "labels"),
    (lambda r: r.update(masks=[1, 2]), "plain torch.Tensor"),
])
def test_malformed_outputs_are_refused(graded, cases, breakage, message):
    _, targets, outputs = graded
    broken = [list(b) for b in outputs]
    first = dict(broken[0][0])
    if first["scores"].numel() == 0 and message in ("nan", "labels", "shape"):
        pytest.skip("first image has no instances")
    breakage(first)
    broken[0][0] = first
    with pytest.raises(ValueError, match=message):
        cases.score(broken, targets)


def test_wrong_structure_is_refused(graded, cases):
    _, targets, outputs = graded
    with pytest.raises(ValueError, match="one result per call"):
        cases.score(tuple(outputs), targets)
    with pytest.raises(ValueError, match="list of 8 dicts"):
        cases.score([outputs[0][:3]] + outputs[1:], targets)
    with pytest.raises(ValueError, match="results for"):
        cases.score(outputs[:-1], targets)
    with pytest.raises(ValueError, match="expected a dict"):
        cases.score([[None] * 8] + outputs[1:], targets)

    class Hostile(dict):
        def __contains__(self, key):
            raise RuntimeError("boom")

    with pytest.raises(ValueError, match="expected a dict, got a Hostile"):
        cases.score([[Hostile()] * 8] + outputs[1:], targets)

    class HostileTensor(torch.Tensor):
        pass

    broken = [list(b) for b in outputs]
    first = dict(broken[0][0])
    first["panoptic"] = first["panoptic"].as_subclass(HostileTensor)
    broken[0][0] = first
    with pytest.raises(ValueError, match="plain torch.Tensor"):
        cases.score(broken, targets)


def test_no_instances_at_all_scores_mask_ap_zero(graded, cases):
    _, targets, outputs = graded
    empty = []
    for batch in outputs:
        nb = []
        for r in batch:
            r = dict(r)
            h, w = r["panoptic"].shape
            r.update(masks=torch.zeros(0, h, w, dtype=torch.bool), scores=torch.zeros(0),
                     labels=torch.zeros(0, dtype=torch.int64))
            nb.append(r)
        empty.append(nb)
    counts = dict(targets, num_instances=[0] * len(targets["scenes"]))
    _, details = cases.score(empty, counts)
    assert details["mask_AP"] == 0.0
