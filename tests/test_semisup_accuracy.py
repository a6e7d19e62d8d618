"""The accuracy check of the semisup assignment (reference/semisup/tests/accuracy_cases.py): the
metric is the median gain over the trusted supervised-only baseline, malformed outputs are refused
with a clear message (never a crash), held-out labels never appear in the calls, and the figures
respect the visibility policy (the held-out figure is instructor-only)."""

from __future__ import annotations


import pytest
import torch

from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "semisup" / "tests"


@pytest.fixture(scope="module")
def cases():
    alias = "cv3_test_semisup_accuracy_cases"
    return load_module(HIDDEN / "accuracy_cases.py", alias)


@pytest.fixture(scope="module")
def targets(cases):
    splits = cases.make_splits(123)
    return {"splits": splits, "baseline": [0.8] * len(splits)}


def outputs_from(cases, targets, predict):
    outs = []
    for s in targets["splits"]:
        q = torch.cat([s["x_heldout"], cases.grid()])
        u = s["x_unlabeled"].shape[0]
        outs.append({"predictions": predict(s, q), "pseudo_labels": torch.zeros(u, dtype=torch.int64),
                     "mask": torch.arange(u) % 2 == 0, "losses": torch.linspace(1.0, 0.1, 50)})
    return outs


def test_splits_are_deterministic_and_sized(cases):
    a, b = cases.make_splits(7), cases.make_splits(7)
    assert len(a) == cases.SPLITS
    for s, t in zip(a, b):
        assert torch.equal(s["x_heldout"], t["x_heldout"])
        assert s["x_labeled"].shape == (2 * cases.LABELS_PER_CLASS, 2)
        assert sorted(s["y_labeled"].tolist()) == [0] * cases.LABELS_PER_CLASS + [1] * cases.LABELS_PER_CLASS
        assert s["x_heldout"].shape == (cases.HELDOUT, 2)
    assert not torch.equal(cases.make_splits(8)[0]["x_heldout"], a[0]["x_heldout"])


def test_perfect_predictions_score_the_gain_over_the_baseline(cases, targets):
    perfect = outputs_from(cases, targets, lambda s, q: torch.cat([s["y_heldout"], torch.zeros(cases.GRID ** 2,
                                                                                                dtype=torch.int64)]))
    value, details = cases.score(perfect, targets)
    assert value == pytest.approx(0.2)
    assert details["median_gain"] == pytest.approx(0.2)
    assert len(details["table"]["rows"]) == cases.SPLITS
    titles = [f["title"] for f in details["figures"]]
    assert len(titles) == 3 and all(f["svg"].startswith("<svg") for f in details["figures"])
    audiences = [f.get("audience", "instructor") for f in details["figures"]]
    assert audiences == ["public", "instructor", "public"]  # held-out points: instructor only


def test_constant_predictions_lose(cases, targets):
    const = outputs_from(cases, targets, lambda s, q: torch.zeros(q.shape[0], dtype=torch.int64))
    value, _ = cases.score(const, targets)
    assert value < 0


@pytest.mark.parametrize("bad,match", [
    (lambda o: o[:-1], "one per split"),
    (lambda o: [[1]] + o[1:], "must return a dict"),
    (lambda o: [{**o[0], "predictions": o[0]["predictions"].float()}] + o[1:], "predictions"),
    (lambda o: [{**o[0], "predictions": o[0]["predictions"][:-1]}] + o[1:], "predictions"),
    (lambda o: [{**o[0], "predictions": o[0]["predictions"] + 2}] + o[1:], "classes 0 or 1"),
    (lambda o: [{**o[0], "mask": o[0]["mask"].long()}] + o[1:], "mask"),
    (lambda o: [{k: v for k, v in o[0].items() if k != "pseudo_labels"}] + o[1:], "pseudo_labels"),
    (lambda o: [{**o[0], "losses": [1.0, 2.0]}] + o[1:], "losses"),
])
def test_malformed_outputs_are_refused(cases, targets, bad, match):
    good = outputs_from(cases, targets, lambda s, q: torch.zeros(q.shape[0], dtype=torch.int64))
    with pytest.raises(ValueError, match=match):
        cases.score(bad(good), targets)


def test_the_calls_carry_no_heldout_labels(cases, monkeypatch):
    monkeypatch.setattr(cases, "SPLITS", 1)
    calls, targets = cases.holdout(seed=5)
    (args, kwargs), = calls
    assert [type(a) for a in args] == [torch.Tensor] * 4 and kwargs == {"seed": 0}
    assert args[1].shape == (2 * cases.LABELS_PER_CLASS,)  # only the labeled points' labels
    assert args[3].shape == (cases.HELDOUT + cases.GRID ** 2, 2)
    assert 0.5 < targets["baseline"][0] <= 1.0


def test_paired_score_is_the_agreement_with_the_reference_run(cases, targets):
    n = cases.HELDOUT + cases.GRID ** 2
    ref = [torch.arange(n) % 2 for _ in targets["splits"]]
    paired = {**targets, "reference": ref}
    same = outputs_from(cases, paired, lambda s, q: torch.arange(q.shape[0]) % 2)
    value, details = cases.score_paired(same, paired)
    assert value == 1.0 and details["min_agreement"] == 1.0
    # one split disagrees everywhere, another on a quarter of the points
    other = outputs_from(cases, paired, lambda s, q: torch.arange(q.shape[0]) % 2)
    other[0]["predictions"] = 1 - other[0]["predictions"]
    other[1]["predictions"][: n // 4] = 1 - other[1]["predictions"][: n // 4]
    value, details = cases.score_paired(other, paired)
    k = len(ref)
    assert value == pytest.approx((k - 1 - (n // 4) / n) / k)
    assert details["min_agreement"] == 0.0 and len(details["table"]["rows"]) == k
    with pytest.raises(ValueError, match="one per split"):
        cases.score_paired(same[:-1], paired)


def test_holdout_keeps_the_reference_self_training_predictions(cases, monkeypatch):
    monkeypatch.setattr(cases, "SPLITS", 1)
    calls, targets = cases.holdout(seed=5)
    (pred,) = targets["reference"]
    assert pred.dtype == torch.int64 and pred.shape == (cases.HELDOUT + cases.GRID ** 2,)
    acc = float((pred[:cases.HELDOUT] == targets["splits"][0]["y_heldout"]).double().mean())
    assert acc > 0.5
