"""Detector models (course assignment ``detectors``): FPN, Faster R-CNN parts, RetinaNet parts
and a whole detector graded by COCO mAP.

Boxes are ``(x1, y1, x2, y2)`` float tensors with no ``+1`` in widths (torchvision's convention).
"""

from .boxes import (
    batched_nms,
    box_iou,
    clip_boxes_to_image,
    decode_boxes,
    encode_boxes,
    nms,
    remove_small_boxes,
    roi_align,
)
from .fpn import FeaturePyramidNetwork, assign_fpn_levels, multiscale_roi_align
from .model import predict, train
from .retinanet import (
    RetinaNetClassificationHead,
    RetinaNetRegressionHead,
    retinanet_classification_loss,
    retinanet_postprocess,
    retinanet_regression_loss,
)
from .roi_heads import FastRCNNPredictor, TwoMLPHead, fastrcnn_loss, postprocess_detections
from .rpn import RPNHead, generate_proposals, rpn_loss

__all__ = [
    # helpers from the `detection` assignment (checked again under the tasks that use them)
    "box_iou",
    "nms",
    "batched_nms",
    "encode_boxes",
    "decode_boxes",
    "clip_boxes_to_image",
    "remove_small_boxes",
    "roi_align",
    # fpn
    "FeaturePyramidNetwork",
    "assign_fpn_levels",
    "multiscale_roi_align",
    # rpn
    "RPNHead",
    "generate_proposals",
    "rpn_loss",
    # roi_heads
    "TwoMLPHead",
    "FastRCNNPredictor",
    "fastrcnn_loss",
    "postprocess_detections",
    # retinanet
    "RetinaNetClassificationHead",
    "RetinaNetRegressionHead",
    "retinanet_classification_loss",
    "retinanet_regression_loss",
    "retinanet_postprocess",
    # model
    "predict",
    "train",
]
