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

__all__ = ["sinusoidal_encoding_1d", "sincos_encoding_2d", "interpolate_pos_embedding"]


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
    raise NotImplementedError("sinusoidal_encoding_1d: implement me (see README.md, section `posenc`)")


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
    raise NotImplementedError("sincos_encoding_2d: implement me (see README.md, section `posenc`)")


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
    raise NotImplementedError("interpolate_pos_embedding: implement me (see README.md, section `posenc`)")
