"""Panoptic FPN's merging heuristic and panoptic quality (README.md, sections `panoptic_merge`
and `pq`)."""

from __future__ import annotations

import torch

# BEGIN SOLUTION
from ._checks import check_shape, check_tensor
# END SOLUTION

__all__ = ["panoptic_merge", "panoptic_quality"]


def panoptic_merge(
    masks: torch.Tensor,
    scores: torch.Tensor,
    labels: torch.Tensor,
    semantic: torch.Tensor,
    *,
    overlap_threshold: float = 0.5,
    stuff_area_threshold: int = 4096,
    score_threshold: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Merge instance and semantic predictions into one panoptic map (Panoptic FPN's heuristic).

    1. Instances by decreasing score (stable); stop at the first with ``score < score_threshold``.
       Skip an empty mask, or one whose overlap with the pixels already placed is more than
       ``overlap_threshold`` of its area (``overlap / area > overlap_threshold``); otherwise its
       still free pixels become a new segment (things win: placed first).
    2. Stuff: for each category of ``semantic`` in increasing order, except 0 ("other", the
       things' class of the semantic head), its still free pixels become a new segment unless
       fewer than ``stuff_area_threshold``.

    Segment ids count 1, 2, ... in the order placed; 0 is void (unassigned).

    Args:
        masks (Tensor[N, H, W]): bool instance masks.
        scores (Tensor[N]): float scores.
        labels (Tensor[N]): int64 thing category ids.
        semantic (Tensor[H, W]): int64 stuff category ids (0 = things / other).
        overlap_threshold (float): in [0, 1]; Detectron2's default 0.5.
        stuff_area_threshold (int): >= 0 pixels; Detectron2's default 4096.
        score_threshold (float): Detectron2's default 0.5.

    Returns:
        tuple[Tensor[H, W], Tensor[S], Tensor[S]]: int64 segment ids, int64 category id of each
        segment, bool "is a thing" of each segment.
    """
    # BEGIN SOLUTION
    check_tensor("semantic", semantic, dims=2)
    h, w = semantic.shape
    check_tensor("masks", masks, dims=3)
    check_shape("masks", masks, (None, h, w))
    n = masks.shape[0]
    check_tensor("scores", scores, floating=True)
    check_shape("scores", scores, (n,))
    check_tensor("labels", labels)
    check_shape("labels", labels, (n,))
    if not 0 <= overlap_threshold <= 1:
        raise ValueError(f"overlap_threshold must lie in [0, 1], got {overlap_threshold!r}")
    if not stuff_area_threshold >= 0:
        raise ValueError(f"stuff_area_threshold must be >= 0, got {stuff_area_threshold!r}")
    panoptic = torch.zeros(h, w, dtype=torch.int64, device=semantic.device)
    categories: list[int] = []
    isthing: list[bool] = []
    masks = masks.to(torch.bool)
    for i in scores.argsort(descending=True, stable=True).tolist():
        if float(scores[i]) < score_threshold:
            break
        mask = masks[i]
        area = int(mask.sum())
        if area == 0:
            continue
        overlap = int((mask & (panoptic > 0)).sum())
        if overlap / area > overlap_threshold:
            continue
        categories.append(int(labels[i]))
        isthing.append(True)
        panoptic[mask & (panoptic == 0)] = len(categories)
    for cat in torch.unique(semantic).tolist():
        if cat == 0:
            continue
        free = (semantic == cat) & (panoptic == 0)
        if int(free.sum()) < stuff_area_threshold:
            continue
        categories.append(int(cat))
        isthing.append(False)
        panoptic[free] = len(categories)
    return (panoptic, torch.tensor(categories, dtype=torch.int64, device=semantic.device),
            torch.tensor(isthing, dtype=torch.bool, device=semantic.device))
    # END SOLUTION


def panoptic_quality(
    preds: torch.Tensor,
    target: torch.Tensor,
    things: list[int],
    stuffs: list[int],
    return_per_class: bool = False,
) -> torch.Tensor:
    """Panoptic quality PQ = SQ x RQ over a batch (torchmetrics' ``PanopticQuality`` convention).

    Inputs are ``(category, instance)`` pairs per pixel. A category outside ``things`` and
    ``stuffs`` is void. A stuff category's instance ids are ignored (one segment per category and
    image). Per image, a predicted and a target segment of the same category match when
    ``IoU > 0.5``, where the union leaves out the predicted segment's pixels on target void and
    the target segment's pixels on predicted void. Unmatched target segments are false negatives
    unless more than half of them lies on predicted void; unmatched predicted segments are false
    positives unless more than half of them lies on target void. Per category, summed over the
    batch: ``SQ = sum IoU / TP`` (0 without TP), ``RQ = TP / (TP + FP / 2 + FN / 2)``, ``PQ = SQ
    RQ`` (0 for an empty denominator); the averages are over the categories with a non-empty
    denominator (nan if there is none).

    Args:
        preds (Tensor[B, H, W, 2]): int64 predicted (category, instance).
        target (Tensor[B, H, W, 2]): int64 ground truth (category, instance).
        things (list[int]): thing category ids.
        stuffs (list[int]): stuff category ids (disjoint from ``things``).
        return_per_class (bool): per category instead of the average.

    Returns:
        Tensor[3] (PQ, SQ, RQ), float64, computed in float64 (pixel counts converted before
        dividing); with ``return_per_class``: Tensor[K, 3], the categories
        in the order sorted(things) then sorted(stuffs).
    """
    # BEGIN SOLUTION
    check_tensor("preds", preds)
    check_tensor("target", target)
    if preds.dim() < 3 or preds.shape[-1] != 2:
        raise ValueError(f"preds must have shape [B, H, W, 2], got {list(preds.shape)}")
    if preds.shape != target.shape:
        raise ValueError(f"preds and target must have the same shape, got {list(preds.shape)} and "
                         f"{list(target.shape)}")
    things, stuffs = [int(t) for t in things], [int(s) for s in stuffs]
    if set(things) & set(stuffs):
        raise ValueError(f"things and stuffs must be disjoint, both hold {sorted(set(things) & set(stuffs))}")
    cats = sorted(set(things)) + sorted(set(stuffs))
    index = {c: k for k, c in enumerate(cats)}
    stuff_set = set(stuffs)
    iou_sum = torch.zeros(len(cats), dtype=torch.float64)
    tp = torch.zeros(len(cats), dtype=torch.float64)
    fp = torch.zeros(len(cats), dtype=torch.float64)
    fn = torch.zeros(len(cats), dtype=torch.float64)
    known = torch.tensor(cats, dtype=torch.int64)
    for p_img, t_img in zip(preds.reshape(preds.shape[0], -1, 2).cpu(), target.reshape(target.shape[0], -1, 2).cpu()):
        segs = []
        for img in (p_img, t_img):
            cat, inst = img[:, 0], img[:, 1].clone()
            void = ~torch.isin(cat, known)
            inst[torch.isin(cat, torch.tensor(sorted(stuff_set), dtype=torch.int64))] = 0
            segs.append((torch.where(void, -1, cat), torch.where(void, 0, inst), void))
        (pc, pi, pvoid), (tc, ti, tvoid) = segs
        # segment keys (category, instance); void pixels have category -1
        p_keys, p_inv = torch.unique(torch.stack([pc, pi], 1), dim=0, return_inverse=True)
        t_keys, t_inv = torch.unique(torch.stack([tc, ti], 1), dim=0, return_inverse=True)
        n_p, n_t = p_keys.shape[0], t_keys.shape[0]
        joint = torch.bincount(p_inv * n_t + t_inv, minlength=n_p * n_t).view(n_p, n_t).double()
        p_area, t_area = joint.sum(1), joint.sum(0)
        p_void = [k for k in range(n_p) if int(p_keys[k, 0]) == -1]
        t_void = [k for k in range(n_t) if int(t_keys[k, 0]) == -1]
        p_on_void = joint[:, t_void].sum(1) if t_void else torch.zeros(n_p, dtype=torch.float64)
        t_on_void = joint[p_void, :].sum(0) if p_void else torch.zeros(n_t, dtype=torch.float64)
        p_matched, t_matched = set(), set()
        for a in range(n_p):
            for b in range(n_t):
                c = int(p_keys[a, 0])
                if c == -1 or c != int(t_keys[b, 0]) or joint[a, b] == 0:
                    continue
                union = p_area[a] - p_on_void[a] + t_area[b] - t_on_void[b] - joint[a, b]
                iou = float(joint[a, b] / union)
                if iou > 0.5:
                    p_matched.add(a)
                    t_matched.add(b)
                    iou_sum[index[c]] += iou
                    tp[index[c]] += 1
        for b in range(n_t):
            c = int(t_keys[b, 0])
            if c != -1 and b not in t_matched and t_on_void[b] / t_area[b] <= 0.5:
                fn[index[c]] += 1
        for a in range(n_p):
            c = int(p_keys[a, 0])
            if c != -1 and a not in p_matched and p_on_void[a] / p_area[a] <= 0.5:
                fp[index[c]] += 1
    sq = torch.where(tp > 0, iou_sum / tp.clamp(min=1), torch.zeros_like(tp))
    denom = tp + 0.5 * fp + 0.5 * fn
    rq = torch.where(denom > 0, tp / denom.clamp(min=1e-12), torch.zeros_like(tp))
    per_class = torch.stack([sq * rq, sq, rq], dim=1)  # [K, 3]
    if return_per_class:
        return per_class
    return per_class[denom > 0].mean(dim=0)
    # END SOLUTION
