"""Flow utilities (task `flowutils`): backward warping, end-point error, forward-backward
consistency and the colour-wheel visualisation.

Conventions (the whole assignment):

- A flow field is a ``Tensor[B, 2, H, W]`` (or ``[2, H, W]`` where said) with channel 0 = ``u``,
  the displacement along x (columns, to the right) and channel 1 = ``v``, along y (rows, down),
  in pixels. (scikit-image returns ``(v, u)``, i.e. (row, col); OpenCV points are ``(x, y)``.)
- The flow ``w`` from frame 0 to frame 1 maps pixel ``x`` of frame 0 to ``x + w(x)`` in frame 1:
  ``I0(x) ~ I1(x + w(x))``.
- Pixel centres sit at integer coordinates ``0 .. W-1`` (``align_corners=True``).
"""

from __future__ import annotations

import torch

__all__ = ["warp", "endpoint_error", "fb_occlusion", "flow_to_color"]

# Middlebury colour wheel (Baker et al., 2011): segment lengths red-yellow, yellow-green,
# green-cyan, cyan-blue, blue-magenta, magenta-red.
WHEEL_SEGMENTS = (15, 6, 4, 11, 13, 6)


def _check_flow(flow: torch.Tensor, name: str) -> None:
    if type(flow) is not torch.Tensor:
        raise TypeError(f"{name} must be a torch.Tensor, got {type(flow).__name__}")
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"{name} must have shape [B, 2, H, W], got {list(flow.shape)}")
    if not flow.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {flow.dtype}")


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warping: sample ``image`` at ``x + flow(x)`` with bilinear interpolation.

    ``out[b, c, y, x] = image[b, c](x + u[b, y, x], y + v[b, y, x])``, bilinear between the four
    neighbouring pixels, with ``torch.nn.functional.grid_sample(mode="bilinear",
    padding_mode="border", align_corners=True)``: pixel centres at integer coordinates and a
    sample point outside the image clamped to the border (the replicate border of
    scikit-image's ``warp(mode="edge")``). Differentiable in ``image`` and ``flow``.

    Args:
        image (Tensor[B, C, H, W]): floating point; the frame to sample (frame 1).
        flow (Tensor[B, 2, H, W]): ``(u, v)`` in pixels, on ``image``'s device; any float dtype
            (cast to ``image``'s dtype first).

    Returns:
        Tensor[B, C, H, W]: the warped image (``~ frame 0`` when ``flow`` is the flow 0 -> 1),
        same dtype as ``image``.

    Raises:
        TypeError: non-tensor or non-float inputs.
        ValueError: shapes that are not [B, C, H, W] / [B, 2, H, W] with equal B, H, W.
    """
    if type(image) is not torch.Tensor:
        raise TypeError(f"image must be a torch.Tensor, got {type(image).__name__}")
    if image.dim() != 4:
        raise ValueError(f"image must have shape [B, C, H, W], got {list(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"image must be a floating-point tensor, got {image.dtype}")
    _check_flow(flow, "flow")
    if flow.shape[0] != image.shape[0] or flow.shape[2:] != image.shape[2:]:
        raise ValueError(f"flow {list(flow.shape)} must match image {list(image.shape)} in B, H and W")
    raise NotImplementedError("warp: implement me (see README.md, section `flowutils`)")


def endpoint_error(flow: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean end-point error ``mean ||flow(x) - gt(x)||_2`` over the (valid) pixels.

    Args:
        flow (Tensor[B, 2, H, W]): estimated flow.
        gt (Tensor[B, 2, H, W]): ground-truth flow, same shape.
        valid (Tensor[B, H, W] bool, optional): pixels that count (default: all).

    Returns:
        Tensor[]: a 0-dim tensor of ``flow``'s dtype; ``nan`` when no pixel is valid.

    Raises:
        TypeError, ValueError: wrong types, dtypes or shapes.
    """
    _check_flow(flow, "flow")
    _check_flow(gt, "gt")
    if gt.shape != flow.shape:
        raise ValueError(f"gt {list(gt.shape)} must have the shape of flow {list(flow.shape)}")
    if valid is not None:
        if type(valid) is not torch.Tensor or valid.dtype != torch.bool:
            raise TypeError(f"valid must be a bool tensor, got {getattr(valid, 'dtype', type(valid).__name__)}")
        if valid.shape != (flow.shape[0],) + tuple(flow.shape[2:]):
            raise ValueError(f"valid must have shape [B, H, W] = {[flow.shape[0], *flow.shape[2:]]}, "
                             f"got {list(valid.shape)}")
    raise NotImplementedError("endpoint_error: implement me (see README.md, section `flowutils`)")


def fb_occlusion(flow_fw: torch.Tensor, flow_bw: torch.Tensor, alpha: float = 0.01,
                 beta: float = 0.5) -> torch.Tensor:
    """Occlusion mask by forward-backward consistency (Sundaram et al., 2010).

    With ``w_b~(x) = w_b(x + w_f(x))`` (``flow_bw`` warped by :func:`warp` with ``flow_fw``),
    pixel ``x`` of frame 0 is occluded (or its flow unreliable) when

        ``|w_f + w_b~|^2 > alpha * (|w_f|^2 + |w_b~|^2) + beta``

    (strict ``>``; squared Euclidean norms over the two flow channels).

    Args:
        flow_fw (Tensor[B, 2, H, W]): flow frame 0 -> frame 1.
        flow_bw (Tensor[B, 2, H, W]): flow frame 1 -> frame 0, same shape.
        alpha (float): relative tolerance, >= 0.
        beta (float): absolute tolerance in squared pixels, >= 0.

    Returns:
        Tensor[B, H, W] bool: True = occluded / inconsistent.

    Raises:
        TypeError, ValueError: wrong types or shapes; negative ``alpha`` or ``beta``.
    """
    _check_flow(flow_fw, "flow_fw")
    _check_flow(flow_bw, "flow_bw")
    if flow_bw.shape != flow_fw.shape:
        raise ValueError(f"flow_bw {list(flow_bw.shape)} must have the shape of flow_fw {list(flow_fw.shape)}")
    for name, val in (("alpha", alpha), ("beta", beta)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not val >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {val!r}")
    raise NotImplementedError("fb_occlusion: implement me (see README.md, section `flowutils`)")


def flow_to_color(flow: torch.Tensor, max_flow: float | None = None) -> torch.Tensor:
    """The Middlebury colour-wheel picture of a flow field (for reports).

    Hue = direction, saturation = magnitude. With ``r = sqrt(u^2 + v^2) / max_flow``
    (``max_flow`` = the largest magnitude of the field when None, or 1 when that is 0),
    ``a = atan2(-v, -u) / pi`` in ``[-1, 1]`` and the 55-colour wheel of Baker et al.
    (segments RY 15, YG 6, GC 4, CB 11, BM 13, MR 6, ``WHEEL_SEGMENTS``; a rising channel of
    segment length ``n`` is ``floor(255 * i / n)``, a falling one ``255 - floor(255 * i / n)``):
    ``fk = (a + 1) / 2 * (ncols - 1)``, ``k0 = floor(fk)``, ``k1 = (k0 + 1) % ncols``,
    ``f = fk - k0``, ``col = (1 - f) * wheel[k0] / 255 + f * wheel[k1] / 255``, then
    ``col = 1 - r * (1 - col)`` where ``r <= 1`` and ``col * 0.75`` where ``r > 1``; the
    result is ``floor(255 * col)`` as uint8.

    Args:
        flow (Tensor[2, H, W]): ``(u, v)``, any floating dtype; the colours are computed in
            float64 whatever the dtype (half-precision arithmetic moves them by many levels).
        max_flow (float, optional): > 0, the magnitude drawn fully saturated.

    Returns:
        Tensor[H, W, 3] uint8: RGB.

    Raises:
        TypeError, ValueError: wrong type or shape, ``max_flow <= 0``.
    """
    if type(flow) is not torch.Tensor:
        raise TypeError(f"flow must be a torch.Tensor, got {type(flow).__name__}")
    if flow.dim() != 3 or flow.shape[0] != 2:
        raise ValueError(f"flow must have shape [2, H, W], got {list(flow.shape)}")
    if max_flow is not None and (isinstance(max_flow, bool) or not isinstance(max_flow, (int, float))
                                 or not max_flow > 0):
        raise ValueError(f"max_flow must be a number > 0 or None, got {max_flow!r}")
    raise NotImplementedError("flow_to_color: implement me (see README.md, section `flowutils`)")
