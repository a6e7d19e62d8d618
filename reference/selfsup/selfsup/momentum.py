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
        # BEGIN SOLUTION
        for name, v in (("in_dim", in_dim), ("hidden_dim", hidden_dim), ("out_dim", out_dim)):
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        super().__init__()
        self.add_module("0", nn.Linear(in_dim, hidden_dim))
        self.add_module("1", nn.BatchNorm1d(hidden_dim))
        self.add_module("2", nn.ReLU())
        self.add_module("3", nn.Linear(hidden_dim, out_dim))
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[N, in_dim]) -> Tensor[N, out_dim]. BatchNorm uses batch statistics in
        training mode (the default) and running statistics after ``eval()``."""
        # BEGIN SOLUTION
        for module in self.children():
            x = module(x)
        return x
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """``load_state_dict(state_dict, strict=True)`` (moves the module to the weights' device);
        returns nothing. Raises RuntimeError on missing or unexpected names or wrong shapes, an
        empty dict included (every name missing; it has no device to move to)."""
        # BEGIN SOLUTION
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
        # END SOLUTION

    def weights(self) -> dict[str, Tensor]:
        """A detached copy of ``state_dict()`` (parameters and buffers), as a dict of name to tensor."""
        # BEGIN SOLUTION
        return {k: v.detach().clone() for k, v in self.state_dict().items()}
        # END SOLUTION


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
    # BEGIN SOLUTION
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    online_params, target_params = list(online.parameters()), list(target.parameters())
    if len(online_params) != len(target_params) or any(
            a.shape != b.shape for a, b in zip(online_params, target_params)):
        raise ValueError("online and target must have parameters of the same number and shapes")
    for t, o in zip(target_params, online_params):
        t.mul_(momentum).add_(o.detach(), alpha=1.0 - momentum)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if queue.dim() != 2 or keys.dim() != 2 or queue.shape[1] != keys.shape[1]:
        raise ValueError(f"queue must be [K, D] and keys [B, D], got {list(queue.shape)} and {list(keys.shape)}")
    size, batch = queue.shape[0], keys.shape[0]
    if batch == 0:
        raise ValueError("keys must hold at least one key (B >= 1), got B = 0")
    if size % batch:
        raise ValueError(f"the queue size K = {size} must be a multiple of the batch size B = {batch}")
    if not 0 <= ptr < size or ptr % batch:
        raise ValueError(f"ptr must be a multiple of B = {batch} in [0, {size}), got {ptr}")
    new = queue.clone()
    new[ptr:ptr + batch] = keys.detach().to(queue.dtype)
    return new, (ptr + batch) % size
    # END SOLUTION


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
    # BEGIN SOLUTION
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if q.dim() != 2 or q.shape != k.shape or queue.dim() != 2 or queue.shape[1] != q.shape[1]:
        raise ValueError(f"q and k must be [N, D] and queue [K, D], got {list(q.shape)}, {list(k.shape)}, "
                         f"{list(queue.shape)}")
    q = F.normalize(q, dim=1)
    k = F.normalize(k.detach(), dim=1).to(q.dtype)
    positive = (q * k).sum(1, keepdim=True)  # [N, 1]
    negative = q @ queue.detach().to(q.dtype).T  # [N, K]
    return torch.cat([positive, negative], dim=1) / temperature
    # END SOLUTION


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
    # BEGIN SOLUTION
    if p1.dim() != 2 or not (p1.shape == p2.shape == z1.shape == z2.shape):
        raise ValueError(f"p1, p2, z1, z2 must be [N, D] of one shape, got {[list(t.shape) for t in (p1, p2, z1, z2)]}")
    if p1.shape[0] == 0:
        raise ValueError("the batch is empty (N = 0)")

    def term(p: Tensor, z: Tensor) -> Tensor:
        return 2 - 2 * F.cosine_similarity(p, z.detach(), dim=1, eps=1e-12)

    return (term(p1, z2) + term(p2, z1)).mean()
    # END SOLUTION


def cosine_momentum(step: int, total_steps: int, base_momentum: float = 0.996, final_momentum: float = 1.0) -> float:
    """BYOL's momentum schedule: ``m = m_final - (m_final - m_base) (cos(pi k / K) + 1) / 2``
    at step ``k`` of ``K``: ``m_base`` at k = 0, ``m_final`` at k = K.

    Raises:
        ValueError: ``total_steps < 1`` or ``step`` outside 0..total_steps.
    """
    # BEGIN SOLUTION
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0 <= step <= total_steps:
        raise ValueError(f"step must be in 0..{total_steps}, got {step}")
    return final_momentum - (final_momentum - base_momentum) * (math.cos(math.pi * step / total_steps) + 1) / 2
    # END SOLUTION
