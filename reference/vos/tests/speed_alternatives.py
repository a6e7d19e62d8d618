"""Documented alternative solutions of the vos speed check, for ``cv3 calibrate vos``.

Each function returns ``{name: {"kind": "documented" | "naive", "doc": ..., "source": ...}}``;
``source`` is Python appended to the reference package's ``__init__.py`` (after ``import
torch``), overriding the timed function only.

* documented: the README's "unfold" formulation: ``F.unfold`` of the zero-padded ``f2`` with a
  dilated ``D x D`` kernel gathers every displaced vector at once ([B, C, D*D, H*W]), one product
  with ``f1`` and a sum over channels, then the patch mean by ``avg_pool2d``.
* naive: a Python loop over the output pixels (one [C, D, D] window product per pixel), the
  mistake the README warns about.
"""

from __future__ import annotations

__all__ = ["correlation_alternatives"]

UNFOLD = '''
import torch.nn.functional as _F
from .correlation import _check_inputs


def correlation(f1, f2, patch_size=1, max_displacement=4, stride1=1, stride2=1):
    _check_inputs(f1, f2, patch_size, max_displacement, stride1, stride2)
    b, c, h, w = f1.shape
    rad = max_displacement // stride2
    md = rad * stride2
    d = 2 * rad + 1
    cols = _F.unfold(f2, kernel_size=d, dilation=stride2, padding=md)  # [B, C*D*D, H*W]
    cols = cols.view(b, c, d * d, h, w)
    prod = (cols * f1[:, :, None]).sum(1)  # [B, D*D, H, W]
    return _F.avg_pool2d(prod, kernel_size=patch_size, stride=stride1) / c
'''

PIXEL_LOOP = '''
import torch.nn.functional as _F
from .correlation import _check_inputs


def correlation(f1, f2, patch_size=1, max_displacement=4, stride1=1, stride2=1):
    _check_inputs(f1, f2, patch_size, max_displacement, stride1, stride2)
    b, c, h, w = f1.shape
    rad = max_displacement // stride2
    md = rad * stride2
    d = 2 * rad + 1
    f2p = _F.pad(f2, (md, md, md, md))
    out = f1.new_zeros(b, d * d, h, w)
    for y in range(h):
        for x in range(w):
            win = f2p[:, :, y:y + 2 * md + 1:stride2, x:x + 2 * md + 1:stride2]  # [B, C, D, D]
            out[:, :, y, x] = (win * f1[:, :, y, x, None, None]).sum(1).reshape(b, d * d)
    return _F.avg_pool2d(out, kernel_size=patch_size, stride=stride1) / c
'''


def correlation_alternatives() -> dict:
    return {
        "unfold": {"kind": "documented", "doc": "F.unfold with a dilated D x D kernel, one product, avg_pool2d",
                   "source": UNFOLD},
        "pixel_loop": {"kind": "naive", "doc": "a Python loop over output pixels", "source": PIXEL_LOOP},
    }
