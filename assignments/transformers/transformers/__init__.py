"""Transformers for vision: attention, multi-head attention, positional encodings, ViT, Swin,
DETR's set prediction and MaskFormer / Mask2Former."""

from .attention import MultiHeadAttention, attention, attention_weights
from .detr import (box_cxcywh_to_xyxy, detr_postprocess, generalized_box_iou, hungarian_match, matching_cost,
                   set_criterion)
from .detr_model import DecoderBlock, TinyDETR, detect, load_detector
from .maskformer import (dice_loss, mask_losses, masked_attention_mask, panoptic_inference, point_sample,
                         sample_points, semantic_inference, sigmoid_ce_loss, sigmoid_focal_loss)
from .model import load_pretrained, predict, train
from .posenc import interpolate_pos_embedding, sincos_encoding_2d, sinusoidal_encoding_1d
from .swin import (PatchMerging, ShiftedWindowAttention, SwinTransformerBlock, relative_position_bias,
                   relative_position_index, shifted_window_attention, shifted_window_mask, window_partition,
                   window_reverse)
from .vit import EncoderBlock, PatchEmbedding, VisionTransformer, patchify

__all__ = [
    "attention", "attention_weights", "MultiHeadAttention",
    "sinusoidal_encoding_1d", "sincos_encoding_2d", "interpolate_pos_embedding",
    "patchify", "PatchEmbedding", "EncoderBlock", "VisionTransformer",
    "window_partition", "window_reverse", "shifted_window_mask", "relative_position_index",
    "relative_position_bias", "shifted_window_attention", "ShiftedWindowAttention", "SwinTransformerBlock",
    "PatchMerging",
    "box_cxcywh_to_xyxy", "generalized_box_iou", "matching_cost", "hungarian_match", "set_criterion",
    "detr_postprocess", "DecoderBlock", "TinyDETR", "load_detector", "detect",
    "semantic_inference", "panoptic_inference", "masked_attention_mask", "point_sample", "sample_points",
    "dice_loss", "sigmoid_ce_loss", "sigmoid_focal_loss", "mask_losses",
    "load_pretrained", "train", "predict",
]
