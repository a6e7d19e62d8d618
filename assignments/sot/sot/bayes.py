"""Bayesian tracking: a discrete-grid (HMM) forward filter and a particle filter.

Grid filter. The hidden state is one of ``S`` cells; ``transition[i, j] = p(x_t = j | x_{t-1} = i)``
(rows sum to 1); ``likelihood[j] = p(z_t | x_t = j)``. One step is

    predict:  prior[j]     = sum_i belief[i] * transition[i, j]          (prior = transition^T belief)
    update:   posterior[j] = likelihood[j] * prior[j] / c,   c = sum_j likelihood[j] * prior[j]

and ``c = p(z_t | z_{1:t-1})``, so ``sum_t log c_t = log p(z_{1:T})``.

Particle filter. ``N`` particles ``[N, D]`` with weights ``[N]``: propagate by a random walk,
reweight by a likelihood (in the log domain), resample systematically when the effective
sample size drops.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["grid_transition", "hmm_predict", "hmm_update", "hmm_forward", "propagate_particles",
           "reweight", "effective_sample_size", "systematic_resample", "resample_if_needed",
           "weighted_mean"]


def grid_transition(height: int, width: int, sigma: float, *, dtype: torch.dtype = torch.float64) -> Tensor:
    """The motion model of a 2-D grid of ``S = height * width`` cells as an ``[S, S]`` matrix.

    Cell ``s = r * width + c`` (row-major) sits at (row ``r``, column ``c``). From cell ``i``
    the target moves to cell ``j`` with probability proportional to
    ``exp(-((r_i - r_j)^2 + (c_i - c_j)^2) / (2 sigma^2))``, normalised over the ``j`` of the grid
    (each row sums to 1; there is no mass outside the grid).

    Args:
        height (int): rows of the grid (>= 1).
        width (int): columns of the grid (>= 1).
        sigma (float): standard deviation of a move in cells (> 0).
        dtype (torch.dtype): a floating-point dtype of the result.

    Returns:
        Tensor[S, S]: ``transition[i, j] = p(x_t = j | x_{t-1} = i)``.

    Raises:
        ValueError: ``height`` or ``width`` < 1, or ``sigma`` <= 0.
    """
    raise NotImplementedError("grid_transition: implement me (see README.md, section `bayes`)")


def hmm_predict(belief: Tensor, transition: Tensor) -> Tensor:
    """Predict step: ``prior[j] = sum_i belief[i] * transition[i, j]``.

    Args:
        belief (Tensor[S]): ``p(x_{t-1} | z_{1:t-1})``, sums to 1.
        transition (Tensor[S, S]): ``transition[i, j] = p(x_t = j | x_{t-1} = i)``.

    Returns:
        Tensor[S]: ``p(x_t | z_{1:t-1})``, in the promoted dtype of the inputs.

    Raises:
        ValueError: the shapes do not match (``belief`` [S], ``transition`` [S, S]).
    """
    raise NotImplementedError("hmm_predict: implement me (see README.md, section `bayes`)")


def hmm_update(prior: Tensor, likelihood: Tensor) -> tuple[Tensor, Tensor]:
    """Update step: ``posterior = likelihood * prior / c`` with ``c = sum(likelihood * prior)``.

    Args:
        prior (Tensor[S]): ``p(x_t | z_{1:t-1})``.
        likelihood (Tensor[S]): ``p(z_t | x_t)`` per state, >= 0.

    Returns:
        tuple[Tensor[S], Tensor[]]: the posterior (sums to 1) and the evidence ``c`` (a 0-d
        tensor), both in the promoted dtype.

    Raises:
        ValueError: the shapes differ, or ``c == 0`` (the observation is impossible under the
            prior: the message says so).
    """
    raise NotImplementedError("hmm_update: implement me (see README.md, section `bayes`)")


def hmm_forward(initial: Tensor, transition: Tensor, likelihoods: Tensor) -> tuple[Tensor, Tensor]:
    """The forward filter over ``T`` observations.

    Frame 0 has no predict step: ``belief_0 = update(initial, likelihoods[0])``; then
    ``belief_t = update(predict(belief_{t-1}), likelihoods[t])`` for ``t = 1 .. T-1``.

    Args:
        initial (Tensor[S]): ``p(x_0)`` before the first observation.
        transition (Tensor[S, S]): as in :func:`hmm_predict`.
        likelihoods (Tensor[T, S]): ``p(z_t | x_t = s)``.

    Returns:
        tuple[Tensor[T, S], Tensor[]]: the filtered beliefs ``p(x_t | z_{0:t})`` and
        ``log p(z_{0:T-1}) = sum_t log c_t``. With ``T = 0``: ``Tensor[0, S]`` and 0.

    Raises:
        ValueError: shapes that do not match, or an impossible observation (see :func:`hmm_update`).
    """
    raise NotImplementedError("hmm_forward: implement me (see README.md, section `bayes`)")


def propagate_particles(particles: Tensor, std: Tensor | float, *, noise: Tensor | None = None,
                        seed: int | None = None) -> Tensor:
    """Random-walk motion: ``particles + std * noise`` with standard-normal ``noise``.

    Args:
        particles (Tensor[N, D]): the particle states.
        std (Tensor[D] | float): the standard deviation per dimension (>= 0); a float is that
            number in the particles' dtype (not a float32 tensor first).
        noise (Tensor[N, D] | None): the standard-normal draws to use (injected for exact
            grading); ``None`` draws ``torch.randn(N, D, generator=torch.Generator().manual_seed(seed))``
            in float32 on the CPU (the global generator when ``seed`` is ``None``), cast to the
            particles' dtype and device.
        seed (int | None): used only when ``noise`` is ``None``.

    Returns:
        Tensor[N, D]: the propagated particles, a new tensor of the particles' dtype.

    Raises:
        ValueError: ``noise`` of another shape, or a negative ``std``.
    """
    raise NotImplementedError("propagate_particles: implement me (see README.md, section `bayes`)")


def reweight(weights: Tensor, log_likelihood: Tensor) -> Tensor:
    """Bayes' rule on the particles: ``w_i' = w_i * exp(l_i) / sum_j w_j * exp(l_j)``.

    Computed in the log domain (subtract the maximum of ``log w + l`` before ``exp``), so that
    log-likelihoods of -1000 or +1000 give the right weights instead of 0/0 or inf/inf.

    Args:
        weights (Tensor[N]): current weights, >= 0, not all 0 (need not sum to 1).
        log_likelihood (Tensor[N]): ``log p(z | x_i)``; ``-inf`` is allowed (weight 0).

    Returns:
        Tensor[N]: normalised weights (sum 1) in the promoted dtype.

    Raises:
        ValueError: shapes differ, a negative weight, or every ``w_i * p(z | x_i)`` is 0.
    """
    raise NotImplementedError("reweight: implement me (see README.md, section `bayes`)")


def effective_sample_size(weights: Tensor) -> Tensor:
    """``ESS = (sum_i w_i)^2 / sum_i w_i^2`` (``1 / sum w_i^2`` for normalised weights).

    Args:
        weights (Tensor[N]): weights >= 0, not all 0.

    Returns:
        Tensor[]: a 0-d tensor of the weights' dtype, between 1 and N.

    Raises:
        ValueError: ``weights`` is empty, negative somewhere, or all 0.
    """
    raise NotImplementedError("effective_sample_size: implement me (see README.md, section `bayes`)")


def systematic_resample(weights: Tensor, *, u: float | None = None, seed: int | None = None) -> Tensor:
    """Systematic resampling: ``N`` indices drawn with one uniform number.

    With ``C`` the cumulative sums of the weights divided by their total (so ``C[N-1] = 1``)
    and the ``N`` positions ``p_k = (u + k) / N``, ``k = 0 .. N-1``, index ``i`` is chosen for
    ``p_k`` when ``C[i-1] <= p_k < C[i]`` (``C[-1] = 0``): the ``searchsorted(C, p, right=True)``
    convention. Particle ``i`` is drawn ``floor(N w_i)`` or ``ceil(N w_i)`` times (normalised
    ``w``); the indices come out sorted. Computed in float64 whatever the weights' dtype.

    Args:
        weights (Tensor[N]): weights >= 0 with a positive sum (need not be normalised).
        u (float | None): the uniform draw in [0, 1) (injected for exact grading); ``None``
            draws ``torch.rand((), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)``
            (the global generator when ``seed`` is ``None``).
        seed (int | None): used only when ``u`` is ``None``.

    Returns:
        Tensor[N]: int64 indices into the particles, non-decreasing, on the weights' device.

    Raises:
        ValueError: empty, negative or all-zero weights, or ``u`` outside [0, 1).
    """
    raise NotImplementedError("systematic_resample: implement me (see README.md, section `bayes`)")


def resample_if_needed(particles: Tensor, weights: Tensor, *, threshold: float = 0.5, u: float | None = None,
                       seed: int | None = None) -> tuple[Tensor, Tensor, bool]:
    """Resample when the effective sample size falls below ``threshold * N`` (strictly).

    Args:
        particles (Tensor[N, D]): the particles.
        weights (Tensor[N]): their weights (>= 0, positive sum).
        threshold (float): in [0, 1]; 0 never resamples, 1 resamples unless all weights are equal.
        u (float | None): the uniform draw of :func:`systematic_resample`.
        seed (int | None): as in :func:`systematic_resample`, used when ``u`` is ``None``.

    Returns:
        tuple[Tensor[N, D], Tensor[N], bool]: when resampled, ``particles[indices]`` with uniform
        weights ``1 / N`` (in the weights' dtype) and ``True``; else the inputs unchanged (the weights normalised) and
        ``False``.

    Raises:
        ValueError: ``threshold`` outside [0, 1], or particles and weights of different N.
    """
    raise NotImplementedError("resample_if_needed: implement me (see README.md, section `bayes`)")


def weighted_mean(particles: Tensor, weights: Tensor) -> Tensor:
    """The posterior mean ``sum_i w_i x_i / sum_i w_i``.

    Args:
        particles (Tensor[N, D]): the particles.
        weights (Tensor[N]): weights >= 0 with a positive sum.

    Returns:
        Tensor[D]: the mean, in the promoted dtype.

    Raises:
        ValueError: N differs, or the weights do not have a positive sum.
    """
    raise NotImplementedError("weighted_mean: implement me (see README.md, section `bayes`)")
