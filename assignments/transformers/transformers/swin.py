"""Swin Transformer parts (Liu et al., 2021), with torchvision's conventions.

Self-attention inside non-overlapping ``M x M`` windows costs O(H W M^2) instead of
O((H W)^2). Every second block shifts the windows by ``M/2`` (a cyclic shift of the map by
``-shift`` with ``torch.roll``, attention in the shifted windows, a roll back by ``+shift``);
pixels that the roll brought together from distant parts of the map must not attend to each
other, so a window's scores get -100 between tokens of different regions (the regions are
sliced as in the paper and torchvision: per axis ``[0, -M)``, ``[-M, -shift)``, ``[-shift, end)``).
A learned bias ``B[h, i, j] = table[index[i, j], h]`` depends on the relative position of
tokens ``i`` and ``j`` in the window. Patch merging halves the resolution: it concatenates
the four 2 x 2 neighbours in the order x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2],
x[1::2, 1::2], applies LayerNorm(4C), then Linear(4C, 2C, bias=False).

Maps are channels-last ``[B, H, W, C]`` throughout; windows are ordered row-major over the
window grid, batch-major, and tokens inside a window row-major.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["window_partition", "window_reverse", "shifted_window_mask", "relative_position_index",
           "relative_position_bias", "shifted_window_attention", "ShiftedWindowAttention",
           "SwinTransformerBlock", "PatchMerging"]


def window_partition(x: Tensor, window_size: int | tuple[int, int]) -> Tensor:
    """Cut a map into non-overlapping windows.

    Args:
        x (Tensor[B, H, W, C]): ``H`` and ``W`` multiples of the window size.
        window_size (int or tuple[int, int]): ``M`` or ``(M_h, M_w)``.

    Returns:
        Tensor[B * nW, M_h, M_w, C]: window ``b * nW + i * (W / M_w) + j`` is
        ``x[b, i*M_h:(i+1)*M_h, j*M_w:(j+1)*M_w]``.

    Raises:
        ValueError: if the map is not 4-D, a window side is < 1 or does not divide the map's
            side (the message names ``window_size``).
    """
    raise NotImplementedError("window_partition: implement me (see README.md, section `swin`)")


def window_reverse(windows: Tensor, window_size: int | tuple[int, int], height: int, width: int) -> Tensor:
    """Undo :func:`window_partition`.

    Args:
        windows (Tensor[B * nW, M_h, M_w, C]).
        window_size (int or tuple[int, int]).
        height (int): ``H``, a multiple of ``M_h``.
        width (int): ``W``, a multiple of ``M_w``.

    Returns:
        Tensor[B, H, W, C].

    Raises:
        ValueError: if the sizes are inconsistent or a window side is < 1 (the message names
            ``window_size``).
    """
    raise NotImplementedError("window_reverse: implement me (see README.md, section `swin`)")


def shifted_window_mask(height: int, width: int, window_size: int | tuple[int, int],
                        shift_size: int | tuple[int, int], dtype: torch.dtype = torch.float32) -> Tensor:
    """The additive attention mask of shifted windows on the rolled map.

    Label each pixel of the ``height x width`` map by its region: per axis, rows
    ``[0, H - M_h)``, ``[H - M_h, H - s_h)`` and ``[H - s_h, H)`` (likewise for columns; an
    axis whose shift is 0 is a single region). Cut the
    labels into windows (:func:`window_partition`); inside window ``w``, the mask between tokens
    ``i`` and ``j`` is 0 when they have the same label and -100 otherwise.

    No shift is applied along an axis whose window covers the whole map (``M == size``; a
    larger window does not divide the map and raises): then that axis' shift counts as 0.
    With no shift at all the mask is all zeros.

    Args:
        height (int): ``H`` (a multiple of ``M_h``).
        width (int): ``W`` (a multiple of ``M_w``).
        window_size (int or tuple[int, int]).
        shift_size (int or tuple[int, int]): each ``0 <= s < M``.
        dtype (torch.dtype): of the result.

    Returns:
        Tensor[nW, M_h * M_w, M_h * M_w]: values 0 and -100, ``nW = (H/M_h) * (W/M_w)``.

    Raises:
        ValueError: if a shift is negative or not smaller than its window, or a window side
            does not divide the map.
    """
    raise NotImplementedError("shifted_window_mask: implement me (see README.md, section `swin`)")


def relative_position_index(window_size: int | tuple[int, int]) -> Tensor:
    """Index into the relative position bias table for every pair of tokens of a window.

    For tokens ``i = (y_i, x_i)`` and ``j = (y_j, x_j)`` (row-major in the window),
    ``index[i, j] = (y_i - y_j + M_h - 1) * (2 M_w - 1) + (x_i - x_j + M_w - 1)``.

    Args:
        window_size (int or tuple[int, int]).

    Returns:
        Tensor[M_h * M_w, M_h * M_w]: int64 in ``[0, (2 M_h - 1)(2 M_w - 1))``.
    """
    raise NotImplementedError("relative_position_index: implement me (see README.md, section `swin`)")


def relative_position_bias(table: Tensor, index: Tensor) -> Tensor:
    """The bias of every head: ``B[h, i, j] = table[index[i, j], h]``.

    Args:
        table (Tensor[(2 M_h - 1)(2 M_w - 1), heads]): learned.
        index (Tensor[N, N]): int64, from :func:`relative_position_index`.

    Returns:
        Tensor[heads, N, N]: differentiable in ``table``.
    """
    raise NotImplementedError("relative_position_bias: implement me (see README.md, section `swin`)")


def shifted_window_attention(x: Tensor, qkv_weight: Tensor, proj_weight: Tensor, relative_position_bias: Tensor,
                             window_size: int | tuple[int, int], num_heads: int,
                             shift_size: int | tuple[int, int], qkv_bias: Tensor | None = None,
                             proj_bias: Tensor | None = None) -> Tensor:
    """(Shifted) window multi-head self-attention, equal to torchvision's
    ``shifted_window_attention(..., training=False)`` (no dropout, no cosine attention).

    1. Pad the map at the bottom and right with zeros to multiples of the window
       (padded pixels take part in the attention, as in torchvision).
    2. An axis whose window covers the padded map gets shift 0. If any shift remains, roll the
       map by ``(-s_h, -s_w)`` over (H, W).
    3. Partition into windows of ``N = M_h M_w`` tokens; ``qkv = x W^T + b`` split into
       q, k, v and into heads of ``C / num_heads`` features (``[3, heads, d]`` order of
       the ``3C`` outputs); scores ``q k^T / sqrt(d) + relative_position_bias``, plus
       :func:`shifted_window_mask` per window if shifted; softmax; times v; heads concatenated;
       ``proj``.
    4. Reverse the windows, roll back by ``(+s_h, +s_w)``, crop the padding.

    Args:
        x (Tensor[B, H, W, C]).
        qkv_weight (Tensor[3C, C]), proj_weight (Tensor[C, C]).
        relative_position_bias (Tensor[1, heads, N, N] or Tensor[heads, N, N]).
        window_size (int or tuple[int, int]).
        num_heads (int): divides ``C``.
        shift_size (int or tuple[int, int]).
        qkv_bias (Tensor[3C] or None), proj_bias (Tensor[C] or None).

    Returns:
        Tensor[B, H, W, C].

    Raises:
        ValueError: if ``num_heads`` does not divide ``C`` or the map is not 4-D.
    """
    raise NotImplementedError("shifted_window_attention: implement me (see README.md, section `swin`)")


class ShiftedWindowAttention(nn.Module):
    """Window attention with torchvision's ``ShiftedWindowAttention`` parameters: ``qkv``
    (``Linear(C, 3C)``), ``proj`` (``Linear(C, C)``), ``relative_position_bias_table``
    (``[(2 M_h - 1)(2 M_w - 1), heads]``) and the buffer ``relative_position_index``
    (**flattened**, ``[N * N]`` int64, as torchvision stores it).

    Args:
        dim (int): ``C``.
        window_size (list[int]): ``[M_h, M_w]``.
        shift_size (list[int]): ``[s_h, s_w]``.
        num_heads (int).
    """

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int) -> None:
        super().__init__()
        raise NotImplementedError("ShiftedWindowAttention.__init__: implement me (see README.md, section `swin`)")

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[B, H, W, C] -> Tensor[B, H, W, C]`` (:func:`shifted_window_attention`)."""
        raise NotImplementedError("ShiftedWindowAttention.forward: implement me (see README.md, section `swin`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``ShiftedWindowAttention(...).state_dict()`` (strict)."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


class SwinTransformerBlock(nn.Module):
    """A Swin block, torchvision's ``SwinTransformerBlock`` in eval mode (no stochastic depth):
    ``x = x + attn(norm1(x))``, ``x = x + mlp(norm2(x))``.

    Parameters: ``norm1``, ``attn`` (:class:`ShiftedWindowAttention`), ``norm2``, ``mlp``
    (``nn.Sequential`` with ``Linear(C, mlp_ratio*C)`` at 0, GELU at 1, ``Linear(.., C)`` at
    3, parameter-free entries at 2 and 4). LayerNorm eps 1e-5 (PyTorch's default).

    Args:
        dim (int), num_heads (int), window_size (list[int]), shift_size (list[int]),
        mlp_ratio (float): default 4.0.
    """

    def __init__(self, dim: int, num_heads: int, window_size: list[int], shift_size: list[int],
                 mlp_ratio: float = 4.0) -> None:
        super().__init__()
        raise NotImplementedError("SwinTransformerBlock.__init__: implement me (see README.md, section `swin`)")

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[B, H, W, C] -> Tensor[B, H, W, C]``."""
        raise NotImplementedError("SwinTransformerBlock.forward: implement me (see README.md, section `swin`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``SwinTransformerBlock(...).state_dict()`` (strict)."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


class PatchMerging(nn.Module):
    """Swin's patch merging, torchvision's ``PatchMerging``: pad H and W to even sizes (zeros at
    the bottom/right), concatenate ``x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2],
    x[1::2, 1::2]`` along channels, ``norm`` (``LayerNorm(4C)``), then ``reduction``
    (``Linear(4C, 2C, bias=False)``).

    Args:
        dim (int): ``C``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        raise NotImplementedError("PatchMerging.__init__: implement me (see README.md, section `swin`)")

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[..., H, W, C] -> Tensor[..., ceil(H/2), ceil(W/2), 2C]``."""
        raise NotImplementedError("PatchMerging.forward: implement me (see README.md, section `swin`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``PatchMerging(...).state_dict()`` (strict)."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
