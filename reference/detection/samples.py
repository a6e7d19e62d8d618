"""Builds the bundled sample submissions for `nox -s demo` (and the project's tests).

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``, so the samples follow the reference as it evolves. They live on the
trusted side (reference/) because they contain solution code.

    python reference/detection/samples.py --out /tmp/samples
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "detection"
STUB = HERE.parent.parent / "assignments" / "detection" / "detection"

# NMS that suppresses at IoU >= threshold (instead of >) and anchors that were never written.
PARTIAL = '''
# --- a partly correct submission -------------------------------------------------------------
def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    iou = box_iou(boxes, boxes)
    keep, removed = [], set()
    for i in order.tolist():
        if i in removed:
            continue
        keep.append(i)
        removed.update((iou[i] >= iou_threshold).nonzero().flatten().tolist())
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)


def generate_anchors(feature_size, stride, sizes, aspect_ratios, dtype=torch.float32, device="cpu"):
    raise NotImplementedError("generate_anchors: not done yet")


def average_precision(precision, recall, method="voc"):
    # forgets the precision envelope and the method
    if precision.numel() == 0:
        return 0.0
    r = torch.cat([recall.new_zeros(1), recall])
    return float(((r[1:] - r[:-1]) * precision).sum())
'''

# Correct, but NMS compares every pair of boxes in Python scalars: O(N^2) interpreter work.
SLOW = '''
# --- a correct but slow submission -----------------------------------------------------------
def nms(boxes, scores, iou_threshold):
    for name, t in (("boxes", boxes), ("scores", scores)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must have shape [N, 4], got {list(boxes.shape)}")
    if scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"scores must have shape [{boxes.shape[0]}], got {list(scores.shape)}")
    b = boxes.tolist()
    order = sorted(range(len(b)), key=lambda i: -float(scores[i]))
    keep = []
    for i in order:
        x1, y1, x2, y2 = b[i]
        ok = True
        for j in keep:
            u1, v1, u2, v2 = b[j]
            iw = max(0.0, min(x2, u2) - max(x1, u1))
            ih = max(0.0, min(y2, v2) - max(y1, v1))
            inter = iw * ih
            union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
            if union > 0 and inter / union > iou_threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)
'''

# Correct elsewhere, but NMS kills the process and box_iou never returns on empty input.
CRASHING = '''
# --- a crashing submission -------------------------------------------------------------------
import os as _os

_reference_box_iou = box_iou


def nms(boxes, scores, iou_threshold):
    _os.abort()


def box_iou(boxes1, boxes2):
    while boxes1.shape[0] == 0:
        pass
    return _reference_box_iou(boxes1, boxes2)
'''

SYNTAX_ERROR = '''
def box_iou(boxes1, boxes2)
    return None
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder (or zip) per student id, into ``out``."""
    out = fresh_folder(out)
    made = [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_slow", REFERENCE, SLOW),
        sample_package(out / "s05_crashing", REFERENCE, CRASHING),
    ]
    broken = sample_package(out / "s06_syntax_error", STUB)
    (broken / "detection" / "boxes.py").write_text(SYNTAX_ERROR)
    made.append(broken)
    # a zip whose member tries to escape the archive
    evil = out / "s07_zip_slip.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("detection/__init__.py", "")
        zf.writestr("../../outside.py", "print('escaped')")
    made.append(evil)
    # a correct submission handed in as a zip with a top-level folder
    zipped = out / "s08_zipped_reference.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for f in sorted(REFERENCE.rglob("*.py")):
            zf.write(f, f"my_project/detection/{f.relative_to(REFERENCE)}")
    made.append(zipped)
    return made



if __name__ == "__main__":
    samples_main(__doc__, build)
