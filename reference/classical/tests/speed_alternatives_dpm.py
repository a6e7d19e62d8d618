"""Documented alternative solutions of the distance-transform speed check, for ``cv3 calibrate``.

Each entry's ``source`` is appended to the reference package's ``__init__.py`` (after ``import
torch``) and overrides ``distance_transform_2d`` only. "documented": the lower envelope of the
README on numpy arrays (element access on arrays instead of Python lists), and the reference's
envelope called one row at a time through ``distance_transform_1d``. "naive": the brute force the
README warns about, vectorised with torch (every source for every position, O(n^2) per row,
chunked over the positions to bound memory).
"""

from __future__ import annotations

__all__ = ["alternatives"]

_HEAD = '''
import math as _cal_math

import numpy as _cal_np

from .dpm import _check_coefficients as _cal_coef, _check_scores as _cal_check
'''

NUMPY_ENVELOPE = _HEAD + '''

def _cal_env(f, a, b):
    n = f.shape[0]
    v = _cal_np.zeros(n, dtype=_cal_np.int64)
    z = _cal_np.zeros(n + 1)
    k = 0
    z[0], z[1] = -_cal_np.inf, _cal_np.inf
    for q in range(1, n):
        while True:
            r = v[k]
            s = ((f[r] - f[q]) + a * (q * q - r * r) + b * (q - r)) / (2.0 * a * (q - r))
            if s <= z[k]:
                k -= 1
            else:
                break
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = _cal_np.inf
    d = _cal_np.zeros(n)
    arg = _cal_np.zeros(n, dtype=_cal_np.int64)
    k = 0
    for p in range(n):
        while z[k + 1] < p:
            k += 1
        q = v[k]
        d[p] = f[q] - a * (q - p) ** 2 - b * (q - p)
        arg[p] = q
    return d, arg


def distance_transform_2d(scores, ax=1.0, bx=0.0, ay=1.0, by=0.0):
    _cal_check("scores", scores, 2)
    ax, bx = _cal_coef(ax, bx, "x")
    ay, by = _cal_coef(ay, by, "y")
    f = scores.double().numpy()
    h, w = f.shape
    if h == 0 or w == 0:
        z = torch.zeros(h, w, dtype=torch.int64)
        return scores.clone(), z, z.clone()
    d1 = _cal_np.zeros((h, w))
    a1 = _cal_np.zeros((h, w), dtype=_cal_np.int64)
    for y in range(h):
        d1[y], a1[y] = _cal_env(f[y], ax, bx)
    d2 = _cal_np.zeros((h, w))
    qy = _cal_np.zeros((h, w), dtype=_cal_np.int64)
    for x in range(w):
        d2[:, x], qy[:, x] = _cal_env(_cal_np.ascontiguousarray(d1[:, x]), ay, by)
    qx = _cal_np.take_along_axis(a1, qy, axis=0)
    return torch.from_numpy(d2).to(scores.dtype), torch.from_numpy(qy), torch.from_numpy(qx)
'''

ROWS_1D = _HEAD + '''

def distance_transform_2d(scores, ax=1.0, bx=0.0, ay=1.0, by=0.0):
    _cal_check("scores", scores, 2)
    _cal_coef(ax, bx, "x")
    _cal_coef(ay, by, "y")
    s = scores.double()
    if s.numel() == 0:
        z = torch.zeros(s.shape, dtype=torch.int64)
        return scores.clone(), z, z.clone()
    rows = [distance_transform_1d(s[y], ax, bx) for y in range(s.shape[0])]
    d1 = torch.stack([r[0] for r in rows])
    a1 = torch.stack([r[1] for r in rows])
    cols = [distance_transform_1d(d1[:, x].contiguous(), ay, by) for x in range(s.shape[1])]
    d = torch.stack([c[0] for c in cols], dim=1)
    qy = torch.stack([c[1] for c in cols], dim=1)
    return d.to(scores.dtype), qy, a1.gather(0, qy)
'''

BRUTE = _HEAD + '''

def _cal_brute(f, a, b, chunk=32):
    # f [R, n]: every position p against every source q, [R, chunk, n] at a time, in buffers
    # allocated once (allocating the temporaries anew per chunk grew the worker past 3 GB)
    r, n = f.shape
    q = torch.arange(n, dtype=torch.float64)
    d = torch.empty(r, n, dtype=torch.float64)
    arg = torch.empty(r, n, dtype=torch.int64)
    disp = torch.empty(chunk, n, dtype=torch.float64)
    cost = torch.empty(chunk, n, dtype=torch.float64)
    val = torch.empty(r, chunk, n, dtype=torch.float64)
    for i in range(0, n, chunk):
        c = min(chunk, n - i)
        torch.sub(q[None, :], q[i:i + c, None], out=disp[:c])  # [c, n]: q - p
        torch.mul(disp[:c], disp[:c], out=cost[:c])
        cost[:c].mul_(a).add_(disp[:c], alpha=b)  # a (q - p)^2 + b (q - p)
        torch.sub(f[:, None, :], cost[None, :c], out=val[:, :c])  # [R, c, n]
        m, j = val[:, :c].max(dim=2)
        d[:, i:i + c] = m
        arg[:, i:i + c] = j
    return d, arg


def distance_transform_2d(scores, ax=1.0, bx=0.0, ay=1.0, by=0.0):
    _cal_check("scores", scores, 2)
    ax, bx = _cal_coef(ax, bx, "x")
    ay, by = _cal_coef(ay, by, "y")
    s = scores.double()
    if s.numel() == 0:
        z = torch.zeros(s.shape, dtype=torch.int64)
        return scores.clone(), z, z.clone()
    d1, a1 = _cal_brute(s, ax, bx)
    d2, qy = _cal_brute(d1.T.contiguous(), ay, by)
    qy = qy.T.contiguous()
    return d2.T.contiguous().to(scores.dtype), qy, a1.gather(0, qy)
'''


def alternatives() -> dict:
    return {
        "envelope_numpy": {"kind": "documented", "doc": "README: the lower envelope, on numpy arrays",
                           "source": NUMPY_ENVELOPE},
        "rows_1d": {"kind": "documented", "doc": "README: distance_transform_1d per row, then per column",
                    "source": ROWS_1D},
        "brute_force": {"kind": "naive", "doc": "every source for every position, vectorised (O(n^2) per row)",
                        "source": BRUTE},
    }
