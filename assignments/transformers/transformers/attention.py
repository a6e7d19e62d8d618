"""Scaled dot-product attention and multi-head attention, written by hand.

Attention of queries ``Q`` (``L`` rows) on keys ``K`` and values ``V`` (``S`` rows each)::

    A = softmax(Q K^T * scale + B)          # [..., L, S], rows sum to 1
    out = A V                               # [..., L, E_v]

with ``scale = 1 / sqrt(E)`` by default and ``B`` the additive mask (0 where a query may attend,
``-inf`` where it may not). Memory is O(L S) per head: ``A`` is materialised.

The mask conventions differ between the two PyTorch functions this file mirrors, and this
assignment keeps each one's convention:

- :func:`attention` follows ``F.scaled_dot_product_attention``: a boolean ``attn_mask`` is
  True where the query **may attend**; a float mask is added to the scores.
- :class:`MultiHeadAttention` follows ``nn.MultiheadAttention``: a boolean ``attn_mask`` or
  ``key_padding_mask`` is True where attention is **blocked**; a float mask is added.

A row whose every key is masked returns zeros (output and weights), as
``F.scaled_dot_product_attention`` does in torch >= 2.5; a plain softmax would give NaN.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["attention", "attention_weights", "MultiHeadAttention"]


def attention_weights(
    query: Tensor,
    key: Tensor,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """The attention weights ``softmax(Q K^T * scale + mask)`` (the matrix ``A``).

    Args:
        query (Tensor[..., L, E]): queries (float32 or float64).
        key (Tensor[..., S, E]): keys, same dtype; leading dimensions broadcast.
        attn_mask (Tensor[..., L, S] or None): SDPA's convention. bool: True = may attend,
            False = blocked. float: added to the scores (``-inf`` blocks). Broadcasts.
        is_causal (bool): query ``i`` attends to keys ``j <= i`` only (the upper-left aligned
            lower triangle ``torch.ones(L, S).tril()``, as SDPA). Not allowed with ``attn_mask``.
        scale (float or None): the factor of the scores; ``None`` means ``1 / sqrt(E)``.

    Returns:
        Tensor[..., L, S]: rows sum to 1, except fully masked rows, which are all zeros
        (no NaN). Same dtype as ``query``. Differentiable in ``query`` and ``key``.

    Raises:
        TypeError: if an input is not a floating-point tensor, or the mask's dtype is neither
            bool nor floating point.
        ValueError: if ``query``, ``key`` or ``value`` has fewer than 2 dimensions (the message
            names it), shapes disagree (feature sizes of query and key), or both ``attn_mask``
            and ``is_causal`` are given.
    """
    raise NotImplementedError("attention_weights: implement me (see README.md, section `attention`)")


def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Scaled dot-product attention, equal to ``F.scaled_dot_product_attention`` (no dropout).

    ``out = attention_weights(query, key, attn_mask, is_causal, scale) @ value``. Do not call
    ``F.scaled_dot_product_attention`` or ``nn.MultiheadAttention``: the grader blocks them.

    Args:
        query (Tensor[..., L, E]): queries.
        key (Tensor[..., S, E]): keys.
        value (Tensor[..., S, E_v]): values.
        attn_mask (Tensor[..., L, S] or None): bool (True = may attend) or float (added).
        is_causal (bool): causal mask (lower triangle); not allowed with ``attn_mask``.
        scale (float or None): ``None`` means ``1 / sqrt(E)``.

    Returns:
        Tensor[..., L, E_v]: same dtype as ``query``; a fully masked row is all zeros.
        Differentiable in ``query``, ``key``, ``value`` and a float ``attn_mask``.

    Raises:
        TypeError: as :func:`attention_weights`.
        ValueError: as :func:`attention_weights`, or if key and value differ in token count.
    """
    raise NotImplementedError("attention: implement me (see README.md, section `attention`)")


class MultiHeadAttention(nn.Module):
    """Multi-head attention with the parameters and conventions of ``nn.MultiheadAttention``.

    ``Q = q W_q^T + b_q``, ``K = k W_k^T + b_k``, ``V = v W_v^T + b_v`` (the packed
    ``in_proj_weight [3E, E]`` holds ``W_q, W_k, W_v`` stacked in that order, ``in_proj_bias
    [3E]`` likewise); each is split into ``num_heads`` heads of ``E / num_heads`` features
    (head ``h`` gets features ``h*d : (h+1)*d``); every head attends with scale ``1/sqrt(d)``;
    the heads are concatenated and ``out_proj`` (``nn.Linear(E, E)``) maps them back.

    Parameters (names as ``nn.MultiheadAttention`` with ``bias=True``, equal embedding sizes of
    query, key and value): ``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``,
    ``out_proj.bias``. Initialisation (``nn.MultiheadAttention``'s): ``xavier_uniform_`` for
    ``in_proj_weight``, zeros for ``in_proj_bias`` and ``out_proj.bias``; ``out_proj.weight``
    keeps ``nn.Linear``'s default.

    Args:
        embed_dim (int): ``E``.
        num_heads (int): must divide ``E``.
        batch_first (bool): inputs and outputs are ``[N, L, E]`` if True, ``[L, N, E]`` if
            False (the default, as PyTorch).

    Raises:
        ValueError: if ``embed_dim`` is not divisible by ``num_heads`` (or either is < 1).
    """

    def __init__(self, embed_dim: int, num_heads: int, batch_first: bool = False) -> None:
        super().__init__()
        raise NotImplementedError("MultiHeadAttention.__init__: implement me (see README.md, section `mha`)")

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend (``nn.MultiheadAttention.forward`` without dropout, eval mode).

        Args:
            query (Tensor): ``[N, L, E]`` (batch_first) or ``[L, N, E]``.
            key (Tensor): ``[N, S, E]`` or ``[S, N, E]``.
            value (Tensor): ``[N, S, E]`` or ``[S, N, E]``.
            key_padding_mask (Tensor[N, S] or None): bool, True = this key is padding (blocked);
                or float, added to the scores of every query for that key.
            need_weights (bool): also return the attention weights.
            attn_mask (Tensor[L, S] or Tensor[N * num_heads, L, S] or None): bool, True =
                blocked (nn.MultiheadAttention's convention, the opposite of :func:`attention`);
                or float, added. The 3-D form holds one mask per (batch, head), batch-major.
            average_attn_weights (bool): average the returned weights over the heads.

        Returns:
            tuple: ``(output, weights)``: output like ``query``'s layout ``[N, L, E]`` or
            ``[L, N, E]``; weights ``[N, L, S]`` (averaged) or ``[N, num_heads, L, S]``, or
            ``None`` when ``need_weights`` is False. A query whose every key is blocked gets
            zeros (output before ``out_proj``, and weights).

        Raises:
            ValueError: if the inputs are not 3-D, their sizes disagree, or a mask has the
                wrong shape.
        """
        raise NotImplementedError("MultiHeadAttention.forward: implement me (see README.md, section `mha`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load ``nn.MultiheadAttention(E, H).state_dict()`` (strict); the module moves to the
        device of the tensors first. Returns nothing (callable across the grading sandbox).

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
