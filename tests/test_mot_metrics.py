"""The harness' vectorised MOT evaluator (harness/metrics/mot.py) against motmetrics.

motmetrics 1.4.0 is the oracle: ``MOTAccumulator`` fed frame by frame with distance matrices
computed here (1 - IoU, nan beyond the threshold) and ``metrics.create().compute_many``. Every
count must be identical; ratios agree to 1e-9. Boxes are random floats: no ties in any
assignment, which different solvers may break differently.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness.metrics import benchmark_mot, evaluate_mot, evaluate_mot_many
from harness.metrics.mot import COUNT_KEYS, RATIO_KEYS, motmetrics_accumulator, motmetrics_evaluate

mm = pytest.importorskip("motmetrics")


def random_sequence(seed, frames=40, objects=8, miss=0.15, swap=0.05, fp=0.8, noise=3.0, gap=0.05, dup=0.0):
    """Moving gt boxes with births/deaths and gaps; a noisy output with misses, id swaps, FPs."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 200, (objects, 2))
    vel = rng.normal(0, 2, (objects, 2))
    size = rng.uniform(10, 40, (objects, 2))
    life = np.sort(rng.integers(1, frames + 1, (objects, 2)), axis=1)
    gt, pred, idmap = [], [], {}
    for f in range(1, frames + 1):
        for o in range(objects):
            if life[o, 0] <= f <= life[o, 1] and rng.random() > gap:
                p = pos[o] + vel[o] * f
                gt.append([f, o + 1, *p, *(p + size[o])])
                if rng.random() < miss:
                    continue
                if rng.random() < swap or o not in idmap:
                    idmap[o] = int(rng.integers(1, 3 * objects))
                pred.append([f, idmap[o], *(np.array([*p, *(p + size[o])]) + rng.normal(0, noise, 4))])
                if rng.random() < dup:  # a second, often closer, box under another id
                    pred.append([f, 100 + int(rng.integers(0, 5)),
                                 *(np.array([*p, *(p + size[o])]) + rng.normal(0, noise / 2, 4))])
        for _ in range(rng.poisson(fp)):
            p = rng.uniform(0, 250, 2)
            pred.append([f, int(rng.integers(1, 3 * objects)), *p, *(p + rng.uniform(10, 40, 2))])
    gt, pred = np.array(gt).reshape(-1, 6), np.array(pred).reshape(-1, 6)
    _, first = np.unique(pred[:, :2], axis=0, return_index=True)
    pred = pred[np.sort(first)]
    pred[:, 4:] = np.maximum(pred[:, 4:], pred[:, 2:4] + 1)
    return gt, pred


def assert_same(got, expected, case=""):
    for k in COUNT_KEYS:
        assert type(got[k]) is int and got[k] == expected[k], f"[{case}] {k}: {got[k]} vs motmetrics {expected[k]}"
    for k in RATIO_KEYS:
        a, b = got[k], expected[k]
        assert type(a) is float
        assert (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-9 * max(1.0, abs(b)), \
            f"[{case}] {k}: {a!r} vs motmetrics {b!r}"


@pytest.mark.parametrize("seed", range(15))
def test_random_sequences_match_motmetrics(seed):
    kw = [{}, {"objects": 15, "swap": 0.2, "noise": 5.0}, {"frames": 80, "objects": 4, "fp": 2.0},
          {"miss": 0.5, "gap": 0.3}, {"dup": 0.4, "swap": 0.02}][seed % 5]
    gt, pred = random_sequence(seed, **kw)
    assert_same(evaluate_mot(gt, pred), motmetrics_evaluate(gt, pred), f"seed {seed} {kw}")


@pytest.mark.parametrize("iou_threshold", [0.1, 0.3, 0.7, 1.0])  # 0 would let disjoint boxes (all at d = 1) tie
def test_thresholds_match_motmetrics(iou_threshold):
    gt, pred = random_sequence(100, noise=5.0)
    assert_same(evaluate_mot(gt, pred, iou_threshold), motmetrics_evaluate(gt, pred, iou_threshold),
                f"threshold {iou_threshold}")


def rows(*items):
    return np.array(items, dtype=np.float64).reshape(-1, 6)


CRAFTED = {
    "empty frames between": (
        rows([1, 1, 0, 0, 10, 10], [5, 1, 1, 0, 11, 10], [9, 1, 2, 0, 12, 10]),
        rows([1, 3, 0, 0, 10, 10], [3, 3, 40, 40, 50, 50], [9, 4, 2, 1, 12, 11])),
    "earlier match kept over a cheaper pair": (
        rows([1, 1, 0, 0, 10, 10], [2, 1, 0, 0, 10, 10]),
        rows([1, 1, 1, 1, 11, 11], [2, 1, 1, 1, 11, 11], [2, 2, 0, 0, 10, 10])),
    "switch and switch back": (
        rows(*[[f, 1, 10 * f, 0, 10 * f + 20, 40] for f in range(1, 7)]),
        rows(*[[f, h, 10 * f + 1, 1, 10 * f + 21, 41] for f, h in zip(range(1, 7), [5, 5, 6, 6, 5, 5])])),
    "id reappearing after a gap with a new hypothesis": (
        rows([1, 2, 50, 0, 60, 10], [2, 2, 51, 0, 61, 10], [6, 2, 52, 0, 62, 10], [7, 2, 53, 0, 63, 10]),
        rows([1, 8, 50, 1, 60, 11], [2, 8, 51, 1, 61, 11], [4, 8, 90, 90, 99, 99], [6, 9, 52, 1, 62, 11],
             [7, 9, 53, 0, 63, 11])),
    "hypothesis transferred between objects": (
        rows([1, 1, 0, 0, 10, 10], [2, 2, 30, 0, 40, 10], [3, 1, 20, 0, 30, 10], [3, 2, 22, 0, 32, 10]),
        rows([1, 3, 0, 0, 10, 10], [2, 3, 30, 0, 40, 10], [3, 3, 21, 0, 31, 10], [3, 4, 23, 1, 33, 11])),
    "more matches beat a cheaper single match": (
        rows([1, 1, 0, 0, 10, 10], [1, 2, 4, 0, 14, 10]),
        rows([1, 1, 2, 0, 12, 10], [1, 2, 5.5, 0, 15.5, 10])),
    "perfect": (rows([1, 1, 0, 0, 5, 5], [2, 1, 1, 0, 6, 5]), rows([1, 7, 0, 0, 5, 5], [2, 7, 1, 0, 6, 5])),
    "no predictions": (rows([1, 1, 0, 0, 5, 5], [2, 2, 1, 0, 6, 5]), rows()),
    "no ground truth": (rows(), rows([1, 1, 0, 0, 5, 5], [3, 2, 1, 0, 6, 5])),
    "nothing at all": (rows(), rows()),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_sequences_match_motmetrics(name):
    gt, pred = CRAFTED[name]
    assert_same(evaluate_mot(gt, pred), motmetrics_evaluate(gt, pred), name)


def test_crafted_expectations():
    got = evaluate_mot(*CRAFTED["switch and switch back"])
    assert (got["num_switches"], got["num_matches"]) == (2, 4)
    got = evaluate_mot(*CRAFTED["earlier match kept over a cheaper pair"])
    assert (got["num_switches"], got["num_false_positives"]) == (0, 1)
    got = evaluate_mot(*CRAFTED["perfect"])
    assert got["mota"] == 1.0 and got["motp"] == 0.0 and got["idf1"] == 1.0
    got = evaluate_mot(*CRAFTED["no ground truth"])
    assert got["mota"] == -math.inf and math.isnan(got["motp"]) and got["num_frames"] == 2


def test_row_order_and_input_types_do_not_matter():
    gt, pred = random_sequence(7)
    expected = evaluate_mot(gt, pred)
    rng = np.random.default_rng(0)
    assert evaluate_mot(gt[rng.permutation(len(gt))], pred[rng.permutation(len(pred))]) == expected
    assert evaluate_mot(torch.from_numpy(gt), torch.from_numpy(pred)) == expected
    assert evaluate_mot(gt.tolist(), pred.tolist()) == expected


def test_bad_input_is_rejected():
    gt, pred = random_sequence(8, frames=5)
    with pytest.raises(ValueError, match=r"shape \[N, 6\]"):
        evaluate_mot(gt[:, :5], pred)
    with pytest.raises(ValueError, match="appears more than once"):
        evaluate_mot(gt, np.concatenate([pred, pred[:1]]))
    bad = pred.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        evaluate_mot(gt, bad)
    with pytest.raises(ValueError, match="iou_threshold"):
        evaluate_mot(gt, pred, 1.5)


def test_overall_matches_motmetrics_compute_many():
    pairs = [random_sequence(s, frames=25) for s in (20, 21, 22)]
    ours = evaluate_mot_many(pairs)
    accs = [motmetrics_accumulator(g, p) for g, p in pairs]
    names = ["a", "b", "c"]
    summary = mm.metrics.create().compute_many(accs, metrics=list(COUNT_KEYS + RATIO_KEYS), names=names,
                                               generate_overall=True)
    for row, mine in zip(names + ["OVERALL"], ours["sequences"] + [ours["overall"]]):
        theirs = summary.loc[row]
        expected = {k: (int(theirs[k]) if k in COUNT_KEYS else float(theirs[k])) for k in COUNT_KEYS + RATIO_KEYS}
        assert_same(mine, expected, row)


def test_benchmark_reports_equal_counts_and_a_speedup():
    pairs = [random_sequence(s, frames=30) for s in (30, 31)]
    out = benchmark_mot(pairs, repeats=1)
    assert out["equal_counts"] and out["mismatches"] == []
    assert out["sequences"] == 2 and out["gt_rows"] == sum(len(g) for g, _ in pairs)
    assert out["harness_s"] > 0 and out["motmetrics_s"] > 0
    assert out["speedup"] == pytest.approx(out["motmetrics_s"] / out["harness_s"])
