"""Builds sample submissions of the transformers assignment for demos and the project's tests.

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``. They live on the trusted side (reference/) because they contain
solution code.

    python reference/transformers/samples.py --out /tmp/transformers_samples

- ``s01_reference``: full marks.
- ``s02_stub``: zero.
- ``s03_partial``: a Swin mask with ``-inf`` instead of -100 between regions and no "window
  covers the map" rule, and DETR's no-object class not down-weighted: the rest is right.
- ``s04_wrong_softmax_axis``: the typical mistake, a softmax over the queries (dim=-2) instead
  of the keys: attention, MHA, ViT, Swin, the grader's trained ViT and DETR in these modules
  (``digits_pretrained``, ``detr_map``) all suffer; the ViT trained in the sandbox does not.
- ``s05_uses_sdpa``: calls ``F.scaled_dot_product_attention`` through an alias: blocked in the
  sandbox, reported by the static scan in the instructor report.
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "transformers"
STUB = HERE.parent.parent / "assignments" / "transformers" / "transformers"

PARTIAL = '''
# --- a partly correct submission: Swin's mask and DETR's no-object weight are wrong --------------
from . import detr as _detr
from . import swin as _swin


def _broken_mask(height, width, window_size, shift_size, dtype=torch.float32):
    mh, mw = _swin._pair(window_size)
    sh, sw = _swin._pair(shift_size)
    labels = torch.zeros(height, width)
    count = 0
    for r0, r1 in ((0, height - mh), (height - mh, height - sh), (height - sh, height)):
        for c0, c1 in ((0, width - mw), (width - mw, width - sw), (width - sw, width)):
            labels[r0:r1, c0:c1] = count
            count += 1
    win = _swin.window_partition(labels[None, :, :, None], (mh, mw)).reshape(-1, mh * mw)
    diff = win[:, None, :] - win[:, :, None]
    return torch.where(diff != 0, float("-inf"), 0.0).to(dtype)  # -inf, and no "covers the map" rule


_swin.shifted_window_mask = _broken_mask
shifted_window_mask = _broken_mask
_reference_set_criterion = _detr.set_criterion


def set_criterion(pred_logits, pred_boxes, targets, num_classes, eos_coef=0.1, aux_logits=None, aux_boxes=None,
                  cost_class=1.0, cost_bbox=5.0, cost_giou=2.0):
    return _reference_set_criterion(pred_logits, pred_boxes, targets, num_classes, 1.0, aux_logits, aux_boxes,
                                    cost_class, cost_bbox, cost_giou)
'''

WRONG_AXIS = '''
# --- the typical mistake: the softmax runs over the queries instead of the keys -----------------
import math as _math
import sys as _sys

import torch.nn.functional as _F

_att = _sys.modules[__name__ + ".attention"]  # the module (the package's `attention` is the function)


def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None):
    s = 1.0 / _math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * s
    if is_causal:
        scores = scores.masked_fill(~torch.ones(scores.shape[-2:], dtype=torch.bool).tril(), float("-inf"))
    elif attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else scores + attn_mask
    return _F.softmax(scores, dim=-2)


_att.attention_weights = attention_weights
'''

USES_SDPA = '''
# --- calls the forbidden SDPA through an alias (blocked in the sandbox, reported by the scan) ----
from torch.nn import functional as _Q


def attention(query, key, value, attn_mask=None, is_causal=False, scale=None):
    return _Q.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_wrong_softmax_axis", REFERENCE, WRONG_AXIS),
        sample_package(out / "s05_uses_sdpa", REFERENCE, USES_SDPA),
    ]



if __name__ == "__main__":
    samples_main(__doc__, build)
