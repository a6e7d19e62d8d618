"""Offline data for self-supervised pre-training and probes: scikit-learn's 8x8 digits with
nuisances (a random shift on a larger canvas, a contrast and brightness change, Gaussian noise).

Deterministic: the split of the 1797 digits is fixed (a permutation seeded with 0), and the
nuisances of a split are drawn from ``seed``. The grader draws the held-out nuisances from the
course key; a student can generate the same kind of data locally with any seed.

    from cv3data.ssl_digits import ssl_digits
    images, labels = ssl_digits("unlabeled", seed=0)    # float32 [1000, 1, 20, 20] in [0, 1]

Splits (disjoint digits): ``unlabeled`` (1000, for pre-training: use no labels),
``probe_train`` (400, fits the k-NN bank and the linear probe), ``probe_test`` (397).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["SPLITS", "IMAGE_SIZE", "digits", "add_nuisances", "ssl_digits", "pasted_digits"]

SPLITS = {"unlabeled": (0, 1000), "probe_train": (1000, 1400), "probe_test": (1400, 1797)}
IMAGE_SIZE = 20  # canvas side; the digit itself is upsampled from 8x8 to 16x16
_DIGIT_SIZE = 16
_SPLIT_SEED = 0


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1797 digits as float32 [N, 8, 8] in [0, 1] and int64 labels [N], in scikit-learn's order."""
    from sklearn.datasets import load_digits  # only where data is generated (trusted side, student machine)

    d = load_digits()
    images = torch.from_numpy(d.images).float() / 16.0
    return images, torch.from_numpy(d.target).long()


def add_nuisances(images: torch.Tensor, seed: int, *, size: int = IMAGE_SIZE, max_shift: int = 2,
                  contrast: tuple[float, float] = (0.35, 1.0), brightness: tuple[float, float] = (0.0, 0.35),
                  noise: float = 0.06) -> torch.Tensor:
    """Digits [N, 8, 8] in [0, 1] -> float32 [N, 1, size, size] in [0, 1].

    Each digit is upsampled to 16x16 (bilinear), placed on a black canvas at the centre shifted by
    up to ``max_shift`` pixels in x and y, multiplied by a contrast in ``contrast``, lifted by a
    brightness in ``brightness``, and given Gaussian noise of std ``noise``; then clipped to [0, 1].
    """
    if images.dim() != 3:
        raise ValueError(f"images must be [N, 8, 8], got {list(images.shape)}")
    n = images.shape[0]
    gen = torch.Generator().manual_seed(int(seed))
    big = F.interpolate(images[:, None].float(), size=(_DIGIT_SIZE, _DIGIT_SIZE), mode="bilinear",
                        align_corners=False)  # [N, 1, 16, 16]
    canvas = torch.zeros(n, 1, size, size)
    base = (size - _DIGIT_SIZE) // 2
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=gen)
    for i in range(n):
        y, x = base + int(shifts[i, 0]), base + int(shifts[i, 1])
        canvas[i, :, y:y + _DIGIT_SIZE, x:x + _DIGIT_SIZE] = big[i]
    c = torch.empty(n, 1, 1, 1).uniform_(*contrast, generator=gen)
    b = torch.empty(n, 1, 1, 1).uniform_(*brightness, generator=gen)
    out = canvas * c + b + noise * torch.randn(canvas.shape, generator=gen)
    return out.clamp(0.0, 1.0)


def ssl_digits(split: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images float32 [N, 1, 20, 20] in [0, 1] and labels int64 [N] of ``split`` (see SPLITS),
    with nuisances drawn from ``seed`` (the same split and seed give the same tensors)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    images, labels = digits()
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(_SPLIT_SEED))
    lo, hi = SPLITS[split]
    idx = order[lo:hi]
    mixed = (int(seed) * 1_000_003 + lo) % (2 ** 63 - 1)  # a different nuisance stream per split
    return add_nuisances(images[idx], mixed), labels[idx]


def pasted_digits(split: str, seed: int = 0, size: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Single-object images for weak localisation (CAM): each digit of ``split``, upsampled to
    16x16, pasted at a uniformly random position on a ``size`` x ``size`` black canvas (contrast in
    [0.5, 1], Gaussian noise of std 0.05, clipped to [0, 1]).

    Returns images float32 [N, 1, size, size], labels int64 [N] and boxes int64 [N, 4]
    ``(x0, y0, x1, y1)`` (exclusive ends: the pasted 16x16 square is ``[y0:y1, x0:x1]``)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    if size < _DIGIT_SIZE:
        raise ValueError(f"size must be >= {_DIGIT_SIZE}, got {size!r}")
    images, labels = digits()
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(_SPLIT_SEED))
    lo, hi = SPLITS[split]
    idx = order[lo:hi]
    n = idx.numel()
    gen = torch.Generator().manual_seed((int(seed) * 999_983 + lo + 7) % (2 ** 63 - 1))
    big = F.interpolate(images[idx][:, None], size=(_DIGIT_SIZE, _DIGIT_SIZE), mode="bilinear",
                        align_corners=False)
    corner = torch.randint(0, size - _DIGIT_SIZE + 1, (n, 2), generator=gen)  # (y0, x0)
    canvas = torch.zeros(n, 1, size, size)
    for i in range(n):
        y, x = int(corner[i, 0]), int(corner[i, 1])
        canvas[i, :, y:y + _DIGIT_SIZE, x:x + _DIGIT_SIZE] = big[i]
    contrast = torch.empty(n, 1, 1, 1).uniform_(0.5, 1.0, generator=gen)
    out = (canvas * contrast + 0.05 * torch.randn(canvas.shape, generator=gen)).clamp(0.0, 1.0)
    boxes = torch.stack([corner[:, 1], corner[:, 0], corner[:, 1] + _DIGIT_SIZE, corner[:, 0] + _DIGIT_SIZE], 1)
    return out, labels[idx], boxes
