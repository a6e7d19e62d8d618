"""Masked autoencoders: patchify, random masking, the decoder input and the loss (task `mae`),
following He et al.'s published code with the masking noise made injectable."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["patchify", "unpatchify", "random_masking", "restore_with_mask_tokens", "mae_loss"]


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """Images to flattened non-overlapping patches, channel-last inside a patch.

    Patch ``l = i * w + j`` (row-major over the ``h x w`` patch grid, ``h = H / p``,
    ``w = W / p``) is ``images[n, :, i*p:(i+1)*p, j*p:(j+1)*p]`` flattened in the order
    (row, column, channel): element ``(r * p + s) * C + c`` is pixel ``(r, s)`` of channel ``c``
    (MAE's ``einsum('nchpwq->nhwpqc')``).

    Args:
        images (Tensor[N, C, H, W]): H and W divisible by ``patch_size``.
        patch_size (int): p >= 1.

    Returns:
        Tensor[N, h*w, p*p*C]: the input's dtype.

    Raises:
        ValueError: ``patch_size < 1``, not 4-D, or H or W not divisible by p.
    """
    raise NotImplementedError("patchify: implement me (see README.md, section `mae`)")


def unpatchify(patches: Tensor, patch_size: int, grid: tuple[int, int] | None = None) -> Tensor:
    """The inverse of :func:`patchify`.

    Args:
        patches (Tensor[N, L, p*p*C]).
        patch_size (int): p >= 1.
        grid ((int, int) or None): the patch grid (h, w) with h * w = L; None: square,
            h = w = sqrt(L).

    Returns:
        Tensor[N, C, h*p, w*p].

    Raises:
        ValueError: L not a square (grid None) or h * w != L, the last dim not a multiple of p*p,
            or ``patch_size < 1``.
    """
    raise NotImplementedError("unpatchify: implement me (see README.md, section `mae`)")


def random_masking(x: Tensor, mask_ratio: float, noise: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """MAE's per-sample random masking by sorting noise.

    ``len_keep = int(L * (1 - mask_ratio))``; ``ids_shuffle = argsort(noise, dim=1)`` (ascending:
    the patches with the *smallest* noise are kept), ``ids_restore = argsort(ids_shuffle, dim=1)``;
    the kept tokens are ``x`` gathered at ``ids_shuffle[:, :len_keep]`` (in that order); the mask
    is 0 for kept and 1 for removed patches, in the original patch order.

    Args:
        x (Tensor[N, L, D]): patch tokens.
        mask_ratio (float): in [0, 1).
        noise (Tensor[N, L] or None): uniform noise; None draws ``torch.rand(N, L)`` on x's device.

    Returns:
        (Tensor[N, len_keep, D], Tensor[N, L], Tensor[N, L] int64): the kept tokens, the mask
        (x's dtype) and ``ids_restore``.

    Raises:
        ValueError: ``mask_ratio`` outside [0, 1), or ``noise`` not [N, L].
    """
    raise NotImplementedError("random_masking: implement me (see README.md, section `mae`)")


def restore_with_mask_tokens(x: Tensor, mask_token: Tensor, ids_restore: Tensor, has_cls: bool = True) -> Tensor:
    """The decoder input: the encoded kept tokens plus one mask token per removed patch, put
    back in the original patch order (MAE's ``forward_decoder``).

    ``x`` holds ``[cls,] kept_0 .. kept_{K-1}``. Append ``L - K`` copies of ``mask_token``, then
    gather the ``L`` patch tokens with ``ids_restore``; the class token (if any) stays first.

    Args:
        x (Tensor[N, (1 +) K, D]): encoder output (with a leading class token if ``has_cls``).
        mask_token (Tensor[D]): the learned mask token.
        ids_restore (Tensor[N, L] int64): from :func:`random_masking`.
        has_cls (bool): whether ``x`` starts with a class token.

    Returns:
        Tensor[N, (1 +) L, D]: differentiable in ``x`` and ``mask_token``.

    Raises:
        ValueError: shape mismatches, or more kept tokens than patches.
    """
    raise NotImplementedError("restore_with_mask_tokens: implement me (see README.md, section `mae`)")


def mae_loss(images: Tensor, pred: Tensor, mask: Tensor, patch_size: int, norm_pix_loss: bool = False) -> Tensor:
    """MAE's reconstruction loss: the mean squared error per patch, averaged over the removed
    patches only.

    ``target = patchify(images, p)``; with ``norm_pix_loss`` each target patch is normalised by
    its own mean and variance, ``(t - mean) / sqrt(var + 1e-6)`` with the **unbiased** variance
    over the patch's p*p*C values (``Tensor.var``'s default). ``loss = sum_nl mse_nl mask_nl /
    sum_nl mask_nl`` with ``mse_nl = mean_d (pred - target)^2``.

    Args:
        images (Tensor[N, C, H, W]).
        pred (Tensor[N, L, p*p*C]): the decoder's prediction.
        mask (Tensor[N, L]): 1 = removed (scored), 0 = kept.
        patch_size (int): p.
        norm_pix_loss (bool): normalise the targets per patch.

    Returns:
        Tensor[]: the loss, pred's dtype; differentiable in ``pred``.

    Raises:
        ValueError: ``pred`` or ``mask`` not matching the patches, or a mask that removes nothing.
    """
    raise NotImplementedError("mae_loss: implement me (see README.md, section `mae`)")
