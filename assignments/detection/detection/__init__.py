"""Object detection building blocks (course assignment ``detection``).

Boxes are ``(x1, y1, x2, y2)`` float tensors with no ``+1`` in widths (torchvision's convention).
"""

from .anchors import generate_anchors
from .ap import average_precision, coco_evaluate, match_detections, precision_recall_curve
from .boxes import batched_nms, box_iou, generalized_box_iou, nms
from .coder import decode_boxes, encode_boxes
from .losses import sigmoid_focal_loss
from .matching import anchor_labels, assign_anchor_targets, sample_balanced
from .roi import RoIAlign, roi_align, roi_pool

__all__ = [
    "box_iou",
    "generalized_box_iou",
    "nms",
    "batched_nms",
    "encode_boxes",
    "decode_boxes",
    "generate_anchors",
    "assign_anchor_targets",
    "anchor_labels",
    "sample_balanced",
    "roi_pool",
    "roi_align",
    "RoIAlign",
    "sigmoid_focal_loss",
    "match_detections",
    "precision_recall_curve",
    "average_precision",
    "coco_evaluate",
]
