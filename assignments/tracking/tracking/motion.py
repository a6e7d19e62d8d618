"""Motion models: constant position, constant velocity, and a Kalman filter on box states.

The Kalman filter's state of a box is ``x = (cx, cy, w, h, vcx, vcy, vw, vh)``: centre, size
and their velocities in pixels per frame; it observes ``z = (cx, cy, w, h)``. Every method
works on a batch of N independent tracks and returns new tensors (nothing is kept inside the
filter), so that the filter can be driven from anywhere.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "box_to_cxcywh",
    "cxcywh_to_box",
    "constant_position",
    "constant_velocity",
    "KalmanBoxFilter",
]


def box_to_cxcywh(boxes: Tensor) -> Tensor:
    """Convert ``(x1, y1, x2, y2)`` boxes to ``(cx, cy, w, h)``.

    ``cx = (x1 + x2) / 2``, ``cy = (y1 + y2) / 2``, ``w = x2 - x1``, ``h = y2 - y1``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2), float.

    Returns:
        Tensor[N, 4]: (cx, cy, w, h) in the same dtype and device.

    Raises:
        TypeError: if ``boxes`` is not a tensor.
        ValueError: if ``boxes`` is not [N, 4].
    """
    raise NotImplementedError("box_to_cxcywh: implement me (see README.md, section `motion`)")


def cxcywh_to_box(cxcywh: Tensor) -> Tensor:
    """Convert ``(cx, cy, w, h)`` to ``(x1, y1, x2, y2) = (cx - w/2, cy - h/2, cx + w/2, cy + h/2)``.

    Args:
        cxcywh (Tensor[N, 4]): (cx, cy, w, h), float.

    Returns:
        Tensor[N, 4]: (x1, y1, x2, y2) in the same dtype and device.

    Raises:
        TypeError: if ``cxcywh`` is not a tensor.
        ValueError: if ``cxcywh`` is not [N, 4].
    """
    raise NotImplementedError("cxcywh_to_box: implement me (see README.md, section `motion`)")


def constant_position(boxes: Tensor, steps: int = 1) -> Tensor:
    """Constant-position prediction: a track stays where it was last seen.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2) boxes at frame t.
        steps (int): how many frames ahead (>= 0).

    Returns:
        Tensor[N, 4]: the predicted boxes at frame ``t + steps``: a copy of ``boxes`` (a new
        tensor, never the input itself).

    Raises:
        TypeError: if ``boxes`` is not a tensor or ``steps`` not an int.
        ValueError: if ``boxes`` is not [N, 4] or ``steps < 0``.
    """
    raise NotImplementedError("constant_position: implement me (see README.md, section `motion`)")


def constant_velocity(boxes: Tensor, prev_boxes: Tensor, steps: int = 1) -> Tensor:
    """Constant-velocity prediction from the last two positions of every track.

    With the per-frame velocity ``v = boxes - prev_boxes`` (all four coordinates), the box
    ``steps`` frames after ``boxes`` is ``boxes + steps * v``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2) at frame t.
        prev_boxes (Tensor[N, 4]): the same tracks at frame t - 1.
        steps (int): how many frames ahead (>= 0).

    Returns:
        Tensor[N, 4]: predicted boxes at frame ``t + steps`` (not clamped: a shrinking box may
        invert).

    Raises:
        TypeError: if a box argument is not a tensor or ``steps`` not an int.
        ValueError: if the shapes differ or are not [N, 4], or ``steps < 0``.
    """
    raise NotImplementedError("constant_velocity: implement me (see README.md, section `motion`)")


class KalmanBoxFilter:
    """A linear Kalman filter with a constant-velocity model for boxes.

    State ``x = (cx, cy, w, h, vcx, vcy, vw, vh)``, measurement ``z = (cx, cy, w, h)``::

        F = [[I4, dt * I4],      H = [I4, 0]          (4 x 8)
             [0,  I4     ]]      (8 x 8)
        Q = diag(q_p^2 (x4), q_v^2 (x4))   with q_p = std_position, q_v = std_velocity
        R = r^2 * I4                        with r = std_measurement
        P0 = diag(r^2 (x4), s_v^2 (x4))     with s_v = std_initial_velocity

    Predict: ``x <- F x``, ``P <- F P F^T + Q``. Update with a measured box ``z``:
    ``S = H P H^T + R``, ``K = P H^T S^-1``, ``x <- x + K (z - H x)``, ``P <- (I - K H) P``.

    Args:
        dt (float): time step between frames (> 0).
        std_position (float): process noise of the centre and size (pixels, >= 0).
        std_velocity (float): process noise of the velocities (pixels per frame, >= 0).
        std_measurement (float): measurement noise of a detected box (pixels, > 0).
        std_initial_velocity (float): uncertainty of the unknown initial velocity (> 0).

    Raises:
        TypeError: if a parameter is not a real number.
        ValueError: if a parameter is out of range.
    """

    def __init__(
        self,
        dt: float = 1.0,
        std_position: float = 1.0,
        std_velocity: float = 0.5,
        std_measurement: float = 2.0,
        std_initial_velocity: float = 10.0,
    ) -> None:
        raise NotImplementedError("KalmanBoxFilter.__init__: implement me (see README.md, section `motion`)")

    def matrices(self, dtype: torch.dtype = torch.float64) -> dict:
        """The model's matrices.

        Args:
            dtype (torch.dtype): floating dtype of the result.

        Returns:
            dict: ``F`` (Tensor[8, 8]), ``H`` (Tensor[4, 8]), ``Q`` (Tensor[8, 8]) and ``R``
            (Tensor[4, 4]) as in the class docstring, on the CPU.
        """
        raise NotImplementedError("KalmanBoxFilter.matrices: implement me (see README.md, section `motion`)")

    def initiate(self, boxes: Tensor) -> tuple[Tensor, Tensor]:
        """Start tracks from measured boxes: velocity 0, covariance ``P0``.

        Args:
            boxes (Tensor[N, 4]): (x1, y1, x2, y2) boxes, float.

        Returns:
            tuple[Tensor[N, 8], Tensor[N, 8, 8]]: ``(mean, covariance)`` in the boxes' dtype
            and device, with ``mean[:, :4] = box_to_cxcywh(boxes)`` and ``mean[:, 4:] = 0``.

        Raises:
            TypeError: if ``boxes`` is not a tensor.
            ValueError: if ``boxes`` is not [N, 4].
        """
        raise NotImplementedError("KalmanBoxFilter.initiate: implement me (see README.md, section `motion`)")

    def predict(self, mean: Tensor, covariance: Tensor) -> tuple[Tensor, Tensor]:
        """One step of the motion model: ``x <- F x``, ``P <- F P F^T + Q``.

        Args:
            mean (Tensor[N, 8]): state means.
            covariance (Tensor[N, 8, 8]): state covariances.

        Returns:
            tuple[Tensor[N, 8], Tensor[N, 8, 8]]: the predicted ``(mean, covariance)``.

        Raises:
            TypeError: if an argument is not a tensor.
            ValueError: if the shapes are not [N, 8] and [N, 8, 8].
        """
        raise NotImplementedError("KalmanBoxFilter.predict: implement me (see README.md, section `motion`)")

    def project(self, mean: Tensor, covariance: Tensor) -> tuple[Tensor, Tensor]:
        """The predicted measurement and its covariance: ``H x`` and ``S = H P H^T + R``.

        Args:
            mean (Tensor[N, 8]): state means.
            covariance (Tensor[N, 8, 8]): state covariances.

        Returns:
            tuple[Tensor[N, 4], Tensor[N, 4, 4]]: ``(H x, S)`` in (cx, cy, w, h) space.

        Raises:
            TypeError: if an argument is not a tensor.
            ValueError: if the shapes are not [N, 8] and [N, 8, 8].
        """
        raise NotImplementedError("KalmanBoxFilter.project: implement me (see README.md, section `motion`)")

    def update(self, mean: Tensor, covariance: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
        """Correct the states with one measured box per track.

        ``S = H P H^T + R``, ``K = P H^T S^-1``, ``x <- x + K (z - H x)``, ``P <- (I - K H) P``
        with ``z = box_to_cxcywh(boxes)``.

        Args:
            mean (Tensor[N, 8]): predicted state means.
            covariance (Tensor[N, 8, 8]): predicted state covariances.
            boxes (Tensor[N, 4]): (x1, y1, x2, y2) measurement of every track.

        Returns:
            tuple[Tensor[N, 8], Tensor[N, 8, 8]]: the corrected ``(mean, covariance)``.

        Raises:
            TypeError: if an argument is not a tensor.
            ValueError: if the shapes do not match.
        """
        raise NotImplementedError("KalmanBoxFilter.update: implement me (see README.md, section `motion`)")

    def mahalanobis(self, mean: Tensor, covariance: Tensor, boxes: Tensor) -> Tensor:
        """Squared Mahalanobis distance of every measured box to every track's projection.

        ``d2[n, m] = (z_m - H x_n)^T S_n^-1 (z_m - H x_n)`` with ``z_m = box_to_cxcywh(boxes[m])``
        and ``S_n = H P_n H^T + R``. Under the model it follows a chi-square law with 4 degrees
        of freedom (its 95% quantile, 9.4877, is a common gate).

        Args:
            mean (Tensor[N, 8]): state means.
            covariance (Tensor[N, 8, 8]): state covariances.
            boxes (Tensor[M, 4]): (x1, y1, x2, y2) measured boxes.

        Returns:
            Tensor[N, M]: squared distances (>= 0).

        Raises:
            TypeError: if an argument is not a tensor.
            ValueError: if the shapes are wrong.
        """
        raise NotImplementedError("KalmanBoxFilter.mahalanobis: implement me (see README.md, section `motion`)")

    def to_boxes(self, mean: Tensor) -> Tensor:
        """The boxes ``(x1, y1, x2, y2)`` of state means (their first four entries).

        Args:
            mean (Tensor[N, 8]): state means.

        Returns:
            Tensor[N, 4]: ``cxcywh_to_box(mean[:, :4])``.

        Raises:
            TypeError: if ``mean`` is not a tensor.
            ValueError: if ``mean`` is not [N, 8].
        """
        raise NotImplementedError("KalmanBoxFilter.to_boxes: implement me (see README.md, section `motion`)")
