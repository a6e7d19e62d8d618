"""The DETR accuracy check of the transformers assignment (trusted side).

The grader's ``TinyDETR`` (transformers/detr_model.py) was trained on synthetic cv3data scenes by
``reference/transformers/detr_probe.py`` (10 CPU minutes, one thread); its float16 weights are
committed as ``detr_scenes.pt``. ``detr_weights()`` -> the call ``load_detector(state_dict)``,
which copies them into a TinyDETR built from the student's attention, multi-head attention and
encoder block; ``detr_holdout()`` -> batches of ``detect(images)`` on held-out scenes (64 x 64,
3 classes, up to 4 objects) drawn from the course key's seed (harness/secret.py); their boxes
never enter the sandbox. ``detr_score(outputs, targets)`` -> COCO mAP@0.5 (harness/metrics/coco.py)
plus the report's figure (predicted boxes on held-out scenes, PNG tiles).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import torch
from harness.metrics.coco import evaluate
from harness.reports.png import png_rgb

__all__ = ["detr_weights", "detr_holdout", "detr_score", "validate_detections", "WEIGHTS", "NUM_SCENES"]

WEIGHTS = Path(__file__).with_name("detr_scenes.pt")  # reference/transformers/detr_probe.py --save
NUM_CLASSES = 3
NUM_QUERIES = 12
IMAGE_SIZE = 64
NUM_SCENES = 256
BATCH_SIZE = 64
EXAMPLES = 8
DRAW_SCORE = 0.5
HOLDOUT_NAME = "transformers-detr"


def heldout_seed() -> int:
    from harness.secret import heldout_seed as seed_of

    return seed_of(HOLDOUT_NAME)


def detr_weights() -> tuple[list, dict]:
    """The call ``load_detector(state_dict)``: the committed float16 weights."""
    return [torch.load(WEIGHTS, map_location="cpu", weights_only=True)], {}


def scenes(seed: int, n: int = NUM_SCENES) -> list[dict]:
    from cv3data import make_scenes

    return make_scenes(n, seed=seed % (2**31), image_size=(IMAGE_SIZE, IMAGE_SIZE), num_classes=NUM_CLASSES,
                       max_objects=4)


def detr_holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    from cv3data import SHAPE_NAMES, to_coco

    held = scenes(heldout_seed() if seed is None else seed)
    images = torch.stack([s["image"].float() / 255 for s in held])  # [N, 3, 64, 64]
    calls = [([images[i:i + BATCH_SIZE]], {}) for i in range(0, len(held), BATCH_SIZE)]
    gt = to_coco(held, category_names=list(SHAPE_NAMES[:NUM_CLASSES]))
    return calls, {"coco": gt, "pixels": [s["image"] for s in held[:EXAMPLES]]}


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate_detections(outputs: Any, n_images: int) -> list[dict[str, torch.Tensor]]:
    """One ``{"scores", "labels", "boxes"}`` per image from the ``detect`` outputs, or
    ``ValueError`` naming the call and the problem."""
    if type(outputs) is not list:
        raise ValueError(f"expected one result per call, got {_describe(outputs)}")
    per_image, done = [], 0
    for c, out in enumerate(outputs):
        n = min(BATCH_SIZE, n_images - done)
        if type(out) is not dict or set(out) != {"scores", "labels", "boxes"}:
            raise ValueError(f"call {c}: detect must return a dict with 'scores', 'labels' and 'boxes', got "
                             f"{_describe(out) if type(out) is not dict else sorted(map(str, out))}")
        expect = {"scores": ((n, NUM_QUERIES), torch.float32), "labels": ((n, NUM_QUERIES), torch.int64),
                  "boxes": ((n, NUM_QUERIES, 4), torch.float32)}
        for key, (shape, dtype) in expect.items():
            v = out[key]
            if type(v) is not torch.Tensor or v.dtype != dtype or tuple(v.shape) != shape:
                raise ValueError(f"call {c}: '{key}' must be a {str(dtype).removeprefix('torch.')} "
                                 f"Tensor{list(shape)}, got {_describe(v)}")
            if v.is_floating_point() and not bool(torch.isfinite(v).all()):
                raise ValueError(f"call {c}: '{key}' holds nan or inf")
        if bool(((out["labels"] < 0) | (out["labels"] >= NUM_CLASSES)).any()):
            raise ValueError(f"call {c}: 'labels' must be in [0, {NUM_CLASSES})")
        for i in range(n):
            per_image.append({k: out[k][i] for k in ("scores", "labels", "boxes")})
        done += n
    if done != n_images:
        raise ValueError(f"detect was answered for {done} images, expected {n_images}")
    return per_image


def detr_score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(mAP@0.5, details)``: COCOeval on the held-out scenes (boxes clipped to the image)."""
    gt = targets["coco"]
    per_image = validate_detections(outputs, len(gt["images"]))
    dets = []
    for info, d in zip(gt["images"], per_image, strict=True):
        boxes = d["boxes"].double().clamp(0, IMAGE_SIZE)
        for (x1, y1, x2, y2), s, lb in zip(boxes.tolist(), d["scores"].tolist(), d["labels"].tolist(), strict=True):
            dets.append({"image_id": info["id"], "category_id": lb + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                         "score": s})
    m = evaluate({k: gt[k] for k in ("images", "annotations", "categories")}, dets)
    value = max(float(m["AP50"]), 0.0)
    names = {c["id"]: c["name"] for c in gt["categories"]}
    per_class = {names[k]: (None if v is None else round(float(v), 4)) for k, v in m["AP50_per_class"].items()}
    figure = _boxes_figure(targets["pixels"], gt, per_image[:EXAMPLES], names)
    return value, {"mAP@0.5": round(value, 6), "mAP@[.5:.95]": round(max(float(m["AP"]), 0.0), 6),
                   "AP50_per_class": per_class, "images": len(gt["images"]), "figures": [figure]}


# ------------------------------------------------------------------------------------ figures
def _boxes_figure(pixels: list[torch.Tensor], gt: dict, dets: list[dict], names: dict) -> dict:
    """One tile per held-out scene: ground truth in green and predictions (score >= 0.5) in red
    for the instructor; predictions only for a student view that may see them."""
    tiles, student_tiles = [], []
    for i, (img, det) in enumerate(zip(pixels, dets, strict=False)):
        info = gt["images"][i]
        anns = [a for a in gt["annotations"] if a["image_id"] == info["id"]]
        png = base64.b64encode(png_rgb(img.permute(1, 2, 0).numpy())).decode("ascii")
        tiles.append(_tile(png, info, anns, det, names))
        student_tiles.append(_tile(png, info, [], det, names))
    return {"title": f"DETR with your attention: predicted boxes on {len(tiles)} held-out scenes",
            "tiles": tiles, "student_tiles": student_tiles,
            "legend": f"green: ground truth; red: predictions with score >= {DRAW_SCORE} (no NMS)"}


def _tile(png: str, info: dict, anns: list[dict], det: dict, names: dict) -> str:
    zoom, pad = 3, 4
    w, h = info["width"] * zoom, info["height"] * zoom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 2 * pad}" height="{h + 2 * pad + 16}" '
             f'font-family="sans-serif"><g transform="translate({pad},{pad + 16})">',
             f'<text x="0" y="-4" font-size="12">held-out scene {info["id"]}</text>',
             f'<image width="{w}" height="{h}" style="image-rendering:pixelated" href="data:image/png;base64,{png}"/>']
    for ann in anns:
        bx, by, bw, bh = (v * zoom for v in ann["bbox"])
        parts.append(f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" fill="none" '
                     f'stroke="#22c55e" stroke-width="2"/>')
    for (x1, y1, x2, y2), s, c in zip(det["boxes"].tolist(), det["scores"].tolist(), det["labels"].tolist(),
                                      strict=True):
        if s < DRAW_SCORE:
            continue
        label = html.escape(f"{names.get(c + 1, c)} {s:.2f}")
        parts.append(f'<rect x="{x1 * zoom:.1f}" y="{y1 * zoom:.1f}" width="{(x2 - x1) * zoom:.1f}" '
                     f'height="{(y2 - y1) * zoom:.1f}" fill="none" stroke="#ef4444" stroke-width="1.5"/>')
        parts.append(f'<text x="{x1 * zoom + 2:.1f}" y="{y1 * zoom + 10:.1f}" font-size="9" fill="#ef4444" '
                     f'stroke="white" stroke-width="2" paint-order="stroke">{label}</text>')
    parts.append("</g></svg>")
    return "".join(parts)
