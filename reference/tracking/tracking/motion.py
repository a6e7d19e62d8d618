"""Motion models: constant position, constant velocity, and a Kalman filter on box states.

The Kalman filter's state of a box is ``x = (cx, cy, w, h, vcx, vcy, vw, vh)``: centre, size
and their velocities in pixels per frame; it observes ``z = (cx, cy, w, h)``. Every method
works on a batch of N independent tracks and returns new tensors (nothing is kept inside the
filter), so that the filter can be driven from anywhere.
"""

from __future__ import annotations

# BEGIN SOLUTION
import math
# END SOLUTION

import torch
from torch import Tensor

__all__ = [
    "box_to_cxcywh",
    "cxcywh_to_box",
    "constant_position",
    "constant_velocity",
    "KalmanBoxFilter",
]


# BEGIN SOLUTION
def _check_boxes(name: str, boxes: object, cols: int = 4) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, {cols}], got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != cols:
        raise ValueError(f"{name} must have shape [N, {cols}], got {list(boxes.shape)}")


def _check_steps(steps: object) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an int, got {steps!r}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("boxes", boxes)
    x1, y1, x2, y2 = boxes.unbind(1)  # 4 x [N]
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=1)  # [N, 4]
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("cxcywh", cxcywh)
    cx, cy, w, h = cxcywh.unbind(1)  # 4 x [N]
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)  # [N, 4]
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("boxes", boxes)
    _check_steps(steps)
    return boxes.clone()
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("boxes", boxes)
    _check_boxes("prev_boxes", prev_boxes)
    _check_steps(steps)
    if boxes.shape != prev_boxes.shape:
        raise ValueError(f"boxes {list(boxes.shape)} and prev_boxes {list(prev_boxes.shape)} must have the same shape")
    return boxes + steps * (boxes - prev_boxes)  # [N, 4]
    # END SOLUTION


# BEGIN SOLUTION
def _check_state(mean: object, covariance: object) -> None:
    if not isinstance(mean, Tensor) or not isinstance(covariance, Tensor):
        raise TypeError("mean and covariance must be torch.Tensors of shapes [N, 8] and [N, 8, 8]")
    if mean.dim() != 2 or mean.shape[1] != 8:
        raise ValueError(f"mean must have shape [N, 8], got {list(mean.shape)}")
    if covariance.shape != (mean.shape[0], 8, 8):
        raise ValueError(f"covariance must have shape [{mean.shape[0]}, 8, 8], got {list(covariance.shape)}")
# END SOLUTION


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
        # BEGIN SOLUTION
        values = {"dt": dt, "std_position": std_position, "std_velocity": std_velocity,
                  "std_measurement": std_measurement, "std_initial_velocity": std_initial_velocity}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{key} must be a float, got {value!r}")
            if not math.isfinite(value) or value < 0 or (value == 0 and key in ("dt", "std_measurement",
                                                                                 "std_initial_velocity")):
                raise ValueError(f"{key} must be {'>= 0' if key in ('std_position', 'std_velocity') else '> 0'} "
                                 f"and finite, got {value}")
        self.dt = float(dt)
        self.std_position = float(std_position)
        self.std_velocity = float(std_velocity)
        self.std_measurement = float(std_measurement)
        self.std_initial_velocity = float(std_initial_velocity)
        self._cache: dict = {}
        # END SOLUTION

    # BEGIN SOLUTION
    def _matrices_on(self, like: Tensor) -> dict:
        key = (like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = {k: v.to(like.device, like.dtype) for k, v in self.matrices(like.dtype).items()}
        return self._cache[key]
    # END SOLUTION

    def matrices(self, dtype: torch.dtype = torch.float64) -> dict:
        """The model's matrices.

        Args:
            dtype (torch.dtype): floating dtype of the result.

        Returns:
            dict: ``F`` (Tensor[8, 8]), ``H`` (Tensor[4, 8]), ``Q`` (Tensor[8, 8]) and ``R``
            (Tensor[4, 4]) as in the class docstring, on the CPU.
        """
        # BEGIN SOLUTION
        eye4 = torch.eye(4, dtype=dtype)
        F = torch.eye(8, dtype=dtype)
        F[:4, 4:] = self.dt * eye4
        H = torch.cat([eye4, torch.zeros(4, 4, dtype=dtype)], dim=1)  # [4, 8]
        Q = torch.diag(torch.tensor([self.std_position ** 2] * 4 + [self.std_velocity ** 2] * 4, dtype=dtype))
        R = self.std_measurement ** 2 * eye4
        return {"F": F, "H": H, "Q": Q, "R": R}
        # END SOLUTION

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
        # BEGIN SOLUTION
        _check_boxes("boxes", boxes)
        n = boxes.shape[0]
        mean = torch.cat([box_to_cxcywh(boxes), boxes.new_zeros(n, 4)], dim=1)  # [N, 8]
        p0 = torch.tensor([self.std_measurement ** 2] * 4 + [self.std_initial_velocity ** 2] * 4,
                          dtype=boxes.dtype, device=boxes.device)
        covariance = torch.diag(p0).expand(n, 8, 8).clone()  # [N, 8, 8]
        return mean, covariance
        # END SOLUTION

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
        # BEGIN SOLUTION
        _check_state(mean, covariance)
        m = self._matrices_on(mean)
        F, Q = m["F"], m["Q"]
        new_mean = mean @ F.T  # [N, 8]
        new_cov = F @ covariance @ F.T + Q  # [N, 8, 8]
        return new_mean, new_cov
        # END SOLUTION

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
        # BEGIN SOLUTION
        _check_state(mean, covariance)
        m = self._matrices_on(mean)
        H, R = m["H"], m["R"]
        return mean @ H.T, H @ covariance @ H.T + R  # [N, 4], [N, 4, 4]
        # END SOLUTION

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
        # BEGIN SOLUTION
        _check_state(mean, covariance)
        _check_boxes("boxes", boxes)
        if boxes.shape[0] != mean.shape[0]:
            raise ValueError(f"boxes must have one row per track ({mean.shape[0]}), got {list(boxes.shape)}")
        m = self._matrices_on(mean)
        H = m["H"]
        z_pred, S = self.project(mean, covariance)  # [N, 4], [N, 4, 4]
        PHt = covariance @ H.T  # [N, 8, 4]
        # K = P H^T S^-1, i.e. K^T = S^-1 (H P) since S and P are symmetric
        K = torch.linalg.solve(S, PHt.transpose(1, 2)).transpose(1, 2)  # [N, 8, 4]
        innovation = box_to_cxcywh(boxes.to(mean.dtype)) - z_pred  # [N, 4]
        new_mean = mean + (K @ innovation[:, :, None])[:, :, 0]  # [N, 8]
        eye = torch.eye(8, dtype=mean.dtype, device=mean.device)
        new_cov = (eye - K @ H) @ covariance  # [N, 8, 8]
        return new_mean, new_cov
        # END SOLUTION

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
        # BEGIN SOLUTION
        _check_state(mean, covariance)
        _check_boxes("boxes", boxes)
        z_pred, S = self.project(mean, covariance)  # [N, 4], [N, 4, 4]
        diff = box_to_cxcywh(boxes.to(mean.dtype))[None, :, :] - z_pred[:, None, :]  # [N, M, 4]
        if diff.shape[0] == 0 or diff.shape[1] == 0:
            return diff.new_zeros(diff.shape[0], diff.shape[1])
        L = torch.linalg.cholesky(S)  # [N, 4, 4]
        y = torch.linalg.solve_triangular(L, diff.transpose(1, 2), upper=False)  # [N, 4, M]
        return (y * y).sum(dim=1)  # [N, M]
        # END SOLUTION

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
        # BEGIN SOLUTION
        _check_boxes("mean", mean, cols=8)
        return cxcywh_to_box(mean[:, :4])
        # END SOLUTION
