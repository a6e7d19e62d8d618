"""SegNet's decoder trick: max pooling remembers where each maximum was, unpooling puts the
values back there (zeros elsewhere), so the decoder recovers sharp boundaries for free.

Indices follow PyTorch: for each ``(n, c)`` plane, the flat index ``row * W + col`` of the
maximum in the (unpadded) input plane.
"""

from __future__ import annotations

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
    raise NotImplementedError("max_pool2d_with_indices: implement me (see README.md, section `unpool`)")


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
    raise NotImplementedError("max_unpool2d: implement me (see README.md, section `unpool`)")
