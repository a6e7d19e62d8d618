"""COCO box detection metrics, vectorised, with the 12 stats of pycocotools' ``COCOeval``
(trusted code; ``iouType="bbox"``, default parameters).

The rules are those of pycocotools 2.0 (``COCOeval.evaluate``, ``accumulate``, ``summarize``),
reproduced bit for bit (the tests compare every stat and the full precision / recall arrays
with ``==``):

* images are ``gt["images"]`` ids, visited in ascending id order; categories are
  ``gt["categories"]`` ids in ascending order; annotations and detections of other images or
  categories are left out (a detection of an unknown image is an error, as in ``loadRes``);
* IoU of a detection ``d`` and a ground truth ``g`` (both ``[x, y, w, h]``, float64) is
  ``i / u`` with ``i`` the intersection (``min(x + w) - max(x)``, 0 unless both sides are > 0)
  and ``u = area(d) + area(g) - i``, or ``u = area(d)`` when ``g`` is a crowd region
  (``iscrowd`` true);
* per image and category, detections are sorted by decreasing score (stable: equal scores keep
  the order of the ``detections`` list) and cut to 100; ground truth is ignored when it is a
  crowd region or its ``area`` field lies outside the area range, and the ignored ground truth
  goes after the rest (stable);
* matching, per IoU threshold ``t`` in ``numpy.linspace(0.5, 0.95, 10)`` (so ``0.85`` and
  ``0.8999999999999999``): each detection in turn takes, among the ground truth still free
  (crowd regions always are) with IoU ``>= t``, the non-ignored one of highest IoU, or failing
  that the ignored one of highest IoU; on equal IoU the later one (in the annotation list's
  order) wins. A detection matched to ignored ground truth is ignored; an unmatched detection
  whose area ``w * h`` lies outside the area range is ignored;
* accumulation, per category, area range (all ``[0, 1e10]``, small ``[0, 32**2]``, medium
  ``[32**2, 96**2]``, large ``[96**2, 1e10]``) and maxDets (1, 10, 100): the first ``maxDets``
  detections of every image, pooled and sorted by decreasing score (stable: images in id order,
  then the order within the image), give ``recall = TP / npig`` (npig = non-ignored ground
  truth; a category with none is left out as -1) and ``precision = TP / (TP + FP + eps)``;
  the precision envelope is sampled at the first index with ``recall >= r`` for ``r`` in
  ``numpy.linspace(0, 1, 101)`` (0 past the end);
* the stats are ``COCOeval.summarize``'s: means over the entries that are not -1.

The result does not depend on the order of ``gt["images"]`` nor on how the detections of
different images are interleaved; like pycocotools, it depends on the order of detections
*within one image* only where they have equal scores, and on the order of annotations within one
image only where a detection has equal IoU with two of them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import statistics
import time
from typing import Any, Sequence

import numpy as np

__all__ = ["evaluate", "pycocotools_evaluate", "benchmark_coco", "benchmark_case", "STAT_NAMES",
           "STAT_DESCRIPTIONS", "IOU_THRESHOLDS", "RECALL_THRESHOLDS", "MAX_DETS", "AREA_RANGES",
           "AREA_LABELS"]

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)  # as pycocotools
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = (1, 10, 100)
AREA_RANGES = ((0 ** 2, 1e5 ** 2), (0 ** 2, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 1e5 ** 2))
AREA_LABELS = ("all", "small", "medium", "large")

# the 12 stats in COCOeval.stats order: (name, is AP, IoU threshold, area, maxDets)
_SUMMARY = (
    ("AP", True, None, "all", 100),
    ("AP50", True, 0.5, "all", 100),
    ("AP75", True, 0.75, "all", 100),
    ("APs", True, None, "small", 100),
    ("APm", True, None, "medium", 100),
    ("APl", True, None, "large", 100),
    ("AR1", False, None, "all", 1),
    ("AR10", False, None, "all", 10),
    ("AR100", False, None, "all", 100),
    ("ARs", False, None, "small", 100),
    ("ARm", False, None, "medium", 100),
    ("ARl", False, None, "large", 100),
)
STAT_NAMES = tuple(s[0] for s in _SUMMARY)


def _description(ap: bool, iou: float | None, area: str, max_dets: int) -> str:
    title, kind = ("Average Precision", "(AP)") if ap else ("Average Recall", "(AR)")
    iou_str = f"{IOU_THRESHOLDS[0]:0.2f}:{IOU_THRESHOLDS[-1]:0.2f}" if iou is None else f"{iou:0.2f}"
    return f"{title:<18} {kind} @[ IoU={iou_str:<9} | area={area:>6s} | maxDets={max_dets:>3d} ]"


STAT_DESCRIPTIONS = {s[0]: _description(*s[1:]) for s in _SUMMARY}  # the lines COCOeval.summarize prints

_EPS = np.spacing(1)


# ---------------------------------------------------------------------------------- inputs
def _finite_boxes(name: str, boxes: np.ndarray) -> None:
    if boxes.size and not np.isfinite(boxes).all():
        i = int(np.nonzero(~np.isfinite(boxes).all(axis=1))[0][0])
        raise ValueError(f"{name} {i}: bbox {boxes[i].tolist()} holds nan or inf")


def _records(name: str, records: Any, keys: tuple[str, ...]) -> None:
    if not isinstance(records, (list, tuple)):
        raise TypeError(f"{name} must be a list of dicts, got {type(records).__name__}")
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise TypeError(f"{name}[{i}] must be a dict with keys {list(keys)}, got {type(r).__name__}")
        missing = [k for k in keys if k not in r]
        if missing:
            raise ValueError(f"{name}[{i}] lacks {missing} (it has {sorted(map(str, r))[:10]})")


def _bbox_array(name: str, records: Sequence[dict]) -> np.ndarray:
    if not records:
        return np.zeros((0, 4), dtype=np.float64)
    try:
        boxes = np.array([r["bbox"] for r in records], dtype=np.float64)
    except (TypeError, ValueError):
        boxes = None
    if boxes is None or boxes.shape != (len(records), 4):
        bad = next((i for i, r in enumerate(records) if np.shape(r["bbox"]) != (4,)), 0)
        raise ValueError(f"{name} {bad}: 'bbox' must be [x, y, w, h] of 4 numbers, got {records[bad]['bbox']!r:.80}")
    return boxes


def _index_of(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``wanted`` in the sorted unique ``ids`` and whether each is there."""
    if ids.size == 0:
        return np.zeros(wanted.shape, dtype=np.int64), np.zeros(wanted.shape, dtype=bool)
    pos = np.searchsorted(ids, wanted).clip(max=ids.size - 1)
    return pos, ids[pos] == wanted


def _ids(values: list, what: str) -> np.ndarray:
    arr = np.asarray(values) if len(values) else np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iuf" or arr.ndim != 1:
        raise ValueError(f"{what} must be numbers, got {values[:5]!r:.80}")
    return arr


# ---------------------------------------------------------------------------------- matching
def _iou(d: np.ndarray, g: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """maskApi.c ``bbIou`` bit for bit: ``d`` [n, 4] against ``g`` [n, G, 4] (xywh) -> [n, G]."""
    dx, dy, dw, dh = (d[:, None, k] for k in range(4))
    gx, gy, gw, gh = (g[..., k] for k in range(4))
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    i = w * h
    da = dw * dh
    u = np.where(crowd, da, da + gw * gh - i)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((w > 0) & (h > 0), i / u, 0.0)


def _match(dt_box: np.ndarray, dt_start: np.ndarray, dt_count: np.ndarray,
           gt_box: np.ndarray, gt_start: np.ndarray, gt_count: np.ndarray, gt_crowd: np.ndarray,
           gt_ignore: np.ndarray, gt_real_id: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy matching of every (image, category) group that has detections and ground truth,
    all groups, area ranges and thresholds at once, one detection rank per step.

    ``dt_*`` / ``gt_*`` are sorted by group (detections by rank, ground truth in annotation
    order); ``*_start``/``*_count`` give each group's slice. ``gt_ignore`` is [A, Ngt].
    Returns, per detection, [A, T, Ndt] arrays: matched, matched to ignored ground truth,
    matched to ground truth whose id is not 0 (pycocotools stores the gt id as the match).
    """
    A, T = gt_ignore.shape[0], IOU_THRESHOLDS.size
    n_dt = dt_box.shape[0]
    matched = np.zeros((A, T, n_dt), dtype=bool)
    to_ignored = np.zeros((A, T, n_dt), dtype=bool)
    real = np.zeros((A, T, n_dt), dtype=bool)
    if not dt_start.size:
        return matched, to_ignored, real
    thr = IOU_THRESHOLDS[None, None, :, None]  # [1, 1, T, 1]
    # buckets of groups by padded ground-truth count (powers of two), groups by decreasing
    # detection count inside a bucket so that the groups still matching are a prefix
    padded = 1 << np.ceil(np.log2(np.maximum(gt_count, 1))).astype(np.int64)
    for gp in np.unique(padded):
        sel = np.nonzero(padded == gp)[0]
        sel = sel[np.argsort(-dt_count[sel], kind="stable")]
        n = sel.size
        slot = np.arange(gp)
        gvalid = slot[None, :] < gt_count[sel, None]  # [n, Gp]
        gidx = np.where(gvalid, gt_start[sel, None] + slot[None, :], 0)  # [n, Gp]
        gbox = gt_box[gidx]  # [n, Gp, 4]
        gcrowd = gt_crowd[gidx] & gvalid  # [n, Gp]
        gign = np.moveaxis(gt_ignore[:, gidx], 0, 1)[:, :, None, :]  # [n, A, 1, Gp]
        greal = gt_real_id[gidx]  # [n, Gp]
        free = np.broadcast_to(gvalid[:, None, None, :], (n, A, T, gp)).copy()  # [n, A, T, Gp]
        counts = dt_count[sel]
        for d in range(int(counts[0])):
            k = int(np.count_nonzero(counts > d))  # groups with a detection of rank d
            di = dt_start[sel[:k]] + d  # [k]
            iou = _iou(dt_box[di], gbox[:k], gcrowd[:k])[:, None, None, :]  # [k, 1, 1, Gp]
            cand = free[:k] & (iou >= thr)  # [k, A, T, Gp]
            ign = gign[:k]
            regular = cand & ~ign
            has_regular = regular.any(-1)  # [k, A, T]
            pool = np.where(has_regular[..., None], regular, cand & ign)  # [k, A, T, Gp]
            value = np.where(pool, iou, -1.0)
            best = value.max(-1, keepdims=True)
            last = gp - 1 - np.argmax((pool & (value == best))[..., ::-1], axis=-1)  # [k, A, T]
            hit = pool.any(-1)  # [k, A, T]
            rows, aa, tt = np.nonzero(hit)
            gg = last[rows, aa, tt]
            free[rows, aa, tt, gg] = gcrowd[rows, gg]  # crowd regions stay free
            matched[:, :, di] = hit.transpose(1, 2, 0)
            m_ign = np.take_along_axis(np.broadcast_to(ign, (k, A, T, gp)), last[..., None], -1)[..., 0]
            to_ignored[:, :, di] = (hit & m_ign).transpose(1, 2, 0)
            m_real = greal[:k][np.arange(k)[:, None, None], last]  # [k, A, T]
            real[:, :, di] = (hit & m_real).transpose(1, 2, 0)
    return matched, to_ignored, real


# ---------------------------------------------------------------------------------- evaluate
def evaluate(gt: dict, detections: Sequence[dict]) -> dict:
    """COCOeval (bbox) of ``detections`` on the COCO ground truth ``gt``, vectorised.

    Args:
        gt (dict): COCO instances: ``images`` (``id``), ``categories`` (``id``) and
            ``annotations`` (``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]``, ``area``
            (default ``w * h``), ``iscrowd`` (default 0), ``id``).
        detections (list[dict]): COCO results: ``image_id``, ``category_id``, ``bbox``
            ``[x, y, w, h]``, ``score``.

    Returns:
        dict: the 12 stats by name (:data:`STAT_NAMES`: ``AP``, ``AP50``, ``AP75``, ``APs``,
        ``APm``, ``APl``, ``AR1``, ``AR10``, ``AR100``, ``ARs``, ``ARm``, ``ARl``; -1.0 where
        pycocotools prints -1), ``stats`` (the same 12 floats in ``COCOeval.stats`` order),
        ``AP50_per_class`` (``{category id: AP at IoU 0.5, area all, 100 detections, or None
        without ground truth}``), ``precision`` (float64 [T=10, R=101, K, A=4, M=3]) and
        ``recall`` ([T, K, A, M]) equal to ``COCOeval.eval``'s, ``cat_ids`` and ``img_ids``.
        With no detections at all (where pycocotools' ``loadRes`` fails) every category with
        ground truth scores 0.

    Raises:
        TypeError, ValueError: malformed input (the message names the record and the field).
    """
    if not isinstance(gt, dict):
        raise TypeError(f"gt must be a COCO dict, got {type(gt).__name__}")
    for key in ("images", "annotations", "categories"):
        if key not in gt:
            raise ValueError(f"gt lacks {key!r}")
        _records(f"gt[{key!r}]", gt[key], ("id",) if key != "annotations" else ("image_id", "category_id", "bbox"))
    _records("detections", detections, ("image_id", "category_id", "bbox", "score"))

    img_ids = np.unique(_ids([im["id"] for im in gt["images"]], "image ids"))
    cat_ids = np.unique(_ids([c["id"] for c in gt["categories"]], "category ids"))
    K, A, T, R, M = cat_ids.size, len(AREA_RANGES), IOU_THRESHOLDS.size, RECALL_THRESHOLDS.size, len(MAX_DETS)
    lo = np.array([r[0] for r in AREA_RANGES], dtype=np.float64)[:, None]  # [A, 1]
    hi = np.array([r[1] for r in AREA_RANGES], dtype=np.float64)[:, None]

    # ground truth of known images and categories, sorted by (image, category), list order kept
    anns = gt["annotations"]
    ann_ids = [a["id"] for a in anns if "id" in a]
    if len(set(ann_ids)) != len(ann_ids):
        raise ValueError("gt['annotations'] ids must be unique (pycocotools indexes annotations by id)")
    g_img, g_in_img = _index_of(img_ids, _ids([a["image_id"] for a in anns], "annotation image ids"))
    g_cat, g_in_cat = _index_of(cat_ids, _ids([a["category_id"] for a in anns], "annotation category ids"))
    g_box = _bbox_array("gt annotation", anns)
    _finite_boxes("gt annotation", g_box)
    g_area = np.array([a["area"] if "area" in a else a["bbox"][2] * a["bbox"][3] for a in anns], dtype=np.float64)
    g_crowd = np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool)
    g_real = np.array([a.get("id", -1) != 0 for a in anns], dtype=bool)
    keep = np.nonzero(g_in_img & g_in_cat)[0]
    keep = keep[np.lexsort((keep, g_cat[keep], g_img[keep]))]
    g_img, g_cat, g_box, g_area, g_crowd, g_real = (x[keep] for x in (g_img, g_cat, g_box, g_area, g_crowd, g_real))
    g_ignore = g_crowd[None, :] | (g_area[None, :] < lo) | (g_area[None, :] > hi)  # [A, Ngt]

    # detections: unknown images are an error, unknown categories are left out
    d_img_id = _ids([d["image_id"] for d in detections], "detection image ids")
    d_img, d_in_img = _index_of(img_ids, d_img_id)
    if not d_in_img.all():
        i = int(np.nonzero(~d_in_img)[0][0])
        raise ValueError(f"detections[{i}]: image_id {detections[i]['image_id']!r} is not an image of gt")
    d_cat, d_in_cat = _index_of(cat_ids, _ids([d["category_id"] for d in detections], "detection category ids"))
    d_box = _bbox_array("detection", detections)
    _finite_boxes("detection", d_box)
    try:
        d_score = np.array([d["score"] for d in detections], dtype=np.float64).reshape(len(detections))
    except (TypeError, ValueError):
        raise ValueError("detections: every 'score' must be a number") from None
    if not np.isfinite(d_score).all():
        i = int(np.nonzero(~np.isfinite(d_score))[0][0])
        raise ValueError(f"detections[{i}]: score {d_score[i]!r} is not finite")
    keep = np.nonzero(d_in_cat)[0]
    # by (image, category), decreasing score, list order; the first 100 of every group
    keep = keep[np.lexsort((keep, -d_score[keep], d_cat[keep], d_img[keep]))]
    d_img, d_cat, d_box, d_score = d_img[keep], d_cat[keep], d_box[keep], d_score[keep]
    d_group = d_img * K + d_cat
    first = np.r_[True, d_group[1:] != d_group[:-1]] if d_group.size else np.zeros(0, dtype=bool)
    starts = np.nonzero(first)[0]
    d_rank = np.arange(d_group.size) - np.repeat(starts, np.diff(np.r_[starts, d_group.size]))
    keep = d_rank < MAX_DETS[-1]
    d_img, d_cat, d_box, d_score, d_group, d_rank = (x[keep] for x in (d_img, d_cat, d_box, d_score, d_group, d_rank))
    d_area = d_box[:, 2] * d_box[:, 3]

    # groups with both detections and ground truth
    g_group = g_img * K + g_cat
    dg, dg_start, dg_count = np.unique(d_group, return_index=True, return_counts=True)
    gg, gg_start, gg_count = np.unique(g_group, return_index=True, return_counts=True)
    both, di, gi = np.intersect1d(dg, gg, assume_unique=True, return_indices=True)
    matched, to_ignored, real = _match(d_box, dg_start[di], dg_count[di], g_box, gg_start[gi],
                                       gg_count[gi], g_crowd, g_ignore, g_real)
    effective = matched & real  # pycocotools: dtMatches holds the gt id, 0 reads as unmatched
    d_out = (d_area[None, :] < lo) | (d_area[None, :] > hi)  # [A, Ndt]
    d_ignore = (matched & to_ignored) | (~effective & d_out[:, None, :])  # [A, T, Ndt]
    tps = effective & ~d_ignore
    fps = ~effective & ~d_ignore

    # accumulate: per category, detections by decreasing score, images in id order, then rank
    npig = np.zeros((K, A), dtype=np.int64)
    for a in range(A):
        npig[:, a] = np.bincount(g_cat[~g_ignore[a]], minlength=K)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    order = np.lexsort((d_rank, d_img, -d_score, d_cat))
    bounds = np.searchsorted(d_cat[order], np.arange(K + 1))
    for k in range(K):
        idx = order[bounds[k]:bounds[k + 1]]
        for m, max_det in enumerate(MAX_DETS):
            sub = idx[d_rank[idx] < max_det]
            nd = sub.size
            for a in range(A):
                if npig[k, a] == 0:
                    continue
                tp_sum = np.cumsum(tps[a][:, sub], axis=1).astype(dtype=float)  # [T, nd]
                fp_sum = np.cumsum(fps[a][:, sub], axis=1).astype(dtype=float)
                rc = tp_sum / npig[k, a]
                pr = tp_sum / (fp_sum + tp_sum + _EPS)
                recall[:, k, a, m] = rc[:, -1] if nd else 0
                if not nd:
                    precision[:, :, k, a, m] = 0.0
                    continue
                env = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                q = np.zeros((T, R))
                for t in range(T):
                    inds = np.searchsorted(rc[t], RECALL_THRESHOLDS, side="left")
                    ok = inds < nd
                    q[t, ok] = env[t, inds[ok]]
                precision[:, :, k, a, m] = q

    out: dict[str, Any] = {}
    stats = []
    for name, ap, iou, area, max_det in _SUMMARY:
        aind = [i for i, lbl in enumerate(AREA_LABELS) if lbl == area]
        mind = [i for i, md in enumerate(MAX_DETS) if md == max_det]
        if ap:
            s = precision
            if iou is not None:
                s = s[np.where(iou == IOU_THRESHOLDS)[0]]
            s = s[:, :, :, aind, mind]
        else:
            s = recall
            if iou is not None:
                s = s[np.where(iou == IOU_THRESHOLDS)[0]]
            s = s[:, :, aind, mind]
        value = -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))
        out[name] = value
        stats.append(value)
    out["stats"] = stats
    per_class = {}
    for k, cat in enumerate(cat_ids.tolist()):
        curve = precision[0, :, k, 0, -1]
        valid = curve > -1
        per_class[cat] = float(curve[valid].mean()) if valid.any() else None
    out.update(AP50_per_class=per_class, precision=precision, recall=recall, cat_ids=cat_ids.tolist(),
               img_ids=img_ids.tolist())
    return out


# ---------------------------------------------------------------------------------- oracle
def pycocotools_evaluate(gt: dict, detections: Sequence[dict], *, quiet: bool = True):
    """pycocotools' ``COCOeval`` (bbox) after ``evaluate/accumulate/summarize`` on copies of the
    inputs (pycocotools writes into them), or ``None`` without detections (``loadRes`` fails)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not detections:
        return None
    sink = io.StringIO() if quiet else None
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        coco = COCO()
        coco.dataset = copy.deepcopy({k: gt[k] for k in ("images", "annotations", "categories")})
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes([dict(d) for d in detections]), iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


# ---------------------------------------------------------------------------------- benchmark
def benchmark_case(num_images: int = 500, detections_per_image: int = 16, *, num_classes: int = 5,
                   seed: int = 0) -> tuple[dict, list[dict]]:
    """A COCO-like case: 640 x 480 images with 1-10 objects of sizes from small to large, about
    5% crowd regions; per image ``detections_per_image`` detections (jittered true ones,
    duplicates, false positives) with scores rounded to 0.01 so that ties cross images."""
    rng = np.random.default_rng(seed)
    images, annotations, detections = [], [], []
    for i in range(num_images):
        image_id = 1000 + 7 * i
        images.append({"id": image_id, "width": 640, "height": 480})
        n = int(rng.integers(1, 11))
        size = np.exp(rng.uniform(np.log(8), np.log(300), size=(n, 1))) * rng.uniform(0.6, 1.4, size=(n, 2))
        xy = rng.uniform(0, 1, size=(n, 2)) * (np.array([640.0, 480.0]) - size).clip(min=1)
        cats = rng.integers(1, num_classes + 1, size=n)
        crowd = rng.uniform(size=n) < 0.05
        for j in range(n):
            w, h = (float(v) for v in size[j])
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(cats[j]),
                                "bbox": [float(xy[j, 0]), float(xy[j, 1]), w, h], "area": w * h,
                                "iscrowd": int(crowd[j])})
        for _ in range(detections_per_image):
            j = int(rng.integers(0, n))
            if rng.uniform() < 0.7:
                box = np.r_[xy[j], size[j]] + rng.normal(0, 0.08, 4) * np.r_[size[j], size[j]]
                cat = int(cats[j]) if rng.uniform() < 0.9 else int(rng.integers(1, num_classes + 1))
                score = rng.uniform(0.3, 1.0)
            else:
                wh = np.exp(rng.uniform(np.log(8), np.log(200), 2))
                box = np.r_[rng.uniform(0, 1, 2) * (np.array([640.0, 480.0]) - wh), wh]
                cat, score = int(rng.integers(1, num_classes + 1)), rng.uniform(0.0, 0.7)
            box[2:] = box[2:].clip(min=1.0)
            detections.append({"image_id": image_id, "category_id": cat, "bbox": [float(v) for v in box],
                               "score": round(float(score), 2)})
    categories = [{"id": k, "name": f"class{k}"} for k in range(1, num_classes + 1)]
    return {"images": images, "annotations": annotations, "categories": categories}, detections


def benchmark_coco(gt: dict | None = None, detections: Sequence[dict] | None = None, *, repeats: int = 5) -> dict:
    """Time :func:`evaluate` against pycocotools (``COCO`` index, ``loadRes``, ``evaluate``,
    ``accumulate``, ``summarize``) on the same case (default :func:`benchmark_case`),
    interleaved after a warm-up, median of ``repeats``; check that all 12 stats and the precision / recall arrays
    are identical.

    Returns:
        dict: ``harness_s``, ``pycocotools_s`` (median seconds), ``harness_iqr_s``,
        ``pycocotools_iqr_s``, ``speedup`` (pycocotools / harness), ``identical`` (bool: the 12
        stats equal with ``==``), ``arrays_identical``, ``mismatches`` (list of str),
        ``images``, ``annotations``, ``crowd``, ``detections`` and the harness' ``stats``.
    """
    if gt is None:
        gt, detections = benchmark_case()
    detections = list(detections or [])
    t_h, t_p = [], []
    evaluate(gt, detections)  # warm-up: imports, caches
    pycocotools_evaluate(gt, detections)
    ours = ev = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        ours = evaluate(gt, detections)
        t_h.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ev = pycocotools_evaluate(gt, detections)
        t_p.append(time.perf_counter() - t0)
    mismatches = []
    if ev is not None:
        for name, a, b in zip(STAT_NAMES, ours["stats"], ev.stats.tolist(), strict=True):
            if a != b:
                mismatches.append(f"{name}: harness {a!r}, pycocotools {b!r}")
        arrays = (np.array_equal(ours["precision"], ev.eval["precision"])
                  and np.array_equal(ours["recall"], ev.eval["recall"]))
    else:
        arrays = False
        mismatches.append("pycocotools cannot evaluate a case without detections")

    def iqr(xs):
        q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
        return q[2] - q[0]

    h, p = statistics.median(t_h), statistics.median(t_p)
    return {"harness_s": h, "pycocotools_s": p, "harness_iqr_s": iqr(t_h), "pycocotools_iqr_s": iqr(t_p),
            "speedup": p / h, "identical": not mismatches, "arrays_identical": arrays, "mismatches": mismatches,
            "images": len(gt["images"]), "annotations": len(gt["annotations"]),
            "crowd": sum(bool(a.get("iscrowd", 0)) for a in gt["annotations"]), "detections": len(detections),
            "stats": dict(zip(STAT_NAMES, ours["stats"], strict=True))}
