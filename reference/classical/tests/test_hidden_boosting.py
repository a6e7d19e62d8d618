"""Hidden tests of Viola-Jones: stumps [stumps], AdaBoost [adaboost], the cascade [cascade] and
detection [vj_detect].

Oracles: float64 loops written here (brute-force stumps over every threshold, Viola and Jones'
Table 1 AdaBoost, the cascade's per-stage filtering), ``torchvision.ops.nms``, and the reference
for the end-to-end cascade detection (same cascade, same image).
"""

import math

import numpy as np
import pytest
import torch
import torchvision

from face_data import faces_data, small_cascade
from harness.testkit import assert_tensor


def data(n, k, seed, dtype=torch.float64, ties=False):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, k, generator=gen, dtype=torch.float64)
    if ties:
        x = (x * 2).round() / 2
    y = (x[:, 0] + 0.5 * x[:, 1 % k] + 0.7 * torch.randn(n, generator=gen, dtype=torch.float64) > 0).long()
    return x.to(dtype), y


def brute_stump_error(x, y, w):
    """Least weighted error over every feature, every threshold between sorted values (and
    outside them) and both polarities: float64 loops."""
    x, w, y = x.double().numpy(), w.double().numpy(), y.numpy()
    best = math.inf
    for j in range(x.shape[1]):
        v = np.unique(x[:, j])
        cands = [v[0] - 1.0, v[-1] + 1.0] + [(a + b) / 2 for a, b in zip(v[:-1], v[1:])]
        for t in cands:
            for p in (1, -1):
                pred = (p * x[:, j] < p * t).astype(np.int64)
                best = min(best, float(w[pred != y].sum()))
    return best


def loop_adaboost(x, y, rounds):
    """Viola and Jones' Table 1, float64, with the brute-force stump."""
    x64 = x.double().numpy()
    yy = y.numpy()
    pos, neg = yy.sum(), len(yy) - yy.sum()
    w = np.where(yy == 1, 1 / (2 * pos), 1 / (2 * neg))
    alphas, errors, preds = [], [], []
    for _ in range(rounds):
        w = w / w.sum()
        best = None
        for j in range(x64.shape[1]):
            v = np.unique(x64[:, j])
            cands = [v[0] - 1.0, v[-1] + 1.0] + [(a + b) / 2 for a, b in zip(v[:-1], v[1:])]
            for t in cands:
                for p in (1, -1):
                    pred = (p * x64[:, j] < p * t).astype(np.int64)
                    e = float(w[pred != yy].sum())
                    if best is None or e < best[0] - 1e-15:
                        best = (e, pred)
        e, pred = best
        ec = min(max(e, 1e-10), 1 - 1e-10)
        beta = ec / (1 - ec)
        w = np.where(pred == yy, w * beta, w)
        alphas.append(math.log(1 / beta))
        errors.append(e)
        preds.append(pred)
    return np.array(alphas), np.array(errors), np.stack(preds, 1)


# -------------------------------------------------------------------------------------- stumps
@pytest.mark.task("stumps")
@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, False), (3, True)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fit_stump_finds_the_least_weighted_error(student, seed, ties, dtype):
    x, y = data(40, 6, seed, dtype=dtype, ties=ties)
    gen = torch.Generator().manual_seed(seed + 100)
    w = torch.rand(40, generator=gen, dtype=torch.float64)
    w = w / w.sum()
    j, t, p, err = student.fit_stump(x, y, w)
    assert type(j) is int and type(p) is int and p in (1, -1)
    assert abs(err - brute_stump_error(x, y, w)) < 1e-12
    pred = student.stump_predict(x, j, t, p)
    assert abs(float(w[pred != y].sum()) - err) < 1e-12


@pytest.mark.task("stumps")
def test_fit_stump_between_adjacent_float32_values(student):
    # 1 and the next float32 above it: their midpoint exists only in float64 (in float32 it rounds
    # onto one of them and the stump misclassifies a sample); the spec's least error is 0
    lo = torch.tensor(1.0, dtype=torch.float32)
    hi = torch.nextafter(lo, torch.tensor(2.0))
    x = torch.stack([lo, hi, lo - 1, hi + 1])[:, None]  # [4, 1] float32
    y = torch.tensor([1, 0, 1, 0])
    j, t, p, err = student.fit_stump(x, y, torch.full((4,), 0.25, dtype=torch.float64))
    assert err == 0.0, f"a threshold strictly between 1 and the next float32 separates the classes, error {err}"
    assert_tensor(student.stump_predict(x, j, t, p), y, case="the stump on its own training samples")


@pytest.mark.task("adaboost")
def test_adaboost_predict_at_exactly_half_the_alpha_sum(student):
    # "1 iff sum alpha_t h_t(x) >= 0.5 sum alpha_t": one of two equal votes is exactly half
    model = {"feature": torch.tensor([0, 1]), "threshold": torch.tensor([0.5, 0.5], dtype=torch.float64),
             "polarity": torch.tensor([1, 1]), "alpha": torch.tensor([0.7, 0.7], dtype=torch.float64)}
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)  # votes 1/2, 0/2, 2/2
    assert_tensor(student.adaboost_predict(x, model), torch.tensor([1, 0, 1]), case="a score of exactly half")


@pytest.mark.task("stumps")
def test_fit_stump_uses_the_weights(student):
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([1, 0, 1, 0])
    w = torch.tensor([0.1, 0.1, 0.7, 0.1], dtype=torch.float64)
    j, t, p, err = student.fit_stump(x, y, w)
    assert abs(err - 0.1) < 1e-12  # predict 1 below 2.5: misses sample 1 only
    assert (p, t) == (1, 2.5)
    w2 = torch.tensor([0.7, 0.1, 0.05, 0.15], dtype=torch.float64)
    j, t, p, err = student.fit_stump(x, y, w2)
    assert abs(err - 0.05) < 1e-12 and (p, t) == (1, 0.5)  # now missing sample 2 is cheaper


@pytest.mark.task("stumps")
def test_fit_stump_thresholds_are_midpoints_or_outside(student):
    x = torch.tensor([[0.0], [1.0], [1.0], [4.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 1])
    j, t, p, err = student.fit_stump(x, y, torch.full((4,), 0.25, dtype=torch.float64))
    assert (t, p, err) == (2.5, -1, 0.0)
    y_all = torch.ones(4, dtype=torch.int64)
    j, t, p, err = student.fit_stump(x, y_all, torch.full((4,), 0.25, dtype=torch.float64))
    assert err == 0.0 and (t, p) in ((5.0, 1), (-1.0, -1))


@pytest.mark.task("stumps")
def test_fit_stump_never_splits_between_equal_values(student):
    x = torch.tensor([[1.0], [1.0], [1.0], [2.0]], dtype=torch.float64)
    y = torch.tensor([1, 0, 0, 0])
    j, t, p, err = student.fit_stump(x, y, torch.full((4,), 0.25, dtype=torch.float64))
    assert abs(err - 0.25) < 1e-12  # no threshold separates the tied sample


@pytest.mark.task("stumps")
def test_stump_predict_is_strict(student):
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]], dtype=torch.float32)
    assert_tensor(student.stump_predict(x, 0, 1.0, 1), torch.tensor([1, 0, 0]))
    assert_tensor(student.stump_predict(x, 1, 1.0, -1), torch.tensor([0, 1, 0]))
    assert_tensor(student.stump_predict(x, 1, 5.0, 1), torch.tensor([1, 1, 1]))


@pytest.mark.task("stumps")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.fit_stump(torch.zeros(3, 2, dtype=torch.int64), torch.zeros(3, dtype=torch.int64),
                           torch.ones(3, dtype=torch.float64)), TypeError, "features"),
    (lambda s: s.fit_stump(torch.zeros(3, 2), torch.zeros(3), torch.ones(3, dtype=torch.float64)),
     TypeError, "labels"),
    (lambda s: s.fit_stump(torch.zeros(3, 2), torch.tensor([0, 2, 1]), torch.ones(3, dtype=torch.float64)),
     ValueError, "labels"),
    (lambda s: s.fit_stump(torch.zeros(3, 2), torch.tensor([0, 1, 1]), torch.ones(2, dtype=torch.float64)),
     ValueError, "weights"),
    (lambda s: s.fit_stump(torch.zeros(3, 2), torch.tensor([0, 1, 1]), -torch.ones(3, dtype=torch.float64)),
     ValueError, "weights"),
    (lambda s: s.fit_stump(torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64), torch.ones(0, dtype=torch.float64)),
     ValueError, "features"),
    (lambda s: s.fit_stump(torch.zeros(3), torch.tensor([0, 1, 1]), torch.ones(3, dtype=torch.float64)),
     ValueError, "features"),
    (lambda s: s.fit_stump(torch.zeros(3, 2), torch.tensor([0, 1]), torch.ones(3, dtype=torch.float64)),
     ValueError, "labels"),
    (lambda s: s.fit_stump([[0.0], [1.0]], torch.tensor([0, 1]), torch.ones(2, dtype=torch.float64)),
     TypeError, "features"),
    (lambda s: s.stump_predict(torch.zeros(3, 2), 0, 0.0, 0), ValueError, "polarity"),
    (lambda s: s.stump_predict(torch.zeros(3, 2), 2, 0.0, 1), ValueError, "feature"),
], ids=["x-int", "y-float", "y-2", "w-shape", "w-neg", "empty", "1d", "y-shape", "x-list", "polarity",
        "feature"])
def test_stump_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)


# ------------------------------------------------------------------------------------ adaboost
@pytest.mark.task("adaboost")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adaboost_equals_viola_jones_table_1(student, seed):
    x, y = data(36, 4, seed, ties=seed == 1)
    model = student.adaboost(x, y, 6)
    alphas, errors, preds = loop_adaboost(x, y, 6)
    assert set(model) >= {"feature", "threshold", "polarity", "alpha", "error"}
    assert model["feature"].dtype == torch.int64 and model["polarity"].dtype == torch.int64
    assert [model[k].dtype for k in ("threshold", "alpha", "error")] == [torch.float64] * 3, \
        "threshold, alpha and error are float64 [T] (a float32 threshold moves the stump)"
    assert_tensor(model["error"], torch.from_numpy(errors), atol=1e-10, rtol=1e-8)
    assert_tensor(model["alpha"], torch.from_numpy(alphas), atol=1e-8, rtol=1e-8)
    scores = student.boosted_scores(x, model)
    expected = torch.from_numpy(preds.astype(np.float64) @ alphas)
    assert_tensor(scores, expected, atol=1e-8, rtol=1e-8)
    assert_tensor(student.adaboost_predict(x, model), (expected >= 0.5 * alphas.sum()).long())


@pytest.mark.task("adaboost")
def test_adaboost_initial_weights_balance_the_classes(student):
    # 2 positives, 6 negatives: weights 1/4 per positive, 1/12 per negative. The best stump
    # misses one positive and one negative (1/3); calling everything "non-face" would cost 1/2.
    # With uniform weights (1/8 each) calling everything "non-face" costs only 2/8.
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0]], dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 0, 0, 0, 1, 0])
    model = student.adaboost(x, y, 1)
    assert abs(float(model["error"][0]) - 1 / 3) < 1e-12
    uniform = student.adaboost(x, y, 1, weights=torch.ones(8, dtype=torch.float64))
    assert abs(float(uniform["error"][0]) - 0.25) < 1e-12
    assert abs(float(uniform["alpha"][0]) - math.log(3.0)) < 1e-12
    small = student.adaboost(x, y, 1, weights=torch.full((8,), 0.05, dtype=torch.float64))  # sum 0.4: valid
    assert_tensor(small["alpha"], uniform["alpha"], atol=1e-12, rtol=0)


@pytest.mark.task("adaboost")
def test_adaboost_separable_data_clamps_the_error(student):
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([1, 1, 0, 0])
    model = student.adaboost(x, y, 2)
    assert float(model["error"][0]) == 0.0
    assert abs(float(model["alpha"][0]) - math.log((1 - 1e-10) / 1e-10)) < 1e-6
    assert bool(torch.isfinite(model["alpha"]).all())
    assert_tensor(student.adaboost_predict(x, model), y)


@pytest.mark.task("adaboost")
def test_adaboost_reweighting_moves_to_the_hard_samples(student):
    x, y = data(60, 5, 7)
    model = student.adaboost(x, y, 8)
    train_err = float((student.adaboost_predict(x, model) != y).double().mean())
    first = float((student.stump_predict(x, int(model["feature"][0]), float(model["threshold"][0]),
                                         int(model["polarity"][0])) != y).double().mean())
    assert train_err <= first
    assert len(set(zip(model["feature"].tolist(), model["threshold"].tolist()))) > 1


@pytest.mark.task("adaboost")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.adaboost(torch.zeros(3, 2), torch.tensor([0, 1, 1]), 0), ValueError, "num_rounds"),
    (lambda s: s.adaboost(torch.zeros(3, 0), torch.tensor([0, 1, 1]), 1), ValueError, "features"),
    (lambda s: s.adaboost(torch.zeros(3, 2), torch.tensor([1, 1, 1]), 2), ValueError, "labels|both classes"),
    # float64 weights (the documented dtype), so that only the sum or the shape is wrong
    (lambda s: s.adaboost(torch.zeros(3, 2), torch.tensor([0, 1, 1]), 2, weights=torch.zeros(3, dtype=torch.float64)),
     ValueError, "weights"),
    (lambda s: s.adaboost(torch.zeros(3, 2), torch.tensor([0, 1, 1]), 2, weights=torch.ones(2, dtype=torch.float64)),
     ValueError, "weights|labels|features"),
    (lambda s: s.boosted_scores(torch.zeros(3, 2), {"feature": torch.zeros(1, dtype=torch.int64)}),
     ValueError, "model"),
    (lambda s: s.boosted_scores(torch.zeros(3, 1, dtype=torch.int64), s.adaboost(torch.tensor([[0.0], [1.0]]),
                                                                                 torch.tensor([0, 1]), 1)),
     TypeError, "features"),
], ids=["rounds", "no-feature", "one-class", "zero-weights", "weights-shape", "model", "scores-int"])
def test_adaboost_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)


# ------------------------------------------------------------------------------------- cascade
@pytest.mark.task("cascade")
@pytest.mark.parametrize("rate, expected", [(1.0, 0.2), (0.8, 0.2), (0.75, 0.4), (0.6, 0.4), (0.5, 0.6), (0.2, 0.9),
                                            (0.01, 0.9)])
def test_stage_threshold_keeps_the_detection_rate(student, rate, expected):
    scores = torch.tensor([0.9, 0.1, 0.6, 0.4, 0.05, 0.2, 0.7, 0.8], dtype=torch.float64)
    labels = torch.tensor([1, 0, 1, 1, 0, 1, 0, 0])  # positives: 0.9, 0.6, 0.4, 0.2
    assert student.stage_threshold(scores, labels, rate) == expected
    passed = scores[labels == 1] >= student.stage_threshold(scores, labels, rate)
    assert float(passed.double().mean()) >= rate


@pytest.mark.task("cascade")
@pytest.mark.parametrize("rate, kth", [(0.07, 7), (0.28, 28), (0.55, 55), (0.5, 50), (0.071, 8)])
def test_stage_threshold_ceiling_tolerates_round_off(student, rate, kth):
    # 0.07 * 100 = 7.000000000000001 and 0.55 * 100 = 55.00000000000001 in floating point: the
    # docstring pins ceil(d * P - 1e-9), so they keep 7 and 55 positives, not 8 and 56
    pos = torch.arange(100, 0, -1, dtype=torch.float64)  # 100, 99, ..., 1: the k-th largest is 101 - k
    scores = torch.cat([pos, torch.tensor([0.5, 200.0], dtype=torch.float64)])
    labels = torch.cat([torch.ones(100, dtype=torch.int64), torch.zeros(2, dtype=torch.int64)])
    assert student.stage_threshold(scores, labels, rate) == float(101 - kth)


def stump_outputs(x, model):
    """[N, T] 0/1 float64 outputs of a model's stumps, computed here."""
    x = x.double()[:, model["feature"]]
    pol = model["polarity"].double()
    return (pol * x < pol * model["threshold"].double()).double()


def replay_adaboost(x, y, model):
    """Check a model round by round against Table 1, following the model's own stump choices
    (robust to ties between equally good stumps): each round's error is the least possible
    under the weights the earlier rounds produced, the stump achieves it, alpha = log((1-e)/e)."""
    yy = y.numpy()
    pos, neg = yy.sum(), len(yy) - yy.sum()
    w = torch.from_numpy(np.where(yy == 1, 1 / (2 * pos), 1 / (2 * neg)))
    out = stump_outputs(x, model)
    for t in range(model["alpha"].shape[0]):
        w = w / w.sum()
        wrong = out[:, t].long() != y
        e = float(w[wrong].sum())
        assert abs(e - brute_stump_error(x, y, w)) < 1e-10, f"round {t}: not the least weighted error"
        assert abs(float(model["error"][t]) - e) < 1e-10
        ec = min(max(e, 1e-10), 1 - 1e-10)
        assert abs(float(model["alpha"][t]) - math.log((1 - ec) / ec)) < 1e-8
        w = torch.where(wrong, w, w * ec / (1 - ec))


@pytest.mark.task("cascade")
@pytest.mark.parametrize("n, k, seed, rate", [(50, 4, 0, 0.95), (50, 4, 1, 1.0), (50, 4, 2, 0.9), (50, 4, 3, 0.8),
                                              (120, 5, 1, 0.8)])
def test_train_cascade_equals_the_definition(student, n, k, seed, rate):
    """Stage i: AdaBoost on every positive and the negatives that stages 0 .. i-1 accept, its
    threshold the ceil(d P)-th largest score of every positive (those an earlier stage rejected
    included; on (120, 5, 1, 0.8) the third stage's threshold over only the positives that
    passed stages 0 and 1 differs); recomputed here from the stages."""
    x, y = data(n, k, seed)
    rounds = [1, 2, 3]
    cascade = student.train_cascade(x, y, rounds, rate)
    assert type(cascade) is list and 1 <= len(cascade) <= 3
    reach = torch.ones(n, dtype=torch.bool)
    for i, stage in enumerate(cascade):
        assert stage["alpha"].shape == (rounds[i],)
        xs, ys = x[reach], y[reach]
        replay_adaboost(xs, ys, stage)
        sc = stump_outputs(xs, stage) @ stage["alpha"].double()
        pos = sc[ys == 1].sort(descending=True).values
        thr = float(pos[max(math.ceil(rate * pos.numel() - 1e-9), 1) - 1])
        assert stage["stage_threshold"].dtype == torch.float64
        assert abs(float(stage["stage_threshold"]) - thr) < 1e-8
        passed = stump_outputs(x, stage) @ stage["alpha"].double() >= float(stage["stage_threshold"])
        reach = reach & (passed | (y == 1))
    if len(cascade) < 3:
        assert not bool((reach & (y == 0)).any())
    labels, depth = student.cascade_predict(x, cascade)
    assert labels.dtype == torch.int64 and depth.dtype == torch.int64
    assert float(labels[y == 1].double().mean()) >= rate ** len(cascade) - 1e-12


@pytest.mark.task("cascade")
def test_cascade_stops_when_no_negative_is_left(student):
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([1, 1, 0, 0])
    cascade = student.train_cascade(x, y, [1, 1, 1], 1.0)
    assert len(cascade) == 1
    assert_tensor(student.cascade_predict(x, cascade)[0], y)


@pytest.mark.task("cascade")
def test_cascade_predict_depth_and_rejection(student):
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    one = lambda thr, pol, st: {"feature": torch.tensor([0]), "threshold": torch.tensor([thr], dtype=torch.float64),
                                "polarity": torch.tensor([pol]), "alpha": torch.tensor([1.0], dtype=torch.float64),
                                "stage_threshold": torch.tensor(st, dtype=torch.float64)}
    cascade = [one(2.5, 1, 1.0), one(0.5, -1, 1.0), one(10.0, 1, 0.5)]
    labels, depth = student.cascade_predict(x, cascade)
    assert_tensor(labels, torch.tensor([0, 1, 1, 0]))
    assert_tensor(depth, torch.tensor([1, 3, 3, 0]))
    labels, depth = student.cascade_predict(x, [one(2.5, 1, 1.0), one(1.5, 1, 1.0)])
    assert_tensor(depth, torch.tensor([2, 2, 1, 0]))  # a sample rejected once stays rejected


@pytest.mark.task("cascade")
def test_false_positive_rates_multiply_down_the_stages(student):
    x, y = data(80, 5, 11)
    cascade = student.train_cascade(x, y, [1, 2, 2, 3], 0.95)
    rates = student.cascade_rates(x, y, cascade)
    s = len(cascade)
    for key in ("detection_rate", "false_positive_rate", "overall_detection_rate", "overall_false_positive_rate"):
        assert rates[key].dtype == torch.float64 and rates[key].shape == (s,)
    assert_tensor(rates["overall_false_positive_rate"], rates["false_positive_rate"].cumprod(0), atol=1e-12)
    labels, depth = student.cascade_predict(x, cascade)
    neg, pos = y == 0, y == 1
    for i in range(s):
        reached = depth >= i
        passed = depth >= i + 1
        f = float((passed & neg).sum()) / max(int((reached & neg).sum()), 1)
        d = float((passed & pos).sum()) / max(int((reached & pos).sum()), 1)
        assert abs(float(rates["false_positive_rate"][i]) - f) < 1e-12
        assert abs(float(rates["detection_rate"][i]) - d) < 1e-12
        overall_fp = float((passed & neg).sum()) / int(neg.sum())
        assert abs(float(rates["overall_false_positive_rate"][i]) - overall_fp) < 1e-12
        assert abs(float(rates["overall_detection_rate"][i]) - float((passed & pos).sum()) / int(pos.sum())) < 1e-12
    assert float(rates["overall_false_positive_rate"][-1]) == float(labels[neg].double().mean())


@pytest.mark.task("cascade")
def test_cascade_rates_of_a_stage_nobody_reaches_are_zero(student):
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([1, 1, 0, 0])
    never = {"feature": torch.tensor([0]), "threshold": torch.tensor([-5.0], dtype=torch.float64),
             "polarity": torch.tensor([1]), "alpha": torch.tensor([1.0], dtype=torch.float64),
             "stage_threshold": torch.tensor(0.5, dtype=torch.float64)}
    rates = student.cascade_rates(x, y, [never, never])
    assert_tensor(rates["detection_rate"], torch.zeros(2, dtype=torch.float64))
    assert_tensor(rates["false_positive_rate"], torch.zeros(2, dtype=torch.float64))


@pytest.mark.task("cascade")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.stage_threshold(torch.zeros(3), torch.tensor([0, 1, 1]), 0.0), ValueError, "min_detection_rate"),
    (lambda s: s.stage_threshold(torch.zeros(3), torch.tensor([0, 1, 1]), 1.5), ValueError, "min_detection_rate"),
    (lambda s: s.stage_threshold(torch.zeros(3), torch.tensor([0, 0, 0]), 0.9), ValueError, "positive|labels"),
    (lambda s: s.stage_threshold(torch.zeros(3), torch.tensor([0, 1]), 0.9), ValueError, "scores|labels|same length"),
    (lambda s: s.train_cascade(torch.zeros(3, 1), torch.tensor([0, 1, 1]), []), ValueError, "stage_rounds"),
    (lambda s: s.train_cascade(torch.zeros(3, 1), torch.tensor([0, 1, 1]), [1, 0]), ValueError, "stage_rounds"),
    (lambda s: s.train_cascade(torch.zeros(3, 1), torch.tensor([0, 1, 1]), [1], 0.0), ValueError,
     "min_detection_rate"),
    (lambda s: s.cascade_predict(torch.zeros(3, 1), [{"feature": torch.zeros(1, dtype=torch.int64),
                                                      "threshold": torch.zeros(1), "polarity": torch.ones(1),
                                                      "alpha": torch.ones(1)}]), ValueError, "stage_threshold|cascade"),
    (lambda s: s.cascade_rates(torch.zeros(3, 1), torch.tensor([1, 1, 1]), []), ValueError, "labels|both classes"),
], ids=["rate-0", "rate-big", "no-pos", "length", "empty", "zero-rounds", "train-rate", "no-thr", "one-class"])
def test_cascade_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)


# ----------------------------------------------------------------------------------- vj_detect
@pytest.mark.task("vj_detect")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_normalize_windows(student, dtype):
    gen = torch.Generator().manual_seed(12)
    w = (torch.rand(5, 6, 7, generator=gen, dtype=torch.float64) * 3 + 1).to(dtype)
    w[2] = 0.5  # flat: divided by eps
    x = w.double().numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2), keepdims=True), 1e-6)
    got = student.normalize_windows(w)
    assert_tensor(got, torch.from_numpy((x - mean) / std), atol=1e-9, rtol=1e-9)
    got = student.normalize_windows(w, eps=10.0)
    assert_tensor(got, torch.from_numpy((x - mean) / 10.0), atol=1e-9, rtol=1e-9)


def clustered(n, seed):
    gen = torch.Generator().manual_seed(seed)
    ctr = torch.rand(5, 2, generator=gen) * 100
    c = ctr[torch.randint(0, 5, (n,), generator=gen)] + torch.randn(n, 2, generator=gen) * 5
    wh = torch.rand(n, 2, generator=gen) * 20 + 10
    return torch.cat([c - wh / 2, c + wh / 2], 1), torch.randperm(n, generator=gen).float() / n + 0.01


@pytest.mark.task("vj_detect")
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_nms_equals_torchvision(student, thr, seed):
    boxes, scores = clustered(60, seed)
    assert_tensor(student.nms(boxes, scores, thr), torchvision.ops.nms(boxes, scores, thr))


@pytest.mark.task("vj_detect")
@pytest.mark.parametrize("thr", [0.1, 0.5])
def test_nms_equals_torchvision_on_sub_pixel_boxes(student, thr):
    # normalised coordinates: every area and union is below one square unit
    boxes, scores = clustered(60, 2)
    boxes = boxes.double() / 200
    assert_tensor(student.nms(boxes, scores.double(), thr), torchvision.ops.nms(boxes, scores.double(), thr))


@pytest.mark.task("vj_detect")
def test_nms_strict_threshold_and_empty(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0], [20.0, 20.0, 30.0, 30.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert_tensor(student.nms(boxes, scores, 0.5), torch.tensor([0, 1, 2]))  # IoU 0.5 is not > 0.5
    assert_tensor(student.nms(boxes, scores, 0.49), torch.tensor([0, 2]))
    assert_tensor(student.nms(boxes, scores, 0.51), torch.tensor([0, 1, 2]))
    assert_tensor(student.nms(boxes, torch.tensor([0.1, 0.8, 0.7]), 0.4), torch.tensor([1, 2]))
    assert_tensor(student.nms(torch.zeros(0, 4), torch.zeros(0), 0.5), torch.zeros(0, dtype=torch.int64))
    # boxes apart by half a pixel on both axes do not overlap: kept even at threshold 0
    apart = torch.tensor([[0.0, 0.0, 10.0, 10.0], [10.5, 10.5, 20.0, 20.0], [-9.7, 10.2, -0.3, 19.0]])
    s3 = torch.tensor([0.9, 0.8, 0.7])
    assert_tensor(student.nms(apart, s3, 0.0), torchvision.ops.nms(apart, s3, 0.0))
    assert student.nms(apart, s3, 0.0).tolist() == [0, 1, 2]


def loop_windows(height, width, window, stride, scales):
    out = []
    for s in scales:
        lh, lw = round(height / s), round(width / s)
        if lh < window or lw < window:
            continue
        sy, sx = height / lh, width / lw
        for y in range(0, lh - window + 1, stride):
            for x in range(0, lw - window + 1, stride):
                out.append([x * sx, y * sy, (x + window) * sx, (y + window) * sy])
    return torch.tensor(out, dtype=torch.float64).reshape(-1, 4).float()


@pytest.mark.task("vj_detect")
@pytest.mark.parametrize("args", [(40, 50, 12, 2, [1.0]), (96, 128, 12, 3, [2.0, 2.5, 3.3]),
                                  (30, 30, 10, 1, [1.5, 4.0]), (13, 12, 12, 5, [1.0, 0.5]),
                                  (12, 20, 12, 4, [1.0, 0.9])])  # levels exactly one window high
def test_sliding_windows(student, args):
    assert_tensor(student.sliding_windows(*args), loop_windows(*args), atol=1e-4, rtol=1e-6)


@pytest.mark.task("vj_detect")
def test_sliding_windows_none_fit(student):
    assert_tensor(student.sliding_windows(10, 10, 12, 1, [1.0, 2.0]), torch.zeros(0, 4))


@pytest.mark.task("vj_detect")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.normalize_windows(torch.zeros(3, 4)), ValueError, "windows"),
    (lambda s: s.normalize_windows(torch.zeros(1, 3, 4), eps=0.0), ValueError, "eps"),
    (lambda s: s.nms(torch.zeros(3, 5), torch.zeros(3), 0.5), ValueError, "boxes"),
    (lambda s: s.nms(torch.zeros(3, 4), torch.zeros(2), 0.5), ValueError, "scores"),
    (lambda s: s.sliding_windows(10, 10, 0, 1, [1.0]), ValueError, "window"),
    (lambda s: s.sliding_windows(10, 10, 4, 0, [1.0]), ValueError, "stride"),
    (lambda s: s.sliding_windows(10, 10, 4, 1, [1.0, -2.0]), ValueError, "scales"),
    (lambda s: s.cascade_detect(torch.zeros(1, 10, 10), [], torch.zeros(0, 4, 4, dtype=torch.int64),
                                torch.zeros(0, 4)), ValueError, "image"),
    (lambda s: s.cascade_detect(torch.zeros(30, 30), [], torch.zeros(0, 4, 4, dtype=torch.int64),
                                torch.zeros(0, 4)), ValueError, "cascade"),
], ids=["win-2d", "eps", "boxes", "scores", "window", "stride", "scales", "image", "cascade"])
def test_detect_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)


@pytest.mark.task("vj_detect")
def test_cascade_detect_equals_the_reference(student, reference):
    s, scenes = faces_data()
    rects, signs, cascade = small_cascade(reference, s, [2, 4])
    for image, _ in scenes:
        for kw in ({}, {"stride": 3, "scales": [2.0, 3.0], "iou_threshold": 0.5}):
            got = student.cascade_detect(image, cascade, rects, signs, **kw)
            expected = reference.cascade_detect(image, cascade, rects, signs, **kw)
            assert_tensor(got["boxes"], expected["boxes"], atol=1e-4, rtol=1e-5)
            assert_tensor(got["scores"], expected["scores"], atol=1e-5, rtol=1e-5)
            assert got["boxes"].shape[0] > 0


@pytest.mark.task("vj_detect")
def test_trained_detector_classifies_and_detects(student):
    s, scenes = faces_data()
    # time_budget_s=0: one stage only, to keep the call short (the accuracy checks train fully)
    student.train_face_detector(s["train_faces"][:30], s["train_nonfaces"][:30], seed=0, time_budget_s=0.0)
    x = torch.cat([s["train_faces"], s["train_nonfaces"]])
    pred = student.classify_faces(x)
    assert pred.dtype == torch.int64 and pred.shape == (140,)
    assert float(pred[:30].double().mean()) >= 0.9  # a first stage keeps (almost) every training face
    out = student.detect_faces(scenes[0][0])
    assert set(out) >= {"boxes", "scores"}
    assert out["boxes"].dtype == torch.float32 and out["boxes"].shape[1:] == (4,)
    assert out["boxes"].shape[0] == out["scores"].shape[0] <= 100
