"""SOLOv2: dynamic mask kernels and Matrix NMS (README.md, sections `dynamic_conv` and `matrix_nms`)."""

from __future__ import annotations

import torch

# BEGIN SOLUTION
import torch.nn.functional as F
from ._checks import check_shape, check_tensor
# END SOLUTION

__all__ = ["dynamic_conv", "matrix_nms"]


def dynamic_conv(mask_features: torch.Tensor, kernels: torch.Tensor, kernel_size: int = 1) -> torch.Tensor:
    """SOLOv2's dynamic convolution: one predicted kernel per instance over the mask features.

    Kernel ``i`` is ``kernels[i].view(E, k, k)``; the output is the cross-correlation
    ``sum_e sum_(u, v) K_i[e, u, v] F[e, y + u - k // 2, x + v - k // 2]`` with zero padding
    ``k // 2`` (same size as the features), no bias.

    Args:
        mask_features (Tensor[E, H, W]): the unified mask feature map of one image.
        kernels (Tensor[N, E * k * k]): predicted kernels, same dtype.
        kernel_size (int): k, odd and >= 1.

    Returns:
        Tensor[N, H, W]: mask logits, dtype of ``mask_features``; ``[0, H, W]`` for no kernels.
    """
    # BEGIN SOLUTION
    check_tensor("mask_features", mask_features, dims=3, floating=True)
    check_tensor("kernels", kernels, dims=2, floating=True)
    if type(kernel_size) is not int or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd int >= 1, got {kernel_size!r}")
    e = mask_features.shape[0]
    if kernels.shape[1] != e * kernel_size * kernel_size:
        raise ValueError(f"kernels must have shape [N, {e * kernel_size * kernel_size}] (E * k * k), "
                         f"got {list(kernels.shape)}")
    n = kernels.shape[0]
    if n == 0:
        return mask_features.new_zeros(0, *mask_features.shape[1:])
    weight = kernels.to(mask_features.dtype).view(n, e, kernel_size, kernel_size)
    return F.conv2d(mask_features[None], weight, padding=kernel_size // 2)[0]  # [N, H, W]
    # END SOLUTION


def matrix_nms(
    masks: torch.Tensor,
    labels: torch.Tensor,
    scores: torch.Tensor,
    kernel: str = "gaussian",
    sigma: float = 2.0,
) -> torch.Tensor:
    """SOLOv2's Matrix NMS: every mask's score decayed by its overlaps with higher-scored masks.

    Sort by decreasing score (stable). For ``i`` ranked before ``j`` with the same label, let
    ``iou_ij`` be their mask IoU (masks converted to the dtype of ``scores``, so bool masks with
    float64 scores give float64 IoUs and decays: ``inter = sum m_i m_j``, ``union = area_i +
    area_j - inter``; an empty union gives 0) and ``comp_i = max_k iou_ki`` over the same-label
    ``k`` ranked before ``i`` (0 if none). Then

    * gaussian: ``f(iou_ij, comp_i) = exp(-sigma (iou_ij^2 - comp_i^2))``
    * linear: ``f(iou_ij, comp_i) = (1 - iou_ij) / max(1 - comp_i, 1e-6)``

    and ``score_j * min(1, min_i f(iou_ij, comp_i))``.

    Args:
        masks (Tensor[N, H, W]): binary masks (bool, or float 0/1).
        labels (Tensor[N]): int64 classes.
        scores (Tensor[N]): float scores.
        kernel (str): ``"gaussian"`` or ``"linear"``.
        sigma (float): the Gaussian's sigma, > 0.

    Returns:
        Tensor[N]: the decayed scores in the *input* order, dtype of ``scores``.
    """
    # BEGIN SOLUTION
    check_tensor("masks", masks, dims=3)
    check_tensor("scores", scores, dims=1, floating=True)
    n = scores.shape[0]
    check_shape("masks", masks, (n, None, None))
    check_tensor("labels", labels)
    check_shape("labels", labels, (n,))
    if kernel not in ("gaussian", "linear"):
        raise ValueError(f"kernel must be 'gaussian' or 'linear', got {kernel!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if n == 0:
        return scores.clone()
    order = scores.argsort(descending=True, stable=True)  # [N]
    flat = masks[order].reshape(n, -1).to(scores.dtype)  # [N, HW]
    lab = labels[order]
    inter = flat @ flat.T  # [N, N]
    area = flat.sum(dim=1)
    union = area[:, None] + area[None, :] - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
    same = lab[:, None] == lab[None, :]
    upper = torch.ones(n, n, dtype=torch.bool, device=scores.device).triu(diagonal=1)
    decay_iou = torch.where(same & upper, iou, torch.zeros_like(iou))  # [i, j]: i before j
    comp = decay_iou.max(dim=0).values  # [N]: comp_i = max over k before i
    if kernel == "gaussian":
        factor = torch.exp(-sigma * (decay_iou ** 2 - comp[:, None] ** 2))
    else:
        factor = (1.0 - decay_iou) / (1.0 - comp[:, None]).clamp(min=1e-6)
    factor = torch.where(same & upper, factor, torch.ones_like(factor))
    decay = factor.min(dim=0).values.clamp(max=1.0)  # [N]
    out = torch.empty_like(scores)
    out[order] = scores[order] * decay
    return out
    # END SOLUTION
