"""Evaluating frozen features: weighted k-NN and a linear probe (task `evaluation`). The grader
scores your pre-trained encoder with trusted versions of these two."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["knn_classify", "linear_probe"]


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
    raise NotImplementedError("knn_classify: implement me (see README.md, section `evaluation`)")


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
    raise NotImplementedError("linear_probe: implement me (see README.md, section `evaluation`)")
