"""cv3data: deterministic synthetic datasets and loaders for real formats.

Depends on numpy, torch and (for PNG files) Pillow only; never on the harness or a reference.
"""

from .coco import load_coco
from .mot import (
    MOT_SPLIT_SEEDS,
    frame_detections,
    load_mot,
    load_mot_sequence,
    make_mot_split,
    make_sequence,
    write_mot,
    write_mot_sequence,
)
from .scenes import (
    DETECTION_SPLITS,
    SHAPE_NAMES,
    detection_split_seed,
    detection_splits,
    make_scenes,
    to_coco,
    write_coco,
)

__all__ = [
    "SHAPE_NAMES",
    "load_coco",
    "make_scenes",
    "to_coco",
    "write_coco",
    "DETECTION_SPLITS",
    "detection_split_seed",
    "detection_splits",
    "MOT_SPLIT_SEEDS",
    "make_sequence",
    "make_mot_split",
    "frame_detections",
    "write_mot_sequence",
    "write_mot",
    "load_mot_sequence",
    "load_mot",
]
