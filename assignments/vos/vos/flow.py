"""Lucas-Kanade optical flow (task `lk`): image gradients, the structure tensor and its
eigenvalues, the 2x2 solve, iterative dense LK with warping, pyramids, pyramidal dense LK and
sparse pyramidal LK (Bouguet).

Conventions (see also warp.py):

- Images are grey ``Tensor[H, W]`` floats (values in [0, 1] for the oracles' tolerances). Two
  images of different float dtypes are computed in the promoted dtype, which is also the dtype of
  the result.
- A dense flow is ``Tensor[2, H, W]`` with channel 0 = ``u`` (x, columns) and channel 1 = ``v``
  (y, rows); ``I0(x, y) ~ I1(x + u, y + v)``. scikit-image's ``optical_flow_ilk`` returns the
  same field as ``(v, u)``.
- Sparse points are ``Tensor[N, 2]`` of ``(x, y)``, as OpenCV's.
"""

from __future__ import annotations

import torch

__all__ = [
    "image_gradients", "box_filter", "structure_tensor", "tensor_eigenvalues", "untrackable",
    "solve_2x2", "lk_dense", "pyramid_down", "upsample_flow", "lk_dense_pyramid", "lk_sparse",
]

DET_EPS = 1e-14  # |det| below this: the 2x2 system is singular and the flow there is 0 (as skimage's iLK)
BINOMIAL5 = (1.0, 4.0, 6.0, 4.0, 1.0)  # pyramid_down's kernel, divided by 16 (OpenCV's pyrDown)


def _check_image(img: torch.Tensor, name: str) -> None:
    if type(img) is not torch.Tensor:
        raise TypeError(f"{name} must be a torch.Tensor, got {type(img).__name__}")
    if img.dim() != 2:
        raise ValueError(f"{name} must be a grey image of shape [H, W], got {list(img.shape)}")
    if not img.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {img.dtype}")


def _check_pair(img0: torch.Tensor, img1: torch.Tensor) -> torch.dtype:
    _check_image(img0, "img0")
    _check_image(img1, "img1")
    if img0.shape != img1.shape:
        raise ValueError(f"img0 {list(img0.shape)} and img1 {list(img1.shape)} must have the same shape")
    return torch.promote_types(img0.dtype, img1.dtype)


def _check_int(value, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def image_gradients(img: torch.Tensor) -> torch.Tensor:
    """Image gradients by central differences, one-sided at the border.

    ``Ix[y, x] = (I[y, x+1] - I[y, x-1]) / 2`` inside, ``I[y, 1] - I[y, 0]`` and
    ``I[y, W-1] - I[y, W-2]`` on the first and last columns; ``Iy`` likewise along rows
    (``numpy.gradient`` / ``torch.gradient`` with unit spacing, as scikit-image's iLK).

    Args:
        img (Tensor[H, W]): float, H >= 2 and W >= 2.

    Returns:
        Tensor[2, H, W]: ``(Ix, Iy)``, the dtype of ``img``.

    Raises:
        TypeError: not a float tensor. ValueError: not 2-D, or a side shorter than 2.
    """
    _check_image(img, "img")
    if min(img.shape) < 2:
        raise ValueError(f"img must be at least 2 x 2 pixels, got {list(img.shape)}")
    raise NotImplementedError("image_gradients: implement me (see README.md, section `lk`)")


def box_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the ``(2 radius + 1)^2`` window around every pixel, mirror border.

    The border reflects without repeating the edge pixel (``d c b | a b c d | c b a``:
    ``scipy.ndimage.uniform_filter(mode="mirror")``, torch's ``"reflect"`` padding), also for a
    radius larger than the image.

    Args:
        x (Tensor[..., H, W]): float.
        radius (int): >= 0 (0 returns a copy).

    Returns:
        Tensor[..., H, W]: the window means, dtype of ``x``.

    Raises:
        TypeError: not a float tensor. ValueError: fewer than 2 dims, or a bad radius.
    """
    if type(x) is not torch.Tensor:
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"x must have shape [..., H, W], got {list(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    _check_int(radius, "radius", 0)
    raise NotImplementedError("box_filter: implement me (see README.md, section `lk`)")


def structure_tensor(grad: torch.Tensor, radius: int) -> torch.Tensor:
    """The structure tensor (second-moment matrix) averaged over a window.

    ``A = [[<Ix Ix>, <Ix Iy>], [<Ix Iy>, <Iy Iy>]]`` where ``<.>`` is :func:`box_filter` with
    ``radius`` (a mean, not a sum: eigenvalues and thresholds do not grow with the window).

    Args:
        grad (Tensor[2, H, W]): ``(Ix, Iy)`` as returned by :func:`image_gradients`.
        radius (int): >= 0.

    Returns:
        Tensor[3, H, W]: ``(<Ix Ix>, <Ix Iy>, <Iy Iy>)``, dtype of ``grad``.

    Raises:
        TypeError, ValueError: wrong type, shape or radius.
    """
    if type(grad) is not torch.Tensor:
        raise TypeError(f"grad must be a torch.Tensor, got {type(grad).__name__}")
    if grad.dim() != 3 or grad.shape[0] != 2:
        raise ValueError(f"grad must have shape [2, H, W], got {list(grad.shape)}")
    if not grad.is_floating_point():
        raise TypeError(f"grad must be a floating-point tensor, got {grad.dtype}")
    _check_int(radius, "radius", 0)
    raise NotImplementedError("structure_tensor: implement me (see README.md, section `lk`)")


def tensor_eigenvalues(st: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of symmetric 2x2 matrices ``[[a, b], [b, c]]`` in closed form.

    ``lambda = (a + c) / 2 +- sqrt(((a - c) / 2)^2 + b^2)``.

    Args:
        st (Tensor[3, ...]): ``(a, b, c)``, e.g. from :func:`structure_tensor`.

    Returns:
        Tensor[2, ...]: ``(lambda_max, lambda_min)``, ``lambda_max >= lambda_min``.

    Raises:
        TypeError, ValueError: wrong type or a first dimension other than 3.
    """
    if type(st) is not torch.Tensor:
        raise TypeError(f"st must be a torch.Tensor, got {type(st).__name__}")
    if st.dim() < 1 or st.shape[0] != 3:
        raise ValueError(f"st must have shape [3, ...], got {list(st.shape)}")
    if not st.is_floating_point():
        raise TypeError(f"st must be a floating-point tensor, got {st.dtype}")
    raise NotImplementedError("tensor_eigenvalues: implement me (see README.md, section `lk`)")


def untrackable(st: torch.Tensor, min_eig: float) -> torch.Tensor:
    """Flag windows whose smaller structure-tensor eigenvalue is below ``min_eig``.

    Flat or edge-only windows (the aperture problem) have ``lambda_min ~ 0``: their LK system is
    ill-conditioned. A window is untrackable when ``lambda_min < min_eig`` (strict); with the mean
    of :func:`structure_tensor` this is OpenCV's ``minEigThreshold`` test (OpenCV scales its Scharr
    derivatives differently, so the numbers are not interchangeable).

    Args:
        st (Tensor[3, ...]): ``(<Ix Ix>, <Ix Iy>, <Iy Iy>)``.
        min_eig (float): >= 0.

    Returns:
        Tensor[...] bool: True = untrackable.

    Raises:
        TypeError, ValueError: as :func:`tensor_eigenvalues`; a negative ``min_eig``.
    """
    if isinstance(min_eig, bool) or not isinstance(min_eig, (int, float)) or not min_eig >= 0:
        raise ValueError(f"min_eig must be a number >= 0, got {min_eig!r}")
    raise NotImplementedError("untrackable: implement me (see README.md, section `lk`)")


def solve_2x2(st: torch.Tensor, b: torch.Tensor, eps: float = DET_EPS) -> torch.Tensor:
    """Solve ``[[a, c], [c, d]] x = b`` for every pixel, by Cramer's rule.

    ``det = a d - c^2``; ``x0 = (d b0 - c b1) / det``, ``x1 = (a b1 - c b0) / det``; where
    ``|det| < eps`` the system counts as singular and ``x = 0`` (no NaN, no inf), as in
    scikit-image's iLK.

    Args:
        st (Tensor[3, ...]): ``(a, c, d)``, the symmetric matrix.
        b (Tensor[2, ...]): the right-hand side, same trailing shape.
        eps (float): >= 0, the determinant threshold.

    Returns:
        Tensor[2, ...]: ``x``, computed in the dtype promoted from ``st`` and ``b`` (cast both
        to it before any arithmetic: a float32 ``st`` with a float64 ``b`` gives the float64
        determinant), which is also the result's dtype.

    Raises:
        TypeError, ValueError: wrong types or shapes; a negative ``eps``.
    """
    for name, t, n in (("st", st, 3), ("b", b, 2)):
        if type(t) is not torch.Tensor:
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() < 1 or t.shape[0] != n:
            raise ValueError(f"{name} must have shape [{n}, ...], got {list(t.shape)}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
    if st.shape[1:] != b.shape[1:]:
        raise ValueError(f"st {list(st.shape)} and b {list(b.shape)} must share the trailing shape")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"eps must be a number >= 0, got {eps!r}")
    raise NotImplementedError("solve_2x2: implement me (see README.md, section `lk`)")


def lk_dense(img0: torch.Tensor, img1: torch.Tensor, radius: int = 7, num_warp: int = 10,
             flow_init: torch.Tensor | None = None) -> torch.Tensor:
    """Dense iterative Lucas-Kanade (one pyramid level): scikit-image's iLK, uniform window.

    Start from ``w = flow_init`` (zeros when None). ``num_warp`` times:

    1. ``I1w = warp(I1, w)`` (:func:`vos.warp`, border replicated);
    2. ``(Ix, Iy) = image_gradients(I1w)``;
    3. linearise ``I1(x + w + dw) ~ I1w + grad . dw``: the new flow ``w'`` solves, per pixel,
       ``A w' = b`` with ``A = structure_tensor((Ix, Iy), radius)`` and
       ``b = box_filter(grad * e, radius)``, ``e = Ix u + Iy v + I0 - I1w``;
    4. ``w = solve_2x2(A, b)`` (0 where ``|det A| < 1e-14``).

    The same as ``skimage.registration.optical_flow_ilk(I0, I1, radius=radius,
    num_warp=num_warp, gaussian=False, prefilter=False)`` on one pyramid level, with the channels
    swapped (it returns ``(v, u)``).

    Args:
        img0 (Tensor[H, W]): the reference frame (float), H, W >= 2.
        img1 (Tensor[H, W]): the next frame, same shape.
        radius (int): >= 1, window radius.
        num_warp (int): >= 1, warping iterations.
        flow_init (Tensor[2, H, W], optional): initial ``(u, v)``.

    Returns:
        Tensor[2, H, W]: ``(u, v)``, flow from img0 to img1, promoted dtype.

    Raises:
        TypeError, ValueError: wrong types, shapes or parameters.
    """
    _check_pair(img0, img1)
    if min(img0.shape) < 2:
        raise ValueError(f"images must be at least 2 x 2 pixels, got {list(img0.shape)}")
    _check_int(radius, "radius", 1)
    _check_int(num_warp, "num_warp", 1)
    if flow_init is not None:
        if type(flow_init) is not torch.Tensor or not flow_init.is_floating_point():
            raise TypeError("flow_init must be a floating-point torch.Tensor or None")
        if flow_init.shape != (2,) + tuple(img0.shape):
            raise ValueError(f"flow_init must have shape [2, H, W] = {[2, *img0.shape]}, got {list(flow_init.shape)}")
    raise NotImplementedError("lk_dense: implement me (see README.md, section `lk`)")


def pyramid_down(img: torch.Tensor) -> torch.Tensor:
    """One Gaussian pyramid step: blur with the 5-tap binomial kernel, keep every second pixel.

    Kernel ``[1, 4, 6, 4, 1] / 16`` along rows and columns, mirror border without repeating the
    edge (OpenCV's ``BORDER_REFLECT_101``), then rows and columns ``0, 2, 4, ...``: the output is
    ``((H + 1) // 2, (W + 1) // 2)`` and pixel ``(x, y)`` of the result sits at ``(2x, 2y)`` of
    the input, so coordinates halve between levels. Equal to ``cv2.pyrDown``.

    Args:
        img (Tensor[H, W]): float.

    Returns:
        Tensor[(H + 1) // 2, (W + 1) // 2]: dtype of ``img``.

    Raises:
        TypeError, ValueError: not a 2-D float tensor.
    """
    _check_image(img, "img")
    raise NotImplementedError("pyramid_down: implement me (see README.md, section `lk`)")


def upsample_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Carry a flow from a pyramid level to the next finer one (the inverse of :func:`pyramid_down`).

    ``out[:, y, x] = 2 * flow(x / 2, y / 2)``, bilinear, border clamped: fine pixel ``2x`` is
    coarse pixel ``x``, and displacements double.

    Args:
        flow (Tensor[2, h, w]): coarse ``(u, v)``.
        size (tuple[int, int]): ``(H, W)`` of the finer level, each >= 1.

    Returns:
        Tensor[2, H, W]: dtype of ``flow``.

    Raises:
        TypeError, ValueError: wrong type, shape or size.
    """
    if type(flow) is not torch.Tensor or not flow.is_floating_point():
        raise TypeError("flow must be a floating-point torch.Tensor")
    if flow.dim() != 3 or flow.shape[0] != 2:
        raise ValueError(f"flow must have shape [2, h, w], got {list(flow.shape)}")
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in size)):
        raise ValueError(f"size must be (H, W) with two ints >= 1, got {size!r}")
    raise NotImplementedError("upsample_flow: implement me (see README.md, section `lk`)")


def lk_dense_pyramid(img0: torch.Tensor, img1: torch.Tensor, radius: int = 7, num_warp: int = 10,
                     levels: int = 3) -> torch.Tensor:
    """Coarse-to-fine dense Lucas-Kanade.

    Build ``levels`` pyramid levels of both images with :func:`pyramid_down` (level 0 = the
    images). Start with a zero flow at the coarsest level; at each level run
    :func:`lk_dense` (``radius``, ``num_warp``) from the current flow, then carry it to the next
    finer level with :func:`upsample_flow`. ``levels = 1`` is :func:`lk_dense`.

    Args:
        img0, img1 (Tensor[H, W]): float, same shape, H, W >= 2 ** levels.
        radius (int): >= 1. num_warp (int): >= 1. levels (int): >= 1.

    Returns:
        Tensor[2, H, W]: ``(u, v)`` from img0 to img1, promoted dtype.

    Raises:
        TypeError, ValueError: wrong types, shapes or parameters (images too small for ``levels``).
    """
    _check_pair(img0, img1)
    _check_int(radius, "radius", 1)
    _check_int(num_warp, "num_warp", 1)
    _check_int(levels, "levels", 1)
    if min(img0.shape) < 2 ** levels:
        raise ValueError(f"images of {list(img0.shape)} are too small for levels={levels} "
                         f"(need H, W >= {2 ** levels})")
    raise NotImplementedError("lk_dense_pyramid: implement me (see README.md, section `lk`)")


def lk_sparse(img0: torch.Tensor, img1: torch.Tensor, points: torch.Tensor, radius: int = 7,
              levels: int = 3, num_iters: int = 30, eps: float = 0.01,
              min_eig: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse pyramidal Lucas-Kanade (Bouguet), the algorithm of ``cv2.calcOpticalFlowPyrLK``.

    Pyramids of ``levels`` levels by :func:`pyramid_down`; gradients of img0 by
    :func:`image_gradients` at each level. For each point ``p`` (x, y), with the guess ``g = 0`` at
    the coarsest level, at level ``l`` (point ``p_l = p / 2^l``):

    - the window: offsets ``o`` in ``{-radius..radius}^2``; template ``T(o) = I0_l(p_l + o)`` and
      ``G(o) = (Ix, Iy)(p_l + o)``, bilinear (border clamped);
    - ``A = mean_o G G^T``; if ``lambda_min(A) < min_eig`` the level is skipped (``d = 0``) and, at
      level 0, the point is lost;
    - ``d = 0``; up to ``num_iters`` times: ``e(o) = I1_l(p_l + g + d + o) - T(o)``,
      ``b = mean_o G e``, ``delta = -solve_2x2(A, b)``, ``d += delta``; stop once
      ``|delta| <= eps`` (Euclidean norm, checked after the update), or once the updated position
      ``p_l + g + d`` leaves ``[0, w_l - 1] x [0, h_l - 1]`` (the update is kept);
    - ``g = 2 (g + d)`` for the next finer level; at level 0 the flow is ``g + d``.

    Args:
        img0, img1 (Tensor[H, W]): float, same shape, H, W >= 2 ** levels.
        points (Tensor[N, 2]): ``(x, y)`` in img0, float.
        radius (int): >= 1. levels (int): >= 1. num_iters (int): >= 1.
        eps (float): >= 0. min_eig (float): >= 0.

    Returns:
        tuple: ``(next_points, status)``: ``Tensor[N, 2]`` (x, y) in img1 (promoted dtype of the
        images) and ``Tensor[N]`` bool, False where the point was lost (untrackable at level 0,
        a non-finite result, or a result outside ``[0, W-1] x [0, H-1]``). N = 0 gives
        ``[0, 2]`` and ``[0]``.

    Raises:
        TypeError, ValueError: wrong types, shapes or parameters.
    """
    _check_pair(img0, img1)
    if type(points) is not torch.Tensor or not points.is_floating_point():
        raise TypeError("points must be a floating-point torch.Tensor [N, 2] of (x, y)")
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape [N, 2] (x, y), got {list(points.shape)}")
    _check_int(radius, "radius", 1)
    _check_int(levels, "levels", 1)
    _check_int(num_iters, "num_iters", 1)
    for name, val in (("eps", eps), ("min_eig", min_eig)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not val >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {val!r}")
    if min(img0.shape) < 2 ** levels:
        raise ValueError(f"images of {list(img0.shape)} are too small for levels={levels} "
                         f"(need H, W >= {2 ** levels})")
    raise NotImplementedError("lk_sparse: implement me (see README.md, section `lk`)")
