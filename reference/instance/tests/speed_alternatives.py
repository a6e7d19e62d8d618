"""Documented alternative solutions of the Matrix NMS speed check, for ``cv3 calibrate``.

Each entry's ``source`` is appended to the reference package's ``__init__.py`` (after
``import torch``) and overrides ``matrix_nms`` only (the pattern of samples.py).

* documented: the README's matrix form (one ``masks @ masks.T`` for the intersections, masks
  by label, a max over columns for the compensation, a min over columns for the decay), written
  independently of the reference (label masking by a float matrix instead of ``torch.where``).
* naive: the pair-by-pair Python loop over the formula (O(N^2) interpreter work, with the IoUs
  computed once as a matrix, so only the decay loop is naive).
"""

from __future__ import annotations

__all__ = ["matrix_nms_alternatives"]

MATRIX_FORM = '''
def _cal_check(masks, labels, scores, kernel, sigma):
    n = scores.shape[0]
    if masks.dim() != 3 or masks.shape[0] != n:
        raise ValueError(f"masks must have shape [{n}, H, W], got {list(masks.shape)}")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape [{n}], got {list(labels.shape)}")
    if kernel not in ("gaussian", "linear"):
        raise ValueError(f"kernel must be 'gaussian' or 'linear', got {kernel!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")


def matrix_nms(masks, labels, scores, kernel="gaussian", sigma=2.0):
    _cal_check(masks, labels, scores, kernel, sigma)
    n = scores.shape[0]
    if n == 0:
        return scores.clone()
    order = torch.sort(scores, descending=True, stable=True).indices
    m = masks[order].reshape(n, -1).to(scores.dtype)
    inter = m @ m.T
    area = m.sum(1)
    union = area[:, None] + area[None, :] - inter
    iou = (inter / union.clamp(min=1e-12)).triu(1)
    lab = labels[order]
    same = (lab[:, None] == lab[None, :]).to(scores.dtype).triu(1)
    d = iou * same
    comp = d.max(0).values[:, None]
    if kernel == "gaussian":
        f = torch.exp(-sigma * (d ** 2 - comp ** 2))
    else:
        f = (1 - d) / (1 - comp).clamp(min=1e-6)
    f = torch.where(same > 0, f, torch.ones_like(f))
    out = torch.empty_like(scores)
    out[order] = scores[order] * f.min(0).values.clamp(max=1.0)
    return out
'''

PAIR_LOOP = '''
import math as _math

def _cal_check(masks, labels, scores, kernel, sigma):
    n = scores.shape[0]
    if masks.dim() != 3 or masks.shape[0] != n:
        raise ValueError(f"masks must have shape [{n}, H, W], got {list(masks.shape)}")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape [{n}], got {list(labels.shape)}")
    if kernel not in ("gaussian", "linear"):
        raise ValueError(f"kernel must be 'gaussian' or 'linear', got {kernel!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")


def matrix_nms(masks, labels, scores, kernel="gaussian", sigma=2.0):
    _cal_check(masks, labels, scores, kernel, sigma)
    n = scores.shape[0]
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


def matrix_nms_alternatives() -> dict:
    return {
        "matrix_form": {"kind": "documented", "doc": "README: the matrix form", "source": MATRIX_FORM},
        "pair_loop": {"kind": "naive", "doc": "README: a Python loop over pairs", "source": PAIR_LOOP},
    }
