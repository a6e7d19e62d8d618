"""Trusted panoptic quality (PQ = SQ x RQ) for the grader (never imports student code).

Inputs follow torchmetrics' ``PanopticQuality`` format: int tensors ``[B, H, W, 2]`` holding
``(category, instance)`` per pixel; a category outside ``things`` and ``stuffs`` is void; a
stuff category's instance ids are ignored (one segment per stuff category and image). Per
image, predicted and ground-truth segments of the same category match when IoU > 0.5 (unique
by construction); true positives, false positives and false negatives and the matched IoUs are
summed per category over the batch; ``SQ_c = IoU_c / TP_c``, ``RQ_c = TP_c / (TP_c + FP_c / 2 +
FN_c / 2)``, ``PQ_c = SQ_c RQ_c``; PQ, SQ and RQ average over the categories with
``TP + FP + FN > 0``.

Two conventions, which differ where the prediction is void and on crowd regions:

``"panopticapi"`` (COCO's reference implementation, ``pq_compute.py``; the grade follows it)
    * predicted void pixels (category unknown, e.g. unassigned pixels of a merge) are simply not
      part of any predicted segment: they still count in the ground-truth segment's area, so an
      unlabeled part of an object lowers its IoU, and an unmatched ground-truth segment is always
      a false negative;
    * the union leaves out the predicted segment's pixels on ground-truth void;
    * crowd regions (``crowd`` mask, pixels of a ground-truth ``iscrowd = 1`` segment): never
      matched, never false negatives; an unmatched predicted segment is not a false positive when
      more than half of it lies on ground-truth void plus the crowd region of its own category.

``"torchmetrics"`` (``torchmetrics.detection.PanopticQuality``)
    * additionally leaves the ground-truth segment's pixels on *predicted* void out of the
      union, and does not count an unmatched ground-truth segment lying more than half on
      predicted void as a false negative;
    * has no crowd regions (a ``crowd`` mask is refused).

Without predicted void and without crowd regions both give the same numbers (tested against
torchmetrics in tests/test_panoptic_metric.py).
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["CONVENTIONS", "panoptic_quality"]

CONVENTIONS = ("panopticapi", "torchmetrics")


def _segments(img: torch.Tensor, known: torch.Tensor, stuff: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pixel an int64 segment index and the segments' keys ``[S, 2]`` (category, instance);
    void pixels get the key (-1, 0)."""
    cat, inst = img[:, 0].long(), img[:, 1].long()
    void = ~torch.isin(cat, known)
    inst = torch.where(torch.isin(cat, stuff) | void, torch.zeros_like(inst), inst)
    cat = torch.where(void, torch.full_like(cat, -1), cat)
    keys, inverse = torch.unique(torch.stack([cat, inst], dim=1), dim=0, return_inverse=True)
    return inverse, keys


def panoptic_quality(
    preds: torch.Tensor,
    target: torch.Tensor,
    things: Sequence[int],
    stuffs: Sequence[int],
    *,
    crowd: torch.Tensor | None = None,
    convention: str = "panopticapi",
) -> dict:
    """PQ, SQ and RQ (all, things, stuff) and per-category statistics.

    Args:
        preds (Tensor[B, H, W, 2]): int predicted (category, instance).
        target (Tensor[B, H, W, 2]): int ground truth (category, instance).
        things (Sequence[int]): thing category ids.
        stuffs (Sequence[int]): stuff category ids, disjoint from ``things``.
        crowd (Tensor[B, H, W] | None): bool, ground-truth pixels of crowd regions
            (``"panopticapi"`` only).
        convention (str): ``"panopticapi"`` or ``"torchmetrics"`` (see the module's docstring).

    Returns:
        dict: ``PQ``, ``SQ``, ``RQ``, ``PQ_th``, ``SQ_th``, ``RQ_th``, ``PQ_st``, ``SQ_st``,
        ``RQ_st`` (floats, nan over no category) and ``per_class`` ({category: {"pq", "sq", "rq",
        "tp", "fp", "fn", "iou"}}) in the order sorted(things) then sorted(stuffs).

    Raises:
        ValueError: bad shapes, overlapping category sets, an unknown convention, or a crowd
            mask with the torchmetrics convention.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if type(preds) is not torch.Tensor or type(target) is not torch.Tensor:
        raise ValueError("preds and target must be torch.Tensor")
    if preds.dim() < 3 or preds.shape[-1] != 2 or preds.shape != target.shape:
        raise ValueError(f"preds and target must both have shape [B, H, W, 2], got {list(preds.shape)} and "
                         f"{list(target.shape)}")
    if preds.is_floating_point() or target.is_floating_point():
        raise ValueError("preds and target must be integer tensors")
    things, stuffs = sorted({int(t) for t in things}), sorted({int(s) for s in stuffs})
    if set(things) & set(stuffs):
        raise ValueError(f"things and stuffs must be disjoint, both hold {sorted(set(things) & set(stuffs))}")
    b = preds.shape[0]
    if crowd is not None:
        if convention == "torchmetrics":
            raise ValueError("the torchmetrics convention has no crowd regions: pass crowd=None")
        shape_ok = type(crowd) is torch.Tensor and tuple(crowd.shape) == tuple(preds.shape[:-1])
        if not shape_ok or crowd.dtype != torch.bool:
            raise ValueError(f"crowd must be a bool tensor of shape {list(preds.shape[:-1])}")
        crowd = crowd.reshape(b, -1).cpu()
    cats = things + stuffs
    index = {c: k for k, c in enumerate(cats)}
    known = torch.tensor(cats, dtype=torch.int64)
    stuff_t = torch.tensor(stuffs, dtype=torch.int64)
    k = len(cats)
    iou_sum = torch.zeros(k, dtype=torch.float64)
    tp, fp, fn = (torch.zeros(k, dtype=torch.int64) for _ in range(3))
    flat_p = preds.reshape(b, -1, 2).cpu()
    flat_t = target.reshape(b, -1, 2).cpu()
    for i in range(b):
        t_img = flat_t[i].long().clone()
        crowd_cat = None
        if crowd is not None:
            # crowd pixels: their own pseudo-segments (category, instance = -1), never matched
            crowd_cat = torch.where(crowd[i], t_img[:, 0], torch.full_like(t_img[:, 0], -1))
            t_img[crowd[i]] = torch.tensor([-10**9, 0])  # void for matching
        p_inv, p_keys = _segments(flat_p[i], known, stuff_t)
        t_inv, t_keys = _segments(t_img, known, stuff_t)
        n_p, n_t = p_keys.shape[0], t_keys.shape[0]
        joint = torch.bincount(p_inv * n_t + t_inv, minlength=n_p * n_t).view(n_p, n_t).to(torch.float64)
        p_area, t_area = joint.sum(dim=1), joint.sum(dim=0)
        p_void_rows = p_keys[:, 0] == -1
        t_void_cols = t_keys[:, 0] == -1
        p_on_tvoid = joint[:, t_void_cols].sum(dim=1)  # [n_p]
        t_on_pvoid = joint[p_void_rows, :].sum(dim=0)  # [n_t]
        if crowd is not None:
            # crowd pixels are void for the union but not counted as ground-truth void there
            on_crowd = torch.bincount(p_inv[crowd[i]], minlength=n_p).to(torch.float64)
            p_on_tvoid = p_on_tvoid - on_crowd
        p_matched = torch.zeros(n_p, dtype=torch.bool)
        t_matched = torch.zeros(n_t, dtype=torch.bool)
        for a, bb in torch.nonzero(joint > 0).tolist():
            c = int(p_keys[a, 0])
            if c == -1 or c != int(t_keys[bb, 0]):
                continue
            union = p_area[a] - p_on_tvoid[a] + t_area[bb] - joint[a, bb]
            if convention == "torchmetrics":
                union = union - t_on_pvoid[bb]
            iou = float(joint[a, bb] / union)
            if iou > 0.5:
                p_matched[a] = t_matched[bb] = True
                iou_sum[index[c]] += iou
                tp[index[c]] += 1
        for bb in range(n_t):
            c = int(t_keys[bb, 0])
            if c == -1 or t_matched[bb]:
                continue
            if convention == "torchmetrics" and float(t_on_pvoid[bb] / t_area[bb]) > 0.5:
                continue
            fn[index[c]] += 1
        for a in range(n_p):
            c = int(p_keys[a, 0])
            if c == -1 or p_matched[a]:
                continue
            ignored = p_on_tvoid[a]
            if crowd_cat is not None:
                ignored = ignored + float(((p_inv == a) & (crowd_cat == c)).sum())
            if float(ignored / p_area[a]) > 0.5:
                continue
            fp[index[c]] += 1
    sq = torch.where(tp > 0, iou_sum / tp.clamp(min=1), torch.zeros_like(iou_sum))
    denom = tp + 0.5 * fp + 0.5 * fn
    rq = torch.where(denom > 0, tp / denom.clamp(min=1e-12), torch.zeros_like(iou_sum))
    pq = sq * rq
    present = denom > 0
    result: dict = {}
    for suffix, members in (("", cats), ("_th", things), ("_st", stuffs)):
        sel = torch.tensor([c in members for c in cats], dtype=torch.bool) & present
        for name, values in (("PQ", pq), ("SQ", sq), ("RQ", rq)):
            result[name + suffix] = float(values[sel].mean()) if bool(sel.any()) else float("nan")
    result["per_class"] = {
        c: {"pq": float(pq[j]), "sq": float(sq[j]), "rq": float(rq[j]), "tp": int(tp[j]), "fp": int(fp[j]),
            "fn": int(fn[j]), "iou": float(iou_sum[j])} for j, c in enumerate(cats)}
    return result
