"""Contrastive random walk (Jabri, Owens and Efros, "Space-time correspondence as a contrastive
random walk", NeurIPS 2020).

The patches of a video are the nodes of a graph whose edges join the patches of consecutive
frames. The transition probabilities from frame ``t`` to ``t + 1`` are a softmax over the
similarities of the patches' L2-normalised embeddings divided by a temperature. A walk from
frame 0 to frame ``T-1`` and back along the same frames (a *palindrome*) should return to where it
started: the cycle-consistency loss is the cross-entropy of the round trip's transition matrix
against the identity, so the embeddings are learnt without any label. At test time, the same
affinities propagate a first-frame mask.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor

__all__ = ["LOG_EPS", "transition_matrix", "palindrome_walk", "cycle_consistency_loss"]

#: added to probabilities before the log of the cycle loss (the paper's code: 1e-20)
LOG_EPS = 1e-20

# BEGIN SOLUTION


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    return float(temperature)


def _check_float(name: str, x: object, dims: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() != dims:
        raise ValueError(f"{name} must have {dims} dimensions, got shape {list(x.shape)}")
    return x
# END SOLUTION


def transition_matrix(x: Tensor, y: Tensor, temperature: float = 0.07) -> Tensor:
    """Transition probabilities from the patches of one frame to those of another.

    ``A[b, i, j] = softmax_j( <x_i / |x_i|, y_j / |y_j|> / temperature )`` (rows sum to 1;
    normalisation as ``F.normalize(..., dim=-1)``, eps ``1e-12``).

    Args:
        x (Tensor[B, P, D]): the embeddings of the ``P`` patches of the source frame.
        y (Tensor[B, Q, D]): those of the target frame.
        temperature (float): > 0.

    Returns:
        Tensor[B, P, Q]: ``x``'s dtype.

    Raises:
        TypeError / ValueError: malformed inputs, ``temperature <= 0``.
    """
    # BEGIN SOLUTION
    t = _check_temperature(temperature)
    _check_float("x", x, 3)
    _check_float("y", y, 3)
    if x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ValueError(f"x {list(x.shape)} and y {list(y.shape)} must agree in B and D")
    sim = F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).to(x.dtype).transpose(1, 2)  # [B, P, Q]
    return torch.softmax(sim / t, dim=-1)
    # END SOLUTION


def palindrome_walk(feats: Tensor, temperature: float = 0.07) -> Tensor:
    """The round-trip transition matrix of the palindrome ``0 -> 1 -> ... -> T-1 -> ... -> 1 -> 0``.

    ``W = A(0->1) A(1->2) ... A(T-2->T-1) A(T-1->T-2) ... A(1->0)`` with
    ``A(s->t) = transition_matrix(feats[:, s], feats[:, t], temperature)`` (the backward steps use
    their own softmax over the earlier frame's patches, not a transpose of the forward ones).

    Args:
        feats (Tensor[B, T, P, D]): patch embeddings of ``T >= 2`` frames.

    Returns:
        Tensor[B, P, P]: rows sum to 1.

    Raises:
        ValueError: ``T < 2``, not 4-d; TypeError: not floating.
    """
    # BEGIN SOLUTION
    _check_float("feats", feats, 4)
    n_t = feats.shape[1]
    if n_t < 2:
        raise ValueError(f"feats must hold T >= 2 frames, got T = {n_t}")
    walk = None
    steps = [(s, s + 1) for s in range(n_t - 1)] + [(s + 1, s) for s in reversed(range(n_t - 1))]
    for s, t in steps:
        a = transition_matrix(feats[:, s], feats[:, t], temperature)
        walk = a if walk is None else walk @ a
    return walk
    # END SOLUTION


def cycle_consistency_loss(feats: Tensor, temperature: float = 0.07) -> Tensor:
    """Cross-entropy of the palindrome walk against the identity: every patch should walk back
    to itself. ``loss = -mean_{b, i} log(W[b, i, i] + LOG_EPS)`` with ``W`` =
    :func:`palindrome_walk`.

    Returns:
        Tensor: a scalar of ``feats``' dtype.
    """
    # BEGIN SOLUTION
    walk = palindrome_walk(feats, temperature)
    diag = torch.diagonal(walk, dim1=1, dim2=2)  # [B, P]
    return -torch.log(diag + LOG_EPS).mean()
    # END SOLUTION
