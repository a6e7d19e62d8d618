"""OTB one-pass evaluation (OPE) of single-object trackers, vectorised (trusted code).

Conventions (those of the OTB benchmark, Wu, Lim and Yang, CVPR 2013 / TPAMI 2015, and of its
MATLAB toolkit; each is pinned here and tested in tests/test_sot_metrics.py):

* Boxes are ``(x1, y1, x2, y2)`` floats with no +1 (an OTB rectangle ``(x, y, w, h)`` is
  ``(x, y, x + w, y + h)``). OTB's ``calcRectInt`` adds 1 to both the right edge and the
  intersection width, which cancels: its overlap equals the continuous IoU computed here. Its
  centre ``x + (w - 1) / 2`` differs from ``x + w / 2`` by the same 1/2 on both boxes, which
  cancels in the centre error.
* Every frame counts, the first included (OPE initialises the tracker with frame 0's ground
  truth, so a tracker that reports it scores IoU 1 and error 0 there). The ground truth must be
  a finite box with positive width and height in every frame (``ValueError`` otherwise); this
  harness has no "target absent" frames.
* A predicted box with ``x2 < x1`` or ``y2 < y1`` has zero area (its width/height clamp at 0):
  its IoU is 0; its centre is still ``((x1 + x2) / 2, (y1 + y2) / 2)``. Non-finite predictions
  are rejected by the caller (the scorer), and give IoU 0 and an infinite error here.
* Success plot: ``S(t) = #{frames with IoU > t} / T`` for the 21 thresholds
  ``SUCCESS_THRESHOLDS = np.linspace(0, 1, 21)`` (0, 0.05, ..., 1; strict ``>``, as the toolkit's
  ``overlap > thresholdSetOverlap(i)``). ``S(0)`` counts the frames with any overlap; ``S(1) = 0``.
* AUC of the success plot = the mean of ``S`` over the 21 thresholds (the toolkit's "AUC",
  which is the average success rate; not a trapezoid integral).
* Precision plot: ``P(d) = #{frames with centre error <= d} / T`` for ``PRECISION_THRESHOLDS =
  0, 1, ..., 50`` pixels (``<=``); the centre error is the Euclidean distance of the box centres.
  The reported precision is ``P(20)``.
* Several sequences: the curves are averaged over sequences (each sequence weighs the same,
  whatever its length), as OTB's per-sequence averaging; ``evaluate_many`` also gives the
  frame-pooled curves for reference.

All arithmetic is float64.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["SUCCESS_THRESHOLDS", "PRECISION_THRESHOLDS", "PRECISION_AT", "box_iou_rows", "centre_errors",
           "success_curve", "precision_curve", "evaluate_sequence", "evaluate_many"]

#: IoU thresholds of the success plot: 0, 0.05, ..., 1 (21 values; strict ``IoU > t``)
SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
#: centre-error thresholds of the precision plot in pixels: 0, 1, ..., 50 (``error <= d``)
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
#: the reported precision is the precision plot at this many pixels
PRECISION_AT = 20


def _as_boxes(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{name} must have shape [T, 4] (x1, y1, x2, y2), got {list(a.shape)}")
    return a


def _check_pair(pred: Any, gt: Any) -> tuple[np.ndarray, np.ndarray]:
    p, g = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    if p.shape[0] != g.shape[0]:
        raise ValueError(f"pred has {p.shape[0]} frames but gt has {g.shape[0]}")
    if g.shape[0] == 0:
        raise ValueError("a sequence needs at least one frame (gt has 0)")
    if not np.isfinite(g).all():
        raise ValueError("gt holds nan or infinite values")
    if ((g[:, 2] <= g[:, 0]) | (g[:, 3] <= g[:, 1])).any():
        k = int(np.flatnonzero((g[:, 2] <= g[:, 0]) | (g[:, 3] <= g[:, 1]))[0])
        raise ValueError(f"gt frame {k} is not a box with positive width and height: {g[k].tolist()}")
    return p, g


def box_iou_rows(pred: Any, gt: Any) -> np.ndarray:
    """IoU of ``pred[t]`` with ``gt[t]`` for every frame, float64 ``[T]`` (see the conventions)."""
    p, g = _check_pair(pred, gt)
    pw = np.clip(p[:, 2] - p[:, 0], 0, None)
    ph = np.clip(p[:, 3] - p[:, 1], 0, None)
    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    iw = np.clip(np.minimum(p[:, 2], g[:, 2]) - np.maximum(p[:, 0], g[:, 0]), 0, None)
    ih = np.clip(np.minimum(p[:, 3], g[:, 3]) - np.maximum(p[:, 1], g[:, 1]), 0, None)
    inter = np.where((pw > 0) & (ph > 0), iw * ih, 0.0)
    union = pw * ph + gw * gh - inter
    with np.errstate(invalid="ignore"):
        iou = inter / union
    return np.where(np.isfinite(iou), iou, 0.0)


def centre_errors(pred: Any, gt: Any) -> np.ndarray:
    """Euclidean distance of the box centres per frame, float64 ``[T]`` (inf where non-finite)."""
    p, g = _check_pair(pred, gt)
    d = np.hypot((p[:, 0] + p[:, 2]) / 2 - (g[:, 0] + g[:, 2]) / 2, (p[:, 1] + p[:, 3]) / 2 - (g[:, 1] + g[:, 3]) / 2)
    return np.where(np.isfinite(d), d, np.inf)


def success_curve(ious: Any) -> np.ndarray:
    """``S(t)`` = fraction of frames with IoU > t, for t in ``SUCCESS_THRESHOLDS``; ``[21]``."""
    v = np.asarray(ious, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("success_curve needs at least one frame")
    return (v[None, :] > SUCCESS_THRESHOLDS[:, None]).mean(axis=1)


def precision_curve(errors: Any) -> np.ndarray:
    """``P(d)`` = fraction of frames with centre error <= d, for d in ``PRECISION_THRESHOLDS``; ``[51]``."""
    v = np.asarray(errors, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("precision_curve needs at least one frame")
    return (v[None, :] <= PRECISION_THRESHOLDS[:, None]).mean(axis=1)


def evaluate_sequence(pred: Any, gt: Any) -> dict:
    """OTB figures of one sequence: ``success`` [21], ``auc``, ``precision`` [51],
    ``precision_20``, ``mean_iou``, ``ious`` [T], ``errors`` [T], ``frames``."""
    ious, errors = box_iou_rows(pred, gt), centre_errors(pred, gt)
    s, p = success_curve(ious), precision_curve(errors)
    return {"success": s, "auc": float(s.mean()), "precision": p, "precision_20": float(p[PRECISION_AT]),
            "mean_iou": float(ious.mean()), "ious": ious, "errors": errors, "frames": int(ious.size)}


def evaluate_many(pairs: Sequence[tuple[Any, Any]]) -> dict:
    """Per-sequence figures (``sequences``) and their average (``success``, ``auc``,
    ``precision``, ``precision_20``: the mean over sequences), plus ``pooled_auc`` and
    ``pooled_precision_20`` over all frames pooled."""
    if len(pairs) == 0:
        raise ValueError("evaluate_many needs at least one sequence")
    seqs = [evaluate_sequence(p, g) for p, g in pairs]
    success = np.mean([s["success"] for s in seqs], axis=0)
    precision = np.mean([s["precision"] for s in seqs], axis=0)
    ious = np.concatenate([s["ious"] for s in seqs])
    errors = np.concatenate([s["errors"] for s in seqs])
    return {"sequences": seqs, "success": success, "auc": float(success.mean()), "precision": precision,
            "precision_20": float(precision[PRECISION_AT]),
            "pooled_auc": float(success_curve(ious).mean()),
            "pooled_precision_20": float(precision_curve(errors)[PRECISION_AT])}
