"""Selective search's region similarities and one step of its hierarchical grouping.

Regions are given by a label map ``labels[H, W]`` (int64, every value in ``0 .. R - 1`` used).
For an RGB image in ``[0, 1]`` each region gets:

* a colour histogram: 25 bins per channel over ``[0, 1]`` (bin ``min(floor(25 v), 24)``), the three
  channels concatenated (R, G, B) and the 75 values L1-normalised together (they sum to 1);
* a texture histogram (a simplified SIFT-like descriptor): per channel, gradients with the kernel
  ``[-1, 0, 1]`` (0 on the border rows / columns, as :func:`classical.hog.hog_gradients`), the
  SIGNED orientation ``degrees(atan2(g_row, g_col)) mod 360`` in 8 bins of 45 degrees (hard
  binning), each pixel voting its gradient magnitude; 3 x 8 = 24 values L1-normalised together
  (all zero for a region without gradient). Every pixel votes, unlike HOG's rounding rule: an
  angle that computes to exactly 360.0 (a tiny negative ``g_row``) goes to bin 7 (bin 0 of its
  channel is accepted too);
* its size (pixels) and its box ``(x1, y1, x2, y2)`` = (min column, min row, max column + 1,
  max row + 1) (pixel-covering, no +1 in widths).

Similarities of two regions ``i, j`` in an image of ``A`` pixels (Uijlings et al., 2013)::

    s_colour  = sum_k min(c_i[k], c_j[k])            s_texture = sum_k min(t_i[k], t_j[k])
    s_size    = 1 - (size_i + size_j) / A
    s_fill    = 1 - (area(box_ij) - size_i - size_j) / A,   box_ij the box around both boxes

A merged region ``t = i u j`` gets ``c_t = (size_i c_i + size_j c_j) / (size_i + size_j)`` (the
same for the texture), ``size_t = size_i + size_j`` and ``box_t = box_ij``; it needs no pixel.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["COLOUR_BINS", "TEXTURE_BINS", "region_descriptors", "region_neighbours", "region_similarity",
           "grouping_step"]

COLOUR_BINS = 25  # per channel
TEXTURE_BINS = 8  # orientations per channel


def region_descriptors(image: Tensor, labels: Tensor) -> dict[str, Tensor]:
    """Colour and texture histograms, sizes and boxes of the regions of a label map.

    Computed in float64 whatever the image's dtype: a float32 value is binned by its exact
    float64 value (``float32(0.04) * 25`` is 0.99999998, bin 0, although float32 arithmetic
    rounds it to 1.0), and the gradients and their angles are float64 too.

    Args:
        image (Tensor[3, H, W]): float32 or float64 RGB in ``[0, 1]``.
        labels (Tensor[H, W]): int64 region ids, every value in ``0 .. R - 1`` used.

    Returns:
        dict: ``colour`` float64 ``[R, 75]``, ``texture`` float64 ``[R, 24]`` (formats in the
        module docstring), ``sizes`` int64 ``[R]``, ``boxes`` float64 ``[R, 4]``.

    Raises:
        TypeError: if ``image`` is not a float32 / float64 tensor.
        ValueError: if ``image`` is not ``[3, H, W]`` of the labels' size, has values outside
            ``[0, 1]``, or the labels are not as above.
    """
    raise NotImplementedError("region_descriptors: implement me (see README.md, section `proposals`)")


def region_neighbours(labels: Tensor) -> Tensor:
    """Pairs of regions that touch (4-connectivity: a pixel and its right or lower neighbour).

    Args:
        labels (Tensor[H, W]): int64 region ids, every value in ``0 .. R - 1`` used.

    Returns:
        Tensor[E, 2]: int64 pairs ``(i, j)`` with ``i < j``, each once, sorted by ``i`` then ``j``
        (``[0, 2]`` when there is a single region).

    Raises:
        ValueError: if the labels are not as above.
    """
    raise NotImplementedError("region_neighbours: implement me (see README.md, section `proposals`)")


def region_similarity(colour: Tensor, texture: Tensor, sizes: Tensor, boxes: Tensor, pairs: Tensor,
                      image_size: int) -> Tensor:
    """The four similarities of each pair (module docstring).

    Args:
        colour (Tensor[R, 75]), texture (Tensor[R, 24]): L1-normalised histograms (float).
        sizes (Tensor[R]): region sizes in pixels (int64 or float).
        boxes (Tensor[R, 4]): ``(x1, y1, x2, y2)`` (float).
        pairs (Tensor[E, 2]): int64 region pairs.
        image_size (int): ``A``, the image's number of pixels (> 0).

    Returns:
        Tensor[E, 4]: float64 columns ``(s_colour, s_texture, s_size, s_fill)``, computed in
        float64 whatever the input dtypes (histograms, sizes and boxes converted first).

    Raises:
        ValueError: if ``pairs`` is not int64 ``[E, 2]`` of ids in ``0 .. R - 1``, or
            ``image_size <= 0``.
    """
    raise NotImplementedError("region_similarity: implement me (see README.md, section `proposals`)")


def grouping_step(colour: Tensor, texture: Tensor, sizes: Tensor, boxes: Tensor, pairs: Tensor, image_size: int,
                  weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> dict[str, Tensor]:
    """One step of hierarchical grouping: merge the most similar neighbouring pair.

    The similarity of a pair is ``weights . (s_colour, s_texture, s_size, s_fill)``; the pair with
    the largest one is merged (the first in ``pairs`` order on a tie) into a new region ``t = R``
    appended to every array. The pairs that involve ``i`` or ``j`` are removed; the others keep
    their order, followed by ``(k, t)`` for every other region ``k`` that neighboured ``i`` or ``j``,
    by increasing ``k``.

    Args:
        colour, texture, sizes, boxes, pairs, image_size: as :func:`region_similarity`
            (``E >= 1``).
        weights (tuple of 4 floats): weights of the four similarities.

    Returns:
        dict: ``merged`` int64 ``[2]`` (the pair ``(i, j)``), ``colour`` float64 ``[R + 1, 75]``,
        ``texture`` float64 ``[R + 1, 24]``, ``sizes`` int64 ``[R + 1]``, ``boxes`` float64
        ``[R + 1, 4]``, ``pairs`` int64 ``[E', 2]`` and ``similarity`` float64 ``[E']`` (the
        weighted similarity of each new pair), computed in float64 whatever the input dtypes
        (as :func:`region_similarity`).

    Raises:
        ValueError: as :func:`region_similarity`, no pair, or ``weights`` not 4 numbers.
    """
    raise NotImplementedError("grouping_step: implement me (see README.md, section `proposals`)")
