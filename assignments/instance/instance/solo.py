"""SOLOv2: dynamic mask kernels and Matrix NMS (README.md, sections `dynamic_conv` and `matrix_nms`)."""

from __future__ import annotations

import torch

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
    raise NotImplementedError("dynamic_conv: implement me (see README.md, section `dynamic_conv`)")


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
    raise NotImplementedError("matrix_nms: implement me (see README.md, section `matrix_nms`)")
