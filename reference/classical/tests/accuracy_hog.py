"""The HOG + linear SVM detector's accuracy check (trusted side; never enters the sandbox).

Train-then-evaluate: the grader calls the submission's ``train_detector(images, boxes, seed=0,
time_budget_s=60)`` on the public training scenes (``cv3data.hogscenes.hog_scene_split("train")``:
160 scenes of 96 x 128 pixels, each with 1 to 3 figures), then ``detect(images)`` on held-out
scenes drawn from the same generator with a seed derived from the course key (their boxes never
enter the sandbox). The metric is COCO AP (IoU 0.50:0.05:0.95, 101 recall points, 100 detections)
from the trusted evaluator (harness/metrics/coco.py, pycocotools' numbers); AP50 and AR100 are
reported too. The report draws detections on held-out scenes (PNG via png_rgb).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import torch

from cv3data.hogscenes import hog_scene_split, make_hog_scenes
from harness.metrics.coco import evaluate
from harness.reports.png import png_rgb

__all__ = ["train_data", "holdout", "holdout_scenes", "score", "coco_ap", "validate", "HOLDOUT_IMAGES",
           "BATCH_SIZE", "TIME_BUDGET_S"]

HOLDOUT_NAME = "classical_hog"
HOLDOUT_IMAGES = 96
BATCH_SIZE = 16
TIME_BUDGET_S = 60.0  # CPU seconds the student's train_detector may use (the grader's wall-clock limit is larger)
MAX_DETECTIONS = 100
BOX_TOLERANCE = 0.5  # pixels a box may stick out of the image
EXAMPLES = 4
DRAW_SCORE = 0.0  # detections drawn in the example images (the SVM's decision value)
ZOOM = 3


def train_data() -> tuple[list, dict]:
    """The ``train_detector`` call: the public training scenes."""
    seed, options = hog_scene_split("train")
    scenes = make_hog_scenes(seed=seed, **options)
    return [[s["image"] for s in scenes], [s["boxes"] for s in scenes]], {"seed": 0, "time_budget_s": TIME_BUDGET_S}


def holdout_scenes(seed: int | None = None) -> list[dict]:
    if seed is None:
        from harness.secret import heldout_seed

        seed = heldout_seed(HOLDOUT_NAME)
    return make_hog_scenes(HOLDOUT_IMAGES, seed=seed)


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    """``calls``: batches of ``BATCH_SIZE`` float32 ``[H, W]`` images for ``detect(images)``;
    ``targets``: the COCO ground truth and the pixels (trusted side only)."""
    scenes = holdout_scenes(seed)
    calls = [([[s["image"] for s in scenes[i:i + BATCH_SIZE]]], {}) for i in range(0, len(scenes), BATCH_SIZE)]
    return calls, {"coco": to_coco(scenes), "images": [s["image"] for s in scenes]}


def to_coco(scenes: list[dict]) -> dict:
    images, annotations = [], []
    for i, s in enumerate(scenes):
        h, w = s["image"].shape
        images.append({"id": i + 1, "height": int(h), "width": int(w)})
        for x1, y1, x2, y2 in s["boxes"].tolist():
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": 1,
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "figure"}]}


# ---------------------------------------------------------------------------------- validation
def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate(outputs: Any, coco: dict) -> list[dict]:
    """Per-image ``{"boxes", "scores", "labels"}`` from the ``detect`` outputs (one list per
    call), or ``ValueError`` naming the image and the problem."""
    if type(outputs) is not list:
        raise ValueError(f"expected one result per call, got {_describe(outputs)}")
    flat = []
    for c, out in enumerate(outputs):
        if type(out) is not list:
            raise ValueError(f"call {c}: detect must return a list of dicts, got {_describe(out)}")
        flat.extend(out)
    infos = coco["images"]
    if len(flat) != len(infos):
        raise ValueError(f"detect answered for {len(flat)} images, expected {len(infos)}")
    dets = []
    for i, (det, info) in enumerate(zip(flat, infos)):
        where = f"image {i}"
        if type(det) is not dict or not {"boxes", "scores", "labels"} <= set(det):
            raise ValueError(f"{where}: expected a dict with 'boxes', 'scores' and 'labels', got {_describe(det)}")
        boxes, scores, labels = det["boxes"], det["scores"], det["labels"]
        if type(boxes) is not torch.Tensor or boxes.dtype != torch.float32 or boxes.dim() != 2 or boxes.shape[1] != 4:
            raise ValueError(f"{where}: 'boxes' must be a float32 Tensor[K, 4], got {_describe(boxes)}")
        k = boxes.shape[0]
        if type(scores) is not torch.Tensor or scores.dtype != torch.float32 or tuple(scores.shape) != (k,):
            raise ValueError(f"{where}: 'scores' must be a float32 Tensor[{k}], got {_describe(scores)}")
        if type(labels) is not torch.Tensor or labels.dtype != torch.int64 or tuple(labels.shape) != (k,):
            raise ValueError(f"{where}: 'labels' must be an int64 Tensor[{k}], got {_describe(labels)}")
        if k > MAX_DETECTIONS:
            raise ValueError(f"{where}: {k} detections, at most {MAX_DETECTIONS} allowed")
        if not bool(torch.isfinite(boxes).all()) or not bool(torch.isfinite(scores).all()):
            raise ValueError(f"{where}: boxes and scores must be finite")
        if k and bool((labels != 1).any()):
            raise ValueError(f"{where}: every label must be 1 (one class), got {sorted(set(labels.tolist()))[:5]}")
        h, w = info["height"], info["width"]
        if k and (bool((boxes[:, 2] < boxes[:, 0]).any()) or bool((boxes[:, 3] < boxes[:, 1]).any())):
            raise ValueError(f"{where}: boxes need x2 >= x1 and y2 >= y1")
        if k and (float(boxes[:, :2].min()) < -BOX_TOLERANCE or float(boxes[:, 2].max()) > w + BOX_TOLERANCE
                  or float(boxes[:, 3].max()) > h + BOX_TOLERANCE):
            raise ValueError(f"{where}: boxes must lie inside the {w} x {h} image")
        dets.append({"boxes": boxes.double(), "scores": scores.double(), "labels": labels})
    return dets


def coco_ap(dets: list[dict], coco: dict) -> dict:
    records = [{"image_id": i + 1, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s}
               for i, d in enumerate(dets)
               for (x1, y1, x2, y2), s in zip(d["boxes"].tolist(), d["scores"].tolist())]
    return evaluate(coco, records)


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(AP, details)``: COCO AP at IoU 0.50:0.95; details: AP50, AP75, AR100, counts, figure."""
    coco = targets["coco"]
    dets = validate(outputs, coco)
    r = coco_ap(dets, coco)
    figure = _examples(targets["images"][:EXAMPLES], coco, dets[:EXAMPLES])
    details = {"AP": round(r["AP"], 6), "AP50": round(r["AP50"], 6), "AP75": round(r["AP75"], 6),
               "AR100": round(r["AR100"], 6), "images": len(dets),
               "detections": sum(int(d["scores"].numel()) for d in dets), "figures": [figure]}
    return float(r["AP"]), details


# ---------------------------------------------------------------------------------- figures
def _draw(rgb: np.ndarray, box: list[float], colour: tuple[int, int, int]) -> None:
    h, w, _ = rgb.shape
    x1, y1, x2, y2 = (int(round(v * ZOOM)) for v in box)
    x1, x2 = max(0, min(x1, w - 1)), max(0, min(x2 - 1, w - 1))
    y1, y2 = max(0, min(y1, h - 1)), max(0, min(y2 - 1, h - 1))
    rgb[y1, x1:x2 + 1] = colour
    rgb[y2, x1:x2 + 1] = colour
    rgb[y1:y2 + 1, x1] = colour
    rgb[y1:y2 + 1, x2] = colour


def _png_tile(image: torch.Tensor, gt: list[list[float]], det: dict, title: str) -> str:
    grey = (image.clamp(0, 1).numpy() * 255).astype(np.uint8)
    rgb = np.kron(np.stack([grey] * 3, axis=-1), np.ones((ZOOM, ZOOM, 1), dtype=np.uint8))
    for box in gt:
        _draw(rgb, box, (34, 197, 94))
    for box, s in zip(det["boxes"].tolist(), det["scores"].tolist()):
        if s > DRAW_SCORE:
            _draw(rgb, box, (239, 68, 68))
    png = base64.b64encode(png_rgb(rgb)).decode("ascii")
    h, w, _ = rgb.shape
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 8}" height="{h + 24}" font-family="sans-serif">'
            f'<text x="4" y="14" font-size="12">{title}</text>'
            f'<image x="4" y="20" width="{w}" height="{h}" href="data:image/png;base64,{png}"/></svg>')


def _examples(images: list[torch.Tensor], coco: dict, dets: list[dict]) -> dict:
    tiles, student_tiles = [], []
    for i, (img, det) in enumerate(zip(images, dets)):
        gt = [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
              for a in coco["annotations"] if a["image_id"] == i + 1]
        tiles.append(_png_tile(img, gt, det, f"held-out scene {i + 1}"))
        student_tiles.append(_png_tile(img, [], det, f"held-out scene {i + 1}"))
    return {"title": f"{len(tiles)} held-out scenes: ground truth and detections", "tiles": tiles,
            "student_tiles": student_tiles,
            "legend": f"green: ground truth; red: detections with score > {DRAW_SCORE:g} (after NMS)"}
