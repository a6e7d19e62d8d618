"""Classical detection: template matching, integral images and Haar features, Viola-Jones
boosting and cascades (part A); HOG, a HOG + linear-SVM detector, deformable part models and
selective-search region measures (part B)."""

# --- part A: template matching, Haar features, Viola-Jones --------------------------------
from .boosting import (
    EPS_ERROR as EPS_ERROR,
    FACE_SIZE as FACE_SIZE,
    MAX_DETECTIONS as MAX_DETECTIONS,
    WINDOW as WINDOW,
    adaboost,
    adaboost_predict,
    boosted_scores,
    cascade_detect,
    cascade_predict,
    cascade_rates,
    classify_faces,
    detect_faces,
    fit_stump,
    nms,
    normalize_windows,
    sliding_windows,
    stage_threshold,
    stump_predict,
    train_cascade,
    train_face_detector,
)
from .haar import FEATURE_TYPES as FEATURE_TYPES, haar_feature_coords, haar_features, integral_image, rectangle_sums
from .template import FLAT_EPS as FLAT_EPS, METHODS as METHODS, best_match, match_template_fft, ncc, ssd, zncc

# --- part B: HOG, HOG + linear SVM sliding windows, DPM distance transform, selective search ------
from .dpm import distance_transform_1d, distance_transform_2d, dpm_score
from .hog import BLOCK_NORMS as BLOCK_NORMS, cell_histograms, hog, hog_gradients, normalize_blocks
from .proposals import (
    COLOUR_BINS as COLOUR_BINS,
    TEXTURE_BINS as TEXTURE_BINS,
    grouping_step,
    region_descriptors,
    region_neighbours,
    region_similarity,
)
from .sliding import (
    DETECTOR as DETECTOR,
    detect,
    detect_windows,
    image_pyramid,
    svm_objective,
    train_detector,
    train_linear_svm,
    window_features,
)
# constants of part B (not graded): BLOCK_NORMS, COLOUR_BINS, TEXTURE_BINS, DETECTOR

# constants (not part of the graded API): EPS_ERROR, FACE_SIZE, MAX_DETECTIONS, WINDOW, FEATURE_TYPES, FLAT_EPS,
# METHODS

__all__ = [
    # --- part A
    "ssd", "ncc", "zncc", "match_template_fft", "best_match",
    "integral_image", "rectangle_sums", "haar_feature_coords", "haar_features",
    "fit_stump", "stump_predict", "adaboost", "boosted_scores", "adaboost_predict",
    "stage_threshold", "train_cascade", "cascade_predict", "cascade_rates",
    "normalize_windows", "nms", "sliding_windows", "cascade_detect",
    "train_face_detector", "classify_faces", "detect_faces",
    # --- part B
    "hog_gradients", "cell_histograms", "normalize_blocks", "hog",
    "svm_objective", "train_linear_svm", "image_pyramid", "window_features", "detect_windows",
    "train_detector", "detect",
    "distance_transform_1d", "distance_transform_2d", "dpm_score",
    "region_descriptors", "region_neighbours", "region_similarity", "grouping_step",
]
