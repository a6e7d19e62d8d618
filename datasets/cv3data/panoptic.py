"""Synthetic panoptic scenes, written and read in the COCO panoptic format.

A scene is a small image split into *stuff* regions (sky above a wavy horizon, grass below, an
optional pond of water) with *things* on top (discs, boxes and triangles, which may occlude each
other), plus a few small unannotated clutter spots (void). The COCO panoptic format:

* ``<folder>/panoptic.json``: ``images``, ``annotations`` (one per image: ``image_id``,
  ``file_name`` of the PNG, ``segments_info`` = [{``id``, ``category_id``, ``area``, ``bbox``
  (x, y, w, h), ``iscrowd``}]) and ``categories`` ({``id``, ``name``, ``isthing``, ``color``});
* ``<folder>/panoptic/<name>.png``: RGB PNGs, segment id = R + 256 G + 256^2 B, 0 = void;
* ``<folder>/images/<name>.png``: the images.

``load_coco_panoptic`` reads such a folder (or a real COCO panoptic one: ``panoptic_val2017.json``
with its PNG folder) into per-image dicts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "PANOPTIC_CATEGORIES",
    "THING_IDS",
    "STUFF_IDS",
    "make_panoptic_scenes",
    "rgb_to_id",
    "id_to_rgb",
    "to_coco_panoptic",
    "write_coco_panoptic",
    "load_coco_panoptic",
    "panoptic_pairs",
    "instance_targets",
]

PANOPTIC_CATEGORIES = [
    {"id": 1, "name": "disc", "isthing": 1, "color": [220, 20, 60]},
    {"id": 2, "name": "box", "isthing": 1, "color": [0, 130, 200]},
    {"id": 3, "name": "triangle", "isthing": 1, "color": [255, 200, 0]},
    {"id": 4, "name": "sky", "isthing": 0, "color": [135, 206, 235]},
    {"id": 5, "name": "grass", "isthing": 0, "color": [60, 160, 60]},
    {"id": 6, "name": "water", "isthing": 0, "color": [20, 60, 140]},
]
THING_IDS = (1, 2, 3)
STUFF_IDS = (4, 5, 6)
_SKY, _GRASS, _WATER = STUFF_IDS
_MIN_AREA = 12  # pixels a thing keeps visible, else it is dropped
_THING_COLOURS = {1: (200, 40, 40), 2: (40, 40, 200), 3: (230, 200, 30)}


def _thing_mask(cat: int, h: int, w: int, height: int, width: int, y0: int, x0: int,
                rng: np.random.Generator) -> np.ndarray:
    ys = np.arange(height)[:, None] - y0 + 0.5  # [H, 1]
    xs = np.arange(width)[None, :] - x0 + 0.5  # [1, W]
    u, v = xs / w, ys / h
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    if cat == 1:  # disc (ellipse)
        shape = (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    elif cat == 2:  # box
        shape = np.ones_like(inside)
    else:  # triangle, apex on the top edge
        apex = rng.uniform(0.2, 0.8)
        shape = (u >= apex * (1 - v)) & (u <= apex + (1 - apex) * v)
    return inside & shape


def make_panoptic_scenes(
    num_images: int,
    *,
    seed: int,
    image_size: tuple[int, int] = (64, 64),
    max_things: int = 4,
    void_spots: int = 2,
) -> list[dict]:
    """Deterministic synthetic panoptic scenes.

    Args:
        num_images (int): how many scenes.
        seed (int): the seed (numpy ``default_rng``); the same seed gives the same scenes.
        image_size (tuple[int, int]): ``(H, W)``, each at least 16.
        max_things (int): at most this many things per image (1 to ``max_things``; occluded ones
            keeping fewer than 12 pixels are dropped).
        void_spots (int): at most this many unannotated 3 x 3 clutter spots (void).

    Returns:
        list[dict]: per scene ``image`` (uint8 Tensor[3, H, W]), ``segment_ids`` (int64
        Tensor[H, W], 0 = void) and ``segments`` (list of {``id``, ``category_id``, ``area``,
        ``bbox`` [x, y, w, h], ``iscrowd``: 0}, things first, in drawing order).
    """
    height, width = image_size
    if height < 16 or width < 16:
        raise ValueError(f"image_size must be at least (16, 16), got {image_size!r}")
    if num_images < 0 or max_things < 0 or void_spots < 0:
        raise ValueError("num_images, max_things and void_spots must be >= 0")
    rng = np.random.default_rng(seed)
    scenes = []
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(num_images):
        # stuff: sky above a wavy horizon, grass below, maybe a pond
        horizon = rng.uniform(0.3, 0.6) * height
        amp, freq, phase = rng.uniform(1, 4), rng.uniform(0.05, 0.2), rng.uniform(0, 2 * np.pi)
        cat = np.where(yy < horizon + amp * np.sin(freq * xx + phase), _SKY, _GRASS)
        if rng.random() < 0.6:
            cy, cx = rng.uniform(horizon + 6, height - 4), rng.uniform(0, width)
            ry, rx = rng.uniform(4, 9), rng.uniform(8, 20)
            cat = np.where(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1, _WATER, cat)
        img = np.zeros((height, width, 3))
        sky = np.array([110, 170, 230]) + rng.uniform(-20, 20, 3)
        grass = np.array([70, 150, 60]) + rng.uniform(-20, 20, 3)
        water = np.array([30, 70, 150]) + rng.uniform(-15, 15, 3)
        img[cat == _SKY] = sky
        img[cat == _GRASS] = grass + 12 * np.sin(0.9 * xx[cat == _GRASS, None] + 0.4 * yy[cat == _GRASS, None])
        img[cat == _WATER] = water
        ids = np.zeros((height, width), dtype=np.int64)
        for s in STUFF_IDS:
            ids[cat == s] = s * 1000
        # things, drawn in order (later ones on top)
        things = []
        for k in range(int(rng.integers(1, max_things + 1)) if max_things else 0):
            c = int(rng.choice(THING_IDS))
            h = int(rng.integers(height // 6, height // 2.5))
            w = int(rng.integers(width // 6, width // 2.5))
            y0, x0 = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
            m = _thing_mask(c, h, w, height, width, y0, x0, rng)
            sid = c * 1000 + k + 1
            ids[m] = sid
            colour = np.array(_THING_COLOURS[c]) + rng.uniform(-25, 25, 3)
            img[m] = colour
            things.append((sid, c))
        for _ in range(int(rng.integers(0, void_spots + 1))):
            cy, cx = int(rng.integers(0, height - 3)), int(rng.integers(0, width - 3))
            ids[cy:cy + 3, cx:cx + 3] = 0
            img[cy:cy + 3, cx:cx + 3] = rng.uniform(0, 255, 3)
        img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
        segments = []
        for sid, c in things + [(s * 1000, s) for s in STUFF_IDS]:
            m = ids == sid
            area = int(m.sum())
            if area == 0:
                continue
            if c in THING_IDS and area < _MIN_AREA:  # mostly hidden: its pixels show the stuff below
                ids[m] = cat[m] * 1000
                continue
            segments.append({"id": sid, "category_id": c, "area": area, "bbox": _bbox(m), "iscrowd": 0})
        # a dropped thing may have given pixels back to a stuff segment: recount the areas
        for seg in segments:
            m = ids == seg["id"]
            seg["area"], seg["bbox"] = int(m.sum()), _bbox(m)
        scenes.append({"image": torch.from_numpy(img).permute(2, 0, 1).contiguous(),
                       "segment_ids": torch.from_numpy(ids), "segments": segments})
    return scenes


def _bbox(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return [0, 0, 0, 0]
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def rgb_to_id(rgb: np.ndarray | torch.Tensor) -> torch.Tensor:
    """COCO panoptic ids of an RGB PNG's pixels: ``R + 256 G + 256^2 B``.

    Args:
        rgb (uint8 array or Tensor[H, W, 3]).

    Returns:
        Tensor[H, W]: int64 segment ids.
    """
    rgb = torch.as_tensor(np.array(rgb, copy=True)).long()
    if rgb.dim() != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb must have shape [H, W, 3], got {list(rgb.shape)}")
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def id_to_rgb(ids: torch.Tensor) -> np.ndarray:
    """The inverse of :func:`rgb_to_id`: uint8 ``[H, W, 3]`` from int ids in [0, 2^24)."""
    ids = torch.as_tensor(ids).long()
    if bool((ids < 0).any()) or bool((ids >= 256 ** 3).any()):
        raise ValueError("segment ids must lie in [0, 2^24)")
    return torch.stack([ids % 256, ids // 256 % 256, ids // 65536], dim=-1).numpy().astype(np.uint8)


def to_coco_panoptic(scenes: Sequence[dict]) -> dict:
    """The COCO panoptic JSON of ``scenes``: image ``i`` has id ``i + 1``, file names
    ``f"{i:06d}.png"`` (the same name for the image and its panoptic PNG)."""
    images, annotations = [], []
    for i, scene in enumerate(scenes):
        height, width = scene["segment_ids"].shape
        name = f"{i:06d}.png"
        images.append({"id": i + 1, "file_name": name, "height": int(height), "width": int(width)})
        annotations.append({"image_id": i + 1, "file_name": name,
                            "segments_info": [dict(s) for s in scene["segments"]]})
    return {"images": images, "annotations": annotations, "categories": [dict(c) for c in PANOPTIC_CATEGORIES]}


def write_coco_panoptic(folder: str | Path, scenes: Sequence[dict]) -> Path:
    """Write ``scenes`` as a COCO panoptic folder (``panoptic.json``, ``panoptic/``, ``images/``).

    Returns:
        Path: the path of ``panoptic.json``.
    """
    from PIL import Image  # only writing needs Pillow

    folder = Path(folder)
    (folder / "panoptic").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    coco = to_coco_panoptic(scenes)
    for scene, info in zip(scenes, coco["images"], strict=True):
        Image.fromarray(id_to_rgb(scene["segment_ids"])).save(folder / "panoptic" / info["file_name"])
        pixels = scene["image"].permute(1, 2, 0).contiguous().numpy()  # [H, W, 3] uint8
        Image.fromarray(pixels).save(folder / "images" / info["file_name"])
    path = folder / "panoptic.json"
    path.write_text(json.dumps(coco))
    return path


def load_coco_panoptic(
    annotation_json: str | Path,
    panoptic_dir: str | Path | None = None,
    image_dir: str | Path | None = None,
) -> list[dict]:
    """Read a COCO panoptic annotation file and its PNGs, one dict per image in file order.

    Args:
        annotation_json (str | Path): ``panoptic_*.json``.
        panoptic_dir (str | Path | None): folder of the panoptic PNGs (default: the JSON's folder
            joined with its stem, as COCO lays out ``panoptic_val2017.json`` and
            ``panoptic_val2017/``; ``panoptic/`` next to the JSON when that does not exist).
        image_dir (str | Path | None): folder of the images; when given each dict has ``image``
            (uint8 Tensor[3, H, W]); the image file has the annotation's name with the image
            entry's extension (COCO: ``.jpg`` images, ``.png`` annotations).

    Returns:
        list[dict]: ``image_id``, ``file_name``, ``height``, ``width``, ``segment_ids`` (int64
        Tensor[H, W], 0 = void) and ``segments`` (the file's ``segments_info``, each with
        ``isthing`` added from the categories), plus ``image`` when ``image_dir`` is given.

    Raises:
        ValueError: a PNG whose size differs from the image entry's, or a segment id of
            ``segments_info`` missing from its PNG.
    """
    from PIL import Image

    annotation_json = Path(annotation_json)
    data = json.loads(annotation_json.read_text())
    if panoptic_dir is None:
        panoptic_dir = annotation_json.parent / annotation_json.stem
        if not panoptic_dir.is_dir():
            panoptic_dir = annotation_json.parent / "panoptic"
    panoptic_dir = Path(panoptic_dir)
    isthing = {c["id"]: int(c.get("isthing", 0)) for c in data["categories"]}
    images = {img["id"]: img for img in data["images"]}
    out = []
    for ann in data["annotations"]:
        info = images[ann["image_id"]]
        with Image.open(panoptic_dir / ann["file_name"]) as im:
            ids = rgb_to_id(np.asarray(im.convert("RGB")))
        if tuple(ids.shape) != (info["height"], info["width"]):
            raise ValueError(f"{ann['file_name']}: PNG of size {list(ids.shape)}, the image entry says "
                             f"{[info['height'], info['width']]}")
        present = set(torch.unique(ids).tolist())
        segments = []
        for seg in ann["segments_info"]:
            if seg["id"] not in present:
                raise ValueError(f"{ann['file_name']}: segment {seg['id']} of segments_info is not in the PNG")
            segments.append({**seg, "isthing": isthing[seg["category_id"]]})
        item = {"image_id": ann["image_id"], "file_name": info["file_name"], "height": info["height"],
                "width": info["width"], "segment_ids": ids, "segments": segments}
        if image_dir is not None:
            name = Path(ann["file_name"]).with_suffix(Path(info["file_name"]).suffix).name
            with Image.open(Path(image_dir) / name) as im:
                item["image"] = torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1).contiguous()
        out.append(item)
    return out


def panoptic_pairs(segment_ids: torch.Tensor, segments: Sequence[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    """torchmetrics' ``(category, instance)`` format of one image, and its crowd mask.

    Void pixels (id 0, or ids not in ``segments``) get category 0 (void for PQ: no category has
    id 0); a thing's instance is its segment id, a stuff segment's instance is 0.

    Returns:
        tuple[Tensor[H, W, 2], Tensor[H, W]]: int64 pairs, bool crowd mask.
    """
    cat = torch.zeros_like(segment_ids, dtype=torch.int64)
    inst = torch.zeros_like(segment_ids, dtype=torch.int64)
    crowd = torch.zeros_like(segment_ids, dtype=torch.bool)
    for seg in segments:
        m = segment_ids == seg["id"]
        cat[m] = seg["category_id"]
        if seg["category_id"] in THING_IDS or seg.get("isthing", 0):
            inst[m] = seg["id"]
        if seg.get("iscrowd", 0):
            crowd |= m
    return torch.stack([cat, inst], dim=-1), crowd


def instance_targets(segment_ids: torch.Tensor, segments: Sequence[dict]) -> dict:
    """The things of one image as instance targets: ``masks`` (bool Tensor[G, H, W]), ``labels``
    (int64 Tensor[G]), ``boxes`` (float32 Tensor[G, 4], (x1, y1, x2, y2) of the mask's pixels,
    x2 = last column + 1) and ``semantic`` (int64 Tensor[H, W]: stuff category ids, 0 on things
    and void)."""
    things = [s for s in segments if s["category_id"] in THING_IDS or s.get("isthing", 0)]
    h, w = segment_ids.shape
    masks = torch.stack([segment_ids == s["id"] for s in things]) if things else torch.zeros(0, h, w, dtype=torch.bool)
    boxes = torch.tensor([[s["bbox"][0], s["bbox"][1], s["bbox"][0] + s["bbox"][2], s["bbox"][1] + s["bbox"][3]]
                          for s in things], dtype=torch.float32).reshape(-1, 4)
    semantic = torch.zeros(h, w, dtype=torch.int64)
    for s in segments:
        if s not in things:
            semantic[segment_ids == s["id"]] = s["category_id"]
    return {"masks": masks, "labels": torch.tensor([s["category_id"] for s in things], dtype=torch.int64),
            "boxes": boxes, "semantic": semantic}
