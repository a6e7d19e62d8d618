"""The OSVOS J&F accuracy check of the vos assignment (trusted side; never enters the sandbox).

Train-then-evaluate *per sequence*: each held-out sequence is one call
``osvos_segment(frames, first_mask, time_budget_s=TIME_BUDGET_S)``; the submission fine-tunes
on the first frame inside the sandbox within that budget and returns a mask for every frame.
Only the first frame's mask enters the sandbox; the masks of frames 1..T-1 stay here. The
sequences come from the public generator ``cv3data.vos`` with the course key's seed
(harness/secret.py), so nobody without the key knows them. ``score`` validates the outputs and
computes the DAVIS J&F mean with the trusted metric (harness/metrics/davis.py: first and last
frames unscored, each sequence weighing the same), and draws the report's figures: for a few
sequences, frames with the true and the predicted masks overlaid (instructor), or the predicted
ones only (student view, where ``show_heldout_predictions`` allows it).
"""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np
import torch

from cv3data.vos import make_vos_sequences
from harness.metrics.davis import evaluate_sequence, evaluate_sequences
from harness.reports.png import png_rgb
from harness.secret import heldout_seed

__all__ = ["HOLDOUT_NAME", "SEQUENCES", "SIZE", "FRAMES", "SPEED", "TIME_BUDGET_S", "holdout_sequences", "holdout",
           "validate", "score"]

HOLDOUT_NAME = "vos_osvos"
SEQUENCES = 8
SIZE = 48
FRAMES = 12
#: held-out objects move faster than the public default (copying the first mask scores less)
SPEED = 1.5
#: seconds each osvos_segment call is told it may use (the check's timeout_s covers all calls)
TIME_BUDGET_S = 8.0
EXAMPLES = 3


def holdout_sequences(seed: int | None = None) -> list[dict]:
    """The held-out sequences: the public generator with the course key's seed (or ``seed``)."""
    s = heldout_seed(HOLDOUT_NAME) if seed is None else seed
    return make_vos_sequences(SEQUENCES, s, height=SIZE, width=SIZE, frames=FRAMES, speed=SPEED)


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    """``calls``: one per sequence, ``osvos_segment(frames float32 [T, 3, H, W] in [0, 1],
    first_mask int64 [H, W], time_budget_s=8.0)``; ``targets``: ``{"masks": [uint8 [T, H, W]],
    "frames": [uint8 [T, 3, H, W]], "names": [str]}``."""
    seqs = holdout_sequences(seed)
    calls = [([s["frames"].float() / 255.0, s["masks"][0].to(torch.int64)], {"time_budget_s": TIME_BUDGET_S})
             for s in seqs]
    return calls, {"masks": [s["masks"] for s in seqs], "frames": [s["frames"] for s in seqs],
                   "names": [s["name"] for s in seqs]}


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate(outputs: Any, masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """The predicted masks as bool tensors ``[T, H, W]``, or ``ValueError`` naming the sequence
    and the problem (wrong type, dtype, shape, or a value other than 0 and 1)."""
    if type(outputs) is not list:
        raise ValueError(f"expected one result per sequence, got {_describe(outputs)}")
    if len(outputs) != len(masks):
        raise ValueError(f"expected {len(masks)} results of osvos_segment, got {len(outputs)}")
    preds = []
    for k, (out, gt) in enumerate(zip(outputs, masks)):
        if type(out) is not torch.Tensor:
            raise ValueError(f"sequence {k}: osvos_segment must return a Tensor[T, H, W] of int64, "
                             f"got {_describe(out)}")
        if out.dtype != torch.int64:
            raise ValueError(f"sequence {k}: osvos_segment must return int64 masks, got {_describe(out)}")
        if tuple(out.shape) != tuple(gt.shape):
            raise ValueError(f"sequence {k}: expected shape {list(gt.shape)}, got {list(out.shape)}")
        out = out.detach().cpu()
        if out.numel() and (int(out.min()) < 0 or int(out.max()) > 1):
            raise ValueError(f"sequence {k}: mask values must be 0 or 1, got values in "
                             f"[{int(out.min())}, {int(out.max())}]")
        preds.append(out != 0)
    return preds


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(J&F mean, details)`` over the held-out sequences (DAVIS semi-supervised protocol).
    ``details``: J and F mean / recall / decay, a per-sequence ``table`` and ``figures``.

    Raises:
        ValueError: malformed outputs (the message names the sequence and the problem).
    """
    masks = targets["masks"]
    preds = validate(outputs, masks)
    scores = [evaluate_sequence(p.numpy(), g.numpy()) for p, g in zip(preds, masks)]
    agg = evaluate_sequences(scores)
    rows = [[name, f"{s.j_mean:.4f}", f"{s.f_mean:.4f}", f"{s.jf:.4f}", f"{s.j_decay:+.4f}"]
            for name, s in zip(targets["names"], scores)]
    table = {"title": "per-sequence J and F on held-out sequences (frames 1..T-2 scored)",
             "columns": ["sequence", "J mean", "F mean", "J&F", "J decay"], "rows": rows}
    figures = [_overlays(targets["frames"][i], masks[i], preds[i], targets["names"][i], scores[i])
               for i in range(min(EXAMPLES, len(masks)))]
    details = {**{k: round(v, 6) for k, v in agg.items()}, "sequences": len(masks), "table": table,
               "figures": figures}
    return agg["jf_mean"], details


# ---------------------------------------------------------------------------------- figures
def _overlay(frame: torch.Tensor, mask: torch.Tensor, colour: tuple[int, int, int]) -> np.ndarray:
    img = frame.permute(1, 2, 0).numpy().astype(np.float64)
    m = mask.numpy().astype(bool)[..., None]
    out = np.where(m, img * 0.45 + np.array(colour, dtype=np.float64) * 0.55, img)
    # the mask's outline in white, so thin errors show
    edge = m[..., 0] & ~(np.roll(m[..., 0], 1, 0) & np.roll(m[..., 0], -1, 0) & np.roll(m[..., 0], 1, 1)
                         & np.roll(m[..., 0], -1, 1))
    out[edge] = 255
    return np.clip(out, 0, 255).astype(np.uint8)


def _strip(frames: torch.Tensor, masks: torch.Tensor, colour) -> np.ndarray:
    gap = np.full((frames.shape[2], 2, 3), 255, dtype=np.uint8)
    parts = []
    for t in range(frames.shape[0]):
        parts += [_overlay(frames[t], masks[t], colour), gap]
    return np.concatenate(parts[:-1], axis=1)


def _svg(rows: list[tuple[str, np.ndarray]], title: str) -> str:
    zoom, pad = 3, 4
    h, w = rows[0][1].shape[:2]
    width, y = w * zoom + 2 * pad, 18
    parts = [f'<text x="{pad}" y="12" font-size="11">{html.escape(title)}</text>']
    for label, rgb in rows:
        png = base64.b64encode(png_rgb(rgb)).decode("ascii")
        parts.append(f'<text x="{pad}" y="{y + 10}" font-size="10">{html.escape(label)}</text>')
        parts.append(f'<image x="{pad}" y="{y + 14}" width="{w * zoom}" height="{h * zoom}" '
                     f'style="image-rendering:pixelated" href="data:image/png;base64,{png}"/>')
        y += h * zoom + 20
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + pad}" font-family="sans-serif">'
            f'{"".join(parts)}</svg>')


def _overlays(frames: torch.Tensor, truth: torch.Tensor, pred: torch.Tensor, name: str, s) -> dict:
    true_row = ("ground truth (frame 0 is the given mask)", _strip(frames, truth, (40, 200, 60)))
    pred_row = ("prediction", _strip(frames, pred, (230, 60, 40)))
    title = f"{name}: frames 0..{frames.shape[0] - 1}, J {s.j_mean:.3f}, F {s.f_mean:.3f}"
    return {"title": f"held-out sequence {name}: predicted vs true masks", "tiles": [_svg([true_row, pred_row], title)],
            "student_tiles": [_svg([pred_row], f"{name}: frames 0..{frames.shape[0] - 1}")],
            "legend": "green: true object mask; red: the submission's mask; white: mask outlines"}
