"""SSD (Liu et al., 2016) training targets: default boxes, matching, box encoding with
variances, hard negative mining and the multibox loss.

Conventions (pinned, README.md section `ssd`): coordinates are normalised to [0, 1]; default
boxes ("priors") are ``(cx, cy, w, h)``; ground-truth and decoded boxes are ``(x1, y1, x2, y2)``;
class 0 is the background, object labels are ``1 .. K``.
"""

from __future__ import annotations

# BEGIN SOLUTION
import math
# END SOLUTION

import torch
# BEGIN SOLUTION
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor

__all__ = ["ssd_scales", "default_boxes", "cxcywh_to_xyxy", "ssd_match", "ssd_encode", "ssd_decode",
           "hard_negative_mining", "multibox_loss"]


def ssd_scales(num_maps: int, s_min: float = 0.2, s_max: float = 0.9) -> list[float]:
    """The scales of the default boxes of every feature map, plus one.

    ``s_k = s_min + (s_max - s_min) k / (m - 1)`` for ``k = 0 .. m - 1``, then ``1.0`` (used only
    for the extra box ``sqrt(s_k s_{k+1})`` of the last map). With one map: ``[s_min, s_max]``.

    Args:
        num_maps (int): ``m`` (>= 1).
        s_min (float): the smallest scale, in (0, 1].
        s_max (float): the largest scale, in [s_min, 1].

    Returns:
        list[float]: ``m + 1`` scales.

    Raises:
        ValueError: if ``num_maps < 1`` or the scales are out of range.
    """
    # BEGIN SOLUTION
    if num_maps < 1:
        raise ValueError(f"num_maps must be >= 1, got {num_maps}")
    if not (0 < s_min <= s_max <= 1):
        raise ValueError(f"scales must satisfy 0 < s_min <= s_max <= 1, got s_min={s_min}, s_max={s_max}")
    if num_maps == 1:
        return [float(s_min), float(s_max)]
    return [s_min + (s_max - s_min) * k / (num_maps - 1) for k in range(num_maps)] + [1.0]
    # END SOLUTION


def default_boxes(feature_sizes: list[tuple[int, int]], aspect_ratios: list[list[int]], s_min: float = 0.2,
                  s_max: float = 0.9, clip: bool = True, dtype: torch.dtype = torch.float32) -> Tensor:
    """The default boxes of all feature maps, normalised ``(cx, cy, w, h)``.

    Map ``k`` of size ``(H_k, W_k)``: centres ``((j + 0.5) / W_k, (i + 0.5) / H_k)``; at every
    position the boxes ``(s_k, s_k)``, ``(s'_k, s'_k)`` with ``s'_k = sqrt(s_k s_{k+1})``, then
    for every ratio ``r`` of ``aspect_ratios[k]`` the pair ``(s_k sqrt(r), s_k / sqrt(r))``,
    ``(s_k / sqrt(r), s_k sqrt(r))``. Order: map after map; in a map, position-major (row, then
    column), box-minor. ``clip`` clamps ``w`` and ``h`` to [0, 1] (the centres are inside
    already); the boxes' corners may still leave the image. Scales from :func:`ssd_scales`.

    Args:
        feature_sizes (list[tuple[int, int]]): ``(H_k, W_k)`` of every map.
        aspect_ratios (list[list[int]]): the ratios ``r > 1`` of every map (``1 / r`` is added).
        s_min (float): smallest scale.
        s_max (float): largest scale.
        clip (bool): clamp ``w, h`` to [0, 1].
        dtype (torch.dtype): the output dtype. Centres and sizes are computed in float64
            (Python floats) and rounded once to ``dtype``: a float64 result is exact to float64
            precision, unlike torchvision's float32 centres.

    Returns:
        Tensor[P, 4]: ``P = sum_k H_k W_k (2 + 2 len(aspect_ratios[k]))``.

    Raises:
        ValueError: if the two lists differ in length or are empty, a size is below 1, or
            ``s_min`` / ``s_max`` are out of the range :func:`ssd_scales` accepts (the message
            names them).
    """
    # BEGIN SOLUTION
    if len(feature_sizes) != len(aspect_ratios) or not feature_sizes:
        raise ValueError(f"feature_sizes and aspect_ratios must be non-empty and of the same length, got "
                         f"{len(feature_sizes)} and {len(aspect_ratios)}")
    scales = ssd_scales(len(feature_sizes), s_min, s_max)
    out = []
    for k, (fh, fw) in enumerate(feature_sizes):
        if fh < 1 or fw < 1:
            raise ValueError(f"feature_sizes must be >= 1, got {feature_sizes[k]} for map {k}")
        s_k, s_next = scales[k], scales[k + 1]
        s_prime = math.sqrt(s_k * s_next)
        wh = [[s_k, s_k], [s_prime, s_prime]]
        for r in aspect_ratios[k]:
            q = math.sqrt(r)
            wh += [[s_k * q, s_k / q], [s_k / q, s_k * q]]
        wh = torch.tensor(wh, dtype=torch.float64)  # [A, 2]
        if clip:
            wh = wh.clamp(0, 1)
        ys = (torch.arange(fh, dtype=torch.float64) + 0.5) / fh
        xs = (torch.arange(fw, dtype=torch.float64) + 0.5) / fw
        cy, cx = torch.meshgrid(ys, xs, indexing="ij")  # [H, W]
        centres = torch.stack([cx, cy], dim=-1).reshape(-1, 1, 2).expand(-1, wh.shape[0], 2)  # [HW, A, 2]
        sizes = wh.unsqueeze(0).expand(centres.shape[0], -1, -1)  # [HW, A, 2]
        out.append(torch.cat([centres, sizes], dim=-1).reshape(-1, 4))
    return torch.cat(out).to(dtype)
    # END SOLUTION


def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)``.

    Args:
        boxes (Tensor[..., 4]): boxes.

    Returns:
        Tensor[..., 4]: same dtype.
    """
    # BEGIN SOLUTION
    c, s = boxes[..., :2], boxes[..., 2:]
    return torch.cat([c - s / 2, c + s / 2], dim=-1)
    # END SOLUTION


# BEGIN SOLUTION
def _box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise IoU, xyxy: [M, 4] x [P, 4] -> [M, P]; 0 when the union is empty."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]  # [M, P]
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(a.dtype).tiny), torch.zeros_like(inter))


def _check_priors(priors: Tensor) -> None:
    if priors.dim() != 2 or priors.shape[-1] != 4:
        raise ValueError(f"priors must have shape [P, 4], got {list(priors.shape)}")


def _check_variances(variances) -> tuple[float, float]:
    if len(variances) != 2 or min(variances) <= 0:
        raise ValueError(f"variances must be two positive numbers, got {tuple(variances)}")
    return float(variances[0]), float(variances[1])
# END SOLUTION


def ssd_match(gt_boxes: Tensor, priors: Tensor, threshold: float = 0.5) -> Tensor:
    """Match every default box to a ground truth (or to the background).

    1. Every prior takes the ground truth it overlaps most (IoU of ``gt_boxes`` with
       ``cxcywh_to_xyxy(priors)``; ties: the lowest index) if that IoU is ``>= threshold``,
       else -1.
    2. Then every ground truth ``m`` (in order ``m = 0, 1, ...``) takes its best prior (the
       highest IoU, ties: the lowest prior index), whatever the IoU: that prior's match becomes
       ``m``; if two ground truths share a best prior, the later one keeps it.

    Args:
        gt_boxes (Tensor[M, 4]): normalised ``(x1, y1, x2, y2)`` (M may be 0).
        priors (Tensor[P, 4]): default boxes ``(cx, cy, w, h)`` (P may be 0: the result is then
            an empty int64 tensor).
        threshold (float): in [0, 1].

    Returns:
        Tensor[P]: int64 index of the matched ground truth, -1 for the background.

    Raises:
        ValueError: on bad shapes or a threshold outside [0, 1], checked even when ``M = 0``
            (nothing to match).
    """
    # BEGIN SOLUTION
    if gt_boxes.dim() != 2 or gt_boxes.shape[-1] != 4:
        raise ValueError(f"gt_boxes must have shape [M, 4], got {list(gt_boxes.shape)}")
    _check_priors(priors)
    if not (0 <= threshold <= 1):
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    p = priors.shape[0]
    matches = torch.full((p,), -1, dtype=torch.int64, device=priors.device)
    if gt_boxes.shape[0] == 0 or p == 0:
        return matches
    iou = _box_iou(gt_boxes, cxcywh_to_xyxy(priors))  # [M, P]
    best_gt = iou.argmax(dim=0)  # [P] the first of equal IoUs
    best_gt_iou = iou.gather(0, best_gt[None])[0]  # [P]
    matches = torch.where(best_gt_iou >= threshold, best_gt, matches)
    best_prior = iou.argmax(dim=1)  # [M]
    for m in range(gt_boxes.shape[0]):  # in order: a later ground truth overrides an earlier one
        matches[best_prior[m]] = m
    return matches
    # END SOLUTION


def ssd_encode(boxes: Tensor, priors: Tensor, variances: tuple[float, float] = (0.1, 0.2)) -> Tensor:
    """Regression targets of boxes relative to their priors.

    ``((cx - cx_p) / (v0 w_p), (cy - cy_p) / (v0 h_p), log(w / w_p) / v1, log(h / h_p) / v1)``
    with ``(cx, cy, w, h)`` of the box (this equals torchvision's ``BoxCoder`` with weights
    ``(1/v0, 1/v0, 1/v1, 1/v1)`` = (10, 10, 5, 5)).

    Args:
        boxes (Tensor[P, 4]): ``(x1, y1, x2, y2)``, positive sizes.
        priors (Tensor[P, 4]): ``(cx, cy, w, h)``, positive sizes.
        variances (tuple[float, float]): ``(v0, v1)``, positive.

    Returns:
        Tensor[P, 4]: codes, same dtype as ``boxes``; ``priors`` are converted to that dtype
        first, so everything is computed in it.

    Raises:
        ValueError: on bad shapes or non-positive variances.
    """
    # BEGIN SOLUTION
    _check_priors(priors)
    if boxes.shape != priors.shape:
        raise ValueError(f"boxes must have the shape of priors {list(priors.shape)}, got {list(boxes.shape)}")
    v0, v1 = _check_variances(variances)
    priors = priors.to(boxes.dtype)
    wh = boxes[:, 2:] - boxes[:, :2]  # [P, 2]
    c = (boxes[:, :2] + boxes[:, 2:]) / 2
    dxy = (c - priors[:, :2]) / (v0 * priors[:, 2:])
    dwh = torch.log(wh / priors[:, 2:]) / v1
    return torch.cat([dxy, dwh], dim=1)
    # END SOLUTION


def ssd_decode(codes: Tensor, priors: Tensor, variances: tuple[float, float] = (0.1, 0.2)) -> Tensor:
    """Boxes from regression codes (the inverse of :func:`ssd_encode`, no clamping of the sizes).

    Args:
        codes (Tensor[P, 4]): ``(dx, dy, dw, dh)``.
        priors (Tensor[P, 4]): ``(cx, cy, w, h)``.
        variances (tuple[float, float]): ``(v0, v1)``, positive.

    Returns:
        Tensor[P, 4]: ``(x1, y1, x2, y2)``, same dtype as ``codes``; ``priors`` are converted
        to that dtype first, so everything is computed in it.

    Raises:
        ValueError: on bad shapes or non-positive variances.
    """
    # BEGIN SOLUTION
    _check_priors(priors)
    if codes.shape != priors.shape:
        raise ValueError(f"codes must have the shape of priors {list(priors.shape)}, got {list(codes.shape)}")
    v0, v1 = _check_variances(variances)
    priors = priors.to(codes.dtype)
    c = priors[:, :2] + codes[:, :2] * v0 * priors[:, 2:]
    wh = priors[:, 2:] * torch.exp(codes[:, 2:] * v1)
    return torch.cat([c - wh / 2, c + wh / 2], dim=1)
    # END SOLUTION


def hard_negative_mining(conf_loss: Tensor, positives: Tensor, neg_pos_ratio: int = 3) -> Tensor:
    """Pick the negatives of every image: the ``k = min(neg_pos_ratio * num_pos, P - num_pos)``
    non-positive priors with the highest confidence loss (an image without positives takes none).

    Args:
        conf_loss (Tensor[N, P]): per-prior classification loss (e.g. cross entropy against the
            background for the negatives); ties are broken arbitrarily.
        positives (Tensor[N, P]): bool, the matched priors.
        neg_pos_ratio (int): negatives per positive (>= 0).

    Returns:
        Tensor[N, P]: bool, the selected negatives (never a positive).

    Raises:
        ValueError: on shapes that differ, a non-bool ``positives`` or ``neg_pos_ratio < 0``
            (for the dtype, a ``TypeError`` is as good: the README's rule).
    """
    # BEGIN SOLUTION
    if conf_loss.dim() != 2 or positives.shape != conf_loss.shape:
        raise ValueError(f"conf_loss and positives must both be [N, P], got {list(conf_loss.shape)} and "
                         f"{list(positives.shape)}")
    if positives.dtype != torch.bool:
        raise ValueError(f"positives must be bool, got {positives.dtype}")
    if neg_pos_ratio < 0:
        raise ValueError(f"neg_pos_ratio must be >= 0, got {neg_pos_ratio}")
    num_pos = positives.sum(dim=1, keepdim=True)  # [N, 1]
    num_neg = torch.minimum(neg_pos_ratio * num_pos, positives.shape[1] - num_pos)  # [N, 1]
    loss = conf_loss.masked_fill(positives, float("-inf"))  # (argsort carries no gradient)
    order = loss.argsort(dim=1, descending=True)  # [N, P]
    rank = order.argsort(dim=1)  # rank of every prior
    return rank < num_neg
    # END SOLUTION


def multibox_loss(loc_pred: Tensor, conf_pred: Tensor, gt_boxes: list[Tensor], gt_labels: list[Tensor],
                  priors: Tensor, threshold: float = 0.5, neg_pos_ratio: int = 3,
                  variances: tuple[float, float] = (0.1, 0.2)) -> Tensor:
    """The SSD multibox loss of a batch.

    Per image: :func:`ssd_match`, class targets (the matched label, 0 for the background),
    regression targets :func:`ssd_encode` of the matched boxes. ``loc`` = smooth L1 (beta 1,
    summed) of the positives' codes; ``conf`` = cross entropy summed over the positives and the
    :func:`hard_negative_mining` negatives (mined on the per-prior cross entropy). Both are
    divided by ``N_pos``, the number of positives in the whole batch; with ``N_pos = 0`` both
    are 0.

    Args:
        loc_pred (Tensor[N, P, 4]): predicted codes.
        conf_pred (Tensor[N, P, K + 1]): class logits, column 0 = background.
        gt_boxes (list[Tensor[M_n, 4]]): ground truths per image, ``(x1, y1, x2, y2)``.
        gt_labels (list[Tensor[M_n]]): int64 labels in ``1 .. K``.
        priors (Tensor[P, 4]): ``(cx, cy, w, h)``.
        threshold (float): matching IoU threshold.
        neg_pos_ratio (int): negatives per positive.
        variances (tuple[float, float]): of the encoding.

    Returns:
        Tensor[2]: ``(loc, conf)`` (the training loss is their sum), loc_pred's dtype.

    Raises:
        ValueError: on shapes that do not match, list lengths other than ``N``, labels outside
            ``1 .. K``, or labels that are not int64 (for the dtype, a ``TypeError`` is as good:
            the README's rule).
    """
    # BEGIN SOLUTION
    _check_priors(priors)
    if loc_pred.dim() != 3 or loc_pred.shape[1:] != priors.shape:
        raise ValueError(f"loc_pred must have shape [N, {priors.shape[0]}, 4], got {list(loc_pred.shape)}")
    if conf_pred.dim() != 3 or conf_pred.shape[:2] != loc_pred.shape[:2] or conf_pred.shape[2] < 2:
        raise ValueError(f"conf_pred must have shape [N, {priors.shape[0]}, K + 1] with K >= 1, got "
                         f"{list(conf_pred.shape)}")
    n, p, k1 = conf_pred.shape
    if len(gt_boxes) != n or len(gt_labels) != n:
        raise ValueError(f"gt_boxes and gt_labels must have one entry per image ({n}), got {len(gt_boxes)} "
                         f"and {len(gt_labels)}")
    cls_targets, loc_losses = [], []
    num_pos = 0
    for i in range(n):
        labels = gt_labels[i]
        if labels.dtype != torch.int64 or labels.shape != gt_boxes[i].shape[:1]:
            raise ValueError(f"gt_labels[{i}] must be int64 of shape [{gt_boxes[i].shape[0]}], got {labels.dtype} "
                             f"{list(labels.shape)}")
        if labels.numel() and (int(labels.min()) < 1 or int(labels.max()) > k1 - 1):
            raise ValueError(f"gt_labels[{i}] must be in 1 .. {k1 - 1} (0 is the background), got {labels.tolist()}")
        matches = ssd_match(gt_boxes[i], priors, threshold)  # [P]
        pos = matches >= 0
        num_pos += int(pos.sum())
        target = torch.zeros(p, dtype=torch.int64, device=conf_pred.device)
        target[pos] = labels[matches[pos]]
        cls_targets.append(target)
        codes = ssd_encode(gt_boxes[i][matches[pos]].to(loc_pred.dtype), priors[pos], variances)
        loc_losses.append(F.smooth_l1_loss(loc_pred[i][pos], codes, beta=1.0, reduction="sum"))
    if num_pos == 0:
        return torch.stack([loc_pred.sum() * 0, conf_pred.sum() * 0])
    cls_target = torch.stack(cls_targets)  # [N, P]
    ce = F.cross_entropy(conf_pred.reshape(-1, k1), cls_target.reshape(-1), reduction="none").view(n, p)
    positives = cls_target > 0
    negatives = hard_negative_mining(ce, positives, neg_pos_ratio)
    conf = ce[positives | negatives].sum()
    loc = torch.stack(loc_losses).sum()
    return torch.stack([loc, conf]) / num_pos
    # END SOLUTION
