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
    raise NotImplementedError("patchify: implement me (see README.md, section `vit`)")


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
        raise NotImplementedError("PatchEmbedding.forward: implement me (see README.md, section `vit`)")

    def forward_linear(self, images: Tensor) -> Tensor:
        """The same tokens by :func:`patchify` and ``F.linear`` with the convolution's weight
        and bias (equal to :meth:`forward` up to float rounding)."""
        raise NotImplementedError("PatchEmbedding.forward_linear: implement me (see README.md, section `vit`)")

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
        raise NotImplementedError("EncoderBlock.__init__: implement me (see README.md, section `vit`)")

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, T, D] -> Tensor[N, T, D]``.

        Raises:
            ValueError: if ``x`` is not 3-D.
        """
        raise NotImplementedError("EncoderBlock.forward: implement me (see README.md, section `vit`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``EncoderBlock(...).state_dict()`` (strict); moves to its device."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


class _Encoder(nn.Module):
    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int) -> None:
        super().__init__()
        raise NotImplementedError("_Encoder.__init__: implement me (see README.md)")


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
        raise NotImplementedError("VisionTransformer.__init__: implement me (see README.md, section `vit`)")

    def tokens(self, images: Tensor) -> Tensor:
        """The encoder's input: class token, then the patch tokens, plus position embeddings.

        Args:
            images (Tensor[N, C, image_size, image_size]).

        Returns:
            Tensor[N, 1 + T, D].

        Raises:
            ValueError: if ``images`` is not 4-D or its size differs from ``image_size``.
        """
        raise NotImplementedError("VisionTransformer.tokens: implement me (see README.md, section `vit`)")

    def forward(self, images: Tensor) -> Tensor:
        """Class logits ``Tensor[N, num_classes]`` of ``images [N, C, image_size, image_size]``."""
        raise NotImplementedError("VisionTransformer.forward: implement me (see README.md, section `vit`)")

    def class_attention(self, images: Tensor) -> Tensor:
        """Attention of the class token on the patches in the **last** block, averaged over the
        heads: ``Tensor[N, image_size / p, image_size / p]`` (row ``r``, column ``c`` of the patch
        grid; each map sums to at most 1, the rest is the class token's attention on itself)."""
        raise NotImplementedError("VisionTransformer.class_attention: implement me (see README.md, section `vit`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load torchvision ``VisionTransformer(...).state_dict()`` (strict); moves to its device."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
