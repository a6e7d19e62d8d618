"""The held-out data and the scorers of the tracking accuracy checks (trusted side only).

``hidden_sequences()`` gives the calls sent to the submission's ``track_sequence`` (detections
and appearance features of every frame, nothing else) and the targets that never leave the
trusted side (ground truth). ``score_mota`` / ``score_idf1`` validate what came back, evaluate
it with the harness' own MOT evaluator (same counts as motmetrics) and return the metric with a
per-sequence table and a figure for the report. The table also reports (never grades) HOTA,
DetA, AssA and LocA (as TrackEval computes them), MT/PT/ML and fragmentations (as motmetrics).

The held-out split comes from the public generator (datasets/cv3data/mot.py) with a 128-bit seed
derived from the course key (harness/secret.py), which never leaves the instructor's grading
setup: neither this file nor a handout holds it, and it is far too wide to find by trying seeds.
"""

from __future__ import annotations

import html
import math

import numpy as np
import torch

from cv3data.mot import frame_detections, make_mot_split
from harness.metrics.mot import evaluate_mot_many
from harness.secret import heldout_seed

__all__ = ["HIDDEN_SPLIT", "hidden_sequences", "validate_outputs", "score_mota", "score_idf1", "tracks_svg"]

HOLDOUT_NAME = "tracking"  # the held-out seed is heldout_seed(HOLDOUT_NAME)
HIDDEN_SPLIT = {"num_sequences": 4, "num_frames": 150, "num_objects": 20}
MAX_ROWS = 200_000  # far more than any sane tracker reports on these sequences
IOU_THRESHOLD = 0.5


def hidden_sequences() -> tuple[list, list]:
    """``(calls, targets)``: one call ``track_sequence(detections, embeddings)`` per sequence."""
    sequences = make_mot_split("hidden", seed=heldout_seed(HOLDOUT_NAME), **HIDDEN_SPLIT)
    calls, targets = [], []
    for seq in sequences:
        dets, feats = frame_detections(seq)
        calls.append(([dets, feats], {}))
        targets.append({
            "name": seq["name"],
            "num_frames": seq["num_frames"],
            "image_size": seq["image_size"],
            "gt": seq["gt"].numpy().copy(),
        })
    return calls, targets


def validate_outputs(outputs: list, targets: list) -> list[np.ndarray]:
    """The outputs as float64 arrays [N, 6], or ValueError naming the sequence and the problem."""
    if type(outputs) is not list or len(outputs) != len(targets):
        raise ValueError(f"expected one output per sequence ({len(targets)})")
    arrays = []
    for out, target in zip(outputs, targets):
        where = f"sequence {target['name']}"
        if type(out) is not torch.Tensor:
            raise ValueError(f"{where}: track_sequence must return a torch.Tensor of shape [N, 6], "
                             f"got {type(out).__name__}")
        if out.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{where}: expected a float32 or float64 tensor, got dtype "
                             f"{str(out.dtype).replace('torch.', '')}")
        if out.dim() != 2 or out.shape[1] != 6:
            raise ValueError(f"{where}: expected shape [N, 6] with rows (frame, id, x1, y1, x2, y2), "
                             f"got {list(out.shape)}")
        if out.shape[0] > MAX_ROWS:
            raise ValueError(f"{where}: {out.shape[0]} rows is more than the {MAX_ROWS} allowed")
        a = out.detach().cpu().to(torch.float64).numpy()
        if not np.isfinite(a).all():
            raise ValueError(f"{where}: the output holds nan or infinite values")
        frames, ids = a[:, 0], a[:, 1]
        n = target["num_frames"]
        if (frames != np.round(frames)).any() or (frames < 1).any() or (frames > n).any():
            bad = frames[(frames != np.round(frames)) | (frames < 1) | (frames > n)][0]
            raise ValueError(f"{where}: frames must be integers in [1, {n}] (1-based), got {bad:g}")
        if (ids != np.round(ids)).any() or (ids < 0).any() or (ids >= 2 ** 31).any():
            bad = ids[(ids != np.round(ids)) | (ids < 0) | (ids >= 2 ** 31)][0]
            raise ValueError(f"{where}: track ids must be integers in [0, 2^31), got {bad:g}")
        if (a[:, 4] < a[:, 2]).any() or (a[:, 5] < a[:, 3]).any():
            k = int(np.flatnonzero((a[:, 4] < a[:, 2]) | (a[:, 5] < a[:, 3]))[0])
            raise ValueError(f"{where}: row {k} is not a box with x2 >= x1 and y2 >= y1: {a[k, 2:].tolist()}")
        order = np.lexsort((ids, frames))
        pairs = a[order, :2]
        dup = (pairs[1:] == pairs[:-1]).all(axis=1)
        if dup.any():
            k = int(np.flatnonzero(dup)[0])
            raise ValueError(f"{where}: track id {pairs[k, 1]:g} appears twice in frame {pairs[k, 0]:g}")
        arrays.append(a)
    return arrays


def _colour(track_id: int) -> str:
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = (_hsv(hue, 0.75, 0.85))
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def tracks_svg(pred: np.ndarray, gt: np.ndarray, image_size: tuple[int, int], frames: list[int],
               title: str = "") -> str:
    """Panels of the given frames: ground truth dashed grey, predictions coloured by track id."""
    height, width = image_size
    scale = 200.0 / max(width, 1)
    pw, ph, gap, top = width * scale, height * scale, 12.0, 18.0
    total_w = len(frames) * pw + (len(frames) - 1) * gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w:.0f} {ph + top + 4:.0f}" '
             f'role="img" aria-label="{html.escape(title)}">']
    for k, f in enumerate(frames):
        x0 = k * (pw + gap)
        parts.append(f'<text x="{x0:.1f}" y="12">frame {f}</text>')
        parts.append(f'<rect x="{x0:.1f}" y="{top:.1f}" width="{pw:.1f}" height="{ph:.1f}" '
                     f'fill="#f6f8fa" stroke="#888" stroke-width="0.5"/>')
        for row in gt[gt[:, 0] == f]:
            x1, y1, x2, y2 = row[2:] * scale
            parts.append(f'<rect x="{x0 + x1:.1f}" y="{top + y1:.1f}" width="{x2 - x1:.1f}" '
                         f'height="{y2 - y1:.1f}" fill="none" stroke="#999" stroke-width="0.8" '
                         f'stroke-dasharray="2 2"/>')
        for row in pred[pred[:, 0] == f]:
            tid = int(row[1])
            x1, y1, x2, y2 = np.clip(row[2:] * scale, -1e4, 1e4)
            colour = _colour(tid)
            parts.append(f'<rect x="{x0 + x1:.1f}" y="{top + y1:.1f}" width="{max(x2 - x1, 0):.1f}" '
                         f'height="{max(y2 - y1, 0):.1f}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
            parts.append(f'<text x="{x0 + x1 + 1:.1f}" y="{top + y1 + 8:.1f}" style="font-size:8px" '
                         f'fill="{colour}">{tid}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt(x: float) -> float | str:
    return "nan" if math.isnan(x) else round(float(x), 4)


def _evaluate(outputs: list, targets: list, figure: bool) -> tuple[dict, dict]:
    preds = validate_outputs(outputs, targets)
    evaluated = evaluate_mot_many([(t["gt"], p) for p, t in zip(preds, targets)], IOU_THRESHOLD)
    parts, combined = evaluated["sequences"], evaluated["overall"]  # combined: for the report columns only
    keys = ("num_objects", "num_predictions", "num_matches", "num_switches", "num_false_positives",
            "num_misses", "idtp")
    total = {k: sum(p[k] for p in parts) for k in keys}
    detected = total["num_matches"] + total["num_switches"]
    g, p = total["num_objects"], total["num_predictions"]
    motp_sum = sum(x["motp"] * (x["num_matches"] + x["num_switches"]) for x in parts
                   if x["num_matches"] + x["num_switches"] > 0)
    overall = {
        **total,
        "mota": 1.0 - (total["num_misses"] + total["num_switches"] + total["num_false_positives"]) / g,
        "idf1": 2 * total["idtp"] / (g + p) if g + p else 0.0,
        "motp": motp_sum / detected if detected else float("nan"),
    }
    # reported, not graded: HOTA and its parts (TrackEval's definitions; overall: sequences
    # combined as TrackEval does) and motmetrics' mostly tracked / partially / lost and fragmentations
    columns = ["sequence", "frames", "GT boxes", "predicted", "MOTA", "IDF1", "MOTP (1-IoU)", "FP", "FN", "ID sw.",
               "HOTA", "DetA", "AssA", "LocA", "MT", "PT", "ML", "Frag"]

    def extra(x: dict) -> list:
        return [_fmt(x["hota"]), _fmt(x["deta"]), _fmt(x["assa"]), _fmt(x["loca"]), x["mostly_tracked"],
                x["partially_tracked"], x["mostly_lost"], x["num_fragmentations"]]

    rows = [[t["name"], x["num_frames"], x["num_objects"], x["num_predictions"], _fmt(x["mota"]),
             _fmt(x["idf1"]), _fmt(x["motp"]), x["num_false_positives"], x["num_misses"], x["num_switches"],
             *extra(x)]
            for x, t in zip(parts, targets)]
    rows.append(["overall", sum(t["num_frames"] for t in targets), g, p, _fmt(overall["mota"]),
                 _fmt(overall["idf1"]), _fmt(overall["motp"]), total["num_false_positives"],
                 total["num_misses"], total["num_switches"], *extra(combined)])
    details = {
        "table": {"columns": columns, "rows": rows},
        "mota": _fmt(overall["mota"]),
        "idf1": _fmt(overall["idf1"]),
        "motp": _fmt(overall["motp"]),
        "id_switches": total["num_switches"],
        "false_positives": total["num_false_positives"],
        "misses": total["num_misses"],
        "iou_threshold": IOU_THRESHOLD,
    }
    if figure and targets:
        t0 = targets[0]
        n = t0["num_frames"]
        frames = sorted({max(1, round(n * q)) for q in (0.2, 0.4, 0.6, 0.8)})
        title = (f"{t0['name']}, frames {', '.join(map(str, frames))}: the submission's tracks coloured by "
                 f"id (grey dashes: ground truth)")
        details["figures"] = [{"title": title, "svg": tracks_svg(preds[0], t0["gt"], t0["image_size"], frames, title)}]
    return overall, details


def score_mota(outputs: list, targets: list) -> tuple[float, dict]:
    """MOTA over all held-out sequences (counts summed, as motmetrics' OVERALL row)."""
    overall, details = _evaluate(outputs, targets, figure=True)
    return float(overall["mota"]), details


def score_idf1(outputs: list, targets: list) -> tuple[float, dict]:
    """IDF1 over all held-out sequences (IDTP and box counts summed)."""
    overall, details = _evaluate(outputs, targets, figure=False)
    return float(overall["idf1"]), details
