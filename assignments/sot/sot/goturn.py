"""GOTURN (Held, Thrun and Savarese, ECCV 2016): crops, regression targets, simulated motion and
the two-branch regressor.

Boxes are ``(x1, y1, x2, y2)`` float pixels with no +1. The crop around a box keeps its centre
and scales its width and height by the context factor ``k`` (GOTURN: ``k = 2``). Crops are
resampled bilinearly at pixel centres with zero padding outside the image, which is
``F.grid_sample(mode="bilinear", padding_mode="zeros", align_corners=False)``.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["context_box", "crop_and_resize", "box_to_target", "target_to_box",
           "laplace_from_uniform", "sample_motion", "GoturnRegressor"]

#: GOTURN's context factor: the crop is this many times the previous box's width and height
CONTEXT = 2.0
#: GOTURN's target scale factor: regression targets are box coordinates in crop units times 10
TARGET_SCALE = 10.0


def context_box(boxes: Tensor, context: float = CONTEXT) -> Tensor:
    """The search region around each box: same centre, ``context`` times its width and height.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2).
        context (float): the context factor ``k`` (> 0); GOTURN uses 2.

    Returns:
        Tensor[N, 4]: ``(cx - k w / 2, cy - k h / 2, cx + k w / 2, cy + k h / 2)``, same dtype.

    Raises:
        ValueError: ``context`` <= 0 or boxes not of shape [N, 4].
    """
    raise NotImplementedError("context_box: implement me (see README.md, section `goturn`)")


def crop_and_resize(image: Tensor, regions: Tensor, size: int | tuple[int, int]) -> Tensor:
    """Resample each region of the image to ``size`` pixels (bilinear, zero padding).

    Output pixel ``(i, j)`` of region ``(x1, y1, x2, y2)`` samples the image at the continuous
    point ``x = x1 + (j + 0.5) (x2 - x1) / out_w``, ``y = y1 + (i + 0.5) (y2 - y1) / out_h``,
    where pixel ``(c, r)`` of the image covers ``[c, c + 1) x [r, r + 1)`` (its value sits at
    its centre ``(c + 0.5, r + 0.5)``). Bilinear weights between the four nearest pixel
    centres; a pixel outside the image counts as 0 (``F.grid_sample`` with ``align_corners=False``
    and ``padding_mode="zeros"`` computes exactly this).

    Args:
        image (Tensor[C, H, W]): a floating-point image.
        regions (Tensor[N, 4]): (x1, y1, x2, y2) in pixels (may stick out of the image).
        size (int | tuple[int, int]): ``out_h = out_w = size`` or ``(out_h, out_w)``, each >= 1.

    Returns:
        Tensor[N, C, out_h, out_w]: in the image's dtype and device.

    Raises:
        ValueError: an image that is not [C, H, W], or a size < 1.
    """
    raise NotImplementedError("crop_and_resize: implement me (see README.md, section `goturn`)")


def box_to_target(boxes: Tensor, regions: Tensor, scale: float = TARGET_SCALE) -> Tensor:
    """GOTURN's regression target: the box's corners in the crop's coordinates.

    ``t = scale * ((x1 - X1) / W, (y1 - Y1) / H, (x2 - X1) / W, (y2 - Y1) / H)`` with the crop
    region ``(X1, Y1, X2, Y2)``, ``W = X2 - X1``, ``H = Y2 - Y1``. A box equal to the crop gives
    ``(0, 0, scale, scale)``; the previous box inside its context-2 crop gives
    ``(scale/4, scale/4, 3 scale/4, 3 scale/4)``.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2) in image pixels.
        regions (Tensor[N, 4]): the crop regions (positive width and height).
        scale (float): GOTURN's factor 10 (> 0).

    Returns:
        Tensor[N, 4]: the targets, computed in the promoted dtype (each input cast first).

    Raises:
        ValueError: N differs, a region without positive width or height, or ``scale`` <= 0.
    """
    raise NotImplementedError("box_to_target: implement me (see README.md, section `goturn`)")


def target_to_box(targets: Tensor, regions: Tensor, scale: float = TARGET_SCALE) -> Tensor:
    """The inverse of :func:`box_to_target`: ``box = origin + targets / scale * (W, H, W, H)``.

    Args:
        targets (Tensor[N, 4]): regression outputs.
        regions (Tensor[N, 4]): the crop regions.
        scale (float): as in :func:`box_to_target`.

    Returns:
        Tensor[N, 4]: (x1, y1, x2, y2) in image pixels, computed in the promoted dtype (each input cast first).

    Raises:
        ValueError: as :func:`box_to_target`.
    """
    raise NotImplementedError("target_to_box: implement me (see README.md, section `goturn`)")


def laplace_from_uniform(u: Tensor, loc: float = 0.0, scale: float = 1.0) -> Tensor:
    """Laplace draws by the inverse CDF: ``loc - scale * sign(u - 1/2) * log(1 - 2 |u - 1/2|)``.

    Args:
        u (Tensor[...]): uniform draws in (0, 1) (u = 1/2 gives ``loc``).
        loc (float): the location (mean, median).
        scale (float): the scale ``b`` > 0 (variance ``2 b^2``, mean absolute deviation ``b``).

    Returns:
        Tensor[...]: same shape and dtype as ``u``.

    Raises:
        ValueError: ``scale`` <= 0 or some ``u`` outside (0, 1).
    """
    raise NotImplementedError("laplace_from_uniform: implement me (see README.md, section `goturn`)")


def sample_motion(box: Tensor, num_samples: int, *, shift_scale: float = 1.0 / 5, size_scale: float = 1.0 / 15,
                  size_range: tuple[float, float] = (0.6, 1.4), uniform: Tensor | None = None,
                  seed: int | None = None) -> Tensor:
    """GOTURN's simulated motion: boxes around ``box`` for training on still images.

    With the box's centre ``(cx, cy)``, width ``w`` and height ``h``, and four Laplace draws per
    sample (from ``uniform[:, k]`` through :func:`laplace_from_uniform`):

        dx ~ Laplace(0, shift_scale),  dy ~ Laplace(0, shift_scale)
        gw ~ Laplace(1, size_scale),   gh ~ Laplace(1, size_scale),   both clamped to size_range
        w' = w * gw,  h' = h * gh,  cx' = cx + w * dx,  cy' = cy + h * dy

    (the shift is relative to the **old** width and height, as in the paper). Returns
    ``(cx' - w'/2, cy' - h'/2, cx' + w'/2, cy' + h'/2)``.

    Args:
        box (Tensor[4]): (x1, y1, x2, y2), positive width and height.
        num_samples (int): M >= 0.
        shift_scale (float): Laplace scale of the shifts (GOTURN: 1/5), > 0.
        size_scale (float): Laplace scale of the size factors (GOTURN: 1/15), > 0.
        size_range (tuple[float, float]): (low, high) clamp of the size factors, 0 < low <= 1 <= high.
        uniform (Tensor[M, 4] | None): uniform draws in (0, 1) for (dx, dy, gw, gh); ``None``
            draws ``torch.rand(M, 4, generator=torch.Generator().manual_seed(seed),
            dtype=torch.float64)`` (the global generator when ``seed`` is ``None``; a draw of 0 is
            replaced by the smallest positive float64).
        seed (int | None): used only when ``uniform`` is ``None``.

    Returns:
        Tensor[M, 4]: the moved boxes in the box's dtype.

    Raises:
        ValueError: bad shapes, scales, ranges or a box without positive size.
    """
    raise NotImplementedError("sample_motion: implement me (see README.md, section `goturn`)")


class GoturnRegressor(nn.Module):
    """The two-branch GOTURN regressor, small enough to train on a CPU.

    Both crops (previous frame around the previous box, current frame around the same region)
    go through **one shared** convolutional trunk; the two feature vectors are concatenated
    (previous first) and fully connected layers regress the 4 targets of :func:`box_to_target`.

    Layers (the ``state_dict`` keys, for ``load_weights``), with ``c = channels``:

    - ``trunk``: ``nn.Sequential(Conv2d(3, c, 5, stride=2, padding=2), ReLU, Conv2d(c, 2c, 3,
      stride=2, padding=1), ReLU, Conv2d(2c, 2c, 3, stride=2, padding=1), ReLU)``
      (keys ``trunk.0.*``, ``trunk.2.*``, ``trunk.4.*``);
    - ``head``: ``nn.Sequential(Linear(2 * 2c * (s/8)^2, hidden), ReLU, Linear(hidden, hidden),
      ReLU, Linear(hidden, 4))`` with ``s = crop_size`` (keys ``head.0.*``, ``head.2.*``,
      ``head.4.*``); features are flattened in ``(channel, row, column)`` order.

    Args:
        crop_size (int): the side of the square crops, a multiple of 8 (>= 8).
        channels (int): ``c`` >= 1.
        hidden (int): width of the hidden layers (>= 1).
    """

    def __init__(self, crop_size: int = 32, channels: int = 16, hidden: int = 128) -> None:
        super().__init__()
        raise NotImplementedError("GoturnRegressor.__init__: implement me (see README.md, section `goturn`)")

    def forward(self, previous: Tensor, current: Tensor) -> Tensor:
        """Regress the targets.

        Args:
            previous (Tensor[N, 3, s, s]): crops of the previous frame (float, any scaling the
                model was trained with; the reference feeds pixels / 255 - 0.5).
            current (Tensor[N, 3, s, s]): crops of the current frame over the same regions.

        Returns:
            Tensor[N, 4]: predicted targets (see :func:`box_to_target`).

        Raises:
            ValueError: inputs that are not [N, 3, s, s] with the model's crop size, or of
                different N.
        """
        raise NotImplementedError("GoturnRegressor.forward: implement me (see README.md, section `goturn`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict (strict: missing, unexpected or mis-shaped keys raise
        ``RuntimeError``); the module moves to the weights' device and dtype."""
        raise NotImplementedError("GoturnRegressor.load_weights: implement me (see README.md, section `goturn`)")
