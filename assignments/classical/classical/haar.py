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

from torch import Tensor

__all__ = ["integral_image", "rectangle_sums", "haar_feature_coords", "haar_features", "FEATURE_TYPES"]

#: the five feature types, in scikit-image's names and order
FEATURE_TYPES = ("type-2-x", "type-2-y", "type-3-x", "type-3-y", "type-4")


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
    raise NotImplementedError("integral_image: implement me (see README.md, section `integral`)")


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
    raise NotImplementedError("rectangle_sums: implement me (see README.md, section `integral`)")


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
    raise NotImplementedError("haar_feature_coords: implement me (see README.md, section `haar`)")


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
    raise NotImplementedError("haar_features: implement me (see README.md, section `haar`)")
