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

# BEGIN SOLUTION
import torch.nn.functional as F

from .attention import attention_weights
# END SOLUTION

__all__ = ["window_partition", "window_reverse", "shifted_window_mask", "relative_position_index",
           "relative_position_bias", "shifted_window_attention", "ShiftedWindowAttention",
           "SwinTransformerBlock", "PatchMerging"]


# BEGIN SOLUTION
def _pair(x) -> tuple[int, int]:
    if isinstance(x, int):
        return (x, x)
    a, b = x
    return (int(a), int(b))
# END SOLUTION


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
    # BEGIN SOLUTION
    mh, mw = _pair(window_size)
    if x.dim() != 4 or mh < 1 or mw < 1 or x.shape[1] % mh or x.shape[2] % mw:
        raise ValueError(f"x must be [B, H, W, C] with H, W multiples of the window size {(mh, mw)}, "
                         f"got {list(x.shape)}")
    b, h, w, c = x.shape
    x = x.reshape(b, h // mh, mh, w // mw, mw, c).permute(0, 1, 3, 2, 4, 5)  # [B, gh, gw, mh, mw, C]
    return x.reshape(-1, mh, mw, c)
    # END SOLUTION


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
    # BEGIN SOLUTION
    mh, mw = _pair(window_size)
    if (windows.dim() != 4 or mh < 1 or mw < 1 or height % mh or width % mw
            or tuple(windows.shape[1:3]) != (mh, mw) or windows.shape[0] % ((height // mh) * (width // mw))):
        raise ValueError(f"windows {list(windows.shape)} do not tile a {height} x {width} map with windows "
                         f"{(mh, mw)}")
    gh, gw = height // mh, width // mw
    c = windows.shape[-1]
    x = windows.reshape(-1, gh, gw, mh, mw, c).permute(0, 1, 3, 2, 4, 5)  # [B, gh, mh, gw, mw, C]
    return x.reshape(-1, height, width, c)
    # END SOLUTION


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
    # BEGIN SOLUTION
    mh, mw = _pair(window_size)
    sh, sw = _pair(shift_size)
    if not (0 <= sh < mh and 0 <= sw < mw):
        raise ValueError(f"shift_size {(sh, sw)} must satisfy 0 <= shift < window_size {(mh, mw)}")
    if height % mh or width % mw:
        raise ValueError(f"window_size {(mh, mw)} must divide the map size {height} x {width}")
    if mh >= height:
        sh = 0
    if mw >= width:
        sw = 0
    labels = torch.zeros(height, width, dtype=torch.float64)
    if sh or sw:
        # an axis without shift is one region (torchvision's slices give the same labels)
        rows = [(0, height - mh), (height - mh, height - sh), (height - sh, height)] if sh else [(0, height)]
        cols = [(0, width - mw), (width - mw, width - sw), (width - sw, width)] if sw else [(0, width)]
        count = 0
        for r0, r1 in rows:
            for c0, c1 in cols:
                labels[r0:r1, c0:c1] = count
                count += 1
    win = window_partition(labels[None, :, :, None], (mh, mw)).reshape(-1, mh * mw)  # [nW, N]
    diff = win[:, None, :] - win[:, :, None]  # [nW, N, N]
    return torch.where(diff != 0, -100.0, 0.0).to(dtype)
    # END SOLUTION


def relative_position_index(window_size: int | tuple[int, int]) -> Tensor:
    """Index into the relative position bias table for every pair of tokens of a window.

    For tokens ``i = (y_i, x_i)`` and ``j = (y_j, x_j)`` (row-major in the window),
    ``index[i, j] = (y_i - y_j + M_h - 1) * (2 M_w - 1) + (x_i - x_j + M_w - 1)``.

    Args:
        window_size (int or tuple[int, int]).

    Returns:
        Tensor[M_h * M_w, M_h * M_w]: int64 in ``[0, (2 M_h - 1)(2 M_w - 1))``.
    """
    # BEGIN SOLUTION
    mh, mw = _pair(window_size)
    ys, xs = torch.meshgrid(torch.arange(mh), torch.arange(mw), indexing="ij")
    ys, xs = ys.reshape(-1), xs.reshape(-1)  # [N]
    dy = ys[:, None] - ys[None, :] + mh - 1  # [N, N]
    dx = xs[:, None] - xs[None, :] + mw - 1
    return dy * (2 * mw - 1) + dx
    # END SOLUTION


def relative_position_bias(table: Tensor, index: Tensor) -> Tensor:
    """The bias of every head: ``B[h, i, j] = table[index[i, j], h]``.

    Args:
        table (Tensor[(2 M_h - 1)(2 M_w - 1), heads]): learned.
        index (Tensor[N, N]): int64, from :func:`relative_position_index`.

    Returns:
        Tensor[heads, N, N]: differentiable in ``table``.
    """
    # BEGIN SOLUTION
    n = index.shape[0]
    return table[index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if x.dim() != 4 or x.shape[-1] % num_heads:
        raise ValueError(f"x must be [B, H, W, C] with C divisible by num_heads={num_heads}, got {list(x.shape)}")
    mh, mw = _pair(window_size)
    sh, sw = _pair(shift_size)
    b, h, w, c = x.shape
    pad_b, pad_r = (mh - h % mh) % mh, (mw - w % mw) % mw
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    ph, pw = x.shape[1], x.shape[2]
    sh = 0 if mh >= ph else sh
    sw = 0 if mw >= pw else sw
    shifted = sh > 0 or sw > 0
    if shifted:
        x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
    windows = window_partition(x, (mh, mw)).reshape(-1, mh * mw, c)  # [B*nW, N, C]
    n = mh * mw
    d = c // num_heads
    qkv = F.linear(windows, qkv_weight, qkv_bias).reshape(-1, n, 3, num_heads, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # [B*nW, heads, N, d]
    bias = relative_position_bias.reshape(1, num_heads, n, n)
    if shifted:
        mask = shifted_window_mask(ph, pw, (mh, mw), (sh, sw), dtype=x.dtype).to(x.device)  # [nW, N, N]
        nw = mask.shape[0]
        bias = (bias[None] + mask[None, :, None]).expand(b, nw, num_heads, n, n).reshape(b * nw, num_heads, n, n)
    weights = attention_weights(q, k, bias.to(q.dtype))  # [B*nW, heads, N, N]
    out = torch.matmul(weights, v).transpose(1, 2).reshape(-1, n, c)  # [B*nW, N, C]
    out = F.linear(out, proj_weight, proj_bias)
    out = window_reverse(out.reshape(-1, mh, mw, c), (mh, mw), ph, pw)  # [B, pH, pW, C]
    if shifted:
        out = torch.roll(out, shifts=(sh, sw), dims=(1, 2))
    return out[:, :h, :w, :].contiguous()
    # END SOLUTION


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
        # BEGIN SOLUTION
        self.window_size = _pair(window_size)
        self.shift_size = _pair(shift_size)
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        mh, mw = self.window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * mh - 1) * (2 * mw - 1), num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(self.window_size).reshape(-1))
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[B, H, W, C] -> Tensor[B, H, W, C]`` (:func:`shifted_window_attention`)."""
        # BEGIN SOLUTION
        n = self.window_size[0] * self.window_size[1]
        bias = relative_position_bias(self.relative_position_bias_table,
                                      self.relative_position_index.reshape(n, n))
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, bias, self.window_size,
                                        self.num_heads, self.shift_size, self.qkv.bias, self.proj.bias)
        # END SOLUTION

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
        # BEGIN SOLUTION
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, window_size, shift_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Identity(), nn.Linear(hidden, dim),
                                 nn.Identity())
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[B, H, W, C] -> Tensor[B, H, W, C]``."""
        # BEGIN SOLUTION
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
        # END SOLUTION

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
        # BEGIN SOLUTION
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[..., H, W, C] -> Tensor[..., ceil(H/2), ceil(W/2), 2C]``."""
        # BEGIN SOLUTION
        h, w = x.shape[-3], x.shape[-2]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]],
                      dim=-1)  # [..., H/2, W/2, 4C]
        return self.reduction(self.norm(x))
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``PatchMerging(...).state_dict()`` (strict)."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
