"""Deterministic synthetic detection scenes and their COCO form.

Every scene is a small RGB image with a cluttered background and a few filled shapes, one
shape kind per category (1: rectangle, 2: ellipse, 3: triangle, 4: diamond, 5: cross,
6: ring). Objects may overlap; a later object hides part of an earlier one, but every
object keeps at least ``MIN_VISIBLE`` of its pixels visible. A box is the tight box of the
object's full (amodal) pixel mask in the torchvision convention: pixel ``(row, col)`` covers
``[col, col + 1] x [row, row + 1]``, so ``x2 - x1`` is a width in pixels, no +1.

All randomness comes from ``numpy.random.default_rng(seed)``: the same arguments give the same
scenes, bit for bit, on every machine; the global RNGs of numpy and torch are never touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "DETECTION_SPLITS",
    "SHAPE_NAMES",
    "detection_split_seed",
    "detection_splits",
    "make_scenes",
    "to_coco",
    "write_coco",
]

SHAPE_NAMES = ("rectangle", "ellipse", "triangle", "diamond", "cross", "ring")
MIN_VISIBLE = 0.5  # fraction of an object's pixels that must stay visible
MIN_SIDE = 4  # pixels; smaller objects are redrawn
_MAX_TRIES = 20  # placement attempts per object before it is dropped


def _shape_mask(kind: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """bool[h, w] mask of one shape filling (most of) an h x w window."""
    ys = (np.arange(h, dtype=np.float64) + 0.5)[:, None] / h  # [h, 1] in (0, 1)
    xs = (np.arange(w, dtype=np.float64) + 0.5)[None, :] / w  # [1, w] in (0, 1)
    if kind == 0:  # rectangle
        return np.ones((h, w), dtype=bool)
    if kind == 1:  # ellipse
        return (xs - 0.5) ** 2 + (ys - 0.5) ** 2 <= 0.25
    if kind == 2:  # triangle: base at the bottom, apex somewhere on the top edge
        apex = rng.uniform(0.0, 1.0)
        left = xs >= apex * (1.0 - ys)  # edge from (0, 1) to (apex, 0)
        right = xs <= apex + (1.0 - apex) * ys  # edge from (apex, 0) to (1, 1)
        return np.broadcast_to(left & right, (h, w)).copy()
    if kind == 3:  # diamond
        return np.abs(xs - 0.5) + np.abs(ys - 0.5) <= 0.5
    if kind == 4:  # cross (plus sign)
        t = rng.uniform(0.18, 0.3)
        return (np.abs(xs - 0.5) <= t) | (np.abs(ys - 0.5) <= t)
    # ring
    r2 = (xs - 0.5) ** 2 + (ys - 0.5) ** 2
    return (r2 <= 0.25) & (r2 >= rng.uniform(0.05, 0.1))


def _background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """float[H, W, 3] background: a dim colour gradient, noise and unannotated clutter."""
    base = rng.uniform(30, 110, size=3)
    slope = rng.uniform(-30, 30, size=(2, 3))
    gy = np.linspace(0.0, 1.0, height)[:, None, None]
    gx = np.linspace(0.0, 1.0, width)[None, :, None]
    img = base + gy * slope[0] + gx * slope[1] + rng.normal(0.0, 6.0, size=(height, width, 3))
    # clutter: thin line segments and small dots, never annotated
    for _ in range(int(rng.integers(3, 9))):
        colour = rng.uniform(0, 255, size=3)
        if rng.random() < 0.5:
            x0, x1 = rng.uniform(0, width, size=2)
            y0, y1 = rng.uniform(0, height, size=2)
            t = np.linspace(0.0, 1.0, int(max(abs(x1 - x0), abs(y1 - y0))) + 2)
            cols = np.clip((x0 + t * (x1 - x0)).astype(int), 0, width - 1)
            rows = np.clip((y0 + t * (y1 - y0)).astype(int), 0, height - 1)
            img[rows, cols] = colour
        else:
            r = int(rng.integers(1, 3))
            cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
            img[max(cy - r, 0) : cy + r + 1, max(cx - r, 0) : cx + r + 1] = colour
    return img


def _object_colour(background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random colour that stands out from the mean background colour."""
    mean = background.reshape(-1, 3).mean(axis=0)
    colour = rng.uniform(0, 255, size=3)
    for _ in range(_MAX_TRIES):
        if np.abs(colour - mean).max() >= 70:
            break
        colour = rng.uniform(0, 255, size=3)
    return colour


def make_scenes(
    num_images: int,
    *,
    seed: int,
    image_size: tuple[int, int] = (128, 128),
    num_classes: int = 3,
    max_objects: int = 6,
) -> list[dict]:
    """Render ``num_images`` synthetic detection scenes.

    Args:
        num_images (int): number of scenes, >= 0.
        seed (int): seed of the scene generator; same seed, same scenes.
        image_size (tuple[int, int]): (height, width) in pixels, each >= 16.
        num_classes (int): number of categories, 1 to ``len(SHAPE_NAMES)``; category ``k``
            (1-based) is drawn as ``SHAPE_NAMES[k - 1]``.
        max_objects (int): at most this many objects per scene (at least 1 is drawn).

    Returns:
        list[dict]: one dict per scene with
            ``image`` (uint8 Tensor[3, H, W]): RGB pixels,
            ``boxes`` (float32 Tensor[G, 4]): (x1, y1, x2, y2) tight boxes, no +1,
            ``labels`` (int64 Tensor[G]): 1-based category ids.
    """
    if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 0:
        raise ValueError(f"num_images must be an int >= 0, got {num_images!r}")
    if len(image_size) != 2 or min(int(s) for s in image_size) < 16:
        raise ValueError(f"image_size must be (height, width) with both >= 16, got {image_size!r}")
    if not 1 <= num_classes <= len(SHAPE_NAMES):
        raise ValueError(f"num_classes must be in [1, {len(SHAPE_NAMES)}], got {num_classes!r}")
    if max_objects < 1:
        raise ValueError(f"max_objects must be >= 1, got {max_objects!r}")
    height, width = int(image_size[0]), int(image_size[1])
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(num_images):
        img = _background(height, width, rng)  # [H, W, 3] float
        owner = np.full((height, width), -1, dtype=np.int64)  # which object shows at a pixel
        areas: list[int] = []
        boxes: list[list[int]] = []
        labels: list[int] = []
        short = min(height, width)
        for _ in range(int(rng.integers(1, max_objects + 1))):
            for _ in range(_MAX_TRIES):
                label = int(rng.integers(1, num_classes + 1))
                h = int(rng.uniform(0.12, 0.5) * short)
                w = int(np.clip(h * rng.uniform(0.5, 2.0), MIN_SIDE, width - 1))
                h = max(h, MIN_SIDE)
                y0 = int(rng.integers(0, height - h + 1))
                x0 = int(rng.integers(0, width - w + 1))
                mask = _shape_mask(label - 1, h, w, rng)  # [h, w]
                rows, cols = np.nonzero(mask)
                if rows.size == 0 or np.ptp(rows) + 1 < MIN_SIDE or np.ptp(cols) + 1 < MIN_SIDE:
                    continue
                # would this object hide too much of one drawn before it?
                window = owner[y0 : y0 + h, x0 : x0 + w]
                hidden = np.bincount(window[mask & (window >= 0)], minlength=len(areas))
                visible = np.bincount(owner[owner >= 0], minlength=len(areas))
                if any(visible[k] - hidden[k] < MIN_VISIBLE * areas[k] for k in range(len(areas))):
                    continue
                colour = _object_colour(img, rng)
                shade = rng.uniform(0.85, 1.0, size=(h, w, 1))  # a little texture
                patch = img[y0 : y0 + h, x0 : x0 + w]
                patch[mask] = (colour * shade)[mask]
                window[mask] = len(areas)
                areas.append(int(mask.sum()))
                boxes.append([x0 + cols.min(), y0 + rows.min(), x0 + cols.max() + 1, y0 + rows.max() + 1])
                labels.append(label)
                break
        pixels = np.clip(np.rint(img), 0, 255).astype(np.uint8)  # [H, W, 3]
        scenes.append(
            {
                "image": torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))),
                "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor(labels, dtype=torch.int64),
            }
        )
    return scenes


DETECTION_SPLITS = ("train", "val", "test")


def detection_split_seed(seed: int, split: str) -> int:
    """The scene seed of one split: distinct for every (seed, split), derived with
    ``numpy.random.SeedSequence([seed, index of split])`` so no two splits share scenes."""
    if split not in DETECTION_SPLITS:
        raise ValueError(f"split must be one of {DETECTION_SPLITS}, got {split!r}")
    return int(np.random.SeedSequence([int(seed), DETECTION_SPLITS.index(split)]).generate_state(1)[0])


def detection_splits(
    seed: int = 0,
    *,
    num_train: int = 2000,
    num_val: int = 200,
    num_test: int = 200,
    image_size: tuple[int, int] = (64, 64),
    num_classes: int = 4,
    max_objects: int = 5,
) -> dict[str, list[dict]]:
    """Train, validation and held-out test scenes for the detector assignments.

    Each split is ``make_scenes`` with its own seed (:func:`detection_split_seed`), so the splits never
    share a scene, a split does not depend on the sizes of the others, and the first ``n``
    scenes of a split are the same for every larger size. The defaults (64 x 64 pixels, 4
    classes: rectangle, ellipse, triangle, diamond; up to 5 objects with occlusion and clutter)
    are what a small detector learns on a CPU in minutes.

    Returns:
        dict[str, list[dict]]: ``{"train": [...], "val": [...], "test": [...]}``, scenes as
        :func:`make_scenes` returns them.
    """
    sizes = {"train": num_train, "val": num_val, "test": num_test}
    return {
        split: make_scenes(n, seed=detection_split_seed(seed, split), image_size=image_size,
                           num_classes=num_classes, max_objects=max_objects)
        for split, n in sizes.items()
    }


def _category_names(scenes: Sequence[dict], category_names: Sequence[str] | None) -> list[str]:
    if category_names is None:
        top = max((int(s["labels"].max()) for s in scenes if len(s["labels"])), default=1)
        return list(SHAPE_NAMES[: max(top, 1)])
    names = [str(n) for n in category_names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"category_names must be non-empty and unique, got {category_names!r}")
    return names


def to_coco(scenes: Sequence[dict], *, category_names: Sequence[str] | None = None) -> dict:
    """COCO instances dict of ``scenes``.

    Image ``i`` gets id ``i + 1`` and file name ``f"{i:06d}.png"``; annotation ids count from 1;
    ``bbox`` is ``[x, y, w, h]``, ``area`` is ``w * h``, ``iscrowd`` is 0. Category ``k``
    (1-based) is named ``category_names[k - 1]`` (default: the shape names).

    Raises:
        ValueError: a label outside ``[1, len(category_names)]``.
    """
    names = _category_names(scenes, category_names)
    images, annotations = [], []
    for i, scene in enumerate(scenes):
        _, height, width = scene["image"].shape
        images.append({"id": i + 1, "file_name": f"{i:06d}.png", "height": int(height), "width": int(width)})
        for box, label in zip(scene["boxes"].tolist(), scene["labels"].tolist(), strict=True):
            if not 1 <= label <= len(names):
                raise ValueError(f"scene {i} has label {label}, outside [1, {len(names)}] of category_names")
            x1, y1, x2, y2 = box
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": "cv3data synthetic scenes"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": k + 1, "name": n, "supercategory": "shape"} for k, n in enumerate(names)],
    }


def write_coco(
    folder: str | Path, scenes: Sequence[dict], *, category_names: Sequence[str] | None = None
) -> Path:
    """Write ``scenes`` as a COCO folder: ``folder/<file_name>.png`` and ``folder/annotations.json``.

    Returns:
        Path: the path of ``annotations.json``.
    """
    from PIL import Image  # imported here: only writing needs Pillow

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    coco = to_coco(scenes, category_names=category_names)
    for scene, info in zip(scenes, coco["images"], strict=True):
        pixels = scene["image"].permute(1, 2, 0).contiguous().numpy()  # [H, W, 3] uint8
        Image.fromarray(pixels).save(folder / info["file_name"])
    path = folder / "annotations.json"
    path.write_text(json.dumps(coco))
    return path
