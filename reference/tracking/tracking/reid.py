"""Re-identification: embedding distances, metric-learning losses and appearance-aware costs."""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor

# BEGIN SOLUTION
from .association import _box_iou, _check_boxes
# END SOLUTION

__all__ = ["pairwise_distances", "batch_hard_triplet_loss", "contrastive_loss", "appearance_cost"]


# BEGIN SOLUTION
def _check_embeddings(name: str, x: object) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, E], got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D of shape [N, E], got shape {list(x.shape)}")
    if not x.dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating tensor, got dtype {x.dtype}")


def _safe_sqrt(x: Tensor) -> Tensor:
    """sqrt with value 0 and gradient 0 where x == 0 (plain sqrt has an infinite slope there)."""
    zero = x <= 0
    return torch.where(zero, torch.zeros_like(x), torch.sqrt(torch.where(zero, torch.ones_like(x), x)))
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_embeddings("a", a)
    _check_embeddings("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same embedding size, got {a.shape[1]} and {b.shape[1]}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    a, b = a.to(dtype), b.to(dtype)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T  # [N, M]
    d2 = d2.clamp(min=0)
    return d2 if squared else _safe_sqrt(d2)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_embeddings("embeddings", embeddings)
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor of shape [B], got {type(labels).__name__}")
    if labels.dim() != 1 or labels.shape[0] != embeddings.shape[0]:
        raise ValueError(f"labels must have shape [{embeddings.shape[0]}], got {list(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if margin is not None and margin < 0:
        raise ValueError(f"margin must be >= 0 or None, got {margin}")
    d = pairwise_distances(embeddings, embeddings, squared=squared)  # [B, B]
    same = labels[:, None] == labels[None, :]  # [B, B]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    neg = ~same
    hardest_pos = torch.where(pos, d, torch.full_like(d, -float("inf"))).max(dim=1).values if len(d) else d.sum(1)
    hardest_neg = torch.where(neg, d, torch.full_like(d, float("inf"))).min(dim=1).values if len(d) else d.sum(1)
    valid = pos.any(dim=1) & neg.any(dim=1)  # [B]
    if not bool(valid.any()):
        return embeddings.sum() * 0.0
    gap = hardest_pos[valid] - hardest_neg[valid]  # [V]
    losses = F.softplus(gap) if margin is None else (gap + margin).clamp(min=0)
    return losses.mean()
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_embeddings("a", a)
    _check_embeddings("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {list(a.shape)} and {list(b.shape)}")
    if not isinstance(same, Tensor):
        raise TypeError(f"same must be a bool torch.Tensor of shape [N], got {type(same).__name__}")
    if same.dtype != torch.bool or same.shape != (a.shape[0],):
        raise ValueError(f"same must be a bool tensor of shape [{a.shape[0]}], got {same.dtype} {list(same.shape)}")
    if margin <= 0:
        raise ValueError(f"margin must be > 0, got {margin}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    diff = a.to(dtype) - b.to(dtype)  # [N, E]
    d2 = (diff * diff).sum(dim=1)  # [N]
    d = _safe_sqrt(d2)  # [N]
    losses = torch.where(same, d2, (margin - d).clamp(min=0) ** 2)  # [N]
    if losses.numel() == 0:
        return (a.sum() + b.sum()).to(dtype) * 0.0
    return losses.mean()
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("track_boxes", track_boxes)
    _check_boxes("det_boxes", det_boxes)
    _check_embeddings("track_embeddings", track_embeddings)
    _check_embeddings("det_embeddings", det_embeddings)
    if track_embeddings.shape[0] != track_boxes.shape[0] or det_embeddings.shape[0] != det_boxes.shape[0]:
        raise ValueError(f"one embedding per box is needed: tracks {track_boxes.shape[0]} boxes vs "
                         f"{track_embeddings.shape[0]} embeddings, detections {det_boxes.shape[0]} vs "
                         f"{det_embeddings.shape[0]}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    if not 0.0 <= min_iou <= 1.0:
        raise ValueError(f"min_iou must be in [0, 1], got {min_iou}")
    iou = _box_iou(track_boxes, det_boxes)  # [T, D]
    dist = pairwise_distances(track_embeddings, det_embeddings)  # [T, D]
    dtype = torch.promote_types(iou.dtype, dist.dtype)
    iou, dist = iou.to(dtype), dist.to(dtype)
    cost = (1.0 - weight) * (1.0 - iou) + weight * dist  # [T, D]
    return torch.where(iou < min_iou, torch.full_like(cost, float("inf")), cost)
    # END SOLUTION
