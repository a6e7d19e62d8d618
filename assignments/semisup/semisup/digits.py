"""Task `digits`: FixMatch on 20x20 digits with 10% of the labels (the accuracy check's training run)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import describe, float_tensor
from .pseudo import semi_supervised_loss

__all__ = ["make_digits_cnn", "shift_images", "weak_view", "strong_view", "train_fixmatch_digits"]


def make_digits_cnn(num_classes: int = 10) -> nn.Module:
    """The model of the task (given code): a small CNN on ``[N, 1, 20, 20]`` images
    (``Conv3x3(8)-ReLU-MaxPool2-Conv3x3(16)-ReLU-MaxPool2-Flatten-Linear``)."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 5 * 5, num_classes))


def shift_images(x: torch.Tensor, gen: torch.Generator, max_shift: int) -> torch.Tensor:
    """Each image translated by its own integer shift in ``[-max_shift, max_shift]`` along y and x
    (given code), with zeros shifted in: ``out[n, c, i, j] = x[n, c, i - sy_n, j - sx_n]`` (0 outside).
    Draws ``torch.randint(-max_shift, max_shift + 1, (N, 2), generator=gen)`` (columns: sy, sx)."""
    n, c, h, w = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=gen)
    padded = F.pad(x, (max_shift, max_shift, max_shift, max_shift))
    rows = torch.arange(h)[None, :] + max_shift - shifts[:, :1]  # [N, H]
    cols = torch.arange(w)[None, :] + max_shift - shifts[:, 1:]  # [N, W]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def weak_view(x: torch.Tensor, gen: torch.Generator, max_shift: int = 1) -> torch.Tensor:
    """FixMatch's weak augmentation (given code): a small random shift (:func:`shift_images`)."""
    return shift_images(x, gen, max_shift)


def strong_view(x: torch.Tensor, gen: torch.Generator, max_shift: int = 3, noise: float = 0.1) -> torch.Tensor:
    """FixMatch's strong augmentation (given code): the nuisances of ``cv3data.ssl_digits``, stronger.

    A larger random shift (:func:`shift_images`), then per image a contrast in [0.35, 1] and a
    brightness in [0, 0.35], Gaussian noise of std ``noise``, clipped to [0, 1]. Draws, in this
    order: the shifts, ``torch.empty(N, 1, 1, 1).uniform_(0.35, 1.0, generator=gen)``,
    ``torch.empty(N, 1, 1, 1).uniform_(0.0, 0.35, generator=gen)``, ``torch.randn(shape, generator=gen)``."""
    n = x.shape[0]
    x = shift_images(x, gen, max_shift)
    contrast = torch.empty(n, 1, 1, 1).uniform_(0.35, 1.0, generator=gen)
    brightness = torch.empty(n, 1, 1, 1).uniform_(0.0, 0.35, generator=gen)
    return (x * contrast + brightness + noise * torch.randn(x.shape, generator=gen)).clamp(0.0, 1.0)


def train_fixmatch_digits(x_labeled: torch.Tensor, y_labeled: torch.Tensor, x_unlabeled: torch.Tensor,
                          x_query: torch.Tensor, seed: int = 0, steps: int = 300, threshold: float = 0.95,
                          unlabeled_weight: float = 1.0, lr: float = 0.003, batch: int = 256) -> dict:
    """Train :func:`make_digits_cnn` with FixMatch (Sohn et al. 2020), then predict ``x_query``.

    Deterministic given ``seed``: ``torch.manual_seed(seed)`` before building the model, and one
    ``torch.Generator`` seeded with ``seed`` for every random draw. Each of the ``steps`` Adam steps
    (learning rate ``lr``) draws, in this order:

    1. ``xl = weak_view(x_labeled, gen)``: every labeled image, weakly augmented;
    2. ``idx = torch.randint(0, U, (batch,), generator=gen)``: an unlabeled batch (with replacement;
       skipped, with the two views below, when ``U = 0`` or ``unlabeled_weight == 0``);
    3. ``xw = weak_view(x_unlabeled[idx], gen)`` then ``xs = strong_view(x_unlabeled[idx], gen)``.

    The loss is :func:`semi_supervised_loss` of the model's logits on ``xl`` (with ``y_labeled``),
    on ``xw`` (computed under ``torch.no_grad()``: the pseudo-labels and their mask carry no
    gradient) and on ``xs``, with ``threshold`` and ``unlabeled_weight``; with no unlabeled batch it
    is the cross-entropy on ``xl`` alone (``unlabeled_weight = 0``: the supervised-only baseline).

    Args:
        x_labeled (Tensor[L, 1, 20, 20]), y_labeled (Tensor[L]) (int64 in [0, 10)),
        x_unlabeled (Tensor[U, 1, 20, 20]), x_query (Tensor[Q, 1, 20, 20]): float images in [0, 1],
            any float dtype: converted to float32 first (the model computes in float32), so
            float64 images give the run of their float32 copies.
            L >= 1; U and Q may be 0.
        seed (int), steps (int >= 1), threshold (float in [0, 1]), unlabeled_weight (float >= 0),
        lr (float > 0), batch (int >= 1): as above.

    Returns:
        dict: ``"predictions"`` (``Tensor[Q]`` int64, the trained model's classes of ``x_query``),
        ``"losses"`` (``Tensor[steps]`` float32, the total loss of every step) and
        ``"mask_rate"`` (``Tensor[steps]`` float32, the share of the unlabeled batch whose
        pseudo-label passed the threshold at every step; 0 without an unlabeled batch).

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, bad hyper-parameters.
    """
    raise NotImplementedError("train_fixmatch_digits: implement me (see README.md, section `digits`)")
