"""Feature Pyramid Network (Lin et al., 2017) and multi-scale RoI Align.

An FPN turns the feature maps ``C_2 ... C_5`` of a backbone (strides 4 ... 32, more channels
and coarser as they go) into maps ``P_2 ... P_5`` that all have ``out_channels`` channels and
mix the semantics of the coarse maps with the resolution of the fine ones. A two-stage
detector then pools each RoI from the level that suits its size.
"""

from __future__ import annotations

# BEGIN SOLUTION
import math

import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor, nn

# BEGIN SOLUTION
from .boxes import roi_align
# END SOLUTION

__all__ = ["FeaturePyramidNetwork", "assign_fpn_levels", "multiscale_roi_align"]


class FeaturePyramidNetwork(nn.Module):
    """Top-down feature pyramid with lateral connections (no extra levels).

    For input maps ``C_1 ... C_L`` ordered from the finest (highest resolution) to the
    coarsest, with ``in_channels_list[i]`` channels each:

    - lateral: ``L_i = conv1x1_i(C_i)`` (``out_channels`` channels, with bias);
    - top-down: ``M_L = L_L`` and ``M_i = L_i + upsample(M_{i+1})`` where ``upsample`` is
      ``F.interpolate(..., size=L_i.shape[-2:], mode="nearest")``;
    - output: ``P_i = conv3x3_i(M_i)`` (padding 1, with bias), no activation.

    The parameters are laid out as in ``torchvision.ops.FeaturePyramidNetwork`` (without
    ``extra_blocks`` and ``norm_layer``), so that the same state dict loads into both:
    ``inner_blocks.{i}.0.weight`` / ``.bias`` (the 1x1 lateral conv of level ``i``, wrapped in
    an ``nn.Sequential``) and ``layer_blocks.{i}.0.weight`` / ``.bias`` (the 3x3 output conv).
    Initialisation: ``kaiming_uniform_(weight, a=1)`` and zero bias.

    Args:
        in_channels_list (list[int]): channels of each input map, finest first.
        out_channels (int): channels of every output map.

    Raises:
        ValueError: if ``in_channels_list`` is empty or a channel count is not positive, or
            ``out_channels`` is not positive (the message names the offending argument).
    """

    def __init__(self, in_channels_list: list[int], out_channels: int) -> None:
        super().__init__()
        # BEGIN SOLUTION
        if len(in_channels_list) == 0 or min(in_channels_list) <= 0 or out_channels <= 0:
            raise ValueError(
                f"in_channels_list must be a non-empty list of positive ints and out_channels positive, "
                f"got {in_channels_list!r} and {out_channels!r}"
            )
        self.inner_blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_channels, kernel_size=1)) for c in in_channels_list
        )
        self.layer_blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1))
            for _ in in_channels_list
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.zeros_(m.bias)
        # END SOLUTION

    def forward(self, x: dict[str, Tensor]) -> dict[str, Tensor]:
        """Compute the pyramid.

        Args:
            x (dict[str, Tensor]): the input maps ``Tensor[N, in_channels_list[i], H_i, W_i]``,
                finest first (the dict's order); as many as ``in_channels_list``.

        Returns:
            dict[str, Tensor]: the output maps ``Tensor[N, out_channels, H_i, W_i]`` under the
            same keys, in the same order.

        Raises:
            ValueError: if the number of maps differs from ``len(in_channels_list)``.
        """
        # BEGIN SOLUTION
        if len(x) != len(self.inner_blocks):
            raise ValueError(f"expected {len(self.inner_blocks)} feature maps, got {len(x)}")
        names = list(x.keys())
        maps = list(x.values())
        last = self.inner_blocks[-1](maps[-1])  # [N, C, H_L, W_L]
        results = [self.layer_blocks[-1](last)]
        for i in range(len(maps) - 2, -1, -1):
            lateral = self.inner_blocks[i](maps[i])  # [N, C, H_i, W_i]
            top_down = F.interpolate(last, size=lateral.shape[-2:], mode="nearest")
            last = lateral + top_down
            results.insert(0, self.layer_blocks[i](last))
        return dict(zip(names, results, strict=True))
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict).

        A plain-value wrapper of ``load_state_dict``: it returns nothing, so it can be called
        across the grading sandbox. The module first moves to the device of the state dict's
        tensors (CUDA tensors give a module on the GPU).

        Args:
            state_dict (dict[str, Tensor]): e.g. ``torchvision.ops.FeaturePyramidNetwork(...).state_dict()``.

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


def assign_fpn_levels(
    boxes: Tensor,
    k_min: int,
    k_max: int,
    canonical_scale: int = 224,
    canonical_level: int = 4,
    eps: float = 1e-6,
) -> Tensor:
    """The pyramid level each RoI is pooled from (Eq. 1 of the FPN paper).

    ``k = floor(k0 + log2(sqrt(w h) / s0) + eps)`` with ``k0 = canonical_level`` and
    ``s0 = canonical_scale``, clamped to ``[k_min, k_max]``, returned as ``k - k_min`` (an index
    into the list of maps, finest first). As torchvision's ``LevelMapper``, which computes the
    area in float32 for float16 / bfloat16 boxes.

    Args:
        boxes (Tensor[K, 4]): (x1, y1, x2, y2) in image coordinates.
        k_min (int): level of the finest map (e.g. 2 for stride 4).
        k_max (int): level of the coarsest map.
        canonical_scale (int): ``s0``, the box side that maps to ``canonical_level``.
        canonical_level (int): ``k0``.
        eps (float): added before ``floor`` (guards exact powers of two against rounding).

    Returns:
        Tensor[K] int64: level indices in ``[0, k_max - k_min]``.

    Raises:
        ValueError: if ``boxes`` is not [K, 4] or ``k_min > k_max``.
    """
    # BEGIN SOLUTION
    if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        shape = list(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ValueError(f"boxes must be a Tensor[K, 4] (x1, y1, x2, y2), got {shape}")
    if k_min > k_max:
        raise ValueError(f"k_min must be <= k_max, got k_min={k_min}, k_max={k_max}")
    if boxes.dtype in (torch.float16, torch.bfloat16):
        boxes = boxes.float()  # a float16 area overflows above about 256 x 256 pixels
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # [K]
    scale = torch.sqrt(area)  # [K]
    levels = torch.floor(canonical_level + torch.log2(scale / canonical_scale) + eps)  # [K]
    levels = torch.clamp(levels, min=k_min, max=k_max)
    return levels.to(torch.int64) - k_min
    # END SOLUTION


def multiscale_roi_align(
    features: list[Tensor],
    boxes: Tensor,
    output_size: int | tuple[int, int],
    scales: list[float],
    sampling_ratio: int = 2,
    canonical_scale: int = 224,
    canonical_level: int = 4,
) -> Tensor:
    """RoI Align of every RoI from the pyramid level that :func:`assign_fpn_levels` picks.

    The levels are ``k_min = -log2(scales[0])`` and ``k_max = -log2(scales[-1])`` (``scales``
    are powers of two, finest first, e.g. ``[1/4, 1/8, 1/16]``). RoI ``r`` assigned to level
    index ``l`` is pooled with ``roi_align(features[l], ..., spatial_scale=scales[l],
    sampling_ratio=sampling_ratio, aligned=False)``. With a single map every RoI uses it.
    Equal to ``torchvision.ops.MultiScaleRoIAlign`` with the same maps and scales.

    Args:
        features (list[Tensor[N, C, H_l, W_l]]): the pyramid, finest first.
        boxes (Tensor[K, 5]): (batch_index, x1, y1, x2, y2) in image coordinates.
        output_size (int or tuple[int, int]): (oh, ow).
        scales (list[float]): ``scales[l]`` maps image to ``features[l]`` coordinates.
        sampling_ratio (int): samples per bin along each axis; <= 0 means adaptive.
        canonical_scale (int): as in :func:`assign_fpn_levels`.
        canonical_level (int): as in :func:`assign_fpn_levels`.

    Returns:
        Tensor[K, C, oh, ow]: pooled features, row ``r`` for ``boxes[r]``.

    Raises:
        ValueError: if ``features`` and ``scales`` differ in length or are empty, or
            ``boxes`` is not [K, 5].
    """
    # BEGIN SOLUTION
    if len(features) == 0 or len(features) != len(scales):
        raise ValueError(
            f"features and scales must be non-empty lists of the same length, got {len(features)} and {len(scales)}"
        )
    if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[1] != 5:
        shape = list(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ValueError(f"boxes must be a Tensor[K, 5] (batch_index, x1, y1, x2, y2), got {shape}")
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else (int(output_size[0]), int(output_size[1]))
    if len(features) == 1:
        return roi_align(features[0], boxes, (oh, ow), scales[0], sampling_ratio)
    k_min = int(-math.log2(scales[0]))
    k_max = int(-math.log2(scales[-1]))
    levels = assign_fpn_levels(boxes[:, 1:], k_min, k_max, canonical_scale, canonical_level)  # [K]
    first = features[0]
    out = first.new_zeros((boxes.shape[0], first.shape[1], oh, ow))  # [K, C, oh, ow]
    for level, (feature, scale) in enumerate(zip(features, scales, strict=True)):
        idx = torch.nonzero(levels == level).flatten()  # [k]
        if idx.numel():
            out = out.index_copy(0, idx, roi_align(feature, boxes[idx], (oh, ow), scale, sampling_ratio))
    return out
    # END SOLUTION
