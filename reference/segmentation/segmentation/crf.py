"""Conditional random fields for labelling: an exact binary min-cut, and mean-field inference
in a fully connected CRF (Krähenbühl and Koltun, 2011).

Energy of a labelling ``l`` of the pixels:

    E(l) = sum_p U[l_p, p] + sum_{p ~ q} w_pq [l_p != l_q]            (Potts pairwise term)

With two labels and ``w_pq >= 0`` the energy is submodular and its minimum is a minimum s-t
cut: source side = label 0, sink side = label 1, edge ``s -> p`` with capacity ``U[1, p]``
(paid when ``p`` takes label 1), ``p -> t`` with ``U[0, p]``, and ``p <-> q`` with ``w``.
"""

from __future__ import annotations

# BEGIN SOLUTION
from collections import deque

import torch

from ._checks import check_int, check_positive, check_tensor
# END SOLUTION
from torch import Tensor

__all__ = ["potts_energy", "binary_mincut", "dense_crf_mean_field"]

# BEGIN SOLUTION


def _check_unary(unary: object, labels_allowed: int | None = None) -> None:
    check_tensor("unary", unary, 3, floating=True)
    if labels_allowed is not None and unary.shape[0] != labels_allowed:
        raise ValueError(f"unary must have shape [{labels_allowed}, H, W], got {list(unary.shape)}")
    if unary.shape[0] < 1 or unary.shape[1] < 1 or unary.shape[2] < 1:
        raise ValueError(f"unary must have shape [L, H, W] with L, H, W >= 1, got {list(unary.shape)}")
    if not bool(torch.isfinite(unary).all()):
        raise ValueError("unary must be finite")


def _check_weight(weight: object) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0 or weight == float("inf"):
        raise ValueError(f"weight must be a finite number >= 0, got {weight!r}")
    return float(weight)


class _MaxFlow:
    """Dinic's algorithm on an adjacency-list graph with float capacities."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.head: list[list[int]] = [[] for _ in range(n)]
        self.to: list[int] = []
        self.cap: list[float] = []

    def add(self, u: int, v: int, c_uv: float, c_vu: float = 0.0) -> None:
        self.head[u].append(len(self.to))
        self.to.append(v)
        self.cap.append(c_uv)
        self.head[v].append(len(self.to))
        self.to.append(u)
        self.cap.append(c_vu)

    def _levels(self, s: int, t: int, eps: float) -> list[int] | None:
        level = [-1] * self.n
        level[s] = 0
        q = deque([s])
        while q:
            u = q.popleft()
            for e in self.head[u]:
                v = self.to[e]
                if level[v] < 0 and self.cap[e] > eps:
                    level[v] = level[u] + 1
                    q.append(v)
        return level if level[t] >= 0 else None

    def run(self, s: int, t: int, eps: float) -> None:
        while True:
            level = self._levels(s, t, eps)
            if level is None:
                return
            it = [0] * self.n
            while True:
                # iterative DFS for one blocking-flow path
                path: list[int] = []
                u = s
                while u != t:
                    while it[u] < len(self.head[u]):
                        e = self.head[u][it[u]]
                        v = self.to[e]
                        if self.cap[e] > eps and level[v] == level[u] + 1:
                            break
                        it[u] += 1
                    else:
                        if u == s:
                            break
                        level[u] = -1  # dead end
                        e = path.pop()
                        u = self.to[e ^ 1]
                        it[u] += 1
                        continue
                    e = self.head[u][it[u]]
                    path.append(e)
                    u = self.to[e]
                if u != t:
                    break
                f = min(self.cap[e] for e in path)
                for e in path:
                    self.cap[e] -= f
                    self.cap[e ^ 1] += f

    def reachable(self, s: int, eps: float) -> list[bool]:
        seen = [False] * self.n
        seen[s] = True
        q = deque([s])
        while q:
            u = q.popleft()
            for e in self.head[u]:
                v = self.to[e]
                if not seen[v] and self.cap[e] > eps:
                    seen[v] = True
                    q.append(v)
        return seen
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_unary(unary)
    weight = _check_weight(weight)
    check_tensor("labels", labels, 2, integer=True)
    if tuple(labels.shape) != tuple(unary.shape[1:]):
        raise ValueError(f"labels must have shape {list(unary.shape[1:])}, got {list(labels.shape)}")
    if bool(((labels < 0) | (labels >= unary.shape[0])).any()):
        raise ValueError(f"labels must lie in [0, {unary.shape[0]})")
    u = unary.double().gather(0, labels.long()[None]).sum()
    changes = (labels[1:, :] != labels[:-1, :]).sum() + (labels[:, 1:] != labels[:, :-1]).sum()
    return u + weight * changes.double()
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_unary(unary, 2)
    weight = _check_weight(weight)
    _, h, w = unary.shape
    u = unary.double().cpu()
    m = torch.minimum(u[0], u[1])
    to_sink_side = (u[1] - m).reshape(-1).tolist()  # s -> p: paid if p takes label 1
    to_source_side = (u[0] - m).reshape(-1).tolist()  # p -> t: paid if p takes label 0
    n = h * w
    s, t = n, n + 1
    g = _MaxFlow(n + 2)
    for p in range(n):
        if to_sink_side[p] > 0:
            g.add(s, p, to_sink_side[p])
        if to_source_side[p] > 0:
            g.add(p, t, to_source_side[p])
    if weight > 0:
        for r in range(h):
            for c in range(w):
                p = r * w + c
                if c + 1 < w:
                    g.add(p, p + 1, weight, weight)
                if r + 1 < h:
                    g.add(p, p + w, weight, weight)
    biggest = max([weight, *to_sink_side, *to_source_side, 0.0])
    eps = 1e-12 * biggest
    g.run(s, t, eps)
    seen = g.reachable(s, eps)
    labels = torch.tensor([0 if seen[p] else 1 for p in range(n)], dtype=torch.int64).reshape(h, w)
    return labels.to(unary.device)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_unary(unary)
    check_tensor("image", image, 3, floating=True)
    if tuple(image.shape[1:]) != tuple(unary.shape[1:]):
        raise ValueError(f"image must have shape [C, {unary.shape[1]}, {unary.shape[2]}], got {list(image.shape)}")
    check_int("num_iters", num_iters, 0)
    w1, w2 = _check_weight(w_appearance), _check_weight(w_smooth)
    ta, tb, tg = (check_positive(n, v) for n, v in (("theta_alpha", theta_alpha), ("theta_beta", theta_beta),
                                                    ("theta_gamma", theta_gamma)))
    nl, h, w = unary.shape
    dtype, dev = unary.dtype, unary.device
    rows = torch.arange(h, dtype=dtype, device=dev).repeat_interleave(w)
    cols = torch.arange(w, dtype=dtype, device=dev).repeat(h)
    pos = torch.stack([rows, cols], dim=1)  # [N, 2]
    col = image.to(dtype).reshape(image.shape[0], h * w).t()  # [N, C]
    dp = torch.cdist(pos, pos) ** 2  # [N, N]
    dc = torch.cdist(col, col) ** 2
    K = w1 * torch.exp(-dp / (2 * ta ** 2) - dc / (2 * tb ** 2)) + w2 * torch.exp(-dp / (2 * tg ** 2))
    K.fill_diagonal_(0.0)
    U = unary.reshape(nl, h * w)  # [L, N]
    Q = torch.softmax(-U, dim=0)
    for _ in range(num_iters):
        msg = Q @ K  # [L, N] (K symmetric)
        pairwise = msg.sum(dim=0, keepdim=True) - msg
        Q = torch.softmax(-U - pairwise, dim=0)
    return Q.reshape(nl, h, w)
    # END SOLUTION
