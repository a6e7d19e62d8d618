"""Evaluating frozen features: weighted k-NN and a linear probe (task `evaluation`). The grader
scores your pre-trained encoder with trusted versions of these two."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["knn_classify", "linear_probe"]


# BEGIN SOLUTION
def _check(features: Tensor, labels: Tensor | None, name: str) -> None:
    if features.dim() != 2:
        raise ValueError(f"{name} must be [N, D], got shape {list(features.shape)}")
    if labels is not None and (labels.dim() != 1 or labels.shape[0] != features.shape[0]):
        raise ValueError(f"labels must be [N] = [{features.shape[0]}], got {list(labels.shape)}")
# END SOLUTION


def knn_classify(train_features: Tensor, train_labels: Tensor, test_features: Tensor, k: int = 20,
                 temperature: float = 0.07, num_classes: int | None = None) -> tuple[Tensor, Tensor]:
    """Weighted k-NN (Wu et al. 2018; DINO's evaluation) on L2-normalised features.

    The feature bank is ``train_features`` as [N, D] rows (lightly and DINO's code keep it
    transposed, [D, N]). For each test row, the cosine similarity to every bank row; the ``k``
    most similar (``min(k, N)``; ties to the lower bank index) vote for their labels with weight
    ``exp(sim / T)``; the prediction is the class with the largest total vote (ties: the lower
    class). Computed in float64.

    Args:
        train_features (Tensor[N, D]), train_labels (Tensor[N] int64), test_features (Tensor[M, D]).
        k (int): >= 1. temperature (float): T > 0.
        num_classes (int or None): C; None: ``train_labels.max() + 1``.

    Returns:
        (Tensor[M] int64, Tensor[M, C] float64): predictions and votes.

    Raises:
        ValueError: shapes, N = 0, ``k < 1``, ``temperature <= 0``, or a label outside 0..C-1.
    """
    # BEGIN SOLUTION
    _check(train_features, train_labels, "train_features")
    _check(test_features, None, "test_features")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"feature dimensions differ: {train_features.shape[1]} and {test_features.shape[1]}")
    if train_features.shape[0] == 0:
        raise ValueError("the feature bank is empty (N = 0)")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    c = int(train_labels.max()) + 1 if num_classes is None else num_classes
    if int(train_labels.min()) < 0 or int(train_labels.max()) >= c:
        raise ValueError(f"train_labels must be in 0..{c - 1}")
    bank = F.normalize(train_features.double(), dim=1)  # [N, D]
    queries = F.normalize(test_features.double(), dim=1)  # [M, D]
    sim = queries @ bank.T  # [M, N]
    # topk's order among equal similarities is implementation-defined; a stable sort keeps ties
    # in bank order, as documented
    top, idx = (t[:, :min(k, bank.shape[0])] for t in torch.sort(sim, dim=1, descending=True, stable=True))
    votes = torch.zeros(queries.shape[0], c, dtype=torch.float64, device=sim.device)
    votes.scatter_add_(1, train_labels.to(sim.device)[idx], (top / temperature).exp())
    return votes.argmax(1), votes
    # END SOLUTION


def linear_probe(train_features: Tensor, train_labels: Tensor, test_features: Tensor,
                 weight_decay: float = 1e-4, steps: int = 100) -> Tensor:
    """A linear probe on frozen features: multinomial logistic regression.

    Everything is computed in float64: the features are cast to float64 first, then
    standardised with the training split's mean and (unbiased) std, the std clamped below at
    1e-6 (one training sample has no unbiased std: it is taken as 1). The objective,
    ``mean_i CE(x_i W + b, y_i) + weight_decay * ||W||^2`` (b not penalised), is minimised in
    float64 from zero weights with full-batch L-BFGS
    (``torch.optim.LBFGS(lr=1, max_iter=steps, line_search_fn="strong_wolfe")``, one ``step``).
    The objective is strictly convex in W, so any converged solver gives the same probabilities.

    Args:
        train_features (Tensor[N, D]), train_labels (Tensor[N] int64), test_features (Tensor[M, D]).
        weight_decay (float): >= 0. steps (int): >= 1.

    Returns:
        Tensor[M, C] float64: class probabilities of the test rows, C = ``train_labels.max() + 1``.

    Raises:
        ValueError: shapes, N = 0, ``weight_decay < 0`` or ``steps < 1``.
    """
    # BEGIN SOLUTION
    _check(train_features, train_labels, "train_features")
    _check(test_features, None, "test_features")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"feature dimensions differ: {train_features.shape[1]} and {test_features.shape[1]}")
    if train_features.shape[0] == 0:
        raise ValueError("no training features (N = 0)")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    x, xt = train_features.double(), test_features.double()
    mean = x.mean(0)
    std = (x.std(0) if x.shape[0] > 1 else torch.ones_like(mean)).clamp_min(1e-6)
    x, xt = (x - mean) / std, (xt - mean) / std
    y = train_labels.to(x.device)
    c = int(y.max()) + 1
    w = torch.zeros(x.shape[1], c, dtype=torch.float64, device=x.device, requires_grad=True)
    b = torch.zeros(c, dtype=torch.float64, device=x.device, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ w + b, y) + weight_decay * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return F.softmax(xt @ w + b, dim=1)
    # END SOLUTION
