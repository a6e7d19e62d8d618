"""RPN training targets: anchor-to-ground-truth matching and balanced sampling."""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

# BEGIN SOLUTION
from .boxes import _check_boxes, box_iou
# END SOLUTION

__all__ = ["assign_anchor_targets", "anchor_labels", "sample_balanced"]


# BEGIN SOLUTION
def _check_labels_like(name: str, values: object) -> None:
    if not isinstance(values, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [A], got {type(values).__name__}")
    if values.dim() != 1:
        raise ValueError(f"{name} must be 1-D of shape [A], got shape {list(values.shape)}")
# END SOLUTION


def assign_anchor_targets(
    anchors: Tensor,
    gt_boxes: Tensor,
    high_threshold: float = 0.7,
    low_threshold: float = 0.3,
    allow_low_quality_matches: bool = True,
) -> Tensor:
    """Match every anchor to a ground-truth box, or mark it background or ignored.

    With ``q[g, a] = IoU(gt_boxes[g], anchors[a])`` and each anchor's best ground truth
    ``m(a) = argmax_g q[g, a]`` (first index on ties):

    * ``q[m(a), a] >= high_threshold``: the anchor is matched, ``out[a] = m(a)``;
    * ``q[m(a), a] < low_threshold``: background, ``out[a] = -1``;
    * in between: ignored, ``out[a] = -2``.

    With ``allow_low_quality_matches``, every anchor ``a`` whose IoU with some ground truth
    ``g`` equals that ground truth's highest IoU (``q[g, a] == max_a' q[g, a']``, ties
    included) gets ``out[a] = m(a)`` back, so that every ground truth has at least one anchor.
    Equal to torchvision's ``Matcher(high_threshold, low_threshold, allow_low_quality_matches)``
    applied to ``box_iou(gt_boxes, anchors)``, except that no ground truth (G == 0) gives all -1
    where torchvision raises.

    Args:
        anchors (Tensor[A, 4]): (x1, y1, x2, y2) anchors.
        gt_boxes (Tensor[G, 4]): (x1, y1, x2, y2) ground-truth boxes of one image.
        high_threshold (float): IoU at or above which an anchor is matched.
        low_threshold (float): IoU below which an anchor is background.
        allow_low_quality_matches (bool): restore the best anchors of every ground truth.

    Returns:
        Tensor[A] int64: matched ground-truth index, -1 (background) or -2 (ignored).

    Raises:
        TypeError: if a box argument is not a tensor.
        ValueError: if ``anchors`` is not 2-D [A, 4], ``gt_boxes`` is not 2-D [G, 4] or
            ``low_threshold > high_threshold``.
    """
    # BEGIN SOLUTION
    _check_boxes("anchors", anchors)
    _check_boxes("gt_boxes", gt_boxes)
    if low_threshold > high_threshold:
        raise ValueError(
            f"low_threshold must be <= high_threshold, got low_threshold={low_threshold!r} > "
            f"high_threshold={high_threshold!r}"
        )
    quality = box_iou(gt_boxes, anchors)  # [G, A]
    num_anchors = anchors.shape[0]
    if gt_boxes.shape[0] == 0 or num_anchors == 0:
        return torch.full((num_anchors,), -1, dtype=torch.int64, device=anchors.device)

    best_iou, best_gt = quality.max(dim=0)  # [A], [A]
    matches = best_gt.clone()  # [A]
    matches[best_iou < low_threshold] = -1
    matches[(best_iou >= low_threshold) & (best_iou < high_threshold)] = -2
    if allow_low_quality_matches:
        highest_per_gt = quality.max(dim=1).values  # [G]
        is_best_for_some_gt = (quality == highest_per_gt[:, None]).any(dim=0)  # [A]
        matches = torch.where(is_best_for_some_gt, best_gt, matches)  # [A]
    return matches
    # END SOLUTION


def anchor_labels(matched_idxs: Tensor) -> Tensor:
    """Classification labels of the RPN from matched indices.

    Args:
        matched_idxs (Tensor[A] int64): output of :func:`assign_anchor_targets`.

    Returns:
        Tensor[A] float32: 1.0 where ``matched_idxs >= 0`` (foreground), 0.0 where it is -1
        (background), -1.0 where it is -2 (ignored).

    Raises:
        TypeError: if ``matched_idxs`` is not a tensor.
        ValueError: if ``matched_idxs`` is not 1-D.
    """
    # BEGIN SOLUTION
    _check_labels_like("matched_idxs", matched_idxs)
    labels = (matched_idxs >= 0).to(torch.float32)  # [A]
    labels[matched_idxs == -1] = 0.0
    labels[matched_idxs == -2] = -1.0
    return labels
    # END SOLUTION


def sample_balanced(
    labels: Tensor,
    batch_size_per_image: int,
    positive_fraction: float,
    seed: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Sample a class-balanced minibatch of anchors (torchvision's
    ``BalancedPositiveNegativeSampler`` for one image).

    ``num_pos = min(#positives, int(batch_size_per_image * positive_fraction))`` positives and
    ``num_neg = min(#negatives, batch_size_per_image - num_pos)`` negatives are drawn uniformly
    at random without replacement (``torch.randperm``). Labels ``>= 1`` are positive, ``0``
    negative and ``-1`` ignored (never sampled).

    Args:
        labels (Tensor[A]): 1 positive, 0 negative, -1 ignored (e.g. from :func:`anchor_labels`).
        batch_size_per_image (int): number of anchors to sample (at most).
        positive_fraction (float): fraction of the batch that may be positive, in [0, 1].
        seed (int or None): seed of the ``torch.Generator`` used for ``randperm``; None uses the
            global random state.

    Returns:
        tuple[Tensor[A] bool, Tensor[A] bool]: (pos_mask, neg_mask) of the sampled anchors.

    Raises:
        TypeError: if ``labels`` is not a tensor or ``batch_size_per_image`` is not an int.
        ValueError: if ``labels`` is not 1-D, ``batch_size_per_image < 0`` or
            ``positive_fraction`` is outside [0, 1].
    """
    # BEGIN SOLUTION
    _check_labels_like("labels", labels)
    if isinstance(batch_size_per_image, bool) or not isinstance(batch_size_per_image, int):
        raise TypeError(f"batch_size_per_image must be an int, got {batch_size_per_image!r}")
    if batch_size_per_image < 0:
        raise ValueError(f"batch_size_per_image must be >= 0, got {batch_size_per_image}")
    if not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must be in [0, 1], got {positive_fraction!r}")

    generator = None
    if seed is not None:
        generator = torch.Generator(device=labels.device)
        generator.manual_seed(seed)

    positive = torch.nonzero(labels >= 1).squeeze(1)  # [P]
    negative = torch.nonzero(labels == 0).squeeze(1)  # [Q]
    num_pos = min(positive.numel(), int(batch_size_per_image * positive_fraction))
    num_neg = min(negative.numel(), batch_size_per_image - num_pos)
    perm_pos = torch.randperm(positive.numel(), generator=generator, device=labels.device)[:num_pos]
    perm_neg = torch.randperm(negative.numel(), generator=generator, device=labels.device)[:num_neg]

    pos_mask = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)  # [A]
    neg_mask = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)  # [A]
    pos_mask[positive[perm_pos]] = True
    neg_mask[negative[perm_neg]] = True
    return pos_mask, neg_mask
    # END SOLUTION
