"""Documented alternative solutions of the attention speed check, for ``cv3 calibrate``.

Each entry's ``source`` is appended to the reference package's ``__init__.py`` (after ``import
torch``) and overrides ``attention`` only; input checks and the mask conversion reuse the
reference's helpers (they are not what is timed, and the task's tests must pass first).
"documented" follows the README's recipe (matmul, masked_fill, softmax, ``torch.where`` for fully
masked rows, matmul); "naive" loops over the queries in Python, which the README says will not
pass.
"""

from __future__ import annotations

__all__ = ["alternatives"]

_HEAD = '''
import math as _cal_math

from .attention import _bias as _cal_bias, _check_qkv as _cal_check


def _cal_weights(scores, allowed):
    if allowed is None:
        return torch.softmax(scores, dim=-1)
    scores = scores.masked_fill(~allowed, float("-inf"))
    ok = allowed.any(dim=-1, keepdim=True)
    zero = torch.zeros((), dtype=scores.dtype, device=scores.device)
    return torch.where(ok, torch.softmax(torch.where(ok, scores, zero), dim=-1), zero)
'''

MATMUL = _HEAD + '''

def attention(query, key, value, attn_mask=None, is_causal=False, scale=None):
    _cal_check(query, key, value)
    bias, allowed = _cal_bias(query, key, attn_mask, is_causal)
    s = 1.0 / _cal_math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = query @ key.transpose(-2, -1) * s  # [..., L, S]
    if bias is not None:
        scores = scores + bias
    return _cal_weights(scores, allowed) @ value
'''

LOOP = _HEAD + '''

def attention(query, key, value, attn_mask=None, is_causal=False, scale=None):
    _cal_check(query, key, value)
    bias, allowed = _cal_bias(query, key, attn_mask, is_causal)
    s = 1.0 / _cal_math.sqrt(query.shape[-1]) if scale is None else float(scale)
    L, S = query.shape[-2], key.shape[-2]
    if bias is not None:
        bias = bias.expand(*bias.shape[:-2], L, S)
    if allowed is not None:
        allowed = allowed.expand(*allowed.shape[:-2], L, S)
    rows = []
    for i in range(L):  # one query at a time
        scores = query[..., i:i + 1, :] @ key.transpose(-2, -1) * s  # [..., 1, S]
        if bias is not None:
            scores = scores + bias[..., i:i + 1, :]
        rows.append(_cal_weights(scores, None if allowed is None else allowed[..., i:i + 1, :]) @ value)
    if not rows:
        return query.new_zeros(*query.shape[:-1], value.shape[-1])
    return torch.cat(rows, dim=-2)
'''


def alternatives() -> dict:
    return {
        "matmul_softmax": {"kind": "documented", "doc": "README: matmul, masked_fill, softmax, torch.where, matmul",
                           "source": MATMUL},
        "query_loop": {"kind": "naive", "doc": "a Python loop over the queries", "source": LOOP},
    }
