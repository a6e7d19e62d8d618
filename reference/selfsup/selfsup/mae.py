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
    # BEGIN SOLUTION
    if patch_size < 1:
        raise ValueError(f"patch_size must be >= 1, got {patch_size}")
    if images.dim() != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {list(images.shape)}")
    n, c, height, width = images.shape
    p = patch_size
    if height % p or width % p:
        raise ValueError(f"image size {height}x{width} is not divisible by patch_size={p}")
    h, w = height // p, width // p
    x = images.reshape(n, c, h, p, w, p)
    x = torch.einsum("nchpwq->nhwpqc", x)
    return x.reshape(n, h * w, p * p * c)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if patch_size < 1:
        raise ValueError(f"patch_size must be >= 1, got {patch_size}")
    if patches.dim() != 3:
        raise ValueError(f"patches must be [N, L, p*p*C], got shape {list(patches.shape)}")
    n, length, dim = patches.shape
    p = patch_size
    if dim % (p * p):
        raise ValueError(f"the patch dimension {dim} is not a multiple of patch_size**2 = {p * p}")
    if grid is None:
        side = math.isqrt(length)
        if side * side != length:
            raise ValueError(f"L = {length} patches is not a square grid; pass grid=(h, w)")
        grid = (side, side)
    h, w = grid
    if h * w != length:
        raise ValueError(f"grid {tuple(grid)} has {h * w} patches, but L = {length}")
    c = dim // (p * p)
    x = patches.reshape(n, h, w, p, p, c)
    x = torch.einsum("nhwpqc->nchpwq", x)
    return x.reshape(n, c, h * p, w * p)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    if x.dim() != 3:
        raise ValueError(f"x must be [N, L, D], got shape {list(x.shape)}")
    n, length, d = x.shape
    if noise is None:
        noise = torch.rand(n, length, device=x.device)
    if noise.shape != (n, length):
        raise ValueError(f"noise must be [N, L] = [{n}, {length}], got {list(noise.shape)}")
    len_keep = int(length * (1 - mask_ratio))
    ids_shuffle = torch.argsort(noise, dim=1)  # [N, L]
    ids_restore = torch.argsort(ids_shuffle, dim=1)  # [N, L]
    ids_keep = ids_shuffle[:, :len_keep]
    kept = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, d))  # [N, len_keep, D]
    mask = torch.ones(n, length, dtype=x.dtype, device=x.device)
    mask[:, :len_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return kept, mask, ids_restore
    # END SOLUTION


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
    # BEGIN SOLUTION
    if x.dim() != 3 or mask_token.shape != x.shape[-1:] or ids_restore.dim() != 2 or ids_restore.shape[0] != x.shape[0]:
        raise ValueError(f"x must be [N, K, D], mask_token [D] and ids_restore [N, L], got {list(x.shape)}, "
                         f"{list(mask_token.shape)} and {list(ids_restore.shape)}")
    n, _, d = x.shape
    length = ids_restore.shape[1]
    tokens = x[:, 1:] if has_cls else x
    if tokens.shape[1] > length:
        raise ValueError(f"{tokens.shape[1]} kept tokens but only L = {length} patches")
    masks = mask_token.to(x.dtype).expand(n, length - tokens.shape[1], d)
    full = torch.cat([tokens, masks], dim=1)  # [N, L, D] in shuffled order
    full = torch.gather(full, 1, ids_restore.unsqueeze(-1).expand(-1, -1, d))
    return torch.cat([x[:, :1], full], dim=1) if has_cls else full
    # END SOLUTION


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
    # BEGIN SOLUTION
    target = patchify(images, patch_size)
    if pred.shape != target.shape:
        raise ValueError(f"pred must be {list(target.shape)} (the patches of images), got {list(pred.shape)}")
    if mask.shape != target.shape[:2]:
        raise ValueError(f"mask must be {list(target.shape[:2])}, got {list(mask.shape)}")
    if float(mask.sum()) == 0:
        raise ValueError("the mask removes no patch: the loss over removed patches is undefined")
    if norm_pix_loss:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1.0e-6) ** 0.5
    loss = ((pred - target.to(pred.dtype)) ** 2).mean(dim=-1)  # [N, L]
    mask = mask.to(pred.dtype)
    return (loss * mask).sum() / mask.sum()
    # END SOLUTION
