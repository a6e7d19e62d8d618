"""Builds the bundled sample submissions for `nox -s demo` (and the project's tests).

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``, so the samples follow the reference as it evolves. They live on the
trusted side (reference/) because they contain solution code.

    python reference/instance/samples.py --out /tmp/samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "instance"
STUB = HERE.parent.parent / "assignments" / "instance" / "instance"

# Partly correct: the mask loss averages over every class channel (not the ground truth's only),
# the merge places stuff before things, and PointRend's subdivision was never written.
PARTIAL = '''
# --- a partly correct submission -------------------------------------------------------------
import torch.nn.functional as _F


def maskrcnn_mask_loss(mask_logits, proposals, gt_masks, gt_labels, matched_idxs):
    if mask_logits.shape[0] == 0:
        return mask_logits.sum() * 0
    m = mask_logits.shape[-1]
    targets = torch.cat([mask_targets(g, p, i, m) for g, p, i in zip(gt_masks, proposals, matched_idxs)])
    return _F.binary_cross_entropy_with_logits(mask_logits, targets[:, None].expand_as(mask_logits))


def subdivision_inference(coarse_logits, fine_features, point_head_weight, point_head_bias, num_steps, num_points):
    raise NotImplementedError("subdivision_inference: not done yet")
'''

# The typical mistakes: mask targets with aligned=True (a half-pixel shift) and Matrix NMS
# without the compensation term (a correct formula elsewhere).
MISTAKE = '''
# --- typical mistakes ------------------------------------------------------------------------
import math as _math

_reference_mask_targets = mask_targets


def mask_targets(gt_masks, boxes, matched_idxs, mask_size):
    return _reference_mask_targets(gt_masks, boxes - 0.5, matched_idxs, mask_size)


def matrix_nms(masks, labels, scores, kernel="gaussian", sigma=2.0):
    n = scores.shape[0]
    if n == 0:
        return scores.clone()
    order = torch.sort(scores, descending=True, stable=True).indices
    m = masks[order].reshape(n, -1).to(scores.dtype)
    inter = m @ m.T
    area = m.sum(1)
    iou = (inter / (area[:, None] + area[None, :] - inter).clamp(min=1e-12)).triu(1)
    lab = labels[order]
    same = (lab[:, None] == lab[None, :]).triu(1)
    d = torch.where(same, iou, torch.zeros_like(iou))
    f = torch.exp(-sigma * d ** 2) if kernel == "gaussian" else 1 - d   # no compensation
    out = torch.empty_like(scores)
    out[order] = scores[order] * f.min(0).values
    return out
'''

# Correct, but Matrix NMS loops over pairs in Python: O(N^2) interpreter work.
SLOW = '''
# --- a correct but slow submission -----------------------------------------------------------
import math as _math


def matrix_nms(masks, labels, scores, kernel="gaussian", sigma=2.0):
    n = scores.shape[0]
    if masks.dim() != 3 or masks.shape[0] != n:
        raise ValueError(f"masks must have shape [{n}, H, W], got {list(masks.shape)}")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape [{n}], got {list(labels.shape)}")
    if kernel not in ("gaussian", "linear"):
        raise ValueError(f"kernel must be 'gaussian' or 'linear', got {kernel!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if n == 0:
        return scores.clone()
    order = sorted(range(n), key=lambda i: (-float(scores[i]), i))
    m = masks[order].reshape(n, -1).to(scores.dtype)
    inter = m @ m.T
    area = m.sum(1)
    iou = (inter / (area[:, None] + area[None, :] - inter).clamp(min=1e-12)).tolist()
    lab = [int(labels[i]) for i in order]
    comp = [max([iou[k][i] for k in range(i) if lab[k] == lab[i]], default=0.0) for i in range(n)]
    out = scores.clone()
    for j in range(n):
        decay = 1.0
        for i in range(j):
            if lab[i] == lab[j]:
                if kernel == "gaussian":
                    f = _math.exp(-sigma * (iou[i][j] ** 2 - comp[i] ** 2))
                else:
                    f = (1 - iou[i][j]) / max(1 - comp[i], 1e-6)
                decay = min(decay, f)
        out[order[j]] = float(scores[order[j]]) * decay
    return out
'''

# A broken pipeline: thresholds the mask logits without the sigmoid and lets stuff win.
BAD_PIPELINE = '''
# --- a broken inference pipeline -------------------------------------------------------------
def predict_panoptic(outputs, *, mask_threshold=0.5, overlap_threshold=0.5, stuff_area_threshold=4096,
                     score_threshold=0.5):
    results = []
    for out in outputs:
        sem = out["semantic_logits"]
        h, w = sem.shape[-2:]
        masks = paste_masks(out["mask_logits"], out["boxes"], (h, w)) > mask_threshold
        lookup = torch.cat([torch.zeros(1, dtype=torch.int64), out["stuff_ids"].long()])
        semantic = lookup[sem.argmax(0)]
        masks = masks & (semantic == 0)  # stuff wins over things
        pan, cats, th = panoptic_merge(masks, out["scores"], out["labels"], semantic,
                                       overlap_threshold=overlap_threshold,
                                       stuff_area_threshold=stuff_area_threshold, score_threshold=score_threshold)
        results.append({"masks": masks, "scores": out["scores"].float(), "labels": out["labels"].long(),
                        "panoptic": pan, "segment_categories": cats, "segment_isthing": th})
    return results
'''

SYNTAX_ERROR = '''
def matrix_nms(masks, labels, scores)
    return None
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    made = [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_mistakes", REFERENCE, MISTAKE),
        sample_package(out / "s05_slow", REFERENCE, SLOW),
        sample_package(out / "s06_bad_pipeline", REFERENCE, BAD_PIPELINE),
    ]
    broken = sample_package(out / "s07_syntax_error", STUB)
    (broken / "instance" / "solo.py").write_text(SYNTAX_ERROR)
    made.append(broken)
    return made



if __name__ == "__main__":
    samples_main(__doc__, build)
