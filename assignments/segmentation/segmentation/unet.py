"""U-Net (Ronneberger et al., 2015) with padded convolutions.

The original U-Net uses unpadded 3x3 convolutions, so its output is smaller than its input and
the skip connections are cropped. Here every 3x3 convolution is *padded* (``padding=1``): each
encoder level keeps its size, pooling halves it and the transposed convolution doubles it, so
the output has the input's size whenever ``H`` and ``W`` are divisible by ``2 ** depth``.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["UNet"]


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
        raise NotImplementedError("UNet.__init__: implement me (see README.md, section `unet`)")

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, in_channels, H, W] -> logits Tensor[N, num_classes, H, W]``.

        Raises:
            ValueError: ``x`` is not 4-d with ``in_channels`` channels, or ``H`` or ``W`` is not
                divisible by ``2 ** depth`` (the message names both).
        """
        raise NotImplementedError("UNet.forward: implement me (see README.md, section `unet`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Strict ``load_state_dict`` that returns nothing; moves the module to the tensors' device.

        Raises:
            RuntimeError: a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
