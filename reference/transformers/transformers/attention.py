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

# BEGIN SOLUTION
import math

import torch
import torch.nn.functional as F
# END SOLUTION

__all__ = ["attention", "attention_weights", "MultiHeadAttention"]


# BEGIN SOLUTION
def _check_qkv(query: Tensor, key: Tensor, value: Tensor) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point Tensor, got {type(t).__name__} "
                            f"{getattr(t, 'dtype', '')}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have at least 2 dimensions [..., tokens, features], got shape "
                             f"{list(t.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"query and key must have the same feature size, got {query.shape[-1]} and "
                         f"{key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"key and value must have the same number of tokens, got {key.shape[-2]} and "
                         f"{value.shape[-2]}")


def _bias(query: Tensor, key: Tensor, attn_mask: Tensor | None, is_causal: bool) -> tuple[Tensor | None, Tensor | None]:
    """(additive bias or None, bool 'attend' mask or None), broadcastable to [..., L, S]."""
    L, S = query.shape[-2], key.shape[-2]
    allowed = None
    bias = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("attn_mask and is_causal=True cannot be given together")
        allowed = torch.ones(L, S, dtype=torch.bool, device=query.device).tril()  # [L, S]
    elif attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            allowed = attn_mask
        elif attn_mask.is_floating_point():
            bias = attn_mask.to(query.dtype)
            allowed = bias != float("-inf")
        else:
            raise TypeError(f"attn_mask must be a bool or floating-point Tensor, got dtype {attn_mask.dtype}")
    return bias, allowed
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_qkv(query, key, key)
    bias, allowed = _bias(query, key, attn_mask, is_causal)
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = torch.matmul(query, key.transpose(-2, -1)) * s  # [..., L, S]
    if bias is not None:
        scores = scores + bias
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
        any_allowed = allowed.any(dim=-1, keepdim=True)  # [..., L, 1]
        # a fully masked row: softmax over zeros instead of -inf, then zeroed
        scores = torch.where(any_allowed, scores, torch.zeros((), dtype=scores.dtype, device=scores.device))
        weights = F.softmax(scores, dim=-1)
        return torch.where(any_allowed, weights, torch.zeros((), dtype=weights.dtype, device=weights.device))
    return F.softmax(scores, dim=-1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_qkv(query, key, value)
    return torch.matmul(attention_weights(query, key, attn_mask, is_causal, scale), value)  # [..., L, E_v]
    # END SOLUTION


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
        # BEGIN SOLUTION
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.batch_first = batch_first
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)
        # END SOLUTION

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
        # BEGIN SOLUTION
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.dim() != 3 or t.shape[-1] != self.embed_dim:
                raise ValueError(f"{name} must be 3-D with {self.embed_dim} features, got shape {list(t.shape)}")
        if self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        L, N, E = query.shape  # [L, N, E]
        S = key.shape[0]
        if key.shape[:2] != value.shape[:2] or key.shape[1] != N:
            raise ValueError(f"key {list(key.shape)} and value {list(value.shape)} do not match query "
                             f"{list(query.shape)}")
        H, d = self.num_heads, E // self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)

        def heads(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
            t = F.linear(x, w, b)  # [T, N, E]
            return t.reshape(t.shape[0], N, H, d).permute(1, 2, 0, 3)  # [N, H, T, d]

        q, k, v = heads(query, w_q, b_q), heads(key, w_k, b_k), heads(value, w_v, b_v)
        bias = torch.zeros(N, H, L, S, dtype=q.dtype, device=q.device)  # [N, H, L, S]
        if attn_mask is not None:
            if attn_mask.dim() == 2 and tuple(attn_mask.shape) == (L, S):
                m = attn_mask[None, None]
            elif attn_mask.dim() == 3 and tuple(attn_mask.shape) == (N * H, L, S):
                m = attn_mask.reshape(N, H, L, S)
            else:
                raise ValueError(f"attn_mask must have shape [{L}, {S}] or [{N * H}, {L}, {S}], got "
                                 f"{list(attn_mask.shape)}")
            bias = bias.masked_fill(m, float("-inf")) if m.dtype == torch.bool else bias + m.to(q.dtype)
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise ValueError(f"key_padding_mask must have shape [{N}, {S}], got {list(key_padding_mask.shape)}")
            m = key_padding_mask[:, None, None, :]  # [N, 1, 1, S]
            bias = bias.masked_fill(m, float("-inf")) if m.dtype == torch.bool else bias + m.to(q.dtype)
        weights = attention_weights(q, k, bias)  # [N, H, L, S]
        out = torch.matmul(weights, v)  # [N, H, L, d]
        out = out.permute(2, 0, 1, 3).reshape(L, N, E)  # [L, N, E]
        out = self.out_proj(out)
        if self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, weights.mean(dim=1) if average_attn_weights else weights
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load ``nn.MultiheadAttention(E, H).state_dict()`` (strict); the module moves to the
        device of the tensors first. Returns nothing (callable across the grading sandbox).

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
