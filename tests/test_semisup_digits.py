"""The digits FixMatch accuracy check of the semisup assignment (reference/semisup/tests/digits_cases.py):
the splits hold 10% of the labels, the metric is the mean gain over the trusted supervised-only
baseline, malformed outputs are refused with a clear message (never a crash), held-out labels
never appear in the calls, and the figures are plain SVG built from the submission's curves."""

from __future__ import annotations

import types

import pytest
import torch

from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "semisup" / "tests"


@pytest.fixture(scope="module")
def cases():
    alias = "cv3_test_semisup_digits_cases"
    return load_module(HIDDEN / "digits_cases.py", alias)


@pytest.fixture(scope="module")
def targets(cases):
    splits = cases.make_splits(123)
    return {"splits": splits, "baseline": [0.6, 0.7]}


def outputs_from(targets, predict, steps=30):
    return [{"predictions": predict(s), "losses": torch.linspace(2.0, 0.1, steps),
             "mask_rate": torch.linspace(0.0, 0.8, steps)} for s in targets["splits"]]


def test_splits_hold_ten_percent_of_the_labels(cases):
    a, b = cases.make_splits(7), cases.make_splits(7)
    assert len(a) == cases.SPLITS == 2
    for s, t in zip(a, b):
        for key in s:
            assert torch.equal(s[key], t[key]), key
        assert s["x_labeled"].shape == (100, 1, 20, 20) and s["x_unlabeled"].shape == (900, 1, 20, 20)
        assert s["x_heldout"].shape == (797, 1, 20, 20) and s["y_heldout"].shape == (797,)
        assert torch.bincount(s["y_labeled"], minlength=10).tolist() == [10] * 10
        assert s["x_labeled"].dtype == torch.float32 and s["y_labeled"].dtype == torch.int64
        # labeled and unlabeled digits are disjoint: no labeled image reappears among the unlabeled
        d = torch.cdist(s["x_labeled"].flatten(1), s["x_unlabeled"].flatten(1))
        assert float(d.min()) > 0
    assert not torch.equal(a[0]["x_labeled"], a[1]["x_labeled"]), "the two splits must differ"
    assert not torch.equal(cases.make_splits(8)[0]["x_heldout"], a[0]["x_heldout"]), "the key changes the data"


def test_perfect_predictions_score_the_gain_over_the_baseline(cases, targets):
    value, details = cases.score(outputs_from(targets, lambda s: s["y_heldout"].clone()), targets)
    assert value == pytest.approx(((1 - 0.6) + (1 - 0.7)) / 2)
    assert details["mean_accuracy"] == 1.0 and details["mean_baseline"] == 0.65
    rows = details["table"]["rows"]
    assert [r[3] for r in rows] == [pytest.approx(0.4), pytest.approx(0.3)]
    assert rows[0][4] == pytest.approx(float(torch.linspace(0.0, 0.8, 30)[-20:].double().mean()), abs=1e-3)
    for fig in details["figures"]:
        assert fig["svg"].startswith("<svg") and fig["svg"].endswith("</svg>") and "polyline" in fig["svg"]
        assert fig["audience"] == "public"


def test_wrong_predictions_score_below_zero(cases, targets):
    wrong = outputs_from(targets, lambda s: (s["y_heldout"] + 1) % 10)
    value, _ = cases.score(wrong, targets)
    assert value == pytest.approx(-0.65)
    half = outputs_from(targets, lambda s: torch.where(torch.arange(797) % 2 == 0, s["y_heldout"],
                                                       (s["y_heldout"] + 1) % 10))
    value, _ = cases.score(half, targets)
    expected = sum(float((torch.arange(797) % 2 == 0).double().mean()) - b for b in (0.6, 0.7)) / 2
    assert value == pytest.approx(expected)


@pytest.mark.parametrize("mutate, message", [
    (lambda outs: outs[:1], "expected 2 results"),
    (lambda outs: "nope", "expected 2 results"),
    (lambda outs: [outs[0], [1, 2]], "split 1: train_fixmatch_digits must return a dict"),
    (lambda outs: [{**outs[0], "predictions": outs[0]["predictions"].int()}, outs[1]], "split 0: 'predictions'"),
    (lambda outs: [{**outs[0], "predictions": outs[0]["predictions"][:-1]}, outs[1]], r"Tensor\[797\]"),
    (lambda outs: [outs[0], {**outs[1], "predictions": outs[1]["predictions"] + 10}], r"classes in \[0, 10\)"),
    (lambda outs: [outs[0], {**outs[1], "predictions": outs[1]["predictions"] - 1}], r"classes in \[0, 10\)"),
    (lambda outs: [{k: v for k, v in outs[0].items() if k != "losses"}, outs[1]], "'losses'"),
    (lambda outs: [{**outs[0], "mask_rate": [0.5]}, outs[1]], "'mask_rate'"),
    (lambda outs: [{**outs[0], "mask_rate": torch.zeros(3, 2)}, outs[1]], "'mask_rate'"),
])
def test_malformed_outputs_are_refused(cases, targets, mutate, message):
    good = outputs_from(targets, lambda s: torch.zeros(797, dtype=torch.int64))
    cases.score(good, targets)  # valid as it is
    with pytest.raises(ValueError, match=message):
        cases.score(mutate(good), targets)


def test_holdout_sends_no_heldout_labels_and_trains_the_baseline_trusted(cases, monkeypatch):
    seen = []

    def fake_train(xl, yl, xu, xq, seed=0, unlabeled_weight=1.0, **kw):
        seen.append((seed, unlabeled_weight, xq.shape[0]))
        return {"predictions": torch.zeros(xq.shape[0], dtype=torch.int64)}

    monkeypatch.setattr(cases, "reference_module", lambda: types.SimpleNamespace(train_fixmatch_digits=fake_train))
    calls, targets = cases.holdout(seed=5)
    assert [s for s, _, _ in seen] == [0, 1] and all(w == 0.0 for _, w, _ in seen), "supervised-only baseline"
    for k, ((args, kwargs), s) in enumerate(zip(calls, targets["splits"])):
        assert kwargs == {"seed": k} and len(args) == 4
        assert all(type(a) is torch.Tensor for a in args)
        assert torch.equal(args[3], s["x_heldout"]) and torch.equal(args[1], s["y_labeled"])
        assert not any(a is s["y_heldout"] for a in args) and args[1].shape == (100,)
    expected = [float((s["y_heldout"] == 0).double().mean()) for s in targets["splits"]]
    assert targets["baseline"] == pytest.approx(expected)
