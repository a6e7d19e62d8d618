"""Documented alternative solutions of part A's speed checks, for ``cv3 calibrate``.

Each entry's ``source`` is appended to the reference package's ``__init__.py`` and overrides
one function. "documented": what the README teaches (ZNCC by the FFT and window sums; ZNCC by
unfolding every window into a row; Haar features one feature type at a time). "naive": a Python
loop over the positions (ZNCC) or over the features with pixel sums (Haar), the typical mistakes.
"""

from __future__ import annotations

__all__ = ["zncc_alternatives", "haar_alternatives"]

ZNCC_FFT = '''
def zncc(image, template):
    return match_template_fft(image, template, "zncc")
'''

ZNCC_UNFOLD = '''
import torch as _cal_torch

from .template import _check as _cal_check


def zncc(image, template):
    _cal_check(image, template)
    dtype = _cal_torch.promote_types(image.dtype, template.dtype)
    img, tpl = image.double(), template.double()
    h, w = tpl.shape
    oh, ow = img.shape[0] - h + 1, img.shape[1] - w + 1
    win = img.unfold(0, h, 1).unfold(1, w, 1).reshape(oh, ow, h * w)
    wz = win - win.mean(-1, keepdim=True)
    tz = (tpl - tpl.mean()).reshape(-1)
    num = wz @ tz
    a, b = (wz * wz).sum(-1), (tz * tz).sum()
    flat = (a <= FLAT_EPS * h * w) | (b <= FLAT_EPS * h * w)
    den = _cal_torch.sqrt(_cal_torch.where(flat, _cal_torch.ones_like(a), a * b))
    return _cal_torch.where(flat, _cal_torch.zeros_like(num), num / den).to(dtype)
'''

ZNCC_LOOP = '''
import torch as _cal_torch

from .template import _check as _cal_check


def zncc(image, template):
    _cal_check(image, template)
    dtype = _cal_torch.promote_types(image.dtype, template.dtype)
    img, tpl = image.double(), template.double()
    h, w = tpl.shape
    tz = tpl - tpl.mean()
    b = float((tz * tz).sum())
    out = _cal_torch.zeros(img.shape[0] - h + 1, img.shape[1] - w + 1, dtype=_cal_torch.float64)
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            wz = img[y:y + h, x:x + w] - img[y:y + h, x:x + w].mean()
            a = float((wz * wz).sum())
            if a > FLAT_EPS * h * w and b > FLAT_EPS * h * w:
                out[y, x] = float((wz * tz).sum()) / (a * b) ** 0.5
    return out.to(dtype)
'''

HAAR_BY_COLUMN = '''
import torch as _cal_torch

from .haar import _check_ii as _cal_ii, _check_rects as _cal_rects


def haar_features(ii, rects, signs):
    _cal_ii(ii)
    _cal_rects(rects, (4, 4))
    if not isinstance(signs, _cal_torch.Tensor) or tuple(signs.shape) != (rects.shape[0], 4):
        raise ValueError("signs must have shape [K, 4]")
    r, c, h, w = rects.unbind(-1)
    if bool(((r + h > ii.shape[-2] - 1) | (c + w > ii.shape[-1] - 1)).any()):
        raise ValueError("a rectangle is not inside the image")
    ii = ii.double()
    out = _cal_torch.zeros(*ii.shape[:-2], rects.shape[0], dtype=_cal_torch.float64)
    for k in range(4):
        r, c, h, w = rects[:, k].unbind(-1)
        out += signs[:, k] * (ii[..., r + h, c + w] - ii[..., r, c + w] - ii[..., r + h, c] + ii[..., r, c])
    return out
'''

HAAR_LOOP = '''
import torch as _cal_torch

from .haar import _check_ii as _cal_ii, _check_rects as _cal_rects


def haar_features(ii, rects, signs):
    _cal_ii(ii)
    _cal_rects(rects, (4, 4))
    if not isinstance(signs, _cal_torch.Tensor) or tuple(signs.shape) != (rects.shape[0], 4):
        raise ValueError("signs must have shape [K, 4]")
    r, c, h, w = rects.unbind(-1)
    if bool(((r + h > ii.shape[-2] - 1) | (c + w > ii.shape[-1] - 1)).any()):
        raise ValueError("a rectangle is not inside the image")
    ii = ii.double()
    image = ii[..., 1:, 1:] - ii[..., :-1, 1:] - ii[..., 1:, :-1] + ii[..., :-1, :-1]
    out = _cal_torch.zeros(*ii.shape[:-2], rects.shape[0], dtype=_cal_torch.float64)
    for k, (feature, sign) in enumerate(zip(rects.tolist(), signs.tolist())):
        for (r, c, h, w), s in zip(feature, sign):
            if s != 0:
                out[..., k] += s * image[..., r:r + h, c:c + w].sum((-2, -1))
    return out
'''


def zncc_alternatives() -> dict:
    return {
        "fft": {"kind": "documented", "doc": "README: ZNCC by the FFT and window sums", "source": ZNCC_FFT},
        "unfold": {"kind": "documented", "doc": "README: every window unfolded into a row, one matrix product",
                   "source": ZNCC_UNFOLD},
        "position_loop": {"kind": "naive", "doc": "a Python loop over the positions", "source": ZNCC_LOOP},
    }


def haar_alternatives() -> dict:
    return {
        "by_rectangle": {"kind": "documented", "doc": "README: four corner look-ups per rectangle slot, vectorised",
                         "source": HAAR_BY_COLUMN},
        "feature_loop": {"kind": "naive", "doc": "a Python loop over the features, pixel sums without the integral "
                         "image", "source": HAAR_LOOP},
    }
