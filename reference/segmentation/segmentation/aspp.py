"""Atrous spatial pyramid pooling (DeepLab v3).

Parallel branches look at the same feature map with different receptive fields: a 1x1
convolution, one 3x3 convolution per atrous (dilation) rate, and image-level pooling; their
outputs are concatenated and projected back to ``out_channels``.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor, nn

__all__ = ["ASPP"]


class ASPP(nn.Module):
    """ASPP with the parameter layout of ``torchvision.models.segmentation.deeplabv3.ASPP``, so
    the same state dict loads into both (torchvision is not available in the sandbox).

    - ``convs.0``: ``Sequential(Conv2d(C_in, C_out, 1, bias=False), BatchNorm2d(C_out), ReLU)``;
    - ``convs.{i}`` for ``i = 1..len(atrous_rates)``: ``Sequential(Conv2d(C_in, C_out, 3,
      padding=rate, dilation=rate, bias=False), BatchNorm2d(C_out), ReLU)`` (rate = ``atrous_rates[i-1]``);
    - ``convs.{R+1}``: image pooling, ``Sequential(AdaptiveAvgPool2d(1), Conv2d(C_in, C_out, 1,
      bias=False), BatchNorm2d(C_out), ReLU)``, then bilinear upsampling back to ``H x W``
      (``align_corners=False``);
    - ``project``: ``Sequential(Conv2d((R + 2) * C_out, C_out, 1, bias=False), BatchNorm2d(C_out),
      ReLU, Dropout(0.5))`` on the concatenation in branch order.

    Args:
        in_channels (int): ``C_in`` >= 1.
        atrous_rates (list[int]): dilation rates >= 1 (``R`` of them, R >= 1).
        out_channels (int): ``C_out`` >= 1, default 256.

    Raises:
        ValueError: bad channel counts or rates.
    """

    def __init__(self, in_channels: int, atrous_rates: list[int], out_channels: int = 256) -> None:
        super().__init__()
        # BEGIN SOLUTION
        if (type(in_channels) is not int or in_channels < 1
                or type(out_channels) is not int or out_channels < 1):
            raise ValueError(f"in_channels and out_channels must be ints >= 1, got {in_channels!r} and "
                             f"{out_channels!r}")
        if (not isinstance(atrous_rates, (list, tuple)) or len(atrous_rates) == 0
                or any(type(r) is not int or r < 1 for r in atrous_rates)):
            raise ValueError(f"atrous_rates must be a non-empty list of ints >= 1, got {atrous_rates!r}")

        def branch(*layers):
            return nn.Sequential(*layers, nn.BatchNorm2d(out_channels), nn.ReLU())

        convs = [branch(nn.Conv2d(in_channels, out_channels, 1, bias=False))]
        for rate in atrous_rates:
            convs.append(branch(nn.Conv2d(in_channels, out_channels, 3, padding=rate, dilation=rate, bias=False)))
        convs.append(branch(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1, bias=False)))
        self.convs = nn.ModuleList(convs)
        self.project = nn.Sequential(nn.Conv2d(len(convs) * out_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Dropout(0.5))
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, C_in, H, W] -> Tensor[N, C_out, H, W]``.

        Raises:
            ValueError: ``x`` is not ``[N, C_in, H, W]``.
        """
        # BEGIN SOLUTION
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != self.convs[0][0].in_channels:
            raise ValueError(f"x must have shape [N, {self.convs[0][0].in_channels}, H, W], got "
                             f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        size = x.shape[-2:]
        outs = [conv(x) for conv in self.convs[:-1]]
        pooled = self.convs[-1](x)  # [N, C_out, 1, 1]
        outs.append(F.interpolate(pooled, size=size, mode="bilinear", align_corners=False))
        return self.project(torch.cat(outs, dim=1))
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict), e.g. that of
        torchvision's ``ASPP``; moves the module to the device of the tensors. Returns nothing
        (callable across the grading sandbox).

        Raises:
            RuntimeError: a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)

    def set_training(self, mode: bool) -> None:
        """``self.train(mode)`` that returns nothing (callable across the grading sandbox):
        ``False`` puts BatchNorm on its running statistics and turns Dropout off."""
        self.train(bool(mode))
