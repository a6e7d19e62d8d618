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

from torch import Tensor

__all__ = ["LOG_EPS", "transition_matrix", "palindrome_walk", "cycle_consistency_loss"]

#: added to probabilities before the log of the cycle loss (the paper's code: 1e-20)
LOG_EPS = 1e-20


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
    raise NotImplementedError("transition_matrix: implement me (see README.md, section `crw`)")


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
    raise NotImplementedError("palindrome_walk: implement me (see README.md, section `crw`)")


def cycle_consistency_loss(feats: Tensor, temperature: float = 0.07) -> Tensor:
    """Cross-entropy of the palindrome walk against the identity: every patch should walk back
    to itself. ``loss = -mean_{b, i} log(W[b, i, i] + LOG_EPS)`` with ``W`` =
    :func:`palindrome_walk`.

    Returns:
        Tensor: a scalar of ``feats``' dtype.
    """
    raise NotImplementedError("cycle_consistency_loss: implement me (see README.md, section `crw`)")
