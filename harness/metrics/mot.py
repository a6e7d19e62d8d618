"""CLEAR-MOT, identity, track-quality and HOTA metrics, vectorised (trusted code).

Inputs are arrays of rows ``(frame, id, x1, y1, x2, y2)`` (boxes with no +1 in widths). Which
implementation each number follows (the two disagree on CLEAR-MOT, see below):

**CLEAR-MOT and identity: motmetrics.** The counts are those of ``motmetrics.MOTAccumulator``
(1.4.0) fed frame by frame with distance matrices ``1 - IoU`` set to nan where
``1 - IoU > 1 - iou_threshold``:

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

**MT/PT/ML and fragmentations: motmetrics**, on the same matching. An object's tracked ratio is
the number of its boxes that are matched or switched over its number of boxes; it is mostly
tracked at >= 0.8, mostly lost below 0.2, partially tracked in between. A fragmentation is a
run of missed boxes of an object that lies between two of its tracked boxes (frames where the
object is absent from gt do not count).

TrackEval's CLEAR (``trackeval.metrics.CLEAR``) differs from all of the above: it keeps only the
previous frame's matches (a 1000x bonus inside one Hungarian step, not the latest match however
long ago), maximises IoU instead of first the number of matches, counts MT at > 0.8, counts a
fragmentation whenever a track restarts after any frame without a match (the object's absence
from the ground truth included) and reports MOTP as a mean IoU. Its MOTA, IDSW, MT/PT/ML, Frag
and MOTP can therefore differ from these on the same data; the numbers here are motmetrics'.

**HOTA: TrackEval** (``trackeval.metrics.HOTA``, 1.3), the HOTA paper's definition (Luiten et al.,
IJCV 2021). The similarity of a gt and a predicted box of the same frame is their IoU. For
every pair of ids, the alignment prior is ``A = P / (n_gt + n_pred - P)`` with ``P`` the sum over
frames of ``IoU / (row sum + column sum - IoU)`` of the frame's similarity matrix and ``n_*`` the
ids' box counts. In every frame the boxes are matched one to one by a Hungarian assignment that
maximises ``A * IoU``. For each ``alpha`` in 0.05, 0.10, ..., 0.95 a matched pair with
``IoU >= alpha`` (less one machine epsilon, as in TrackEval) is a TP, the other boxes are FN /
FP; with ``c`` the TP count of an id pair, ``AssA = sum over TPs of c / (n_gt + n_pred - c)`` /
TP, ``DetA = TP / (TP + FN + FP)``, ``HOTA = sqrt(DetA * AssA)``, ``LocA`` = the mean IoU of the
TPs; DetRe, DetPr, AssRe, AssPr likewise. The reported values are the means over the 19 alphas.
HOTA does not depend on ``iou_threshold``. Over several sequences TP/FN/FP are summed and AssA,
AssRe, AssPr and LocA are TP-weighted means per alpha (TrackEval's ``combine_sequences``).

Ratios of the CLEAR/identity metrics follow numpy division: 0/0 is nan (e.g. MOTP without
matches), x/0 is inf. HOTA's follow TrackEval (denominators floored at 1; LocA is 1 with no TP).
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

__all__ = ["evaluate_mot", "evaluate_mot_many", "evaluate_hota", "motmetrics_evaluate", "motmetrics_accumulator",
           "trackeval_hota", "trackeval_data", "trackeval_evaluate_many", "benchmark_mot", "COUNT_KEYS",
           "RATIO_KEYS", "TRACK_KEYS", "HOTA_KEYS", "HOTA_ALPHAS"]

COUNT_KEYS = ("num_frames", "num_objects", "num_predictions", "num_matches", "num_switches",
              "num_false_positives", "num_misses", "idtp", "idfp", "idfn")
RATIO_KEYS = ("mota", "motp", "idf1", "idp", "idr")
#: counts as motmetrics defines them (num_unique_objects, mostly_tracked, ...): ints
TRACK_KEYS = ("num_unique_objects", "mostly_tracked", "partially_tracked", "mostly_lost", "num_fragmentations")
#: HOTA and its sub-metrics, means over HOTA_ALPHAS (TrackEval's HOTA, DetA, AssA, LocA, ...): floats
HOTA_KEYS = ("hota", "deta", "assa", "loca", "detre", "detpr", "assre", "asspr")
#: the localisation thresholds of HOTA: 0.05, 0.10, ..., 0.95 (the same floats as TrackEval's)
HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)
_EPS = np.finfo(np.float64).eps
_HOTA_THRESHOLDS = HOTA_ALPHAS - _EPS  # a matched pair counts at alpha when IoU >= alpha - eps
# per-alpha arrays of one sequence, as TrackEval keeps them (what sequences are combined from)
_HOTA_FIELDS = ("tp", "fn", "fp", "assa", "assre", "asspr", "loca")


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
    if len(a) > 1:
        f, i = a[:, 0], a[:, 1]
        if not ((f[1:] > f[:-1]) | ((f[1:] == f[:-1]) & (i[1:] > i[:-1]))).all():  # not sorted already
            a = a[np.lexsort((i, f))]  # by frame, then id
            same = (a[1:, 0] == a[:-1, 0]) & (a[1:, 1] == a[:-1, 1])
            if same.any():
                k = int(np.argmax(same))
                raise ValueError(f"{name}: id {a[k, 1]:g} appears more than once in frame {a[k, 0]:g}")
    return a


def _divide(a: float, b: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.true_divide(np.float64(a), np.float64(b)))


def _count_frames(a: np.ndarray, b: np.ndarray) -> int:
    """The number of distinct values in two sorted arrays together."""
    a = a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a
    b = b[np.concatenate([[True], b[1:] != b[:-1]])] if len(b) else b
    if not len(a) or not len(b):
        return len(a) + len(b)
    both = a[np.minimum(np.searchsorted(a, b), len(a) - 1)] == b
    return int(len(a) + len(b) - both.sum())


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


def _id_index(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)``, by counting for the usual small non-negative integer ids."""
    if len(x) and x.min() >= 0 and x.max() <= 4 * len(x) + 65536 and (x == np.floor(x)).all():
        xi = x.astype(np.int64)
        present = np.zeros(int(xi.max()) + 1, dtype=bool)
        present[xi] = True
        return np.flatnonzero(present).astype(np.float64), (np.cumsum(present) - 1)[xi]
    return np.unique(x, return_inverse=True)


def _unique_keys(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for non-negative int64 keys, by counting when
    they are small."""
    if len(key) and key.max() <= 4 * len(key) + (1 << 16):
        present = np.bincount(key) > 0
        return np.flatnonzero(present), (np.cumsum(present) - 1)[key]
    return np.unique(key, return_inverse=True)


def _overlapping_pairs(gt: np.ndarray, pred: np.ndarray):
    """``(gi, pj, iou)``: every same-frame (gt row, pred row) pair whose boxes overlap (positive
    intersection), ordered by (frame, gt row, pred row), and its IoU; all other pairs have IoU 0."""
    gi, pj = _pairs(gt, pred)
    keep, iou = _iou_overlapping(gt, pred, gi, pj)
    return gi[keep], pj[keep], iou


def _iou_overlapping(a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray):
    """``(keep, iou)``: the positions ``keep`` in ``ia``/``ib`` of the pairs whose boxes
    (columns 2:6) overlap (positive intersection) and their IoU, in the same order; every other
    pair has IoU 0.

    Works column by column on contiguous copies (gathering 1-D columns is cheaper than [K, 4]
    rows) and on the x-overlapping pairs only; the arithmetic is the same as motmetrics' (and the
    tests'): intersection, union = area_a + area_b - intersection, their ratio."""
    ax1, ay1, ax2, ay2 = (np.ascontiguousarray(a[:, c]) for c in range(2, 6))
    bx1, by1, bx2, by2 = (np.ascontiguousarray(b[:, c]) for c in range(2, 6))
    iw = np.minimum(ax2[ia], bx2[ib])
    iw -= np.maximum(ax1[ia], bx1[ib])
    keep = np.flatnonzero(iw > 0)
    ia, ib, iw = ia[keep], ib[keep], iw[keep]
    ih = np.minimum(ay2[ia], by2[ib])
    ih -= np.maximum(ay1[ia], by1[ib])
    y = ih > 0
    keep, ia, ib, iw, ih = keep[y], ia[y], ib[y], iw[y], ih[y]
    inter = iw * ih
    union = ((ax2 - ax1) * (ay2 - ay1))[ia] + ((bx2 - bx1) * (by2 - by1))[ib] - inter
    return keep, inter / union


def _assign(rows: np.ndarray, cols: np.ndarray, dist: np.ndarray):
    """Max-cardinality, then min-cost matching of the listed valid pairs (motmetrics' rule)."""
    if len(rows) == 1:
        return np.array([0]), rows, cols
    ur, ri = np.unique(rows, return_inverse=True)
    uc, ci = np.unique(cols, return_inverse=True)
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


_DENSE_LIMIT = 1 << 18  # the largest rows x columns solved by a dense linear_sum_assignment


def _max_other(key: np.ndarray, w: np.ndarray) -> np.ndarray:
    """For pairs sorted by ``key``: the largest weight among the *other* pairs with the same key
    (0 when there is none; all weights are positive)."""
    new = np.empty(len(key), dtype=bool)
    new[0] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    best = np.maximum.reduceat(w, starts)[group]
    is_best = w == best
    only_best = (np.add.reduceat(is_best, starts) == 1)[group]  # a tie: the other one is as heavy
    second = np.maximum.reduceat(np.where(is_best, 0.0, w), starts)[group]
    return np.where(is_best & only_best, second, best)


def _max_weight_matching(gi: np.ndarray, pj: np.ndarray, w: np.ndarray, G: int, P: int) -> np.ndarray:
    """Indices of the pairs ``(gi[k], pj[k])`` (weights ``w[k] > 0``, ``gi`` sorted) chosen by a
    maximum-weight one-to-one matching of gt rows to pred rows: the same optimum as a Hungarian
    assignment of each frame's full matrix (rows of different frames never share a pair).

    A pair heavier than the heaviest other pair of its gt row plus the heaviest other pair of its
    pred row is in every maximum-weight matching (swapping it in for those two gains weight), so
    all such pairs are taken at once; that settles nearly every pair. What is left (the pairs
    that touch none of them) goes through one ``linear_sum_assignment`` on a dense matrix, or,
    when that would be too large, :func:`_sparse_matching`."""
    if not len(gi):
        return np.zeros(0, dtype=np.int64)
    by_p = np.argsort(pj, kind="stable")
    other_p = np.empty(len(w))
    other_p[by_p] = _max_other(pj[by_p], w[by_p])
    sure = w > _max_other(gi, w) + other_p
    taken_g = np.zeros(G, dtype=bool)
    taken_g[gi[sure]] = True
    taken_p = np.zeros(P, dtype=bool)
    taken_p[pj[sure]] = True
    chosen = np.flatnonzero(sure)
    rest = np.flatnonzero(~(taken_g[gi] | taken_p[pj]))
    if not len(rest):
        return chosen
    g, p = gi[rest], pj[rest]
    present_g, present_p = np.bincount(g, minlength=G) > 0, np.bincount(p, minlength=P) > 0
    R, C = int(present_g.sum()), int(present_p.sum())
    if R * C > _DENSE_LIMIT:
        return np.concatenate([chosen, rest[_sparse_matching(g, p, w[rest])]])
    ri, ci = (np.cumsum(present_g) - 1)[g], (np.cumsum(present_p) - 1)[p]  # dense indices
    score = np.zeros((R, C))
    score[ri, ci] = w[rest]
    rows, cols = linear_sum_assignment(score, maximize=True)
    lookup = np.full((R, C), -1, dtype=np.int64)
    lookup[ri, ci] = rest
    pick = lookup[rows, cols]
    return np.concatenate([chosen, pick[pick >= 0]])


def _sparse_matching(gi: np.ndarray, pj: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Indices of the pairs of a maximum-weight matching (weights > 0) by one call of
    ``min_weight_full_bipartite_matching`` (for what is too large for a dense matrix): every gt
    row also has a dummy column, every pred row a dummy row, and each pair (g, p) a dummy-dummy
    edge, so that a full matching always exists and its cost is a constant minus the weight of
    its real pairs."""
    present_r, present_c = np.bincount(gi) > 0, np.bincount(pj) > 0
    ri, ci = (np.cumsum(present_r) - 1)[gi], (np.cumsum(present_c) - 1)[pj]  # dense indices
    R, C, K = int(present_r.sum()), int(present_c.sum()), len(gi)
    big = 2.0 * float(w.max()) + 1.0
    rows = np.concatenate([ri, np.arange(R), R + np.arange(C), R + ci])
    cols = np.concatenate([ci, C + np.arange(R), np.arange(C), C + ri])
    cost = np.concatenate([big - w, np.full(R + C + K, big)])
    row_of, col_of = min_weight_full_bipartite_matching(csr_matrix((cost, (rows, cols)), shape=(R + C, R + C)))
    real = (row_of < R) & (col_of < C)
    key = ri.astype(np.int64) * C + ci  # the pair of every (row, column), without an R x C table
    order = np.argsort(key)
    return order[np.searchsorted(key[order], row_of[real].astype(np.int64) * C + col_of[real])]


def _hota_arrays(gi: np.ndarray, pj: np.ndarray, sim: np.ndarray, oid: np.ndarray, hid: np.ndarray,
                 n_o: int, n_h: int) -> dict:
    """Per-alpha TP, FN, FP, AssA, AssRe, AssPr and LocA of one sequence (arrays [19]).

    ``gi, pj, sim``: the overlapping same-frame (gt row, pred row) pairs and their IoU, ordered
    by (frame, gt row, pred row); ``oid, hid``: the id index of every gt / pred row (``n_o``,
    ``n_h`` ids)."""
    A = len(HOTA_ALPHAS)
    G, P = len(oid), len(hid)
    pos = sim > 0  # pairs of zero similarity never count (alpha >= 0.05)
    gi, pj, s = gi[pos], pj[pos], sim[pos]
    n_gt = np.bincount(oid, minlength=n_o).astype(np.float64)  # boxes per gt id
    n_pr = np.bincount(hid, minlength=n_h).astype(np.float64)  # boxes per predicted id
    if not len(s):
        zero = np.zeros(A)
        return {"tp": zero, "fn": np.full(A, float(G)), "fp": np.full(A, float(P)), "assa": zero.copy(),
                "assre": zero.copy(), "asspr": zero.copy(), "loca": np.ones(A)}
    # the alignment prior of every id pair: per frame IoU / (row sum + column sum - IoU), summed
    denom = np.bincount(gi, s, minlength=G)[gi] + np.bincount(pj, s, minlength=P)[pj] - s
    soft = np.zeros_like(s)
    ok = denom > _EPS
    soft[ok] = s[ok] / denom[ok]
    ukey, kinv = _unique_keys(oid[gi].astype(np.int64) * n_h + hid[pj])
    uo, uh = np.divmod(ukey, n_h)
    soft_sum = np.bincount(kinv, soft, minlength=len(ukey))  # pairs in frame order, as a running sum
    prior = soft_sum / (n_gt[uo] + n_pr[uh] - soft_sum)
    # one-to-one matching per frame maximising prior * IoU
    m = _max_weight_matching(gi, pj, prior[kinv] * s, G, P)
    s_m, k_m = s[m], kinv[m]
    level = np.searchsorted(_HOTA_THRESHOLDS, s_m, side="right")  # a TP at alphas[:level]
    hist = np.bincount(k_m * (A + 1) + level, minlength=len(ukey) * (A + 1)).reshape(-1, A + 1)
    counts = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:].astype(np.float64)  # [U, A]: TPs per id pair
    tp = counts.sum(axis=0)
    loc = np.cumsum(np.bincount(level, s_m, minlength=A + 1)[::-1])[::-1][1:]
    g, h = n_gt[uo][:, None], n_pr[uh][:, None]
    per_tp = np.maximum(1.0, tp)
    return {
        "tp": tp,
        "fn": G - tp,
        "fp": P - tp,
        "assa": (counts * (counts / np.maximum(1.0, g + h - counts))).sum(axis=0) / per_tp,
        "assre": (counts * (counts / np.maximum(1.0, g))).sum(axis=0) / per_tp,
        "asspr": (counts * (counts / np.maximum(1.0, h))).sum(axis=0) / per_tp,
        "loca": np.maximum(1e-10, loc) / np.maximum(1e-10, tp),
    }


def _hota_final(arr: dict) -> dict:
    """Every per-alpha field (HOTA_KEYS and tp/fn/fp) from TP/FN/FP, AssA/AssRe/AssPr and LocA."""
    tp, fn, fp = arr["tp"], arr["fn"], arr["fp"]
    out = dict(arr)
    out["detre"] = tp / np.maximum(1.0, tp + fn)
    out["detpr"] = tp / np.maximum(1.0, tp + fp)
    out["deta"] = tp / np.maximum(1.0, tp + fn + fp)
    out["hota"] = np.sqrt(out["deta"] * arr["assa"])
    return out


def _hota_combine(parts: Sequence[dict]) -> dict:
    """Per-alpha arrays of several sequences: TP/FN/FP summed, the rest TP-weighted (TrackEval)."""
    tp = sum(p["tp"] for p in parts)
    out = {"tp": tp, "fn": sum(p["fn"] for p in parts), "fp": sum(p["fp"] for p in parts)}
    for f in ("assre", "asspr", "assa"):
        out[f] = sum(p[f] * p["tp"] for p in parts) / np.maximum(1.0, tp)
    out["loca"] = np.maximum(1e-10, sum(p["loca"] * p["tp"] for p in parts)) / np.maximum(1e-10, tp)
    return out


def _hota_means(arr: dict) -> dict:
    final = _hota_final(arr)
    return {k: float(np.mean(final[k])) for k in HOTA_KEYS}


def _track_counts(frames: np.ndarray, oid: np.ndarray, n_o: int, tracked: np.ndarray) -> dict:
    """MT/PT/ML and fragmentations (motmetrics' definitions) from the tracked flag of every gt row."""
    boxes = np.bincount(oid, minlength=n_o)
    ratio = np.bincount(oid[tracked], minlength=n_o) / np.maximum(boxes, 1)
    mt, ml = int((ratio >= 0.8).sum()), int((ratio < 0.2).sum())
    # a fragmentation: a tracked box followed by a missed one, with a tracked box later (same object)
    order = np.lexsort((frames, oid))
    o, t = oid[order], tracked[order]
    last = np.full(n_o, -1, dtype=np.int64)  # position of the object's last tracked box
    idx = np.flatnonzero(t)
    if len(idx):
        ends = np.concatenate([o[idx][1:] != o[idx][:-1], [True]])
        last[o[idx][ends]] = idx[ends]
    pos = np.arange(1, len(o))
    frag = t[:-1] & ~t[1:] & (o[1:] == o[:-1]) & (pos < last[o[1:]])
    return {"num_unique_objects": int(n_o), "mostly_tracked": mt, "partially_tracked": n_o - mt - ml,
            "mostly_lost": ml, "num_fragmentations": int(frag.sum())}


def _evaluate(gt: Any, pred: Any, iou_threshold: float, hota: bool) -> tuple[dict, dict | None]:
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    gt, pred = _rows("gt", gt), _rows("pred", pred)
    max_d = 1.0 - float(iou_threshold)
    num_frames = _count_frames(gt[:, 0], pred[:, 0])
    G, P = len(gt), len(pred)
    oid_values, oid = _id_index(gt[:, 1])
    hid_values, hid = _id_index(pred[:, 1])

    if max_d >= 1.0:  # disjoint boxes (d = 1) may match too: every same-frame pair
        gi, pj = _pairs(gt, pred)  # ordered by (frame, oid, hid)
        keep, iou = _iou_overlapping(gt, pred, gi, pj)
        hota_g, hota_p = gi[keep], pj[keep]  # the overlapping pairs (HOTA's)
        d = np.ones(len(gi))
        d[keep] = 1.0 - iou
    else:
        hota_g, hota_p, iou = _overlapping_pairs(gt, pred)
        gi, pj, d = hota_g, hota_p, 1.0 - iou
    ok = ~(d > max_d)
    gi, pj, d = gi[ok], pj[ok], d[ok]
    vo, vh = oid[gi], hid[pj]  # id indices of the valid pairs, ordered by (frame, oid, hid)

    # ---- identity metrics: one global assignment of gt ids to predicted ids
    idtp = 0
    if len(vo):
        pair_key, key_index = _unique_keys(vo.astype(np.int64) * len(hid_values) + vh)
        counts = np.bincount(key_index)
        po, ph = np.divmod(pair_key, len(hid_values))
        _, ro = _id_index(po)
        _, rh = _id_index(ph)
        tp = np.zeros((ro.max() + 1, rh.max() + 1))
        tp[ro, rh] = counts
        r, c = linear_sum_assignment(tp, maximize=True)
        idtp = int(tp[r, c].sum())

    # ---- CLEAR-MOT: which valid pairs become matches or switches. In a frame where no object
    # and no hypothesis is in two valid pairs, all of them; the other ("conflict") frames go
    # through motmetrics' two steps in order, with every object's latest hypothesis so far.
    matches = switches = 0
    dist_sum = 0.0
    chosen = np.zeros(len(vo), dtype=bool)
    if len(vo):
        frame_of = gt[gi, 0]
        cut = np.flatnonzero(frame_of[1:] != frame_of[:-1]) + 1
        bounds = np.concatenate([[0], cut, [len(vo)]])
        frame_idx = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        shared = np.zeros(len(bounds) - 1, dtype=bool)
        same_frame = frame_idx[1:] == frame_idx[:-1]
        shared[frame_idx[1:][same_frame & (vo[1:] == vo[:-1])]] = True  # an object twice (adjacent)
        base = len(hid_values) + 1
        key = np.sort(frame_idx.astype(np.int64) * base + vh)
        shared[key[1:][key[1:] == key[:-1]] // base] = True  # a hypothesis twice
        chosen[:] = ~shared[frame_idx]
        conflicts = np.flatnonzero(shared).tolist()
        if conflicts:
            # every valid pair's object's latest pair before it in a frame without conflicts
            # (a segmented running maximum of their positions; -1: none)
            by_obj = np.argsort(vo, kind="stable")  # by object, then position
            o_s = vo[by_obj].astype(np.int64) * (len(vo) + 1)
            run = np.maximum.accumulate(o_s + np.where(chosen[by_obj], by_obj, -1) + 1) - o_s - 1
            prev_free = np.empty(len(vo), dtype=np.int64)
            prev_free[by_obj] = run
            vh_l = vh.tolist()
            latest_conflict: dict[int, tuple[int, int]] = {}  # object -> (position, hypothesis)
            for f in conflicts:
                a, b = int(bounds[f]), int(bounds[f + 1])
                vo_f, vh_f, prev_f = vo[a:b].tolist(), vh_l[a:b], prev_free[a:b].tolist()
                used_o: set[int] = set()
                used_h: set[int] = set()
                picked = []
                for k, (o, h, p) in enumerate(zip(vo_f, vh_f, prev_f)):  # step 1: keep earlier matches
                    c = latest_conflict.get(o)
                    latest = c[1] if c is not None and c[0] > p else (vh_l[p] if p >= 0 else -1)
                    if latest == h and h not in used_h and o not in used_o:
                        used_o.add(o)
                        used_h.add(h)
                        picked.append(a + k)
                rest = [a + k for k, (o, h) in enumerate(zip(vo_f, vh_f)) if o not in used_o and h not in used_h]
                if rest:  # step 2: assign the rest
                    rest_a = np.asarray(rest, dtype=np.int64)
                    sel, _, _ = _assign(vo[rest_a], vh[rest_a], d[rest_a])
                    picked += rest_a[sel].tolist()
                for k in picked:
                    chosen[k] = True
                    latest_conflict[vo_f[k - a]] = (k, vh_l[k])
        k = np.flatnonzero(chosen)  # by frame, then object
        o_c, h_c = vo[k], vh[k]
        order = np.argsort(o_c, kind="stable")  # by object, then frame
        o_c, h_c = o_c[order], h_c[order]
        # a switch: the object's previous match (however long ago) was another hypothesis
        switches = int(((o_c[1:] == o_c[:-1]) & (h_c[1:] != h_c[:-1])).sum())
        matches = len(k) - switches
        dist_sum = float(d[k].sum())
    detected = matches + switches
    misses, false_positives = G - detected, P - detected
    tracked = np.zeros(G, dtype=bool)
    tracked[gi[chosen]] = True
    out = {
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
        **_track_counts(gt[:, 0], oid, len(oid_values), tracked),
    }
    arrays = None
    if hota:
        arrays = _hota_arrays(hota_g, hota_p, iou, oid, hid, len(oid_values), len(hid_values))
        out.update(_hota_means(arrays))
    return out, arrays


def evaluate_mot(gt: Any, pred: Any, iou_threshold: float = 0.5, *, hota: bool = True) -> dict:
    """CLEAR-MOT, identity, track-quality and HOTA metrics of one sequence (see the module
    docstring for the rules and which oracle each follows).

    Args:
        gt: array-like [G, 6], rows (frame, id, x1, y1, x2, y2): the ground truth.
        pred: array-like [P, 6], same layout: the tracker's output.
        iou_threshold: a pair may match when ``1 - IoU <= 1 - iou_threshold`` (CLEAR-MOT,
            identity and track quality; HOTA uses its own alphas).
        hota: also compute the HOTA keys (the costliest part; default True).

    Returns:
        dict with the counts ``num_frames, num_objects, num_predictions, num_matches,
        num_switches, num_false_positives, num_misses, idtp, idfp, idfn`` (int), the ratios
        ``mota, motp, idf1, idp, idr`` (float; MOTP is the mean 1 - IoU of matched pairs), the
        motmetrics track counts ``num_unique_objects, mostly_tracked, partially_tracked,
        mostly_lost, num_fragmentations`` (int) and, with ``hota``, ``hota, deta, assa, loca,
        detre, detpr, assre, asspr`` (float, means over the 19 alphas, as TrackEval reports).

    Raises:
        ValueError: on a wrong shape, non-finite values or an id repeated within a frame.
    """
    return _evaluate(gt, pred, iou_threshold, hota)[0]


def evaluate_hota(gt: Any, pred: Any) -> dict:
    """HOTA of one sequence per alpha: ``alphas`` and the arrays [19] ``hota, deta, assa, loca,
    detre, detpr, assre, asspr, tp, fn, fp`` (TrackEval's HOTA, DetA, ..., HOTA_TP, ... fields)."""
    gt, pred = _rows("gt", gt), _rows("pred", pred)
    _, oid = np.unique(gt[:, 1], return_inverse=True)
    _, hid = np.unique(pred[:, 1], return_inverse=True)
    gi, pj, iou = _overlapping_pairs(gt, pred)
    arrays = _hota_arrays(gi, pj, iou, oid, hid, int(oid.max(initial=-1)) + 1, int(hid.max(initial=-1)) + 1)
    return {"alphas": HOTA_ALPHAS.copy(), **_hota_final(arrays)}


def _overall(parts: Sequence[dict], arrays: Sequence[dict | None] = ()) -> dict:
    """Summed counts and the ratios recomputed from them (motmetrics' OVERALL row); HOTA combined
    as TrackEval's ``combine_sequences`` (when every sequence has its arrays)."""
    total = {k: int(sum(p[k] for p in parts)) for k in COUNT_KEYS + TRACK_KEYS}
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
    if arrays and all(a is not None for a in arrays):
        total.update(_hota_means(_hota_combine(arrays)))
    return total


def evaluate_mot_many(sequences: Sequence[tuple[Any, Any]], iou_threshold: float = 0.5, *,
                      hota: bool = True) -> dict:
    """``{"sequences": [per-sequence dicts], "overall": dict}`` for (gt, pred) pairs; the overall
    counts are sums and its ratios come from the sums (IDF1 over all sequences, not a mean);
    its HOTA keys combine the sequences as TrackEval does (TP summed, AssA and LocA TP-weighted)."""
    results = [_evaluate(g, p, iou_threshold, hota) for g, p in sequences]
    parts = [r[0] for r in results]
    return {"sequences": parts, "overall": _overall(parts, [r[1] for r in results]) if parts else {}}


# ------------------------------------------------------------------------------ the oracles

MOTMETRICS_NAMES = {
    "num_frames": "num_frames", "num_objects": "num_objects", "num_predictions": "num_predictions",
    "num_matches": "num_matches", "num_switches": "num_switches",
    "num_false_positives": "num_false_positives", "num_misses": "num_misses", "idtp": "idtp",
    "idfp": "idfp", "idfn": "idfn", "mota": "mota", "motp": "motp", "idf1": "idf1", "idp": "idp",
    "idr": "idr", "num_unique_objects": "num_unique_objects", "mostly_tracked": "mostly_tracked",
    "partially_tracked": "partially_tracked", "mostly_lost": "mostly_lost",
    "num_fragmentations": "num_fragmentations",
}
#: TrackEval's HOTA field of every HOTA key (the summary value is the field's mean over alphas)
TRACKEVAL_HOTA_NAMES = {"hota": "HOTA", "deta": "DetA", "assa": "AssA", "loca": "LocA", "detre": "DetRe",
                        "detpr": "DetPr", "assre": "AssRe", "asspr": "AssPr", "tp": "HOTA_TP", "fn": "HOTA_FN",
                        "fp": "HOTA_FP"}


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


def motmetrics_evaluate(gt: Any, pred: Any, iou_threshold: float = 0.5, *,
                        keys: Sequence[str] = COUNT_KEYS + RATIO_KEYS) -> dict:
    """The ``keys`` of :func:`evaluate_mot` (CLEAR/identity by default; any of TRACK_KEYS too),
    computed by motmetrics (the oracle; slow)."""
    import motmetrics as mm

    acc = motmetrics_accumulator(gt, pred, iou_threshold)
    summary = mm.metrics.create().compute(acc, metrics=[MOTMETRICS_NAMES[k] for k in keys], name="seq")
    row = summary.loc["seq"]
    out = {}
    for key in keys:
        value = row[MOTMETRICS_NAMES[key]]
        out[key] = float(value) if key in RATIO_KEYS else int(value)
    return out


def trackeval_data(gt: Any, pred: Any) -> dict:
    """The dict TrackEval's metric classes (HOTA, CLEAR, Identity) read for one sequence: one
    timestep per frame of gt or pred, ids relabelled 0, 1, ... and the similarity of every
    frame computed by TrackEval itself (``_BaseDataset._calculate_box_ious``, boxes x0y0x1y1)."""
    from trackeval.datasets._base_dataset import _BaseDataset

    gt, pred = _rows("gt", gt), _rows("pred", pred)
    _, oid = np.unique(gt[:, 1], return_inverse=True)
    _, hid = np.unique(pred[:, 1], return_inverse=True)
    frames = np.unique(np.concatenate([gt[:, 0], pred[:, 0]]))
    gs = np.searchsorted(gt[:, 0], frames, "left"), np.searchsorted(gt[:, 0], frames, "right")
    ps = np.searchsorted(pred[:, 0], frames, "left"), np.searchsorted(pred[:, 0], frames, "right")
    data = {"num_timesteps": len(frames), "num_gt_dets": len(gt), "num_tracker_dets": len(pred),
            "num_gt_ids": int(oid.max(initial=-1)) + 1, "num_tracker_ids": int(hid.max(initial=-1)) + 1,
            "gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for k in range(len(frames)):
        g, p = slice(gs[0][k], gs[1][k]), slice(ps[0][k], ps[1][k])
        data["gt_ids"].append(oid[g].astype(int))
        data["tracker_ids"].append(hid[p].astype(int))
        data["similarity_scores"].append(
            _BaseDataset._calculate_box_ious(gt[g, 2:6], pred[p, 2:6], box_format="x0y0x1y1"))
    return data


def trackeval_hota(gt: Any, pred: Any) -> dict:
    """``trackeval.metrics.HOTA().eval_sequence`` of one sequence (the oracle of the HOTA keys):
    TrackEval's own dict of per-alpha arrays (``HOTA``, ``DetA``, ``AssA``, ``LocA``, ...)."""
    from trackeval.metrics import HOTA

    return HOTA().eval_sequence(trackeval_data(gt, pred))


def trackeval_evaluate_many(sequences: Sequence[tuple[Any, Any]], *, iou_threshold: float = 0.5) -> dict:
    """TrackEval's full MOTChallenge evaluation of (gt, pred) pairs, on arrays: HOTA, CLEAR and
    Identity ``eval_sequence`` per sequence (on :func:`trackeval_data`) and ``combine_sequences``.
    Returns ``{metric: {"sequences": [res, ...], "combined": res}}`` (TrackEval's dicts)."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    config = {"THRESHOLD": float(iou_threshold), "PRINT_CONFIG": False}
    metrics = {"HOTA": HOTA(), "CLEAR": CLEAR(dict(config)), "Identity": Identity(dict(config))}
    out = {name: {"sequences": []} for name in metrics}
    for g, p in sequences:
        data = trackeval_data(g, p)
        for name, metric in metrics.items():
            out[name]["sequences"].append(metric.eval_sequence(data))
    for name, metric in metrics.items():
        out[name]["combined"] = metric.combine_sequences(dict(enumerate(out[name]["sequences"])))
    return out


def _same(a: float, b: float, rtol: float) -> bool:
    return bool((np.isnan(a) and np.isnan(b)) or a == b or abs(a - b) <= rtol * max(1.0, abs(a)))


def benchmark_mot(sequences: Sequence[tuple[Any, Any]], *, iou_threshold: float = 0.5,
                  repeats: int = 3, trackeval: bool = True) -> dict:
    """Time the full :func:`evaluate_mot_many` (CLEAR, identity, track quality and HOTA) against
    motmetrics (accumulate + ``compute_many`` of the same CLEAR/identity/track metrics) and, with
    ``trackeval``, against TrackEval (:func:`trackeval_evaluate_many`: HOTA, CLEAR, Identity), on
    the same (gt, pred) pairs, interleaved, median of ``repeats``; check that every motmetrics
    count agrees and every HOTA key is within 1e-9 of TrackEval's, per sequence and combined.

    Returns:
        dict: ``harness_s``, ``motmetrics_s`` and ``trackeval_s`` (median seconds for all
        sequences; ``trackeval_s`` nan without ``trackeval``), ``speedup`` (motmetrics /
        harness), ``speedup_trackeval`` (TrackEval / harness), ``equal_counts`` (bool: every
        motmetrics count and ratio agrees), ``equal_hota`` (bool), ``mismatches`` (list of str),
        ``hota_max_abs_diff``, ``frames``, ``gt_rows``, ``pred_rows`` and the harness'
        ``overall`` metrics.
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

    def run_trackeval():
        return trackeval_evaluate_many(sequences, iou_threshold=iou_threshold)

    t_h, t_m, t_t = [], [], []
    ours = theirs = te = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        ours = run_harness()
        t_h.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = run_motmetrics()
        t_m.append(time.perf_counter() - t0)
        if trackeval:
            t0 = time.perf_counter()
            te = run_trackeval()
            t_t.append(time.perf_counter() - t0)
    mismatches = []
    rows = [*ours["sequences"], ours["overall"]] if ours["sequences"] else []
    for i, mine in enumerate(rows):
        where = "overall" if i == len(rows) - 1 else f"sequence {i}"
        row = theirs.iloc[i]
        for key, name in MOTMETRICS_NAMES.items():
            a, b = mine[key], row[name]
            same = (a == int(b)) if key not in RATIO_KEYS else _same(a, float(b), 1e-9)
            if not same:
                mismatches.append(f"{where}: {key} harness {a} vs motmetrics {b}")
    equal_counts = not mismatches
    hota_diff = float("nan")
    if trackeval and rows:
        hota_diff = 0.0
        te_rows = [*te["HOTA"]["sequences"], te["HOTA"]["combined"]]
        for i, (mine, res) in enumerate(zip(rows, te_rows)):
            where = "overall" if i == len(rows) - 1 else f"sequence {i}"
            for key in HOTA_KEYS:
                b = float(np.mean(res[TRACKEVAL_HOTA_NAMES[key]]))
                hota_diff = max(hota_diff, abs(mine[key] - b))
                if not _same(mine[key], b, 1e-9):
                    mismatches.append(f"{where}: {key} harness {mine[key]} vs TrackEval {b}")
    harness_s, motmetrics_s = statistics.median(t_h), statistics.median(t_m)
    trackeval_s = statistics.median(t_t) if t_t else float("nan")
    return {
        "harness_s": harness_s,
        "motmetrics_s": motmetrics_s,
        "trackeval_s": trackeval_s,
        "speedup": motmetrics_s / harness_s if harness_s > 0 else float("inf"),
        "speedup_trackeval": trackeval_s / harness_s if harness_s > 0 else float("inf"),
        "equal_counts": equal_counts,
        "equal_hota": not any("TrackEval" in m for m in mismatches),
        "hota_max_abs_diff": hota_diff,
        "mismatches": mismatches,
        "sequences": len(sequences),
        "frames": sum(p["num_frames"] for p in ours["sequences"]),
        "gt_rows": sum(p["num_objects"] for p in ours["sequences"]),
        "pred_rows": sum(p["num_predictions"] for p in ours["sequences"]),
        "overall": ours["overall"],
    }
