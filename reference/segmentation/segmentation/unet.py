"""U-Net (Ronneberger et al., 2015) with padded convolutions.

The original U-Net uses unpadded 3x3 convolutions, so its output is smaller than its input and
the skip connections are cropped. Here every 3x3 convolution is *padded* (``padding=1``): each
encoder level keeps its size, pooling halves it and the transposed convolution doubles it, so
the output has the input's size whenever ``H`` and ``W`` are divisible by ``2 ** depth``.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor, nn

__all__ = ["UNet"]

# BEGIN SOLUTION


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())
# END SOLUTION


class UNet(nn.Module):
    """U-Net with ``depth`` pooling steps, padded 3x3 convolutions and no normalisation.

    With ``c_i = base_channels * 2 ** i``, the parameters are laid out as:

    - ``encoders.{i}`` (``i = 0..depth-1``): ``Sequential(Conv2d(c_{i-1} or in_channels, c_i, 3,
      padding=1), ReLU, Conv2d(c_i, c_i, 3, padding=1), ReLU)``; then ``max_pool2d(2)``;
    - ``bottleneck``: the same double convolution from ``c_{depth-1}`` to ``c_depth``;
    - ``upsamplers.{i}``: ``ConvTranspose2d(c_{i+1}, c_i, kernel_size=2, stride=2)``;
    - ``decoders.{i}``: double convolution from ``2 c_i`` to ``c_i`` on
      ``torch.cat([skip_i, upsampled], dim=1)`` (the encoder's map first);
    - ``head``: ``Conv2d(c_0, num_classes, 1)``.

    The decoder runs from ``i = depth-1`` down to 0. All convolutions have biases; default
    PyTorch initialisation.

    Args:
        in_channels (int): >= 1.
        num_classes (int): >= 1 (output channels).
        base_channels (int): ``c_0`` >= 1, default 16.
        depth (int): number of poolings >= 1, default 3.

    Raises:
        ValueError: an argument < 1.
    """

    def __init__(self, in_channels: int, num_classes: int, base_channels: int = 16, depth: int = 3) -> None:
        super().__init__()
        # BEGIN SOLUTION
        for name, v in (("in_channels", in_channels), ("num_classes", num_classes),
                        ("base_channels", base_channels), ("depth", depth)):
            if type(v) is not int or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        self.depth = depth
        ch = [base_channels * 2 ** i for i in range(depth + 1)]
        self.encoders = nn.ModuleList(_double_conv(in_channels if i == 0 else ch[i - 1], ch[i]) for i in range(depth))
        self.bottleneck = _double_conv(ch[depth - 1], ch[depth])
        self.upsamplers = nn.ModuleList(nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2) for i in range(depth))
        self.decoders = nn.ModuleList(_double_conv(2 * ch[i], ch[i]) for i in range(depth))
        self.head = nn.Conv2d(ch[0], num_classes, 1)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, in_channels, H, W] -> logits Tensor[N, num_classes, H, W]``.

        Raises:
            ValueError: ``x`` is not 4-d with ``in_channels`` channels, or ``H`` or ``W`` is not
                divisible by ``2 ** depth`` (the message names both).
        """
        # BEGIN SOLUTION
        c_in = self.encoders[0][0].in_channels
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != c_in:
            raise ValueError(f"x must have shape [N, {c_in}, H, W], got "
                             f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        m = 2 ** self.depth
        if x.shape[2] % m or x.shape[3] % m:
            raise ValueError(f"H and W must be divisible by 2 ** depth = {m}, got {tuple(x.shape[2:])}")
        skips = []
        h = x
        for enc in self.encoders:
            h = enc(h)
            skips.append(h)
            h = nn.functional.max_pool2d(h, 2)
        h = self.bottleneck(h)
        for i in range(self.depth - 1, -1, -1):
            h = self.upsamplers[i](h)
            h = self.decoders[i](torch.cat([skips[i], h], dim=1))
        return self.head(h)
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Strict ``load_state_dict`` that returns nothing; moves the module to the tensors' device.

        Raises:
            RuntimeError: a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
