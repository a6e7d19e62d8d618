"""SegNet's decoder trick: max pooling remembers where each maximum was, unpooling puts the
values back there (zeros elsewhere), so the decoder recovers sharp boundaries for free.

Indices follow PyTorch: for each ``(n, c)`` plane, the flat index ``row * W + col`` of the
maximum in the (unpadded) input plane.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F

from ._checks import check_tensor, pair
# END SOLUTION
from torch import Tensor

__all__ = ["max_pool2d_with_indices", "max_unpool2d"]


def max_pool2d_with_indices(x: Tensor, kernel_size: int | tuple[int, int],
                            stride: int | tuple[int, int] | None = None,
                            padding: int | tuple[int, int] = 0) -> tuple[Tensor, Tensor]:
    """Max pooling that also returns where each maximum came from; equal to
    ``F.max_pool2d(x, kernel_size, stride, padding, return_indices=True)`` (do not call it)
    for inputs without nan. Ties go to the first maximum in row-major order within the window.
    Padding is implicit ``-inf``; ``padding <= kernel_size // 2``.

    Args:
        x (Tensor[N, C, H, W]): floating point.
        kernel_size (int or (int, int)): >= 1.
        stride (int or (int, int) or None): default ``kernel_size``.
        padding (int or (int, int)): >= 0 and at most half the kernel.

    Returns:
        tuple[Tensor, Tensor]: ``(values [N, C, H_out, W_out], indices int64 [N, C, H_out, W_out])``
        with ``H_out = (H + 2 padding - kernel) // stride + 1``.

    Raises:
        TypeError, ValueError: bad input types, ranks or parameters, or an empty output.
    """
    # BEGIN SOLUTION
    check_tensor("x", x, 4, floating=True)
    kh, kw = pair("kernel_size", kernel_size, 1)
    sh, sw = (kh, kw) if stride is None else pair("stride", stride, 1)
    ph, pw = pair("padding", padding, 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding must be at most half of kernel_size, got padding={padding!r}, "
                         f"kernel_size={kernel_size!r}")
    n, c, h, w = x.shape
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"the output would be empty for input size {(h, w)} and kernel_size {(kh, kw)}")
    xp = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))  # [N, C, H+2p, W+2p]
    cols = F.unfold(xp.reshape(n * c, 1, h + 2 * ph, w + 2 * pw), (kh, kw), stride=(sh, sw))  # [NC, kh*kw, L]
    values, arg = cols.max(dim=1)  # [NC, L], first maximum on ties
    oy = torch.arange(h_out, device=x.device).repeat_interleave(w_out) * sh - ph  # [L] window top (unpadded)
    ox = torch.arange(w_out, device=x.device).repeat(h_out) * sw - pw  # [L]
    rows = oy[None] + torch.div(arg, kw, rounding_mode="floor")
    colsx = ox[None] + arg % kw
    indices = rows * w + colsx
    return values.reshape(n, c, h_out, w_out), indices.reshape(n, c, h_out, w_out).long()
    # END SOLUTION


def max_unpool2d(x: Tensor, indices: Tensor, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
                 output_size: tuple[int, int] | None = None) -> Tensor:
    """The partial inverse of :func:`max_pool2d_with_indices`: a zero map of the pre-pooling
    size with ``x[n, c, i, j]`` written at flat position ``indices[n, c, i, j]`` of plane
    ``(n, c)``; equal to ``F.max_unpool2d`` (do not call it). Differentiable with respect to ``x``.

    The output size is ``((H - 1) * stride - 2 padding + kernel)`` per axis unless
    ``output_size`` (``(H_out, W_out)``, or a full shape whose last two entries are used) is
    given; it must lie in ``[default, default + stride)`` per axis, as in PyTorch.

    Args:
        x (Tensor[N, C, H, W]): pooled values.
        indices (Tensor[N, C, H, W]): int64 flat indices in ``[0, H_out * W_out)``.
        kernel_size, stride, padding: those of the pooling.
        output_size (tuple or list of 2 or 4 ints, or None): see above.

    Returns:
        Tensor[N, C, H_out, W_out]: dtype and device of ``x``.

    Raises:
        TypeError: ``indices`` is not int64.
        ValueError: shapes differ, a bad ``output_size``, or an index out of range.
        TypeError / ValueError: ``kernel_size`` or ``stride`` not ints >= 1, or ``padding`` not
            ints >= 0 (the message names the parameter).
    """
    # BEGIN SOLUTION
    check_tensor("x", x, 4, floating=True)
    check_tensor("indices", indices, 4)
    if indices.dtype != torch.int64:
        raise TypeError(f"indices must be int64, got {indices.dtype}")
    if indices.shape != x.shape:
        raise ValueError(f"indices must have the shape of x {list(x.shape)}, got {list(indices.shape)}")
    kh, kw = pair("kernel_size", kernel_size, 1)
    sh, sw = (kh, kw) if stride is None else pair("stride", stride, 1)
    ph, pw = pair("padding", padding, 0)
    n, c, h, w = x.shape
    default = ((h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw)
    if output_size is None:
        h_out, w_out = default
    else:
        size = list(output_size)
        if len(size) not in (2, 4) or any(type(v) is not int for v in size):
            raise ValueError(f"output_size must be (H_out, W_out) or a full 4-d shape of ints, got {output_size!r}")
        h_out, w_out = size[-2:]
        for got, lo, s, axis in ((h_out, default[0], sh, "height"), (w_out, default[1], sw, "width")):
            if not lo <= got < lo + s:
                raise ValueError(f"output_size {axis} must lie in [{lo}, {lo + s}), got {got}")
    if h_out < 1 or w_out < 1:
        raise ValueError(f"the output would be empty: {(h_out, w_out)}")
    flat_idx = indices.reshape(n, c, h * w)
    if flat_idx.numel() and bool(((flat_idx < 0) | (flat_idx >= h_out * w_out)).any()):
        raise ValueError(f"indices must lie in [0, {h_out * w_out}) for an output of size {(h_out, w_out)}")
    out = x.new_zeros(n, c, h_out * w_out)
    out = out.scatter(2, flat_idx, x.reshape(n, c, h * w))  # [N, C, H_out*W_out]
    return out.reshape(n, c, h_out, w_out)
    # END SOLUTION
