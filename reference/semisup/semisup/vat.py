"""Task `vat`: virtual adversarial training."""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from ._checks import describe, float_tensor

__all__ = ["mlp_logits", "kl_div_logits", "vat_direction", "vat_loss"]


def mlp_logits(x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """A tanh MLP given by its weights (given code; the model the VAT tests use).

    ``x`` is flattened to ``[N, D]``; each hidden layer is ``h = tanh(h @ W.T + b)``, the last
    layer is linear: ``weights = [W1, b1, W2, b2, ..., WL, bL]``.

    Args:
        x (Tensor[N, ...]): floating point.
        weights (list of Tensors): ``W_l`` of shape ``[out, in]`` and ``b_l`` of shape ``[out]``.

    Returns:
        Tensor[N, C]: the logits.
    """
    if len(weights) < 2 or len(weights) % 2:
        raise ValueError(f"weights must be [W1, b1, ..., WL, bL], got {len(weights)} tensors")
    h = x.flatten(1)
    for i in range(0, len(weights), 2):
        h = h @ weights[i].T + weights[i + 1]
        if i + 2 < len(weights):
            h = torch.tanh(h)
    return h


def _model(model) -> Callable[[torch.Tensor], torch.Tensor]:
    if callable(model):
        return model
    if isinstance(model, (list, tuple)) and all(isinstance(w, torch.Tensor) for w in model):
        return lambda x: mlp_logits(x, model)
    raise TypeError(f"model must be a callable or a list of weight tensors for mlp_logits, got {describe(model)}")


def kl_div_logits(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """``KL(p || q)`` with ``p = softmax(logits_p)``, ``q = softmax(logits_q)`` over dim 1,
    summed over classes and averaged over the batch (``F.kl_div``'s ``"batchmean"``).

    Args:
        logits_p (Tensor[N, C]), logits_q (Tensor[N, C]): floating point, same shape; N may be 0
            (the result is then 0).

    Returns:
        Tensor[]: ``(1/N) sum_i sum_c p_ic (log p_ic - log q_ic)``, differentiable in both.

    Raises:
        TypeError, ValueError: non-floating inputs, not 2-D, different shapes.
    """
    # BEGIN SOLUTION
    float_tensor("logits_p", logits_p, 2, 2)
    float_tensor("logits_q", logits_q, 2, 2)
    if logits_p.shape != logits_q.shape:
        raise ValueError(f"logits_q must have the shape of logits_p {list(logits_p.shape)}, got {list(logits_q.shape)}")
    log_p = torch.log_softmax(logits_p, dim=1)
    log_q = torch.log_softmax(logits_q, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1)  # [N]
    return kl.sum() / max(kl.shape[0], 1)
    # END SOLUTION


def _unit(d: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    norm = d.flatten(1).norm(dim=1).clamp(min=1e-12)  # [N]
    return d / norm.view(-1, *([1] * (d.dim() - 1)))
    # END SOLUTION


def vat_direction(model, x: torch.Tensor, xi: float = 1e-6, power_iterations: int = 1,
                  d: torch.Tensor | None = None) -> torch.Tensor:
    """The virtual adversarial direction by power iteration with finite differences.

    With ``p = softmax(model(x))`` held fixed (no gradient) and ``D(r) = KL(p || softmax(model(x + r)))``
    (:func:`kl_div_logits`, batch mean), the direction maximising ``D`` for a small ``r`` is the
    top eigenvector of the Hessian ``H = d^2 D / dr^2`` at ``r = 0`` (the gradient there is 0).
    Starting from ``d`` (standard normal when ``None``), repeat ``power_iterations`` times:
    ``d <- unit(d)``, ``g = grad_r D(r)`` at ``r = xi * d`` (``g ~ xi H d``), ``d <- g``; return
    ``unit(d)``. ``unit`` normalises **each sample** to L2 norm 1 over all its non-batch entries
    (norms clamped at 1e-12). ``model``'s parameters receive no gradient.

    Args:
        model (callable or list of Tensors): maps ``x`` to logits ``[N, C]``; a list of tensors
            means :func:`mlp_logits` with those weights.
        x (Tensor[N, ...]): floating-point inputs.
        xi (float): the finite-difference step (> 0).
        power_iterations (int): >= 1.
        d (Tensor or None): the initial random direction, ``x``'s shape (injectable for tests),
            any float dtype: cast to ``x``'s dtype before the first normalisation (the whole
            iteration runs in ``x``'s dtype);
            ``None`` draws ``torch.randn_like(x)``.

    Returns:
        Tensor: ``x``'s shape and dtype, every sample of norm 1, detached.

    Raises:
        TypeError: ``x`` not floating point, ``model`` neither callable nor a list of tensors.
        ValueError: ``xi`` <= 0, ``power_iterations`` < 1, ``d`` of the wrong shape.
    """
    # BEGIN SOLUTION
    forward = _model(model)
    float_tensor("x", x, 2)
    if not xi > 0:
        raise ValueError(f"xi must be > 0, got {xi!r}")
    if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) or power_iterations < 1:
        raise ValueError(f"power_iterations must be an int >= 1, got {power_iterations!r}")
    if d is None:
        d = torch.randn_like(x)
    elif not isinstance(d, torch.Tensor) or d.shape != x.shape:
        raise ValueError(f"d must be a tensor of x's shape {list(x.shape)}, got {describe(d)}")
    x = x.detach()
    with torch.no_grad():
        clean = forward(x)  # [N, C]
    d = d.detach().to(x.dtype)
    for _ in range(power_iterations):
        r = (xi * _unit(d)).requires_grad_(True)
        with torch.enable_grad():
            distance = kl_div_logits(clean, forward(x + r))
            (d,) = torch.autograd.grad(distance, [r])
    return _unit(d).detach()
    # END SOLUTION


def vat_loss(model, x: torch.Tensor, eps: float = 1.0, xi: float = 1e-6, power_iterations: int = 1,
             d: torch.Tensor | None = None) -> torch.Tensor:
    """The VAT loss ``KL(p(x) || p(x + r_adv))`` with ``r_adv = eps * vat_direction(...)``.

    The clean prediction ``p(x)`` is a constant (detached) and so is ``r_adv``; the gradient
    flows through ``model(x + r_adv)`` only (into ``x`` and the model's parameters).

    Args:
        model, x, xi, power_iterations, d: as in :func:`vat_direction`.
        eps (float): the perturbation's L2 norm per sample (> 0).

    Returns:
        Tensor[]: :func:`kl_div_logits` of the clean and perturbed logits (batch mean).

    Raises:
        as :func:`vat_direction`; ValueError: ``eps`` <= 0.
    """
    # BEGIN SOLUTION
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    forward = _model(model)
    r_adv = eps * vat_direction(forward, x, xi=xi, power_iterations=power_iterations, d=d)
    clean = forward(x).detach()
    return kl_div_logits(clean, forward(x + r_adv))
    # END SOLUTION
