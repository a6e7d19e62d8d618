"""Contrastive learning: the score matrix, NT-Xent (SimCLR's InfoNCE over 2N views) and the
range of the loss (task `contrastive`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["contrastive_scores", "nt_xent_loss", "nt_xent_bounds"]


def contrastive_scores(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """The contrastive score of every pair of the 2N views: ``s_ij = cos(z_i, z_j) / T``.

    The views are stacked as ``z = cat([z1, z2])``: row ``i < N`` is the first view of sample
    ``i``, row ``N + i`` its second view, so the positive of row ``i`` is row ``(i + N) mod 2N``.
    A score lies in ``[-1/T, 1/T]``. Self-pairs are excluded: the diagonal is ``-inf``.

    Args:
        z1, z2 (Tensor[N, D]): embeddings of the two views (not necessarily normalised).
        temperature (float): T > 0 (default 0.5, lightly's NTXentLoss default).

    Returns:
        Tensor[2N, 2N]: the scores, the input's dtype; differentiable.

    Raises:
        ValueError: mismatched or non-2-D shapes, N = 0, or ``temperature <= 0``.
    """
    raise NotImplementedError("contrastive_scores: implement me (see README.md, section `contrastive`)")


def nt_xent_loss(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """NT-Xent: for each of the 2N views, cross-entropy of its positive among the other 2N - 1
    views under :func:`contrastive_scores`; the mean over the 2N views.

    ``l_i = -log( exp(s_{i,p(i)}) / sum_{k != i} exp(s_ik) )``, ``p(i) = (i + N) mod 2N``.

    Equal to ``lightly.loss.NTXentLoss(temperature)(z1, z2)`` (no memory bank).

    Returns:
        Tensor[] (a scalar), the input's dtype; differentiable in z1 and z2. With N = 1 the only
        candidate is the positive and the loss is 0.

    Raises:
        ValueError: as :func:`contrastive_scores`.
    """
    raise NotImplementedError("nt_xent_loss: implement me (see README.md, section `contrastive`)")


def nt_xent_bounds(batch_size: int, temperature: float = 0.5) -> tuple[float, float]:
    """The range of :func:`nt_xent_loss` for N = ``batch_size`` pairs.

    With every score in ``[-1/T, 1/T]``, a view's loss is smallest when its positive scores
    ``1/T`` and its 2N - 2 negatives ``-1/T``, and largest the other way round:
    ``[log(1 + (2N - 2) e^{-2/T}), log(1 + (2N - 2) e^{2/T})]``.

    Returns:
        (float, float): the lower and upper bound.

    Raises:
        ValueError: ``batch_size < 1`` or ``temperature <= 0``.
    """
    raise NotImplementedError("nt_xent_bounds: implement me (see README.md, section `contrastive`)")
