"""Fully convolutional networks: receptive fields, output stride, and turning a classifier's
fully connected layer into a convolution.

A layer is ``(kernel_size, stride, dilation)`` (a pooling layer too, with dilation 1). Going
through layers ``1..L`` with ``r_0 = 1`` and ``j_0 = 1``:

    r_l = r_{l-1} + dilation_l * (kernel_l - 1) * j_{l-1}        (receptive field, pixels)
    j_l = j_{l-1} * stride_l                                    (jump = output stride)
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["receptive_field", "gradient_receptive_field", "fc_to_conv"]


def receptive_field(layers: list[tuple[int, int, int]]) -> tuple[int, int]:
    """Receptive field and output stride of a stack of (dilated) convolutions, by the formula in
    the module docstring (square kernels, no padding effects).

    Args:
        layers (list[(kernel_size, stride, dilation)]): ints >= 1, first layer first; may be empty.

    Returns:
        tuple[int, int]: ``(r_L, j_L)``; ``(1, 1)`` for no layers.

    Raises:
        TypeError: ``layers`` is not a list or tuple.
        ValueError: an entry is not three ints >= 1 (a bool is refused; an entry may be a tuple
            or a list).
    """
    raise NotImplementedError("receptive_field: implement me (see README.md, section `fcn`)")


def gradient_receptive_field(layers: list[tuple[int, int, int]], size: int) -> int:
    """Measure the receptive field with autograd.

    Build the stack as ``F.conv2d`` layers with one channel, all-ones ``k x k`` weights, the
    given stride and dilation, no padding and no bias; run it on a float64 input
    ``Tensor[1, 1, size, size]``; back-propagate from the single output pixel
    ``(H_out // 2, W_out // 2)``; return the number of rows of the input whose gradient is not
    zero (the height of the non-zero region: with positive weights nothing cancels, so this is
    the receptive field). The two agree, and equal ``r_L``, when dilation leaves no all-zero row
    inside the region; the tests use only such stacks.

    Args:
        layers (list[(kernel_size, stride, dilation)]): as in :func:`receptive_field`.
        size (int): the input side, >= 1.

    Returns:
        int: the measured receptive field in pixels.

    Raises:
        ValueError: bad layers, ``size`` < 1, or an input too small to give an output pixel.
    """
    raise NotImplementedError("gradient_receptive_field: implement me (see README.md, section `fcn`)")


def fc_to_conv(weight: Tensor, bias: Tensor, in_channels: int,
               kernel_size: int | tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Turn a fully connected layer into the equivalent convolution (FCN's "convolutionalization").

    The layer ``logits = weight @ flatten(f) + bias`` acts on a feature map
    ``f: Tensor[C, kH, kW]`` flattened in PyTorch's order (channel, row, column). The returned
    convolution ``F.conv2d(f, conv_weight, conv_bias)`` gives the same logits as a
    ``1 x 1`` map on an input of exactly that size, and a dense map of logits (one per
    ``kH x kW`` window, stride 1) on a larger one. A copy: changing it leaves ``weight`` alone.

    Args:
        weight (Tensor[K, C * kH * kW]): the fully connected layer's weight.
        bias (Tensor[K]): its bias.
        in_channels (int): ``C``.
        kernel_size (int or (int, int)): ``(kH, kW)`` of the feature map the layer was trained on.

    Returns:
        tuple[Tensor, Tensor]: ``(conv_weight [K, C, kH, kW], conv_bias [K])``, dtype of ``weight``.

    Raises:
        ValueError: ``weight.shape[1] != C * kH * kW``, a bias of the wrong shape, or bad sizes.
    """
    raise NotImplementedError("fc_to_conv: implement me (see README.md, section `fcn`)")
