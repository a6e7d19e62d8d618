"""Multi-object tracking building blocks (course assignment ``tracking``).

Boxes are ``(x1, y1, x2, y2)`` float tensors with no ``+1`` in widths (torchvision's
convention); tracker outputs and ground truth are rows ``(frame, id, x1, y1, x2, y2)`` with
1-based frames, as in MOTChallenge.
"""

from .association import associate, iou_cost, linear_assignment
from .evaluation import mot_metrics
from .motion import KalmanBoxFilter, box_to_cxcywh, constant_position, constant_velocity, cxcywh_to_box
from .reid import appearance_cost, batch_hard_triplet_loss, contrastive_loss, pairwise_distances
from .trackers import IoUTracker, TracktorTracker, nms, regress_to_detections, track_sequence

__all__ = [
    "iou_cost",
    "linear_assignment",
    "associate",
    "box_to_cxcywh",
    "cxcywh_to_box",
    "constant_position",
    "constant_velocity",
    "KalmanBoxFilter",
    "nms",
    "regress_to_detections",
    "IoUTracker",
    "TracktorTracker",
    "track_sequence",
    "pairwise_distances",
    "batch_hard_triplet_loss",
    "contrastive_loss",
    "appearance_cost",
    "mot_metrics",
]
