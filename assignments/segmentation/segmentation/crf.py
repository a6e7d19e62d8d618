"""Conditional random fields for labelling: an exact binary min-cut, and mean-field inference
in a fully connected CRF (Krähenbühl and Koltun, 2011).

Energy of a labelling ``l`` of the pixels:

    E(l) = sum_p U[l_p, p] + sum_{p ~ q} w_pq [l_p != l_q]            (Potts pairwise term)

With two labels and ``w_pq >= 0`` the energy is submodular and its minimum is a minimum s-t
cut: source side = label 0, sink side = label 1, edge ``s -> p`` with capacity ``U[1, p]``
(paid when ``p`` takes label 1), ``p -> t`` with ``U[0, p]``, and ``p <-> q`` with ``w``.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["potts_energy", "binary_mincut", "dense_crf_mean_field"]


def potts_energy(unary: Tensor, labels: Tensor, weight: float) -> Tensor:
    """``E(l) = sum_p unary[l_p, p] + weight * #{4-neighbour pairs (p, q) with l_p != l_q}``
    (each unordered pair counted once).

    Args:
        unary (Tensor[L, H, W]): cost of each label at each pixel, floating point, finite, ``L, H, W >= 1``.
        labels (Tensor[H, W]): int64 labels in ``[0, L)``.
        weight (float): Potts weight >= 0.

    Returns:
        Tensor: float64 scalar, computed in float64 (``unary`` upcast first; the number of
        unequal pairs times ``weight`` in float64).

    Raises:
        TypeError, ValueError: bad types, shapes, labels out of range or a negative weight.
    """
    raise NotImplementedError("potts_energy: implement me (see README.md, section `crf`)")


def binary_mincut(unary: Tensor, weight: float) -> Tensor:
    """The exact minimiser of the binary Potts energy (:func:`potts_energy` with two labels) on
    the 4-connected grid, by a minimum s-t cut (max-flow) that you implement (Edmonds-Karp or
    Dinic; no graph library).

    Build the graph of the module docstring (subtracting ``min(U[0, p], U[1, p])`` per pixel
    keeps the capacities non-negative and changes the energy by a constant). Label 0 goes to
    the pixels *reachable from the source in the residual graph* after the max-flow (the
    smallest minimum-cut source side), label 1 to all others: so where several labellings have
    the minimum energy, ties go to label 1. Capacities below ``1e-12 * max capacity`` count
    as saturated.

    Args:
        unary (Tensor[2, H, W]): finite costs of labels 0 and 1, ``H, W >= 1``.
        weight (float): Potts weight >= 0 on each of the ``H (W - 1) + (H - 1) W`` neighbour pairs.

    Capacities are computed in float64 (``unary`` upcast first), so the labels are the exact
    minimiser of :func:`potts_energy`'s float64 energy for float32 costs too.

    Returns:
        Tensor[H, W]: int64 labels in {0, 1}, on ``unary``'s device.

    Raises:
        TypeError, ValueError: ``unary`` is not ``[2, H, W]`` floating point and finite, or a
            negative weight.
    """
    raise NotImplementedError("binary_mincut: implement me (see README.md, section `crf`)")


def dense_crf_mean_field(unary: Tensor, image: Tensor, *, num_iters: int = 5, w_appearance: float = 1.0,
                         theta_alpha: float = 8.0, theta_beta: float = 0.1, w_smooth: float = 1.0,
                         theta_gamma: float = 3.0) -> Tensor:
    """Mean-field inference in a fully connected CRF with Gaussian kernels and Potts compatibility.

    Pixels ``i`` have positions ``p_i = (row, col)`` and colours ``I_i = image[:, row, col]``.
    For ``i != j`` (no self-message):

        k(i, j) = w_appearance * exp(-|p_i - p_j|^2 / (2 theta_alpha^2) - |I_i - I_j|^2 / (2 theta_beta^2))
                + w_smooth     * exp(-|p_i - p_j|^2 / (2 theta_gamma^2))

    ``Q^0 = softmax_l(-unary)``; then ``num_iters`` times, all pixels at once (parallel update):
    ``m_l(i) = sum_{j != i} k(i, j) Q_l(j)``, ``pairwise_l(i) = sum_{l' != l} m_{l'}(i)``
    (Potts: a penalty for every other label's message), ``Q = softmax_l(-unary - pairwise)``.
    A dense ``N x N`` kernel (or a blocked one) is fine for the sizes used here; a Python loop
    over pixels is not (speed check).

    Args:
        unary (Tensor[L, H, W]): unary energies (e.g. ``-log p``), floating point, ``L, H, W >= 1``.
        image (Tensor[C, H, W]): colours, same dtype.
        num_iters (int): >= 0 (0 returns ``Q^0``).
        w_appearance, w_smooth (float): kernel weights >= 0.
        theta_alpha, theta_beta, theta_gamma (float): bandwidths > 0.

    Returns:
        Tensor[L, H, W]: the marginals ``Q`` (each pixel sums to 1), dtype of ``unary``, the
        kernel (pixel positions included) computed in that dtype too.

    Raises:
        TypeError, ValueError: bad types, shapes, or parameters out of range.
    """
    raise NotImplementedError("dense_crf_mean_field: implement me (see README.md, section `crf`)")
