"""Template matching: SSD, NCC and ZNCC score maps over every valid position, direct and by FFT.

Conventions (pinned; the tests check them):

* ``image`` is ``Tensor[H, W]`` and ``template`` ``Tensor[h, w]`` with ``1 <= h <= H`` and
  ``1 <= w <= W``; the score map is ``Tensor[H - h + 1, W - w + 1]``: entry ``[y, x]`` scores
  the window whose top-left pixel is ``image[y, x]`` (OpenCV's ``matchTemplate`` layout: "valid"
  positions only, no padding).
* float32 / float64 inputs (mixed: the promoted dtype); the result has the promoted dtype. The
  sums are computed in float64 internally, so float32 results are float64 results rounded once.
* ``ssd``  = ``sum (I - T)^2``                                    (``cv2.TM_SQDIFF``),
  ``ncc``  = ``sum I T / sqrt(sum I^2 * sum T^2)``                 (``cv2.TM_CCORR_NORMED``),
  ``zncc`` = ``sum (I - mean I)(T - mean T) / sqrt(sum (I - mean I)^2 * sum (T - mean T)^2)``
  (``cv2.TM_CCOEFF_NORMED`` and ``skimage.feature.match_template``), the sums over the window.
* Flat windows: where the denominator's window factor (``sum I^2`` for ncc, ``sum (I - mean I)^2``
  for zncc) or the template's factor is ``<= FLAT_EPS * h * w``, the score is ``0``
  (scikit-image's convention; OpenCV returns other values there).
* :func:`best_match` returns ``(x, y)`` like ``cv2.minMaxLoc`` (column first!): the minimum of an
  SSD map, the maximum of an NCC / ZNCC map, the first in row-major order on ties.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["ssd", "ncc", "zncc", "match_template_fft", "best_match", "FLAT_EPS", "METHODS"]

#: per-pixel threshold below which a window (or the template) counts as flat (score 0)
FLAT_EPS = 1e-10
#: the score names accepted by :func:`match_template_fft` and :func:`best_match`
METHODS = ("ssd", "ncc", "zncc")

# BEGIN SOLUTION
_FLOATS = (torch.float32, torch.float64)


def _check(image: object, template: object) -> torch.dtype:
    for name, t in (("image", image), ("template", template)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dtype not in _FLOATS:
            raise TypeError(f"{name} must be float32 or float64, got {t.dtype}")
        if t.dim() != 2:
            raise ValueError(f"{name} must be 2-D [H, W], got shape {list(t.shape)}")
        if t.numel() == 0:
            raise ValueError(f"{name} must not be empty, got shape {list(t.shape)}")
    if template.shape[0] > image.shape[0] or template.shape[1] > image.shape[1]:
        raise ValueError(f"template {list(template.shape)} must not be larger than image {list(image.shape)}")
    return torch.promote_types(image.dtype, template.dtype)


def _window_sums(image: Tensor, h: int, w: int) -> Tensor:
    """Sum of every h x w window (valid positions), via a zero-padded integral image."""
    ii = torch.nn.functional.pad(image.cumsum(0).cumsum(1), (1, 0, 1, 0))  # [H + 1, W + 1]
    return ii[h:, w:] - ii[:-h, w:] - ii[h:, :-w] + ii[:-h, :-w]  # [H - h + 1, W - w + 1]


def _shift_sum(image: Tensor, weights: Tensor, oh: int, ow: int) -> Tensor:
    """``out[y, x] = sum_{dy, dx} weights[dy, dx] * image[y + dy, x + dx]``: one vectorised
    multiply-add per template pixel (the direct correlation)."""
    out = image.new_zeros(oh, ow)
    for dy in range(weights.shape[0]):
        for dx in range(weights.shape[1]):
            out += weights[dy, dx] * image[dy:dy + oh, dx:dx + ow]
    return out


def _normalised(num: Tensor, window: Tensor, tmpl: Tensor, n: int) -> Tensor:
    flat = (window <= FLAT_EPS * n) | (tmpl <= FLAT_EPS * n)
    den = torch.sqrt(torch.where(flat, torch.ones_like(window), window * tmpl))
    return torch.where(flat, torch.zeros_like(num), num / den)
# END SOLUTION


def ssd(image: Tensor, template: Tensor) -> Tensor:
    """Sum of squared differences at every valid position (``cv2.TM_SQDIFF``), computed directly.

    Args:
        image (Tensor[H, W]): float32 or float64.
        template (Tensor[h, w]): float32 or float64, ``1 <= h <= H``, ``1 <= w <= W``.

    Returns:
        Tensor[H - h + 1, W - w + 1]: ``sum_{i, j} (image[y + i, x + j] - template[i, j])^2`` at
        ``[y, x]``, in the promoted dtype.

    Raises:
        TypeError: if an input is not a float32 / float64 tensor.
        ValueError: if an input is not 2-D, is empty, or the template is larger than the image.
    """
    # BEGIN SOLUTION
    dtype = _check(image, template)
    img, tpl = image.double(), template.double()
    h, w = tpl.shape
    oh, ow = img.shape[0] - h + 1, img.shape[1] - w + 1
    out = img.new_zeros(oh, ow)
    for dy in range(h):
        for dx in range(w):
            out += (img[dy:dy + oh, dx:dx + ow] - tpl[dy, dx]) ** 2
    return out.to(dtype)
    # END SOLUTION


def ncc(image: Tensor, template: Tensor) -> Tensor:
    """Normalised cross-correlation at every valid position (``cv2.TM_CCORR_NORMED``).

    ``sum I T / sqrt(sum I^2 * sum T^2)`` over each window; ``0`` where the window's or the
    template's sum of squares is ``<= FLAT_EPS * h * w``.

    Args:
        image (Tensor[H, W]): float32 or float64.
        template (Tensor[h, w]): float32 or float64, ``1 <= h <= H``, ``1 <= w <= W``.

    Returns:
        Tensor[H - h + 1, W - w + 1]: scores in ``[-1, 1]``, in the promoted dtype.

    Raises:
        TypeError: if an input is not a float32 / float64 tensor.
        ValueError: if an input is not 2-D, is empty, or the template is larger than the image.
    """
    # BEGIN SOLUTION
    dtype = _check(image, template)
    img, tpl = image.double(), template.double()
    h, w = tpl.shape
    oh, ow = img.shape[0] - h + 1, img.shape[1] - w + 1
    num = _shift_sum(img, tpl, oh, ow)
    window = _shift_sum(img * img, torch.ones_like(tpl), oh, ow)
    return _normalised(num, window, (tpl * tpl).sum(), h * w).to(dtype)
    # END SOLUTION


def zncc(image: Tensor, template: Tensor) -> Tensor:
    """Zero-mean normalised cross-correlation at every valid position (``cv2.TM_CCOEFF_NORMED``,
    ``skimage.feature.match_template``).

    ``sum (I - mean I)(T - mean T) / sqrt(sum (I - mean I)^2 * sum (T - mean T)^2)`` over each
    window, the means taken over the window and the template; ``0`` where either sum of squared
    deviations is ``<= FLAT_EPS * h * w``. Unchanged when the image becomes ``a * image + b``
    (``a > 0``): the score that survives brightness and contrast changes.

    Args:
        image (Tensor[H, W]): float32 or float64.
        template (Tensor[h, w]): float32 or float64, ``1 <= h <= H``, ``1 <= w <= W``.

    Returns:
        Tensor[H - h + 1, W - w + 1]: scores in ``[-1, 1]``, in the promoted dtype.

    Raises:
        TypeError: if an input is not a float32 / float64 tensor.
        ValueError: if an input is not 2-D, is empty, or the template is larger than the image.
    """
    # BEGIN SOLUTION
    dtype = _check(image, template)
    img, tpl = image.double(), template.double()
    h, w = tpl.shape
    n = h * w
    oh, ow = img.shape[0] - h + 1, img.shape[1] - w + 1
    tz = tpl - tpl.mean()
    num = _shift_sum(img, tz, oh, ow)  # sum (T - mean T) I = sum (T - mean T)(I - mean I)
    mean = _shift_sum(img, torch.ones_like(tpl), oh, ow) / n  # [oh, ow]
    window = img.new_zeros(oh, ow)
    for dy in range(h):
        for dx in range(w):
            window += (img[dy:dy + oh, dx:dx + ow] - mean) ** 2
    return _normalised(num, window, (tz * tz).sum(), n).to(dtype)
    # END SOLUTION


def match_template_fft(image: Tensor, template: Tensor, method: str = "zncc") -> Tensor:
    """The score map of :func:`ssd`, :func:`ncc` or :func:`zncc`, computed with the FFT.

    The correlation ``sum_{i, j} T[i, j] I[y + i, x + j]`` at every position is one product of
    spectra (``irfft2(rfft2(I) * conj(rfft2(T zero-padded to H x W)))``, no wrap-around at valid
    positions); the window sums of ``I`` and ``I^2`` come from integral images. Equal to the
    direct functions up to round-off (float64 inside).

    Args:
        image (Tensor[H, W]): float32 or float64.
        template (Tensor[h, w]): float32 or float64, ``1 <= h <= H``, ``1 <= w <= W``.
        method (str): ``"ssd"``, ``"ncc"`` or ``"zncc"``.

    Returns:
        Tensor[H - h + 1, W - w + 1]: the score map, in the promoted dtype. For ``"ssd"`` the
        map is clamped at 0 (round-off of the FFT sums must not make a score negative).

    Raises:
        TypeError: if an input is not a float32 / float64 tensor.
        ValueError: if ``method`` is unknown, an input is not 2-D, is empty, or the template is
            larger than the image.
    """
    # BEGIN SOLUTION
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    dtype = _check(image, template)
    img, tpl = image.double(), template.double()
    H, W = img.shape
    h, w = tpl.shape
    n = h * w
    oh, ow = H - h + 1, W - w + 1
    spec_t = torch.fft.rfft2(tpl, s=(H, W))
    spec_i = torch.fft.rfft2(img)

    def corr(t_spec: Tensor) -> Tensor:
        return torch.fft.irfft2(spec_i * t_spec.conj(), s=(H, W))[:oh, :ow]  # [oh, ow]

    sum_i = _window_sums(img, h, w)  # [oh, ow]
    sum_ii = _window_sums(img * img, h, w)  # [oh, ow]
    if method == "ssd":
        out = sum_ii - 2 * corr(spec_t) + (tpl * tpl).sum()
        return out.clamp(min=0).to(dtype)
    if method == "ncc":
        return _normalised(corr(spec_t), sum_ii.clamp(min=0), (tpl * tpl).sum(), n).to(dtype)
    tz = tpl - tpl.mean()
    num = corr(torch.fft.rfft2(tz, s=(H, W)))
    window = (sum_ii - sum_i * sum_i / n).clamp(min=0)
    return _normalised(num, window, (tz * tz).sum(), n).to(dtype)
    # END SOLUTION


def best_match(scores: Tensor, method: str) -> tuple[int, int]:
    """Location of the best score, as ``cv2.minMaxLoc`` reports it: ``(x, y)`` = (column, row).

    Args:
        scores (Tensor[Ho, Wo]): a score map of :func:`ssd` / :func:`ncc` / :func:`zncc`.
        method (str): ``"ssd"`` (best = smallest) or ``"ncc"`` / ``"zncc"`` (best = largest).

    Returns:
        tuple[int, int]: ``(x, y)`` with ``scores[y, x]`` the best score; the first in row-major
        order among equal scores.

    Raises:
        ValueError: if ``method`` is unknown or ``scores`` is not a non-empty 2-D tensor.
    """
    # BEGIN SOLUTION
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(scores, Tensor) or scores.dim() != 2 or scores.numel() == 0:
        shape = list(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise ValueError(f"scores must be a non-empty 2-D tensor, got {shape}")
    flat = scores.reshape(-1)
    best = flat.min() if method == "ssd" else flat.max()
    index = int((flat == best).nonzero()[0, 0])
    return index % scores.shape[1], index // scores.shape[1]
    # END SOLUTION
