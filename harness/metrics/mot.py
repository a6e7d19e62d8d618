"""CLEAR-MOT and identity metrics, vectorised, with the same counts as motmetrics (trusted code).

Inputs are arrays of rows ``(frame, id, x1, y1, x2, y2)`` (boxes with no +1 in widths). The
rules are those of ``motmetrics.MOTAccumulator`` (1.4.0) fed frame by frame with distance
matrices ``1 - IoU`` set to nan where ``1 - IoU > 1 - iou_threshold``:

* a frame is every frame number present in ``gt`` or ``pred``; objects (gt) and hypotheses
  (pred) are visited in ascending id order;
* an object matched earlier to hypothesis ``h`` (its latest match, however long ago) keeps ``h``
  when ``h`` is present and the pair is within the threshold (no switch);
* the other objects and hypotheses are matched by a linear assignment that first maximises the
  number of pairs within the threshold and then minimises their summed distance; a pair whose
  object was last matched to another hypothesis is a switch (motmetrics' SWITCH, which also
  counts as a detected object but not as a MATCH);
* MOTA = 1 - (misses + switches + false positives) / objects; MOTP = the mean distance
  ``1 - IoU`` of matches and switches (a distance: lower is better, as in motmetrics);
* IDF1 = 2 IDTP / (objects + predictions) with IDTP the largest total number of frames in which
  each gt id and the predicted id assigned to it one-to-one are within the threshold.

Ratios follow numpy division: 0/0 is nan (e.g. MOTP without matches), x/0 is inf.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["evaluate_mot", "evaluate_mot_many", "motmetrics_evaluate", "motmetrics_accumulator", "benchmark_mot",
           "COUNT_KEYS", "RATIO_KEYS"]

COUNT_KEYS = ("num_frames", "num_objects", "num_predictions", "num_matches", "num_switches",
              "num_false_positives", "num_misses", "idtp", "idfp", "idfn")
RATIO_KEYS = ("mota", "motp", "idf1", "idp", "idr")


def _rows(name: str, x: Any) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor (trusted callers only)
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        a = a.reshape(0, 6)
    if a.ndim != 2 or a.shape[1] != 6:
        raise ValueError(f"{name} must have shape [N, 6] with rows (frame, id, x1, y1, x2, y2), "
                         f"got {list(a.shape)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds non-finite values")
    order = np.lexsort((a[:, 1], a[:, 0]))  # by frame, then id
    a = a[order]
    if len(a) > 1:
        same = (a[1:, 0] == a[:-1, 0]) & (a[1:, 1] == a[:-1, 1])
        if same.any():
            k = int(np.argmax(same))
            raise ValueError(f"{name}: id {a[k, 1]:g} appears more than once in frame {a[k, 0]:g}")
    return a


def _divide(a: float, b: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.true_divide(np.float64(a), np.float64(b)))


def _pairs(gt: np.ndarray, pred: np.ndarray):
    """Every (gt row, pred row) of the same frame, as two index arrays in (gt row, pred row) order."""
    fg, fp = gt[:, 0], pred[:, 0]
    start = np.searchsorted(fp, fg, side="left")  # [G]
    stop = np.searchsorted(fp, fg, side="right")  # [G]
    n = stop - start  # [G]
    total = int(n.sum())
    gi = np.repeat(np.arange(len(gt)), n)  # [K]
    offsets = np.repeat(np.cumsum(n) - n, n)  # [K]
    pj = np.repeat(start, n) + (np.arange(total) - offsets)  # [K]
    return gi, pj


def _iou_rows(a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """IoU of a[ia[k]] with b[ib[k]] (boxes in columns 2:6); 0 where the union is empty.

    Works column by column on contiguous copies: gathering four 1-D columns is cheaper than
    gathering [K, 4] rows, and the arithmetic is the same as motmetrics' (and the tests')."""
    ax1, ay1, ax2, ay2 = (np.ascontiguousarray(a[:, c]) for c in range(2, 6))
    bx1, by1, bx2, by2 = (np.ascontiguousarray(b[:, c]) for c in range(2, 6))
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    iw = np.minimum(ax2[ia], bx2[ib])
    iw -= np.maximum(ax1[ia], bx1[ib])
    np.clip(iw, 0, None, out=iw)
    ih = np.minimum(ay2[ia], by2[ib])
    ih -= np.maximum(ay1[ia], by1[ib])
    np.clip(ih, 0, None, out=ih)
    inter = iw * ih
    union = area_a[ia] + area_b[ib] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _assign(rows: np.ndarray, cols: np.ndarray, dist: np.ndarray):
    """Max-cardinality, then min-cost matching of the listed valid pairs (motmetrics' rule)."""
    ur, ri = np.unique(rows, return_inverse=True)
    uc, ci = np.unique(cols, return_inverse=True)
    if len(rows) == 1:
        return np.array([0]), ur, uc
    c = np.abs(dist).max() + 1
    large = 2 * min(len(ur), len(uc)) * c + 1
    cost = np.full((len(ur), len(uc)), large)
    cost[ri, ci] = dist
    r, k = linear_sum_assignment(cost)
    valid = np.zeros((len(ur), len(uc)), dtype=bool)
    valid[ri, ci] = True
    keep = valid[r, k]
    # the pair indices (into rows/cols/dist) of the chosen pairs
    lookup = np.full((len(ur), len(uc)), -1, dtype=np.int64)
    lookup[ri, ci] = np.arange(len(rows))
    return lookup[r[keep], k[keep]], ur, uc


def evaluate_mot(gt: Any, pred: Any, iou_threshold: float = 0.5) -> dict:
    """CLEAR-MOT and identity metrics of one sequence (see the module docstring for the rules).

    Args:
        gt: array-like [G, 6], rows (frame, id, x1, y1, x2, y2): the ground truth.
        pred: array-like [P, 6], same layout: the tracker's output.
        iou_threshold: a pair may match when ``1 - IoU <= 1 - iou_threshold``.

    Returns:
        dict with the counts ``num_frames, num_objects, num_predictions, num_matches,
        num_switches, num_false_positives, num_misses, idtp, idfp, idfn`` (int) and the ratios
        ``mota, motp, idf1, idp, idr`` (float; MOTP is the mean 1 - IoU of matched pairs).

    Raises:
        ValueError: on a wrong shape, non-finite values or an id repeated within a frame.
    """
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    gt, pred = _rows("gt", gt), _rows("pred", pred)
    max_d = 1.0 - float(iou_threshold)
    num_frames = int(np.unique(np.concatenate([gt[:, 0], pred[:, 0]])).size)
    G, P = len(gt), len(pred)
    oid_values, oid = np.unique(gt[:, 1], return_inverse=True)
    hid_values, hid = np.unique(pred[:, 1], return_inverse=True)

    gi, pj = _pairs(gt, pred)
    d = 1.0 - _iou_rows(gt, pred, gi, pj)
    ok = ~(d > max_d)
    gi, pj, d = gi[ok], pj[ok], d[ok]
    vo, vh = oid[gi], hid[pj]  # id indices of the valid pairs, ordered by (frame, oid, hid)

    # ---- identity metrics: one global assignment of gt ids to predicted ids
    idtp = 0
    if len(vo):
        key = vo.astype(np.int64) * len(hid_values) + vh
        pair_key, counts = np.unique(key, return_counts=True)
        po, ph = np.divmod(pair_key, len(hid_values))
        uo, ro = np.unique(po, return_inverse=True)
        uh, rh = np.unique(ph, return_inverse=True)
        tp = np.zeros((len(uo), len(uh)))
        tp[ro, rh] = counts
        r, c = linear_sum_assignment(tp, maximize=True)
        idtp = int(tp[r, c].sum())

    # ---- CLEAR-MOT: frame by frame, only frames with at least one valid pair matter
    matches = switches = 0
    dist_sum = 0.0
    if len(vo):
        frame_of = gt[gi, 0]
        cut = np.flatnonzero(frame_of[1:] != frame_of[:-1]) + 1
        bounds = np.concatenate([[0], cut, [len(vo)]])
        # a frame where no object and no hypothesis is in two valid pairs matches every pair
        frame_idx = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        shared = np.zeros(len(bounds) - 1, dtype=bool)
        for ids in (vo, vh):
            key = frame_idx.astype(np.int64) * (max(len(oid_values), len(hid_values)) + 1) + ids
            _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
            shared[frame_idx[counts[inverse] > 1]] = True
        last_l = [-1] * len(oid_values)  # latest hypothesis of every object
        vo_l, vh_l, d_l = vo.tolist(), vh.tolist(), d.tolist()
        for a, b, conflict in zip(bounds[:-1].tolist(), bounds[1:].tolist(), shared.tolist()):
            if not conflict:  # every valid pair is matched
                for k in range(a, b):
                    o, h = vo_l[k], vh_l[k]
                    prev = last_l[o]
                    if prev != -1 and prev != h:
                        switches += 1
                    else:
                        matches += 1
                    last_l[o] = h
                    dist_sum += d_l[k]
                continue
            used_o: set[int] = set()
            used_h: set[int] = set()
            for k in range(a, b):  # step 1: keep earlier matches (ascending object ids)
                o, h = vo_l[k], vh_l[k]
                if last_l[o] == h and h not in used_h and o not in used_o:
                    used_o.add(o)
                    used_h.add(h)
                    matches += 1
                    dist_sum += d_l[k]
            rest = [k for k in range(a, b) if vo_l[k] not in used_o and vh_l[k] not in used_h]
            if not rest:
                continue
            rest_a = np.asarray(rest)
            chosen, _, _ = _assign(vo[rest_a], vh[rest_a], d[rest_a])
            for k in rest_a[chosen].tolist():
                o, h = vo_l[k], vh_l[k]
                prev = last_l[o]
                if prev != -1 and prev != h:
                    switches += 1
                else:
                    matches += 1
                last_l[o] = h
                dist_sum += d_l[k]
    detected = matches + switches
    misses, false_positives = G - detected, P - detected
    return {
        "num_frames": num_frames,
        "num_objects": G,
        "num_predictions": P,
        "num_matches": matches,
        "num_switches": switches,
        "num_false_positives": false_positives,
        "num_misses": misses,
        "idtp": idtp,
        "idfp": P - idtp,
        "idfn": G - idtp,
        "mota": 1.0 - _divide(misses + switches + false_positives, G),
        "motp": _divide(dist_sum, detected),
        "idf1": _divide(2 * idtp, G + P),
        "idp": _divide(idtp, P),
        "idr": _divide(idtp, G),
    }


def _overall(parts: Sequence[dict]) -> dict:
    """Summed counts and the ratios recomputed from them (motmetrics' OVERALL row)."""
    total = {k: int(sum(p[k] for p in parts)) for k in COUNT_KEYS}
    detected = total["num_matches"] + total["num_switches"]
    motp_sum = sum(p["motp"] * (p["num_matches"] + p["num_switches"]) for p in parts
                   if p["num_matches"] + p["num_switches"] > 0)
    G, P, idtp = total["num_objects"], total["num_predictions"], total["idtp"]
    total.update({
        "mota": 1.0 - _divide(total["num_misses"] + total["num_switches"] + total["num_false_positives"], G),
        "motp": _divide(motp_sum, detected),
        "idf1": _divide(2 * idtp, G + P),
        "idp": _divide(idtp, P),
        "idr": _divide(idtp, G),
    })
    return total


def evaluate_mot_many(sequences: Sequence[tuple[Any, Any]], iou_threshold: float = 0.5) -> dict:
    """``{"sequences": [per-sequence dicts], "overall": dict}`` for (gt, pred) pairs; the overall
    counts are sums and its ratios come from the sums (IDF1 over all sequences, not a mean)."""
    parts = [evaluate_mot(g, p, iou_threshold) for g, p in sequences]
    return {"sequences": parts, "overall": _overall(parts) if parts else {}}


# ------------------------------------------------------------------------------ the motmetrics oracle

MOTMETRICS_NAMES = {
    "num_frames": "num_frames", "num_objects": "num_objects", "num_predictions": "num_predictions",
    "num_matches": "num_matches", "num_switches": "num_switches",
    "num_false_positives": "num_false_positives", "num_misses": "num_misses", "idtp": "idtp",
    "idfp": "idfp", "idfn": "idfn", "mota": "mota", "motp": "motp", "idf1": "idf1", "idp": "idp",
    "idr": "idr",
}


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every row of a with every row of b (x1, y1, x2, y2); 0 for empty unions."""
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def motmetrics_accumulator(gt: Any, pred: Any, iou_threshold: float = 0.5):
    """A ``motmetrics.MOTAccumulator`` fed frame by frame (frames of gt or pred, ascending ids),
    with distances ``1 - IoU`` computed here (``motmetrics.distances.iou_matrix`` calls
    ``np.asfarray``, removed in numpy 2) and nan where ``1 - IoU > 1 - iou_threshold``."""
    import motmetrics as mm

    gt, pred = _rows("gt", gt), _rows("pred", pred)
    max_d = 1.0 - float(iou_threshold)
    acc = mm.MOTAccumulator(auto_id=False)
    frames = np.unique(np.concatenate([gt[:, 0], pred[:, 0]]))
    gs = np.searchsorted(gt[:, 0], frames, "left"), np.searchsorted(gt[:, 0], frames, "right")
    ps = np.searchsorted(pred[:, 0], frames, "left"), np.searchsorted(pred[:, 0], frames, "right")
    for k, f in enumerate(frames):
        g = gt[gs[0][k]:gs[1][k]]
        p = pred[ps[0][k]:ps[1][k]]
        dist = 1.0 - _iou_matrix(g[:, 2:], p[:, 2:])
        dist[dist > max_d] = np.nan
        acc.update(g[:, 1].astype(np.int64), p[:, 1].astype(np.int64), dist, frameid=int(f))
    return acc


def motmetrics_evaluate(gt: Any, pred: Any, iou_threshold: float = 0.5) -> dict:
    """The same dict as :func:`evaluate_mot`, computed by motmetrics (the oracle; slow)."""
    import motmetrics as mm

    acc = motmetrics_accumulator(gt, pred, iou_threshold)
    summary = mm.metrics.create().compute(acc, metrics=list(MOTMETRICS_NAMES.values()), name="seq")
    row = summary.loc["seq"]
    out = {}
    for key, name in MOTMETRICS_NAMES.items():
        value = row[name]
        out[key] = int(value) if key in COUNT_KEYS else float(value)
    return out


def benchmark_mot(sequences: Sequence[tuple[Any, Any]], *, iou_threshold: float = 0.5,
                  repeats: int = 3) -> dict:
    """Time :func:`evaluate_mot` against motmetrics (accumulate + ``compute_many``) on the same
    (gt, pred) pairs, interleaved, median of ``repeats``; check that every count agrees.

    Returns:
        dict: ``harness_s`` and ``motmetrics_s`` (median seconds for all sequences),
        ``speedup`` (motmetrics / harness), ``equal_counts`` (bool), ``mismatches`` (list of
        str), ``frames``, ``gt_rows``, ``pred_rows`` and the harness' ``overall`` metrics.
    """
    import motmetrics as mm

    metrics = list(MOTMETRICS_NAMES.values())

    def run_harness():
        return evaluate_mot_many(sequences, iou_threshold)

    def run_motmetrics():
        accs = [motmetrics_accumulator(g, p, iou_threshold) for g, p in sequences]
        return mm.metrics.create().compute_many(accs, metrics=metrics,
                                                names=[str(i) for i in range(len(accs))],
                                                generate_overall=True)

    t_h, t_m = [], []
    ours = theirs = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        ours = run_harness()
        t_h.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = run_motmetrics()
        t_m.append(time.perf_counter() - t0)
    mismatches = []
    rows = [*ours["sequences"], ours["overall"]] if ours["sequences"] else []
    for i, mine in enumerate(rows):
        row = theirs.iloc[i]
        for key, name in MOTMETRICS_NAMES.items():
            a, b = mine[key], row[name]
            same = (a == int(b)) if key in COUNT_KEYS else (
                (np.isnan(a) and np.isnan(b)) or abs(a - float(b)) <= 1e-9 * max(1.0, abs(a)))
            if not same:
                where = "overall" if i == len(rows) - 1 else f"sequence {i}"
                mismatches.append(f"{where}: {key} harness {a} vs motmetrics {b}")
    harness_s, motmetrics_s = statistics.median(t_h), statistics.median(t_m)
    return {
        "harness_s": harness_s,
        "motmetrics_s": motmetrics_s,
        "speedup": motmetrics_s / harness_s if harness_s > 0 else float("inf"),
        "equal_counts": not mismatches,
        "mismatches": mismatches,
        "sequences": len(sequences),
        "frames": sum(p["num_frames"] for p in ours["sequences"]),
        "gt_rows": sum(p["num_objects"] for p in ours["sequences"]),
        "pred_rows": sum(p["num_predictions"] for p in ours["sequences"]),
        "overall": ours["overall"],
    }
