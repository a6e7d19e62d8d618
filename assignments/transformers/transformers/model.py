"""A small ViT digit classifier, graded by its accuracy on held-out digits (``predict``) twice:

- with the grader's trained weights copied into your :class:`VisionTransformer`
  (:func:`load_pretrained`, given): the accuracy equals the reference's only when your
  attention, multi-head attention, encoder block and ViT compute exactly what the notes
  specify;
- after your own ``train`` ran inside the sandbox on the training digits.

Build it from your own parts (:class:`VisionTransformer`, hence your attention); see
README.md, section `classifier`, for the data, the time budget and the rules.
"""

from __future__ import annotations

from torch import Tensor

from .vit import VisionTransformer

__all__ = ["IMAGE_SIZE", "NUM_CLASSES", "PRETRAINED_CONFIG", "load_pretrained", "train", "predict"]

IMAGE_SIZE = 16  # digits are 8 x 8, upsampled by the grader to 16 x 16, values in [0, 1]
NUM_CLASSES = 10
#: the configuration of the grader's trained ViT (:func:`load_pretrained`)
PRETRAINED_CONFIG = {"image_size": IMAGE_SIZE, "patch_size": 4, "num_layers": 3, "num_heads": 4, "hidden_dim": 64,
                     "mlp_dim": 128, "num_classes": NUM_CLASSES, "in_channels": 1}
#: the model :func:`predict` uses: key ``"model"``, set by :func:`load_pretrained` or by your :func:`train`
_STATE: dict[str, VisionTransformer] = {}


def load_pretrained(state_dict: dict[str, Tensor]) -> None:
    """Build ``VisionTransformer(**PRETRAINED_CONFIG)``, copy the grader's trained weights into
    it (torchvision's parameter names, :meth:`VisionTransformer.load_weights`) and keep it (in
    memory, eval mode) for :func:`predict`, in place of the model :func:`train` produced.
    Given code: the grader calls it as the training step of the pretrained-weights check.

    Args:
        state_dict (dict[str, Tensor]): a ``VisionTransformer(**PRETRAINED_CONFIG)`` state dict.

    Raises:
        RuntimeError: if the weights do not fit your module (a missing or unexpected key, or a
            shape that differs).
    """
    model = VisionTransformer(**PRETRAINED_CONFIG)
    model.load_weights(state_dict)
    _STATE["model"] = model.eval()


def train(images: Tensor, labels: Tensor, seed: int = 0, time_budget_s: float = 240.0) -> None:
    """Train a ViT classifier from scratch and keep it (in memory, ``_STATE["model"]``) for
    :func:`predict`.

    Args:
        images (Tensor[N, 1, 16, 16]): float32 in [0, 1] (scikit-learn digits, upsampled).
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
    """Classify digits with the model in ``_STATE["model"]``: the one the latest call of
    :func:`train` or :func:`load_pretrained` produced.

    Args:
        images (Tensor[N, 1, 16, 16]): float32 in [0, 1].

    Returns:
        dict: ``logits`` float32 ``[N, 10]`` (finite) and ``attention`` float32 ``[N, g, g]``,
        the class token's attention on the ``g x g`` patches in the last block, averaged over the
        heads (each map's values in [0, 1]; drawn in the report).

    Raises:
        RuntimeError: if neither :func:`train` nor :func:`load_pretrained` has been called.
    """
    raise NotImplementedError("predict: implement me (see README.md, section `classifier`)")
