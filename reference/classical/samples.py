"""Builds the bundled sample submissions of `classical` for `nox -s demo` (and the project's tests).

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``, so the samples follow the reference as it evolves. They live on the
trusted side (reference/) because they contain solution code. Part A (template matching, Haar,
Viola-Jones) and part B (HOG, SVM, DPM, proposals) each add their pieces to the variants below.

    python reference/classical/samples.py --out /tmp/samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "classical"
STUB = HERE.parent.parent / "assignments" / "classical" / "classical"

# --- part A ---------------------------------------------------------------------------------
# A partly correct submission: scikit-image's integral image (no zero row and column) used with
# the four-corner formula of the zero-padded one, and a cascade that was never written.
PARTIAL_A = '''
# --- a partly correct submission (part A) ----------------------------------------------------
def integral_image(image):
    return image.double().cumsum(-2).cumsum(-1)  # no zero row / column: every sum is shifted


def train_cascade(features, labels, stage_rounds, min_detection_rate=0.99):
    raise NotImplementedError("train_cascade: not done yet")
'''

# Correct, but ZNCC loops over every position in Python: the speed check scores zero.
SLOW_A = '''
# --- a correct but slow submission (part A) --------------------------------------------------
from .template import _check as _slow_check


def zncc(image, template):
    _slow_check(image, template)
    dtype = torch.promote_types(image.dtype, template.dtype)
    img, tpl = image.double(), template.double()
    h, w = tpl.shape
    tz = tpl - tpl.mean()
    b = float((tz * tz).sum())
    out = torch.zeros(img.shape[0] - h + 1, img.shape[1] - w + 1, dtype=torch.float64)
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            wz = img[y:y + h, x:x + w] - img[y:y + h, x:x + w].mean()
            a = float((wz * wz).sum())
            if a > FLAT_EPS * h * w and b > FLAT_EPS * h * w:
                out[y, x] = float((wz * tz).sum()) / (a * b) ** 0.5
    return out.to(dtype)
'''

# The typical AdaBoost mistake: the weights of the *misclassified* samples are multiplied by
# beta (< 1), so every round concentrates on the easy samples. Unit tests and the trained
# detector's accuracy both suffer (README.md, "Calibration (part A)").
MISTAKE_A = '''
# --- a typical mistake (part A) --------------------------------------------------------------
from . import boosting as _boosting


def adaboost(features, labels, num_rounds, weights=None):
    n_pos = int(labels.sum())
    n_neg = labels.shape[0] - n_pos
    one = torch.ones(labels.shape[0], dtype=torch.float64)
    w = torch.where(labels == 1, one / (2 * n_pos), one / (2 * n_neg)) if weights is None else weights.double()
    out = {"feature": [], "threshold": [], "polarity": [], "alpha": [], "error": []}
    import math as _math
    for _ in range(num_rounds):
        w = w / w.sum()
        j, thr, pol, err = fit_stump(features, labels, w)
        e = min(max(err, EPS_ERROR), 1.0 - EPS_ERROR)
        beta = e / (1.0 - e)
        wrong = stump_predict(features, j, thr, pol) != labels
        w = torch.where(wrong, w * beta, w)  # BUG: should shrink the correctly classified ones
        for key, v in (("feature", j), ("threshold", thr), ("polarity", pol), ("alpha", _math.log(1.0 / beta)),
                       ("error", err)):
            out[key].append(v)
    return {"feature": torch.tensor(out["feature"], dtype=torch.int64),
            "threshold": torch.tensor(out["threshold"], dtype=torch.float64),
            "polarity": torch.tensor(out["polarity"], dtype=torch.int64),
            "alpha": torch.tensor(out["alpha"], dtype=torch.float64),
            "error": torch.tensor(out["error"], dtype=torch.float64)}


_boosting.adaboost = adaboost  # train_cascade and train_face_detector call it through the module
'''

# --- part B ---------------------------------------------------------------------------------
# A partly correct submission: HOG cells summed instead of averaged (every HOG test whose
# normalisation does not hide the scale fails), and the selective-search grouping never written.
PARTIAL_B = '''
# --- a partly correct submission (part B) ----------------------------------------------------
import sys as _sys_b

_hog_b = _sys_b.modules[__name__ + ".hog"]
_cal_cell_histograms = _hog_b.cell_histograms


def cell_histograms(image, orientations=9, pixels_per_cell=(8, 8)):
    cr, cc = (pixels_per_cell, pixels_per_cell) if isinstance(pixels_per_cell, int) else pixels_per_cell
    return _cal_cell_histograms(image, orientations, pixels_per_cell) * (cr * cc)  # a sum, not a mean


def grouping_step(colour, texture, sizes, boxes, pairs, image_size, weights=(1.0, 1.0, 1.0, 1.0)):
    raise NotImplementedError("grouping_step: not done yet")
'''

# Correct, but the distance transform is the brute force over every source position (O(n^2) per
# row, vectorised): the dpm task passes, the dpm_speed check scores zero.
SLOW_B = '''
# --- a correct but slow submission (part B) --------------------------------------------------
def distance_transform_2d(scores, ax=1.0, bx=0.0, ay=1.0, by=0.0):
    from .dpm import _check_coefficients as _cc_b, _check_scores as _cs_b
    _cs_b("scores", scores, 2)
    ax, bx = _cc_b(ax, bx, "x")
    ay, by = _cc_b(ay, by, "y")
    s = scores.double()
    h, w = s.shape
    if h == 0 or w == 0:
        z = torch.zeros(h, w, dtype=torch.int64)
        return scores.clone(), z, z.clone()

    def brute(f, a, b, chunk=32):  # f [R, n]: every position against every source, chunk by chunk
        r, n = f.shape
        q = torch.arange(n, dtype=torch.float64)
        d = torch.empty(r, n, dtype=torch.float64)
        arg = torch.empty(r, n, dtype=torch.int64)
        val = torch.empty(r, chunk, n, dtype=torch.float64)  # one buffer: no allocation per chunk
        for i in range(0, n, chunk):
            c = min(chunk, n - i)
            disp = q[None, :] - q[i:i + c, None]
            torch.sub(f[:, None, :], (a * disp * disp + b * disp)[None], out=val[:, :c])
            m, j = val[:, :c].max(dim=2)
            d[:, i:i + c] = m
            arg[:, i:i + c] = j
        return d, arg

    d1, a1 = brute(s, ax, bx)
    d2, qy = brute(d1.T.contiguous(), ay, by)
    qy = qy.T.contiguous()
    return d2.T.contiguous().to(scores.dtype), qy, a1.gather(0, qy)
'''

# Typical mistakes: SIGNED orientations in HOG (atan2 mod 360, binned as if over 180 degrees: the
# detector trained in the sandbox uses them too), and the deformation's linear term written with
# the displacement anchor - part (the sign of b flips).
MISTAKE_B = '''
# --- typical mistakes (part B) ---------------------------------------------------------------
import sys as _sys_b
import torch.nn.functional as _F_b

_hog_b = _sys_b.modules[__name__ + ".hog"]
_sliding_b = _sys_b.modules[__name__ + ".sliding"]
_dpm_b = _sys_b.modules[__name__ + ".dpm"]


def cell_histograms(image, orientations=9, pixels_per_cell=(8, 8)):
    cr, cc = (pixels_per_cell, pixels_per_cell) if isinstance(pixels_per_cell, int) else pixels_per_cell
    g_row, g_col = hog_gradients(image)
    mag = torch.hypot(g_row, g_col).double()
    theta = torch.rad2deg(torch.atan2(g_row, g_col)).double() % 360.0  # signed: the mistake
    bins = (theta / (180.0 / orientations)).long().clamp(0, orientations - 1)
    rows, cols = image.shape[0] // cr, image.shape[1] // cc
    votes = _F_b.one_hot(bins[:rows * cr, :cols * cc], orientations).double() * mag[:rows * cr, :cols * cc, None]
    return (votes.reshape(rows, cr, cols, cc, orientations).sum(dim=(1, 3)) / (cr * cc)).to(image.dtype)


_hog_b.cell_histograms = cell_histograms  # hog() and the detector call it through their modules
_sliding_b.cell_histograms = cell_histograms
_cal_dt1d = _dpm_b.distance_transform_1d


def distance_transform_1d(scores, a=1.0, b=0.0):
    return _cal_dt1d(scores, a, -b)  # displacement anchor - part: the linear term's sign flips
'''

# the variants: name -> (source package, extra code appended to __init__.py)
VARIANTS = {
    "s01_reference": ("reference", ""),
    "s02_stub": ("stub", ""),
    "s03_partial": ("reference", PARTIAL_A + PARTIAL_B),
    "s04_slow": ("reference", SLOW_A + SLOW_B),
    "s05_typical_mistake": ("reference", MISTAKE_A + MISTAKE_B),
}



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [sample_package(out / name, REFERENCE if src == "reference" else STUB, extra)
            for name, (src, extra) in VARIANTS.items()]



if __name__ == "__main__":
    samples_main(__doc__, build)
