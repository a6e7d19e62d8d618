"""MaskFormer / Mask2Former: mask classification inference, masked attention, mask losses.

A mask-classification model predicts ``Q`` pairs (class logits over ``K + 1`` classes, the last
one "no object"; a mask logit map ``[H, W]``) per image.
"""

from __future__ import annotations

import torch
from torch import Tensor

# BEGIN SOLUTION
import torch.nn.functional as F
# END SOLUTION

__all__ = ["semantic_inference", "panoptic_inference", "masked_attention_mask", "point_sample",
           "sample_points", "dice_loss", "sigmoid_ce_loss", "sigmoid_focal_loss", "mask_losses"]


def semantic_inference(mask_cls: Tensor, mask_pred: Tensor) -> Tensor:
    """Semantic segmentation from mask classification (MaskFormer):
    ``S[k, y, x] = sum_q softmax(mask_cls[q])[k] * sigmoid(mask_pred[q, y, x])`` for the ``K``
    object classes (the no-object probability is dropped after the softmax over ``K + 1``).

    Args:
        mask_cls (Tensor[Q, K + 1]): class logits.
        mask_pred (Tensor[Q, H, W]): mask logits.

    Returns:
        Tensor[K, H, W]: per-class scores (argmax over ``K`` gives the label map).
    """
    # BEGIN SOLUTION
    prob = F.softmax(mask_cls, dim=-1)[..., :-1]  # [Q, K]
    return torch.einsum("qk,qhw->khw", prob, mask_pred.sigmoid())
    # END SOLUTION


def panoptic_inference(mask_cls: Tensor, mask_pred: Tensor, is_thing: list[bool],
                       object_mask_threshold: float = 0.8, overlap_threshold: float = 0.8) -> tuple[Tensor, Tensor]:
    """Panoptic segmentation from mask classification (MaskFormer's ``panoptic_inference``).

    1. ``scores, labels = softmax(mask_cls).max(-1)``; keep queries with ``labels != K`` and
       ``scores > object_mask_threshold``.
    2. ``prob = scores[:, None, None] * sigmoid(mask_pred)`` of the kept queries; each pixel
       goes to ``argmax`` over them (the first kept query wins ties).
    3. For the kept queries in order ``k = 0, 1, ...``: ``area = #(argmax == k)``,
       ``original = #(sigmoid(mask_pred[k]) >= 0.5)``, ``mask = (argmax == k) & (sigmoid >= 0.5)``.
       Skip it unless ``area > 0``, ``original > 0`` and ``mask`` is non-empty; skip it if
       ``area / original < overlap_threshold``. A stuff class (``is_thing[label]`` False)
       already given a segment joins that segment; otherwise a new segment id ``1, 2, ...``
       is created. Pixels of ``mask`` get the segment id.

    Args:
        mask_cls (Tensor[Q, K + 1]), mask_pred (Tensor[Q, H, W]): one image.
        is_thing (list[bool]): per class ``0 .. K - 1``.
        object_mask_threshold (float), overlap_threshold (float).

    Returns:
        tuple: ``panoptic`` int64 ``[H, W]`` (0 = void) and ``segments`` int64 ``[S, 3]`` rows
        ``(id, category, is_thing)`` in order of creation (``Tensor[0, 3]`` when none).
    """
    # BEGIN SOLUTION
    k_classes = mask_cls.shape[-1] - 1
    scores, labels = F.softmax(mask_cls, dim=-1).max(-1)
    masks = mask_pred.sigmoid()
    keep = labels.ne(k_classes) & (scores > object_mask_threshold)
    cur_scores, cur_classes, cur_masks = scores[keep], labels[keep], masks[keep]
    h, w = mask_pred.shape[-2:]
    panoptic = torch.zeros((h, w), dtype=torch.int64, device=mask_pred.device)
    segments: list[list[int]] = []
    if cur_masks.shape[0] > 0:
        ids = (cur_scores.view(-1, 1, 1) * cur_masks).argmax(0)  # [H, W]
        stuff_ids: dict[int, int] = {}
        current = 0
        for k in range(cur_classes.shape[0]):
            cls = int(cur_classes[k])
            thing = bool(is_thing[cls])
            area = int((ids == k).sum())
            original = int((cur_masks[k] >= 0.5).sum())
            mask = (ids == k) & (cur_masks[k] >= 0.5)
            if area > 0 and original > 0 and int(mask.sum()) > 0:
                if area / original < overlap_threshold:
                    continue
                if not thing and cls in stuff_ids:
                    panoptic[mask] = stuff_ids[cls]
                    continue
                current += 1
                if not thing:
                    stuff_ids[cls] = current
                panoptic[mask] = current
                segments.append([current, cls, int(thing)])
    seg = torch.tensor(segments, dtype=torch.int64).reshape(-1, 3)
    return panoptic, seg
    # END SOLUTION


def masked_attention_mask(mask_logits: Tensor, size: tuple[int, int], num_heads: int) -> Tensor:
    """Mask2Former's masked-attention mask for the next decoder layer.

    Resize the predicted mask logits to the attended feature map's ``size`` with
    ``F.interpolate(mode="bilinear", align_corners=False)``, flatten row-major, and **block**
    (True, ``nn.MultiheadAttention``'s convention) every position whose
    ``sigmoid < 0.5``; a query whose row would be fully blocked is un-blocked entirely (all
    False), so it attends everywhere instead of producing NaN. Repeat for every head
    (batch-major: row ``b * num_heads + h``).

    Args:
        mask_logits (Tensor[B, Q, H_m, W_m]).
        size (tuple[int, int]): ``(h, w)`` of the feature map.
        num_heads (int).

    Returns:
        Tensor[B * num_heads, Q, h * w]: bool, True = blocked. Detached.
    """
    # BEGIN SOLUTION
    m = F.interpolate(mask_logits.detach(), size=tuple(size), mode="bilinear", align_corners=False)
    blocked = m.sigmoid().flatten(2) < 0.5  # [B, Q, h*w]
    blocked = blocked & ~blocked.all(dim=-1, keepdim=True)
    return blocked.repeat_interleave(num_heads, dim=0)
    # END SOLUTION


def point_sample(inputs: Tensor, coords: Tensor) -> Tensor:
    """Bilinear values of maps at points: ``F.grid_sample(inputs, 2 * coords - 1,
    align_corners=False)`` with the points in normalised ``[0, 1] x [0, 1]`` (x, y) coordinates
    (x along the width).

    Args:
        inputs (Tensor[N, C, H, W]).
        coords (Tensor[N, P, 2]): (x, y) in [0, 1].

    Returns:
        Tensor[N, C, P]: zero padding outside the map; ``inputs``' dtype (coords of another float
        dtype, e.g. float32 points from :func:`sample_points` on float64 maps, are converted).
    """
    # BEGIN SOLUTION
    out = F.grid_sample(inputs, 2.0 * coords[:, :, None, :].to(inputs.dtype) - 1.0, align_corners=False)
    return out[..., 0]  # [N, C, P]
    # END SOLUTION


def sample_points(num_masks: int, num_points: int, seed: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Uniform random points ``torch.rand(num_masks, num_points, 2, generator=g, dtype=dtype)``
    with ``g = torch.Generator().manual_seed(seed)`` (CPU), so the sampling is reproducible.

    Returns:
        Tensor[num_masks, num_points, 2]: (x, y) in [0, 1).
    """
    # BEGIN SOLUTION
    g = torch.Generator().manual_seed(seed)
    return torch.rand(num_masks, num_points, 2, generator=g, dtype=dtype)
    # END SOLUTION


def dice_loss(inputs: Tensor, targets: Tensor, num_masks: float) -> Tensor:
    """``sum_n (1 - (2 sum(p t) + 1) / (sum p + sum t + 1)) / num_masks`` with
    ``p = sigmoid(inputs)`` (sums over the last dimension).

    Args:
        inputs (Tensor[N, P]): logits; targets (Tensor[N, P]): in [0, 1].
        num_masks (float): normaliser.

    Returns:
        Tensor: scalar.
    """
    # BEGIN SOLUTION
    p = inputs.sigmoid()
    num = 2 * (p * targets).sum(-1)
    den = p.sum(-1) + targets.sum(-1)
    return (1 - (num + 1) / (den + 1)).sum() / num_masks
    # END SOLUTION


def sigmoid_ce_loss(inputs: Tensor, targets: Tensor, num_masks: float) -> Tensor:
    """``sum_n mean_p BCEWithLogits(inputs, targets) / num_masks`` (Mask2Former's mask loss).

    Returns:
        Tensor: scalar.
    """
    # BEGIN SOLUTION
    loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    return loss.mean(-1).sum() / num_masks
    # END SOLUTION


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, num_masks: float, alpha: float = 0.25,
                       gamma: float = 2.0) -> Tensor:
    """MaskFormer's focal mask loss: the focal loss per element (``torchvision.ops.
    sigmoid_focal_loss`` with ``reduction="none"``; ``alpha < 0`` disables the weighting),
    averaged over the last dimension, summed over masks, divided by ``num_masks``.

    Returns:
        Tensor: scalar.
    """
    # BEGIN SOLUTION
    p = inputs.sigmoid()
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.mean(-1).sum() / num_masks
    # END SOLUTION


def mask_losses(pred_masks: Tensor, target_masks: Tensor, num_points: int, seed: int,
                num_masks: float | None = None) -> dict[str, Tensor]:
    """Mask2Former-style mask losses on sampled points (uniform sampling, seeded).

    ``coords = sample_points(N, num_points, seed, pred_masks.dtype)`` (the points drawn in the
    predictions' dtype); logits and targets are sampled with :func:`point_sample` at the same
    points (the targets cast to ``pred_masks.dtype`` first, not to float32); then ``loss_mask`` =
    :func:`sigmoid_ce_loss` and ``loss_dice`` = :func:`dice_loss` on the ``[N, P]`` samples, with
    ``num_masks`` (default ``max(N, 1)``).

    Args:
        pred_masks (Tensor[N, H, W]): matched mask logits.
        target_masks (Tensor[N, H_t, W_t]): their targets (0/1, any dtype).
        num_points (int): ``P``.
        seed (int).
        num_masks (float or None).

    Returns:
        dict: ``loss_mask`` and ``loss_dice``, scalars, differentiable in ``pred_masks``.
    """
    # BEGIN SOLUTION
    n = pred_masks.shape[0]
    num_masks = float(max(n, 1)) if num_masks is None else float(num_masks)
    coords = sample_points(n, num_points, seed, pred_masks.dtype).to(pred_masks.device)
    logits = point_sample(pred_masks[:, None], coords)[:, 0]  # [N, P]
    labels = point_sample(target_masks[:, None].to(pred_masks.dtype), coords)[:, 0]  # [N, P]
    return {"loss_mask": sigmoid_ce_loss(logits, labels, num_masks), "loss_dice": dice_loss(logits, labels, num_masks)}
    # END SOLUTION
