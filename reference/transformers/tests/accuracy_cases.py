"""The classifier accuracy check of the transformers assignment (trusted side).

Data: scikit-learn's bundled digits (1797 images of 8 x 8 pixels, values 0..16), scaled to
[0, 1] and upsampled to 16 x 16 (``F.interpolate(mode="bilinear", align_corners=False)``). A
fixed split (seed 0) gives 1200 training and 597 held-out images. The held-out images are
moved by a random translation of -1, 0 or +1 pixel per axis drawn from the course key's seed
(harness/secret.py), so the held-out inputs are not the public digits pixel for pixel; their
labels never enter the sandbox.

``train_data()`` -> the call ``train(images, labels, seed=0, time_budget_s=...)``;
``pretrained_weights()`` -> the call ``load_pretrained(state_dict)`` with the committed weights
(``vit_digits.pt``, written by ``reference/transformers/train.py save``);
``holdout()`` -> batches of ``predict(images)``; ``score(outputs, targets)`` -> accuracy, plus
the report's figures (class-token attention maps over held-out images).

The DETR check (``detr_weights``, ``detr_holdout``, ``detr_score``) lives in detr_cases.py.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from harness.reports.png import png_rgb

__all__ = ["digits", "train_data", "pretrained_weights", "holdout", "score", "accuracy", "validate", "TRAIN_SIZE",
           "BATCH_SIZE", "PRETRAINED"]

TRAIN_SIZE = 1200
BATCH_SIZE = 128
IMAGE_SIZE = 16
NUM_CLASSES = 10
TIME_BUDGET_S = 150.0  # CPU seconds the student's train() may use; the grader's wall-clock limit is larger
EXAMPLES = 8
HOLDOUT_NAME = "transformers"
PRETRAINED = Path(__file__).with_name("vit_digits.pt")  # reference/transformers/train.py save


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1797 digits as float32 ``[N, 1, 16, 16]`` in [0, 1] and int64 labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # [N, 1, 8, 8]
    x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False).clamp(0, 1)
    return x, torch.tensor(d.target, dtype=torch.int64)


def split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    x, y = digits()
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    tr, te = perm[:TRAIN_SIZE], perm[TRAIN_SIZE:]
    return x[tr], y[tr], x[te], y[te]


def _translate(x: torch.Tensor, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed % (2**63))
    shifts = torch.randint(-1, 2, (x.shape[0], 2), generator=gen)
    padded = F.pad(x, (1, 1, 1, 1))
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        dy, dx = int(shifts[i, 0]) + 1, int(shifts[i, 1]) + 1
        out[i] = padded[i, :, dy:dy + IMAGE_SIZE, dx:dx + IMAGE_SIZE]
    return out


def heldout_seed() -> int:
    from harness.secret import heldout_seed as seed_of

    return seed_of(HOLDOUT_NAME)


def train_data() -> tuple[list, dict]:
    xtr, ytr, _, _ = split()
    return [xtr, ytr], {"seed": 0, "time_budget_s": TIME_BUDGET_S}


def pretrained_weights() -> tuple[list, dict]:
    """The call ``load_pretrained(state_dict)``: the committed ViT weights (float32)."""
    state = torch.load(PRETRAINED, map_location="cpu", weights_only=True)
    return [state], {}


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    _, _, xte, yte = split()
    xte = _translate(xte, heldout_seed() if seed is None else seed)
    calls = [([xte[i:i + BATCH_SIZE]], {}) for i in range(0, xte.shape[0], BATCH_SIZE)]
    return calls, {"labels": yte, "images": xte}


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def validate(outputs: Any, n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits [N, 10] float64, attention [N, g, g] float64) from the ``predict`` outputs, or
    ``ValueError`` naming the call and the problem."""
    if type(outputs) is not list:
        raise ValueError(f"expected one result per call, got {_describe(outputs)}")
    logits, maps = [], []
    done = 0
    for c, out in enumerate(outputs):
        expected = min(BATCH_SIZE, n_images - done)
        if type(out) is not dict or "logits" not in out or "attention" not in out:
            raise ValueError(f"call {c}: predict must return a dict with 'logits' and 'attention', got "
                             f"{_describe(out)}")
        lg, at = out["logits"], out["attention"]
        if type(lg) is not torch.Tensor or lg.dtype != torch.float32 or tuple(lg.shape) != (expected, NUM_CLASSES):
            raise ValueError(f"call {c}: 'logits' must be a float32 Tensor[{expected}, {NUM_CLASSES}], got "
                             f"{_describe(lg)}")
        if not bool(torch.isfinite(lg).all()):
            raise ValueError(f"call {c}: 'logits' holds nan or inf")
        if (type(at) is not torch.Tensor or at.dtype != torch.float32 or at.dim() != 3 or at.shape[0] != expected
                or at.shape[1] != at.shape[2] or at.shape[1] < 1 or at.shape[1] > IMAGE_SIZE):
            raise ValueError(f"call {c}: 'attention' must be a float32 Tensor[{expected}, g, g], got {_describe(at)}")
        if not bool(torch.isfinite(at).all()) or bool((at < -1e-6).any()) or bool((at > 1 + 1e-6).any()):
            raise ValueError(f"call {c}: 'attention' values must be finite and in [0, 1]")
        logits.append(lg.double())
        maps.append(at.double())
        done += expected
    if done != n_images:
        raise ValueError(f"predict was answered for {done} images, expected {n_images}")
    if len({m.shape[1] for m in maps}) > 1:
        raise ValueError("'attention' maps differ in size between calls")
    return torch.cat(logits), torch.cat(maps)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).double().mean())


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(accuracy, details)``; details: per-class accuracy and the attention figure."""
    labels = targets["labels"]
    logits, maps = validate(outputs, labels.shape[0])
    pred = logits.argmax(1)
    acc = accuracy(logits, labels)
    per_class = {str(k): round(float((pred[labels == k] == k).double().mean()), 4) for k in range(NUM_CLASSES)}
    figure = _attention_figure(targets["images"][:EXAMPLES], maps[:EXAMPLES], pred[:EXAMPLES], labels[:EXAMPLES])
    return acc, {"accuracy": round(acc, 6), "per_class": per_class, "images": int(labels.shape[0]),
                 "figures": [figure]}


# ------------------------------------------------------------------------------------ figures
def _png_gray(rgb: np.ndarray) -> bytes:
    """A PNG file of uint8 ``[H, W, 3]``."""
    return png_rgb(rgb)


def _overlay(image: torch.Tensor, amap: torch.Tensor) -> bytes:
    """The digit in grey with the attention map (upsampled, nearest) in red on top."""
    img = image[0].double().numpy()  # [16, 16]
    a = amap.double()
    a = (a / a.max()).numpy() if float(a.max()) > 0 else a.numpy()
    a = np.kron(a, np.ones((IMAGE_SIZE // a.shape[0], IMAGE_SIZE // a.shape[1]))) if IMAGE_SIZE % a.shape[0] == 0 \
        else np.resize(a, (IMAGE_SIZE, IMAGE_SIZE))
    rgb = np.stack([0.5 * img + 0.5 * a, 0.5 * img, 0.5 * img], axis=-1)
    rgb = np.kron(rgb, np.ones((8, 8, 1)))  # 128 x 128
    return _png_gray((rgb.clip(0, 1) * 255).astype(np.uint8))


def _attention_figure(images: torch.Tensor, maps: torch.Tensor, pred: torch.Tensor, labels: torch.Tensor) -> dict:
    """Tiles of held-out digits with the class token's attention (last block); the instructor
    tile names the prediction and the label, the student tile the prediction only."""
    tiles, student_tiles = [], []
    for i in range(images.shape[0]):
        png = base64.b64encode(_overlay(images[i], maps[i])).decode("ascii")
        for out, caption in ((tiles, f"pred {int(pred[i])} / label {int(labels[i])}"),
                             (student_tiles, f"pred {int(pred[i])}")):
            out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="136" height="152" font-family="sans-serif">'
                       f'<text x="4" y="12" font-size="11">{html.escape(caption)}</text>'
                       f'<image x="4" y="18" width="128" height="128" style="image-rendering:pixelated" '
                       f'href="data:image/png;base64,{png}"/></svg>')
    return {"title": f"class-token attention (last block, mean over heads) on {len(tiles)} held-out digits",
            "tiles": tiles, "student_tiles": student_tiles,
            "legend": "grey: the digit; red: where the class token attends (scaled to its maximum)"}
