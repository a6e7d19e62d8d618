"""k-means on pixel features (Lloyd's algorithm, the scikit-learn variant)."""

from __future__ import annotations

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
    raise NotImplementedError("pixel_features: implement me (see README.md, section `kmeans`)")


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
    raise NotImplementedError("kmeans: implement me (see README.md, section `kmeans`)")
