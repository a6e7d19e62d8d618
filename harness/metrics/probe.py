"""Trusted evaluators of frozen features: weighted k-NN and a linear probe.

Both are deterministic (no sampling, float64, a fixed number of full-batch L-BFGS steps), so a
regrade gives the same number.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check(features: torch.Tensor, labels: torch.Tensor, name: str) -> None:
    if features.dim() != 2 or labels.dim() != 1 or features.shape[0] != labels.shape[0]:
        raise ValueError(f"{name}: features must be [N, D] and labels [N], got {list(features.shape)} "
                         f"and {list(labels.shape)}")


def knn_accuracy(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor,
                 test_labels: torch.Tensor, *, k: int = 20, temperature: float = 0.07) -> float:
    """Weighted k-NN on L2-normalised features (Wu et al. 2018, as in DINO's evaluation):
    each of the k most similar training samples votes for its class with weight exp(sim / T).
    The feature bank is ``train`` as [N, D] rows; ties in similarity go to the lower index."""
    _check(train, train_labels, "train")
    _check(test, test_labels, "test")
    train = F.normalize(train.double(), dim=1)
    test = F.normalize(test.double(), dim=1)
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    k = min(k, train.shape[0])
    sim = test @ train.T  # [M, N]
    # a stable sort keeps tied similarities in bank order (topk's order among ties is undefined)
    top, idx = (t[:, :k] for t in torch.sort(sim, dim=1, descending=True, stable=True))  # [M, k]
    weights = (top / temperature).exp()  # [M, k]
    votes = torch.zeros(test.shape[0], num_classes, dtype=torch.float64)
    votes.scatter_add_(1, train_labels[idx], weights)
    return float((votes.argmax(1) == test_labels).double().mean())


def linear_probe_logits(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, num_classes: int,
                        *, weight_decay: float = 1e-4, steps: int = 100) -> torch.Tensor:
    """float64 ``[M, num_classes]`` logits of ``test`` under a multinomial logistic regression on
    standardised features (train statistics), fitted by full-batch L-BFGS from zero weights."""
    train, test = train.double(), test.double()
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    x, xt = (train - mean) / std, (test - mean) / std
    w = torch.zeros(x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ w + b, train_labels) + weight_decay * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return xt @ w + b


def linear_probe_accuracy(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor,
                          test_labels: torch.Tensor, *, weight_decay: float = 1e-4, steps: int = 100) -> float:
    """Accuracy of :func:`linear_probe_logits` with as many classes as either label set names."""
    _check(train, train_labels, "train")
    _check(test, test_labels, "test")
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    logits = linear_probe_logits(train, train_labels, test, num_classes, weight_decay=weight_decay, steps=steps)
    return float((logits.argmax(1) == test_labels).double().mean())


PROBES = {"knn": knn_accuracy, "linear": linear_probe_accuracy}
