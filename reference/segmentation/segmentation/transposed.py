"""Transposed convolution as the adjoint of im2col, bilinear upsampling kernels, resize-convolution.

A convolution ``y = conv2d(x, w)`` is ``y = W_mat @ im2col(x)``: im2col (``F.unfold``) copies
every receptive field into a column, and the kernel multiplies the columns. Its adjoint
(transpose) maps ``y`` back: multiply by ``W_mat^T`` to get one column per input pixel, then
*scatter-add* every column into the output window it came from (col2im, ``F.fold``). That is
the transposed convolution, so ``<conv2d(x, w), y> = <x, conv_transpose2d(y, w)>``.

Weights use PyTorch's transposed-convolution layout ``[C_in, C_out, kH, kW]`` (``C_in`` is the
channel count of the *input* of the transposed convolution).
"""

from __future__ import annotations

import torch
# BEGIN SOLUTION
import torch.nn.functional as F

from ._checks import check_int, check_tensor, pair
# END SOLUTION
from torch import Tensor

__all__ = ["transposed_output_size", "conv_transpose2d", "bilinear_kernel", "resize_conv2d"]


def transposed_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                           output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution along one axis:
    ``(size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``.

    Raises:
        ValueError: ``size``, ``kernel_size``, ``stride`` or ``dilation`` < 1, ``padding`` or
            ``output_padding`` < 0, ``output_padding`` not smaller than ``stride`` or
            ``dilation`` (PyTorch's rule), or a result < 1.
    """
    # BEGIN SOLUTION
    for name, v, lo in (("size", size, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                        ("padding", padding, 0), ("output_padding", output_padding, 0), ("dilation", dilation, 1)):
        check_int(name, v, lo)
    if output_padding >= max(stride, dilation):
        raise ValueError(f"output_padding must be smaller than stride or dilation, got output_padding="
                         f"{output_padding}, stride={stride}, dilation={dilation}")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"the output would be empty ({out}): size={size}, kernel_size={kernel_size}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    return out
    # END SOLUTION


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int, int] = 1,
                     padding: int | tuple[int, int] = 0, output_padding: int | tuple[int, int] = 0,
                     dilation: int | tuple[int, int] = 1) -> Tensor:
    """2-D transposed convolution (``groups=1``), equal to ``F.conv_transpose2d`` (do not call it,
    nor ``nn.ConvTranspose2d`` or ``torch.ops``): the adjoint of ``F.conv2d`` with the same
    stride, padding and dilation.

    Implement it as the adjoint of im2col: ``cols = W_mat^T @ x`` (one column of
    ``C_out * kH * kW`` values per input pixel), then scatter-add the columns with ``F.fold``
    (or an explicit loop over the ``kH * kW`` kernel taps, each adding a strided slice), then
    crop ``padding`` on each side and append ``output_padding`` rows/columns at the bottom/right.
    Output size per axis: :func:`transposed_output_size`. Differentiable with respect to ``x``,
    ``weight`` and ``bias``; runs on the device of its inputs.

    Args:
        x (Tensor[N, C_in, H, W]): floating point.
        weight (Tensor[C_in, C_out, kH, kW]): same dtype and device as ``x``.
        bias (Tensor[C_out] or None): added to every output pixel.
        stride, padding, output_padding, dilation (int or (int, int)): as in
            ``F.conv_transpose2d``; ``output_padding < max(stride, dilation)`` per axis.

    Returns:
        Tensor[N, C_out, H_out, W_out]: dtype and device of ``x``.

    Raises:
        TypeError: non-tensor or non-floating inputs, or ``x`` and ``weight`` of different dtypes.
        ValueError: wrong ranks, ``weight.shape[0] != C_in``, a bias of the wrong shape, a
            parameter out of range, an empty input (``N``, ``H`` or ``W`` = 0; unlike
            ``F.conv_transpose2d``, which returns an empty batch for ``N = 0``) or an empty output.
    """
    # BEGIN SOLUTION
    check_tensor("x", x, 4, floating=True)
    check_tensor("weight", weight, 4, floating=True)
    if x.dtype != weight.dtype:
        raise TypeError(f"x and weight must have the same dtype, got {x.dtype} and {weight.dtype}")
    n, c_in, h, w = x.shape
    if weight.shape[0] != c_in:
        raise ValueError(f"weight must have shape [C_in={c_in}, C_out, kH, kW], got {list(weight.shape)}")
    c_out, kh, kw = weight.shape[1], weight.shape[2], weight.shape[3]
    if bias is not None:
        check_tensor("bias", bias, 1, floating=True)
        if bias.shape[0] != c_out:
            raise ValueError(f"bias must have shape [C_out] = [{c_out}], got {list(bias.shape)}")
    (sh, sw), (ph, pw) = pair("stride", stride, 1), pair("padding", padding, 0)
    (oph, opw), (dh, dw) = pair("output_padding", output_padding, 0), pair("dilation", dilation, 1)
    if h == 0 or w == 0 or n == 0:
        raise ValueError(f"x must have N, H, W >= 1, got shape {list(x.shape)}")
    h_out = transposed_output_size(h, kh, sh, ph, oph, dh)
    w_out = transposed_output_size(w, kw, sw, pw, opw, dw)
    cols = weight.reshape(c_in, c_out * kh * kw).t() @ x.reshape(n, c_in, h * w)  # [N, C_out*kH*kW, H*W]
    full_h = (h - 1) * sh + dh * (kh - 1) + 1
    full_w = (w - 1) * sw + dw * (kw - 1) + 1
    full = F.fold(cols, (full_h, full_w), (kh, kw), dilation=(dh, dw), stride=(sh, sw))  # [N, C_out, fH, fW]
    full = F.pad(full, (0, opw, 0, oph))  # output padding: extra rows/columns at the bottom/right
    out = full[:, :, ph:ph + h_out, pw:pw + w_out]  # [N, C_out, H_out, W_out]
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out.contiguous()
    # END SOLUTION


def bilinear_kernel(channels: int, kernel_size: int, *, dtype: torch.dtype = None) -> Tensor:
    """FCN's bilinear-interpolation initialisation of a transposed convolution.

    With ``f = (kernel_size + 1) // 2`` and ``c = f - 1`` for odd ``kernel_size`` (else
    ``f - 0.5``), the 2-D filter is ``g(i, j) = (1 - |i - c| / f) * (1 - |j - c| / f)``.
    The weight is ``Tensor[channels, channels, k, k]`` with ``g`` on the channel diagonal
    (``weight[c, c] = g``) and zeros elsewhere, so each channel is upsampled on its own. With
    ``stride = s``, ``kernel_size = 2 s`` and ``padding = s // 2`` (even ``s``) the transposed
    convolution equals bilinear ``F.interpolate(scale_factor=s, align_corners=False)`` away
    from the borders.

    Args:
        channels (int): >= 1.
        kernel_size (int): >= 1.
        dtype (torch.dtype): default ``torch.get_default_dtype()``.

    Returns:
        Tensor[channels, channels, kernel_size, kernel_size]: computed in float64 and rounded
        once to ``dtype``.

    Raises:
        ValueError: ``channels`` or ``kernel_size`` < 1.
    """
    # BEGIN SOLUTION
    check_int("channels", channels, 1)
    check_int("kernel_size", kernel_size, 1)
    dtype = dtype or torch.get_default_dtype()
    factor = (kernel_size + 1) // 2
    centre = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float64)
    g1 = 1 - (og - centre).abs() / factor  # [k]
    g = (g1[:, None] * g1[None, :]).to(dtype)  # [k, k]
    weight = torch.zeros(channels, channels, kernel_size, kernel_size, dtype=dtype)
    idx = torch.arange(channels)
    weight[idx, idx] = g
    return weight
    # END SOLUTION


def resize_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, scale_factor: int = 2) -> Tensor:
    """Resize-convolution (Odena et al., 2016): nearest-neighbour upsampling by an integer
    ``scale_factor``, then a "same" convolution (stride 1, zero padding ``(k - 1) // 2``).

    Every output pixel sees the same number of kernel taps, so unlike a transposed convolution
    whose kernel size is not divisible by its stride it cannot produce a checkerboard pattern.

    Args:
        x (Tensor[N, C_in, H, W]): floating point.
        weight (Tensor[C_out, C_in, k, k]): a *convolution* weight, odd ``k``.
        bias (Tensor[C_out] or None).
        scale_factor (int): >= 1.

    Returns:
        Tensor[N, C_out, H * scale_factor, W * scale_factor].

    Raises:
        TypeError: non-floating inputs or different dtypes.
        ValueError: wrong ranks, channel mismatch, an even or non-square kernel, ``scale_factor`` < 1.
    """
    # BEGIN SOLUTION
    check_tensor("x", x, 4, floating=True)
    check_tensor("weight", weight, 4, floating=True)
    if x.dtype != weight.dtype:
        raise TypeError(f"x and weight must have the same dtype, got {x.dtype} and {weight.dtype}")
    check_int("scale_factor", scale_factor, 1)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight must have shape [C_out, C_in={x.shape[1]}, k, k], got {list(weight.shape)}")
    k = weight.shape[2]
    if weight.shape[3] != k or k % 2 == 0:
        raise ValueError(f"the kernel must be square with an odd size, got {list(weight.shape[2:])}")
    up = x.repeat_interleave(scale_factor, dim=2).repeat_interleave(scale_factor, dim=3)  # [N, C, sH, sW]
    return F.conv2d(up, weight, bias, padding=(k - 1) // 2)
    # END SOLUTION
