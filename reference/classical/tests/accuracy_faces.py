"""The Viola-Jones accuracy checks of the classical assignment (trusted side).

Data: scikit-image's bundled ``lfw_subset`` (100 faces, 100 non-faces, 25 x 25 grey), split by
``cv3data.faces.lfw_split`` into 70 + 70 training images (the only ones that enter the sandbox)
and 30 + 30 held-out images.

* ``train_data()`` -> the call ``train_face_detector(faces, nonfaces, seed=0,
  time_budget_s=TIME_BUDGET_S)`` on the training split.
* Classification (``classify_faces``): the 60 held-out images, each mirrored or not and given a
  brightness / contrast change ``a x + b`` drawn from the course key's seed (harness/secret.py),
  so the held-out inputs are not the public images pixel for pixel; labels stay here. Metric:
  accuracy.
* Detection (``detect_faces``): ``SCENES`` synthetic 96 x 128 scenes (``make_face_scenes``) made
  only of held-out faces and held-out non-face backgrounds, their seed from the course key.
  Metric: COCO AP at IoU 0.5 (``harness.metrics.coco.evaluate``, the pycocotools rules), one
  category "face". The report shows scenes with the ground truth (green) and the detections
  (red), as PNG pictures drawn here (``harness.reports.png.png_rgb``).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import torch
from harness.metrics.coco import evaluate
from harness.reports.png import png_rgb

__all__ = ["train_data", "classify_holdout", "classify_score", "scenes_holdout", "detect_score",
           "TIME_BUDGET_S", "SCENES"]

TIME_BUDGET_S = 60.0  # CPU seconds the student's training may use; the grader's wall-clock limit is larger
SCENES = 30
HEIGHT, WIDTH = 96, 128
EXAMPLES = 6
DRAW_SCORE = -1e30  # every returned detection is drawn (at most 100 per scene)
HOLDOUT_NAME = "classical-faces"


def heldout_seed() -> int:
    from harness.secret import heldout_seed as seed_of

    return seed_of(HOLDOUT_NAME)


def _split() -> dict[str, torch.Tensor]:
    from cv3data.faces import lfw_split

    return lfw_split()


def train_data() -> tuple[list, dict]:
    s = _split()
    return [s["train_faces"], s["train_nonfaces"]], {"seed": 0, "time_budget_s": TIME_BUDGET_S}


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


# ------------------------------------------------------------------------------ classification
def classify_holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    s = _split()
    images = torch.cat([s["heldout_faces"], s["heldout_nonfaces"]]).double()  # [60, 25, 25]
    labels = torch.cat([torch.ones(s["heldout_faces"].shape[0]), torch.zeros(s["heldout_nonfaces"].shape[0])]).long()
    gen = torch.Generator().manual_seed((heldout_seed() if seed is None else seed) % (2**63))
    flip = torch.rand(images.shape[0], generator=gen) < 0.5
    a = 0.7 + 0.5 * torch.rand(images.shape[0], 1, 1, generator=gen, dtype=torch.float64)
    b = 0.15 * (torch.rand(images.shape[0], 1, 1, generator=gen, dtype=torch.float64) - 0.5)
    images = torch.where(flip[:, None, None], images.flip(-1), images)
    images = (a * (images - 0.5) + 0.5 + b).clamp(0, 1).float()
    return [([images], {})], {"labels": labels, "images": images}


def classify_score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(accuracy, details)`` of the ``classify_faces`` outputs; ``ValueError`` when malformed."""
    labels = targets["labels"]
    if type(outputs) is not list or len(outputs) != 1:
        raise ValueError(f"expected one result, got {_describe(outputs)}")
    pred = outputs[0]
    if type(pred) is not torch.Tensor or pred.dtype != torch.int64 or tuple(pred.shape) != tuple(labels.shape):
        raise ValueError(f"classify_faces must return an int64 Tensor[{labels.shape[0]}], got {_describe(pred)}")
    if bool(((pred != 0) & (pred != 1)).any()):
        raise ValueError("classify_faces must return 0 or 1")
    acc = float((pred == labels).double().mean())
    tpr = float(pred[labels == 1].double().mean())
    fpr = float(pred[labels == 0].double().mean())
    return acc, {"accuracy": round(acc, 6), "detection_rate": round(tpr, 6), "false_positive_rate": round(fpr, 6),
                 "images": int(labels.shape[0])}


# ----------------------------------------------------------------------------------- detection
def _coco(scenes: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
    gt: dict = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "face"}]}
    for i, (_, boxes) in enumerate(scenes):
        gt["images"].append({"id": i, "width": WIDTH, "height": HEIGHT})
        for x1, y1, x2, y2 in boxes.tolist():
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i, "category_id": 1,
                                      "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                      "iscrowd": 0})
    return gt


def scenes_holdout(seed: int | None = None, num_scenes: int = SCENES) -> tuple[list[tuple[list, dict]], dict]:
    from cv3data.faces import make_face_scenes

    s = _split()
    scenes = make_face_scenes(s["heldout_faces"], s["heldout_nonfaces"], num_scenes,
                              seed=(heldout_seed() if seed is None else seed) % (2**63), height=HEIGHT, width=WIDTH)
    calls = [([image], {}) for image, _ in scenes]
    return calls, {"coco": _coco(scenes), "images": [image for image, _ in scenes]}


def validate(outputs: Any, n_images: int) -> list[dict]:
    if type(outputs) is not list or len(outputs) != n_images:
        raise ValueError(f"expected {n_images} results, one per scene, got {_describe(outputs)}")
    out = []
    for i, det in enumerate(outputs):
        if type(det) is not dict or "boxes" not in det or "scores" not in det:
            raise ValueError(f"scene {i}: detect_faces must return a dict with 'boxes' and 'scores', "
                             f"got {_describe(det)}")
        boxes, scores = det["boxes"], det["scores"]
        if type(boxes) is not torch.Tensor or boxes.dtype != torch.float32 or boxes.dim() != 2 \
                or boxes.shape[1] != 4 or boxes.shape[0] > 100:
            raise ValueError(f"scene {i}: 'boxes' must be a float32 Tensor[D, 4] with D <= 100, got "
                             f"{_describe(boxes)}")
        if type(scores) is not torch.Tensor or scores.dtype != torch.float32 \
                or tuple(scores.shape) != (boxes.shape[0],):
            raise ValueError(f"scene {i}: 'scores' must be a float32 Tensor[{boxes.shape[0]}], got "
                             f"{_describe(scores)}")
        if not bool(torch.isfinite(boxes).all()) or not bool(torch.isfinite(scores).all()):
            raise ValueError(f"scene {i}: boxes and scores must be finite")
        out.append({"boxes": boxes.double(), "scores": scores.double()})
    return out


def detect_score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(AP@0.5, details)`` of the ``detect_faces`` outputs; details: AP (0.5:0.95), AP50,
    AP75, the number of detections and the figure (scenes with boxes, PNG)."""
    coco = targets["coco"]
    dets = validate(outputs, len(coco["images"]))
    results = []
    for i, d in enumerate(dets):
        for (x1, y1, x2, y2), s in zip(d["boxes"].tolist(), d["scores"].tolist(), strict=True):
            results.append({"image_id": i, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s})
    ev = evaluate(coco, results) if results else {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    ap50 = max(float(ev["AP50"]), 0.0)
    figure = _figure(targets["images"][:EXAMPLES], coco, dets[:EXAMPLES])
    return ap50, {"AP50": round(ap50, 6), "AP": round(max(float(ev["AP"]), 0.0), 6),
                  "AP75": round(max(float(ev["AP75"]), 0.0), 6), "scenes": len(dets),
                  "detections": len(results), "faces": len(coco["annotations"]), "figures": [figure]}


# ------------------------------------------------------------------------------------- figures
def _draw(rgb: np.ndarray, box: list[float], colour: tuple[int, int, int], zoom: int) -> None:
    h, w, _ = rgb.shape
    x1, y1, x2, y2 = (int(round(v * zoom)) for v in box)
    x1, x2 = max(0, min(w - 1, x1)), max(0, min(w - 1, x2 - 1))
    y1, y2 = max(0, min(h - 1, y1)), max(0, min(h - 1, y2 - 1))
    if x2 < x1 or y2 < y1:
        return
    rgb[y1, x1:x2 + 1] = colour
    rgb[y2, x1:x2 + 1] = colour
    rgb[y1:y2 + 1, x1] = colour
    rgb[y1:y2 + 1, x2] = colour


def scene_png(image: torch.Tensor, gt: list[list[float]], det: torch.Tensor, zoom: int = 3) -> bytes:
    """A PNG of a grey scene, ``zoom`` times larger, ground truth (``[x, y, w, h]``) in green and
    detections (``[D, 4]`` x1, y1, x2, y2) in red."""
    grey = (image.double().clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    grey = np.kron(grey, np.ones((zoom, zoom), dtype=np.uint8))
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    for x, y, w, h in gt:
        _draw(rgb, [x, y, x + w, y + h], (34, 197, 94), zoom)
    for box in det.tolist():
        _draw(rgb, box, (239, 68, 68), zoom)
    return png_rgb(rgb)


def _tile(png: bytes, title: str, width: int, height: int) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 8}" height="{height + 24}" '
            f'font-family="sans-serif"><g transform="translate(4,20)"><text x="0" y="-4" font-size="12">{title}</text>'
            f'<image width="{width}" height="{height}" style="image-rendering:pixelated" '
            f'href="data:image/png;base64,{data}"/></g></svg>')


def _figure(images: list[torch.Tensor], coco: dict, dets: list[dict]) -> dict:
    zoom = 3
    tiles, student_tiles = [], []
    for i, (img, det) in enumerate(zip(images, dets, strict=False)):
        gt = [a["bbox"] for a in coco["annotations"] if a["image_id"] == i]
        tiles.append(_tile(scene_png(img, gt, det["boxes"], zoom), f"held-out scene {i}", WIDTH * zoom, HEIGHT * zoom))
        student_tiles.append(_tile(scene_png(img, [], det["boxes"], zoom), f"held-out scene {i}",
                                   WIDTH * zoom, HEIGHT * zoom))
    return {"title": f"{len(tiles)} held-out scenes: faces and detections", "tiles": tiles,
            "student_tiles": student_tiles, "legend": "green: ground truth; red: every detection returned"}
