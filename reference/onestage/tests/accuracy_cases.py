"""The STN classifier accuracy check of the onestage assignment (trusted side).

Data: scikit-learn's bundled digits (1797 images of 8 x 8 pixels, values 0..16), scaled to
[0, 1], upsampled to 16 x 16 (``F.interpolate(mode="bilinear", align_corners=False)``) and
placed at the centre of a 32 x 32 canvas, then moved by a random similarity transform: rotation
uniform in [-60, 60] degrees, scale uniform in [0.8, 1.1], shift uniform in [-0.35, 0.35] of the
half-canvas per axis (bilinear resampling with zero fill). A fixed split (seed 0) gives 1200
training and 597 held-out digits. The training transforms are fixed (seed 0); the held-out
ones come from the course key's seed (harness/secret.py), so the held-out inputs are not
public; their labels never enter the sandbox.

``train_data()`` -> the call ``train(images, labels, seed=0, time_budget_s=...)``;
``holdout()`` -> batches of ``predict(images)``; ``score(outputs, targets)`` -> accuracy, plus
the report's figure (held-out canvases and the STN's rectified crops, resampled here on the
trusted side from the returned ``theta``).
"""

from __future__ import annotations

import base64
import html
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from harness.reports.png import png_rgb

__all__ = ["digits", "canvas", "split", "train_data", "holdout", "score", "accuracy", "validate", "TRAIN_SIZE",
           "BATCH_SIZE"]

TRAIN_SIZE = 1200
BATCH_SIZE = 128
CANVAS = 32
CROP = 16
NUM_CLASSES = 10
TIME_BUDGET_S = 60.0  # CPU seconds the student's train() may use; the grader's wall-clock limit is larger
EXAMPLES = 8
HOLDOUT_NAME = "onestage"
MAX_ANGLE = math.radians(60)
SCALES = (0.8, 1.1)
MAX_SHIFT = 0.35


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1797 digits as float32 ``[N, 1, 16, 16]`` in [0, 1] and int64 labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # [N, 1, 8, 8]
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0, 1)
    return x, torch.tensor(d.target, dtype=torch.int64)


def canvas(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Digits ``[N, 1, 16, 16]`` -> canvases ``[N, 1, 32, 32]`` with a random similarity each."""
    n = x.shape[0]
    gen = torch.Generator().manual_seed(seed % (2**63))
    angle = (torch.rand(n, generator=gen, dtype=torch.float64) * 2 - 1) * MAX_ANGLE
    scale = SCALES[0] + torch.rand(n, generator=gen, dtype=torch.float64) * (SCALES[1] - SCALES[0])
    shift = (torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1) * MAX_SHIFT
    pad = (CANVAS - x.shape[-1]) // 2
    centred = F.pad(x, (pad, pad, pad, pad)).double()  # [N, 1, 32, 32]
    # output point p comes from source point A^-1 (p - t), A = scale * R(angle)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    inv = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)  # [N, 2, 2] = A^-1
    theta = torch.cat([inv, -(inv @ shift[:, :, None])], dim=2)  # [N, 2, 3]
    grid = F.affine_grid(theta, [n, 1, CANVAS, CANVAS], align_corners=False)
    return F.grid_sample(centred, grid, align_corners=False).clamp(0, 1).float()


def split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Untransformed 16 x 16 digits: (train images, train labels, held-out images, held-out labels)."""
    x, y = digits()
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    tr, te = perm[:TRAIN_SIZE], perm[TRAIN_SIZE:]
    return x[tr], y[tr], x[te], y[te]


def heldout_seed() -> int:
    from harness.secret import heldout_seed as seed_of

    return seed_of(HOLDOUT_NAME)


def train_data() -> tuple[list, dict]:
    xtr, ytr, _, _ = split()
    return [canvas(xtr, 0), ytr], {"seed": 0, "time_budget_s": TIME_BUDGET_S}


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    _, _, xte, yte = split()
    xte = canvas(xte, heldout_seed() if seed is None else seed)
    calls = [([xte[i:i + BATCH_SIZE]], {}) for i in range(0, xte.shape[0], BATCH_SIZE)]
    return calls, {"labels": yte, "images": xte}


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate(outputs: Any, n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits [N, 10] float64, theta [N, 2, 3] float64) from the ``predict`` outputs, or
    ``ValueError`` naming the call and the problem."""
    if type(outputs) is not list:
        raise ValueError(f"expected one result per call, got {_describe(outputs)}")
    logits, thetas = [], []
    done = 0
    for c, out in enumerate(outputs):
        expected = min(BATCH_SIZE, n_images - done)
        if type(out) is not dict or "logits" not in out or "theta" not in out:
            raise ValueError(f"call {c}: predict must return a dict with 'logits' and 'theta', got {_describe(out)}")
        lg, th = out["logits"], out["theta"]
        if type(lg) is not torch.Tensor or lg.dtype != torch.float32 or tuple(lg.shape) != (expected, NUM_CLASSES):
            raise ValueError(f"call {c}: 'logits' must be a float32 Tensor[{expected}, {NUM_CLASSES}], got "
                             f"{_describe(lg)}")
        if type(th) is not torch.Tensor or th.dtype != torch.float32 or tuple(th.shape) != (expected, 2, 3):
            raise ValueError(f"call {c}: 'theta' must be a float32 Tensor[{expected}, 2, 3], got {_describe(th)}")
        if not bool(torch.isfinite(lg).all()) or not bool(torch.isfinite(th).all()):
            raise ValueError(f"call {c}: 'logits' or 'theta' holds nan or inf")
        logits.append(lg.double())
        thetas.append(th.double())
        done += expected
    if done != n_images:
        raise ValueError(f"predict was answered for {done} images, expected {n_images}")
    return torch.cat(logits), torch.cat(thetas)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).double().mean())


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(accuracy, details)``; details: per-class accuracy and the rectification figure."""
    labels = targets["labels"]
    logits, theta = validate(outputs, labels.shape[0])
    pred = logits.argmax(1)
    acc = accuracy(logits, labels)
    per_class = {str(k): round(float((pred[labels == k] == k).double().mean()), 4) for k in range(NUM_CLASSES)}
    figure = _figure(targets["images"][:EXAMPLES], theta[:EXAMPLES], pred[:EXAMPLES], labels[:EXAMPLES])
    return acc, {"accuracy": round(acc, 6), "per_class": per_class, "images": int(labels.shape[0]),
                 "figures": [figure]}


# ------------------------------------------------------------------------------------ figures
def rectify(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """The STN's crops, resampled on the trusted side with PyTorch's own functions."""
    grid = F.affine_grid(theta.double(), [images.shape[0], 1, CROP, CROP], align_corners=False)
    return F.grid_sample(images.double(), grid, align_corners=False).clamp(0, 1)


def _tile(image: torch.Tensor, crop: torch.Tensor, theta: torch.Tensor) -> bytes:
    """The canvas (grey) with the sampled region outlined (red), beside the rectified crop."""
    img = image[0].double().numpy()  # [32, 32]
    rgb = np.stack([img, img, img], axis=-1)
    # the crop's border on the canvas: theta maps the crop's [-1, 1]^2 into canvas coordinates
    t = torch.linspace(-1, 1, 64, dtype=torch.float64)
    one = torch.ones_like(t)
    edges = torch.cat([torch.stack([t, -one], 1), torch.stack([t, one], 1), torch.stack([-one, t], 1),
                       torch.stack([one, t], 1)])  # [256, 2]
    pts = edges @ theta[:, :2].T + theta[:, 2]  # [256, 2] normalised (x, y)
    px = ((pts + 1) * CANVAS - 1) / 2
    for x, y in px.round().long().tolist():
        if 0 <= x < CANVAS and 0 <= y < CANVAS:
            rgb[y, x] = (1.0, 0.1, 0.1)
    big = np.kron(rgb, np.ones((4, 4, 1)))  # 128 x 128
    c = crop[0].numpy()
    c = np.kron(np.stack([c, c, c], axis=-1), np.ones((8, 8, 1)))  # 128 x 128
    gap = np.ones((128, 8, 3))
    return png_rgb((np.concatenate([big, gap, c], axis=1).clip(0, 1) * 255).astype(np.uint8))


def _figure(images: torch.Tensor, theta: torch.Tensor, pred: torch.Tensor, labels: torch.Tensor) -> dict:
    """Tiles of held-out canvases and their rectified crops; the instructor tile names the
    prediction and the label, the student tile the prediction only."""
    crops = rectify(images, theta)
    tiles, student_tiles = [], []
    for i in range(images.shape[0]):
        png = base64.b64encode(_tile(images[i], crops[i], theta[i])).decode("ascii")
        for out, caption in ((tiles, f"pred {int(pred[i])} / label {int(labels[i])}"),
                             (student_tiles, f"pred {int(pred[i])}")):
            out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="272" height="152" font-family="sans-serif">'
                       f'<text x="4" y="12" font-size="11">{html.escape(caption)}</text>'
                       f'<image x="4" y="18" width="264" height="128" style="image-rendering:pixelated" '
                       f'href="data:image/png;base64,{png}"/></svg>')
    return {"title": f"spatial transformer on {len(tiles)} held-out digits: canvas (the sampled region in red) "
                     "and the rectified 16 x 16 crop",
            "tiles": tiles, "student_tiles": student_tiles,
            "legend": "left: the held-out canvas with the STN's sampling region; right: the crop the classifier sees"}
