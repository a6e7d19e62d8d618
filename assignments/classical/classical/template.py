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

from torch import Tensor

__all__ = ["ssd", "ncc", "zncc", "match_template_fft", "best_match", "FLAT_EPS", "METHODS"]

#: per-pixel threshold below which a window (or the template) counts as flat (score 0)
FLAT_EPS = 1e-10
#: the score names accepted by :func:`match_template_fft` and :func:`best_match`
METHODS = ("ssd", "ncc", "zncc")


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
    raise NotImplementedError("ssd: implement me (see README.md, section `template`)")


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
    raise NotImplementedError("ncc: implement me (see README.md, section `template`)")


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
    raise NotImplementedError("zncc: implement me (see README.md, section `template`)")


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
    raise NotImplementedError("match_template_fft: implement me (see README.md, section `template_fft`)")


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
    raise NotImplementedError("best_match: implement me (see README.md, section `template`)")
