"""Deterministic grayscale scenes with upright pedestrian-like figures, for HOG detectors.

Each scene is a float32 ``[H, W]`` image in ``[0, 1]``: a smooth background with noise, clutter
that is never annotated (bars, blobs, boxes, lines and upside-down figures, some of them
vertical and as tall as a figure), and up to ``max_objects`` figures of one rigid class. A figure is a head (ellipse), a
torso (rectangle), two arms and two legs (thin rectangles), upright, about twice as tall as
wide; its grey level is darker or lighter than its surroundings and carries a fine texture.
Figures do not overlap each other (their boxes are at least 2 pixels apart).

A box is the tight box of the figure's pixel mask in the torchvision convention: pixel
``(row, col)`` covers ``[col, col + 1] x [row, row + 1]`` (no +1); label 1 for every figure.

All randomness comes from ``numpy.random.default_rng(seed)``: the same arguments give the same
scenes, bit for bit, on every machine; the global RNGs of numpy and torch are never touched.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["HOG_IMAGE_SIZE", "HOG_OBJECT_HEIGHTS", "figure_mask", "make_hog_scenes", "hog_scene_split"]

HOG_IMAGE_SIZE = (96, 128)  # (H, W)
HOG_OBJECT_HEIGHTS = (30, 62)  # figure heights in pixels, drawn uniformly (inclusive)
_MAX_TRIES = 30


def figure_mask(height: int, rng: np.random.Generator) -> np.ndarray:
    """bool ``[height, width]`` mask of one upright figure, ``width ~ 0.45 * height``; the mask
    touches all four sides of its array (its tight box is the whole array)."""
    if height < 8:
        raise ValueError(f"height must be >= 8 pixels, got {height}")
    width = max(4, int(round(height * rng.uniform(0.40, 0.50))))
    ys = np.arange(height, dtype=np.float64)[:, None] + 0.5  # [h, 1]
    xs = np.arange(width, dtype=np.float64)[None, :] + 0.5  # [1, w]
    cx = width / 2.0
    head_r = height * rng.uniform(0.085, 0.105)
    head_cy = head_r
    mask = ((xs - cx) / (head_r * 0.9)) ** 2 + ((ys - head_cy) / head_r) ** 2 <= 1.0
    neck = 2.0 * head_r
    hip = height * rng.uniform(0.52, 0.58)
    torso_half = width * rng.uniform(0.22, 0.28)
    mask |= (np.abs(xs - cx) <= torso_half) & (ys >= neck * 0.95) & (ys <= hip)
    # arms hang from the shoulders to the hips, out to the sides of the array
    arm_w = max(1.0, width * 0.13)
    mask |= (xs <= arm_w) & (ys >= neck * 1.15) & (ys <= hip * rng.uniform(0.92, 1.0))
    mask |= (xs >= width - arm_w) & (ys >= neck * 1.15) & (ys <= hip * rng.uniform(0.92, 1.0))
    mask |= (xs <= arm_w + 1.0) & (xs >= arm_w - 0.5) & (ys >= neck * 1.1) & (ys <= neck * 1.4)
    mask |= (xs >= width - arm_w - 1.0) & (xs <= width - arm_w + 0.5) & (ys >= neck * 1.1) & (ys <= neck * 1.4)
    mask |= (np.abs(xs - cx) <= torso_half + arm_w) & (ys >= neck * 1.1) & (ys <= neck * 1.4)
    # legs, slightly apart, down to the bottom row
    leg_w = width * rng.uniform(0.14, 0.19)
    gap = width * rng.uniform(0.03, 0.10)
    mask |= (xs >= cx - gap - leg_w) & (xs <= cx - gap) & (ys >= hip * 0.98)
    mask |= (xs >= cx + gap) & (xs <= cx + gap + leg_w) & (ys >= hip * 0.98)
    return mask


def _background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    base = rng.uniform(0.25, 0.75)
    gy = np.linspace(0.0, 1.0, height)[:, None]
    gx = np.linspace(0.0, 1.0, width)[None, :]
    img = base + rng.uniform(-0.15, 0.15) * gy + rng.uniform(-0.15, 0.15) * gx
    return img + rng.normal(0.0, 0.02, size=(height, width))


def _clutter(img: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Unannotated distractors drawn in place: bars, blobs, boxes, lines, upside-down figures."""
    height, width = img.shape
    ys = np.arange(height)[:, None]
    xs = np.arange(width)[None, :]
    for _ in range(count):
        kind = rng.integers(0, 6)
        level = rng.uniform(0.0, 1.0)
        if kind == 5:  # an upside-down figure: the same edges as a figure, another layout
            h = int(rng.integers(26, 60))
            mask = figure_mask(h, rng)[::-1]
            w = mask.shape[1]
            y0, x0 = int(rng.integers(0, max(1, height - h))), int(rng.integers(0, max(1, width - w)))
            patch = img[y0:y0 + h, x0:x0 + w]
            patch[mask[:patch.shape[0], :patch.shape[1]]] = level
        elif kind == 0:  # a tall bar (pole), as tall as a figure
            h = rng.integers(20, 60)
            w = rng.integers(2, 9)
            y0, x0 = rng.integers(0, height - 10), rng.integers(0, width - 2)
            img[(ys >= y0) & (ys < y0 + h) & (xs >= x0) & (xs < x0 + w)] = level
        elif kind == 1:  # a blob
            r = rng.uniform(3, 12)
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            img[((ys - cy) / r) ** 2 + ((xs - cx) / (r * rng.uniform(0.6, 1.6))) ** 2 <= 1.0] = level
        elif kind == 2:  # an outlined box
            h, w = rng.integers(8, 40), rng.integers(8, 40)
            y0, x0 = rng.integers(-5, height - 5), rng.integers(-5, width - 5)
            inside = (ys >= y0) & (ys < y0 + h) & (xs >= x0) & (xs < x0 + w)
            inner = (ys >= y0 + 2) & (ys < y0 + h - 2) & (xs >= x0 + 2) & (xs < x0 + w - 2)
            img[inside & ~inner] = level
        elif kind == 3:  # a line segment
            x0, x1 = rng.uniform(0, width, size=2)
            y0, y1 = rng.uniform(0, height, size=2)
            t = np.linspace(0.0, 1.0, int(max(abs(x1 - x0), abs(y1 - y0))) + 2)
            cols = np.clip((x0 + t * (x1 - x0)).astype(int), 0, width - 1)
            rows = np.clip((y0 + t * (y1 - y0)).astype(int), 0, height - 1)
            img[rows, cols] = level
        else:  # a horizontal bar
            h, w = rng.integers(2, 7), rng.integers(15, 50)
            y0, x0 = rng.integers(0, height - 2), rng.integers(-10, width - 5)
            img[(ys >= y0) & (ys < y0 + h) & (xs >= x0) & (xs < x0 + w)] = level


def make_hog_scenes(num_images: int, seed: int, *, image_size: tuple[int, int] = HOG_IMAGE_SIZE,
                    max_objects: int = 3, min_objects: int = 0, clutter: tuple[int, int] = (3, 8),
                    heights: tuple[int, int] = HOG_OBJECT_HEIGHTS) -> list[dict]:
    """``num_images`` scenes, each ``{"image": float32 [H, W] in [0, 1], "boxes": float32 [K, 4],
    "labels": int64 [K] (all 1)}``; boxes are ``(x1, y1, x2, y2)`` tight boxes of the figures.

    Raises:
        ValueError: a negative count, ``min_objects > max_objects`` or heights that do not fit.
    """
    if num_images < 0:
        raise ValueError(f"num_images must be >= 0, got {num_images}")
    if not 0 <= min_objects <= max_objects:
        raise ValueError(f"need 0 <= min_objects <= max_objects, got {min_objects}, {max_objects}")
    height, width = int(image_size[0]), int(image_size[1])
    if not 8 <= heights[0] <= heights[1] <= height:
        raise ValueError(f"heights {tuple(heights)} must satisfy 8 <= low <= high <= image height {height}")
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(num_images):
        img = _background(height, width, rng)
        _clutter(img, rng, int(rng.integers(clutter[0], clutter[1] + 1)))
        boxes: list[list[float]] = []
        wanted = int(rng.integers(min_objects, max_objects + 1))
        for _ in range(wanted):
            for _ in range(_MAX_TRIES):
                h = int(rng.integers(heights[0], heights[1] + 1))
                mask = figure_mask(h, rng)
                w = mask.shape[1]
                if w > width:
                    continue
                y0, x0 = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
                box = [float(x0), float(y0), float(x0 + w), float(y0 + h)]
                if any(box[0] < b[2] + 2 and b[0] < box[2] + 2 and box[1] < b[3] + 2 and b[1] < box[3] + 2
                       for b in boxes):
                    continue
                patch = img[y0:y0 + h, x0:x0 + w]
                around = float(np.median(patch))
                contrast = rng.uniform(0.18, 0.4) * (1.0 if around < 0.5 else -1.0)
                if rng.random() < 0.2:  # sometimes the harder polarity
                    contrast = -contrast
                texture = rng.normal(0.0, 0.03, size=(h, w))
                patch[mask] = np.clip(around + contrast, 0.02, 0.98) + texture[mask]
                boxes.append(box)
                break
        img = np.clip(img, 0.0, 1.0).astype(np.float32)
        scenes.append({
            "image": torch.from_numpy(img),
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.ones(len(boxes), dtype=torch.int64),
        })
    return scenes


def hog_scene_split(name: str) -> tuple[int, dict]:
    """Public seeds and options of the named split: ``"train"`` (the training scenes the grader
    hands to the submission) or ``"val"`` (public validation scenes); held-out scenes are drawn
    by the grader from a private seed."""
    splits = {"train": (170, dict(num_images=160, min_objects=1)), "val": (171, dict(num_images=48))}
    if name not in splits:
        raise ValueError(f"unknown split {name!r}; known: {sorted(splits)}")
    return splits[name]
