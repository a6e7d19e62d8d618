"""Deterministic synthetic semantic-segmentation scenes, VOC-style palette PNGs and a loader.

Every scene is a small RGB image (a textured, noisy background) with a few filled shapes, one
shape kind per class: 1 disc, 2 square, 3 triangle (``SEG_CLASSES``; 0 is the background).
Later shapes hide earlier ones. The label map is exact (computed from the same geometry that
paints the pixels), and as in PASCAL VOC the pixels on the border between two labels are
"void" (``VOID = 255``): a 1-pixel band on both sides of every label boundary, ignored by the
loss and the metric.

Files follow the PASCAL VOC layout::

    root/JPEGImages/<id>.png                 RGB image (PNG, lossless, instead of VOC's JPEG)
    root/SegmentationClass/<id>.png          mode "P" palette PNG: pixel value = class index,
                                             255 = void, the VOC colour map as palette
    root/ImageSets/Segmentation/<split>.txt  one id per line

:func:`load_voc` reads such a folder (also a real VOC2012 tree: it looks for ``.jpg`` images
when there is no ``.png``). All randomness comes from ``numpy.random.default_rng(seed)``: the
same arguments give the same scenes, bit for bit; global RNGs are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "SEG_CLASSES",
    "VOID",
    "SEG_SPLIT_SEEDS",
    "voc_palette",
    "make_seg_scenes",
    "segmentation_split",
    "write_voc",
    "load_voc",
]

SEG_CLASSES = ("background", "disc", "square", "triangle")
VOID = 255
#: public seeds of the public splits (the grader's held-out split uses a secret seed)
SEG_SPLIT_SEEDS = {"train": 1201, "val": 1202}
_SPLIT_SIZES = {"train": 192, "val": 64}
# class colours: a hue per class, jittered per object (so colour helps but shape decides ties)
_CLASS_RGB = np.array([[0.0, 0.0, 0.0], [0.85, 0.30, 0.25], [0.25, 0.70, 0.30], [0.25, 0.40, 0.85]])


def voc_palette(n: int = 256) -> list[int]:
    """The PASCAL VOC colour map (bit-interleaved), ``3 * n`` ints: index 0 black, 1 dark red,
    2 dark green, 3 olive, ..., 255 (void) light beige."""
    pal = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal.extend([r, g, b])
    return pal


def _shape(kind: int, height: int, width: int, cy: float, cx: float, r: float, angle: float) -> np.ndarray:
    """bool[H, W]: disc (1), square (2) or triangle (3) of 'radius' r centred at (cy, cx)."""
    ys = np.arange(height, dtype=np.float64)[:, None] + 0.5 - cy  # [H, 1]
    xs = np.arange(width, dtype=np.float64)[None, :] + 0.5 - cx  # [1, W]
    if kind == 1:
        return ys ** 2 + xs ** 2 <= r ** 2
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * xs + sin * ys, -sin * xs + cos * ys  # rotated coordinates
    if kind == 2:
        half = r * 0.85
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # equilateral triangle: inside the three half-planes at distance r/2 from the centre
    inside = np.ones((height, width), dtype=bool)
    for k in range(3):
        a = angle + np.pi / 2 + 2 * np.pi * k / 3
        inside &= (np.cos(a) * xs + np.sin(a) * ys) <= r * 0.5
    return inside


def _background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """float[H, W, 3] in [0, 1]: two greyish random colours (low saturation, unlike the objects)
    mixed by oriented stripes of random period and angle."""
    ys = np.arange(height, dtype=np.float64)[:, None]
    xs = np.arange(width, dtype=np.float64)[None, :]
    theta = rng.uniform(0, np.pi)
    period = rng.uniform(4.0, 12.0)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(theta) * xs + np.sin(theta) * ys) / period)  # [H, W]
    c1 = rng.uniform(0.3, 0.7) + rng.uniform(-0.06, 0.06, size=3)
    c2 = rng.uniform(0.3, 0.7) + rng.uniform(-0.06, 0.06, size=3)
    return c1 * stripes[..., None] + c2 * (1 - stripes[..., None])


def _void_band(labels: np.ndarray) -> np.ndarray:
    """bool[H, W]: pixels with a 4-neighbour of another label (both sides of every boundary)."""
    band = np.zeros(labels.shape, dtype=bool)
    dv = labels[1:, :] != labels[:-1, :]
    dh = labels[:, 1:] != labels[:, :-1]
    band[1:, :] |= dv
    band[:-1, :] |= dv
    band[:, 1:] |= dh
    band[:, :-1] |= dh
    return band


def make_seg_scenes(
    n: int,
    *,
    seed: int,
    image_size: tuple[int, int] = (48, 48),
    max_objects: int = 4,
    noise: float = 0.06,
    void: bool = True,
) -> list[dict]:
    """``n`` scenes: ``{"image": uint8 Tensor[3, H, W], "mask": int64 Tensor[H, W]}``.

    Mask values: 0 background, 1..3 the classes of ``SEG_CLASSES``, ``VOID`` (255) on a
    1-pixel band on both sides of every label boundary (only when ``void``). Each scene holds 1
    to ``max_objects`` shapes of random class, size (radius 5 to 12 pixels at 48 x 48, scaled
    with the image), position, rotation and colour (a class hue plus jitter), over striped
    background texture (greyish stripes), plus Gaussian pixel noise of standard deviation ``noise``.

    Raises:
        ValueError: on a negative ``n``, an image side below 16 or ``max_objects`` < 1.
    """
    if type(n) is not int or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    height, width = (int(s) for s in image_size)
    if height < 16 or width < 16:
        raise ValueError(f"image_size must be at least (16, 16), got {tuple(image_size)!r}")
    if max_objects < 1:
        raise ValueError(f"max_objects must be >= 1, got {max_objects!r}")
    rng = np.random.default_rng(seed)
    scale = min(height, width) / 48.0
    scenes = []
    for _ in range(n):
        img = _background(height, width, rng)  # [H, W, 3]
        labels = np.zeros((height, width), dtype=np.int64)
        for _ in range(int(rng.integers(1, max_objects + 1))):
            kind = int(rng.integers(1, len(SEG_CLASSES)))
            r = rng.uniform(5.0, 12.0) * scale
            cy, cx = rng.uniform(0.15 * height, 0.85 * height), rng.uniform(0.15 * width, 0.85 * width)
            shape = _shape(kind, height, width, cy, cx, r, rng.uniform(0, 2 * np.pi))
            colour = np.clip(_CLASS_RGB[kind] + rng.normal(0.0, 0.08, size=3), 0.0, 1.0)
            shade = 1.0 + 0.15 * (np.arange(height)[:, None] - cy) / max(height, 1)  # soft gradient
            img[shape] = (colour[None, None, :] * shade[..., None] * np.ones((1, width, 1)))[shape]
            labels[shape] = kind
        img = np.clip(img + rng.normal(0.0, noise, size=img.shape), 0.0, 1.0)
        mask = labels.copy()
        if void:
            mask[_void_band(labels)] = VOID
        scenes.append({
            "image": torch.from_numpy(np.round(img * 255).astype(np.uint8)).permute(2, 0, 1).contiguous(),
            "mask": torch.from_numpy(mask),
        })
    return scenes


def segmentation_split(split: str = "train", *, seed: int | None = None, n: int | None = None,
                       **options) -> list[dict]:
    """A public split (``"train"``: 192 scenes, ``"val"``: 64) from ``SEG_SPLIT_SEEDS``, or any
    ``seed``/``n`` given explicitly; ``options`` go to :func:`make_seg_scenes`."""
    if split not in SEG_SPLIT_SEEDS:
        raise ValueError(f"split must be one of {sorted(SEG_SPLIT_SEEDS)}, got {split!r}")
    return make_seg_scenes(_SPLIT_SIZES[split] if n is None else n,
                           seed=SEG_SPLIT_SEEDS[split] if seed is None else seed, **options)


def write_voc(scenes: Sequence[dict], root: str | Path, *, split: str = "train") -> Path:
    """Write ``scenes`` as a VOC-style folder (see the module docstring); ids are
    ``f"{i:06d}"``. Returns ``root``."""
    from PIL import Image

    root = Path(root)
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (root / "SegmentationClass").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
    palette = voc_palette()
    ids = []
    for i, s in enumerate(scenes):
        name = f"{i:06d}"
        ids.append(name)
        Image.fromarray(s["image"].permute(1, 2, 0).numpy()).save(root / "JPEGImages" / f"{name}.png")
        mask = s["mask"].numpy()
        if mask.min() < 0 or mask.max() > 255:
            raise ValueError(f"scene {i}: mask values must lie in [0, 255], got [{mask.min()}, {mask.max()}]")
        png = Image.fromarray(mask.astype(np.uint8))  # mode "L"; putpalette makes it "P"
        png.putpalette(palette)
        png.save(root / "SegmentationClass" / f"{name}.png")
    (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{x}\n" for x in ids))
    return root


def load_voc(root: str | Path, split: str = "train") -> list[dict]:
    """Read a VOC-style folder: ``[{"id", "image": uint8 Tensor[3, H, W], "mask": int64
    Tensor[H, W]}]`` in the order of ``ImageSets/Segmentation/<split>.txt``.

    Masks must be palette ("P") or greyscale ("L") PNGs whose pixel values are class indices
    (255 void), as in VOC's ``SegmentationClass``.

    Raises:
        FileNotFoundError: the split list, an image or a mask is missing.
        ValueError: a mask is not a palette/greyscale PNG, or its size differs from its image's.
    """
    from PIL import Image

    root = Path(root)
    listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not listing.is_file():
        raise FileNotFoundError(f"no split list {listing}")
    out = []
    for name in (line.strip() for line in listing.read_text().splitlines()):
        if not name:
            continue
        image_path = root / "JPEGImages" / f"{name}.png"
        if not image_path.is_file():
            image_path = root / "JPEGImages" / f"{name}.jpg"
        mask_path = root / "SegmentationClass" / f"{name}.png"
        for p in (image_path, mask_path):
            if not p.is_file():
                raise FileNotFoundError(f"{p} is missing (listed in {listing})")
        with Image.open(image_path) as im:
            image = np.asarray(im.convert("RGB"))
        with Image.open(mask_path) as m:
            if m.mode not in ("P", "L"):
                raise ValueError(f"{mask_path}: mask mode must be 'P' (palette) or 'L', got {m.mode!r}")
            mask = np.asarray(m).astype(np.int64)
        if mask.shape != image.shape[:2]:
            raise ValueError(f"{mask_path}: mask size {mask.shape} differs from the image's {image.shape[:2]}")
        out.append({"id": name, "image": torch.from_numpy(image.copy()).permute(2, 0, 1).contiguous(),
                    "mask": torch.from_numpy(mask.copy())})
    return out
