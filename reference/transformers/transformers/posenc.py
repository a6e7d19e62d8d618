"""Positional encodings: 1-D sinusoidal, 2-D sine-cosine (MAE's layout), learned embeddings
resized to a new grid.

Attention is permutation-equivariant: without a position signal a transformer cannot tell
where a token came from. The notes' 1-D encoding (Vaswani et al., 2017) gives position ``p``
the vector ``PE[p, 2i] = sin(p * w_i)``, ``PE[p, 2i+1] = cos(p * w_i)`` with
``w_i = base^(-2i / D)`` (sine and cosine **interleaved**).
"""

from __future__ import annotations

import torch
from torch import Tensor

# BEGIN SOLUTION
import torch.nn.functional as F
# END SOLUTION

__all__ = ["sinusoidal_encoding_1d", "sincos_encoding_2d", "interpolate_pos_embedding"]


# BEGIN SOLUTION
def _check_dim(dim: int, multiple: int) -> None:
    if not isinstance(dim, int) or dim <= 0 or dim % multiple != 0:
        raise ValueError(f"dim must be a positive multiple of {multiple}, got {dim!r}")
# END SOLUTION


def sinusoidal_encoding_1d(num_positions: int, dim: int, base: float = 10000.0,
                           dtype: torch.dtype = torch.float32) -> Tensor:
    """The sinusoidal encoding of positions ``0 .. num_positions - 1``.

    ``PE[p, 2i] = sin(p * base^(-2i/dim))`` and ``PE[p, 2i+1] = cos(p * base^(-2i/dim))`` for
    ``i = 0 .. dim/2 - 1`` (interleaved). Compute the angles in float64, then cast.

    Args:
        num_positions (int): ``P >= 0``.
        dim (int): ``D``, positive and even.
        base (float): the base of the frequencies (> 0).
        dtype (torch.dtype): of the result.

    Returns:
        Tensor[P, D]: the encoding (``Tensor[0, D]`` for ``P = 0``).

    Raises:
        ValueError: if ``dim`` is not a positive even integer, ``num_positions < 0`` or
            ``base <= 0``.
    """
    # BEGIN SOLUTION
    _check_dim(dim, 2)
    if num_positions < 0:
        raise ValueError(f"num_positions must be >= 0, got {num_positions}")
    if base <= 0:
        raise ValueError(f"base must be > 0, got {base}")
    pos = torch.arange(num_positions, dtype=torch.float64)[:, None]  # [P, 1]
    freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # [D/2]
    angles = pos * freq  # [P, D/2]
    pe = torch.stack((angles.sin(), angles.cos()), dim=-1).reshape(num_positions, dim)  # [P, D]
    return pe.to(dtype)
    # END SOLUTION


def sincos_encoding_2d(grid_h: int, grid_w: int, dim: int, base: float = 10000.0,
                       cls_token: bool = False, dtype: torch.dtype = torch.float32) -> Tensor:
    """The fixed 2-D sine-cosine position embedding of a ``grid_h x grid_w`` patch grid, in
    **MAE's layout** (``get_2d_sincos_pos_embed`` of He et al.'s MAE code; timm's
    ``build_sincos2d_pos_embed`` orders the channels differently).

    Tokens are row-major: token ``t = r * grid_w + c`` sits at row ``r``, column ``c``. With
    ``F = dim / 4`` frequencies ``w_i = base^(-i / F)``, ``i = 0 .. F - 1``, the channels are
    four blocks of ``F`` (**not** interleaved)::

        [ sin(c * w), cos(c * w), sin(r * w), cos(r * w) ]

    (the column ``c`` first, then the row ``r``). With ``cls_token`` a row of zeros is
    prepended for the class token.

    Args:
        grid_h (int): rows of patches (>= 1).
        grid_w (int): columns of patches (>= 1).
        dim (int): ``D``, a positive multiple of 4.
        base (float): base of the frequencies (> 0).
        cls_token (bool): prepend a zero row.
        dtype (torch.dtype): of the result (computed in float64).

    Returns:
        Tensor[grid_h * grid_w (+1), D].

    Raises:
        ValueError: if ``dim`` is not a positive multiple of 4, a grid side is < 1, or
            ``base <= 0``.
    """
    # BEGIN SOLUTION
    _check_dim(dim, 4)
    if grid_h < 1 or grid_w < 1:
        raise ValueError(f"grid_h and grid_w must be >= 1, got {grid_h} and {grid_w}")
    if base <= 0:
        raise ValueError(f"base must be > 0, got {base}")
    f = dim // 4
    omega = base ** (-torch.arange(f, dtype=torch.float64) / f)  # [F]
    rows, cols = torch.meshgrid(torch.arange(grid_h, dtype=torch.float64),
                                torch.arange(grid_w, dtype=torch.float64), indexing="ij")
    c = cols.reshape(-1, 1) * omega  # [T, F]
    r = rows.reshape(-1, 1) * omega  # [T, F]
    pe = torch.cat((c.sin(), c.cos(), r.sin(), r.cos()), dim=1)  # [T, D]
    if cls_token:
        pe = torch.cat((torch.zeros(1, dim, dtype=torch.float64), pe), dim=0)
    return pe.to(dtype)
    # END SOLUTION


def interpolate_pos_embedding(pos_embedding: Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int],
                              num_prefix_tokens: int = 1) -> Tensor:
    """Resize a learned position embedding to a new patch grid (fine-tuning at another
    resolution), as torchvision's ``interpolate_embeddings``.

    The first ``num_prefix_tokens`` rows (class token, ...) are kept as they are; the other
    ``old_h * old_w`` rows (row-major grid) are reshaped to an image ``[1, D, old_h, old_w]``,
    resized with ``F.interpolate(mode="bicubic", align_corners=True)`` to ``new_grid`` and
    flattened back, row-major.

    Args:
        pos_embedding (Tensor[1, num_prefix_tokens + old_h * old_w, D]): float.
        old_grid (tuple[int, int]): ``(old_h, old_w)``.
        new_grid (tuple[int, int]): ``(new_h, new_w)``, each >= 1.
        num_prefix_tokens (int): rows before the grid (>= 0).

    Returns:
        Tensor[1, num_prefix_tokens + new_h * new_w, D]: same dtype; differentiable. The same
        grid size returns the input's values unchanged.

    Raises:
        ValueError: if the number of rows does not match ``old_grid`` and
            ``num_prefix_tokens``, the tensor is not 3-D with batch 1, a grid side is < 1, or
            ``num_prefix_tokens < 0`` (the message names ``num_prefix_tokens``).
    """
    # BEGIN SOLUTION
    if pos_embedding.dim() != 3 or pos_embedding.shape[0] != 1:
        raise ValueError(f"pos_embedding must have shape [1, tokens, D], got {list(pos_embedding.shape)}")
    (oh, ow), (nh, nw) = old_grid, new_grid
    if min(oh, ow, nh, nw) < 1 or num_prefix_tokens < 0:
        raise ValueError(f"grid sides must be >= 1 and num_prefix_tokens >= 0, got old_grid {old_grid}, "
                         f"new_grid {new_grid}, num_prefix_tokens {num_prefix_tokens}")
    if pos_embedding.shape[1] != num_prefix_tokens + oh * ow:
        raise ValueError(f"pos_embedding has {pos_embedding.shape[1]} tokens, expected num_prefix_tokens + "
                         f"old_h * old_w = {num_prefix_tokens} + {oh * ow}")
    d = pos_embedding.shape[2]
    prefix = pos_embedding[:, :num_prefix_tokens]  # [1, P, D]
    grid = pos_embedding[:, num_prefix_tokens:].reshape(1, oh, ow, d).permute(0, 3, 1, 2)  # [1, D, oh, ow]
    grid = F.interpolate(grid, size=(nh, nw), mode="bicubic", align_corners=True)  # [1, D, nh, nw]
    grid = grid.permute(0, 2, 3, 1).reshape(1, nh * nw, d)
    return torch.cat((prefix, grid), dim=1)
    # END SOLUTION
