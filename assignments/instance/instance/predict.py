"""Panoptic inference from a Mask R-CNN-style detector's and a semantic head's raw outputs
(README.md, section `predict`)."""

from __future__ import annotations

__all__ = ["predict_panoptic"]


def predict_panoptic(
    outputs: list[dict],
    *,
    mask_threshold: float = 0.5,
    overlap_threshold: float = 0.5,
    stuff_area_threshold: int = 4096,
    score_threshold: float = 0.5,
) -> list[dict]:
    """Turn raw per-image head outputs into instance masks and a panoptic segmentation.

    Per image: mask probabilities ``sigmoid(mask_logits)`` are pasted into the image
    (:func:`paste_masks`, padding 1) and thresholded (``prob > mask_threshold``); the semantic
    map is the argmax over channels of ``semantic_logits`` (channel 0 = things / other -> 0,
    channel ``k >= 1`` -> ``stuff_ids[k - 1]``); both are merged by :func:`panoptic_merge` with
    the given thresholds.

    Args:
        outputs (list[dict]): per image ``mask_logits`` (Tensor[N, M, M] float), ``boxes``
            (Tensor[N, 4] float, (x1, y1, x2, y2)), ``scores`` (Tensor[N] float), ``labels``
            (Tensor[N] int64 thing category ids), ``semantic_logits`` (Tensor[1 + K, H, W] float)
            and ``stuff_ids`` (Tensor[K] int64 stuff category ids).
        mask_threshold, overlap_threshold, stuff_area_threshold, score_threshold: see above.

    Returns:
        list[dict]: per image ``masks`` (Tensor[N, H, W] bool, every instance, in input order),
        ``scores`` (Tensor[N] float32), ``labels`` (Tensor[N] int64), ``panoptic`` (Tensor[H, W]
        int64 segment ids, 0 = void), ``segment_categories`` (Tensor[S] int64) and
        ``segment_isthing`` (Tensor[S] bool).
    """
    raise NotImplementedError("predict_panoptic: implement me (see README.md, section `predict`)")
