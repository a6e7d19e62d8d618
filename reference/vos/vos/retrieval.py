"""Pixel-wise retrieval for video object segmentation (Chen et al., "Blazingly fast video object
segmentation with pixel-wise metric learning", CVPR 2018).

An embedding network maps every pixel to a vector; it is trained with a triplet loss so that
pixels of the same kind (object or background) lie closer together than pixels of different
kinds. Because an object has several parts that need not look alike, the loss uses the
*nearest* positive, not the farthest (and the nearest, hardest, negative). A new frame is then
segmented without any further training: each of its pixels takes the label of its nearest
neighbours among the annotated frame's pixels in embedding space.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor

__all__ = ["DIST_EPS", "pairwise_distances", "pixel_triplet_loss", "nearest_neighbour_labels"]

#: the floor under squared distances before the square root (keeps gradients finite at 0)
DIST_EPS = 1e-12

# BEGIN SOLUTION


def _check_embeddings(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape [N, D], got {list(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _check_labels(name: str, labels: object, n: int) -> Tensor:
    if not isinstance(labels, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{name} must be an integer or bool tensor, got dtype {labels.dtype}")
    if list(labels.shape) != [n]:
        raise ValueError(f"{name} must have shape [{n}], got {list(labels.shape)}")
    return labels
# END SOLUTION


def pairwise_distances(a: Tensor, b: Tensor) -> Tensor:
    """Euclidean distances ``sqrt(max(|a_i - b_j|^2, DIST_EPS))``: ``Tensor[N, D], Tensor[M, D] ->
    Tensor[N, M]`` (differentiable; compute ``|a_i - b_j|^2`` from the differences, not from the
    expansion ``|a|^2 - 2 a.b + |b|^2``, which cancels badly).

    Raises:
        TypeError / ValueError: not floating 2-d tensors with the same ``D``.
    """
    # BEGIN SOLUTION
    _check_embeddings("a", a)
    _check_embeddings("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same dimension D, got {a.shape[1]} and {b.shape[1]}")
    diff = a[:, None, :] - b[None, :, :]  # [N, M, D]
    return (diff * diff).sum(-1).clamp_min(DIST_EPS).sqrt()
    # END SOLUTION


def pixel_triplet_loss(embeddings: Tensor, labels: Tensor, margin: float = 1.0) -> Tensor:
    """The nearest-positive triplet loss of pixel-wise retrieval.

    For every anchor pixel ``a`` that has at least one *other* pixel with its label and at least
    one pixel with another label::

        d_ap = min over p != a with labels[p] == labels[a] of d(a, p)
        d_an = min over n with labels[n] != labels[a] of d(a, n)
        loss_a = max(0, d_ap - d_an + margin)

    with ``d`` = :func:`pairwise_distances`. The loss is the mean of ``loss_a`` over those anchors,
    and 0 (with a gradient) when there is none.

    Args:
        embeddings (Tensor[N, D]): float pixel embeddings.
        labels (Tensor[N]): integer labels (e.g. 1 object, 0 background; any number of classes).
        margin (float): >= 0.

    Returns:
        Tensor: a scalar of ``embeddings``' dtype.

    Raises:
        TypeError / ValueError: malformed inputs, ``margin < 0``.
    """
    # BEGIN SOLUTION
    _check_embeddings("embeddings", embeddings)
    n = embeddings.shape[0]
    _check_labels("labels", labels, n)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 0:
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
    if n == 0:
        return embeddings.sum() * 0.0
    d = pairwise_distances(embeddings, embeddings)  # [N, N]
    lab = labels.to(embeddings.device)
    same = lab[:, None] == lab[None, :]
    eye = torch.eye(n, dtype=torch.bool, device=embeddings.device)
    pos = same & ~eye
    neg = ~same
    valid = pos.any(1) & neg.any(1)
    if not bool(valid.any()):
        return embeddings.sum() * 0.0
    inf = torch.tensor(float("inf"), dtype=d.dtype, device=d.device)
    d_ap = torch.where(pos, d, inf).min(1).values[valid]
    d_an = torch.where(neg, d, inf).min(1).values[valid]
    return torch.relu(d_ap - d_an + margin).mean()
    # END SOLUTION


def nearest_neighbour_labels(ref_embeddings: Tensor, ref_labels: Tensor, query_embeddings: Tensor,
                             k: int = 1) -> Tensor:
    """Label query pixels by a vote of their ``k`` nearest reference pixels (Euclidean distance).

    Ties in distance go to the reference pixel with the smaller index (a stable sort); ties in the
    vote go to the smaller label.

    Args:
        ref_embeddings (Tensor[M, D]): the annotated frame's pixel embeddings (float; the two
            embeddings may have different float dtypes: distances in the promoted dtype).
        ref_labels (Tensor[M]): their integer labels (>= 0).
        query_embeddings (Tensor[N, D]): the pixels to label.
        k (int): ``1 <= k <= M``.

    Returns:
        Tensor[N]: int64 labels (empty ``[0]`` for ``N = 0``).

    Raises:
        TypeError / ValueError: malformed inputs, a negative label, ``k`` out of range.
    """
    # BEGIN SOLUTION
    _check_embeddings("ref_embeddings", ref_embeddings)
    _check_embeddings("query_embeddings", query_embeddings)
    m = ref_embeddings.shape[0]
    _check_labels("ref_labels", ref_labels, m)
    if type(k) is not int or not 1 <= k <= m:
        raise ValueError(f"k must be an int in [1, {m}] (the number of reference pixels), got {k!r}")
    if ref_embeddings.shape[1] != query_embeddings.shape[1]:
        raise ValueError(f"embedding dimensions differ: {ref_embeddings.shape[1]} and {query_embeddings.shape[1]}")
    lab = ref_labels.to(torch.int64).to(query_embeddings.device)
    if bool((lab < 0).any()):
        raise ValueError(f"ref_labels must be >= 0, got {int(lab.min())}")
    n = query_embeddings.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64, device=query_embeddings.device)
    with torch.no_grad():
        d = pairwise_distances(query_embeddings, ref_embeddings.to(query_embeddings.dtype))  # [N, M]
        idx = torch.sort(d, dim=1, stable=True).indices[:, :k]  # [N, k]
        votes = torch.zeros(n, int(lab.max()) + 1, dtype=torch.int64, device=d.device)
        votes.scatter_add_(1, lab[idx], torch.ones_like(idx))
        return votes.argmax(1)  # argmax returns the first maximum: the smaller label
    # END SOLUTION
