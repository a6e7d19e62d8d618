"""The CAM accuracy check of the semisup assignment (trusted side; never enters the sandbox).

Weak localisation: single digits pasted at random positions on 48x48 canvases
(``cv3data.ssl_digits.pasted_digits``; the positions of the held-out images come from the course
key). A small global-average-pooling CNN (``CamNet``), trained once on other digits by
``reference/semisup/train_cam.py`` and committed as ``cam_classifier.pt``, gives the last
feature maps (32 channels at 12x12) on the trusted side; the sandbox receives the features, the FC
weight and the true classes, and returns ``cam_masks(features, fc_weight, class_idx, (48, 48))``.
The score is the mean IoU of the masks with the pasted digit's 16x16 square, which the sandbox
never sees. Calibration: ``python reference/semisup/calibrate_cam.py`` (numbers in the manifest).
"""

from __future__ import annotations

import base64
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.reports.png import png_rgb
from harness.secret import heldout_seed

HOLDOUT_NAME = "semisup-cam"
SIZE = 48
BATCH = 100
EXAMPLES = 8
HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "cam_classifier.pt"


class CamNet(nn.Module):
    """conv-ReLU-pool x 2, conv-ReLU (32 x 12 x 12 features of a 48 x 48 image), global average pooling, FC."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).mean(dim=(2, 3)))


def load_classifier() -> CamNet:
    net = CamNet()
    net.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    return net.eval()


def box_masks(boxes: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """bool [N, size, size]: True inside each ``(x0, y0, x1, y1)`` box (exclusive ends)."""
    r = torch.arange(size)
    inside_y = (r[None, :] >= boxes[:, 1:2]) & (r[None, :] < boxes[:, 3:4])  # [N, size]
    inside_x = (r[None, :] >= boxes[:, 0:1]) & (r[None, :] < boxes[:, 2:3])
    return inside_y[:, :, None] & inside_x[:, None, :]


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    """``cam_masks`` calls in batches of ``BATCH`` held-out images, and the trusted targets."""
    from cv3data.ssl_digits import pasted_digits

    images, labels, boxes = pasted_digits("probe_test", heldout_seed(HOLDOUT_NAME) if seed is None else seed, SIZE)
    net = load_classifier()
    with torch.no_grad():
        features = net.body(images)
        predicted = net(images).argmax(1)
    weight = net.fc.weight.detach().clone()
    calls = [([features[i:i + BATCH].clone(), weight, labels[i:i + BATCH].clone(), (SIZE, SIZE)], {})
             for i in range(0, images.shape[0], BATCH)]
    return calls, {"images": images, "labels": labels, "boxes": boxes, "masks": box_masks(boxes),
                   "classifier_accuracy": float((predicted == labels).double().mean())}


def validate(outputs: Any, targets: dict) -> torch.Tensor:
    n = targets["labels"].shape[0]
    sizes = [min(BATCH, n - i) for i in range(0, n, BATCH)]
    if type(outputs) is not list or len(outputs) != len(sizes):
        raise ValueError(f"expected {len(sizes)} results (one per batch), got a {type(outputs).__name__}")
    for k, (out, m) in enumerate(zip(outputs, sizes)):
        if type(out) is not torch.Tensor or out.dtype != torch.bool or tuple(out.shape) != (m, SIZE, SIZE):
            got = (f"a Tensor{list(out.shape)} of {out.dtype}" if type(out) is torch.Tensor
                   else f"a {type(out).__name__}")
            raise ValueError(f"batch {k}: cam_masks must return a bool Tensor[{m}, {SIZE}, {SIZE}], got {got}")
    return torch.cat([o.detach().cpu() for o in outputs])


def ious(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    inter = (pred & truth).flatten(1).sum(1).double()
    union = (pred | truth).flatten(1).sum(1).double()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """(mean IoU of the masks with the digits' squares, details with a per-class table and
    example tiles) or ``ValueError``."""
    pred = validate(outputs, targets)
    iou = ious(pred, targets["masks"])
    labels = targets["labels"]
    rows = [[c, int((labels == c).sum()), round(float(iou[labels == c].mean()), 4)] for c in range(10)
            if bool((labels == c).any())]
    details = {
        "median_iou": round(statistics.median(iou.tolist()), 4),
        "share_iou_0.5": round(float((iou >= 0.5).double().mean()), 4),
        "mask_area": round(float(pred.flatten(1).double().mean()), 4),
        "classifier_accuracy": round(targets["classifier_accuracy"], 4),
        "table": {"columns": ["class", "images", "mean IoU"], "rows": rows},
        "figures": [examples(targets, pred, iou)],
    }
    return float(iou.mean()), details


# ---------------------------------------------------------------------------------- figures
def _tile(image: torch.Tensor, mask: torch.Tensor, box: torch.Tensor | None, caption: str) -> str:
    """A held-out image (grey) with the mask in red; the digit's square in green when given."""
    zoom, pad = 5, 4
    grey = (image[0].clamp(0, 1) * 255).to(torch.uint8)
    rgb = grey[:, :, None].repeat(1, 1, 3).numpy().astype(np.float64)
    m = mask.numpy()
    rgb[m] = 0.5 * rgb[m] + 0.5 * np.array([239.0, 68.0, 68.0])
    png = base64.b64encode(png_rgb(rgb.astype(np.uint8))).decode("ascii")
    w = SIZE * zoom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 2 * pad}" height="{w + 2 * pad + 16}" '
             f'font-family="sans-serif"><g transform="translate({pad},{pad + 16})">',
             f'<text x="0" y="-4" font-size="12">{caption}</text>',
             f'<image width="{w}" height="{w}" style="image-rendering:pixelated" href="data:image/png;base64,{png}"/>']
    if box is not None:
        x0, y0, x1, y1 = (int(v) * zoom for v in box.tolist())
        parts.append(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" stroke="#22c55e" '
                     f'stroke-width="2"/>')
    parts.append("</g></svg>")
    return "".join(parts)


def examples(targets: dict, pred: torch.Tensor, iou: torch.Tensor) -> dict:
    tiles, student_tiles = [], []
    for i in range(min(EXAMPLES, pred.shape[0])):
        caption = f"digit {int(targets['labels'][i])}, IoU {float(iou[i]):.2f}"
        tiles.append(_tile(targets["images"][i], pred[i], targets["boxes"][i], caption))
        student_tiles.append(_tile(targets["images"][i], pred[i], None, f"digit {int(targets['labels'][i])}"))
    return {"title": f"{len(tiles)} held-out images: CAM masks (red) and the digits' squares (green)",
            "tiles": tiles, "student_tiles": student_tiles,
            "legend": "red: your mask from the class activation map; green: the pasted digit's square"}
