"""cv3data: deterministic synthetic datasets and loaders for real formats.

Depends on numpy, torch and (for PNG files) Pillow only; never on the harness or a reference.
"""

from .coco import load_coco
from .scenes import SHAPE_NAMES, make_scenes, to_coco, write_coco

__all__ = ["SHAPE_NAMES", "load_coco", "make_scenes", "to_coco", "write_coco"]
