"""Integral images, rectangle sums in O(1) and the five Haar-like feature types.

Conventions (pinned; the tests check them):

* The integral image has a zero first row and column (OpenCV's ``cv2.integral``; scikit-image's
  ``integral_image`` has none): ``ii[..., y, x] = sum(image[..., :y, :x])``, shape
  ``[..., H + 1, W + 1]``, float64. The sum of the rectangle with top-left ``(row, col)`` and size
  ``height x width`` is ``ii[r + h, c + w] - ii[r, c + w] - ii[r + h, c] + ii[r, c]``.
* A rectangle is ``(row, col, height, width)`` (int64). A Haar feature is up to four rectangles
  with signs; :func:`haar_feature_coords` pads every feature to four rectangles, the padding
  rectangles having sign 0 and size 0.
* The five types and their signs are scikit-image's (``haar_like_feature``): ``type-2-x``
  (left, right: ``right - left``), ``type-2-y`` (top, bottom: ``bottom - top``), ``type-3-x``
  (left, middle, right: ``middle - left - right``), ``type-3-y`` (top, middle, bottom), and
  ``type-4`` (top-left, top-right, bottom-right, bottom-left: ``TR + BL - TL - BR``); that is,
  signs ``-1, +1, -1, +1`` in rectangle order. Every rectangle of one feature has the same size.
* Feature order: scikit-image's ``haar_like_feature_coord``: the types in the order asked for,
  then, within a type, by top-left row, top-left column, rectangle height, rectangle width.
  A 24 x 24 window has 43200 + 43200 + 27600 + 27600 + 20736 = 162336 features.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor

__all__ = ["integral_image", "rectangle_sums", "haar_feature_coords", "haar_features", "FEATURE_TYPES"]

#: the five feature types, in scikit-image's names and order
FEATURE_TYPES = ("type-2-x", "type-2-y", "type-3-x", "type-3-y", "type-4")

# BEGIN SOLUTION
# (rectangles across, rectangles down) of each type; type-4 is 2 x 2
_GRID = {"type-2-x": (2, 1), "type-2-y": (1, 2), "type-3-x": (3, 1), "type-3-y": (1, 3), "type-4": (2, 2)}


def _check_ii(ii: object) -> None:
    if not isinstance(ii, Tensor):
        raise TypeError(f"ii must be a torch.Tensor, got {type(ii).__name__}")
    if ii.dim() < 2 or ii.shape[-1] < 1 or ii.shape[-2] < 1:
        raise ValueError(f"ii must be an integral image [..., H + 1, W + 1], got shape {list(ii.shape)}")


def _check_rects(rects: object, last: tuple[int, ...]) -> None:
    if not isinstance(rects, Tensor) or rects.dtype != torch.int64:
        got = rects.dtype if isinstance(rects, Tensor) else type(rects).__name__
        raise TypeError(f"rects must be an int64 tensor, got {got}")
    if tuple(rects.shape[1:]) != last:
        raise ValueError(f"rects must have shape [K, {', '.join(map(str, last))}], got {list(rects.shape)}")


def _corner_sums(ii: Tensor, r: Tensor, c: Tensor, h: Tensor, w: Tensor) -> Tensor:
    """Rectangle sums for index tensors of one shape S: ``Tensor[..., *S]``."""
    W1 = ii.shape[-1]
    flat = ii.reshape(*ii.shape[:-2], -1)  # [..., (H + 1)(W + 1)]

    def at(y: Tensor, x: Tensor) -> Tensor:
        idx = (y * W1 + x).reshape(-1)
        return flat[..., idx].reshape(*ii.shape[:-2], *y.shape)

    return at(r + h, c + w) - at(r, c + w) - at(r + h, c) + at(r, c)
# END SOLUTION


def integral_image(image: Tensor) -> Tensor:
    """Integral image with a zero first row and column (``cv2.integral``'s layout).

    Args:
        image (Tensor[..., H, W]): any real dtype (bool, integer or floating point); leading
            dimensions are a batch.

    Returns:
        Tensor[..., H + 1, W + 1]: float64, ``out[..., y, x] = image[..., :y, :x].sum()``; row 0
        and column 0 are zero. The image is converted to float64 before the sums.

    Raises:
        TypeError: if ``image`` is not a tensor or is complex.
        ValueError: if ``image`` has fewer than 2 dimensions.
    """
    # BEGIN SOLUTION
    if not isinstance(image, Tensor) or image.is_complex():
        got = image.dtype if isinstance(image, Tensor) else type(image).__name__
        raise TypeError(f"image must be a real torch.Tensor, got {got}")
    if image.dim() < 2:
        raise ValueError(f"image must have at least 2 dimensions [..., H, W], got shape {list(image.shape)}")
    ii = image.double().cumsum(-2).cumsum(-1)  # [..., H, W]
    return F.pad(ii, (1, 0, 1, 0))  # [..., H + 1, W + 1]
    # END SOLUTION


def rectangle_sums(ii: Tensor, rects: Tensor) -> Tensor:
    """Pixel sums of rectangles, four look-ups each (O(1) per rectangle).

    Args:
        ii (Tensor[..., H + 1, W + 1]): an integral image of :func:`integral_image`.
        rects (Tensor[K, 4]): int64 ``(row, col, height, width)``, inside the image:
            ``0 <= row``, ``0 <= col``, ``height >= 0``, ``width >= 0``, ``row + height <= H``,
            ``col + width <= W``.

    Returns:
        Tensor[..., K]: float64 sums (0 for an empty rectangle).

    Raises:
        TypeError: if ``rects`` is not int64 or ``ii`` not a tensor.
        ValueError: if ``rects`` is not ``[K, 4]``, ``ii`` has fewer than 2 dimensions, or a
            rectangle leaves the image.
    """
    # BEGIN SOLUTION
    _check_ii(ii)
    _check_rects(rects, (4,))
    r, c, h, w = rects.unbind(-1)  # 4 x [K]
    H, W = ii.shape[-2] - 1, ii.shape[-1] - 1
    bad = (r < 0) | (c < 0) | (h < 0) | (w < 0) | (r + h > H) | (c + w > W)
    if bool(bad.any()):
        k = int(bad.nonzero()[0, 0])
        raise ValueError(f"rects[{k}] = {rects[k].tolist()} is not inside the {H} x {W} image")
    return _corner_sums(ii.double(), r, c, h, w)  # [..., K]
    # END SOLUTION


def haar_feature_coords(height: int, width: int, feature_types: str | list[str] | None = None) -> tuple[Tensor, Tensor]:
    """Every Haar-like feature of a ``height x width`` window, in scikit-image's order.

    Args:
        height (int): window height, ``>= 1``.
        width (int): window width, ``>= 1``.
        feature_types (str | list[str] | None): one of :data:`FEATURE_TYPES`, a list of them
            (features come type by type in the list's order), or ``None`` for all five in the
            order of :data:`FEATURE_TYPES`.

    Returns:
        tuple[Tensor, Tensor]: ``rects`` int64 ``[K, 4, 4]`` (per feature, four rectangles
        ``(row, col, height, width)``; two- and three-rectangle features are padded with
        ``(0, 0, 0, 0)``) and ``signs`` float64 ``[K, 4]`` (``-1, +1, -1, +1`` on the real
        rectangles, 0 on the padding).

    Raises:
        ValueError: if ``height`` or ``width`` is below 1 or a feature type is unknown.
    """
    # BEGIN SOLUTION
    for name, v in (("height", height), ("width", width)):
        if type(v) is not int or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    if feature_types is None:
        types = list(FEATURE_TYPES)
    elif isinstance(feature_types, str):
        types = [feature_types]
    else:
        types = list(feature_types)
    for t in types:
        if t not in _GRID:
            raise ValueError(f"feature type must be one of {FEATURE_TYPES}, got {t!r}")
    all_rects, all_signs = [], []
    for t in types:
        nx, ny = _GRID[t]
        y, x, dy, dx = torch.meshgrid(torch.arange(height), torch.arange(width), torch.arange(1, height + 1),
                                      torch.arange(1, width + 1), indexing="ij")
        keep = (y + ny * dy <= height) & (x + nx * dx <= width)
        y, x, dy, dx = y[keep], x[keep], dy[keep], dx[keep]  # [K] each, in (y, x, dy, dx) order
        if t == "type-4":
            offsets = [(0, 0), (0, 1), (1, 1), (1, 0)]  # TL, TR, BR, BL as (down, across)
        else:
            offsets = [(i, 0) if nx == 1 else (0, i) for i in range(max(nx, ny))]
        rects = torch.zeros(y.shape[0], 4, 4, dtype=torch.int64)
        signs = torch.zeros(y.shape[0], 4, dtype=torch.float64)
        for k, (down, across) in enumerate(offsets):
            rects[:, k] = torch.stack([y + down * dy, x + across * dx, dy, dx], dim=1)
            signs[:, k] = -1.0 if k % 2 == 0 else 1.0
        all_rects.append(rects)
        all_signs.append(signs)
    return torch.cat(all_rects), torch.cat(all_signs)
    # END SOLUTION


def haar_features(ii: Tensor, rects: Tensor, signs: Tensor) -> Tensor:
    """Haar-like feature values from an integral image: signed sums of rectangle sums.

    Args:
        ii (Tensor[..., H + 1, W + 1]): integral image(s) of :func:`integral_image`.
        rects (Tensor[K, 4, 4]): int64 rectangles of :func:`haar_feature_coords`, inside the image.
        signs (Tensor[K, 4]): float64 signs of :func:`haar_feature_coords`.

    Returns:
        Tensor[..., K]: float64, ``sum_r signs[k, r] * rectangle_sum(rects[k, r])``.

    Raises:
        TypeError: if ``rects`` is not int64 or ``ii`` not a tensor.
        ValueError: if the shapes disagree or a rectangle leaves the image.
    """
    # BEGIN SOLUTION
    _check_ii(ii)
    _check_rects(rects, (4, 4))
    if not isinstance(signs, Tensor) or tuple(signs.shape) != (rects.shape[0], 4):
        got = list(signs.shape) if isinstance(signs, Tensor) else type(signs).__name__
        raise ValueError(f"signs must have shape [{rects.shape[0]}, 4], got {got}")
    sums = rectangle_sums(ii, rects.reshape(-1, 4)).reshape(*ii.shape[:-2], rects.shape[0], 4)  # [..., K, 4]
    return (sums * signs.double()).sum(-1)  # [..., K]
    # END SOLUTION
