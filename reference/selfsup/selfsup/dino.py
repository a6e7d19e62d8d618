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


# BEGIN SOLUTION
def _check_views(teacher_out: Tensor, student_out: Tensor) -> None:
    if teacher_out.dim() != 3 or student_out.dim() != 3 or teacher_out.shape[1:] != student_out.shape[1:]:
        raise ValueError(f"teacher_out must be [Vt, B, K] and student_out [Vs, B, K], got "
                         f"{list(teacher_out.shape)} and {list(student_out.shape)}")
# END SOLUTION


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
    # BEGIN SOLUTION
    if teacher_temp <= 0:
        raise ValueError(f"teacher_temp must be > 0, got {teacher_temp}")
    if center.shape != teacher_out.shape[-1:]:
        raise ValueError(f"center must be [K] = [{teacher_out.shape[-1]}], got {list(center.shape)}")
    return F.softmax((teacher_out.detach() - center.detach()) / teacher_temp, dim=-1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_views(teacher_out, student_out)
    if student_temp <= 0:
        raise ValueError(f"student_temp must be > 0, got {student_temp}")
    probs = teacher_probabilities(teacher_out, center, teacher_temp)  # [Vt, B, K]
    log_p = F.log_softmax(student_out / student_temp, dim=-1)  # [Vs, B, K]
    total, terms = student_out.new_zeros(()), 0
    for t in range(probs.shape[0]):
        for s in range(log_p.shape[0]):
            if s == t:
                continue  # the same crop seen by both networks
            total = total + (-probs[t] * log_p[s]).sum(-1).mean()
            terms += 1
    if terms == 0:
        raise ValueError(f"no pair of different views: {probs.shape[0]} teacher and {log_p.shape[0]} student views")
    return total / terms
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    if teacher_out.dim() != 3 or center.shape != teacher_out.shape[-1:]:
        raise ValueError(f"teacher_out must be [Vt, B, K] and center [K], got {list(teacher_out.shape)} "
                         f"and {list(center.shape)}")
    batch_center = teacher_out.detach().mean(dim=(0, 1))  # [K]
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(batch_center)
        batch_center = batch_center / dist.get_world_size()
    return center * momentum + batch_center * (1 - momentum)
    # END SOLUTION


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
        # BEGIN SOLUTION
        if out_dim < 1:
            raise ValueError(f"out_dim must be >= 1, got {out_dim}")
        if teacher_temp <= 0 or student_temp <= 0:
            raise ValueError(f"temperatures must be > 0, got teacher_temp={teacher_temp}, student_temp={student_temp}")
        if not 0.0 <= center_momentum <= 1.0:
            raise ValueError(f"center_momentum must be in [0, 1], got {center_momentum}")
        super().__init__()
        self.teacher_temp = teacher_temp
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.register_buffer("center", torch.zeros(out_dim))
        # END SOLUTION

    def forward(self, teacher_out: Tensor, student_out: Tensor) -> Tensor:
        """Tensor[Vt, B, K], Tensor[Vs, B, K] -> the loss (then the centre moves)."""
        # BEGIN SOLUTION
        loss = dino_loss(teacher_out, student_out, self.center.to(teacher_out.dtype), self.teacher_temp,
                         self.student_temp)
        self.center = update_center(self.center, teacher_out.to(self.center.dtype), self.center_momentum)
        return loss
        # END SOLUTION

    def get_center(self) -> Tensor:
        """A copy of the current centre, Tensor[K]."""
        # BEGIN SOLUTION
        return self.center.detach().clone()
        # END SOLUTION


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
    # BEGIN SOLUTION
    if epoch < 0 or warmup_epochs < 0:
        raise ValueError(f"epoch and warmup_epochs must be >= 0, got epoch={epoch}, warmup_epochs={warmup_epochs}")
    if epoch >= warmup_epochs:
        return float(final_temp)
    if warmup_epochs == 1:
        return float(warmup_temp)
    return float(warmup_temp + (final_temp - warmup_temp) * epoch / (warmup_epochs - 1))
    # END SOLUTION


# BEGIN SOLUTION
def _crop_box(height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float],
              gen: torch.Generator) -> tuple[int, int, int, int]:
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * float(torch.empty(1).uniform_(scale[0], scale[1], generator=gen))
        aspect = math.exp(float(torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=gen)))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            y = int(torch.randint(0, height - h + 1, (1,), generator=gen))
            x = int(torch.randint(0, width - w + 1, (1,), generator=gen))
            return x, y, x + w, y + h
    # fallback: the central crop of the whole image (clamped aspect ratio)
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    y, x = (height - h) // 2, (width - w) // 2
    return x, y, x + w, y + h
# END SOLUTION


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
    # BEGIN SOLUTION
    if image.dim() != 3:
        raise ValueError(f"image must be [C, H, W], got shape {list(image.shape)}")
    if n_global < 1 or n_local < 0:
        raise ValueError(f"need n_global >= 1 and n_local >= 0, got {n_global} and {n_local}")
    if global_size < 1 or local_size < 1:
        raise ValueError(f"sizes must be >= 1, got global_size={global_size}, local_size={local_size}")
    for name, (lo, hi) in (("global_scale", global_scale), ("local_scale", local_scale)):
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"{name} must satisfy 0 < lo <= hi <= 1, got {(lo, hi)}")
    if not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"ratio must satisfy 0 < lo <= hi, got {ratio}")
    gen = torch.Generator().manual_seed(int(seed))
    _, height, width = image.shape
    boxes, crops = [], []
    for i in range(n_global + n_local):
        is_global = i < n_global
        x1, y1, x2, y2 = _crop_box(height, width, global_scale if is_global else local_scale, ratio, gen)
        size = global_size if is_global else local_size
        patch = image[None, :, y1:y2, x1:x2]
        crops.append(F.interpolate(patch, size=(size, size), mode="bilinear", align_corners=False)[0])
        boxes.append((x1, y1, x2, y2))
    c = image.shape[0]
    local = (torch.stack(crops[n_global:]) if n_local else
             image.new_zeros((0, c, local_size, local_size)))
    return torch.stack(crops[:n_global]), local, torch.tensor(boxes, dtype=torch.long)
    # END SOLUTION
