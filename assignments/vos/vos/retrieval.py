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

from torch import Tensor

__all__ = ["DIST_EPS", "pairwise_distances", "pixel_triplet_loss", "nearest_neighbour_labels"]

#: the floor under squared distances before the square root (keeps gradients finite at 0)
DIST_EPS = 1e-12


def pairwise_distances(a: Tensor, b: Tensor) -> Tensor:
    """Euclidean distances ``sqrt(max(|a_i - b_j|^2, DIST_EPS))``: ``Tensor[N, D], Tensor[M, D] ->
    Tensor[N, M]`` (differentiable; compute ``|a_i - b_j|^2`` from the differences, not from the
    expansion ``|a|^2 - 2 a.b + |b|^2``, which cancels badly).

    Raises:
        TypeError / ValueError: not floating 2-d tensors with the same ``D``.
    """
    raise NotImplementedError("pairwise_distances: implement me (see README.md, section `retrieval`)")


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
    raise NotImplementedError("pixel_triplet_loss: implement me (see README.md, section `retrieval`)")


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
    raise NotImplementedError("nearest_neighbour_labels: implement me (see README.md, section `retrieval`)")
