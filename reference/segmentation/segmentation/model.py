"""Your segmenter: a small U-Net trained by the grader inside the sandbox, then asked to predict.

The grader calls ``train(images, masks, ...)`` once, on the public training scenes of
``cv3data.segscenes`` (VOC-style labels, 255 = void), within ``time_budget_s``, then
``predict(images)`` on batches of held-out scenes whose labels never enter the sandbox, and
scores the predictions by dataset-level mIoU.
"""

from __future__ import annotations

# BEGIN SOLUTION
import time

import torch

from .losses import pixel_cross_entropy
from .unet import UNet
# END SOLUTION
from torch import Tensor

__all__ = ["train", "predict"]

#: the trained model, set by :func:`train` and used by :func:`predict`
_STATE: dict = {}
# BEGIN SOLUTION
_CONFIG = {"base_channels": 8, "depth": 2, "lr": 3e-3, "batch_size": 16}


def _normalise(images: Tensor) -> Tensor:
    return (images - 0.5) / 0.25
# END SOLUTION


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
    # BEGIN SOLUTION
    if type(images) is not torch.Tensor or images.dim() != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"images must be a float Tensor[N, 3, H, W], got "
                         f"{list(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if (type(masks) is not torch.Tensor or masks.dtype != torch.int64
            or tuple(masks.shape) != (images.shape[0], *images.shape[2:])):
        raise ValueError(f"masks must be an int64 Tensor[N, H, W] matching images {list(images.shape)}")
    if type(steps) is not int or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    start = time.monotonic()
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = UNet(3, num_classes, base_channels=_CONFIG["base_channels"], depth=_CONFIG["depth"])
    model = model.to(images.device)
    opt = torch.optim.Adam(model.parameters(), lr=_CONFIG["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=_CONFIG["lr"], total_steps=max(steps, 1), pct_start=0.15)
    x_all = _normalise(images.float())
    n = images.shape[0]
    losses: list[float] = []
    done = 0
    model.train()
    for step in range(steps):
        if time_budget_s is not None and time.monotonic() - start > time_budget_s:
            break
        idx = torch.randint(0, n, (_CONFIG["batch_size"],), generator=gen).to(images.device)
        x, y = x_all[idx], masks[idx]
        if bool(torch.rand((), generator=gen) < 0.5):  # horizontal flip
            x, y = x.flip(-1), y.flip(-1)
        loss = pixel_cross_entropy(model(x), y, ignore_index=ignore_index)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        done = step + 1
    model.eval()
    _STATE["model"] = model
    tail = losses[-20:]
    return {"steps": done, "loss": sum(tail) / len(tail) if tail else float("nan")}
    # END SOLUTION


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
    # BEGIN SOLUTION
    model = _STATE.get("model")
    if model is None:
        raise RuntimeError("predict needs a trained model: call train(images, masks, ...) first")
    if type(images) is not torch.Tensor or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be a Tensor[B, 3, H, W], got "
                         f"{list(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    with torch.no_grad():
        logits = model(_normalise(images.float()))
    return logits.argmax(dim=1)
    # END SOLUTION
