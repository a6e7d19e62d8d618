"""Video object segmentation: optical flow, FlowNet correlation, OSVOS, OnAVOS, MaskTrack, pixel-wise retrieval,
the contrastive random walk and J&F."""

# --- part A: optical flow (flow.py, warp.py, correlation.py) ---
from .correlation import correlation
from .flow import (
    box_filter,
    image_gradients,
    lk_dense,
    lk_dense_pyramid,
    lk_sparse,
    pyramid_down,
    solve_2x2,
    structure_tensor,
    tensor_eigenvalues,
    untrackable,
    upsample_flow,
)
from .warp import endpoint_error, fb_occlusion, flow_to_color, warp

# --- part B: segmentation (add the imports of your modules here) ---
from .crw import cycle_consistency_loss, palindrome_walk, transition_matrix
from .masktrack import affine_warp_mask, deform_mask, dilate_mask, masktrack_input
from .osvos import (
    TinyUNet,
    balanced_bce_loss,
    finetune,
    foreground_probs,
    onavos_pseudo_labels,
    onavos_segment,
    osvos_segment,
)
from .retrieval import nearest_neighbour_labels, pairwise_distances, pixel_triplet_loss

__all__ = [
    # part A
    "image_gradients", "box_filter", "structure_tensor", "tensor_eigenvalues", "untrackable",
    "solve_2x2", "lk_dense", "pyramid_down", "upsample_flow", "lk_dense_pyramid", "lk_sparse",
    "warp", "endpoint_error", "fb_occlusion", "flow_to_color",
    "correlation",
    # part B
    "TinyUNet", "balanced_bce_loss", "finetune", "foreground_probs", "osvos_segment",
    "onavos_pseudo_labels", "onavos_segment",
    "masktrack_input", "affine_warp_mask", "dilate_mask", "deform_mask",
    "pairwise_distances", "pixel_triplet_loss", "nearest_neighbour_labels",
    "transition_matrix", "palindrome_walk", "cycle_consistency_loss",
]
