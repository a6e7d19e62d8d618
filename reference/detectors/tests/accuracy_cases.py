"""The accuracy check of the detectors assignment (trusted side; never enters the sandbox).

``holdout()`` gives the held-out scenes as calls of ``predict`` (images only) and keeps their
ground truth; ``score(outputs, targets)`` validates what ``predict`` returned, then computes
COCO mAP with the harness' trusted evaluator (harness/metrics/coco.py: pycocotools' COCOeval
stats bit for bit, independent of the order of the images) and draws the report's figures.

Every malformed output raises ``ValueError`` with a message that names the image and the
problem (the grader then scores the check 0 and shows the message); nothing a submission
returns can crash the scorer.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
from typing import Any

import numpy as np
import torch

import cv3data
from harness.secret import heldout_seed
from harness.reports.png import png_rgb

__all__ = ["HOLDOUT_IMAGES", "holdout_scenes", "BATCH_SIZE", "holdout", "score", "coco_map", "validate"]

# The held-out scenes: the public generator (students have it) with a 128-bit seed derived from
# the course key (harness/secret.py), which never leaves the instructor's grading setup. The
# scenes are drawn like detection_splits' (64 x 64 pixels, 4 classes, up to 5 objects), but from
# make_scenes directly: detection_split_seed narrows a seed to 32 bits, few enough to search.
HOLDOUT_NAME = "detectors"
SCENE_OPTIONS = {"image_size": (64, 64), "num_classes": 4, "max_objects": 5}
HOLDOUT_IMAGES = 128
BATCH_SIZE = 8
NUM_CLASSES = 4
MAX_DETECTIONS = 100
BOX_TOLERANCE = 0.01  # pixels a box may stick out of the image (float rounding)
CATEGORY_NAMES = list(cv3data.SHAPE_NAMES[:NUM_CLASSES])
EXAMPLES = 4  # images drawn in the report
DRAW_SCORE = 0.3  # predictions drawn in the example images


def holdout_scenes() -> list[dict]:
    """The ``HOLDOUT_IMAGES`` held-out scenes, from the course key's seed for ``HOLDOUT_NAME``."""
    return cv3data.make_scenes(HOLDOUT_IMAGES, seed=heldout_seed(HOLDOUT_NAME), **SCENE_OPTIONS)


def holdout() -> tuple[list[tuple[list, dict]], dict]:
    """``calls``: batches of ``BATCH_SIZE`` float32 images in [0, 1] for ``predict(images)``;
    ``targets``: ``{"coco": ground truth in COCO form, "images": uint8 pixels}`` (trusted)."""
    scenes = holdout_scenes()
    calls = []
    for start in range(0, len(scenes), BATCH_SIZE):
        images = [s["image"].float() / 255.0 for s in scenes[start:start + BATCH_SIZE]]
        calls.append(([images], {}))
    targets = {"coco": cv3data.to_coco(scenes, category_names=CATEGORY_NAMES),
               "images": [s["image"] for s in scenes]}
    return calls, targets


# ---------------------------------------------------------------------------------- validation
def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__module__}.{type(x).__qualname__}" if type(x).__module__ != "builtins" \
        else f"a {type(x).__name__}"


def _check_image(i: int, det: Any, height: int, width: int, category_ids: set[int]) -> dict:
    where = f"image {i}"
    if type(det) is not dict:
        raise ValueError(f"{where}: expected a dict with 'boxes', 'scores' and 'labels', got {_describe(det)}")
    missing = [k for k in ("boxes", "scores", "labels") if k not in det]
    if missing:
        raise ValueError(f"{where}: the dict lacks {missing} (it has {sorted(map(str, det))[:10]})")
    boxes, scores, labels = det["boxes"], det["scores"], det["labels"]
    for name, t, dtype in (("boxes", boxes, torch.float32), ("scores", scores, torch.float32),
                           ("labels", labels, torch.int64)):
        if type(t) is not torch.Tensor:
            raise ValueError(f"{where}: '{name}' must be a plain torch.Tensor, got {_describe(t)}")
        if t.dtype != dtype:
            raise ValueError(f"{where}: '{name}' must have dtype {str(dtype).removeprefix('torch.')}, got "
                             f"{str(t.dtype).removeprefix('torch.')}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{where}: 'boxes' must have shape [D, 4], got {list(boxes.shape)}")
    d = boxes.shape[0]
    if tuple(scores.shape) != (d,) or tuple(labels.shape) != (d,):
        raise ValueError(f"{where}: 'scores' and 'labels' must have shape [D] = [{d}] like 'boxes', got "
                         f"{list(scores.shape)} and {list(labels.shape)}")
    if d > MAX_DETECTIONS:
        raise ValueError(f"{where}: {d} detections, at most {MAX_DETECTIONS} are allowed per image")
    boxes = boxes.detach().cpu().double()
    scores = scores.detach().cpu().double()
    labels = labels.detach().cpu()
    if not bool(torch.isfinite(boxes).all()):
        raise ValueError(f"{where}: 'boxes' holds nan or inf values")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError(f"{where}: 'scores' holds nan or inf values")
    tol = BOX_TOLERANCE
    x1, y1, x2, y2 = boxes.unbind(1)
    bad = (x1 < -tol) | (y1 < -tol) | (x2 > width + tol) | (y2 > height + tol) | (x2 < x1) | (y2 < y1)
    if bool(bad.any()):
        j = int(torch.nonzero(bad)[0, 0])
        raise ValueError(f"{where}: box {j} = {[round(v, 3) for v in boxes[j].tolist()]} is not a box "
                         f"(x1, y1, x2, y2) with 0 <= x1 <= x2 <= {width} and 0 <= y1 <= y2 <= {height}")
    unknown = sorted(set(labels.tolist()) - category_ids)
    if unknown:
        raise ValueError(f"{where}: labels {unknown[:5]} are not category ids; allowed: {sorted(category_ids)}")
    return {"boxes": boxes.clamp(min=0), "scores": scores, "labels": labels}


def _validate_flat(flat: list, coco: dict) -> list[dict]:
    images = coco["images"]
    if len(flat) != len(images):
        raise ValueError(f"predict returned {len(flat)} results for {len(images)} images")
    category_ids = {c["id"] for c in coco["categories"]}
    return [_check_image(i, det, images[i]["height"], images[i]["width"], category_ids)
            for i, det in enumerate(flat)]


def validate(outputs: Any, coco: dict) -> list[dict]:
    """Per-image detections (float64 boxes and scores, int64 labels, on the CPU) from the raw
    ``outputs`` of the ``predict`` calls, or ``ValueError`` naming the image and the problem."""
    images = coco["images"]
    if type(outputs) is not list:
        raise ValueError(f"expected one result per call, got {_describe(outputs)}")
    flat: list[Any] = []
    try:
        for b, batch in enumerate(outputs):
            if type(batch) not in (list, tuple):
                raise ValueError(f"call {b}: predict must return a list of dicts (one per image), "
                                 f"got {_describe(batch)}")
            expected = min(BATCH_SIZE, len(images) - len(flat))
            if len(batch) != expected:
                raise ValueError(f"call {b}: predict returned {len(batch)} results for {expected} images")
            flat.extend(batch)
        return _validate_flat(flat, coco)
    except ValueError:
        raise
    except Exception as e:  # noqa: BLE001 - hostile objects must not crash the scorer
        raise ValueError(f"the output of predict could not be read: {type(e).__name__}: {str(e)[:200]}") from None


# ---------------------------------------------------------------------------------- COCO mAP
def _coco_eval(detections: list[dict], coco: dict):
    """pycocotools COCOeval (bbox) of per-image detections; ``None`` when there are none."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = []
    for info, det in zip(coco["images"], detections, strict=True):
        for (x1, y1, x2, y2), s, c in zip(det["boxes"].tolist(), det["scores"].tolist(), det["labels"].tolist(),
                                          strict=True):
            results.append({"image_id": info["id"], "category_id": int(c), "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "score": float(s)})
    if not results:
        return None
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {k: coco[k] for k in ("images", "annotations", "categories")}
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _metrics(ev, coco: dict) -> dict:
    names = {c["id"]: c["name"] for c in coco["categories"]}
    if ev is None:
        return {"mAP": 0.0, "mAP50": 0.0, "AP50_per_class": {n: 0.0 for n in names.values()}, "pr": {}}
    precision = ev.eval["precision"]  # [T IoUs, R recalls, K classes, A areas, M maxDets]
    per_class, pr = {}, {}
    for k, cat_id in enumerate(ev.params.catIds):
        curve = precision[0, :, k, 0, -1]  # IoU 0.5, all areas, 100 detections
        valid = curve > -1
        per_class[names[cat_id]] = round(float(curve[valid].mean()), 6) if valid.any() else None
        pr[names[cat_id]] = [max(float(p), 0.0) for p in curve]
    return {"mAP": float(ev.stats[0]), "mAP50": float(ev.stats[1]), "AP50_per_class": per_class, "pr": pr}


def _trusted_metrics(detections: list[dict], coco: dict) -> dict:
    """:func:`_metrics` from the harness' COCO evaluator (harness/metrics/coco.py) instead of
    pycocotools: the same stats and curves, bit for bit."""
    from harness.metrics.coco import evaluate

    names = {c["id"]: c["name"] for c in coco["categories"]}
    results = []
    for info, det in zip(coco["images"], detections, strict=True):
        for (x1, y1, x2, y2), s, c in zip(det["boxes"].tolist(), det["scores"].tolist(), det["labels"].tolist(),
                                          strict=True):
            results.append({"image_id": info["id"], "category_id": int(c), "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "score": float(s)})
    if not results:
        return {"mAP": 0.0, "mAP50": 0.0, "AP50_per_class": {n: 0.0 for n in names.values()}, "pr": {}}
    ev = evaluate({k: coco[k] for k in ("images", "annotations", "categories")}, results)
    per_class, pr = {}, {}
    for k, cat_id in enumerate(ev["cat_ids"]):
        curve = ev["precision"][0, :, k, 0, -1]  # IoU 0.5, all areas, 100 detections
        ap = ev["AP50_per_class"][cat_id]
        per_class[names[cat_id]] = None if ap is None else round(ap, 6)
        pr[names[cat_id]] = [max(float(p), 0.0) for p in curve]
    return {"mAP": ev["AP"], "mAP50": ev["AP50"], "AP50_per_class": per_class, "pr": pr}


def coco_map(outputs: list[dict], scenes: list[dict]) -> dict:
    """mAP of per-image ``predict`` outputs on ``scenes`` (used by train.py), no figures."""
    coco = cv3data.to_coco(scenes, category_names=CATEGORY_NAMES)
    detections = _validate_flat(list(outputs), coco)
    m = _metrics(_coco_eval(detections, coco), coco)
    m.pop("pr")
    return m


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(mAP@0.5, details)`` of the outputs of the ``predict`` calls of :func:`holdout`.

    ``details``: ``mAP`` (0.5:0.95), ``mAP50``, ``AP50_per_class``, ``images``, ``detections``
    and ``figures`` (example images with boxes, PR curves per class; SVG).

    Raises:
        ValueError: the outputs are malformed (the message names the image and the problem).
    """
    coco = targets["coco"]
    detections = validate(outputs, coco)
    m = _trusted_metrics(detections, coco)
    figures = [_examples_svg(targets["images"][:EXAMPLES], coco, detections[:EXAMPLES]),
               _pr_svg(m["pr"], m["AP50_per_class"])]
    details = {"mAP": round(m["mAP"], 6), "mAP50": round(m["mAP50"], 6), "AP50_per_class": m["AP50_per_class"],
               "images": len(detections), "detections": sum(int(d["labels"].numel()) for d in detections),
               "figures": figures}
    return m["mAP50"], details


# ---------------------------------------------------------------------------------- figures
def _png(pixels: torch.Tensor) -> bytes:
    """A PNG file of uint8 ``Tensor[3, H, W]``."""
    return png_rgb(pixels.permute(1, 2, 0).numpy())


def _examples_svg(pixels: list[torch.Tensor], coco: dict, detections: list[dict]) -> dict:
    """One SVG tile per held-out image (tiles wrap on narrow screens): ground truth in green and
    predictions in red for the instructor; predictions only (``student_tiles``) for a student
    report whose policy shows held-out predictions."""
    names = {c["id"]: c["name"] for c in coco["categories"]}
    tiles, student_tiles = [], []
    for i, (img, det) in enumerate(zip(pixels, detections, strict=False)):
        info = coco["images"][i]
        anns = [a for a in coco["annotations"] if a["image_id"] == info["id"]]
        tiles.append(_tile(img, info, anns, det, names))
        student_tiles.append(_tile(img, info, [], det, names))
    legend = f"green: ground truth; red: predictions with score >= {DRAW_SCORE}"
    return {"title": f"{len(tiles)} held-out images: ground truth and predictions", "tiles": tiles,
            "student_tiles": student_tiles, "legend": legend}


def _tile(img: torch.Tensor, info: dict, anns: list[dict], det: dict, names: dict) -> str:
    zoom, pad = 4, 4
    w, h = info["width"] * zoom, info["height"] * zoom
    png = base64.b64encode(_png(img)).decode("ascii")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 2 * pad}" height="{h + 2 * pad + 16}" '
             f'font-family="sans-serif"><g transform="translate({pad},{pad + 16})">',
             f'<text x="0" y="-4" font-size="12">held-out image {info["id"]}</text>',
             f'<image width="{w}" height="{h}" style="image-rendering:pixelated" '
             f'href="data:image/png;base64,{png}"/>']
    for ann in anns:
        bx, by, bw, bh = (v * zoom for v in ann["bbox"])
        parts.append(f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" fill="none" '
                     f'stroke="#22c55e" stroke-width="2"/>')
    for (x1, y1, x2, y2), s, c in zip(det["boxes"].tolist(), det["scores"].tolist(), det["labels"].tolist(),
                                      strict=True):
        if s < DRAW_SCORE:
            continue
        label = html.escape(f"{names.get(c, c)} {s:.2f}")
        parts.append(f'<rect x="{x1 * zoom:.1f}" y="{y1 * zoom:.1f}" width="{(x2 - x1) * zoom:.1f}" '
                     f'height="{(y2 - y1) * zoom:.1f}" fill="none" stroke="#ef4444" stroke-width="1.5"/>')
        parts.append(f'<text x="{x1 * zoom + 2:.1f}" y="{y1 * zoom + 10:.1f}" font-size="9" fill="#ef4444" '
                     f'stroke="white" stroke-width="2" paint-order="stroke">{label}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def _pr_svg(curves: dict[str, list[float]], ap50: dict[str, float | None]) -> dict:
    width, height, left, top, size = 420, 300, 50, 20, 220
    colours = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"]
    recall = np.linspace(0.0, 1.0, 101)
    parts = [f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#888"/>']
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = left + t * size, top + (1 - t) * size
        parts.append(f'<text x="{x:.0f}" y="{top + size + 14}" font-size="10" text-anchor="middle">{t:g}</text>')
        parts.append(f'<text x="{left - 6}" y="{y + 3:.0f}" font-size="10" text-anchor="end">{t:g}</text>')
    parts.append(f'<text x="{left + size / 2}" y="{top + size + 30}" font-size="11" text-anchor="middle">recall</text>')
    parts.append(f'<text x="14" y="{top + size / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + size / 2})">precision</text>')
    for k, (name, curve) in enumerate(curves.items()):
        colour = colours[k % len(colours)]
        points = " ".join(f"{left + r * size:.1f},{top + (1 - p) * size:.1f}"
                          for r, p in zip(recall, curve, strict=True))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        ap = ap50.get(name)
        parts.append(f'<text x="{left + size + 12}" y="{top + 14 + 16 * k}" font-size="11" fill="{colour}">'
                     f'{html.escape(name)} (AP50 {"n/a" if ap is None else f"{ap:.2f}"})</text>')
    if not curves:
        parts.append(f'<text x="{left + size / 2}" y="{top + size / 2}" font-size="12" text-anchor="middle">'
                     f'no detections</text>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">'
           f'{"".join(parts)}</svg>')
    return {"title": "precision-recall per class at IoU 0.5 (COCOeval, 101 recall points)", "svg": svg}
