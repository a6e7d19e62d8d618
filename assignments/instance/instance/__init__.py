"""Instance and panoptic segmentation: Mask R-CNN's mask head, PointRend, SOLOv2, Panoptic FPN
merging and panoptic quality."""

from .mask_head import mask_targets, maskrcnn_mask_loss, paste_masks
from .panoptic import panoptic_merge, panoptic_quality
from .pointrend import (point_sample, sample_training_points, subdivision_inference, uncertain_grid_points,
                        uncertainty)
from .predict import predict_panoptic
from .solo import dynamic_conv, matrix_nms

__all__ = [
    "mask_targets",
    "maskrcnn_mask_loss",
    "paste_masks",
    "point_sample",
    "uncertainty",
    "sample_training_points",
    "uncertain_grid_points",
    "subdivision_inference",
    "dynamic_conv",
    "matrix_nms",
    "panoptic_merge",
    "panoptic_quality",
    "predict_panoptic",
]
