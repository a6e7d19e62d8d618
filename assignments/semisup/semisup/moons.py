"""Task `moons`: FixMatch-style self-training of a small MLP on 2-D points (two moons)."""

from __future__ import annotations

import torch
from torch import nn

from ._checks import describe, float_tensor
from .pseudo import pseudo_labels, semi_supervised_loss

__all__ = ["make_mlp", "train_self_training"]


def make_mlp(in_features: int = 2, hidden: int = 32, num_classes: int = 2) -> nn.Module:
    """The model of the task (given code): ``Linear-ReLU-Linear-ReLU-Linear``."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))


def train_self_training(x_labeled: torch.Tensor, y_labeled: torch.Tensor, x_unlabeled: torch.Tensor,
                        x_query: torch.Tensor, seed: int = 0, steps: int = 400, threshold: float = 0.95,
                        unlabeled_weight: float = 1.0, weak_noise: float = 0.05, strong_noise: float = 0.25,
                        lr: float = 0.01) -> dict:
    """Train :func:`make_mlp` with FixMatch-style self-training, then predict ``x_query``.

    Deterministic given ``seed``: ``torch.manual_seed(seed)`` before building the model, and a
    ``torch.Generator`` seeded with ``seed`` for every augmentation. Each of the ``steps`` full-batch
    Adam steps (learning rate ``lr``) uses, with fresh Gaussian noise each step:

    * the labeled points with weak noise (std ``weak_noise``) for the supervised cross-entropy;
    * a weak view (std ``weak_noise``) of every unlabeled point for the pseudo-labels and their
      confidence mask, and a strong view (std ``strong_noise``) for the masked loss;
    * :func:`semi_supervised_loss` with ``threshold`` and ``unlabeled_weight`` (0: supervised only).

    The noise of a step is drawn in the order above (labeled, weak, strong), each as
    ``torch.randn(x.shape, generator=gen)``, at every step, also when ``unlabeled_weight == 0``
    (unlike ``train_fixmatch_digits``, which skips those draws); the pseudo-labels come from the
    model's logits of the weak view computed under ``torch.no_grad()`` before the step. The
    grader's accuracy check reruns this exact run on the trusted side and compares the predictions
    point by point.

    Args:
        x_labeled (Tensor[L, 2]), y_labeled (Tensor[L]) (int64 in {0, 1}), x_unlabeled (Tensor[U, 2]),
        x_query (Tensor[Q, 2]): float32 points. L >= 1; U and Q may be 0.
        seed (int), steps (int >= 1), threshold (float in [0, 1]), unlabeled_weight (float >= 0),
        weak_noise, strong_noise (float >= 0), lr (float > 0): as above.

    Returns:
        dict: ``"predictions"`` (``Tensor[Q]`` int64, the trained model's classes of ``x_query``),
        ``"pseudo_labels"`` (``Tensor[U]`` int64) and ``"mask"`` (``Tensor[U]`` bool): the trained
        model's :func:`pseudo_labels` of the clean unlabeled points, and ``"losses"``
        (``Tensor[steps]`` float32: the total loss of every step, the training curve).

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, bad hyper-parameters.
    """
    raise NotImplementedError("train_self_training: implement me (see README.md, section `moons`)")
