"""A sliding-window detector: HOG features, a linear SVM, an image pyramid and NMS.

Linear SVM (the objective of scikit-learn's ``LinearSVC(loss="squared_hinge")``, whose intercept
is a feature of value 1 and so is regularised too)::

    J(w, b) = 1/2 (|w|^2 + b^2) + C * sum_i max(0, 1 - y_i (w . x_i + b))^2,   y_i in {-1, +1}

``J`` is strictly convex and differentiable, so its minimiser is unique: any solver that
converges (gradient descent, Newton's method on the active set, ...) gives the same ``(w, b)``.

Pyramid: level ``k`` is the image resized to ``(floor(H / s^k), floor(W / s^k))`` with
``F.interpolate(mode="bilinear", align_corners=False, antialias=False)`` (level 0 is the image
itself); levels stop before one would be smaller than ``min_size``. A pixel edge ``x`` of level
``k`` is the edge ``x * W / W_k`` of the image (per axis, with the level's true size).

Windows: on each level, the HOG blocks are computed once for the whole level
(:func:`classical.hog.cell_histograms` then :func:`classical.hog.normalize_blocks`) and a window of
``window = (Hw, Ww)`` pixels, i.e. ``(Hw / cr - br + 1, Ww / cc - bc + 1)`` blocks, slides over the
block grid one cell at a time (:func:`window_features`); the window whose top-left block is
``(i, j)`` covers the level's pixels ``[j * cc, j * cc + Ww) x [i * cr, i * cr + Hw)``.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["svm_objective", "train_linear_svm", "image_pyramid", "window_features", "detect_windows",
           "train_detector", "detect", "DETECTOR"]

# The detector of the accuracy check: 32 x 16 pixel windows, 4 x 4 pixel cells, 2 x 2 cell blocks,
# 9 orientations, L2-Hys (7 x 3 blocks, 756 features per window), a pyramid of step 1.2.
DETECTOR = {"window": (32, 16), "pixels_per_cell": (4, 4), "cells_per_block": (2, 2), "orientations": 9,
            "block_norm": "L2-Hys", "scale": 1.2}


def svm_objective(weight: Tensor, bias: Tensor, features: Tensor, labels: Tensor, C: float = 1.0) -> Tensor:
    """The regularised squared-hinge objective ``J(w, b)`` of the module docstring (differentiable).

    Args:
        weight (Tensor[D]): float32 or float64.
        bias (Tensor[]): a 0-d tensor of the same dtype.
        features (Tensor[N, D]): one sample per row, same dtype.
        labels (Tensor[N]): int64, each -1 or +1.
        C (float): weight of the data term, finite and > 0.

    Returns:
        Tensor[]: ``J``, a 0-d tensor in the features' dtype (``N = 0`` gives ``(|w|^2 + b^2) / 2``).

    Raises:
        TypeError: if the tensors are not float32 / float64.
        ValueError: on bad shapes, labels other than -1 / +1, or ``C`` not finite and > 0.
    """
    raise NotImplementedError("svm_objective: implement me (see README.md, section `svm`)")


def train_linear_svm(features: Tensor, labels: Tensor, C: float = 1.0, max_iter: int = 100,
                     tol: float = 1e-10) -> tuple[Tensor, Tensor]:
    """Minimise :func:`svm_objective` (your own solver; no library SVM).

    The reference uses Newton's method on the active set ``{i : y_i (w . x_i + b) < 1}`` (the
    objective is quadratic there) with a backtracking line search, in float64.

    Args:
        features (Tensor[N, D]): float32 or float64, ``N >= 1``.
        labels (Tensor[N]): int64, each -1 or +1 (one class only is allowed).
        C (float): finite and > 0.
        max_iter (int): iterations of the solver (>= 1).
        tol (float): stop once the gradient's largest absolute entry is below ``tol * (1 + N * C)``.

    Returns:
        tuple[Tensor, Tensor]: ``(weight [D], bias [])`` in the features' dtype; within 1e-4
        (relative to the decision function's scale) of the unique minimiser.

    Raises:
        TypeError / ValueError: as :func:`svm_objective`, ``N == 0``, or ``max_iter < 1``.
    """
    raise NotImplementedError("train_linear_svm: implement me (see README.md, section `svm`)")


def image_pyramid(image: Tensor, scale: float = 1.2, min_size: tuple[int, int] = (32, 16)) -> list[Tensor]:
    """The levels of an image pyramid (module docstring).

    Args:
        image (Tensor[H, W]): float32 or float64.
        scale (float): the step ``s > 1`` between levels (finite).
        min_size (tuple[int, int]): ``(rows, cols)``; a level smaller than this in either
            dimension is not made (nor any after it).

    Returns:
        list[Tensor]: ``[level_0, level_1, ...]``, level ``k`` of shape
        ``(floor(H / s^k), floor(W / s^k))`` in the image's dtype; level 0 equals the image. An
        image already smaller than ``min_size`` gives an empty list.

    Raises:
        TypeError: if ``image`` is not a float32 / float64 tensor.
        ValueError: if ``image`` is not 2-D, ``scale`` is not a finite number > 1 or ``min_size``
            is not two ints >= 1.
    """
    raise NotImplementedError("image_pyramid: implement me (see README.md, section `sliding`)")


def window_features(blocks: Tensor, window_blocks: tuple[int, int]) -> Tensor:
    """The HOG descriptors of every window position over a dense grid of normalised blocks.

    Args:
        blocks (Tensor[Br, Bc, br, bc, n]): from :func:`classical.hog.normalize_blocks`.
        window_blocks (tuple[int, int]): ``(wr, wc)`` blocks per window (each >= 1).

    Returns:
        Tensor[Br - wr + 1, Bc - wc + 1, wr * wc * br * bc * n]: ``out[i, j] =
        blocks[i:i + wr, j:j + wc].reshape(-1)`` (the ``feature_vector`` order of
        :func:`classical.hog.hog`), in the blocks' dtype. A grid smaller than a window gives a
        size-0 first or second dimension.

    Raises:
        ValueError: if ``blocks`` is not 5-D or ``window_blocks`` is not two ints >= 1.
    """
    raise NotImplementedError("window_features: implement me (see README.md, section `sliding`)")


def detect_windows(image: Tensor, weight: Tensor, bias: Tensor, *, window: tuple[int, int] = (32, 16),
                   pixels_per_cell: tuple[int, int] = (4, 4), cells_per_block: tuple[int, int] = (2, 2),
                   orientations: int = 9, block_norm: str = "L2-Hys", scale: float = 1.2,
                   score_threshold: float = 0.0, iou_threshold: float = 0.3) -> tuple[Tensor, Tensor]:
    """Score every window of every pyramid level with ``w . x + b``, keep the scores
    ``> score_threshold`` (strictly), map their boxes to the image, and apply NMS over all levels.

    Args:
        image (Tensor[H, W]): float32 or float64 grayscale.
        weight (Tensor[D]), bias (Tensor[]): the linear classifier, ``D`` the window descriptor's
            length (``wr * wc * br * bc * orientations``).
        window, pixels_per_cell, cells_per_block, orientations, block_norm: the HOG layout
            (module docstring); the window is a whole number of cells.
        scale (float): the pyramid step; levels smaller than the window are not made.
        score_threshold (float): windows scoring ``<=`` it are dropped.
        iou_threshold (float): NMS (``classical.nms``: suppress IoU ``>`` it).

    Returns:
        tuple[Tensor, Tensor]: ``boxes`` float32 ``[K, 4]`` ``(x1, y1, x2, y2)`` in image pixels
        and ``scores`` float32 ``[K]``, sorted by decreasing score.

    Raises:
        ValueError: if ``weight`` does not have ``D`` entries or the window is not a whole
            number of cells holding a block.
    """
    raise NotImplementedError("detect_windows: implement me (see README.md, section `sliding`)")


def train_detector(images: list[Tensor], boxes: list[Tensor], seed: int = 0, time_budget_s: float = 60.0) -> None:
    """Train the HOG + linear SVM detector (layout :data:`DETECTOR`) and keep it for :func:`detect`.

    The reference: positives from the ground-truth boxes (and their mirror images), random
    negative windows (IoU < 0.3 with every box) from the pyramids of the training images, an SVM
    (``C = 0.01``), then rounds of hard-negative mining (false detections added to the
    negatives, retrain) while the time budget allows.

    Args:
        images (list[Tensor[H, W]]): float32 grayscale training scenes in ``[0, 1]``.
        boxes (list[Tensor[K_i, 4]]): float32 ``(x1, y1, x2, y2)`` boxes of the figures.
        seed (int): seeds every random choice.
        time_budget_s (float): CPU seconds the training may use (the grader's wall-clock limit
            of the call is larger; a call that runs past it scores 0).

    Returns:
        None.

    Raises:
        ValueError: if ``images`` and ``boxes`` differ in length or hold no box at all.
    """
    raise NotImplementedError("train_detector: implement me (see README.md, section `detector`)")


def detect(images: list[Tensor]) -> list[dict]:
    """Detect figures with the model :func:`train_detector` produced (the accuracy check's entry).

    Args:
        images (list[Tensor[H, W]]): float32 grayscale scenes in ``[0, 1]``.

    Returns:
        list[dict]: per image ``{"boxes": float32 [K, 4], "scores": float32 [K],
        "labels": int64 [K] (all 1)}``, at most 100 detections sorted by decreasing score.

    Raises:
        RuntimeError: if :func:`train_detector` has not been called.
    """
    raise NotImplementedError("detect: implement me (see README.md, section `detector`)")
