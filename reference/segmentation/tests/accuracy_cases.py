"""The accuracy check of the segmentation assignment (trusted side; never enters the sandbox).

Train-then-evaluate: ``training_data()`` gives the arguments of the submission's
``train(images, masks, ...)`` call (the public training split of ``cv3data.segscenes``, the
same scenes students have), the grader runs it inside the sandbox within the check's budget,
then sends batches of held-out scenes (from the course key's seed) to ``predict``. The labels
never enter the sandbox. ``score`` validates the outputs and computes the dataset-level mIoU
with the trusted metric (harness/metrics/segmentation.py), and draws the report's figures:
overlays of predicted masks on held-out images (instructor: image, ground truth, prediction;
student view, only where ``show_heldout_predictions`` allows it: image and prediction), a
per-class IoU table and the confusion matrix (instructor only).
"""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np
import torch

from cv3data.segscenes import SEG_CLASSES, VOID, make_seg_scenes, segmentation_split, voc_palette
from harness.metrics.segmentation import evaluate_segmentation
from harness.secret import heldout_seed
from harness.reports.png import png_rgb

__all__ = ["HOLDOUT_NAME", "HOLDOUT_IMAGES", "BATCH_SIZE", "TRAIN_BUDGET_S", "training_data", "holdout_scenes",
           "holdout", "score", "validate"]

HOLDOUT_NAME = "segmentation"
HOLDOUT_IMAGES = 96
BATCH_SIZE = 16
NUM_CLASSES = len(SEG_CLASSES)
#: seconds the submission's train() is told it may use (the check's train_timeout_s is larger)
TRAIN_BUDGET_S = 480.0
TRAIN_STEPS = 400
EXAMPLES = 6


def _stack(scenes: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.stack([s["image"] for s in scenes]).float() / 255.0  # [N, 3, H, W]
    masks = torch.stack([s["mask"] for s in scenes]).long()  # [N, H, W]
    return images, masks


def training_data() -> tuple[list, dict]:
    """``train(images, masks, num_classes=4, ignore_index=255, steps=400, seed=0,
    time_budget_s=480)`` on the public training split (192 scenes of 48 x 48)."""
    images, masks = _stack(segmentation_split("train"))
    return [images, masks], {"num_classes": NUM_CLASSES, "ignore_index": VOID, "steps": TRAIN_STEPS, "seed": 0,
                             "time_budget_s": TRAIN_BUDGET_S}


def holdout_scenes(seed: int | None = None) -> list[dict]:
    """The held-out scenes: the public generator with the course key's seed (or ``seed``)."""
    return make_seg_scenes(HOLDOUT_IMAGES, seed=heldout_seed(HOLDOUT_NAME) if seed is None else seed)


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    """``calls``: batches of ``BATCH_SIZE`` float32 images ``[B, 3, 48, 48]`` in [0, 1] for
    ``predict(images)``; ``targets``: ``{"masks": int64 [N, H, W], "images": uint8 [N, 3, H, W]}``."""
    scenes = holdout_scenes(seed)
    images, masks = _stack(scenes)
    calls = [([images[i:i + BATCH_SIZE]], {}) for i in range(0, len(scenes), BATCH_SIZE)]
    return calls, {"masks": masks, "images": torch.stack([s["image"] for s in scenes])}


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate(outputs: Any, masks: torch.Tensor) -> torch.Tensor:
    """The predictions as one int64 ``[N, H, W]`` tensor, or ``ValueError`` naming the batch and
    the problem (wrong type, dtype, shape, or a label outside ``[0, 4)``)."""
    if type(outputs) is not list:
        raise ValueError(f"expected one result per call, got {_describe(outputs)}")
    n, h, w = masks.shape
    calls = (n + BATCH_SIZE - 1) // BATCH_SIZE
    if len(outputs) != calls:
        raise ValueError(f"expected {calls} results of predict, got {len(outputs)}")
    preds = []
    for b, out in enumerate(outputs):
        expected = min(BATCH_SIZE, n - b * BATCH_SIZE)
        if type(out) is not torch.Tensor:
            raise ValueError(f"call {b}: predict must return a Tensor[B, H, W] of int64, got {_describe(out)}")
        if out.dtype != torch.int64:
            raise ValueError(f"call {b}: predict must return int64 labels, got {_describe(out)}")
        if tuple(out.shape) != (expected, h, w):
            raise ValueError(f"call {b}: expected shape {[expected, h, w]}, got {list(out.shape)}")
        out = out.detach().cpu()
        if out.numel() and (int(out.min()) < 0 or int(out.max()) >= NUM_CLASSES):
            raise ValueError(f"call {b}: labels must lie in [0, {NUM_CLASSES}), got values in "
                             f"[{int(out.min())}, {int(out.max())}]")
        preds.append(out)
    return torch.cat(preds)


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(mIoU, details)``: dataset-level mIoU (one confusion matrix over all held-out pixels,
    void pixels skipped). ``details``: pixel accuracy, the per-image mean IoU (the *other*
    convention, for comparison), a per-class IoU ``table`` and ``figures``.

    Raises:
        ValueError: malformed outputs (the message names the batch and the problem).
    """
    masks = targets["masks"]
    preds = validate(outputs, masks)
    s = evaluate_segmentation(zip(preds.numpy(), masks.numpy()), NUM_CLASSES, ignore_index=VOID)
    rows = [[name, "n/a" if v != v else f"{v:.4f}", int(s.confusion[c].sum()), int(s.confusion[:, c].sum())]
            for c, (name, v) in enumerate(zip(SEG_CLASSES, s.iou.tolist()))]
    table = {"title": "per-class IoU on held-out scenes (dataset-level confusion matrix)",
             "columns": ["class", "IoU", "true pixels", "predicted pixels"], "rows": rows}
    figures = [_overlays(targets["images"][:EXAMPLES], masks[:EXAMPLES], preds[:EXAMPLES]),
               _confusion_svg(s.confusion)]
    details = {"pixel_accuracy": round(s.pixel_accuracy, 6), "per_image_miou": round(s.per_image_miou, 6),
               "images": int(masks.shape[0]), "table": table, "figures": figures,
               "iou_per_class": {n: (None if v != v else round(v, 6)) for n, v in zip(SEG_CLASSES, s.iou.tolist())}}
    return s.miou, details


# ---------------------------------------------------------------------------------- figures
def _png(rgb: np.ndarray) -> bytes:
    """A PNG file of uint8 ``[H, W, 3]``."""
    return png_rgb(rgb)


_PALETTE = np.array(voc_palette(), dtype=np.uint8).reshape(256, 3)


def _overlay(image: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """The image with the label colours (VOC palette) blended in; background left as is."""
    img = image.permute(1, 2, 0).numpy().astype(np.float64)
    lab = labels.numpy()
    colour = _PALETTE[lab].astype(np.float64)
    alpha = np.where((lab > 0)[..., None], 0.6, 0.0)
    return np.clip(img * (1 - alpha) + colour * alpha, 0, 255).astype(np.uint8)


def _tile(panels: list[tuple[str, np.ndarray]], index: int) -> str:
    zoom, pad, gap = 3, 4, 6
    h, w = panels[0][1].shape[:2]
    width = len(panels) * (w * zoom + gap) + 2 * pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h * zoom + 2 * pad + 30}" '
             f'font-family="sans-serif"><text x="{pad}" y="12" font-size="11">held-out image {index}</text>']
    for k, (label, rgb) in enumerate(panels):
        x = pad + k * (w * zoom + gap)
        png = base64.b64encode(_png(rgb)).decode("ascii")
        parts.append(f'<image x="{x}" y="18" width="{w * zoom}" height="{h * zoom}" style="image-rendering:pixelated" '
                     f'href="data:image/png;base64,{png}"/>')
        parts.append(f'<text x="{x}" y="{h * zoom + 30}" font-size="10">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _overlays(images: torch.Tensor, masks: torch.Tensor, preds: torch.Tensor) -> dict:
    tiles, student_tiles = [], []
    for i in range(images.shape[0]):
        img = images[i]
        raw = img.permute(1, 2, 0).numpy()
        pred = _overlay(img, preds[i])
        truth = _overlay(img, masks[i])
        tiles.append(_tile([("image", raw), ("ground truth", truth), ("prediction", pred)], i))
        student_tiles.append(_tile([("image", raw), ("prediction", pred)], i))
    legend = ("VOC colours: " + ", ".join(f"{i} {n}" for i, n in enumerate(SEG_CLASSES[1:], start=1))
              + "; beige: void (not scored)")
    return {"title": f"{images.shape[0]} held-out images: predicted masks", "tiles": tiles,
            "student_tiles": student_tiles, "legend": legend}


def _confusion_svg(conf: np.ndarray) -> dict:
    c = conf.shape[0]
    cell, left, top = 56, 90, 40
    rows = conf.astype(np.float64) / np.maximum(conf.sum(1, keepdims=True), 1)
    parts = [f'<text x="{left}" y="14" font-size="11">predicted</text>']
    for j, name in enumerate(SEG_CLASSES):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 6}" font-size="10" text-anchor="middle">'
                     f'{html.escape(name)}</text>')
        parts.append(f'<text x="{left - 6}" y="{top + j * cell + cell / 2 + 4}" font-size="10" text-anchor="end">'
                     f'{html.escape(name)}</text>')
    for i in range(c):
        for j in range(c):
            v = rows[i, j]
            shade = int(255 - 200 * v)
            parts.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell}" height="{cell}" '
                         f'fill="rgb({shade},{shade},255)" stroke="#888"/>')
            parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2}" font-size="10" '
                         f'text-anchor="middle">{int(conf[i, j])}</text>')
            parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2 + 12}" '
                         f'font-size="9" text-anchor="middle" fill="#444">{v:.2f}</text>')
    width, height = left + c * cell + 10, top + c * cell + 24
    parts.append(f'<text x="4" y="{top + c * cell + 18}" font-size="10">'
                 'rows: true class (row-normalised shading)</text>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">'
           f'{"".join(parts)}</svg>')
    return {"title": "confusion matrix on held-out pixels (void skipped)", "svg": svg}
