"""The optical-flow accuracy check of the vos assignment (trusted side; never enters the sandbox).

Real data with known horizontal flow: scikit-image's bundled Middlebury ``stereo_motorcycle``
pair (``skimage.data.stereo_motorcycle()`` -> left, right, disparity; 500 x 741). A left pixel
``x`` shows in the right image at ``x - d(x)`` (checked: warping the right image by ``-d``
reproduces the left one, mean |difference| 0.029 on [0, 1] grey, by ``+d`` 0.17), so the flow
left -> right is ``(u, v) = (-d, 0)``; ``d`` is ``inf`` where unknown (occlusions), 7 % of the
pixels, which do not count.

Inputs: both images in grey (``skimage.color.rgb2gray``), averaged over 4 x 4 blocks to
125 x 185 (float32 in [0, 1]), disparities 1.8 .. 17.5 px at that scale; the ground truth is the
block mean of ``-d / 4``, valid where the 16 disparities are all finite (17451 of the 23125
blocks, 75 %). Two calls of
``lk_dense_pyramid(img0, img1, radius=7, num_warp=10, levels=3)``: the pair as it is (flow to
the left) and the pair mirrored left-right (flow to the right, ``u = +d``). The disparity never
enters the sandbox.

The metric is the negative mean end-point error in pixels over the valid pixels of both calls
(higher is better, as the accuracy check wants): ``-EPE``.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import torch
from flow_oracles import flow_to_color_np

from harness.reports.png import png_rgb

__all__ = ["BLOCK", "KWARGS", "pair", "holdout", "validate", "score"]

BLOCK = 4
KWARGS = {"radius": 7, "num_warp": 10, "levels": 3}
MAX_FLOW = 1e4  # beyond this a prediction is garbage, not a flow


def _blocks(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[0] // BLOCK * BLOCK, a.shape[1] // BLOCK * BLOCK
    return a[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3))


def pair() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(left, right, u, valid)`` at 1/4 scale: grey float32 images, the float64 ground-truth
    horizontal flow left -> right and its bool validity mask."""
    from skimage import color, data

    left, right, disp = data.stereo_motorcycle()
    gl = _blocks(color.rgb2gray(left)).astype(np.float32)
    gr = _blocks(color.rgb2gray(right)).astype(np.float32)
    finite = np.isfinite(disp)
    d = np.where(finite, disp, 0.0).astype(np.float64)
    valid = _blocks(finite.astype(np.float64)) == 1.0
    u = -_blocks(d) / BLOCK
    return gl, gr, u, valid


def holdout() -> tuple[list[tuple[list, dict]], list[dict]]:
    """Two calls (as is, mirrored); targets hold the ground-truth flow [2, H, W] and the mask."""
    gl, gr, u, valid = pair()
    calls, targets = [], []
    for name, a, b, uu, vv in (("motorcycle", gl, gr, u, valid),
                               ("motorcycle mirrored", gl[:, ::-1], gr[:, ::-1], -u[:, ::-1], valid[:, ::-1])):
        a = np.ascontiguousarray(a)
        b = np.ascontiguousarray(b)
        calls.append(([torch.from_numpy(a), torch.from_numpy(b)], dict(KWARGS)))
        gt = np.stack([uu, np.zeros_like(uu)])
        targets.append({"name": name, "flow": np.ascontiguousarray(gt), "valid": np.ascontiguousarray(vv),
                        "image": a})
    return calls, targets


def _describe(x) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate(outputs, targets: list[dict]) -> list[np.ndarray]:
    """The predicted flows as float64 arrays [2, H, W], or ``ValueError`` naming the call."""
    if type(outputs) is not list or len(outputs) != len(targets):
        raise ValueError(f"expected one flow per image pair ({len(targets)}), got {_describe(outputs)}")
    flows = []
    for out, target in zip(outputs, targets):
        shape = target["flow"].shape
        where = target["name"]
        if type(out) is not torch.Tensor:
            raise ValueError(f"{where}: lk_dense_pyramid must return a plain torch.Tensor [2, H, W], "
                             f"got {_describe(out)}")
        if out.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{where}: expected a float32 flow, got dtype {str(out.dtype).removeprefix('torch.')}")
        if tuple(out.shape) != shape:
            raise ValueError(f"{where}: expected shape {list(shape)} (u, v per pixel), got {list(out.shape)}")
        f = out.detach().cpu().to(torch.float64).numpy()
        if not np.isfinite(f).all():
            raise ValueError(f"{where}: the flow holds nan or infinite values")
        if (np.abs(f) > MAX_FLOW).any():
            raise ValueError(f"{where}: displacements beyond {MAX_FLOW:g} pixels")
        flows.append(f)
    return flows


def score(outputs, targets: list[dict]) -> tuple[float, dict]:
    """``(-EPE, details)``: minus the mean end-point error over the valid pixels of all calls.

    details: ``epe``, ``within_1px``, ``within_3px`` (fractions of valid pixels), a table per
    call, and figures (colour-wheel flow of the prediction and the ground truth, EPE map)."""
    flows = validate(outputs, targets)
    errs, rows = [], []
    for f, t in zip(flows, targets):
        e = np.sqrt(((f - t["flow"]) ** 2).sum(0))[t["valid"]]
        errs.append(e)
        rows.append([t["name"], int(e.size), round(float(e.mean()), 4), round(float((e < 1).mean()), 4),
                     round(float((e < 3).mean()), 4)])
    allerr = np.concatenate(errs)
    epe = float(allerr.mean())
    details = {
        "epe": round(epe, 6),
        "within_1px": round(float((allerr < 1).mean()), 6),
        "within_3px": round(float((allerr < 3).mean()), 6),
        "table": {"columns": ["pair", "valid pixels", "EPE (px)", "< 1 px", "< 3 px"], "rows": rows},
        "figures": [_figure(flows, targets)],
    }
    return -epe, details


def _png_tile(rgb: np.ndarray, label: str) -> str:
    h, w = rgb.shape[:2]
    png = base64.b64encode(png_rgb(rgb)).decode("ascii")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 8}" height="{h + 24}" font-family="sans-serif">'
            f'<text x="4" y="14" font-size="11">{html.escape(label)}</text>'
            f'<image x="4" y="20" width="{w}" height="{h}" href="data:image/png;base64,{png}"/></svg>')


def _figure(flows: list[np.ndarray], targets: list[dict]) -> dict:
    tiles, student_tiles = [], []
    for f, t in zip(flows, targets):
        max_flow = float(np.abs(t["flow"]).max()) or 1.0
        grey = (np.clip(t["image"], 0, 1) * 255).astype(np.uint8)
        tiles.append(_png_tile(np.repeat(grey[..., None], 3, axis=2), f"{t['name']}: frame 0"))
        pred = flow_to_color_np(f[0], f[1], max_flow)
        tiles.append(_png_tile(pred, f"{t['name']}: predicted flow"))
        student_tiles.append(_png_tile(pred, f"{t['name']}: predicted flow"))
        gt = flow_to_color_np(t["flow"][0], t["flow"][1], max_flow)
        gt[~t["valid"]] = 0
        tiles.append(_png_tile(gt, f"{t['name']}: ground truth (black: unknown)"))
        e = np.sqrt(((f - t["flow"]) ** 2).sum(0))
        emap = (np.clip(e / 5.0, 0, 1) * 255).astype(np.uint8)
        emap[~t["valid"]] = 0
        tiles.append(_png_tile(np.stack([emap, emap, emap], -1), f"{t['name']}: EPE, white = 5 px or more"))
    return {"title": "Lucas-Kanade on the Middlebury motorcycle pair (1/4 scale): colour-wheel flow",
            "tiles": tiles, "student_tiles": student_tiles,
            "legend": "hue = direction, saturation = magnitude (Middlebury colour wheel, same scale per pair)"}
