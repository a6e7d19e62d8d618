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
    # BEGIN SOLUTION
    for name, x in (("x_labeled", x_labeled), ("x_unlabeled", x_unlabeled), ("x_query", x_query)):
        float_tensor(name, x, 2, 2)
        if x.shape[1] != 2:
            raise ValueError(f"{name} must have shape [N, 2], got {list(x.shape)}")
    if not isinstance(y_labeled, torch.Tensor) or y_labeled.dtype != torch.int64:
        raise TypeError(f"y_labeled must be an int64 tensor, got {describe(y_labeled)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not (weak_noise >= 0 and strong_noise >= 0 and lr > 0):
        raise ValueError(f"weak_noise and strong_noise must be >= 0 and lr > 0, got {weak_noise!r}, "
                         f"{strong_noise!r}, {lr!r}")
    x_labeled, x_unlabeled, x_query = x_labeled.float(), x_unlabeled.float(), x_query.float()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = make_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = torch.zeros(steps)
    for step in range(steps):
        xl = x_labeled + weak_noise * torch.randn(x_labeled.shape, generator=gen)
        xw = x_unlabeled + weak_noise * torch.randn(x_unlabeled.shape, generator=gen)
        xs = x_unlabeled + strong_noise * torch.randn(x_unlabeled.shape, generator=gen)
        with torch.no_grad():
            logits_weak = model(xw)
        loss = semi_supervised_loss(model(xl), y_labeled, logits_weak, model(xs), threshold=threshold,
                                    unlabeled_weight=unlabeled_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[step] = loss.detach()
    with torch.no_grad():
        predictions = model(x_query).argmax(dim=1)
        labels, _, mask = pseudo_labels(model(x_unlabeled), threshold)
    return {"predictions": predictions, "pseudo_labels": labels, "mask": mask, "losses": losses}
    # END SOLUTION
