"""A small ViT digit classifier, trained by the grader inside the sandbox (``train``), then
graded by its accuracy on held-out digits (``predict``).

Build it from your own parts (:class:`VisionTransformer`, hence your attention); see
README.md, section `classifier`, for the data, the time budget and the rules.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["IMAGE_SIZE", "NUM_CLASSES", "train", "predict"]

IMAGE_SIZE = 16  # digits are 8 x 8, upsampled by the grader to 16 x 16, values in [0, 1]
NUM_CLASSES = 10


def train(images: Tensor, labels: Tensor, seed: int = 0, time_budget_s: float = 240.0) -> None:
    """Train a ViT classifier from scratch and keep it (in memory) for :func:`predict`.

    Args:
        images (Tensor[N, 1, 16, 16]): float32 in [0, 1] (scikit-learn digits, upsampled).
        labels (Tensor[N]): int64 in ``0 .. 9``.
        seed (int): seeds all randomness of the training.
        time_budget_s (float): stop training once this many seconds of CPU time are used (the
            grader's wall-clock limit of the call is larger; a call that runs past it scores 0).

    Returns:
        None.

    Raises:
        ValueError: if the shapes or dtypes are not the ones above.
    """
    raise NotImplementedError("train: implement me (see README.md, section `classifier`)")


def predict(images: Tensor) -> dict[str, Tensor]:
    """Classify digits with the model :func:`train` produced.

    Args:
        images (Tensor[N, 1, 16, 16]): float32 in [0, 1].

    Returns:
        dict: ``logits`` float32 ``[N, 10]`` (finite) and ``attention`` float32 ``[N, g, g]``,
        the class token's attention on the ``g x g`` patches in the last block, averaged over the
        heads (each map's values in [0, 1]; drawn in the report).

    Raises:
        RuntimeError: if :func:`train` has not been called.
    """
    raise NotImplementedError("predict: implement me (see README.md, section `classifier`)")
