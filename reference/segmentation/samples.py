"""Builds sample submissions of the segmentation assignment for demos and the project's tests.

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``. They live on the trusted side (reference/) because they contain
solution code.

    python reference/segmentation/samples.py --out /tmp/segmentation_samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "segmentation"
STUB = HERE.parent.parent / "assignments" / "segmentation" / "segmentation"

# Partly correct: the cross-entropy averages per image, then over images (not over all valid
# pixels of the batch), and the bilinear kernel puts its centre at f - 1 for every kernel size.
PARTIAL = '''
# --- a partly correct submission: per-image loss mean, off-centre bilinear kernel -----------------
from . import losses as _losses, transposed as _transposed

_reference_ce = pixel_cross_entropy


def pixel_cross_entropy(logits, target, *, ignore_index=255, reduction="mean"):
    if reduction != "mean":
        return _reference_ce(logits, target, ignore_index=ignore_index, reduction=reduction)
    per_pixel = _reference_ce(logits, target, ignore_index=ignore_index, reduction="none")
    valid = (target != ignore_index).to(per_pixel.dtype)
    return (per_pixel.sum((1, 2)) / valid.sum((1, 2))).mean()


def bilinear_kernel(channels, kernel_size, *, dtype=None):
    dtype = dtype or torch.get_default_dtype()
    factor = (kernel_size + 1) // 2
    centre = factor - 1
    og = torch.arange(kernel_size, dtype=torch.float64)
    g1 = 1 - (og - centre).abs() / factor
    w = torch.zeros(channels, channels, kernel_size, kernel_size, dtype=dtype)
    for c in range(channels):
        w[c, c] = (g1[:, None] * g1[None, :]).to(dtype)
    return w
'''

# Typical mistakes: mIoU that counts absent classes as IoU 0 (instead of leaving them out), and
# a transposed convolution that loops over input pixels (correct, far too slow).
TYPICAL = '''
# --- typical mistakes: absent classes count as 0 in mIoU, per-pixel transposed convolution ------
_reference_conv_transpose2d = conv_transpose2d


def mean_iou(confusion):
    m = confusion.double()
    tp = torch.diagonal(m)
    union = m.sum(0) + m.sum(1) - tp
    iou = tp / union.clamp(min=1)
    return iou.mean(), iou


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    _reference_conv_transpose2d(x[:, :, :1, :1], weight, bias, stride, padding, output_padding, dilation)  # checks
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    n, c_in, h, w = x.shape
    c_out, kh, kw = weight.shape[1:]
    full_h, full_w = (h - 1) * sh + dh * (kh - 1) + 1 + oph, (w - 1) * sw + dw * (kw - 1) + 1 + opw
    full = x.new_zeros(n, c_out, full_h, full_w)
    wmat = weight.reshape(c_in, -1)
    for b in range(n):
        for r in range(h):
            for c in range(w):
                patch = (x[b, :, r, c] @ wmat).reshape(c_out, kh, kw)
                full[b, :, r * sh:r * sh + dh * (kh - 1) + 1:dh, c * sw:c * sw + dw * (kw - 1) + 1:dw] += patch
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_typical_mistakes", REFERENCE, TYPICAL),
    ]



if __name__ == "__main__":
    samples_main(__doc__, build)
