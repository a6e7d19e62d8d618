"""Semi-supervised learning and weak supervision: entropy minimisation, pseudo-labels and
FixMatch, classical self-training, VAT, the mean teacher, domain alignment and CAM."""

from .cam import cam_masks, cam_to_mask, class_activation_map
from .digits import make_digits_cnn, shift_images, strong_view, train_fixmatch_digits, weak_view
from .domain import coral_loss, domain_discriminator_loss, grad_reverse, GradientReversal, mmd_rbf
from .entropy import entropy
from .moons import make_mlp, train_self_training
from .pseudo import (fit_logistic_regression, fixmatch_loss, logistic_predict_proba, pseudo_labels,
                     self_training_linear, semi_supervised_loss)
from .teacher import consistency_loss, ema_decay_warmup, ema_update, sigmoid_rampup, temporal_ensemble
from .vat import kl_div_logits, mlp_logits, vat_direction, vat_loss

__all__ = [
    "entropy",
    "pseudo_labels", "fixmatch_loss", "semi_supervised_loss",
    "fit_logistic_regression", "logistic_predict_proba", "self_training_linear",
    "mlp_logits", "kl_div_logits", "vat_direction", "vat_loss",
    "ema_update", "ema_decay_warmup", "sigmoid_rampup", "consistency_loss", "temporal_ensemble",
    "grad_reverse", "GradientReversal", "domain_discriminator_loss", "coral_loss", "mmd_rbf",
    "class_activation_map", "cam_to_mask", "cam_masks",
    "make_mlp", "train_self_training",
    "make_digits_cnn", "shift_images", "weak_view", "strong_view", "train_fixmatch_digits",
]
