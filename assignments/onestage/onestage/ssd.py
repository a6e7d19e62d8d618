"""SSD (Liu et al., 2016) training targets: default boxes, matching, box encoding with
variances, hard negative mining and the multibox loss.

Conventions (pinned, README.md section `ssd`): coordinates are normalised to [0, 1]; default
boxes ("priors") are ``(cx, cy, w, h)``; ground-truth and decoded boxes are ``(x1, y1, x2, y2)``;
class 0 is the background, object labels are ``1 .. K``.
"""

from __future__ import annotations

import torch
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
    raise NotImplementedError("ssd_scales: implement me (see README.md, section `ssd`)")


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
    raise NotImplementedError("default_boxes: implement me (see README.md, section `ssd`)")


def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)``.

    Args:
        boxes (Tensor[..., 4]): boxes.

    Returns:
        Tensor[..., 4]: same dtype.
    """
    raise NotImplementedError("cxcywh_to_xyxy: implement me (see README.md, section `ssd`)")


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
    raise NotImplementedError("ssd_match: implement me (see README.md, section `ssd`)")


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
    raise NotImplementedError("ssd_encode: implement me (see README.md, section `ssd`)")


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
    raise NotImplementedError("ssd_decode: implement me (see README.md, section `ssd`)")


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
    raise NotImplementedError("hard_negative_mining: implement me (see README.md, section `ssd`)")


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
    raise NotImplementedError("multibox_loss: implement me (see README.md, section `ssd`)")
