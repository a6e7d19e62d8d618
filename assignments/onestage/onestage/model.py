"""A digit classifier with a spatial transformer in front, trained by the grader inside the
sandbox (``train``), then graded by its accuracy on held-out digits (``predict``).

The digits are scikit-learn's 8 x 8 digits, upsampled to 16 x 16 and placed, rotated (up to
60 degrees either way), scaled and shifted, on a 32 x 32 canvas; see README.md, section
`classifier`, for the data, the time budget and the rules. Build it from your own
:class:`SpatialTransformer` (hence your ``affine_grid`` and ``grid_sample``).
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["CANVAS", "NUM_CLASSES", "train", "predict"]

CANVAS = 32  # the grader's images are 1 x 32 x 32, values in [0, 1]
NUM_CLASSES = 10


def train(images: Tensor, labels: Tensor, seed: int = 0, time_budget_s: float = 60.0) -> None:
    """Train the classifier from scratch and keep it (in memory) for :func:`predict`.

    Args:
        images (Tensor[N, 1, 32, 32]): float32 in [0, 1].
        labels (Tensor[N]): int64 in ``0 .. 9``.
        seed (int): seeds all randomness of the training.
        time_budget_s (float): stop training once this many seconds of CPU time are used (the
            grader's wall-clock limit of the call is larger; a call that runs past it scores 0).

    Returns:
        None.

    Raises:
        ValueError: if the shapes or dtypes are not the ones above (for a dtype, a ``TypeError``
            is as good: the README's rule).
    """
    raise NotImplementedError("train: implement me (see README.md, section `classifier`)")


def predict(images: Tensor) -> dict[str, Tensor]:
    """Classify digits with the model :func:`train` produced.

    Args:
        images (Tensor[N, 1, 32, 32]): float32 in [0, 1].

    Returns:
        dict: ``logits`` float32 ``[N, 10]`` (finite) and ``theta`` float32 ``[N, 2, 3]``, the
        spatial transformer's transform of every image (``align_corners=False``, onto a
        16 x 16 output; the report draws the rectified digits from it).

    Raises:
        RuntimeError: if :func:`train` has not been called.
    """
    raise NotImplementedError("predict: implement me (see README.md, section `classifier`)")
