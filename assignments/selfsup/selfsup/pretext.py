"""Pretext tasks: rotation prediction, jigsaw puzzles and colorization (task `pretext`)."""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

__all__ = ["rotate_batch", "hamming_permutations", "jigsaw_tiles", "rgb_to_lab", "quantize_ab",
           "ab_bin_centres"]


def rotate_batch(images: Tensor) -> tuple[Tensor, Tensor]:
    """All four rotations of every image, labelled by the number of quarter turns.

    Label ``k`` is ``torch.rot90(x, k, dims=(-2, -1))``: ``k`` quarter turns counter-clockwise
    (as the image is displayed, row 0 at the top). The output is rotation-major: first the N
    images unrotated, then all N turned once, and so on.

    Args:
        images (Tensor[N, C, H, W]): square images (H == W), any floating dtype.

    Returns:
        (Tensor[4N, C, H, W], Tensor[4N] int64): the rotated images (the input's dtype and
        device) and their labels ``[0]*N + [1]*N + [2]*N + [3]*N``.

    Raises:
        ValueError: ``images`` is not 4-D, or not square.
    """
    raise NotImplementedError("rotate_batch: implement me (see README.md, section `pretext`)")


def hamming_permutations(num_tiles: int, num_permutations: int) -> Tensor:
    """A fixed set of tile permutations chosen greedily for maximal Hamming distance.

    The candidates are all ``num_tiles!`` permutations in lexicographic order
    (``itertools.permutations(range(num_tiles))``). The first chosen permutation is the identity.
    Each next one is the candidate whose *minimum* Hamming distance to the permutations chosen so
    far is largest; ties go to the lexicographically smallest candidate. A chosen permutation is
    never chosen again. (Noroozi and Favaro select by the mean distance from a random start; the
    course pins this deterministic max-min variant.)

    Args:
        num_tiles (int): tiles per puzzle, 2..9 (a 3x3 jigsaw has 9).
        num_permutations (int): 1..num_tiles!.

    Returns:
        Tensor[num_permutations, num_tiles] int64: row ``i`` is the permutation with class label ``i``.

    Raises:
        ValueError: ``num_tiles`` outside 2..9 or ``num_permutations`` outside 1..num_tiles!.
    """
    raise NotImplementedError("hamming_permutations: implement me (see README.md, section `pretext`)")


def jigsaw_tiles(images: Tensor, labels: Tensor, permutations: Tensor, grid: int = 3) -> Tensor:
    """Cut each image into ``grid x grid`` tiles and shuffle them by its permutation.

    Tiles are numbered row-major (tile ``t`` covers rows ``(t // grid) * h ...`` and columns
    ``(t % grid) * w ...``, ``h = H // grid``, ``w = W // grid``). For image ``i`` with
    permutation ``p = permutations[labels[i]]``, output position ``j`` holds input tile ``p[j]``.

    Args:
        images (Tensor[N, C, H, W]): H and W divisible by ``grid``.
        labels (Tensor[N] int64): permutation indices in ``0..P-1``.
        permutations (Tensor[P, grid*grid] int64): e.g. from :func:`hamming_permutations`.
        grid (int): tiles per side, >= 1.

    Returns:
        Tensor[N, grid*grid, C, H // grid, W // grid]: the shuffled tiles (input dtype and device);
        N = 0 gives that shape with N = 0 (no label to check).

    Raises:
        ValueError: H or W not divisible by ``grid``, a permutation row of the wrong length, a
            label out of range, or ``labels`` not of length N.
    """
    raise NotImplementedError("jigsaw_tiles: implement me (see README.md, section `pretext`)")


# sRGB (D65) -> XYZ, and the D65 2-degree white point, as in scikit-image
_XYZ_FROM_RGB = ((0.412453, 0.357580, 0.180423),
                 (0.212671, 0.715160, 0.072169),
                 (0.019334, 0.119193, 0.950227))
_WHITE_D65 = (0.95047, 1.0, 1.08883)


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] to CIE L*a*b* (D65 white, 2-degree observer), as ``skimage.color.rgb2lab``.

    1. linearise: ``c / 12.92`` where ``c <= 0.04045``, else ``((c + 0.055) / 1.055) ** 2.4``;
    2. XYZ = M @ rgb with scikit-image's matrix; divide by the white point (0.95047, 1, 1.08883);
    3. ``f(t) = t ** (1/3)`` where ``t > 0.008856``, else ``7.787 t + 16 / 116``;
    4. ``L = 116 f(Y) - 16``, ``a = 500 (f(X) - f(Y))``, ``b = 200 (f(Y) - f(Z))``.

    Args:
        rgb (Tensor[..., 3, H, W]): floating point, channels at dim -3 (channel-first).

    Returns:
        Tensor[..., 3, H, W]: (L, a, b) at dim -3, the input's dtype; L in [0, 100].

    Raises:
        ValueError: dim -3 is not of size 3; TypeError: not a floating tensor.
    """
    raise NotImplementedError("rgb_to_lab: implement me (see README.md, section `pretext`)")


def quantize_ab(ab: Tensor, bin_size: float = 10.0, ab_max: float = 110.0) -> Tensor:
    """Quantise (a, b) into classes of a regular grid over ``[-ab_max, ab_max)^2``.

    With ``B = ceil(2 ab_max / bin_size)`` bins per axis, ``ia = floor((a + ab_max) / bin_size)``
    clamped to ``0..B-1`` (likewise ``ib``), and the class is ``ia * B + ib`` (a-major). The
    bins are those of the exact input values: compute in float64 (float32 arithmetic rounds a
    value just below an edge, e.g. ``9.999999``, up onto it).

    Args:
        ab (Tensor[..., 2, H, W]): a and b at dim -3.
        bin_size (float): > 0.
        ab_max (float): > 0.

    Returns:
        Tensor[..., H, W] int64: classes in ``0..B*B-1``.

    Raises:
        ValueError: dim -3 not of size 2, or ``bin_size``/``ab_max`` not positive.
    """
    raise NotImplementedError("quantize_ab: implement me (see README.md, section `pretext`)")


def ab_bin_centres(bin_size: float = 10.0, ab_max: float = 110.0) -> Tensor:
    """The (a, b) centre of every class of :func:`quantize_ab`.

    Returns:
        Tensor[B*B, 2] float32: row ``ia * B + ib`` is
        ``(-ab_max + (ia + 0.5) bin_size, -ab_max + (ib + 0.5) bin_size)``.

    Raises:
        ValueError: ``bin_size`` or ``ab_max`` not positive.
    """
    raise NotImplementedError("ab_bin_centres: implement me (see README.md, section `pretext`)")
