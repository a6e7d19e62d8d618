"""Tasks `fixmatch` (confidence-masked pseudo-labels) and `self_training` (the classical loop)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import describe, float_tensor, probability

__all__ = ["pseudo_labels", "fixmatch_loss", "semi_supervised_loss", "fit_logistic_regression",
           "logistic_predict_proba", "self_training_linear"]


def pseudo_labels(logits: torch.Tensor, threshold: float = 0.95) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hard pseudo-labels with their confidence and the confidence mask (FixMatch).

    ``p = softmax(logits, 1)``; the pseudo-label is ``argmax_c p_c`` (the first on ties), its
    confidence ``max_c p_c``, and the mask keeps it when ``confidence >= threshold`` (FixMatch's
    ``ge``: a confidence equal to the threshold is kept). Nothing here carries a gradient.

    Args:
        logits (Tensor[N, C]): floating point, N may be 0.
        threshold (float): in [0, 1].

    Returns:
        (labels, confidence, mask): ``Tensor[N]`` int64, ``Tensor[N]`` of ``logits``' dtype
        (detached), ``Tensor[N]`` bool; on ``logits``' device.

    Raises:
        TypeError: ``logits`` is not a floating-point tensor, ``threshold`` not a real number
            (e.g. a string or a bool).
        ValueError: ``logits`` is not 2-D, ``threshold`` outside [0, 1].
    """
    raise NotImplementedError("pseudo_labels: implement me (see README.md, section `fixmatch`)")


def fixmatch_loss(logits_weak: torch.Tensor, logits_strong: torch.Tensor, threshold: float = 0.95) -> torch.Tensor:
    """The unlabeled loss of FixMatch.

    Pseudo-labels and the mask come from the weak view (:func:`pseudo_labels`, no gradient flows
    into ``logits_weak``); the cross-entropy of the strong view against them counts where the
    mask is True, averaged over **all** ``N`` unlabeled samples (FixMatch divides by ``mu B``,
    not by the number of confident ones):
    ``l_u = (1 / N) sum_i 1[max p_i >= tau] CE(logits_strong_i, argmax p_i)``. ``N = 0`` gives 0.

    Args:
        logits_weak (Tensor[N, C]): logits of the weakly augmented view.
        logits_strong (Tensor[N, C]): logits of the strongly augmented view (same shape).
        threshold (float): the confidence threshold tau in [0, 1].

    Returns:
        Tensor[]: the loss, ``logits_strong``' dtype; differentiable in ``logits_strong`` only.

    Raises:
        TypeError: a non-floating-point input.
        ValueError: inputs not 2-D or of different shapes, ``threshold`` outside [0, 1].
    """
    raise NotImplementedError("fixmatch_loss: implement me (see README.md, section `fixmatch`)")


def semi_supervised_loss(logits_labeled: torch.Tensor, labels: torch.Tensor, logits_weak: torch.Tensor,
                         logits_strong: torch.Tensor, threshold: float = 0.95,
                         unlabeled_weight: float = 1.0) -> torch.Tensor:
    """FixMatch's total loss ``l_s + lambda_u * l_u``.

    ``l_s`` is the mean cross-entropy of ``logits_labeled`` against ``labels``; ``l_u`` is
    :func:`fixmatch_loss`; ``lambda_u = unlabeled_weight`` (0 gives the supervised-only loss).

    Args:
        logits_labeled (Tensor[B, C]): logits of the labeled batch (B >= 1).
        labels (Tensor[B]): int64 class indices in [0, C).
        logits_weak, logits_strong (Tensor[N, C]): the unlabeled batch's two views (N may be 0).
        threshold (float): in [0, 1].
        unlabeled_weight (float): ``lambda_u >= 0``.

    Returns:
        Tensor[]: the loss, differentiable in ``logits_labeled`` and ``logits_strong``.

    Raises:
        TypeError: wrong tensor dtypes.
        ValueError: wrong shapes, an empty labeled batch, labels out of range, a negative
            ``unlabeled_weight``, ``threshold`` outside [0, 1].
    """
    raise NotImplementedError("semi_supervised_loss: implement me (see README.md, section `fixmatch`)")


def fit_logistic_regression(x: torch.Tensor, y: torch.Tensor, num_classes: int,
                            C: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """L2-regularised logistic regression, fitted to convergence (given code, not graded).

    Minimises ``C * sum_i CE_i + 0.5 * ||W||^2`` (the intercept is not penalised), like
    scikit-learn's ``LogisticRegression(C=C)`` with the lbfgs solver: two classes use one weight
    vector ``w`` (the sigmoid model, returned as ``W = [0, w]``, ``b = [0, b1]``), more classes
    the multinomial softmax model. Computed in float64 with Newton's method.

    Args:
        x (Tensor[N, D]): floating point.
        y (Tensor[N]): int64 class indices in [0, num_classes).
        num_classes (int): K >= 2.
        C (float): inverse regularisation strength (> 0).

    Returns:
        (weight, bias): ``Tensor[K, D]`` and ``Tensor[K]``, float64; the class probabilities of
        a point are ``softmax(x @ weight.T + bias)`` (:func:`logistic_predict_proba`).
    """
    x = x.detach().double()
    n, d = x.shape
    binary = num_classes == 2
    rows = 1 if binary else num_classes
    xt = torch.cat([x, x.new_ones(n, 1)], 1)  # [N, D + 1], the intercept last
    target = F.one_hot(y, num_classes).double()[:, 1:] if binary else F.one_hot(y, num_classes).double()
    reg = torch.ones(d + 1, dtype=torch.float64)
    reg[-1] = 0.0  # the intercept is not penalised
    reg = reg.repeat(rows)  # [rows * (D + 1)]
    theta = torch.zeros(rows * (d + 1), dtype=torch.float64)

    def probs(theta):
        z = xt @ theta.view(rows, d + 1).T  # [N, rows]
        return torch.sigmoid(z) if binary else torch.softmax(z, 1)

    def objective(theta):
        z = xt @ theta.view(rows, d + 1).T
        data = F.binary_cross_entropy_with_logits(z, target, reduction="sum") if binary \
            else -(torch.log_softmax(z, 1) * target).sum()
        return C * data + 0.5 * (reg * theta * theta).sum()

    # Newton's method with backtracking: the objective is smooth and convex, so a few steps
    # reach machine precision (pinv copes with the multinomial intercepts' gauge freedom)
    value = objective(theta)
    for _ in range(100):
        p = probs(theta)  # [N, rows]
        grad = C * ((p - target).T @ xt).flatten() + reg * theta
        if binary:
            hess = C * (xt.T * (p[:, 0] * (1 - p[:, 0]))) @ xt
        else:
            cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # [N, K, K]
            hess = C * torch.einsum("nkl,ni,nj->kilj", cov, xt, xt).reshape(rows * (d + 1), rows * (d + 1))
        hess = hess + torch.diag(reg)
        step = torch.linalg.pinv(hess, hermitian=True) @ grad
        t = 1.0
        while t > 1e-10:
            candidate = theta - t * step
            new_value = objective(candidate)
            if new_value <= value:
                break
            t *= 0.5
        theta, converged = candidate, bool(value - new_value <= 1e-15 * max(1.0, abs(float(value))))
        value = new_value
        if converged or float(grad.abs().max()) < 1e-12:
            break
    w, b = theta.view(rows, d + 1)[:, :d].clone(), theta.view(rows, d + 1)[:, d].clone()
    if binary:
        w = torch.cat([torch.zeros_like(w), w])
        b = torch.cat([torch.zeros_like(b), b])
    return w, b


def logistic_predict_proba(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Class probabilities ``softmax(x @ weight.T + bias)`` of a fitted model (given code).

    Args:
        x (Tensor[N, D]); weight (Tensor[K, D]); bias (Tensor[K]).

    Returns:
        Tensor[N, K]: float64 probabilities.
    """
    return torch.softmax(x.double() @ weight.double().T + bias.double(), dim=1)


def self_training_linear(x: torch.Tensor, y: torch.Tensor, threshold: float = 0.75,
                         max_iter: int | None = 10, C: float = 1.0) -> dict:
    """Classical self-training around a logistic regression, like scikit-learn's
    ``SelfTrainingClassifier(LogisticRegression(C=C), criterion="threshold",
    threshold=threshold, max_iter=max_iter)``.

    ``y == -1`` marks unlabeled samples. While some sample is unlabeled and fewer than
    ``max_iter`` iterations ran (``None``: no limit): count the iteration (``n_iter += 1``), fit
    :func:`fit_logistic_regression` on the labeled samples (their given or pseudo labels), predict
    the unlabeled ones, and label those whose largest probability is **strictly** greater than
    ``threshold`` with their most likely class, recording the iteration in ``labeled_iter``;
    stop early when none is selected. Then fit once more on all labeled samples: that model is
    returned. The classes are the distinct labels of the initially labeled samples (pseudo-labels
    only take these values; probabilities are over these classes, in increasing order).

    Args:
        x (Tensor[N, D]): floating point.
        y (Tensor[N]): int64 labels, ``-1`` = unlabeled; at least two distinct labels >= 0.
        threshold (float): in [0, 1).
        max_iter (int or None): >= 0, or ``None``.
        C (float): the logistic regression's inverse regularisation strength (> 0).

    Returns:
        dict: ``"labels"`` (``Tensor[N]`` int64: the given labels, the pseudo-labels, ``-1`` for
        samples never labeled; scikit-learn's ``transduction_``), ``"labeled_iter"``
        (``Tensor[N]`` int64: 0 for given labels, the iteration that labeled a sample, ``-1`` if
        never), ``"n_iter"`` (int), ``"weight"`` (``Tensor[K, D]``) and ``"bias"``
        (``Tensor[K]``) of the final model (float64, K classes in increasing label order, see
        :func:`fit_logistic_regression`).

    Raises:
        TypeError: wrong dtypes.
        ValueError: wrong shapes, labels below -1, fewer than two classes, ``threshold`` outside
            [0, 1), ``max_iter`` < 0, ``C`` <= 0.
    """
    raise NotImplementedError("self_training_linear: implement me (see README.md, section `self_training`)")
