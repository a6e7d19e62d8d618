"""Your segmenter: a small U-Net trained by the grader inside the sandbox, then asked to predict.

The grader calls ``train(images, masks, ...)`` once, on the public training scenes of
``cv3data.segscenes`` (VOC-style labels, 255 = void), within ``time_budget_s``, then
``predict(images)`` on batches of held-out scenes whose labels never enter the sandbox, and
scores the predictions by dataset-level mIoU.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["train", "predict"]

#: the trained model, set by :func:`train` and used by :func:`predict`
_STATE: dict = {}


def train(images: Tensor, masks: Tensor, *, num_classes: int = 4, ignore_index: int = 255, steps: int = 400,
          seed: int = 0, time_budget_s: float | None = None) -> dict:
    """Train a segmenter from scratch and keep it for :func:`predict`.

    Deterministic for a given ``seed`` (use ``torch.Generator().manual_seed(seed)`` for
    initialisation and batch sampling, and do not depend on the global RNG). Stop after
    ``steps`` optimisation steps, or earlier once ``time_budget_s`` seconds have passed
    (checked between steps).

    Args:
        images (Tensor[N, 3, H, W]): float32 in [0, 1]; ``H``, ``W`` divisible by 4.
        masks (Tensor[N, H, W]): int64 labels in ``[0, num_classes)`` or ``ignore_index``.
        num_classes (int): classes including the background (0).
        ignore_index (int): the void label (VOC: 255), ignored by the loss.
        steps (int): optimisation steps >= 0.
        seed (int): the seed.
        time_budget_s (float or None): wall-clock budget.

    Returns:
        dict: ``{"steps": int (done), "loss": float (mean loss of the last 20 steps, nan if none)}``.

    Raises:
        ValueError: shapes or values that do not fit the above.
    """
    raise NotImplementedError("train: implement me (see README.md, section `model`)")


def predict(images: Tensor) -> Tensor:
    """Labels of a batch with the model of the last :func:`train` call.

    Args:
        images (Tensor[B, 3, H, W]): float32 in [0, 1].

    Returns:
        Tensor[B, H, W]: int64 class indices in ``[0, num_classes)`` (never the void label).

    Raises:
        RuntimeError: :func:`train` has not been called.
        ValueError: ``images`` is not ``[B, 3, H, W]``.
    """
    raise NotImplementedError("predict: implement me (see README.md, section `model`)")
