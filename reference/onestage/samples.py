"""Builds the bundled sample submissions for `nox -s demo` (and the project's tests).

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``, so the samples follow the reference as it evolves. They live on the
trusted side (reference/) because they contain solution code.

    python reference/onestage/samples.py --out /tmp/samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "onestage"
STUB = HERE.parent.parent / "assignments" / "onestage" / "onestage"

# YOLO targets written with one scatter (the last ground truth of a cell wins, not the first),
# and default boxes without the extra box of scale sqrt(s_k s_{k+1}); the rest is correct.
PARTIAL = '''
# --- a partly correct submission -------------------------------------------------------------
import math as _math

from .yolo import _check_boxes as _pc_check_boxes, _iou as _pc_iou


def yolo_targets(pred, boxes, labels, S, B, C):
    _pc_check_boxes(boxes, labels, C)
    pred = pred.detach()
    target = torch.zeros(S, S, B * 5 + C, dtype=pred.dtype)
    resp = torch.zeros(S, S, B, dtype=torch.bool)
    if boxes.shape[0] == 0:
        return target, resp
    cells = yolo_cell_index(boxes, S)
    row, col = cells[:, 0], cells[:, 1]
    decoded = yolo_decode(pred, S, B, C)[row, col]
    ious = _pc_iou(decoded, boxes.to(pred.dtype)[:, None, :])
    best = ious.argmax(1)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    five = torch.stack([cx * S - col, cy * S - row, boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1],
                        ious.gather(1, best[:, None])[:, 0]], 1).to(pred.dtype)
    for m in range(boxes.shape[0]):  # every ground truth overwrites the cell: the last one wins
        target[row[m], col[m]] = 0
        resp[row[m], col[m]] = False
        target[row[m], col[m], best[m] * 5:best[m] * 5 + 5] = five[m]
        target[row[m], col[m], B * 5 + labels[m]] = 1
        resp[row[m], col[m], best[m]] = True
    return target, resp


def default_boxes(feature_sizes, aspect_ratios, s_min=0.2, s_max=0.9, clip=True, dtype=torch.float32):
    scales = ssd_scales(len(feature_sizes), s_min, s_max)
    out = []
    for k, (fh, fw) in enumerate(feature_sizes):
        wh = [[scales[k], scales[k]]]  # forgets the extra box of scale sqrt(s_k s_k+1)
        for r in aspect_ratios[k]:
            wh += [[scales[k] * _math.sqrt(r), scales[k] / _math.sqrt(r)],
                   [scales[k] / _math.sqrt(r), scales[k] * _math.sqrt(r)]]
        wh = torch.tensor(wh, dtype=torch.float64).clamp(0, 1) if clip else torch.tensor(wh, dtype=torch.float64)
        for i in range(fh):
            for j in range(fw):
                for w, h in wh.tolist():
                    out.append([(j + 0.5) / fw, (i + 0.5) / fh, w, h])
    return torch.tensor(out, dtype=dtype)
'''

# Correct, but SSD matching loops over the 8732 priors in Python.
SLOW = '''
# --- a correct but slow submission -----------------------------------------------------------
from .ssd import _box_iou as _slow_iou


def ssd_match(gt_boxes, priors, threshold=0.5):
    if gt_boxes.dim() != 2 or gt_boxes.shape[-1] != 4:
        raise ValueError(f"gt_boxes must have shape [M, 4], got {list(gt_boxes.shape)}")
    if priors.dim() != 2 or priors.shape[-1] != 4:
        raise ValueError(f"priors must have shape [P, 4], got {list(priors.shape)}")
    if not (0 <= threshold <= 1):
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    p = priors.shape[0]
    matches = torch.full((p,), -1, dtype=torch.int64, device=priors.device)
    if gt_boxes.shape[0] == 0 or p == 0:
        return matches
    xyxy = cxcywh_to_xyxy(priors)
    gt = gt_boxes.to(priors.dtype)
    best_val = [-1.0] * gt.shape[0]
    best_idx = [0] * gt.shape[0]
    for j in range(p):
        iou = _slow_iou(gt, xyxy[j:j + 1])[:, 0]
        if float(iou.max()) >= threshold:
            matches[j] = int(iou.argmax())
        for g, v in enumerate(iou.tolist()):
            if v > best_val[g]:
                best_val[g], best_idx[g] = v, j
    for m, j in enumerate(best_idx):
        matches[j] = m
    return matches
'''

# The typical STN mistake: grid_sample reads the grid as (row, col) = (y, x); everything else
# is the reference (the classifier trains on the broken sampler).
SWAPPED = '''
# --- a typical mistake: (y, x) instead of (x, y) ------------------------------------------------
from . import stn as _sw_stn, model as _sw_model

_sw_reference = _sw_stn.grid_sample


def grid_sample(input, grid, align_corners=False):
    return _sw_reference(input, grid.flip(-1), align_corners)


_sw_stn.grid_sample = grid_sample
_sw_model.grid_sample = grid_sample
'''

SYNTAX_ERROR = '''
def affine_grid(theta, size, align_corners=False)
    return None
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    made = [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_slow_matching", REFERENCE, SLOW),
        sample_package(out / "s05_swapped_xy", REFERENCE, SWAPPED),
    ]
    broken = sample_package(out / "s06_syntax_error", STUB)
    (broken / "onestage" / "stn.py").write_text(SYNTAX_ERROR)
    made.append(broken)
    return made



if __name__ == "__main__":
    samples_main(__doc__, build)
