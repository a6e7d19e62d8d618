"""The Vision Transformer (Dosovitskiy et al., 2021), with torchvision's parameter layout.

An image ``[N, C, H, W]`` is cut into ``p x p`` patches, each flattened and linearly projected
to ``D`` features (a strided convolution does both at once); a learned class token is
prepended; learned position embeddings are added; ``L`` pre-norm encoder blocks follow::

    x = x + MHA(LN_1(x))          # self-attention, residual
    x = x + MLP(LN_2(x))          # Linear(D, mlp_dim), GELU, Linear(mlp_dim, D), residual

then a final LayerNorm, and the head (one Linear) reads the class token only. LayerNorms use
``eps = 1e-6``, GELU is the exact (erf) one. Parameter names equal torchvision's
``VisionTransformer`` (``class_token``, ``conv_proj``, ``encoder.pos_embedding``,
``encoder.layers.encoder_layer_{i}.{ln_1, self_attention, ln_2, mlp.0, mlp.3}``,
``encoder.ln``, ``heads.head``) so its state dict loads into yours.
"""

from __future__ import annotations

from torch import Tensor, nn

# BEGIN SOLUTION
import torch
import torch.nn.functional as F

from .attention import MultiHeadAttention
# END SOLUTION

__all__ = ["patchify", "PatchEmbedding", "EncoderBlock", "VisionTransformer"]


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """Cut images into non-overlapping patches, flattened as ``F.unfold`` flattens them.

    Patch ``t = r * (W/p) + c`` (row-major over the patch grid) becomes the vector of its
    pixels in the order (channel, row in patch, column in patch), i.e.
    ``F.unfold(images, p, stride=p).transpose(1, 2)``.

    Args:
        images (Tensor[N, C, H, W]): ``H`` and ``W`` multiples of ``patch_size``.
        patch_size (int): ``p >= 1``.

    Returns:
        Tensor[N, (H/p) * (W/p), C * p * p]: same dtype.

    Raises:
        ValueError: if the images are not 4-D, ``patch_size < 1`` or does not divide H and W.
    """
    # BEGIN SOLUTION
    if images.dim() != 4:
        raise ValueError(f"images must have shape [N, C, H, W], got {list(images.shape)}")
    n, c, h, w = images.shape
    p = patch_size
    if p < 1 or h % p or w % p:
        raise ValueError(f"patch_size {patch_size} must be >= 1 and divide the image size {h} x {w}")
    x = images.reshape(n, c, h // p, p, w // p, p)  # [N, C, gh, p, gw, p]
    x = x.permute(0, 2, 4, 1, 3, 5)  # [N, gh, gw, C, p, p]
    return x.reshape(n, (h // p) * (w // p), c * p * p)
    # END SOLUTION


class PatchEmbedding(nn.Module):
    """Patch embedding as a strided convolution: ``conv_proj = nn.Conv2d(C, D, p, stride=p)``
    (with bias; the parameter names ``weight`` and ``bias`` of ``conv_proj`` as in torchvision).

    ``forward`` uses the convolution; ``forward_linear`` computes the same thing as
    :func:`patchify` followed by a linear layer whose weight is the convolution's weight
    reshaped to ``[D, C * p * p]``. Both return ``[N, (H/p) * (W/p), D]`` (row-major tokens).

    Args:
        in_channels (int): ``C``.
        embed_dim (int): ``D``.
        patch_size (int): ``p``.
    """

    def __init__(self, in_channels: int, embed_dim: int, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.conv_proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: Tensor) -> Tensor:
        """Tokens by the strided convolution: ``Tensor[N, T, D]`` for ``images [N, C, H, W]``.

        Raises:
            ValueError: if ``images`` is not 4-D or ``patch_size`` does not divide H and W.
        """
        # BEGIN SOLUTION
        p = self.patch_size
        if images.dim() != 4 or images.shape[-2] % p or images.shape[-1] % p:
            raise ValueError(f"images must be [N, C, H, W] with H and W multiples of {p}, got {list(images.shape)}")
        return self.conv_proj(images).flatten(2).transpose(1, 2)  # [N, T, D]
        # END SOLUTION

    def forward_linear(self, images: Tensor) -> Tensor:
        """The same tokens by :func:`patchify` and ``F.linear`` with the convolution's weight
        and bias (equal to :meth:`forward` up to float rounding)."""
        # BEGIN SOLUTION
        w = self.conv_proj.weight  # [D, C, p, p]
        return F.linear(patchify(images, self.patch_size), w.reshape(w.shape[0], -1), self.conv_proj.bias)
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load ``{"conv_proj.weight", "conv_proj.bias"}`` (strict); moves to their device."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


class EncoderBlock(nn.Module):
    """A pre-norm transformer encoder block, torchvision's ``EncoderBlock`` (eval mode):
    ``x = x + MHA(LN_1(x))``, ``x = x + MLP(LN_2(x))``.

    Parameters: ``ln_1``, ``self_attention`` (a :class:`MultiHeadAttention` with
    ``batch_first=True``), ``ln_2``, ``mlp`` (an ``nn.Sequential`` whose entries 0 and 3 are
    ``Linear(D, mlp_dim)`` and ``Linear(mlp_dim, D)``, 1 is ``nn.GELU()``, 2 and 4 parameter-free,
    e.g. ``nn.Identity()``). LayerNorm ``eps = 1e-6``.

    Args:
        num_heads (int): heads of the attention.
        hidden_dim (int): ``D``.
        mlp_dim (int): hidden size of the MLP.
    """

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int) -> None:
        super().__init__()
        # BEGIN SOLUTION
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = MultiHeadAttention(hidden_dim, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, mlp_dim), nn.GELU(), nn.Identity(),
                                 nn.Linear(mlp_dim, hidden_dim), nn.Identity())
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, T, D] -> Tensor[N, T, D]``.

        Raises:
            ValueError: if ``x`` is not 3-D.
        """
        # BEGIN SOLUTION
        if x.dim() != 3:
            raise ValueError(f"x must have shape [N, T, D], got {list(x.shape)}")
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``EncoderBlock(...).state_dict()`` (strict); moves to its device."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


class _Encoder(nn.Module):
    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int) -> None:
        super().__init__()
        # BEGIN SOLUTION
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.layers = nn.Sequential()
        for i in range(num_layers):
            self.layers.add_module(f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)
        # END SOLUTION


class VisionTransformer(nn.Module):
    """ViT classifier with torchvision's ``VisionTransformer`` parameter names (no
    representation layer, no dropout).

    ``forward(images)``: patch embedding by ``conv_proj`` (a ``Conv2d(in_channels, hidden_dim,
    patch_size, stride=patch_size)``), class token (``class_token [1, 1, D]``) prepended,
    ``encoder.pos_embedding [1, 1 + T, D]`` added, the encoder blocks
    ``encoder.layers.encoder_layer_{i}`` (:class:`EncoderBlock`), ``encoder.ln``, then
    ``heads.head`` (``Linear(D, num_classes)``) on the class token.

    Args:
        image_size (int): square images of this side.
        patch_size (int): must divide ``image_size``.
        num_layers (int): encoder blocks.
        num_heads (int): heads per block.
        hidden_dim (int): ``D``.
        mlp_dim (int): MLP hidden size.
        num_classes (int): outputs of the head.
        in_channels (int): image channels (torchvision: 3).

    Raises:
        ValueError: if ``patch_size < 1`` or ``patch_size`` does not divide ``image_size``.
    """

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        # BEGIN SOLUTION
        if patch_size < 1 or image_size % patch_size:
            raise ValueError(f"patch_size ({patch_size}) must divide image_size ({image_size})")
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.conv_proj = nn.Conv2d(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        seq = (image_size // patch_size) ** 2 + 1
        self.encoder = _Encoder(seq, num_layers, num_heads, hidden_dim, mlp_dim)
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(hidden_dim, num_classes))
        # END SOLUTION

    def tokens(self, images: Tensor) -> Tensor:
        """The encoder's input: class token, then the patch tokens, plus position embeddings.

        Args:
            images (Tensor[N, C, image_size, image_size]).

        Returns:
            Tensor[N, 1 + T, D].

        Raises:
            ValueError: if ``images`` is not 4-D or its size differs from ``image_size``.
        """
        # BEGIN SOLUTION
        if images.dim() != 4 or tuple(images.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(f"images must be [N, C, {self.image_size}, {self.image_size}], got {list(images.shape)}")
        x = self.conv_proj(images).flatten(2).transpose(1, 2)  # [N, T, D]
        cls = self.class_token.expand(x.shape[0], -1, -1)  # [N, 1, D]
        return torch.cat((cls, x), dim=1) + self.encoder.pos_embedding  # [N, 1 + T, D]
        # END SOLUTION

    def forward(self, images: Tensor) -> Tensor:
        """Class logits ``Tensor[N, num_classes]`` of ``images [N, C, image_size, image_size]``."""
        # BEGIN SOLUTION
        x = self.encoder.ln(self.encoder.layers(self.tokens(images)))  # [N, 1 + T, D]
        return self.heads(x[:, 0])
        # END SOLUTION

    def class_attention(self, images: Tensor) -> Tensor:
        """Attention of the class token on the patches in the **last** block, averaged over the
        heads: ``Tensor[N, image_size / p, image_size / p]`` (row ``r``, column ``c`` of the patch
        grid; each map sums to at most 1, the rest is the class token's attention on itself)."""
        # BEGIN SOLUTION
        x = self.tokens(images)
        blocks = list(self.encoder.layers)
        for block in blocks[:-1]:
            x = block(x)
        y = blocks[-1].ln_1(x)
        _, w = blocks[-1].self_attention(y, y, y, need_weights=True, average_attn_weights=True)  # [N, 1+T, 1+T]
        g = self.image_size // self.patch_size
        return w[:, 0, 1:].reshape(-1, g, g)
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``VisionTransformer(...).state_dict()`` (strict); moves to its device."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
