"""Feature Pyramid Network (Lin et al., 2017) and multi-scale RoI Align.

An FPN turns the feature maps ``C_2 ... C_5`` of a backbone (strides 4 ... 32, more channels
and coarser as they go) into maps ``P_2 ... P_5`` that all have ``out_channels`` channels and
mix the semantics of the coarse maps with the resolution of the fine ones. A two-stage
detector then pools each RoI from the level that suits its size.
"""

from __future__ import annotations

from torch import Tensor, nn

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
        raise NotImplementedError("FeaturePyramidNetwork.__init__: implement me (see README.md, section `fpn`)")

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
        raise NotImplementedError("FeaturePyramidNetwork.forward: implement me (see README.md, section `fpn`)")

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
    raise NotImplementedError("assign_fpn_levels: implement me (see README.md, section `fpn`)")


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
    raise NotImplementedError("multiscale_roi_align: implement me (see README.md, section `fpn`)")
