"""Self-supervised learning: pretext tasks, contrastive losses, momentum encoders (MoCo, BYOL),
DINO, masked autoencoders, probes on frozen features, and a pre-training graded by probes."""

from .contrastive import contrastive_scores, nt_xent_bounds, nt_xent_loss
from .dino import DINOLoss, dino_loss, multi_crop, teacher_probabilities, teacher_temperature, update_center
from .evaluation import knn_classify, linear_probe
from .mae import mae_loss, patchify, random_masking, restore_with_mask_tokens, unpatchify
from .momentum import ProjectionHead, byol_loss, cosine_momentum, dequeue_and_enqueue, momentum_update, moco_logits
from .pretext import ab_bin_centres, hamming_permutations, jigsaw_tiles, quantize_ab, rgb_to_lab, rotate_batch
from .pretraining import Encoder, augment, features, pretrain

__all__ = [
    "rotate_batch", "hamming_permutations", "jigsaw_tiles", "rgb_to_lab", "quantize_ab", "ab_bin_centres",
    "contrastive_scores", "nt_xent_loss", "nt_xent_bounds",
    "ProjectionHead", "momentum_update", "dequeue_and_enqueue", "moco_logits", "byol_loss", "cosine_momentum",
    "teacher_probabilities", "dino_loss", "update_center", "DINOLoss", "teacher_temperature", "multi_crop",
    "patchify", "unpatchify", "random_masking", "restore_with_mask_tokens", "mae_loss",
    "knn_classify", "linear_probe",
    "Encoder", "augment", "pretrain", "features",
]
