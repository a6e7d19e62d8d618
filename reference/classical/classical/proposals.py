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

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["COLOUR_BINS", "TEXTURE_BINS", "region_descriptors", "region_neighbours", "region_similarity",
           "grouping_step"]

COLOUR_BINS = 25  # per channel
TEXTURE_BINS = 8  # orientations per channel

# BEGIN SOLUTION


def _check_labels(labels: object) -> int:
    if not isinstance(labels, Tensor) or labels.dtype != torch.int64 or labels.dim() != 2:
        raise ValueError(f"labels must be an int64 Tensor[H, W], got {getattr(labels, 'dtype', type(labels).__name__)} "
                         f"{list(getattr(labels, 'shape', []))}")
    if labels.numel() == 0:
        raise ValueError(f"labels must hold at least one pixel, got shape {list(labels.shape)}")
    if int(labels.min()) < 0:
        raise ValueError(f"labels must be >= 0, got {int(labels.min())}")
    num = int(labels.max()) + 1
    present = torch.bincount(labels.reshape(-1), minlength=num) > 0
    if not bool(present.all()):
        missing = (~present).nonzero()[:, 0].tolist()[:5]
        raise ValueError(f"labels must use every region 0 .. {num - 1}; missing {missing}")
    return num


def _l1(h: Tensor) -> Tensor:
    total = h.sum(dim=1, keepdim=True)  # [R, 1]
    return torch.where(total > 0, h / torch.where(total > 0, total, torch.ones_like(total)), torch.zeros_like(h))


def _region_sum(flat_labels: Tensor, bins: Tensor, weights: Tensor, num: int, nbins: int) -> Tensor:
    """[num, nbins] sums of ``weights`` per (region, bin)."""
    out = torch.zeros(num * nbins, dtype=torch.float64)
    out.index_add_(0, flat_labels * nbins + bins, weights)
    return out.reshape(num, nbins)
# END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(image, Tensor) or image.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"image must be a float32 or float64 Tensor[3, H, W], got "
                        f"{getattr(image, 'dtype', type(image).__name__)}")
    num = _check_labels(labels)
    height, width = labels.shape
    if image.dim() != 3 or image.shape[0] != 3 or tuple(image.shape[1:]) != (height, width):
        raise ValueError(f"image must be [3, {height}, {width}] (the labels' size), got {list(image.shape)}")
    if bool((image < 0).any()) or bool((image > 1).any()):
        raise ValueError(f"image values must lie in [0, 1], got [{float(image.min()):g}, {float(image.max()):g}]")
    img = image.double()
    flat = labels.reshape(-1)  # [HW]
    colour, texture = [], []
    for ch in range(3):
        v = img[ch].reshape(-1)  # [HW]
        cbin = (v * COLOUR_BINS).floor().long().clamp(max=COLOUR_BINS - 1)
        colour.append(_region_sum(flat, cbin, torch.ones_like(v), num, COLOUR_BINS))
        g_row = torch.zeros_like(img[ch])
        g_col = torch.zeros_like(img[ch])
        g_row[1:-1, :] = img[ch, 2:, :] - img[ch, :-2, :]
        g_col[:, 1:-1] = img[ch, :, 2:] - img[ch, :, :-2]
        theta = torch.rad2deg(torch.atan2(g_row, g_col)).reshape(-1) % 360.0  # [HW]
        tbin = (theta / (360.0 / TEXTURE_BINS)).floor().long().clamp(0, TEXTURE_BINS - 1)
        texture.append(_region_sum(flat, tbin, torch.hypot(g_row, g_col).reshape(-1), num, TEXTURE_BINS))
    sizes = torch.bincount(flat, minlength=num)  # [R]
    rows = torch.arange(height)[:, None].expand(height, width).reshape(-1)
    cols = torch.arange(width)[None, :].expand(height, width).reshape(-1)
    big = height + width
    x1 = torch.full((num,), big, dtype=torch.int64).scatter_reduce(0, flat, cols, "amin")
    y1 = torch.full((num,), big, dtype=torch.int64).scatter_reduce(0, flat, rows, "amin")
    x2 = torch.full((num,), -1, dtype=torch.int64).scatter_reduce(0, flat, cols, "amax") + 1
    y2 = torch.full((num,), -1, dtype=torch.int64).scatter_reduce(0, flat, rows, "amax") + 1
    return {"colour": _l1(torch.cat(colour, dim=1)), "texture": _l1(torch.cat(texture, dim=1)),
            "sizes": sizes, "boxes": torch.stack([x1, y1, x2, y2], dim=1).double()}
    # END SOLUTION


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
    # BEGIN SOLUTION
    num = _check_labels(labels)
    a = torch.cat([labels[:, :-1].reshape(-1), labels[:-1, :].reshape(-1)])
    b = torch.cat([labels[:, 1:].reshape(-1), labels[1:, :].reshape(-1)])
    differ = a != b
    lo, hi = torch.minimum(a[differ], b[differ]), torch.maximum(a[differ], b[differ])
    keys = torch.unique(lo * num + hi)  # sorted
    return torch.stack([keys // num, keys % num], dim=1).reshape(-1, 2)
    # END SOLUTION


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
    # BEGIN SOLUTION
    num = colour.shape[0]
    if not isinstance(pairs, Tensor) or pairs.dtype != torch.int64 or pairs.dim() != 2 or pairs.shape[1] != 2:
        raise ValueError(f"pairs must be an int64 Tensor[E, 2], got {getattr(pairs, 'dtype', None)} "
                         f"{list(getattr(pairs, 'shape', []))}")
    if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= num):
        raise ValueError(f"pairs must hold region ids in 0 .. {num - 1}, got [{int(pairs.min())}, {int(pairs.max())}]")
    if not isinstance(image_size, (int, float)) or isinstance(image_size, bool) or not image_size > 0:
        raise ValueError(f"image_size must be a number of pixels > 0, got {image_size!r}")
    i, j = pairs[:, 0], pairs[:, 1]
    s_colour = torch.minimum(colour[i].double(), colour[j].double()).sum(dim=1)  # [E]
    s_texture = torch.minimum(texture[i].double(), texture[j].double()).sum(dim=1)  # [E]
    si, sj = sizes[i].double(), sizes[j].double()
    s_size = 1.0 - (si + sj) / image_size
    bi, bj = boxes[i].double(), boxes[j].double()
    union = torch.cat([torch.minimum(bi[:, :2], bj[:, :2]), torch.maximum(bi[:, 2:], bj[:, 2:])], dim=1)  # [E, 4]
    area = (union[:, 2] - union[:, 0]) * (union[:, 3] - union[:, 1])
    s_fill = 1.0 - (area - si - sj) / image_size
    return torch.stack([s_colour, s_texture, s_size, s_fill], dim=1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(pairs, Tensor) or pairs.dim() != 2 or pairs.shape[0] == 0:
        raise ValueError(f"pairs must hold at least one pair, got {list(getattr(pairs, 'shape', []))}")
    if len(weights) != 4:
        raise ValueError(f"weights must be 4 numbers (colour, texture, size, fill), got {weights!r}")
    w = torch.tensor([float(v) for v in weights], dtype=torch.float64)
    sim = region_similarity(colour, texture, sizes, boxes, pairs, image_size) @ w  # [E]
    best = int(torch.argmax(sim))  # the first maximum
    i, j = (int(v) for v in pairs[best].tolist())
    t = colour.shape[0]
    si, sj = sizes[i].double(), sizes[j].double()
    c_t = (si * colour[i].double() + sj * colour[j].double()) / (si + sj)
    t_t = (si * texture[i].double() + sj * texture[j].double()) / (si + sj)
    b_t = torch.cat([torch.minimum(boxes[i, :2], boxes[j, :2]), torch.maximum(boxes[i, 2:], boxes[j, 2:])]).double()
    new_colour = torch.cat([colour.double(), c_t[None]])
    new_texture = torch.cat([texture.double(), t_t[None]])
    new_sizes = torch.cat([sizes.long(), (sizes[i] + sizes[j]).long().reshape(1)])
    new_boxes = torch.cat([boxes.double(), b_t[None]])
    touches = (pairs == i) | (pairs == j)  # [E, 2]
    involved = touches.any(dim=1)
    kept = pairs[~involved]
    others = pairs[involved][~touches[involved]]  # the partner of i or j in each removed pair (none for (i, j))
    neighbours = torch.unique(others)  # sorted
    added = torch.stack([neighbours, torch.full_like(neighbours, t)], dim=1).reshape(-1, 2)
    new_pairs = torch.cat([kept, added])
    new_sim = region_similarity(new_colour, new_texture, new_sizes, new_boxes, new_pairs, image_size) @ w
    return {"merged": torch.tensor([i, j], dtype=torch.int64), "colour": new_colour, "texture": new_texture,
            "sizes": new_sizes, "boxes": new_boxes, "pairs": new_pairs, "similarity": new_sim}
    # END SOLUTION
