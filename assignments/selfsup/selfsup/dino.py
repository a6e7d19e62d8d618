"""DINO: teacher centring and sharpening, the cross-view loss, the centre EMA, the teacher
temperature warm-up and multi-crop (task `dino`). The teacher EMA is
:func:`selfsup.momentum.momentum_update`."""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["teacher_probabilities", "dino_loss", "update_center", "DINOLoss", "teacher_temperature",
           "multi_crop"]


def teacher_probabilities(teacher_out: Tensor, center: Tensor, teacher_temp: float = 0.04) -> Tensor:
    """Centre and sharpen the teacher: ``softmax((t - c) / tau_t)`` over the last dim, detached.

    Args:
        teacher_out (Tensor[..., K]): teacher outputs.
        center (Tensor[K]): the running centre.
        teacher_temp (float): tau_t > 0 (small: sharpening).

    Returns:
        Tensor[..., K]: probabilities (no gradient), the input's dtype.

    Raises:
        ValueError: ``teacher_temp <= 0`` or ``center`` not [K].
    """
    raise NotImplementedError("teacher_probabilities: implement me (see README.md, section `dino`)")


def dino_loss(teacher_out: Tensor, student_out: Tensor, center: Tensor, teacher_temp: float = 0.04,
              student_temp: float = 0.1) -> Tensor:
    """DINO's cross-view loss.

    Teacher views are the global crops, which are also the first ``Vt`` student views (student
    view ``v`` and teacher view ``v`` are the same crop for ``v < Vt``). For every teacher view
    ``t`` and every student view ``s != t``:
    ``H(t, s) = mean_b sum_k -P_t[b, k] log softmax(s_out[s, b] / tau_s)[k]`` with
    ``P_t = teacher_probabilities(teacher_out[t], center, tau_t)``; the loss is the mean of
    ``H`` over those pairs. Equal to ``lightly.loss.DINOLoss`` (before its centre update).

    Args:
        teacher_out (Tensor[Vt, B, K]): teacher outputs of the global views.
        student_out (Tensor[Vs, B, K]): student outputs, global views first, then local ones.
        center (Tensor[K]): the teacher centre.
        teacher_temp, student_temp (float): > 0.

    Returns:
        Tensor[]: the loss; gradients flow into ``student_out`` only.

    Raises:
        ValueError: shapes, temperatures <= 0, or no pair of different views.
    """
    raise NotImplementedError("dino_loss: implement me (see README.md, section `dino`)")


@torch.no_grad()
def update_center(center: Tensor, teacher_out: Tensor, momentum: float = 0.9) -> Tensor:
    """The centre's EMA: ``c <- m c + (1 - m) mean(teacher_out)`` over every view and sample.

    Under ``torch.distributed`` the batch mean is averaged over processes (``all_reduce``);
    without a process group (``not dist.is_initialized()``) no collective is called.

    Args:
        center (Tensor[K]): the current centre (not modified).
        teacher_out (Tensor[Vt, B, K]): the teacher outputs of the step.
        momentum (float): m in [0, 1].

    Returns:
        Tensor[K]: the new centre (a new tensor).

    Raises:
        ValueError: ``momentum`` outside [0, 1] or shapes.
    """
    raise NotImplementedError("update_center: implement me (see README.md, section `dino`)")


class DINOLoss(nn.Module):
    """The loss with its state: the centre (a buffer ``center``, [K], zeros at the start).

    ``forward(teacher_out, student_out)`` computes :func:`dino_loss` with the current centre,
    *then* updates the centre with :func:`update_center` (the loss of a step never sees that
    step's own batch in its centre).

    Args:
        out_dim (int): K >= 1.
        teacher_temp, student_temp (float): > 0 (defaults 0.04 and 0.1).
        center_momentum (float): in [0, 1] (default 0.9).
    """

    def __init__(self, out_dim: int, teacher_temp: float = 0.04, student_temp: float = 0.1,
                 center_momentum: float = 0.9) -> None:
        raise NotImplementedError("DINOLoss.__init__: implement me (see README.md, section `dino`)")

    def forward(self, teacher_out: Tensor, student_out: Tensor) -> Tensor:
        """Tensor[Vt, B, K], Tensor[Vs, B, K] -> the loss (then the centre moves)."""
        raise NotImplementedError("DINOLoss.forward: implement me (see README.md, section `dino`)")

    def get_center(self) -> Tensor:
        """A copy of the current centre, Tensor[K]."""
        raise NotImplementedError("DINOLoss.get_center: implement me (see README.md, section `dino`)")


def teacher_temperature(epoch: int, warmup_epochs: int = 30, warmup_temp: float = 0.04,
                        final_temp: float = 0.04) -> float:
    """DINO's teacher temperature: ``linspace(warmup_temp, final_temp, warmup_epochs)[epoch]`` for
    ``epoch < warmup_epochs`` (as numpy's and DINO's ``np.linspace``), then ``final_temp``. So it
    runs linearly from ``warmup_temp`` (epoch 0) to ``final_temp`` (epoch ``warmup_epochs - 1``)
    when ``warmup_epochs >= 2``; one warm-up epoch is ``warmup_temp`` (``linspace`` of one point
    is its start), and no warm-up is ``final_temp`` from epoch 0.

    Raises:
        ValueError: ``epoch < 0`` or ``warmup_epochs < 0``.
    """
    raise NotImplementedError("teacher_temperature: implement me (see README.md, section `dino`)")


def multi_crop(image: Tensor, seed: int, n_global: int = 2, n_local: int = 6, global_size: int = 16,
               local_size: int = 8, global_scale: tuple[float, float] = (0.4, 1.0),
               local_scale: tuple[float, float] = (0.05, 0.4),
               ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> tuple[Tensor, Tensor, Tensor]:
    """DINO's multi-crop: ``n_global`` large crops and ``n_local`` small ones of one image, each a
    random resized crop (as torchvision's RandomResizedCrop), drawn from ``seed``.

    A crop covers a fraction of the image area drawn uniformly from its scale range and an aspect
    ratio ``w / h`` log-uniform in ``ratio``; its integer box ``(x1, y1, x2, y2)`` (x2, y2
    exclusive, sides rounded from the drawn area and ratio) lies inside the image (after 10 failed
    draws: the central crop, at offsets ``((W - w) // 2, (H - h) // 2)`` as in torchvision). A draw
    fails only when its rounded box does not fit in the image (``1 <= w <= W`` and ``1 <= h <= H``:
    a side rounded to 0 does not fit, so a crop is never empty): the rounding moves a box's area and
    ratio slightly off the drawn values (and may move them just out of their ranges), and such a
    box is kept, as in torchvision. The box's pixels are resized to ``size x size`` with
    ``F.interpolate(mode="bilinear", align_corners=False)``. The same seed gives the same crops;
    global crops come first.

    Args:
        image (Tensor[C, H, W]): floating point.
        seed (int): seeds a private ``torch.Generator`` (the global RNG is not used).
        n_global (int): >= 1. n_local (int): >= 0.
        global_size, local_size (int): output sides, >= 1.
        global_scale, local_scale ((float, float)): area fractions, 0 < lo <= hi <= 1.
        ratio ((float, float)): 0 < lo <= hi.

    Returns:
        (Tensor[n_global, C, global_size, global_size], Tensor[n_local, C, local_size, local_size],
        Tensor[n_global + n_local, 4] int64): the crops (the image's dtype) and their boxes.

    Raises:
        ValueError: a count, size, scale or ratio outside its range, or ``image`` not 3-D.
    """
    raise NotImplementedError("multi_crop: implement me (see README.md, section `dino`)")
