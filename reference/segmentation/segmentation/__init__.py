"""Semantic and classical segmentation: losses and mIoU, transposed convolution, unpooling,
receptive fields and FCN, ASPP, U-Net, k-means, normalized cuts, CRFs, and a trained segmenter."""

from .aspp import ASPP
from .clustering import kmeans, pixel_features
from .crf import binary_mincut, dense_crf_mean_field, potts_energy
from .fcn import fc_to_conv, gradient_receptive_field, receptive_field
from .losses import confusion_matrix, mean_iou, pixel_cross_entropy
from .model import predict, train
from .spectral import (
    affinity_matrix,
    count_components,
    degree_matrix,
    laplacian,
    ncut_bipartition,
    ncut_embedding,
    ncut_value,
    recursive_ncut,
)
from .transposed import bilinear_kernel, conv_transpose2d, resize_conv2d, transposed_output_size
from .unet import UNet
from .unpool import max_pool2d_with_indices, max_unpool2d

__all__ = [
    "pixel_cross_entropy", "confusion_matrix", "mean_iou",
    "transposed_output_size", "conv_transpose2d", "bilinear_kernel", "resize_conv2d",
    "max_pool2d_with_indices", "max_unpool2d",
    "receptive_field", "gradient_receptive_field", "fc_to_conv",
    "ASPP", "UNet",
    "pixel_features", "kmeans",
    "affinity_matrix", "degree_matrix", "laplacian", "count_components", "ncut_embedding", "ncut_value",
    "ncut_bipartition", "recursive_ncut",
    "potts_energy", "binary_mincut", "dense_crf_mean_field",
    "train", "predict",
]
