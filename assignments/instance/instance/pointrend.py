"""PointRend: point sampling, uncertainty-based point selection, adaptive subdivision.

Conventions (Detectron2's PointRend, README.md, sections `point_sample`, `point_selection` and
`subdivision`): point coordinates are
``(x, y)`` in [0, 1] over the whole map (0 = left/top edge, 1 = right/bottom edge), read with
``grid_sample(..., align_corners=False)`` and zero padding outside.
"""

from __future__ import annotations

import torch

__all__ = ["point_sample", "uncertainty", "sample_training_points", "uncertain_grid_points",
           "subdivision_inference"]


def point_sample(input: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear values of ``input`` at normalised points.

    ``points`` in [0, 1] map to ``grid_sample``'s [-1, 1] by ``2 p - 1`` (``align_corners=False``:
    0 and 1 are the outer edges of the border pixels, pixel ``j``'s centre is ``(j + 0.5) / W``);
    samples outside the map read zeros.

    Args:
        input (Tensor[N, C, H, W]): float maps.
        points (Tensor[N, P, 2]): ``(x, y)`` in [0, 1], same dtype as ``input``.

    Returns:
        Tensor[N, C, P]: the sampled values, dtype of ``input``.
    """
    raise NotImplementedError("point_sample: implement me (see README.md, section `point_sample`)")


def uncertainty(logits: torch.Tensor) -> torch.Tensor:
    """PointRend's uncertainty of logits (higher = more uncertain).

    One channel (a binary mask): ``-|logit|``. Two or more channels: ``-(top1 - top2)``, minus
    the gap between the two largest logits of each location.

    Args:
        logits (Tensor[N, C, ...]): float logits, C >= 1, any trailing dimensions.

    Returns:
        Tensor[N, 1, ...]: the uncertainty, dtype of ``logits``.
    """
    raise NotImplementedError("uncertainty: implement me (see README.md, section `point_sample`)")


def sample_training_points(
    coarse_logits: torch.Tensor,
    num_points: int,
    oversample_ratio: float = 3.0,
    importance_sample_ratio: float = 0.75,
    *,
    noise: torch.Tensor | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """PointRend's training points: oversample, keep the most uncertain, mix in random points.

    With ``K = int(num_points * oversample_ratio)`` candidates, ``U = int(importance_sample_ratio
    * num_points)`` uncertain points and ``R = num_points - U`` random points, the uniform draws
    are ``noise[:, :K]`` (candidates) and ``noise[:, K:]`` (random points). The candidates'
    uncertainty is :func:`uncertainty` of the coarse logits :func:`point_sample`-d there; the
    ``U`` most uncertain candidates come first, by decreasing uncertainty, then the ``R`` random
    points in their order.

    Args:
        coarse_logits (Tensor[N, C, H, W]): float coarse predictions.
        num_points (int): P >= 1 points per map.
        oversample_ratio (float): k >= 1.
        importance_sample_ratio (float): beta in [0, 1].
        noise (Tensor[N, K + R, 2] | None): the uniform draws in [0, 1); drawn when ``None``.
        seed (int | None): seed of the draws when ``noise`` is ``None`` (``None``: torch's global
            generator).

    Returns:
        Tensor[N, P, 2]: ``(x, y)`` in [0, 1], dtype of ``coarse_logits``.
    """
    raise NotImplementedError("sample_training_points: implement me (see README.md, section `point_selection`)")


def uncertain_grid_points(uncertainty_map: torch.Tensor, num_points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``min(num_points, H * W)`` most uncertain cells of a map, for inference.

    Args:
        uncertainty_map (Tensor[N, 1, H, W]): float uncertainties.
        num_points (int): >= 1.

    Returns:
        tuple[Tensor[N, P], Tensor[N, P, 2]]: int64 flat indices ``y * W + x`` by decreasing
        uncertainty, and the cells' centres ``((x + 0.5) / W, (y + 0.5) / H)`` computed in the
        map's dtype (convert the integer indices to it before adding 0.5: ``int64 + 0.5`` is
        float32 in torch).
    """
    raise NotImplementedError("uncertain_grid_points: implement me (see README.md, section `subdivision`)")


def subdivision_inference(
    coarse_logits: torch.Tensor,
    fine_features: torch.Tensor,
    point_head_weight: torch.Tensor,
    point_head_bias: torch.Tensor,
    num_steps: int,
    num_points: int,
) -> torch.Tensor:
    """PointRend's adaptive subdivision with a linear point head.

    ``num_steps`` times: upsample the current logits 2x (bilinear, ``align_corners=False``);
    take the :func:`uncertain_grid_points` of their :func:`uncertainty`; at those points,
    concatenate the *coarse* logits and the fine features (:func:`point_sample`) into
    ``[N, C + D, P]`` and predict ``point_head_weight @ features + point_head_bias``; write the
    predictions into the upsampled logits at their cells.

    Args:
        coarse_logits (Tensor[N, C, h, w]): coarse float logits.
        fine_features (Tensor[N, D, Hf, Wf]): fine-grained features (any size).
        point_head_weight (Tensor[C, C + D]): the point head's weights.
        point_head_bias (Tensor[C]): its bias.
        num_steps (int): subdivision steps, >= 0.
        num_points (int): points recomputed per step, >= 1.

    Returns:
        Tensor[N, C, h * 2^steps, w * 2^steps]: refined logits, dtype of ``coarse_logits``.
    """
    raise NotImplementedError("subdivision_inference: implement me (see README.md, section `subdivision`)")
