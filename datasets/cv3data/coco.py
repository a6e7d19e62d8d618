"""Loader for COCO instances files (real COCO ``instances_*.json`` or what ``write_coco`` makes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

__all__ = ["load_coco"]


def load_coco(
    annotation_json: str | Path,
    image_dir: str | Path | None = None,
    *,
    include_crowd: bool = False,
) -> list[dict]:
    """Read a COCO instances file into one target dict per image, in the file's image order.

    Annotations with ``iscrowd == 1`` are skipped unless ``include_crowd``; boxes with zero or
    negative width or height are dropped (as torchvision's COCO reference does). Category ids
    are kept as they are in the file (real COCO ids are sparse, 1 to 90).

    Args:
        annotation_json (str | Path): path of the JSON file.
        image_dir (str | Path | None): folder holding the images; when given, every target
            also has ``image`` (uint8 Tensor[3, H, W], RGB) read with Pillow.

    Returns:
        list[dict]: ``image_id`` (int), ``file_name`` (str), ``boxes`` (float32 Tensor[G, 4],
        (x1, y1, x2, y2)), ``labels`` (int64 Tensor[G]) and, with ``image_dir``, ``image``.
    """
    with open(annotation_json) as f:
        coco = json.load(f)
    for key in ("images", "annotations"):
        if key not in coco:
            raise ValueError(f"{annotation_json} is not a COCO instances file: no {key!r} key")
    per_image: dict[int, list[dict]] = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        if ann.get("iscrowd", 0) and not include_crowd:
            continue
        if ann["image_id"] not in per_image:
            raise ValueError(f"annotation {ann.get('id')!r} refers to unknown image {ann['image_id']!r}")
        per_image[ann["image_id"]].append(ann)
    targets = []
    for img in coco["images"]:
        anns = per_image[img["id"]]
        xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float64).reshape(-1, 4)
        keep = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)  # [G]
        boxes = torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1)[keep]  # [G, 4] xyxy
        labels = torch.tensor([a["category_id"] for a in anns], dtype=torch.int64)[keep]  # [G]
        target = {
            "image_id": img["id"],
            "file_name": img["file_name"],
            "boxes": boxes.to(torch.float32),
            "labels": labels,
        }
        if image_dir is not None:
            from PIL import Image  # imported here: only reading pixels needs Pillow

            with Image.open(Path(image_dir) / img["file_name"]) as im:
                pixels = np.asarray(im.convert("RGB"))  # [H, W, 3] uint8
            target["image"] = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
        targets.append(target)
    return targets
