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

from torch import Tensor

__all__ = ["distance_transform_1d", "distance_transform_2d", "dpm_score"]


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
    raise NotImplementedError("distance_transform_1d: implement me (see README.md, section `dpm`)")


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
    raise NotImplementedError("distance_transform_2d: implement me (see README.md, section `dpm`)")


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
    raise NotImplementedError("dpm_score: implement me (see README.md, section `dpm`)")
