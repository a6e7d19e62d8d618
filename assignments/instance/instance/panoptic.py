"""Panoptic FPN's merging heuristic and panoptic quality (README.md, sections `panoptic_merge`
and `pq`)."""

from __future__ import annotations

import torch

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
    raise NotImplementedError("panoptic_merge: implement me (see README.md, section `panoptic_merge`)")


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
    raise NotImplementedError("panoptic_quality: implement me (see README.md, section `pq`)")
