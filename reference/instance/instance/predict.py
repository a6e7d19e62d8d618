"""Panoptic inference from a Mask R-CNN-style detector's and a semantic head's raw outputs
(README.md, section `predict`)."""

from __future__ import annotations

# BEGIN SOLUTION
import torch
from ._checks import check_shape, check_tensor
from .mask_head import paste_masks
from .panoptic import panoptic_merge
# END SOLUTION

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
    # BEGIN SOLUTION
    if not isinstance(outputs, (list, tuple)):
        raise TypeError(f"outputs must be a list of dicts, got {type(outputs).__name__}")
    results = []
    for i, out in enumerate(outputs):
        if not isinstance(out, dict):
            raise TypeError(f"outputs[{i}] must be a dict, got {type(out).__name__}")
        sem = out["semantic_logits"]
        check_tensor(f"outputs[{i}]['semantic_logits']", sem, dims=3, floating=True)
        check_shape(f"outputs[{i}]['stuff_ids']", out["stuff_ids"], (sem.shape[0] - 1,))
        h, w = sem.shape[-2:]
        probs = paste_masks(out["mask_logits"].sigmoid(), out["boxes"], (h, w), padding=1)  # [N, H, W]
        masks = probs > mask_threshold
        channel = sem.argmax(dim=0)  # [H, W]
        lookup = torch.cat([torch.zeros(1, dtype=torch.int64, device=sem.device), out["stuff_ids"].long()])
        semantic = lookup[channel]  # [H, W]
        panoptic, cats, isthing = panoptic_merge(
            masks, out["scores"], out["labels"], semantic, overlap_threshold=overlap_threshold,
            stuff_area_threshold=stuff_area_threshold, score_threshold=score_threshold)
        results.append({"masks": masks, "scores": out["scores"].float(), "labels": out["labels"].long(),
                        "panoptic": panoptic, "segment_categories": cats, "segment_isthing": isthing})
    return results
    # END SOLUTION
