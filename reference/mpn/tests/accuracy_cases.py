"""Accuracy checks of the mpn assignment: IDF1 and MOTA of track_sequence on held-out sequences.

Trusted side only. ``data()`` makes the hidden split with a seed derived from the course key
(harness/secret.py; it never leaves the grading setup), sent to the
submission: per-frame detections and appearance features; kept here: the ground truth and the
IoU-tracker baseline's tracks). The scorers validate every output strictly (ValueError with
the reason, so a malformed output scores zero) and evaluate with harness.metrics.mot.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mpn_baselines import iou_tracker  # noqa: E402
from cv3data.mot import frame_detections, make_mot_split  # noqa: E402
from harness.metrics.mot import evaluate_mot_many  # noqa: E402
from harness.secret import heldout_seed  # noqa: E402

HOLDOUT_NAME = "mpn"  # the held-out seed is heldout_seed(HOLDOUT_NAME): 128 bits from the course key
NUM_SEQUENCES = 4
NUM_FRAMES = 150
MAX_ROWS_PER_DETECTION = 10  # an output larger than this many rows per detection is refused


@functools.lru_cache(maxsize=1)
def _split() -> tuple:
    seqs = make_mot_split("hidden", seed=heldout_seed(HOLDOUT_NAME), num_sequences=NUM_SEQUENCES, num_frames=NUM_FRAMES)
    cases = []
    for seq in seqs:
        dets, feats = frame_detections(seq)
        cases.append((seq["name"], seq["num_frames"], seq["gt"].float(), dets, feats))
    return tuple(cases)


def data():
    """``(calls, targets)``: one call ``track_sequence(detections, features)`` per sequence."""
    calls, targets = [], []
    for name, num_frames, gt, dets, feats in _split():
        calls.append(([dets, feats], {}))
        targets.append({"name": name, "num_frames": num_frames, "gt": gt,
                        "num_detections": sum(int(d.shape[0]) for d in dets),
                        "baseline": iou_tracker(dets)})
    return calls, targets


def validate(out, target: dict, index: int) -> torch.Tensor:
    """The output of one sequence, or ValueError saying what is wrong with it."""
    where = f"sequence {index + 1} ({target['name']})"
    if type(out) is not torch.Tensor:
        raise ValueError(f"{where}: track_sequence must return a torch.Tensor, got {type(out).__name__}")
    if out.dtype != torch.float32:
        raise ValueError(f"{where}: expected a float32 tensor, got {out.dtype}")
    if out.dim() != 2 or out.shape[1] != 6:
        raise ValueError(f"{where}: expected shape [M, 6] (frame, id, x1, y1, x2, y2), got {list(out.shape)}")
    limit = MAX_ROWS_PER_DETECTION * max(target["num_detections"], 1)
    if out.shape[0] > limit:
        raise ValueError(f"{where}: {out.shape[0]} rows for {target['num_detections']} detections "
                         f"(at most {limit} accepted)")
    if not bool(torch.isfinite(out).all()):
        raise ValueError(f"{where}: the output holds nan or inf")
    frames, ids = out[:, 0], out[:, 1]
    if not bool((frames == frames.round()).all()) or not bool((ids == ids.round()).all()):
        raise ValueError(f"{where}: frame numbers and ids must be integer-valued")
    if out.shape[0] and not bool(((frames >= 1) & (frames <= target["num_frames"])).all()):
        raise ValueError(f"{where}: frame numbers must be in [1, {target['num_frames']}] (1-based)")
    if not bool((ids >= 1).all()):
        raise ValueError(f"{where}: ids must be >= 1")
    if not bool(((out[:, 4] >= out[:, 2]) & (out[:, 5] >= out[:, 3])).all()):
        raise ValueError(f"{where}: boxes must be (x1, y1, x2, y2) with x2 >= x1 and y2 >= y1")
    keys = frames.double() * 1e7 + ids.double()
    if keys.unique().numel() != keys.numel():
        raise ValueError(f"{where}: an id appears more than once in a frame")
    return out.detach().clone()


def _bars(names: list, ours: list, base: list, title: str) -> str:
    """A small grouped bar chart (submission vs IoU tracker) as SVG."""
    w, h, pad = 60 * len(names) + 80, 170, 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="10">',
             f'<text x="4" y="12">{title}: submission (blue) vs IoU tracker (grey)</text>',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - 10}" y2="{h - pad}" stroke="black"/>']
    for k, (n, a, b) in enumerate(zip(names, ours, base)):
        x = pad + 10 + 60 * k
        for j, (v, colour) in enumerate(((a, "#3b6fb6"), (b, "#9a9a9a"))):
            v = max(0.0, min(1.0, float(v)))
            bh = v * (h - 2 * pad - 10)
            parts.append(f'<rect x="{x + 22 * j}" y="{h - pad - bh:.1f}" width="20" height="{bh:.1f}" '
                         f'fill="{colour}"/>')
            parts.append(f'<text x="{x + 22 * j}" y="{h - pad - bh - 2:.1f}">{v:.2f}</text>')
        parts.append(f'<text x="{x}" y="{h - pad + 12}">{n[-2:]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _score(outputs, targets, metric: str):
    if type(outputs) is not list or len(outputs) != len(targets):
        raise ValueError(f"expected {len(targets)} outputs (one per sequence), got "
                         f"{len(outputs) if isinstance(outputs, list) else type(outputs).__name__}")
    preds = [validate(o, t, i) for i, (o, t) in enumerate(zip(outputs, targets))]
    ours = evaluate_mot_many([(t["gt"], p) for t, p in zip(targets, preds)])
    base = evaluate_mot_many([(t["gt"], t["baseline"]) for t in targets], hota=False)

    def extra(x: dict) -> list:  # reported, not graded (HOTA as TrackEval, MT/PT/ML and Frag as motmetrics)
        return [round(x["hota"], 4), round(x["deta"], 4), round(x["assa"], 4), round(x["loca"], 4),
                x["mostly_tracked"], x["partially_tracked"], x["mostly_lost"], x["num_fragmentations"]]

    rows = []
    for t, s, b in zip(targets, ours["sequences"], base["sequences"]):
        rows.append([t["name"], round(s["idf1"], 4), round(s["mota"], 4), s["num_switches"],
                     s["num_false_positives"], s["num_misses"], round(b["idf1"], 4), round(b["mota"], 4), *extra(s)])
    o, b = ours["overall"], base["overall"]
    rows.append(["overall", round(o["idf1"], 4), round(o["mota"], 4), o["num_switches"],
                 o["num_false_positives"], o["num_misses"], round(b["idf1"], 4), round(b["mota"], 4), *extra(o)])
    details = {
        "table": {"columns": ["sequence", "IDF1", "MOTA", "ID switches", "false positives", "misses",
                              "IoU tracker IDF1", "IoU tracker MOTA", "HOTA", "DetA", "AssA", "LocA", "MT", "PT",
                              "ML", "Frag"], "rows": rows},
        "figures": [{"title": f"{metric.upper()} per sequence",
                     "svg": _bars([t["name"] for t in targets], [s[metric] for s in ours["sequences"]],
                                  [s[metric] for s in base["sequences"]], metric.upper())}],
        "iou_tracker_" + metric: round(b[metric], 4),
        "id_switches": int(o["num_switches"]),
    }
    return float(o[metric]), details


def score_idf1(outputs, targets):
    """Overall IDF1 over the hidden sequences."""
    return _score(outputs, targets, "idf1")


def score_mota(outputs, targets):
    """Overall MOTA over the hidden sequences."""
    return _score(outputs, targets, "mota")
