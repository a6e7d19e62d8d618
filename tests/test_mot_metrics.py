"""The harness' vectorised MOT evaluator (harness/metrics/mot.py) against motmetrics and TrackEval.

motmetrics 1.4.0 is the oracle of CLEAR-MOT, identity and track-quality counts (MT/PT/ML,
fragmentations): ``MOTAccumulator`` fed frame by frame with distance matrices computed here
(1 - IoU, nan beyond the threshold) and ``metrics.create().compute_many``. Every count must be
identical; ratios agree to 1e-9. TrackEval 1.3 is the oracle of HOTA and its sub-metrics: its
``HOTA`` metric class run on the same arrays (its own IoU), every per-alpha value to 1e-9.
Boxes are random floats: no ties in any assignment, which different solvers may break
differently. Real data: motmetrics' TUD-Campus and TUD-Stadtmitte (tests/data/mot, copied from
the motmetrics package) with the values motmetrics' own test suite expects.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import harness.metrics.mot as mot
from harness.metrics import benchmark_mot, evaluate_mot, evaluate_mot_many
from harness.metrics.mot import (COUNT_KEYS, HOTA_ALPHAS, HOTA_KEYS, RATIO_KEYS, TRACK_KEYS, TRACKEVAL_HOTA_NAMES,
                                 evaluate_hota, motmetrics_accumulator, motmetrics_evaluate, trackeval_hota)

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


ALL_MOTMETRICS_KEYS = COUNT_KEYS + RATIO_KEYS + TRACK_KEYS
DATA = Path(__file__).resolve().parent / "data" / "mot"


@pytest.fixture(scope="module")
def trackeval():
    return pytest.importorskip("trackeval")


def assert_same(got, expected, case=""):
    for k in COUNT_KEYS + TRACK_KEYS:
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
    assert_same(evaluate_mot(gt, pred), motmetrics_evaluate(gt, pred, keys=ALL_MOTMETRICS_KEYS), f"seed {seed} {kw}")


@pytest.mark.parametrize("iou_threshold", [0.1, 0.3, 0.7, 1.0])  # 0 would let disjoint boxes (all at d = 1) tie
def test_thresholds_match_motmetrics(iou_threshold):
    gt, pred = random_sequence(100, noise=5.0)
    assert_same(evaluate_mot(gt, pred, iou_threshold),
                motmetrics_evaluate(gt, pred, iou_threshold, keys=ALL_MOTMETRICS_KEYS), f"threshold {iou_threshold}")


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
    assert_same(evaluate_mot(gt, pred), motmetrics_evaluate(gt, pred, keys=ALL_MOTMETRICS_KEYS), name)


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


def assert_equal_metrics(got, expected, case):
    """Counts identical, ratios equal up to the order of float sums (ids in another order)."""
    assert got.keys() == expected.keys(), case
    for k, v in expected.items():
        assert type(got[k]) is type(v), f"[{case}] {k}"
        assert got[k] == v or (type(v) is float and ((math.isnan(v) and math.isnan(got[k])) or
                                                     abs(got[k] - v) <= 1e-12)), f"[{case}] {k}: {got[k]!r} vs {v!r}"


def test_ids_of_any_value_give_the_same_metrics():
    # small non-negative integer ids take a counting path, others np.unique: the same numbers
    gt, pred = random_sequence(9)
    expected = evaluate_mot(gt, pred)
    for name, f in (("huge", lambda ids: ids * 1e9 - 5e11), ("fractional", lambda ids: ids + 0.5),
                    ("negative", lambda ids: -ids)):
        g, p = gt.copy(), pred.copy()
        g[:, 1], p[:, 1] = f(g[:, 1]), f(p[:, 1])
        assert_equal_metrics(evaluate_mot(g, p), expected, name)


def test_counting_paths_equal_np_unique(monkeypatch):
    pairs = [random_sequence(s, objects=40, swap=0.3, frames=30) for s in (10, 11)] + [CRAFTED["no ground truth"]]
    expected = evaluate_mot_many(pairs)
    monkeypatch.setattr(mot, "_id_index", lambda x: np.unique(x, return_inverse=True))
    monkeypatch.setattr(mot, "_unique_keys", lambda x: np.unique(x, return_inverse=True))
    got = evaluate_mot_many(pairs)
    for i, (a, b) in enumerate(zip(got["sequences"] + [got["overall"]], expected["sequences"] + [expected["overall"]])):
        assert_equal_metrics(a, b, f"row {i}")


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
    summary = mm.metrics.create().compute_many(accs, metrics=list(ALL_MOTMETRICS_KEYS), names=names,
                                               generate_overall=True)
    for row, mine in zip(names + ["OVERALL"], ours["sequences"] + [ours["overall"]]):
        theirs = summary.loc[row]
        expected = {k: (float(theirs[k]) if k in RATIO_KEYS else int(theirs[k])) for k in ALL_MOTMETRICS_KEYS}
        assert_same(mine, expected, row)


def test_benchmark_reports_equal_counts_and_a_speedup(trackeval):
    pairs = [random_sequence(s, frames=30) for s in (30, 31)]
    out = benchmark_mot(pairs, repeats=1)
    assert out["equal_counts"] and out["equal_hota"] and out["mismatches"] == []
    assert out["hota_max_abs_diff"] <= 1e-9
    assert out["sequences"] == 2 and out["gt_rows"] == sum(len(g) for g, _ in pairs)
    assert out["harness_s"] > 0 and out["motmetrics_s"] > 0 and out["trackeval_s"] > 0
    assert out["speedup"] == pytest.approx(out["motmetrics_s"] / out["harness_s"])
    assert out["speedup_trackeval"] == pytest.approx(out["trackeval_s"] / out["harness_s"])
    assert set(HOTA_KEYS + TRACK_KEYS) <= set(out["overall"])


def test_benchmark_without_trackeval():
    out = benchmark_mot([random_sequence(32, frames=10)], repeats=1, trackeval=False)
    assert out["equal_counts"] and out["equal_hota"] and math.isnan(out["trackeval_s"])


# ------------------------------------------------------------------------------ HOTA against TrackEval

def assert_hota_same(gt, pred, case="", tol=1e-9):
    """Every per-alpha HOTA field and every summary key against TrackEval's HOTA class."""
    theirs = trackeval_hota(gt, pred)
    mine = evaluate_hota(gt, pred)
    from trackeval.metrics import HOTA

    assert np.array_equal(mine["alphas"], HOTA().array_labels) and np.array_equal(HOTA_ALPHAS, mine["alphas"])
    for key, name in TRACKEVAL_HOTA_NAMES.items():
        a, b = mine[key], np.asarray(theirs[name], dtype=np.float64)
        assert a.shape == b.shape == (19,), f"[{case}] {key}: shape {a.shape}"
        worst = float(np.max(np.abs(a - b)))
        assert worst <= tol, f"[{case}] {key} differs from TrackEval's {name} by {worst:.3g}: {a} vs {b}"
    summary = evaluate_mot(gt, pred)
    for key in HOTA_KEYS:
        expected = float(np.mean(theirs[TRACKEVAL_HOTA_NAMES[key]]))
        assert type(summary[key]) is float and abs(summary[key] - expected) <= tol, \
            f"[{case}] {key}: {summary[key]!r} vs TrackEval {expected!r}"
    return summary


@pytest.mark.parametrize("seed", range(10))
def test_random_sequences_match_trackeval_hota(trackeval, seed):
    kw = [{}, {"objects": 15, "swap": 0.2, "noise": 5.0}, {"frames": 80, "objects": 4, "fp": 2.0},
          {"miss": 0.5, "gap": 0.3}, {"dup": 0.4, "swap": 0.02}][seed % 5]
    gt, pred = random_sequence(seed, **kw)
    assert_hota_same(gt, pred, f"seed {seed} {kw}")


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_sequences_match_trackeval_hota(trackeval, name):
    assert_hota_same(*CRAFTED[name], name)


@pytest.mark.parametrize("dense_limit", [None, 0], ids=["dense", "sparse"])
def test_crowds_match_trackeval_hota(trackeval, monkeypatch, dense_limit):
    # crowded frames: many pairs are not settled by the "heavier than both rivals" rule and go
    # through the final assignment (a dense one, or the sparse one with ``_DENSE_LIMIT = 0``)
    if dense_limit is not None:
        monkeypatch.setattr(mot, "_DENSE_LIMIT", dense_limit)
    gt, pred = random_sequence(40, frames=30, objects=30, dup=0.5, noise=8.0, fp=5.0)
    assert_hota_same(gt, pred, f"crowd, dense limit {dense_limit}")


@pytest.mark.parametrize("dense_limit", [None, 0], ids=["dense", "sparse"])
def test_matching_is_a_maximum_weight_matching(monkeypatch, dense_limit):
    """Random bipartite graphs in "frames" (rows 0-7 x cols 0-7 of each): the matching has the
    weight of a Hungarian assignment of every frame's full matrix and is the same set of pairs."""
    if dense_limit is not None:
        monkeypatch.setattr(mot, "_DENSE_LIMIT", dense_limit)
    rng = np.random.default_rng(3)
    frames, n = 40, 8
    dense = rng.random((frames, n, n)) * (rng.random((frames, n, n)) < rng.uniform(0.1, 0.6, (frames, 1, 1)))
    f, i, j = np.nonzero(dense)
    gi, pj, w = f * n + i, f * n + j, dense[f, i, j]
    got = mot._max_weight_matching(gi, pj, w, frames * n, frames * n)
    assert len(set(gi[got].tolist())) == len(got) == len(set(pj[got].tolist()))
    expected = set()
    for k in range(frames):
        r, c = mot.linear_sum_assignment(dense[k], maximize=True)
        expected |= {(k * n + a, k * n + b) for a, b in zip(r.tolist(), c.tolist()) if dense[k, a, b] > 0}
    assert set(zip(gi[got].tolist(), pj[got].tolist())) == expected
    assert mot._max_weight_matching(gi[:0], pj[:0], w[:0], 0, 0).tolist() == []


def test_hota_by_hand():
    # one object over 4 frames, followed perfectly by id 5 and then id 6: every box is a TP at
    # every alpha, each TP's association score is 2 / (4 + 2 - 2) = 0.5
    gt = rows(*[[f, 1, 10 * f, 0, 10 * f + 20, 40] for f in range(1, 5)])
    pred = rows(*[[f, 5 if f <= 2 else 6, 10 * f, 0, 10 * f + 20, 40] for f in range(1, 5)])
    got = evaluate_mot(gt, pred)
    assert (got["deta"], got["assa"], got["loca"]) == (1.0, 0.5, 1.0)
    assert got["hota"] == pytest.approx(math.sqrt(0.5), abs=1e-15)
    assert (got["detre"], got["detpr"], got["assre"], got["asspr"]) == (1.0, 1.0, 0.5, 1.0)
    # one box at IoU 0.62: a TP for alpha 0.05 ... 0.60 (12 of 19), LocA 0.62 there and 1 (no TP) above
    got = evaluate_hota(rows([1, 1, 0, 0, 10, 10]), rows([1, 2, 0, 0, 10, 6.2]))
    assert got["tp"].tolist() == [1.0] * 12 + [0.0] * 7 and got["hota"].tolist() == [1.0] * 12 + [0.0] * 7
    assert got["loca"] == pytest.approx([0.62] * 12 + [1.0] * 7, abs=1e-15)
    # no predictions, no ground truth, nothing: HOTA 0, LocA 1 (TrackEval's conventions)
    for g, p in ((rows([1, 1, 0, 0, 5, 5]), rows()), (rows(), rows([1, 1, 0, 0, 5, 5])), (rows(), rows())):
        got = evaluate_mot(g, p)
        assert (got["hota"], got["deta"], got["assa"], got["loca"]) == (0.0, 0.0, 0.0, 1.0)


def test_hota_does_not_depend_on_the_threshold_and_can_be_left_out():
    gt, pred = random_sequence(41)
    a = evaluate_mot(gt, pred, 0.5)
    for threshold in (0.0, 0.3, 1.0):  # 0: every same-frame pair may match (another code path)
        b = evaluate_mot(gt, pred, threshold)
        assert all(a[k] == b[k] for k in HOTA_KEYS), threshold
    lean = evaluate_mot(gt, pred, hota=False)
    assert not set(HOTA_KEYS) & set(lean) and all(lean[k] == a[k] for k in COUNT_KEYS + TRACK_KEYS)
    assert not set(HOTA_KEYS) & set(evaluate_mot_many([(gt, pred)], hota=False)["overall"])


def test_overall_hota_matches_trackeval_combine_sequences(trackeval):
    from trackeval.metrics import HOTA

    pairs = [random_sequence(s, frames=25) for s in (42, 43, 44)] + [(rows(), rows([1, 1, 0, 0, 5, 5]))]
    ours = evaluate_mot_many(pairs)["overall"]
    combined = HOTA().combine_sequences({i: trackeval_hota(g, p) for i, (g, p) in enumerate(pairs)})
    for key in HOTA_KEYS:
        expected = float(np.mean(combined[TRACKEVAL_HOTA_NAMES[key]]))
        assert abs(ours[key] - expected) <= 1e-9, f"overall {key}: {ours[key]} vs TrackEval {expected}"


# ------------------------------------------------------------------------------ cv3data sequences

def linked_detections(seq, min_iou=0.3):
    """A crude tracker over the sequence's own detections (integer boxes): each detection takes
    the id of the previous frame's box it overlaps most (IoU >= min_iou, greedy), else a new id."""
    dets = seq["detections"].numpy()
    out, prev, next_id = [], np.zeros((0, 5)), 1
    for f in range(1, seq["num_frames"] + 1):
        cur = dets[dets[:, 0] == f][:, 1:5]
        ids = np.zeros(len(cur))
        if len(prev) and len(cur):
            iou = mot._iou_matrix(cur, prev[:, 1:])
            for _ in range(min(len(cur), len(prev))):
                i, j = np.unravel_index(np.argmax(iou), iou.shape)
                if iou[i, j] < min_iou:
                    break
                ids[i] = prev[j, 0]
                iou[i, :] = -1
                iou[:, j] = -1
        for i in np.flatnonzero(ids == 0):
            ids[i], next_id = next_id, next_id + 1
        out += [[f, ids[i], *cur[i]] for i in range(len(cur))]
        prev = np.column_stack([ids, cur])
    return np.array(out).reshape(-1, 6)


def noisy_copy(gt, seed, num_frames):
    """The ground truth with float jitter, 10% misses, a third of the ids switched half-way, FPs."""
    rng = np.random.default_rng(seed)
    out = gt[rng.random(len(gt)) > 0.1].copy()
    out[:, 2:] += rng.normal(0, 2.0, (len(out), 4))
    out[:, 4:] = np.maximum(out[:, 4:], out[:, 2:4] + 1)
    out[:, 1] += 1000 * (out[:, 0] > num_frames // 2) * (out[:, 1] % 3 == 0)
    frames = rng.integers(1, num_frames + 1, 40)
    xy = rng.uniform(0, 400, (40, 2))
    return np.concatenate([out, np.concatenate([frames[:, None], 5000 + np.arange(40)[:, None], xy, xy + 30], 1)])


@pytest.fixture(scope="module")
def cv3_sequences():
    from cv3data.mot import make_mot_split

    return make_mot_split("val", num_sequences=2, num_frames=60, num_objects=14)


@pytest.mark.parametrize("output", ["noisy ground truth", "linked detections"])
def test_cv3data_sequences_match_both_oracles(trackeval, cv3_sequences, output):
    for i, seq in enumerate(cv3_sequences):
        gt = seq["gt"].numpy()
        pred = noisy_copy(gt, i, seq["num_frames"]) if output == "noisy ground truth" else linked_detections(seq)
        case = f"{seq['name']}, {output}"
        got = assert_hota_same(gt, pred, case)
        assert_same(got, motmetrics_evaluate(gt, pred, keys=ALL_MOTMETRICS_KEYS), case)
        assert 0.3 < got["hota"] < 1.0 and got["num_fragmentations"] > 0


# ------------------------------------------------------------------------------ real data: TUD

def load_mot_txt(path):
    """MOTChallenge rows (frame, id, left, top, width, height, ...) as (frame, id, x1, y1, x2, y2)."""
    a = np.loadtxt(path, delimiter=",", ndmin=2)
    return np.column_stack([a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 2] + a[:, 4], a[:, 3] + a[:, 5]])


TUD = ("TUD-Campus", "TUD-Stadtmitte")
# motmetrics' own expectations (motmetrics/tests/test_metrics.py::test_motchallenge_files, given
# to 6 decimals): IDF1, IDP, IDR, recall, precision, GT ids, MT, PT, ML, FP, FN, IDSW, Frag, MOTA, MOTP
TUD_EXPECTED = {
    "TUD-Campus": (0.557659, 0.729730, 0.451253, 0.582173, 0.941441, 8, 1, 6, 1, 13, 150, 7, 7, 0.526462, 0.277201),
    "TUD-Stadtmitte": (0.644619, 0.819760, 0.531142, 0.608997, 0.939920, 10, 5, 4, 1, 45, 452, 7, 6, 0.564014,
                       0.345904),
    "OVERALL": (0.624296, 0.799176, 0.512211, 0.602640, 0.940268, 18, 6, 10, 2, 58, 602, 14, 13, 0.555116, 0.330177),
}


@pytest.fixture(scope="module")
def tud():
    return [(load_mot_txt(DATA / name / "gt.txt"), load_mot_txt(DATA / name / "test.txt")) for name in TUD]


def test_tud_sequences_match_motmetrics_expectations(tud):
    out = evaluate_mot_many(tud)
    for name, got in zip((*TUD, "OVERALL"), (*out["sequences"], out["overall"])):
        idf1, idp, idr, rcll, prcn, gt_ids, mt, pt, ml, fp, fn, idsw, frag, mota, motp = TUD_EXPECTED[name]
        recall = (got["num_matches"] + got["num_switches"]) / got["num_objects"]
        precision = (got["num_matches"] + got["num_switches"]) / got["num_predictions"]
        for key, value, expected in (("idf1", got["idf1"], idf1), ("idp", got["idp"], idp), ("idr", got["idr"], idr),
                                     ("recall", recall, rcll), ("precision", precision, prcn),
                                     ("mota", got["mota"], mota), ("motp", got["motp"], motp)):
            assert abs(value - expected) <= 5e-7, f"{name} {key}: {value} vs motmetrics' test {expected}"
        counts = tuple(got[k] for k in ("num_unique_objects", "mostly_tracked", "partially_tracked", "mostly_lost",
                                        "num_false_positives", "num_misses", "num_switches", "num_fragmentations"))
        assert counts == (gt_ids, mt, pt, ml, fp, fn, idsw, frag), name


def test_tud_sequences_match_motmetrics_and_trackeval(trackeval, tud):
    for name, (gt, pred) in zip(TUD, tud):
        got = assert_hota_same(gt, pred, name)
        assert_same(got, motmetrics_evaluate(gt, pred, keys=ALL_MOTMETRICS_KEYS), name)
    from trackeval.metrics import HOTA

    overall = evaluate_mot_many(tud)["overall"]
    combined = HOTA().combine_sequences({i: trackeval_hota(g, p) for i, (g, p) in enumerate(tud)})
    for key in HOTA_KEYS:
        assert abs(overall[key] - float(np.mean(combined[TRACKEVAL_HOTA_NAMES[key]]))) <= 1e-9, key
    # the figures TrackEval 1.3 gives (checked above), rounded: a guard against both changing
    assert [round(overall[k], 4) for k in ("hota", "deta", "assa", "loca")] == [0.4, 0.3977, 0.4124, 0.7325]
