"""The accuracy check of the sot assignment (trusted side; never enters the sandbox).

``holdout()`` gives one call ``track(frames, first_box)`` per held-out sequence (the frames and
the first frame's box only) and keeps every later box on the trusted side; ``score(outputs,
targets)`` validates what ``track`` returned, evaluates it with the trusted OTB evaluator
(harness/metrics/sot.py: success AUC, the mean over sequences) and draws the report's figures:
the track over a few frames of two sequences (ground truth green, prediction red; the student
version draws only the prediction) and the success and precision plots.

Every malformed output raises ``ValueError`` naming the sequence and the problem (the check then
scores 0 with that message); nothing a submission returns can crash the scorer.
"""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np
import torch

from cv3data.sot import make_sot_split
from harness.metrics.sot import PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS, evaluate_many
from harness.secret import heldout_seed
from harness.reports.png import png_rgb

__all__ = ["HOLDOUT_NAME", "HOLDOUT", "holdout_sequences", "holdout", "validate", "score"]

HOLDOUT_NAME = "sot"  # the held-out seed is heldout_seed(HOLDOUT_NAME)
HOLDOUT = {"num_sequences": 32, "num_frames": 48, "image_size": (96, 96)}
MAX_COORD = 1e6  # far outside any frame: a box beyond this is garbage, not a prediction
EXAMPLE_SEQUENCES = 2
EXAMPLE_FRAMES = 5


def holdout_sequences() -> list[dict]:
    """The held-out sequences, from the course key's seed for ``HOLDOUT_NAME``."""
    return make_sot_split(heldout_seed(HOLDOUT_NAME), **HOLDOUT)


def holdout() -> tuple[list[tuple[list, dict]], list[dict]]:
    """``calls``: ``([frames uint8 [T, 3, H, W], first_box float64 [4]], {})`` per sequence;
    ``targets``: ``{"name", "boxes" (float64 [T, 4]), "frames"}`` per sequence (trusted)."""
    calls, targets = [], []
    for seq in holdout_sequences():
        calls.append(([seq["frames"].clone(), seq["boxes"][0].clone()], {}))
        targets.append({"name": seq["name"], "boxes": seq["boxes"].numpy().copy(), "frames": seq["frames"]})
    return calls, targets


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate(outputs: Any, targets: list[dict]) -> list[np.ndarray]:
    """The predicted boxes as float64 arrays [T, 4], or ``ValueError`` naming the sequence."""
    if type(outputs) is not list or len(outputs) != len(targets):
        raise ValueError(f"expected one output per sequence ({len(targets)}), got {_describe(outputs)}"
                         + (f" of length {len(outputs)}" if type(outputs) is list else ""))
    arrays = []
    for out, target in zip(outputs, targets):
        where = f"sequence {target['name']}"
        t = target["boxes"].shape[0]
        if type(out) is not torch.Tensor:
            raise ValueError(f"{where}: track must return a plain torch.Tensor [T, 4], got {_describe(out)}")
        if out.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{where}: expected float32 boxes, got dtype {str(out.dtype).removeprefix('torch.')}")
        if tuple(out.shape) != (t, 4):
            raise ValueError(f"{where}: expected shape [{t}, 4] (one box per frame), got {list(out.shape)}")
        a = out.detach().cpu().to(torch.float64).numpy()
        if not np.isfinite(a).all():
            k = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
            raise ValueError(f"{where}: frame {k} holds nan or infinite values")
        if (np.abs(a) > MAX_COORD).any():
            raise ValueError(f"{where}: coordinates beyond {MAX_COORD:g} pixels")
        arrays.append(a)
    return arrays


def score(outputs: list, targets: list[dict]) -> tuple[float, dict]:
    """``(success AUC, details)``: the mean over sequences of OTB's success AUC.

    ``details``: ``auc``, ``precision_20``, ``mean_iou``, ``sequences``, ``table`` (per
    sequence) and ``figures``.

    Raises:
        ValueError: malformed outputs (the message names the sequence and the problem).
    """
    preds = validate(outputs, targets)
    r = evaluate_many([(p, t["boxes"]) for p, t in zip(preds, targets)])
    rows = [[t["name"], s["frames"], round(s["auc"], 4), round(s["precision_20"], 4), round(s["mean_iou"], 4)]
            for t, s in zip(targets, r["sequences"])]
    figures = [_track_figure(preds[:EXAMPLE_SEQUENCES], targets[:EXAMPLE_SEQUENCES]),
               _curves_figure(r["success"], r["precision"], r["auc"], r["precision_20"])]
    details = {
        "auc": round(r["auc"], 6),
        "precision_20": round(r["precision_20"], 6),
        "mean_iou": round(float(np.mean([s["mean_iou"] for s in r["sequences"]])), 6),
        "sequences": len(preds),
        "table": {"columns": ["sequence", "frames", "success AUC", "precision@20", "mean IoU"], "rows": rows},
        "figures": figures,
    }
    return r["auc"], details


# ---------------------------------------------------------------------------------- figures
def _png(pixels: torch.Tensor) -> bytes:
    """A PNG file of uint8 ``Tensor[3, H, W]``."""
    return png_rgb(pixels.permute(1, 2, 0).numpy())


def _rect(box, zoom: float, colour: str, width: float, dash: str = "") -> str:
    x1, y1, x2, y2 = (float(np.clip(v, -1e4, 1e4)) * zoom for v in box)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<rect x="{x1:.1f}" y="{y1:.1f}" width="{max(x2 - x1, 0):.1f}" height="{max(y2 - y1, 0):.1f}" '
            f'fill="none" stroke="{colour}" stroke-width="{width}"{extra}/>')


def _tile(frame: torch.Tensor, index: int, name: str, pred, gt) -> str:
    zoom, pad = 2, 4
    h, w = frame.shape[1] * zoom, frame.shape[2] * zoom
    png = base64.b64encode(_png(frame)).decode("ascii")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 2 * pad}" height="{h + 2 * pad + 16}" '
             f'font-family="sans-serif"><g transform="translate({pad},{pad + 16})">',
             f'<text x="0" y="-4" font-size="11">{html.escape(name)}, frame {index}</text>',
             f'<image width="{w}" height="{h}" style="image-rendering:pixelated" href="data:image/png;base64,{png}"/>']
    if gt is not None:
        parts.append(_rect(gt, zoom, "#22c55e", 2))
    parts.append(_rect(pred, zoom, "#ef4444", 1.5))
    parts.append("</g></svg>")
    return "".join(parts)


def _track_figure(preds: list[np.ndarray], targets: list[dict]) -> dict:
    tiles, student_tiles = [], []
    for pred, target in zip(preds, targets):
        t = pred.shape[0]
        for k in np.linspace(0, t - 1, EXAMPLE_FRAMES).round().astype(int).tolist():
            frame = target["frames"][k]
            tiles.append(_tile(frame, k, target["name"], pred[k], target["boxes"][k]))
            student_tiles.append(_tile(frame, k, target["name"], pred[k], None))
    return {"title": f"the track over {EXAMPLE_FRAMES} frames of {len(preds)} held-out sequences",
            "tiles": tiles, "student_tiles": student_tiles,
            "legend": "green: ground truth; red: the tracker's box"}


def _plot(curve: np.ndarray, xs: np.ndarray, x_max: float, x_label: str, y_label: str, label: str,
          x0: float) -> list[str]:
    top, size = 20, 200
    parts = [f'<rect x="{x0}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#888"/>']
    for f in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{x0 + f * size:.0f}" y="{top + size + 14}" font-size="10" '
                     f'text-anchor="middle">{f * x_max:g}</text>')
        parts.append(f'<text x="{x0 - 6}" y="{top + (1 - f) * size + 3:.0f}" font-size="10" '
                     f'text-anchor="end">{f:g}</text>')
    parts.append(f'<text x="{x0 + size / 2}" y="{top + size + 30}" font-size="11" text-anchor="middle">'
                 f'{x_label}</text>')
    parts.append(f'<text x="{x0 + size / 2}" y="{top - 6}" font-size="11" text-anchor="middle">'
                 f'{html.escape(y_label)}: {html.escape(label)}</text>')
    points = " ".join(f"{x0 + x / x_max * size:.1f},{top + (1 - y) * size:.1f}" for x, y in zip(xs, curve))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#2563eb" stroke-width="1.8"/>')
    return parts


def _curves_figure(success: np.ndarray, precision: np.ndarray, auc: float, p20: float) -> dict:
    parts = _plot(success, SUCCESS_THRESHOLDS, 1.0, "IoU threshold", "success", f"AUC {auc:.3f}", 40)
    parts += _plot(precision, PRECISION_THRESHOLDS, 50.0, "centre error threshold (px)", "precision",
                   f"at 20 px {p20:.3f}", 300)
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="520" height="260" font-family="sans-serif">'
           + "".join(parts) + "</svg>")
    return {"title": "OTB success and precision plots (mean over the held-out sequences)", "svg": svg}
