"""Deformable part models: part scores with a quadratic deformation cost, by the generalized
distance transform of Felzenszwalb and Huttenlocher.

A part placed at ``q`` while its anchor is at ``p`` pays ``a * (q - p)^2 + b * (q - p)`` per axis
(the displacement is part minus anchor, as DPM's deformation features ``(dx, dx^2, dy, dy^2)``).
The best placement of a part for each anchor position::

    D(p) = max_q  f(q) - a (q - p)^2 - b (q - p),     a > 0

is a lower envelope of parabolas (one per ``q``) computed in O(n) per row: scan ``q`` left to
right keeping the parabolas that are lowest somewhere and the points ``z`` where they take over,
then read off the envelope at each ``p``. In 2-D the cost separates, so the transform runs along
every row (x) and then along every column (y) of the result; the argmax of the second pass gives
the part's row, the first pass's argmax at that row its column.
"""

from __future__ import annotations

# BEGIN SOLUTION
import math

import torch
# END SOLUTION
from torch import Tensor

__all__ = ["distance_transform_1d", "distance_transform_2d", "dpm_score"]


# BEGIN SOLUTION
def _check_scores(name: str, x: object, dim: int) -> None:
    if not isinstance(x, Tensor) or x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be a float32 or float64 torch.Tensor, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    if x.dim() != dim:
        raise ValueError(f"{name} must have {dim} dimensions, got shape {list(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite (no nan or inf)")


def _check_coefficients(a: object, b: object, axis: str = "") -> tuple[float, float]:
    for name, v in ((f"a{axis}", a), (f"b{axis}", b)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    if not a > 0:
        raise ValueError(f"a{axis} must be > 0 (a quadratic cost), got {a!r}")
    return float(a), float(b)


def _envelope(f: list[float], a: float, b: float) -> tuple[list[float], list[int]]:
    """D and argmax of one row (Python floats: the scan is sequential)."""
    n = len(f)
    if n == 0:
        return [], []
    v = [0] * n  # sources of the parabolas on the envelope
    z = [0.0] * (n + 1)  # z[k]: where parabola k takes over
    k = 0
    z[0], z[1] = -math.inf, math.inf
    for q in range(1, n):
        fq = f[q]
        while True:
            r = v[k]
            s = ((f[r] - fq) + a * (q * q - r * r) + b * (q - r)) / (2.0 * a * (q - r))
            if s <= z[k]:
                k -= 1
            else:
                break
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = math.inf
    d = [0.0] * n
    arg = [0] * n
    k = 0
    for p in range(n):
        while z[k + 1] < p:
            k += 1
        q = v[k]
        d[p] = f[q] - a * (q - p) * (q - p) - b * (q - p)
        arg[p] = q
    return d, arg
# END SOLUTION


def distance_transform_1d(scores: Tensor, a: float = 1.0, b: float = 0.0) -> tuple[Tensor, Tensor]:
    """``D(p) = max_q scores[q] - a (q - p)^2 - b (q - p)`` and its argmax, in O(n).

    Args:
        scores (Tensor[n]): float32 or float64, finite; ``n = 0`` is allowed.
        a (float): quadratic coefficient (> 0).
        b (float): linear coefficient (any sign).

    Returns:
        tuple[Tensor, Tensor]: ``D`` ``[n]`` in the scores' dtype (computed in float64) and the
        argmax ``q`` ``[n]`` int64 (where several ``q`` tie, any of them).

    Raises:
        TypeError: if ``scores`` is not a float32 / float64 tensor.
        ValueError: if ``scores`` is not 1-D or not finite, ``a <= 0``, or ``a`` / ``b`` not finite.
    """
    # BEGIN SOLUTION
    _check_scores("scores", scores, 1)
    a, b = _check_coefficients(a, b)
    d, arg = _envelope(scores.double().tolist(), a, b)
    return (torch.tensor(d, dtype=torch.float64).to(scores.dtype).reshape(-1),
            torch.tensor(arg, dtype=torch.int64).reshape(-1))
    # END SOLUTION


def distance_transform_2d(scores: Tensor, ax: float = 1.0, bx: float = 0.0, ay: float = 1.0,
                          by: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    """``D(y, x) = max_{qy, qx} scores[qy, qx] - ax dx^2 - bx dx - ay dy^2 - by dy`` with
    ``dx = qx - x`` and ``dy = qy - y``, separably (rows, then columns) in O(H W).

    Args:
        scores (Tensor[H, W]): float32 or float64, finite (``H`` or ``W`` may be 0).
        ax, bx (float): cost along x (columns), ``ax > 0``.
        ay, by (float): cost along y (rows), ``ay > 0``.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``D`` ``[H, W]`` in the scores' dtype, and the argmax
        ``qy`` and ``qx``, both int64 ``[H, W]`` (any maximiser where several tie).

    Raises:
        TypeError / ValueError: as :func:`distance_transform_1d` (2-D scores; the message names
            ``ax``, ``bx``, ``ay`` or ``by``).
    """
    # BEGIN SOLUTION
    _check_scores("scores", scores, 2)
    ax, bx = _check_coefficients(ax, bx, "x")
    ay, by = _check_coefficients(ay, by, "y")
    height, width = scores.shape
    if height == 0 or width == 0:
        empty = torch.zeros(height, width, dtype=torch.int64)
        return scores.clone(), empty, empty.clone()
    rows = [_envelope(row, ax, bx) for row in scores.double().tolist()]  # H x ([W], [W])
    d_rows = [r[0] for r in rows]
    cols = [_envelope([d_rows[y][x] for y in range(height)], ay, by) for x in range(width)]  # W x ([H], [H])
    d = torch.tensor([c[0] for c in cols], dtype=torch.float64).T  # [H, W]
    qy = torch.tensor([c[1] for c in cols], dtype=torch.int64).T  # [H, W]
    arg_x = torch.tensor([r[1] for r in rows], dtype=torch.int64)  # [H, W]: the best column per row
    qx = arg_x.gather(0, qy)  # [H, W]: the column found on the chosen row
    return d.to(scores.dtype).contiguous(), qy.contiguous(), qx
    # END SOLUTION


def dpm_score(root: Tensor, parts: Tensor, anchors: Tensor, deformations: Tensor) -> tuple[Tensor, Tensor]:
    """Star-model score of every root position: the root filter's score plus, per part, the best
    part score minus its deformation cost around the part's anchor (all on one grid).

    ``score[y, x] = root[y, x] + sum_i D_i(y + ay_i, x + ax_i)``, ``D_i`` the 2-D transform of
    ``parts[i]`` with ``deformations[i] = (ax, bx, ay, by)``, and ``(ay_i, ax_i) = anchors[i]`` the
    anchor's offset from the root position. A root position whose anchor of some part falls
    outside the grid scores ``-inf`` and gets placements ``-1`` for every part.

    Args:
        root (Tensor[H, W]): float32 or float64, finite.
        parts (Tensor[P, H, W]): part filter scores, same dtype, finite (``P = 0`` gives the root).
        anchors (Tensor[P, 2]): int64 ``(dy, dx)`` offsets.
        deformations (Tensor[P, 4]): ``(ax, bx, ay, by)`` per part, ``ax, ay > 0``.

    Returns:
        tuple[Tensor, Tensor]: ``score`` ``[H, W]`` in the root's dtype, and the placements
        ``[P, H, W, 2]`` int64: the ``(y, x)`` of each part at its best position.

    Raises:
        TypeError / ValueError: on other dtypes, shapes, a ``root`` or ``parts`` value that is
            not finite (the message names the argument), or a deformation with ``ax <= 0`` or
            ``ay <= 0``.
    """
    # BEGIN SOLUTION
    _check_scores("root", root, 2)
    _check_scores("parts", parts, 3)
    if parts.shape[1:] != root.shape:
        raise ValueError(f"parts must be [P, {root.shape[0]}, {root.shape[1]}], got {list(parts.shape)}")
    num = parts.shape[0]
    if not isinstance(anchors, Tensor) or anchors.dtype != torch.int64 or anchors.shape != (num, 2):
        raise ValueError(f"anchors must be an int64 Tensor[{num}, 2], got {getattr(anchors, 'dtype', None)} "
                         f"{list(getattr(anchors, 'shape', []))}")
    if not isinstance(deformations, Tensor) or deformations.shape != (num, 4):
        raise ValueError(f"deformations must be a Tensor[{num}, 4], got {list(getattr(deformations, 'shape', []))}")
    height, width = root.shape
    total = root.double().clone()  # [H, W]
    placements = torch.full((num, height, width, 2), -1, dtype=torch.int64)
    inside = torch.ones(height, width, dtype=torch.bool)
    ys = torch.arange(height)[:, None].expand(height, width)  # [H, W]
    xs = torch.arange(width)[None, :].expand(height, width)  # [H, W]
    for i in range(num):
        ax, bx, ay, by = (float(v) for v in deformations[i].tolist())
        d, qy, qx = distance_transform_2d(parts[i].double(), ax, bx, ay, by)  # [H, W] x 3
        dy, dx = (int(v) for v in anchors[i].tolist())
        py, px = ys + dy, xs + dx  # [H, W]: anchor positions
        ok = (py >= 0) & (py < height) & (px >= 0) & (px < width)  # [H, W]
        inside &= ok
        pyc, pxc = py.clamp(0, height - 1), px.clamp(0, width - 1)
        total = total + d[pyc, pxc]
        placements[i, ..., 0] = qy[pyc, pxc]
        placements[i, ..., 1] = qx[pyc, pxc]
    total = torch.where(inside, total, torch.full_like(total, -math.inf))
    placements[:, ~inside] = -1
    return total.to(root.dtype), placements
    # END SOLUTION
