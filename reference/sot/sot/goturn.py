"""GOTURN (Held, Thrun and Savarese, ECCV 2016): crops, regression targets, simulated motion and
the two-branch regressor.

Boxes are ``(x1, y1, x2, y2)`` float pixels with no +1. The crop around a box keeps its centre
and scales its width and height by the context factor ``k`` (GOTURN: ``k = 2``). Crops are
resampled bilinearly at pixel centres with zero padding outside the image, which is
``F.grid_sample(mode="bilinear", padding_mode="zeros", align_corners=False)``.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor, nn

__all__ = ["context_box", "crop_and_resize", "box_to_target", "target_to_box",
           "laplace_from_uniform", "sample_motion", "GoturnRegressor"]

#: GOTURN's context factor: the crop is this many times the previous box's width and height
CONTEXT = 2.0
#: GOTURN's target scale factor: regression targets are box coordinates in crop units times 10
TARGET_SCALE = 10.0

# BEGIN SOLUTION


def _check_boxes(name: str, boxes: object) -> Tensor:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape [N, 4] with rows (x1, y1, x2, y2), got {list(boxes.shape)}")
    if not boxes.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {boxes.dtype}")
    return boxes
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("boxes", boxes)
    if not context > 0:
        raise ValueError(f"context must be > 0, got {context}")
    x1, y1, x2, y2 = boxes.unbind(1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    hw, hh = (x2 - x1) * (context / 2), (y2 - y1) * (context / 2)
    return torch.stack((cx - hw, cy - hh, cx + hw, cy + hh), dim=1)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(image, Tensor) or image.dim() != 3 or not image.is_floating_point():
        raise ValueError("image must be a floating-point Tensor[C, H, W]")
    _check_boxes("regions", regions)
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if out_h < 1 or out_w < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    n = regions.shape[0]
    c, h, w = image.shape
    if n == 0:
        return image.new_zeros(0, c, out_h, out_w)
    r = regions.to(image.dtype)
    t_x = (torch.arange(out_w, dtype=image.dtype, device=image.device) + 0.5) / out_w  # [out_w]
    t_y = (torch.arange(out_h, dtype=image.dtype, device=image.device) + 0.5) / out_h  # [out_h]
    xs = r[:, 0:1] + t_x[None] * (r[:, 2:3] - r[:, 0:1])  # [N, out_w] in pixels
    ys = r[:, 1:2] + t_y[None] * (r[:, 3:4] - r[:, 1:2])  # [N, out_h]
    gx = xs * (2.0 / w) - 1.0  # normalised, align_corners=False
    gy = ys * (2.0 / h) - 1.0
    grid = torch.stack((gx[:, None, :].expand(n, out_h, out_w), gy[:, :, None].expand(n, out_h, out_w)), dim=-1)
    return F.grid_sample(image[None].expand(n, c, h, w), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("boxes", boxes)
    _check_boxes("regions", regions)
    if boxes.shape[0] != regions.shape[0]:
        raise ValueError(f"boxes ({boxes.shape[0]}) and regions ({regions.shape[0]}) must have the same N")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    dtype = torch.promote_types(boxes.dtype, regions.dtype)
    b, r = boxes.to(dtype), regions.to(dtype)
    wh = torch.cat((r[:, 2:] - r[:, :2],) * 2, dim=1)  # [N, 4]: W, H, W, H
    if bool((wh <= 0).any()):
        raise ValueError("regions must have positive width and height")
    origin = torch.cat((r[:, :2],) * 2, dim=1)  # [N, 4]: X1, Y1, X1, Y1
    return (b - origin) / wh * scale
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_boxes("targets", targets)
    _check_boxes("regions", regions)
    if targets.shape[0] != regions.shape[0]:
        raise ValueError(f"targets ({targets.shape[0]}) and regions ({regions.shape[0]}) must have the same N")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    dtype = torch.promote_types(targets.dtype, regions.dtype)
    t, r = targets.to(dtype), regions.to(dtype)
    wh = torch.cat((r[:, 2:] - r[:, :2],) * 2, dim=1)
    if bool((wh <= 0).any()):
        raise ValueError("regions must have positive width and height")
    origin = torch.cat((r[:, :2],) * 2, dim=1)
    return origin + t / scale * wh
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if not isinstance(u, Tensor) or not u.is_floating_point():
        raise TypeError("u must be a floating-point tensor")
    if bool(((u <= 0) | (u >= 1)).any()):
        raise ValueError("u must lie strictly between 0 and 1")
    d = u - 0.5
    return loc - scale * torch.sign(d) * torch.log1p(-2.0 * d.abs())
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(box, Tensor) or tuple(box.shape) != (4,) or not box.is_floating_point():
        raise ValueError("box must be a floating-point Tensor[4] (x1, y1, x2, y2)")
    if type(num_samples) is not int or num_samples < 0:
        raise ValueError(f"num_samples must be an int >= 0, got {num_samples!r}")
    low, high = float(size_range[0]), float(size_range[1])
    if not 0 < low <= 1 <= high:
        raise ValueError(f"size_range must satisfy 0 < low <= 1 <= high, got {tuple(size_range)}")
    x1, y1, x2, y2 = box.double().tolist()
    w, h = x2 - x1, y2 - y1
    if not (w > 0 and h > 0):
        raise ValueError(f"box must have positive width and height, got {box.tolist()}")
    if uniform is None:
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        uniform = torch.rand(num_samples, 4, generator=gen, dtype=torch.float64)
        uniform = uniform.clamp(min=torch.finfo(torch.float64).tiny)
    elif not isinstance(uniform, Tensor):
        raise TypeError(f"uniform must be a torch.Tensor or None, got {type(uniform).__name__}")
    elif tuple(uniform.shape) != (num_samples, 4):
        raise ValueError(f"uniform must have shape [{num_samples}, 4], got {list(uniform.shape)}")
    u = uniform.to(torch.float64)
    dx = laplace_from_uniform(u[:, 0], 0.0, shift_scale)
    dy = laplace_from_uniform(u[:, 1], 0.0, shift_scale)
    gw = laplace_from_uniform(u[:, 2], 1.0, size_scale).clamp(low, high)
    gh = laplace_from_uniform(u[:, 3], 1.0, size_scale).clamp(low, high)
    cx, cy = (x1 + x2) / 2 + w * dx, (y1 + y2) / 2 + h * dy
    nw, nh = w * gw, h * gh
    out = torch.stack((cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2), dim=1)
    return out.to(dtype=box.dtype, device=box.device)
    # END SOLUTION


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
        # BEGIN SOLUTION
        if crop_size < 8 or crop_size % 8:
            raise ValueError(f"crop_size must be a multiple of 8, >= 8, got {crop_size}")
        if channels < 1 or hidden < 1:
            raise ValueError(f"channels and hidden must be >= 1, got {channels} and {hidden}")
        self.crop_size = crop_size
        c = channels
        self.trunk = nn.Sequential(
            nn.Conv2d(3, c, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
        )
        feat = 2 * c * (crop_size // 8) ** 2
        self.head = nn.Sequential(nn.Linear(2 * feat, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, 4))
        # END SOLUTION

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
        # BEGIN SOLUTION
        s = self.crop_size
        for name, x in (("previous", previous), ("current", current)):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
            if x.dim() != 4 or tuple(x.shape[1:]) != (3, s, s):
                raise ValueError(f"{name} must have shape [N, 3, {s}, {s}], got {list(x.shape)}")
        if previous.shape[0] != current.shape[0]:
            raise ValueError("previous and current must have the same N")
        n = previous.shape[0]
        feats = self.trunk(torch.cat((previous, current), dim=0)).flatten(1)  # [2N, F]
        return self.head(torch.cat((feats[:n], feats[n:]), dim=1))  # [N, 4]
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict (strict: missing, unexpected or mis-shaped keys raise
        ``RuntimeError``); the module moves to the weights' device and dtype."""
        # BEGIN SOLUTION
        first = next(iter(state_dict.values()))
        self.to(device=first.device, dtype=first.dtype)
        self.load_state_dict(state_dict, strict=True)
        # END SOLUTION
