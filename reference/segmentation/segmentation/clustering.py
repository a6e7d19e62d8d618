"""k-means on pixel features (Lloyd's algorithm, the scikit-learn variant)."""

from __future__ import annotations

# BEGIN SOLUTION
import torch

from ._checks import check_int, check_tensor
# END SOLUTION
from torch import Tensor

__all__ = ["pixel_features", "kmeans"]


def pixel_features(image: Tensor, spatial_weight: float = 0.0) -> Tensor:
    """One feature row per pixel, in row-major order (pixel ``(r, c)`` is row ``r * W + c``).

    Columns: the ``C`` channel values, then, if ``spatial_weight > 0``, the position
    ``spatial_weight * r / max(H - 1, 1)`` and ``spatial_weight * c / max(W - 1, 1)`` (so
    positions lie in ``[0, spatial_weight]``).

    Args:
        image (Tensor[C, H, W]): floating point.
        spatial_weight (float): >= 0; 0 means colour only.

    Returns:
        Tensor[H * W, C] or Tensor[H * W, C + 2]: dtype of ``image``, the positions computed
        in that dtype too (``torch.arange(n) / (H - 1)`` alone would be float32).

    Raises:
        TypeError: ``image`` is not a floating-point tensor.
        ValueError: ``image`` is not 3-d, or ``spatial_weight`` < 0.
    """
    # BEGIN SOLUTION
    check_tensor("image", image, 3, floating=True)
    if isinstance(spatial_weight, bool) or not isinstance(spatial_weight, (int, float)) or not spatial_weight >= 0:
        raise ValueError(f"spatial_weight must be a number >= 0, got {spatial_weight!r}")
    c, h, w = image.shape
    feats = image.reshape(c, h * w).t()  # [HW, C]
    if spatial_weight == 0:
        return feats.contiguous()
    rows = torch.arange(h, dtype=image.dtype, device=image.device).repeat_interleave(w) / max(h - 1, 1)  # [HW]
    cols = torch.arange(w, dtype=image.dtype, device=image.device).repeat(h) / max(w - 1, 1)  # [HW]
    pos = torch.stack([rows, cols], dim=1) * spatial_weight  # [HW, 2]
    return torch.cat([feats, pos], dim=1)
    # END SOLUTION


def kmeans(x: Tensor, k: int, *, init: str | Tensor = "random", max_iter: int = 300, tol: float = 1e-4,
           seed: int = 0) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means, step for step as ``sklearn.cluster.KMeans(init=centres, n_init=1,
    algorithm="lloyd")`` (do not import scikit-learn).

    Iteration ``t = 0, 1, ..., max_iter - 1``:

    1. assign every point to its nearest centre (squared Euclidean distance; ties to the lower
       index);
    2. new centres = means of their points (an empty cluster keeps its centre: scikit-learn
       would move it to a far point, so tests avoid empty clusters);
    3. stop if the assignment equals the previous iteration's ("strict convergence"), else stop
       if ``sum_j ||new_j - old_j||^2 <= tol * mean_d(var(x[:, d]))`` (population variance).

    Unless stopped by strict convergence, the labels are recomputed for the final centres at the
    end, so labels and centres always agree.

    Args:
        x (Tensor[N, D]): floating point, ``N >= k``.
        k (int): clusters, >= 1.
        init (str or Tensor[k, D]): initial centres, or ``"random"``: the rows
            ``torch.randperm(N, generator=torch.Generator().manual_seed(seed))[:k]`` of ``x``.
        max_iter (int): >= 1.
        tol (float): >= 0, relative to the mean feature variance as above.
        seed (int): seed of the random initialisation.

    Returns:
        tuple[Tensor, Tensor]: ``(labels int64 [N], centres [k, D])``, centres in ``x``'s dtype.

    Raises:
        TypeError: ``x`` is not floating point.
        ValueError: ``x`` not 2-d, ``k`` < 1 or > N, an ``init`` of the wrong shape or unknown
            name, ``max_iter`` < 1 or ``tol`` < 0.
    """
    # BEGIN SOLUTION
    check_tensor("x", x, 2, floating=True)
    n, d = x.shape
    check_int("k", k, 1)
    if k > n:
        raise ValueError(f"k must be at most the number of points N={n}, got {k}")
    check_int("max_iter", max_iter, 1)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if isinstance(init, str):
        if init != "random":
            raise ValueError(f"init must be 'random' or a Tensor[k, D], got {init!r}")
        gen = torch.Generator().manual_seed(seed)
        centres = x[torch.randperm(n, generator=gen)[:k].to(x.device)].clone()
    else:
        check_tensor("init", init, 2, floating=True)
        if tuple(init.shape) != (k, d):
            raise ValueError(f"init must have shape [k, D] = [{k}, {d}], got {list(init.shape)}")
        centres = init.to(x.dtype).clone()
    tol_abs = float(x.var(dim=0, unbiased=False).mean()) * tol if tol > 0 else 0.0

    def assign(c: Tensor) -> Tensor:
        dist = (x * x).sum(1, keepdim=True) - 2 * x @ c.t() + (c * c).sum(1)[None]  # [N, k]
        return dist.argmin(dim=1)

    labels_old = None
    strict = False
    for _ in range(max_iter):
        labels = assign(centres)  # [N]
        counts = torch.bincount(labels, minlength=k).to(x.dtype)  # [k]
        sums = torch.zeros(k, d, dtype=x.dtype, device=x.device).index_add_(0, labels, x)  # [k, D]
        new = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centres)
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if labels_old is not None and torch.equal(labels, labels_old):
            strict = True
            break  # the labels repeat: a fixed point
        if shift <= tol_abs:
            break  # the centres moved less than tol
        labels_old = labels
    if not strict:
        labels = assign(centres)
    return labels, centres
    # END SOLUTION
