"""PointRend: point sampling, uncertainty-based point selection, adaptive subdivision.

Conventions (Detectron2's PointRend, README.md, sections `point_sample`, `point_selection` and
`subdivision`): point coordinates are
``(x, y)`` in [0, 1] over the whole map (0 = left/top edge, 1 = right/bottom edge), read with
``grid_sample(..., align_corners=False)`` and zero padding outside.
"""

from __future__ import annotations

import torch

# BEGIN SOLUTION
import torch.nn.functional as F
from ._checks import check_shape, check_tensor
# END SOLUTION

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
    # BEGIN SOLUTION
    check_tensor("input", input, dims=4, floating=True)
    check_tensor("points", points, floating=True)
    check_shape("points", points, (input.shape[0], None, 2))
    grid = (2.0 * points - 1.0).unsqueeze(2)  # [N, P, 1, 2]
    return F.grid_sample(input, grid.to(input.dtype), mode="bilinear", padding_mode="zeros",
                         align_corners=False).squeeze(3)  # [N, C, P]
    # END SOLUTION


def uncertainty(logits: torch.Tensor) -> torch.Tensor:
    """PointRend's uncertainty of logits (higher = more uncertain).

    One channel (a binary mask): ``-|logit|``. Two or more channels: ``-(top1 - top2)``, minus
    the gap between the two largest logits of each location.

    Args:
        logits (Tensor[N, C, ...]): float logits, C >= 1, any trailing dimensions.

    Returns:
        Tensor[N, 1, ...]: the uncertainty, dtype of ``logits``.
    """
    # BEGIN SOLUTION
    check_tensor("logits", logits, floating=True)
    if logits.dim() < 2 or logits.shape[1] < 1:
        raise ValueError(f"logits must have shape [N, C, ...] with C >= 1, got {list(logits.shape)}")
    if logits.shape[1] == 1:
        return -logits.abs()
    top2 = logits.topk(2, dim=1).values  # [N, 2, ...]
    return (top2[:, 1] - top2[:, 0]).unsqueeze(1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    check_tensor("coarse_logits", coarse_logits, dims=4, floating=True)
    if type(num_points) is not int or num_points < 1:
        raise ValueError(f"num_points must be an int >= 1, got {num_points!r}")
    if not oversample_ratio >= 1:
        raise ValueError(f"oversample_ratio must be >= 1, got {oversample_ratio!r}")
    if not 0 <= importance_sample_ratio <= 1:
        raise ValueError(f"importance_sample_ratio must lie in [0, 1], got {importance_sample_ratio!r}")
    n = coarse_logits.shape[0]
    num_sampled = int(num_points * oversample_ratio)
    num_uncertain = int(importance_sample_ratio * num_points)
    num_random = num_points - num_uncertain
    if noise is None:
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        noise = torch.rand(n, num_sampled + num_random, 2, generator=gen, dtype=coarse_logits.dtype)
        noise = noise.to(coarse_logits.device)
    check_tensor("noise", noise, floating=True)
    check_shape("noise", noise, (n, num_sampled + num_random, 2))
    noise = noise.to(coarse_logits.dtype)
    candidates = noise[:, :num_sampled]  # [N, K, 2]
    scores = uncertainty(point_sample(coarse_logits, candidates))[:, 0]  # [N, K]
    idx = scores.topk(num_uncertain, dim=1).indices  # [N, U]
    chosen = candidates.gather(1, idx[:, :, None].expand(-1, -1, 2))  # [N, U, 2]
    return torch.cat([chosen, noise[:, num_sampled:]], dim=1)  # [N, P, 2]
    # END SOLUTION


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
    # BEGIN SOLUTION
    check_tensor("uncertainty_map", uncertainty_map, dims=4, floating=True)
    if uncertainty_map.shape[1] != 1:
        raise ValueError(f"uncertainty_map must have shape [N, 1, H, W], got {list(uncertainty_map.shape)}")
    if type(num_points) is not int or num_points < 1:
        raise ValueError(f"num_points must be an int >= 1, got {num_points!r}")
    n, _, h, w = uncertainty_map.shape
    p = min(num_points, h * w)
    idx = uncertainty_map.view(n, h * w).topk(p, dim=1).indices  # [N, P]
    dtype = uncertainty_map.dtype
    x = ((idx % w).to(dtype) + 0.5) / w
    y = ((idx // w).to(dtype) + 0.5) / h
    return idx, torch.stack([x, y], dim=2)
    # END SOLUTION


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
    # BEGIN SOLUTION
    check_tensor("coarse_logits", coarse_logits, dims=4, floating=True)
    check_tensor("fine_features", fine_features, dims=4, floating=True)
    n, c = coarse_logits.shape[:2]
    if fine_features.shape[0] != n:
        raise ValueError(f"fine_features must have {n} maps like coarse_logits, got {list(fine_features.shape)}")
    d = fine_features.shape[1]
    check_tensor("point_head_weight", point_head_weight, floating=True)
    check_shape("point_head_weight", point_head_weight, (c, c + d))
    check_tensor("point_head_bias", point_head_bias, floating=True)
    check_shape("point_head_bias", point_head_bias, (c,))
    if type(num_steps) is not int or num_steps < 0:
        raise ValueError(f"num_steps must be an int >= 0, got {num_steps!r}")
    if type(num_points) is not int or num_points < 1:
        raise ValueError(f"num_points must be an int >= 1, got {num_points!r}")
    logits = coarse_logits
    for _ in range(num_steps):
        logits = F.interpolate(logits, scale_factor=2, mode="bilinear", align_corners=False)
        h, w = logits.shape[-2:]
        idx, points = uncertain_grid_points(uncertainty(logits), num_points)  # [N, P], [N, P, 2]
        feats = torch.cat([point_sample(coarse_logits, points),
                           point_sample(fine_features, points.to(fine_features.dtype)).to(logits.dtype)],
                          dim=1)  # [N, C + D, P]
        point_logits = torch.einsum("ck,nkp->ncp", point_head_weight.to(logits.dtype), feats)
        point_logits = point_logits + point_head_bias.to(logits.dtype)[None, :, None]  # [N, C, P]
        flat = logits.reshape(n, c, h * w).scatter(2, idx[:, None, :].expand(-1, c, -1), point_logits)
        logits = flat.view(n, c, h, w)
    return logits
    # END SOLUTION
