"""Task `mean_teacher`: the EMA teacher, the consistency loss and its ramp-up, and the
momentum variants (decay warm-up, temporal ensembling)."""

from __future__ import annotations

import math
from typing import Sequence

import torch

from ._checks import describe, float_tensor, probability

__all__ = ["ema_update", "ema_decay_warmup", "sigmoid_rampup", "consistency_loss", "temporal_ensemble"]


def ema_update(teacher: dict[str, torch.Tensor] | None, student: dict[str, torch.Tensor], decay: float = 0.999,
               buffers: Sequence[str] = (), average_buffers: bool = False) -> dict[str, torch.Tensor]:
    """One update of the mean teacher: the exponential moving average of the student's weights.

    ``teacher`` and ``student`` are state dicts (name -> tensor, e.g. ``model.state_dict()``).

    * First update (``teacher is None``): the teacher is a copy of the student (like
      ``torch.optim.swa_utils.AveragedModel``, whose first ``update_parameters`` copies).
    * Parameters (every floating-point name not in ``buffers``): ``t <- decay * t + (1 - decay) * s``
      (``get_ema_multi_avg_fn(decay)``); an integer tensor is always copied from the student,
      listed in ``buffers`` or not (an average of counts is not a count).
    * Buffers (names in ``buffers``, e.g. BatchNorm's ``running_mean``, ``running_var``,
      ``num_batches_tracked``): copied from the student (``AveragedModel(use_buffers=False)``);
      with ``average_buffers=True`` floating-point buffers are averaged like parameters
      (``AveragedModel(use_buffers=True)``) and integer buffers are still copied.

    Args:
        teacher (dict or None): the current teacher state (not modified).
        student (dict): the student state, same names and shapes as ``teacher``.
        decay (float): in [0, 1]; 0 copies the student, 1 freezes the teacher.
        buffers (sequence of str): the names that are buffers (each must be in ``student``).
        average_buffers (bool): average floating-point buffers too.

    Returns:
        dict: the new teacher state, new tensors (never the student's own), detached, with the
        dtype and device of the student's tensors on the first update and of the teacher's after.

    Raises:
        ValueError: ``decay`` outside [0, 1], names or shapes that differ, an unknown buffer name.
        TypeError: a value that is not a tensor.
    """
    # BEGIN SOLUTION
    decay = probability("decay", decay)
    for name, value in student.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"student[{name!r}] must be a tensor, got {describe(value)}")
    unknown = sorted(set(buffers) - set(student))
    if unknown:
        raise ValueError(f"buffers {unknown} are not names of the student's state {sorted(student)[:10]}")
    if teacher is None:
        return {name: value.detach().clone() for name, value in student.items()}
    if set(teacher) != set(student):
        raise ValueError(f"teacher and student must have the same names; only in teacher: "
                         f"{sorted(set(teacher) - set(student))}, "
                         f"only in student: {sorted(set(student) - set(teacher))}")
    buffer_names = set(buffers)
    new = {}
    for name, s in student.items():
        t = teacher[name]
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"teacher[{name!r}] must be a tensor, got {describe(t)}")
        if t.shape != s.shape:
            raise ValueError(f"teacher[{name!r}] must be a tensor of shape {list(s.shape)}, got {describe(t)}")
        s = s.detach().to(device=t.device, dtype=t.dtype)
        is_float = t.is_floating_point()
        if (name in buffer_names and not average_buffers) or not is_float:
            new[name] = s.clone()
        else:
            new[name] = t.detach() * decay + s * (1.0 - decay)
    return new
    # END SOLUTION


def ema_decay_warmup(step: int, decay: float = 0.999) -> float:
    """The mean teacher's decay warm-up: ``min(decay, 1 - 1 / (step + 1))``.

    Early on the teacher then is the plain average of the student weights seen so far (step 0:
    decay 0, a copy; step 1: 1/2; step 2: 2/3 ...), which removes the bias towards the random
    initial weights; later the fixed ``decay`` applies.

    Args:
        step (int): the global step, >= 0.
        decay (float): in [0, 1].

    Returns:
        float: the decay to pass to :func:`ema_update` at this step.

    Raises:
        ValueError: a negative ``step``, ``decay`` outside [0, 1].
    """
    # BEGIN SOLUTION
    decay = probability("decay", decay)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    return min(decay, 1.0 - 1.0 / (step + 1))
    # END SOLUTION


def sigmoid_rampup(step: float, rampup_length: float) -> float:
    """The consistency weight's sigmoid ramp-up ``exp(-5 (1 - t)^2)``, ``t = clip(step / rampup_length, 0, 1)``.

    It rises from ``exp(-5) ~ 0.0067`` at step 0 to 1 at ``rampup_length`` and stays 1 after.
    ``rampup_length == 0`` gives 1 for every step.

    Args:
        step (int or float): the current step (or epoch); negative values count as 0.
        rampup_length (int or float): >= 0.

    Returns:
        float: the factor in (0, 1].

    Raises:
        ValueError: a negative ``rampup_length``.
    """
    # BEGIN SOLUTION
    if not rampup_length >= 0:
        raise ValueError(f"rampup_length must be >= 0, got {rampup_length!r}")
    if rampup_length == 0:
        return 1.0
    t = min(max(float(step), 0.0), float(rampup_length)) / rampup_length
    return math.exp(-5.0 * (1.0 - t) ** 2)
    # END SOLUTION


def consistency_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """The mean teacher's consistency cost: the mean squared error of the two softmaxes.

    ``mean over all N * C (* H * W) entries of (softmax(student) - softmax(teacher))^2``, softmax
    over dim 1; the teacher is a target (detached: no gradient flows into ``teacher_logits``).

    Args:
        student_logits (Tensor[N, C, ...]): floating point.
        teacher_logits (Tensor[N, C, ...]): the same shape.

    Returns:
        Tensor[]: the loss (0 when there are no entries at all, e.g. N = 0 or any other size
        0), differentiable in ``student_logits``.

    Raises:
        TypeError, ValueError: non-floating inputs, fewer than 2 dimensions, different shapes.
    """
    # BEGIN SOLUTION
    float_tensor("student_logits", student_logits, 2)
    float_tensor("teacher_logits", teacher_logits, 2)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"teacher_logits must have the shape of student_logits {list(student_logits.shape)}, "
                         f"got {list(teacher_logits.shape)}")
    diff = torch.softmax(student_logits, dim=1) - torch.softmax(teacher_logits.detach(), dim=1)
    return (diff * diff).sum() / max(diff.numel(), 1)
    # END SOLUTION


def temporal_ensemble(accumulated: torch.Tensor, predictions: torch.Tensor, alpha: float,
                      epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Temporal ensembling (Laine and Aila): a momentum average of each sample's predictions.

    ``Z <- alpha * Z + (1 - alpha) * z`` and the bias-corrected target
    ``z~ = Z / (1 - alpha^(epoch + 1))`` (``epoch`` counts from 0, so after the first epoch the
    target is ``z`` itself, as Adam corrects its moments). ``Z`` starts at zeros.

    Args:
        accumulated (Tensor[N, C]): ``Z`` before this epoch (zeros at epoch 0).
        predictions (Tensor[N, C]): ``z``, this epoch's predictions (e.g. softmax outputs).
        alpha (float): the momentum in [0, 1).
        epoch (int): >= 0.

    Returns:
        (accumulated, targets): both ``Tensor[N, C]``, detached.

    Raises:
        TypeError, ValueError: non-floating inputs, different shapes, ``alpha`` outside [0, 1),
            a negative ``epoch``.
    """
    # BEGIN SOLUTION
    float_tensor("accumulated", accumulated)
    float_tensor("predictions", predictions)
    if accumulated.shape != predictions.shape:
        raise ValueError(f"predictions must have the shape of accumulated {list(accumulated.shape)}, "
                         f"got {list(predictions.shape)}")
    alpha = probability("alpha", alpha)
    if alpha == 1.0:
        raise ValueError("alpha must be in [0, 1), got 1.0 (the bias correction divides by 1 - alpha^t)")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be an int >= 0, got {epoch!r}")
    z = alpha * accumulated.detach() + (1.0 - alpha) * predictions.detach()
    return z, z / (1.0 - alpha ** (epoch + 1))
    # END SOLUTION
