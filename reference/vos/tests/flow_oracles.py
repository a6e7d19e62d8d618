"""Trusted float64 oracles of the flow tasks (hidden tests only; never enter the sandbox).

Written independently of the reference, with numpy/scipy/OpenCV:

* ``bilinear_border`` / ``warp_loop``: bilinear sampling with the sample point clamped to the
  image (explicit loops over pixels);
* ``ilk_np``: scikit-image's iLK solver re-written with ``scipy.ndimage`` (checked against
  ``skimage.registration.optical_flow_ilk`` on single-level images by the tests), with an initial
  flow, returning ``(u, v)``;
* ``pyr_lk_np``: coarse-to-fine dense LK with ``cv2.pyrDown`` and ``ilk_np``;
* ``sparse_lk_np``: Bouguet's sparse pyramidal LK as pinned in the docstring of ``lk_sparse``,
  one point at a time in float64;
* ``textured_pair``: a smooth random texture and an exactly shifted copy (uint8 or float).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage as ndi

__all__ = ["bilinear_border", "warp_loop", "ilk_np", "pyr_lk_np", "sparse_lk_np", "textured_pair",
           "upsample_np", "color_wheel_np", "flow_to_color_np", "correlation_loop"]


def bilinear_border(img: np.ndarray, x: float, y: float) -> float:
    """img [H, W] at (x, y): the point clamped into [0, W-1] x [0, H-1], then bilinear."""
    h, w = img.shape
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    return ((1 - fx) * (1 - fy) * img[y0, x0] + fx * (1 - fy) * img[y0, x1]
            + (1 - fx) * fy * img[y1, x0] + fx * fy * img[y1, x1])


def warp_loop(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """image [B, C, H, W], flow [B, 2, H, W] (u, v) -> out[b, c, y, x] = image(x + u, y + v)."""
    b, c, h, w = image.shape
    out = np.zeros((b, c, h, w), dtype=np.float64)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                sx, sy = x + float(flow[bi, 0, y, x]), y + float(flow[bi, 1, y, x])
                for ci in range(c):
                    out[bi, ci, y, x] = bilinear_border(image[bi, ci].astype(np.float64), sx, sy)
    return out


def _warp_np(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return ndi.map_coordinates(img, [yy + flow[1], xx + flow[0]], order=1, mode="nearest")


def ilk_np(i0: np.ndarray, i1: np.ndarray, radius: int, num_warp: int, flow0: np.ndarray | None = None) -> np.ndarray:
    """iLK (uniform window, mirror border, |det| < 1e-14 -> 0) in float64; returns (u, v)."""
    i0 = i0.astype(np.float64)
    i1 = i1.astype(np.float64)
    size = 2 * radius + 1
    flow = np.zeros((2,) + i0.shape) if flow0 is None else flow0.astype(np.float64).copy()
    filt = lambda a: ndi.uniform_filter(a, size=size, mode="mirror")  # noqa: E731
    for _ in range(num_warp):
        wi = _warp_np(i1, flow)
        gy, gx = np.gradient(wi)
        err = gx * flow[0] + gy * flow[1] + i0 - wi
        a = np.stack([np.stack([filt(gx * gx), filt(gx * gy)], -1), np.stack([filt(gx * gy), filt(gy * gy)], -1)], -2)
        b = np.stack([filt(gx * err), filt(gy * err)], -1)[..., None]
        bad = np.abs(np.linalg.det(a)) < 1e-14
        a[bad] = np.eye(2)
        b[bad] = 0
        sol = np.linalg.solve(a, b)[..., 0]
        flow = np.moveaxis(sol, -1, 0)
    return flow


def upsample_np(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) / 2
    return 2 * np.stack([ndi.map_coordinates(flow[k].astype(np.float64), [yy, xx], order=1, mode="nearest")
                         for k in range(2)])


def pyr_lk_np(i0: np.ndarray, i1: np.ndarray, radius: int, num_warp: int, levels: int) -> np.ndarray:
    p0, p1 = [i0.astype(np.float64)], [i1.astype(np.float64)]
    for _ in range(levels - 1):
        p0.append(cv2.pyrDown(p0[-1]))
        p1.append(cv2.pyrDown(p1[-1]))
    flow = None
    for lev in range(levels - 1, -1, -1):
        if flow is not None:
            flow = upsample_np(flow, p0[lev].shape)
        flow = ilk_np(p0[lev], p1[lev], radius, num_warp, flow)
    return flow


def sparse_lk_np(i0, i1, points, radius=7, levels=3, num_iters=30, eps=0.01, min_eig=1e-6):
    """Bouguet's pyramidal LK, float64, one point at a time; returns (points [N, 2], status [N])."""
    p0, p1 = [i0.astype(np.float64)], [i1.astype(np.float64)]
    for _ in range(levels - 1):
        p0.append(cv2.pyrDown(p0[-1]))
        p1.append(cv2.pyrDown(p1[-1]))
    grads = [np.gradient(p)[::-1] for p in p0]  # (gx, gy) per level
    offs = [(ox, oy) for oy in range(-radius, radius + 1) for ox in range(-radius, radius + 1)]
    out = np.zeros((len(points), 2))
    status = np.ones(len(points), dtype=bool)
    for n, (px, py) in enumerate(np.asarray(points, dtype=np.float64)):
        gx_, gy_ = 0.0, 0.0
        for lev in range(levels - 1, -1, -1):
            h, w = p0[lev].shape
            cx, cy = px / 2 ** lev, py / 2 ** lev
            tmpl = np.array([bilinear_border(p0[lev], cx + ox, cy + oy) for ox, oy in offs])
            gx = np.array([bilinear_border(grads[lev][0], cx + ox, cy + oy) for ox, oy in offs])
            gy = np.array([bilinear_border(grads[lev][1], cx + ox, cy + oy) for ox, oy in offs])
            a, c, d = (gx * gx).mean(), (gx * gy).mean(), (gy * gy).mean()
            lam_min = (a + d) / 2 - math.sqrt(((a - d) / 2) ** 2 + c * c)
            dx = dy = 0.0
            if lam_min < min_eig:
                if lev == 0:
                    status[n] = False
            else:
                det = a * d - c * c
                for _ in range(num_iters):
                    e = np.array([bilinear_border(p1[lev], cx + gx_ + dx + ox, cy + gy_ + dy + oy)
                                  for ox, oy in offs]) - tmpl
                    b0, b1 = (gx * e).mean(), (gy * e).mean()
                    if abs(det) < 1e-14:
                        ux = uy = 0.0
                    else:
                        ux = -(d * b0 - c * b1) / det
                        uy = -(a * b1 - c * b0) / det
                    dx += ux
                    dy += uy
                    qx, qy = cx + gx_ + dx, cy + gy_ + dy
                    if math.hypot(ux, uy) <= eps or not (0 <= qx <= w - 1 and 0 <= qy <= h - 1):
                        break
            if lev > 0:
                gx_, gy_ = 2 * (gx_ + dx), 2 * (gy_ + dy)
            else:
                gx_, gy_ = gx_ + dx, gy_ + dy
        out[n] = (px + gx_, py + gy_)
        h, w = i0.shape
        if not (np.isfinite(out[n]).all() and 0 <= out[n, 0] <= w - 1 and 0 <= out[n, 1] <= h - 1):
            status[n] = False
    return out, status


def textured_pair(seed: int, size: tuple[int, int], shift: tuple[float, float], sigma: float = 3.5,
                  uint8: bool = False):
    """A smooth random texture and the same texture moved by ``shift`` = (u, v) pixels, so that
    ``I0(x) = I1(x + (u, v))`` (cubic-spline shift of a larger canvas, then cropped)."""
    h, w = size
    rng = np.random.default_rng(seed)
    m = 32
    big = ndi.gaussian_filter(rng.random((h + 2 * m, w + 2 * m)), sigma)
    big = (big - big.min()) / (big.max() - big.min())
    moved = ndi.shift(big, (shift[1], shift[0]), order=3, mode="nearest")
    i0, i1 = big[m:m + h, m:m + w], moved[m:m + h, m:m + w]
    if uint8:
        return (np.round(i0 * 255).clip(0, 255).astype(np.uint8), np.round(i1 * 255).clip(0, 255).astype(np.uint8))
    return i0, i1


def color_wheel_np() -> np.ndarray:
    """Baker et al.'s 55-colour wheel (flow_vis / Middlebury's colorcode.cpp)."""
    ry, yg, gc, cb, bm, mr = 15, 6, 4, 11, 13, 6
    wheel = np.zeros((ry + yg + gc + cb + bm + mr, 3))
    col = 0
    wheel[0:ry, 0] = 255
    wheel[0:ry, 1] = np.floor(255 * np.arange(0, ry) / ry)
    col += ry
    wheel[col:col + yg, 0] = 255 - np.floor(255 * np.arange(0, yg) / yg)
    wheel[col:col + yg, 1] = 255
    col += yg
    wheel[col:col + gc, 1] = 255
    wheel[col:col + gc, 2] = np.floor(255 * np.arange(0, gc) / gc)
    col += gc
    wheel[col:col + cb, 1] = 255 - np.floor(255 * np.arange(cb) / cb)
    wheel[col:col + cb, 2] = 255
    col += cb
    wheel[col:col + bm, 2] = 255
    wheel[col:col + bm, 0] = np.floor(255 * np.arange(0, bm) / bm)
    col += bm
    wheel[col:col + mr, 2] = 255 - np.floor(255 * np.arange(mr) / mr)
    wheel[col:col + mr, 0] = 255
    return wheel


def flow_to_color_np(u: np.ndarray, v: np.ndarray, max_flow: float | None, *, levels: bool = False):
    """The Middlebury picture as uint8 [H, W, 3]; with ``levels=True`` also the float64 values
    ``255 * col`` that are floored (where one is an integer, any order of the operations may land
    one level lower)."""
    u = u.astype(np.float64)
    v = v.astype(np.float64)
    rad = np.sqrt(u ** 2 + v ** 2)
    if max_flow is None:
        max_flow = rad.max() if rad.size else 1.0
        if max_flow == 0:
            max_flow = 1.0
    u, v = u / max_flow, v / max_flow
    rad = np.sqrt(u ** 2 + v ** 2)
    wheel = color_wheel_np()
    ncols = wheel.shape[0]
    a = np.arctan2(-v, -u) / np.pi
    fk = (a + 1) / 2 * (ncols - 1)
    k0 = np.floor(fk).astype(np.int64)
    k1 = (k0 + 1) % ncols
    f = fk - k0
    out = np.zeros(u.shape + (3,), dtype=np.uint8)
    raw = np.zeros(u.shape + (3,), dtype=np.float64)
    for i in range(3):
        col0 = wheel[k0, i] / 255.0
        col1 = wheel[k1, i] / 255.0
        col = (1 - f) * col0 + f * col1
        idx = rad <= 1
        col[idx] = 1 - rad[idx] * (1 - col[idx])
        col[~idx] = col[~idx] * 0.75
        raw[..., i] = 255 * col
        out[..., i] = np.floor(raw[..., i])
    return (out, raw) if levels else out


def correlation_loop(f1: np.ndarray, f2: np.ndarray, patch_size: int, max_displacement: int,
                     stride1: int, stride2: int) -> np.ndarray:
    """FlowNetC correlation by explicit loops (numpy over channels only), float64."""
    f1 = f1.astype(np.float64)
    f2 = f2.astype(np.float64)
    b, c, h, w = f1.shape
    k = (patch_size - 1) // 2
    rad = max_displacement // stride2
    dsz = 2 * rad + 1
    ho = (h - 2 * k - 1) // stride1 + 1
    wo = (w - 2 * k - 1) // stride1 + 1
    out = np.zeros((b, dsz * dsz, ho, wo))
    for bi in range(b):
        for i in range(ho):
            for j in range(wo):
                y1, x1 = k + i * stride1, k + j * stride1
                for p in range(dsz):
                    for q in range(dsz):
                        dy, dx = (p - rad) * stride2, (q - rad) * stride2
                        s = 0.0
                        for oy in range(-k, k + 1):
                            for ox in range(-k, k + 1):
                                y2, x2 = y1 + oy + dy, x1 + ox + dx
                                if 0 <= y2 < h and 0 <= x2 < w:
                                    s += float(np.dot(f1[bi, :, y1 + oy, x1 + ox], f2[bi, :, y2, x2]))
                        out[bi, p * dsz + q, i, j] = s / (patch_size * patch_size * c)
    return out
