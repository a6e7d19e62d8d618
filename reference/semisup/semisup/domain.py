"""Task `domain`: adversarial and statistical domain alignment."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import describe, float_tensor

__all__ = ["grad_reverse", "GradientReversal", "domain_discriminator_loss", "coral_loss", "mmd_rbf"]


# BEGIN SOLUTION
class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return -ctx.lambd * grad_output, None
# END SOLUTION


def grad_reverse(x: torch.Tensor, lambd: float = 1.0) -> torch.Tensor:
    """The gradient reversal layer of DANN (Ganin and Lempitsky).

    Forward: the identity (the values of ``x``). Backward: the incoming gradient times
    ``-lambd``. Placed between the feature extractor and the domain classifier, it lets one
    backward pass train the classifier to tell the domains apart and the features to fool it.

    Args:
        x (Tensor[...]): floating point.
        lambd (float): the reversal strength (any real; 0 blocks the gradient).

    Returns:
        Tensor: ``x``'s values, shape and dtype; ``d out / d x = -lambd * I``, so the gradient
        is always a tensor (zeros for ``lambd = 0``, never ``None``).

    Raises:
        TypeError: ``x`` is not a floating-point tensor or ``lambd`` not a number.
    """
    # BEGIN SOLUTION
    float_tensor("x", x, 0)
    if isinstance(lambd, bool) or not isinstance(lambd, (int, float)):
        raise TypeError(f"lambd must be a number, got {describe(lambd)}")
    return _GradReverse.apply(x, float(lambd))
    # END SOLUTION


class GradientReversal(nn.Module):
    """:func:`grad_reverse` as a module with a settable ``lambd`` (a thin wrapper)."""

    def __init__(self, lambd: float = 1.0) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``grad_reverse(x, self.lambd)``."""
        # BEGIN SOLUTION
        return grad_reverse(x, self.lambd)
        # END SOLUTION


def _domain_logits(name: str, logits: torch.Tensor) -> torch.Tensor:
    float_tensor(name, logits, 1, 2)
    if logits.dim() == 2:
        if logits.shape[1] != 1:
            raise ValueError(f"{name} must have shape [N] or [N, 1], got {list(logits.shape)}")
        logits = logits[:, 0]
    return logits


def domain_discriminator_loss(source_logits: torch.Tensor, target_logits: torch.Tensor) -> torch.Tensor:
    """The domain classifier's binary cross-entropy: source samples have domain label 0,
    target samples label 1 (DANN's convention).

    ``BCEWithLogits`` averaged over all ``Ns + Nt`` samples together (so the larger domain weighs
    more), i.e. ``(sum_i softplus(s_i) + sum_j softplus(-t_j)) / (Ns + Nt)``.

    Args:
        source_logits (Tensor[Ns] or Tensor[Ns, 1]): the discriminator's logits on source features.
        target_logits (Tensor[Nt] or Tensor[Nt, 1]): on target features. ``Ns + Nt >= 1``.

    Returns:
        Tensor[]: the loss in the promoted dtype of the two inputs (each cast to it first),
        differentiable in both inputs.

    Raises:
        TypeError, ValueError: non-floating inputs, shapes other than [N] / [N, 1], no sample at all.
    """
    # BEGIN SOLUTION
    s = _domain_logits("source_logits", source_logits)
    t = _domain_logits("target_logits", target_logits)
    if s.shape[0] + t.shape[0] == 0:
        raise ValueError("domain_discriminator_loss needs at least one sample, got Ns = Nt = 0")
    dtype = torch.promote_types(s.dtype, t.dtype)
    logits = torch.cat([s.to(dtype), t.to(dtype)])
    labels = torch.cat([torch.zeros_like(s, dtype=dtype), torch.ones_like(t, dtype=dtype)])
    return F.binary_cross_entropy_with_logits(logits, labels)
    # END SOLUTION


def _features(name: str, x: torch.Tensor, minimum: int) -> None:
    float_tensor(name, x, 2, 2)
    if x.shape[0] < minimum:
        raise ValueError(f"{name} must have at least {minimum} samples, got shape {list(x.shape)}")


def coral_loss(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Deep CORAL: the distance between the feature covariances of the two domains.

    ``C = (X - mean)^T (X - mean) / (n - 1)`` (the unbiased covariance, ``torch.cov``) for each
    domain; ``loss = ||C_s - C_t||_F^2 / (4 d^2)``.

    Args:
        source (Tensor[Ns, d]), target (Tensor[Nt, d]): floating point, ``Ns, Nt >= 2``, same ``d``.

    Returns:
        Tensor[]: the loss in the promoted dtype of the two inputs (each cast to it first),
        differentiable in both inputs.

    Raises:
        TypeError, ValueError: non-floating inputs, not 2-D, fewer than 2 samples, different ``d``.
    """
    # BEGIN SOLUTION
    _features("source", source, 2)
    _features("target", target, 2)
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target must have the same feature size, got {source.shape[1]} and "
                         f"{target.shape[1]}")
    d = source.shape[1]

    def cov(x):
        xc = x - x.mean(dim=0, keepdim=True)
        return xc.T @ xc / (x.shape[0] - 1)  # [d, d]

    dtype = torch.promote_types(source.dtype, target.dtype)
    diff = cov(source.to(dtype)) - cov(target.to(dtype))
    return (diff * diff).sum() / (4 * d * d)
    # END SOLUTION


def mmd_rbf(x: torch.Tensor, y: torch.Tensor, sigmas: Sequence[float] = (1.0,), unbiased: bool = False) -> torch.Tensor:
    """The squared maximum mean discrepancy with a sum of Gaussian (RBF) kernels.

    ``k(a, b) = sum_s exp(-||a - b||^2 / (2 sigma_s^2))``.
    Biased (V-statistic, default): ``mean_ij k(x_i, x_j) + mean_ij k(y_i, y_j) - 2 mean_ij k(x_i, y_j)``
    over all pairs, diagonals included (always >= 0). Unbiased (U-statistic): the first two terms
    leave out the diagonal, ``sum_{i != j} k(x_i, x_j) / (m (m - 1))`` (may be negative).

    Args:
        x (Tensor[m, d]), y (Tensor[n, d]): floating point, m, n >= 1 (>= 2 when unbiased).
        sigmas (sequence of float): bandwidths, each > 0, at least one.
        unbiased (bool): the U-statistic instead of the V-statistic.

    Returns:
        Tensor[]: MMD^2 (not its square root) in the promoted dtype of ``x`` and ``y`` (each cast
        to it first), differentiable in ``x`` and ``y``.

    Raises:
        TypeError, ValueError: non-floating inputs, not 2-D, different ``d``, too few samples,
            no or non-positive bandwidth.
    """
    # BEGIN SOLUTION
    minimum = 2 if unbiased else 1
    _features("x", x, minimum)
    _features("y", y, minimum)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same feature size, got {x.shape[1]} and {y.shape[1]}")
    sigmas = [float(s) for s in sigmas]
    if not sigmas or any(not s > 0 for s in sigmas):
        raise ValueError(f"sigmas must be one or more bandwidths > 0, got {sigmas}")
    dtype = torch.promote_types(x.dtype, y.dtype)
    x, y = x.to(dtype), y.to(dtype)

    def kernel(a, b):
        sq = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)  # [m, n], exact zeros on the diagonal
        return sum(torch.exp(-sq / (2 * s * s)) for s in sigmas)

    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    m, n = x.shape[0], y.shape[0]
    if unbiased:
        xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
        yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    else:
        xx, yy = kxx.mean(), kyy.mean()
    return xx + yy - 2 * kxy.mean()
    # END SOLUTION
