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

# BEGIN SOLUTION
import math
import time
# END SOLUTION

from torch import Tensor

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION

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


# BEGIN SOLUTION
CONFIG = dict(PRETRAINED_CONFIG)  # the reference trains the same ViT it hands out
EPOCHS = 40
BATCH_SIZE = 64
LR = 2e-3


def _augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random translations by up to 2 pixels (zero fill)."""
    n = x.shape[0]
    shifts = torch.randint(-2, 3, (n, 2), generator=gen)
    padded = F.pad(x, (2, 2, 2, 2))
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(shifts[i, 0]) + 2, int(shifts[i, 1]) + 2
        out[i] = padded[i, :, dy:dy + IMAGE_SIZE, dx:dx + IMAGE_SIZE]
    return out
# END SOLUTION


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
    # BEGIN SOLUTION
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"images must be [N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}], got {list(images.shape)}")
    if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
        raise ValueError(f"labels must be int64 [N], got {labels.dtype} {list(labels.shape)}")
    start = time.process_time()  # CPU time: other processes on the machine do not count
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = VisionTransformer(**CONFIG)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.05)
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / BATCH_SIZE)
    total = EPOCHS * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=total, pct_start=0.1)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(n, generator=gen)
        for s in range(steps_per_epoch):
            idx = perm[s * BATCH_SIZE:(s + 1) * BATCH_SIZE]
            x = _augment(images[idx], gen)
            loss = F.cross_entropy(model(x), labels[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if time.process_time() - start > time_budget_s:
                break
        if time.process_time() - start > time_budget_s:
            break
    _STATE["model"] = model.eval()
    # END SOLUTION


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
    # BEGIN SOLUTION
    model = _STATE.get("model")
    if model is None:
        raise RuntimeError("predict: call train(images, labels) or load_pretrained(state_dict) first")
    with torch.no_grad():
        return {"logits": model(images).float(), "attention": model.class_attention(images).float()}
    # END SOLUTION
