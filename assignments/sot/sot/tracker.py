"""Your single-object tracker: ``track(frames, first_box)``, graded by OTB success AUC on
held-out sequences (README.md, section `tracker`). Build it from your parts: a particle
filter with an appearance likelihood, GOTURN-style regression, MDNet-style scoring, ...
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["track"]


def track(frames: Tensor, first_box: Tensor) -> Tensor:
    """Track one target through a sequence, given its box in the first frame.

    The grader calls it once per held-out sequence and scores the boxes by the OTB success AUC
    (README.md, sections `ope` and `tracker`); the boxes after frame 0 never reach the
    submission.

    Args:
        frames (Tensor[T, 3, H, W]): uint8 RGB frames (T >= 1).
        first_box (Tensor[4]): float64 (x1, y1, x2, y2) of the target in frame 0.

    Returns:
        Tensor[T, 4]: float32 boxes (x1, y1, x2, y2), finite, one per frame; row 0 is
        ``first_box`` itself, cast to float32. Plain ``torch.Tensor`` on the CPU.

    Raises:
        ValueError: ``frames`` not uint8 [T, 3, H, W] with T >= 1, or ``first_box`` not a
            finite [4] box with positive width and height.
    """
    raise NotImplementedError("track: implement me (see README.md, section `tracker`)")
