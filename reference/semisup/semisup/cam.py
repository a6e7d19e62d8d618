"""Task `cam`: class activation maps and the coarse masks they give for weak supervision."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import describe, float_tensor, probability

__all__ = ["class_activation_map", "cam_to_mask", "cam_masks"]


def class_activation_map(features: torch.Tensor, fc_weight: torch.Tensor, class_idx: torch.Tensor,
                         normalize: bool = True) -> torch.Tensor:
    """Class activation maps (Zhou et al., CVPR 2016) of a global-average-pooling classifier.

    The classifier is ``logits = fc_weight @ mean_{h,w} features + bias``; the CAM of class ``c``
    moves the FC layer in front of the pooling: ``M_c(h, w) = sum_k fc_weight[c, k] * features[k, h, w]``
    (no bias, no ReLU), at the feature map's resolution, so that ``mean_{h,w} M_c = logit_c - bias_c``.
    With ``normalize`` each map is min-max normalised to [0, 1]:
    ``(M - min M) / (max M - min M)``; a constant map (all values exactly equal) becomes all
    zeros, and any positive span, however small (1e-200), is divided out: no epsilon, no clamp.

    Args:
        features (Tensor[N, K, h, w]): the last feature maps (floating point). N may be 0 (an
            empty result), and so may h or w (an empty map, returned as it is, never an error).
        fc_weight (Tensor[C, K]): the FC layer's weight.
        class_idx (Tensor[N]): int64, the class of each image's map, in [0, C).
        normalize (bool): min-max normalise each map.

    Returns:
        Tensor[N, h, w]: ``features``' dtype and device; differentiable when not normalised.

    Raises:
        TypeError, ValueError: wrong dtypes or shapes, K that differ, classes out of range.
    """
    # BEGIN SOLUTION
    float_tensor("features", features, 4, 4)
    float_tensor("fc_weight", fc_weight, 2, 2)
    if fc_weight.shape[1] != features.shape[1]:
        raise ValueError(f"fc_weight must have shape [C, {features.shape[1]}] (K = features' channels), "
                         f"got {list(fc_weight.shape)}")
    if not isinstance(class_idx, torch.Tensor) or class_idx.dtype != torch.int64:
        raise TypeError(f"class_idx must be an int64 tensor, got {describe(class_idx)}")
    if class_idx.shape != features.shape[:1]:
        raise ValueError(f"class_idx must have shape [{features.shape[0]}], got {list(class_idx.shape)}")
    num_classes = fc_weight.shape[0]
    if bool(((class_idx < 0) | (class_idx >= num_classes)).any()):
        raise ValueError(f"class_idx must be in [0, {num_classes}), got {class_idx.tolist()[:10]}")
    w = fc_weight.to(features.dtype)[class_idx]  # [N, K]
    cams = torch.einsum("nk,nkhw->nhw", w, features)  # [N, h, w]
    if not normalize or cams.numel() == 0:
        return cams
    flat = cams.flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1)
    span = (flat.max(dim=1).values.view(-1, 1, 1) - low)
    return torch.where(span > 0, (cams - low) / span.clamp(min=torch.finfo(cams.dtype).tiny), torch.zeros_like(cams))
    # END SOLUTION


def cam_to_mask(cams: torch.Tensor, size: tuple[int, int], threshold: float = 0.5) -> torch.Tensor:
    """A coarse segmentation mask from normalised CAMs, for weak supervision.

    Upsample the maps to ``size`` with ``F.interpolate(mode="bilinear", align_corners=False)``,
    then keep the pixels whose value is ``>= threshold``.

    Args:
        cams (Tensor[N, h, w]): normalised maps in [0, 1] (floating point).
        size (tuple of int): ``(H, W)``, both >= 1.
        threshold (float): in [0, 1].

    Returns:
        Tensor[N, H, W]: bool.

    Raises:
        TypeError, ValueError: non-floating or non-3-D ``cams``, maps of ``h`` or ``w`` 0 (when
            ``N > 0``: nothing to upsample), a bad ``size`` or ``threshold``.
    """
    # BEGIN SOLUTION
    float_tensor("cams", cams, 3, 3)
    if cams.shape[0] and min(cams.shape[1:]) < 1:
        raise ValueError(f"cams must be maps of at least 1 x 1 to upsample, got {list(cams.shape)}")
    threshold = probability("threshold", threshold)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in size)):
        raise ValueError(f"size must be (H, W) with two ints >= 1, got {size!r}")
    if cams.shape[0] == 0:
        return torch.zeros(0, *size, dtype=torch.bool, device=cams.device)
    up = F.interpolate(cams[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    return up >= threshold
    # END SOLUTION


def cam_masks(features: torch.Tensor, fc_weight: torch.Tensor, class_idx: torch.Tensor, size: tuple[int, int],
              threshold: float = 0.5) -> torch.Tensor:
    """Coarse object masks from image labels: the normalised :func:`class_activation_map` of each
    image's class, then :func:`cam_to_mask` at the image size (the accuracy check's entry).

    Args:
        features (Tensor[N, K, h, w]), fc_weight (Tensor[C, K]), class_idx (Tensor[N]) (int64):
            as in :func:`class_activation_map`.
        size (tuple of int): ``(H, W)`` of the images, both >= 1.
        threshold (float): in [0, 1], as in :func:`cam_to_mask`.

    Returns:
        Tensor[N, H, W]: bool.

    Raises:
        TypeError, ValueError: as the two functions.
    """
    # BEGIN SOLUTION
    return cam_to_mask(class_activation_map(features, fc_weight, class_idx, normalize=True), size, threshold)
    # END SOLUTION
