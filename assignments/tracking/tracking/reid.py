"""Re-identification: embedding distances, metric-learning losses and appearance-aware costs."""

from __future__ import annotations

from torch import Tensor

__all__ = ["pairwise_distances", "batch_hard_triplet_loss", "contrastive_loss", "appearance_cost"]


def pairwise_distances(a: Tensor, b: Tensor, squared: bool = False) -> Tensor:
    """Euclidean distances between every row of ``a`` and every row of ``b``.

    ``d2[i, j] = ||a_i||^2 + ||b_j||^2 - 2 a_i . b_j`` (one matrix product, no [N, M, E]
    temporary), clamped at 0 against rounding. With ``squared=False`` the result is
    ``sqrt(d2)``, where a zero distance has value 0 **and gradient 0** (the plain square root
    would give nan gradients for identical rows). Differentiable with respect to both inputs.

    Args:
        a (Tensor[N, E]): embeddings, float.
        b (Tensor[M, E]): embeddings, float, same E.
        squared (bool): return squared distances.

    Returns:
        Tensor[N, M]: distances (>= 0) in the promoted dtype of the inputs.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if a tensor is not 2-D and floating, or the embedding sizes differ.
    """
    raise NotImplementedError("pairwise_distances: implement me (see README.md, section `reid`)")


def batch_hard_triplet_loss(embeddings: Tensor, labels: Tensor, margin: float | None = 0.3,
                            squared: bool = False) -> Tensor:
    """Batch-hard triplet loss (Hermans, Beyer and Leibe, "In Defense of the Triplet Loss", 2017).

    For every anchor ``i`` of the batch, with ``d = pairwise_distances(embeddings, embeddings,
    squared)``: the hardest positive ``d_p(i) = max_{j != i, y_j = y_i} d[i, j]`` and the
    hardest negative ``d_n(i) = min_{k: y_k != y_i} d[i, k]``. The loss of the anchor is
    ``max(0, margin + d_p(i) - d_n(i))``, or the soft margin ``log(1 + exp(d_p(i) - d_n(i)))``
    when ``margin`` is None. The result is the mean over the *valid* anchors, those with at
    least one positive and one negative; with none, it is 0 (still connected to the graph, so
    ``backward`` works and gives zero gradients).

    Args:
        embeddings (Tensor[B, E]): float embeddings of a batch.
        labels (Tensor[B]): integer identity labels (a bool tensor is refused: ValueError).
        margin (float | None): the margin (>= 0), or None for the soft margin.
        squared (bool): use squared distances.

    Returns:
        Tensor[]: the scalar loss in the embeddings' dtype.

    Raises:
        TypeError: if ``embeddings`` or ``labels`` is not a tensor.
        ValueError: if ``embeddings`` is not a 2-D floating tensor, the shapes do not match,
            ``labels`` is not an integer tensor or ``margin < 0``.
    """
    raise NotImplementedError("batch_hard_triplet_loss: implement me (see README.md, section `reid`)")


def contrastive_loss(a: Tensor, b: Tensor, same: Tensor, margin: float = 1.0) -> Tensor:
    """Contrastive loss of pairs (Hadsell, Chopra and LeCun, 2006).

    With the Euclidean distance ``d_i = ||a_i - b_i||`` of pair ``i`` (value and gradient 0 at
    0, as in :func:`pairwise_distances`): ``L_i = d_i^2`` for a pair of the same identity and
    ``L_i = max(0, margin - d_i)^2`` otherwise (the hinge pushes different identities at least
    ``margin`` apart). Returns the mean over pairs (0 for no pairs).

    Args:
        a (Tensor[N, E]): float embeddings.
        b (Tensor[N, E]): float embeddings, paired row by row with ``a``.
        same (Tensor[N] bool): True where ``a_i`` and ``b_i`` show the same identity.
        margin (float): the hinge margin (> 0).

    Returns:
        Tensor[]: the scalar loss in the promoted dtype of ``a`` and ``b``.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if the shapes do not match, ``same`` is not bool or ``margin <= 0``.
    """
    raise NotImplementedError("contrastive_loss: implement me (see README.md, section `reid`)")


def appearance_cost(track_boxes: Tensor, det_boxes: Tensor, track_embeddings: Tensor,
                    det_embeddings: Tensor, weight: float = 0.5, min_iou: float = 0.0) -> Tensor:
    """Association cost mixing overlap and appearance.

    ``cost[t, d] = (1 - weight) * (1 - IoU(track_boxes[t], det_boxes[d]))
    + weight * ||track_embeddings[t] - det_embeddings[d]||``, with the IoU of
    ``iou_cost`` and the distance of :func:`pairwise_distances`; pairs with
    ``IoU < min_iou`` get ``+inf`` (gated: they never match in ``associate``).

    Args:
        track_boxes (Tensor[T, 4]): (x1, y1, x2, y2) boxes (e.g. predicted) of the tracks.
        det_boxes (Tensor[D, 4]): (x1, y1, x2, y2) boxes of the detections.
        track_embeddings (Tensor[T, E]): float appearance embeddings of the tracks.
        det_embeddings (Tensor[D, E]): float appearance embeddings of the detections.
        weight (float): weight of the appearance term in [0, 1].
        min_iou (float): IoU gate in [0, 1]; 0 gates nothing.

    Returns:
        Tensor[T, D]: the costs (``+inf`` where gated) in the promoted floating dtype of the
        boxes and the embeddings.

    Raises:
        TypeError: if an argument is not a tensor.
        ValueError: if shapes do not match, an embedding tensor is not floating (the message
            names it: ``track_embeddings`` or ``det_embeddings``) or ``weight``/``min_iou`` are
            outside [0, 1].
    """
    raise NotImplementedError("appearance_cost: implement me (see README.md, section `reid`)")
