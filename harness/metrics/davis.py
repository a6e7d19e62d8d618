"""DAVIS J&F for video object segmentation (trusted code; numpy only).

The DAVIS toolkit (davis2017-evaluation, ``davis2017/metrics.py`` and ``evaluation.py``) is not
installable here; this module re-implements its conventions, each pinned here and tested on
hand-made cases in tests/test_davis_metric.py:

* **J (region similarity)** = ``|M ∩ G| / |M ∪ G|`` of the binary masks (any nonzero value is
  foreground), with void pixels (``void``, e.g. DAVIS' 255 band) removed from both counts. When
  the union is empty (object absent and nothing predicted) ``J = 1`` (the toolkit's
  ``j[np.isclose(union, 0)] = 1``).
* **F (contour accuracy)**: the boundary map of a mask is the toolkit's ``_seg2bmap``: a pixel is
  a boundary pixel when it differs from its right (``e``), lower (``s``) or lower-right (``se``)
  neighbour, neighbours outside the image counting as background, except that in the last row a
  pixel is compared with its right neighbour only, in the last column with its lower neighbour
  only, and the bottom-right pixel is never a boundary pixel. So the boundary lies on one side of
  the contour (the foreground side on the top and left of an object, the background side on its
  bottom and right). Void pixels are set to background before the boundary maps are computed.
* The tolerance: ``bound_pix = bound_th`` if ``bound_th >= 1`` else
  ``ceil(bound_th * sqrt(H**2 + W**2))`` with ``bound_th = 0.008`` (0.8% of the image diagonal:
  1 px up to a 125 px diagonal, 8 px at 480 x 854); each boundary map is dilated by a disk of that
  radius (skimage ``disk(r)``: offsets with ``dy**2 + dx**2 <= r**2``; pixels outside the image
  add nothing, as ``cv2.dilate``'s default border).
* precision = matched predicted boundary pixels / predicted boundary pixels (matched = within the
  dilated true boundary), recall = matched true / true boundary pixels. Degenerate cases, as the
  toolkit: no predicted and no true boundary -> P = R = 1; no predicted boundary only -> P = 1,
  R = 0; no true boundary only -> P = 0, R = 1. ``F = 2PR / (P + R)``, 0 when ``P + R = 0``.
* **Statistics over a sequence** (``db_statistics``): mean ``M = nanmean(values)``; recall
  ``O = nanmean(values > 0.5)`` (strictly greater); decay ``D = mean(bin 0) - mean(bin 3)`` with 4
  quartile bins whose frame indices are ``ids = round(linspace(1, T, 5) + 1e-10) - 1`` and bin ``i``
  = ``values[ids[i] : ids[i+1] + 1]`` (neighbouring bins share their boundary frame).
* **Semi-supervised protocol**: the first frame (given) and the last frame are not scored
  (``evaluate_sequence(..., skip_first_last=True)``, the toolkit's ``[:, 1:-1]``). ``J&F`` of a
  set of sequences is ``(mean J + mean F) / 2`` where each mean averages the per-sequence means
  (every sequence weighs the same, whatever its length). One object per sequence here: a
  multi-object annotation is scored object id by object id (``evaluate_objects``), each object
  a "sequence" of its own, as the toolkit does.

All counts are integers, ratios float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

__all__ = ["BOUND_TH", "jaccard", "seg2bmap", "disk", "dilate", "bound_pixels", "f_measure", "boundary_pr",
           "db_statistics", "SequenceScore", "evaluate_sequence", "evaluate_sequences", "evaluate_objects"]

BOUND_TH = 0.008


def _binary(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-d mask [H, W], got shape {list(a.shape)}")
    return a != 0


def _void(void, shape) -> np.ndarray:
    if void is None:
        return np.zeros(shape, dtype=bool)
    v = _binary(void, "void")
    if v.shape != shape:
        raise ValueError(f"void has shape {list(v.shape)}, the masks {list(shape)}")
    return v


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    p, g = _binary(pred, "pred"), _binary(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred has shape {list(p.shape)}, gt {list(g.shape)}: they must match")
    return p, g


def jaccard(pred, gt, void=None) -> float:
    """Region similarity J of two masks ``[H, W]`` (nonzero = foreground); 1.0 if the union
    (outside void) is empty."""
    p, g = _pair(pred, gt)
    keep = ~_void(void, p.shape)
    inter = int(np.count_nonzero(p & g & keep))
    union = int(np.count_nonzero((p | g) & keep))
    return 1.0 if union == 0 else inter / union


def seg2bmap(mask) -> np.ndarray:
    """The DAVIS boundary map (bool ``[H, W]``) of a mask; see the module docstring."""
    seg = _binary(mask, "mask")
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    if seg.size:
        b[-1, :] = seg[-1, :] ^ e[-1, :]
        b[:, -1] = seg[:, -1] ^ s[:, -1]
        b[-1, -1] = False
    return b


def disk(radius: int) -> np.ndarray:
    """The structuring element of skimage's ``disk(radius)``: bool ``[2r+1, 2r+1]``,
    ``dy**2 + dx**2 <= r**2``."""
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be an int >= 0, got {radius!r}")
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return yy * yy + xx * xx <= r * r


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of ``mask [H, W]`` by :func:`disk` ``(radius)``; outside the image adds nothing."""
    m = np.asarray(mask, dtype=bool)
    h, w = m.shape
    out = np.zeros_like(m)
    se = disk(radius)
    r = int(radius)
    for dy, dx in zip(*np.nonzero(se)):
        dy, dx = int(dy) - r, int(dx) - r
        # out[y, x] |= m[y - dy, x - dx]  (a symmetric element: the sign does not matter)
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[yd, xd] |= m[ys, xs]
    return out


def bound_pixels(shape: Sequence[int], bound_th: float = BOUND_TH) -> int:
    """The tolerance radius in pixels: ``bound_th`` if >= 1, else ``ceil(bound_th * diagonal)``."""
    if not bound_th > 0:
        raise ValueError(f"bound_th must be > 0, got {bound_th!r}")
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(*shape)))


def boundary_pr(pred, gt, void=None, bound_th: float = BOUND_TH) -> tuple[float, float]:
    """(precision, recall) of the boundaries; see the module docstring for the degenerate cases."""
    p, g = _pair(pred, gt)
    keep = ~_void(void, p.shape)
    r = bound_pixels(p.shape, bound_th)
    fg_b = seg2bmap(p & keep)
    gt_b = seg2bmap(g & keep)
    n_fg, n_gt = int(fg_b.sum()), int(gt_b.sum())
    if n_fg == 0 and n_gt == 0:
        return 1.0, 1.0
    if n_fg == 0:
        return 1.0, 0.0
    if n_gt == 0:
        return 0.0, 1.0
    fg_match = int((fg_b & dilate(gt_b, r)).sum())
    gt_match = int((gt_b & dilate(fg_b, r)).sum())
    return fg_match / n_fg, gt_match / n_gt


def f_measure(pred, gt, void=None, bound_th: float = BOUND_TH) -> float:
    """Contour accuracy F of two masks ``[H, W]``."""
    prec, rec = boundary_pr(pred, gt, void, bound_th)
    return 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)


def db_statistics(values) -> tuple[float, float, float]:
    """(mean, recall, decay) of per-frame values (the toolkit's ``db_statistics``).

    Raises:
        ValueError: fewer than 1 value, or not 1-d.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-d sequence, got shape {list(v.shape)}")
    finite = v[~np.isnan(v)]
    mean = float(finite.mean()) if finite.size else float("nan")
    recall = float((finite > 0.5).mean()) if finite.size else float("nan")
    ids = (np.round(np.linspace(1, v.size, 5) + 1e-10) - 1).astype(np.int64)
    bins = [v[ids[i]:ids[i + 1] + 1] for i in range(4)]

    def nanmean(b):
        b = b[~np.isnan(b)]
        return float(b.mean()) if b.size else float("nan")

    return mean, recall, nanmean(bins[0]) - nanmean(bins[3])


@dataclass(frozen=True)
class SequenceScore:
    """Per-frame J and F of one sequence (scored frames only) and their statistics."""

    j: tuple[float, ...]
    f: tuple[float, ...]
    j_mean: float
    j_recall: float
    j_decay: float
    f_mean: float
    f_recall: float
    f_decay: float

    @property
    def jf(self) -> float:
        return (self.j_mean + self.f_mean) / 2


def evaluate_sequence(preds: Iterable, gts: Iterable, voids: Iterable | None = None, *,
                      skip_first_last: bool = True, bound_th: float = BOUND_TH) -> SequenceScore:
    """J and F of every frame of one object's sequence (``[T, H, W]`` masks or lists of
    ``[H, W]``), the first and last frame skipped unless ``skip_first_last=False``.

    Raises:
        ValueError: different frame counts, too few frames to score, or mismatched shapes.
    """
    preds, gts = list(preds), list(gts)
    voids = [None] * len(gts) if voids is None else list(voids)
    if len(preds) != len(gts) or len(voids) != len(gts):
        raise ValueError(f"got {len(preds)} predicted and {len(gts)} true masks ({len(voids)} void): must match")
    idx = range(1, len(gts) - 1) if skip_first_last else range(len(gts))
    if len(idx) == 0:
        raise ValueError(f"no frame to score: {len(gts)} frames, skip_first_last={skip_first_last}")
    j = [jaccard(preds[t], gts[t], voids[t]) for t in idx]
    f = [f_measure(preds[t], gts[t], voids[t], bound_th) for t in idx]
    jm, jr, jd = db_statistics(j)
    fm, fr, fd = db_statistics(f)
    return SequenceScore(tuple(j), tuple(f), jm, jr, jd, fm, fr, fd)


def evaluate_sequences(scores: Sequence[SequenceScore]) -> dict:
    """Dataset statistics: each sequence weighs the same (means of per-sequence statistics);
    ``J&F = (J mean + F mean) / 2``."""
    if not scores:
        raise ValueError("no sequence to average")
    out = {}
    for key in ("j_mean", "j_recall", "j_decay", "f_mean", "f_recall", "f_decay"):
        out[key] = float(np.mean([getattr(s, key) for s in scores]))
    out["jf_mean"] = (out["j_mean"] + out["f_mean"]) / 2
    return out


def evaluate_objects(preds, gts, voids=None, *, skip_first_last: bool = True,
                     bound_th: float = BOUND_TH) -> dict[int, SequenceScore]:
    """Multi-object label maps ``[T, H, W]`` (object ids; 0 background): one
    :class:`SequenceScore` per object id present in the ground truth (void 255 excluded)."""
    p, g = np.asarray(preds), np.asarray(gts)
    if p.shape != g.shape or p.ndim != 3:
        raise ValueError(f"preds and gts must both be [T, H, W], got {list(p.shape)} and {list(g.shape)}")
    ids = sorted(int(i) for i in np.unique(g) if i not in (0, 255))
    vd = (g == 255) if voids is None else np.asarray(voids) != 0
    return {i: evaluate_sequence(p == i, g == i, vd, skip_first_last=skip_first_last, bound_th=bound_th) for i in ids}
