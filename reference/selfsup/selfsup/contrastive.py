"""Contrastive learning: the score matrix, NT-Xent (SimCLR's InfoNCE over 2N views) and the
range of the loss (task `contrastive`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["contrastive_scores", "nt_xent_loss", "nt_xent_bounds"]


# BEGIN SOLUTION
def _check_pair(z1: Tensor, z2: Tensor, temperature: float) -> None:
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must both be [N, D] of the same shape, got {list(z1.shape)} and {list(z2.shape)}")
    if z1.shape[0] == 0:
        raise ValueError("z1 and z2 must hold at least one pair of views (N >= 1), got N = 0")
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_pair(z1, z2, temperature)
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # [2N, D]
    scores = z @ z.T / temperature  # [2N, 2N]
    eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    return scores.masked_fill(eye, float("-inf"))
    # END SOLUTION


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
    # BEGIN SOLUTION
    scores = contrastive_scores(z1, z2, temperature)  # [2N, 2N]
    n = z1.shape[0]
    positives = (torch.arange(2 * n, device=z1.device) + n) % (2 * n)  # [2N]
    return F.cross_entropy(scores, positives)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    negatives = 2 * batch_size - 2
    if negatives == 0:
        return 0.0, 0.0

    def log1p_exp(a: float) -> float:  # log(1 + e^a) without overflow
        return a + math.log1p(math.exp(-a)) if a > 0 else math.log1p(math.exp(a))

    log_n = math.log(negatives)
    return log1p_exp(log_n - 2.0 / temperature), log1p_exp(log_n + 2.0 / temperature)
    # END SOLUTION
