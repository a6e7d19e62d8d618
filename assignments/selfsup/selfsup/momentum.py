"""Momentum encoders: the EMA update, MoCo's queue and logits, BYOL's predictor, loss and
momentum schedule (task `moco_byol`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ProjectionHead", "momentum_update", "dequeue_and_enqueue", "moco_logits", "byol_loss",
           "cosine_momentum"]


class ProjectionHead(nn.Module):
    """BYOL's projector / predictor MLP: ``Linear(in, hidden) -> BatchNorm1d(hidden) -> ReLU ->
    Linear(hidden, out)``.

    Its weights use the names of ``nn.Sequential(Linear, BatchNorm1d, ReLU, Linear)``:
    ``0.weight, 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var,
    1.num_batches_tracked, 3.weight, 3.bias``. Build the layers as attributes named
    ``"0"``, ``"1"``, ``"2"``, ``"3"`` (e.g. subclass ``nn.Sequential``) so that the names match.

    Args:
        in_dim, hidden_dim, out_dim (int): >= 1.

    Raises:
        ValueError: a dimension below 1.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        raise NotImplementedError("ProjectionHead.__init__: implement me (see README.md, section `moco_byol`)")

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[N, in_dim]) -> Tensor[N, out_dim]. BatchNorm uses batch statistics in
        training mode (the default) and running statistics after ``eval()``."""
        raise NotImplementedError("ProjectionHead.forward: implement me (see README.md, section `moco_byol`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """``load_state_dict(state_dict, strict=True)`` (moves the module to the weights' device);
        returns nothing. Raises RuntimeError on missing or unexpected names or wrong shapes, an
        empty dict included (every name missing; it has no device to move to)."""
        raise NotImplementedError("ProjectionHead.load_weights: implement me (see README.md, section `moco_byol`)")

    def weights(self) -> dict[str, Tensor]:
        """A detached copy of ``state_dict()`` (parameters and buffers), as a dict of name to tensor."""
        raise NotImplementedError("ProjectionHead.weights: implement me (see README.md, section `moco_byol`)")


@torch.no_grad()
def momentum_update(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """Exponential moving average of the online network into the target (MoCo's key encoder,
    BYOL's target, DINO's teacher), in place, on **parameters only**:
    ``theta_t <- m theta_t + (1 - m) theta_o``. Buffers (BatchNorm running statistics) are left
    untouched. Equal to ``lightly.models.utils.update_momentum(online, target, m)``.

    Args:
        online, target (nn.Module): the same architecture (parameters paired in order).
        momentum (float): m in [0, 1]; 1 keeps the target, 0 copies the online network.

    Raises:
        ValueError: ``momentum`` outside [0, 1], or the two networks' parameters differ in
            number or shape.
    """
    raise NotImplementedError("momentum_update: implement me (see README.md, section `moco_byol`)")


def dequeue_and_enqueue(queue: Tensor, ptr: int, keys: Tensor) -> tuple[Tensor, int]:
    """MoCo's queue of negatives: the batch of keys overwrites the oldest rows.

    The queue is [K, D] (one key per row; MoCo's code stores [D, K]). The keys go to rows
    ``ptr .. ptr + B - 1`` and the pointer moves to ``(ptr + B) mod K``. K must be a multiple
    of B, so a batch never wraps around.

    Args:
        queue (Tensor[K, D]): the queue (not modified).
        ptr (int): the next row to overwrite, a multiple of B in [0, K).
        keys (Tensor[B, D]): the new keys (stored detached, in the queue's dtype).

    Returns:
        (Tensor[K, D], int): the new queue (a new tensor) and the new pointer.

    Raises:
        ValueError: K not a multiple of B, ``ptr`` not a multiple of B or outside [0, K), a
            dimension mismatch, or B = 0.
    """
    raise NotImplementedError("dequeue_and_enqueue: implement me (see README.md, section `moco_byol`)")


def moco_logits(q: Tensor, k: Tensor, queue: Tensor, temperature: float = 0.07) -> Tensor:
    """MoCo's InfoNCE logits: the positive first, then the K negatives of the queue.

    ``q`` and ``k`` are L2-normalised here; ``k`` and the queue are constants (no gradient:
    the key encoder is updated by momentum only). The queue rows are used as stored (they are
    normalised keys). ``logits[i] = [q_i . k_i, q_i . queue_0, ..., q_i . queue_{K-1}] / T``.

    Args:
        q (Tensor[N, D]): queries (from the online encoder).
        k (Tensor[N, D]): keys of the same images (from the momentum encoder).
        queue (Tensor[K, D]): negatives.
        temperature (float): T > 0.

    Returns:
        Tensor[N, 1 + K]: the logits (q's dtype); the positive is column 0, so the loss is
        ``F.cross_entropy(logits, zeros(N, dtype=int64))``. Differentiable in ``q`` only.

    Raises:
        ValueError: shape mismatch or ``temperature <= 0``.
    """
    raise NotImplementedError("moco_logits: implement me (see README.md, section `moco_byol`)")


def byol_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor) -> Tensor:
    """BYOL's symmetrised loss: the online prediction of each view regresses the target
    projection of the *other* view, ``2 - 2 cos(p, sg(z))``, with a stop-gradient on the targets.

    ``loss = mean_i [ (2 - 2 cos(p1_i, z2_i)) + (2 - 2 cos(p2_i, z1_i)) ]``.

    Args:
        p1, p2 (Tensor[N, D]): online predictions of views 1 and 2.
        z1, z2 (Tensor[N, D]): target projections of views 1 and 2 (no gradient flows into them).

    Returns:
        Tensor[] in [0, 8], the input's dtype.

    Raises:
        ValueError: the four shapes differ, are not 2-D, or N = 0.
    """
    raise NotImplementedError("byol_loss: implement me (see README.md, section `moco_byol`)")


def cosine_momentum(step: int, total_steps: int, base_momentum: float = 0.996, final_momentum: float = 1.0) -> float:
    """BYOL's momentum schedule: ``m = m_final - (m_final - m_base) (cos(pi k / K) + 1) / 2``
    at step ``k`` of ``K``: ``m_base`` at k = 0, ``m_final`` at k = K.

    Raises:
        ValueError: ``total_steps < 1`` or ``step`` outside 0..total_steps.
    """
    raise NotImplementedError("cosine_momentum: implement me (see README.md, section `moco_byol`)")
