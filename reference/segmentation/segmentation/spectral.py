"""Graph-based segmentation: affinities, Laplacians, spectral embedding and normalized cuts
(Shi and Malik, 2000).

Pixels (or any items) are the nodes of a weighted graph with affinity ``W`` (symmetric,
non-negative, zero diagonal) and degrees ``d_i = sum_j W_ij``. With ``D = diag(d)``:

- unnormalised Laplacian ``L = D - W``; normalised ``L_sym = I - D^{-1/2} W D^{-1/2}``;
- ``y^T L y = 1/2 sum_ij W_ij (y_i - y_j)^2``, so ``L`` is positive semi-definite and the
  multiplicity of its eigenvalue 0 is the number of connected components;
- Ncut(A, B) = cut(A, B) / assoc(A, V) + cut(A, B) / assoc(B, V); its relaxation is the
  generalized eigenproblem ``(D - W) y = lambda D y``, whose second-smallest eigenvector is
  thresholded to split the graph.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch

from ._checks import check_int, check_positive, check_tensor
# END SOLUTION
from torch import Tensor

__all__ = ["affinity_matrix", "degree_matrix", "laplacian", "count_components", "ncut_embedding",
           "ncut_value", "ncut_bipartition", "recursive_ncut"]

# BEGIN SOLUTION


def _check_affinity(W: object) -> None:
    check_tensor("W", W, 2, floating=True)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square matrix [N, N], got {list(W.shape)}")
    if W.numel() and bool((W < 0).any()):
        raise ValueError("W must be non-negative")


def _components(W: Tensor) -> Tensor:
    """int64 [N]: component ids by first node (breadth-first over W > 0)."""
    n = W.shape[0]
    adj = (W > 0).cpu()
    comp = torch.full((n,), -1, dtype=torch.int64)
    c = 0
    for start in range(n):
        if comp[start] >= 0:
            continue
        frontier = torch.zeros(n, dtype=torch.bool)
        frontier[start] = True
        comp[start] = c
        while bool(frontier.any()):
            nxt = adj[frontier].any(dim=0) & (comp < 0)
            comp[nxt] = c
            frontier = nxt
        c += 1
    return comp
# END SOLUTION


def affinity_matrix(features: Tensor, sigma: float, *, positions: Tensor | None = None,
                    radius: float | None = None) -> Tensor:
    """Gaussian affinity ``W_ij = exp(-||f_i - f_j||^2 / (2 sigma^2))`` with a zero diagonal
    (no self-loops). With ``radius``, pairs farther apart than ``radius`` in ``positions``
    (Euclidean, strictly greater) get 0: the sparse, local graph of Shi and Malik.

    Args:
        features (Tensor[N, F]): floating point.
        sigma (float): > 0.
        positions (Tensor[N, P] or None): needed with ``radius``.
        radius (float or None): > 0.

    Returns:
        Tensor[N, N]: symmetric, dtype of ``features``.

    Raises:
        TypeError: ``features`` not floating point.
        ValueError: bad shapes, ``sigma`` or ``radius`` <= 0, or ``radius`` without ``positions``.
    """
    # BEGIN SOLUTION
    check_tensor("features", features, 2, floating=True)
    sigma = check_positive("sigma", sigma)
    d2 = torch.cdist(features.double(), features.double()) ** 2  # [N, N]
    W = torch.exp(-d2 / (2 * sigma ** 2))
    if radius is not None:
        radius = check_positive("radius", radius)
        if positions is None:
            raise ValueError("radius needs positions (Tensor[N, P])")
        check_tensor("positions", positions, 2)
        if positions.shape[0] != features.shape[0]:
            raise ValueError(f"positions must have N={features.shape[0]} rows, got {list(positions.shape)}")
        dp = torch.cdist(positions.double(), positions.double())
        W = torch.where(dp > radius, torch.zeros_like(W), W)
    W.fill_diagonal_(0.0)
    return W.to(features.dtype)
    # END SOLUTION


def degree_matrix(W: Tensor) -> Tensor:
    """``D = diag(W.sum(1))``.

    Args:
        W (Tensor[N, N]): non-negative affinities.

    Returns:
        Tensor[N, N]: dtype of ``W``.

    Raises:
        TypeError, ValueError: ``W`` is not a floating-point, square, non-negative matrix.
    """
    # BEGIN SOLUTION
    _check_affinity(W)
    return torch.diag(W.sum(dim=1))
    # END SOLUTION


def laplacian(W: Tensor, *, normalized: bool = False) -> Tensor:
    """``L = D - W``, or with ``normalized`` ``L_sym = I - D^{-1/2} W D^{-1/2}``.

    An isolated node (degree 0) gets an all-zero row and column in ``L_sym`` (diagonal 0, as
    ``scipy.sparse.csgraph.laplacian(W, normed=True)``).

    Args:
        W (Tensor[N, N]): symmetric non-negative affinities.
        normalized (bool): which Laplacian.

    Returns:
        Tensor[N, N]: dtype of ``W``.

    Raises:
        TypeError, ValueError: as :func:`degree_matrix`.
    """
    # BEGIN SOLUTION
    _check_affinity(W)
    d = W.sum(dim=1)  # [N]
    if not normalized:
        return torch.diag(d) - W
    isolated = d <= 0
    inv_sqrt = torch.where(isolated, torch.zeros_like(d), d.clamp(min=torch.finfo(d.dtype).tiny).rsqrt())
    eye = torch.diag((~isolated).to(W.dtype))
    return eye - inv_sqrt[:, None] * W * inv_sqrt[None, :]
    # END SOLUTION


def count_components(W: Tensor, *, tol: float = 1e-8) -> int:
    """The number of connected components, read off the spectrum: the number of eigenvalues of
    ``L = D - W`` (``torch.linalg.eigvalsh`` in float64) that are ``<= tol * max(1, lambda_max)``.

    Args:
        W (Tensor[N, N]): symmetric non-negative affinities, ``N >= 1``.
        tol (float): > 0.

    Returns:
        int: the multiplicity of the eigenvalue 0.

    Raises:
        TypeError, ValueError: as :func:`degree_matrix`, an empty ``W``, or ``tol`` not a number
            > 0 (the message names ``tol``).
    """
    # BEGIN SOLUTION
    _check_affinity(W)
    check_positive("tol", tol)
    if W.shape[0] == 0:
        raise ValueError("W must have at least one node")
    ev = torch.linalg.eigvalsh(laplacian(W.double()))
    return int((ev <= tol * max(1.0, float(ev.max()))).sum())
    # END SOLUTION


def ncut_embedding(W: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The ``k`` generalized eigenpairs of ``(D - W) y = lambda D y`` with the smallest
    eigenvalues (ascending), the first being the constant vector with eigenvalue 0.

    Solve it through the symmetric ``L_sym``: if ``L_sym u = lambda u`` then ``y = D^{-1/2} u``.
    Each ``y`` is normalised to ``y^T D y = 1``; its sign is arbitrary (tests compare up to
    sign). Computed in float64, returned in ``W``'s dtype.

    Args:
        W (Tensor[N, N]): symmetric non-negative affinities, every degree > 0.
        k (int): ``1 <= k <= N``.

    Returns:
        tuple[Tensor, Tensor]: ``(eigenvalues [k], vectors [N, k])``; column ``i`` belongs to
        eigenvalue ``i``.

    Raises:
        ValueError: a node of degree 0 (``D`` is singular), or ``k`` out of range.
    """
    # BEGIN SOLUTION
    _check_affinity(W)
    n = W.shape[0]
    check_int("k", k, 1)
    if k > n:
        raise ValueError(f"k must be at most N={n}, got {k}")
    W64 = W.double()
    d = W64.sum(dim=1)
    if bool((d <= 0).any()):
        raise ValueError(f"every node needs a degree > 0 (D must be invertible); node {int((d <= 0).nonzero()[0])} "
                         f"has degree 0")
    ev, u = torch.linalg.eigh(laplacian(W64, normalized=True))
    y = u[:, :k] * d.rsqrt()[:, None]  # [N, k], y^T D y = u^T u = 1
    return ev[:k].to(W.dtype), y.to(W.dtype)
    # END SOLUTION


def ncut_value(W: Tensor, labels: Tensor) -> Tensor:
    """The normalized cut of a labelling: ``sum_s cut(A_s, V - A_s) / assoc(A_s, V)`` over the
    segments ``A_s`` present in ``labels`` (for two segments, Shi and Malik's Ncut). A segment
    with ``assoc = 0`` contributes 0.

    Args:
        W (Tensor[N, N]): symmetric non-negative affinities.
        labels (Tensor[N]): integer segment ids (int64 or any other integer dtype).

    Returns:
        Tensor: float64 scalar, computed in float64 (``W`` upcast first).

    Raises:
        ValueError: ``labels`` is not 1-d of length N; TypeError: not an integer tensor.
    """
    # BEGIN SOLUTION
    _check_affinity(W)
    check_tensor("labels", labels, 1, integer=True)
    if labels.shape[0] != W.shape[0]:
        raise ValueError(f"labels must have N={W.shape[0]} entries, got {labels.shape[0]}")
    W64 = W.double()
    d = W64.sum(1)
    total = torch.zeros((), dtype=torch.float64)
    for s in torch.unique(labels).tolist():
        a = labels == s
        assoc = d[a].sum()
        if float(assoc) > 0:
            cut = W64[a][:, ~a].sum()
            total = total + cut / assoc
    return total
    # END SOLUTION


def ncut_bipartition(W: Tensor) -> Tensor:
    """Split a graph in two by the normalized cut.

    If the graph is disconnected (:func:`count_components` > 1), the split is exact and free:
    the connected component of node 0 (label 0) against the rest (label 1). Otherwise take the
    second generalized eigenvector ``y`` of :func:`ncut_embedding` and label ``y_i > 0`` and
    ``y_i <= 0`` as the two sides; finally relabel so that node 0 has label 0 (the sign of
    ``y`` is arbitrary).

    Args:
        W (Tensor[N, N]): symmetric non-negative affinities, ``N >= 2``.

    Returns:
        Tensor[N]: int64 labels in {0, 1}.

    Raises:
        ValueError: fewer than 2 nodes, or as :func:`ncut_embedding`.
    """
    # BEGIN SOLUTION
    _check_affinity(W)
    n = W.shape[0]
    if n < 2:
        raise ValueError(f"W must have at least 2 nodes to split, got {n}")
    comp = _components(W)
    if int(comp.max()) > 0:
        return (comp != 0).long().to(W.device)
    _, y = ncut_embedding(W.double(), 2)
    side = (y[:, 1] > 0).long()
    if int(side[0]) == 1:
        side = 1 - side
    return side.to(W.device)
    # END SOLUTION


def recursive_ncut(W: Tensor, *, max_segments: int = 8, max_ncut: float = 0.5, min_size: int = 2) -> Tensor:
    """Recursive two-way normalized cuts (Shi and Malik, section 3.1), breadth first.

    Keep a queue of segments, starting with all nodes. Pop the first segment ``S`` (node
    indices ascending); if it has at least ``2 * min_size`` nodes, split its subgraph
    ``W[S][:, S]`` with :func:`ncut_bipartition`. Accept the split if both sides have at least
    ``min_size`` nodes and the Ncut of the split (:func:`ncut_value` on the subgraph) is
    ``< max_ncut``: append both sides (side 0 first) to the end of the queue; otherwise ``S`` is
    final. Stop splitting once there are ``max_segments`` segments (final or queued). Labels:
    segments numbered by their smallest node (the segment of node 0 is 0, the next segment met
    in node order is 1, ...).

    Args:
        W (Tensor[N, N]): symmetric non-negative affinities, ``N >= 1``.
        max_segments (int): >= 1.
        max_ncut (float): > 0.
        min_size (int): >= 1.

    Returns:
        Tensor[N]: int64 segment labels ``0 .. S-1``.

    Raises:
        ValueError: bad arguments.
    """
    # BEGIN SOLUTION
    _check_affinity(W)
    check_int("max_segments", max_segments, 1)
    check_positive("max_ncut", max_ncut)
    check_int("min_size", min_size, 1)
    n = W.shape[0]
    if n == 0:
        raise ValueError("W must have at least one node")
    W64 = W.double().cpu()
    queue = [torch.arange(n)]
    final: list[Tensor] = []
    while queue:
        s = queue.pop(0)
        if len(final) + len(queue) + 1 >= max_segments or s.numel() < 2 * min_size:
            final.append(s)
            continue
        sub = W64[s][:, s]
        side = ncut_bipartition(sub)
        a, b = s[side == 0], s[side == 1]
        if a.numel() < min_size or b.numel() < min_size or float(ncut_value(sub, side)) >= max_ncut:
            final.append(s)
            continue
        queue.extend([a, b])
    firsts = sorted(range(len(final)), key=lambda i: int(final[i].min()))
    labels = torch.empty(n, dtype=torch.int64)
    for new, i in enumerate(firsts):
        labels[final[i]] = new
    return labels.to(W.device)
    # END SOLUTION
