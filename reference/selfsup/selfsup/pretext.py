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
    # BEGIN SOLUTION
    if images.dim() != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {list(images.shape)}")
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be square for rotation, got H={images.shape[-2]}, W={images.shape[-1]}")
    n = images.shape[0]
    rotated = torch.cat([torch.rot90(images, k, dims=(-2, -1)) for k in range(4)])  # [4N, C, H, W]
    labels = torch.arange(4, device=images.device).repeat_interleave(n)  # [4N]
    return rotated, labels
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not 2 <= num_tiles <= 9:
        raise ValueError(f"num_tiles must be in 2..9, got {num_tiles}")
    total = math.factorial(num_tiles)
    if not 1 <= num_permutations <= total:
        raise ValueError(f"num_permutations must be in 1..{total} for {num_tiles} tiles, got {num_permutations}")
    cands = torch.tensor(list(itertools.permutations(range(num_tiles))), dtype=torch.int8)  # [P, T]
    chosen = [0]  # the identity is the lexicographically first permutation
    min_dist = (cands != cands[0]).sum(1).int()  # [P]
    min_dist[0] = -1
    for _ in range(num_permutations - 1):
        j = int(torch.argmax(min_dist))  # argmax returns the first maximum: the smallest index
        chosen.append(j)
        min_dist = torch.minimum(min_dist, (cands != cands[j]).sum(1).int())
        min_dist[chosen] = -1
    return cands[chosen].long()
    # END SOLUTION


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
    # BEGIN SOLUTION
    if grid < 1:
        raise ValueError(f"grid must be >= 1, got {grid}")
    if images.dim() != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {list(images.shape)}")
    n, c, height, width = images.shape
    if height % grid or width % grid:
        raise ValueError(f"image size {height}x{width} is not divisible by grid={grid}")
    if permutations.dim() != 2 or permutations.shape[1] != grid * grid:
        raise ValueError(f"permutations must be [P, {grid * grid}], got {list(permutations.shape)}")
    if labels.shape != (n,):
        raise ValueError(f"labels must be [N] = [{n}], got {list(labels.shape)}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= permutations.shape[0]):
        raise ValueError(f"labels must be in 0..{permutations.shape[0] - 1}, got {labels.tolist()}")
    h, w = height // grid, width // grid
    tiles = images.reshape(n, c, grid, h, grid, w).permute(0, 2, 4, 1, 3, 5)  # [N, g, g, C, h, w]
    tiles = tiles.reshape(n, grid * grid, c, h, w)
    order = permutations.to(images.device)[labels.to(images.device)]  # [N, T]
    return tiles[torch.arange(n, device=images.device)[:, None], order]  # [N, T, C, h, w]
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not rgb.is_floating_point():
        raise TypeError(f"rgb must be a floating tensor in [0, 1], got {rgb.dtype}")
    if rgb.dim() < 3 or rgb.shape[-3] != 3:
        raise ValueError(f"rgb must be [..., 3, H, W], got shape {list(rgb.shape)}")
    lin = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = torch.tensor(_XYZ_FROM_RGB, dtype=rgb.dtype, device=rgb.device)
    white = torch.tensor(_WHITE_D65, dtype=rgb.dtype, device=rgb.device)
    xyz = torch.einsum("ij,...jhw->...ihw", m, lin) / white[:, None, None]
    f = torch.where(xyz > 0.008856, xyz.clamp_min(0) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if bin_size <= 0 or ab_max <= 0:
        raise ValueError(f"bin_size and ab_max must be > 0, got bin_size={bin_size}, ab_max={ab_max}")
    if ab.dim() < 3 or ab.shape[-3] != 2:
        raise ValueError(f"ab must be [..., 2, H, W], got shape {list(ab.shape)}")
    bins = math.ceil(2 * ab_max / bin_size)
    idx = torch.floor((ab.double() + ab_max) / bin_size).long().clamp(0, bins - 1)
    ia, ib = idx.unbind(-3)
    return ia * bins + ib
    # END SOLUTION


def ab_bin_centres(bin_size: float = 10.0, ab_max: float = 110.0) -> Tensor:
    """The (a, b) centre of every class of :func:`quantize_ab`.

    Returns:
        Tensor[B*B, 2] float32: row ``ia * B + ib`` is
        ``(-ab_max + (ia + 0.5) bin_size, -ab_max + (ib + 0.5) bin_size)``.

    Raises:
        ValueError: ``bin_size`` or ``ab_max`` not positive.
    """
    # BEGIN SOLUTION
    if bin_size <= 0 or ab_max <= 0:
        raise ValueError(f"bin_size and ab_max must be > 0, got bin_size={bin_size}, ab_max={ab_max}")
    bins = math.ceil(2 * ab_max / bin_size)
    centres = -ab_max + (torch.arange(bins, dtype=torch.float64) + 0.5) * bin_size
    ga, gb = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([ga.reshape(-1), gb.reshape(-1)], dim=1).float()
    # END SOLUTION
