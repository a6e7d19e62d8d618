"""RPN training targets: anchor-to-ground-truth matching and balanced sampling."""

from __future__ import annotations

from torch import Tensor

__all__ = ["assign_anchor_targets", "anchor_labels", "sample_balanced"]


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
    raise NotImplementedError("assign_anchor_targets: implement me (see README.md, section `matching`)")


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
    raise NotImplementedError("anchor_labels: implement me (see README.md, section `matching`)")


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
    raise NotImplementedError("sample_balanced: implement me (see README.md, section `matching`)")
