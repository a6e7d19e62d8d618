"""One-stage detectors' training targets and spatial transformers: affine_grid and grid_sample
by hand, an STN module and an STN digit classifier, YOLO v1 targets and loss, SSD default boxes,
matching, box coding, hard negative mining and the multibox loss."""

from .model import predict, train
from .ssd import (cxcywh_to_xyxy, default_boxes, hard_negative_mining, multibox_loss, ssd_decode, ssd_encode,
                  ssd_match, ssd_scales)
from .stn import SpatialTransformer, affine_grid, grid_sample
from .yolo import yolo_cell_index, yolo_decode, yolo_loss, yolo_targets

__all__ = [
    "affine_grid", "grid_sample", "SpatialTransformer",
    "yolo_cell_index", "yolo_decode", "yolo_targets", "yolo_loss",
    "ssd_scales", "default_boxes", "cxcywh_to_xyxy", "ssd_match", "ssd_encode", "ssd_decode",
    "hard_negative_mining", "multibox_loss",
    "train", "predict",
]
