"""Viola-Jones: decision stumps, discrete AdaBoost, the attentional cascade and sliding-window
face detection over scales with NMS.

Conventions (pinned; the tests check them):

* ``features`` is ``Tensor[N, K]`` (float32 / float64; one row per sample), ``labels`` int64
  ``[N]`` in ``{0, 1}`` (1 = face), ``weights`` float64 ``[N]``, non-negative.
* A stump is ``(feature, threshold, polarity)`` and predicts ``1`` iff
  ``polarity * x[feature] < polarity * threshold`` (Viola and Jones 2001), ``polarity`` in
  ``{+1, -1}``. :func:`fit_stump` picks thresholds halfway between consecutive distinct sorted
  values of a feature, or 1 below the smallest / 1 above the largest value.
* Discrete AdaBoost as in Viola and Jones' Table 1: initial weights ``1 / (2 m)`` on each of the
  ``m`` negatives and ``1 / (2 l)`` on each of the ``l`` positives (unless given); every round
  normalises the weights to sum 1, fits the stump of least weighted error ``e`` (clamped to
  ``[EPS_ERROR, 1 - EPS_ERROR]``), sets ``beta = e / (1 - e)``, multiplies the weights of the
  correctly classified samples by ``beta`` and gives the stump ``alpha = log(1 / beta)``. The
  strong classifier's score is ``sum_t alpha_t h_t(x)``; it says "face" iff the score is
  ``>= 0.5 * sum_t alpha_t``.
* A cascade stage is such a classifier with its own threshold: the largest threshold that keeps
  at least ``min_detection_rate`` of the positives it is trained on (``ceil(d * P)``-th largest
  positive score). Stage ``i`` is trained on every positive (those an earlier stage rejected
  included) and on the negatives that all the earlier stages accepted (the false positives); the
  overall false-positive rate is the product of the stages' rates.
* Boxes are ``(x1, y1, x2, y2)`` float32 in pixels; :func:`nms` is ``torchvision.ops.nms``
  (suppress when IoU > threshold, keep indices sorted by decreasing score).
"""

from __future__ import annotations

from torch import Tensor

__all__ = [
    "fit_stump", "stump_predict", "adaboost", "boosted_scores", "adaboost_predict",
    "stage_threshold", "train_cascade", "cascade_predict", "cascade_rates",
    "normalize_windows", "nms", "sliding_windows", "cascade_detect",
    "train_face_detector", "classify_faces", "detect_faces",
    "EPS_ERROR", "WINDOW", "FACE_SIZE", "MAX_DETECTIONS",
]

#: the smallest (and 1 - the largest) weighted error AdaBoost uses (keeps beta finite)
EPS_ERROR = 1e-10
#: side of the detector's square window, in pixels (faces are resized to it)
WINDOW = 12
#: side of the lfw_subset images
FACE_SIZE = 25
#: the most detections :func:`detect_faces` returns per image (COCO's maxDets)
MAX_DETECTIONS = 100


def fit_stump(features: Tensor, labels: Tensor, weights: Tensor) -> tuple[int, float, int, float]:
    """The decision stump of least weighted error over every feature, threshold and polarity.

    Args:
        features (Tensor[N, K]): float32 or float64, ``N >= 1``, ``K >= 1``.
        labels (Tensor[N]): int64 in ``{0, 1}``.
        weights (Tensor[N]): float64, ``>= 0``.

    Returns:
        tuple[int, float, int, float]: ``(feature, threshold, polarity, error)``; the stump
        predicts 1 iff ``polarity * x[feature] < polarity * threshold`` and ``error`` is the sum
        of the weights it misclassifies (the least over every candidate threshold: halfway
        between consecutive distinct values, 1 below the smallest, 1 above the largest; the
        thresholds are computed in float64: between two adjacent float32 values only a float64
        midpoint lies strictly between them).

    Raises:
        TypeError: if a dtype is not the one above.
        ValueError: if the shapes disagree, a label is not 0 / 1, a weight is negative or
            ``N`` or ``K`` is 0.
    """
    raise NotImplementedError("fit_stump: implement me (see README.md, section `stumps`)")


def stump_predict(features: Tensor, feature: int, threshold: float, polarity: int) -> Tensor:
    """Outputs of one decision stump.

    Args:
        features (Tensor[N, K]): float32 or float64.
        feature (int): the column, ``0 <= feature < K``.
        threshold (float): the threshold.
        polarity (int): ``+1`` or ``-1``.

    Returns:
        Tensor[N]: int64, ``1`` where ``polarity * features[:, feature] < polarity * threshold``,
        else ``0``; the comparison is made in float64 (the features upcast, the threshold a
        float64 number).

    Raises:
        TypeError: if ``features`` is not a float tensor.
        ValueError: if ``polarity`` is not +-1 or ``feature`` is out of range.
    """
    raise NotImplementedError("stump_predict: implement me (see README.md, section `stumps`)")


def adaboost(features: Tensor, labels: Tensor, num_rounds: int, weights: Tensor | None = None) -> dict[str, Tensor]:
    """Discrete AdaBoost with decision stumps (Viola and Jones' variant, module docstring).

    Args:
        features (Tensor[N, K]): float32 or float64.
        labels (Tensor[N]): int64 in ``{0, 1}``, both classes present.
        num_rounds (int): number of stumps ``T >= 1``.
        weights (Tensor[N] | None): float64 initial weights (``>= 0``, positive sum); default
            ``1 / (2 l)`` per positive and ``1 / (2 m)`` per negative.

    Returns:
        dict[str, Tensor]: ``feature`` int64 ``[T]``, ``threshold`` float64 ``[T]``,
        ``polarity`` int64 ``[T]`` (+-1), ``alpha`` float64 ``[T]`` (``log((1 - e) / e)``) and
        ``error`` float64 ``[T]`` (each round's weighted error, the weights normalised to sum 1,
        before the clamp).

    Raises:
        TypeError: if a dtype is not the one above.
        ValueError: if ``num_rounds < 1``, a class is missing, the shapes disagree, ``features``
            has no column (K = 0), or ``weights`` has a negative entry or a sum <= 0 (the
            message names ``weights``).
    """
    raise NotImplementedError("adaboost: implement me (see README.md, section `adaboost`)")


def boosted_scores(features: Tensor, model: dict[str, Tensor]) -> Tensor:
    """The strong classifier's score ``sum_t alpha_t h_t(x)`` of every sample.

    Args:
        features (Tensor[N, K]): float32 or float64.
        model (dict[str, Tensor]): ``feature``, ``threshold``, ``polarity``, ``alpha`` as
            :func:`adaboost` returns them (other keys are ignored).

    Returns:
        Tensor[N]: float64 scores in ``[0, sum alpha]``.

    Raises:
        TypeError: if ``features`` is not a float tensor.
        ValueError: if ``features`` is not 2-D or ``model`` misses a key.
    """
    raise NotImplementedError("boosted_scores: implement me (see README.md, section `adaboost`)")


def adaboost_predict(features: Tensor, model: dict[str, Tensor]) -> Tensor:
    """The strong classifier's labels: 1 iff ``sum_t alpha_t h_t(x) >= 0.5 * sum_t alpha_t``.

    Args:
        features (Tensor[N, K]): float32 or float64.
        model (dict[str, Tensor]): as :func:`adaboost` returns it.

    Returns:
        Tensor[N]: int64 in ``{0, 1}``.

    Raises:
        TypeError: if ``features`` is not a float tensor.
        ValueError: if ``features`` is not 2-D or ``model`` misses a key.
    """
    raise NotImplementedError("adaboost_predict: implement me (see README.md, section `adaboost`)")


def stage_threshold(scores: Tensor, labels: Tensor, min_detection_rate: float) -> float:
    """The largest stage threshold that keeps at least ``min_detection_rate`` of the positives.

    A sample passes the stage iff its score is ``>= threshold``; the threshold is the
    ``ceil(d * P)``-th largest positive score (``P`` positives), the ceiling taken with a 1e-9
    tolerance, ``ceil(d * P - 1e-9)``, so that ``0.07 * 100 = 7.000000000000001`` keeps 7, not 8.

    Args:
        scores (Tensor[N]): float32 or float64 stage scores.
        labels (Tensor[N]): int64 in ``{0, 1}``, at least one 1.
        min_detection_rate (float): ``d`` in ``(0, 1]``.

    Returns:
        float: the threshold.

    Raises:
        ValueError: if ``min_detection_rate`` is outside ``(0, 1]``, there is no positive or the
            shapes disagree.
    """
    raise NotImplementedError("stage_threshold: implement me (see README.md, section `cascade`)")


def train_cascade(features: Tensor, labels: Tensor, stage_rounds: list[int],
                  min_detection_rate: float = 0.99) -> list[dict[str, Tensor]]:
    """Train an attentional cascade: one AdaBoost classifier per stage, each with its threshold.

    Stage ``i`` runs :func:`adaboost` for ``stage_rounds[i]`` rounds (default initial weights) on
    every positive and the negatives accepted by all earlier stages, then sets its threshold with
    :func:`stage_threshold` over the scores of every positive (those an earlier stage rejected
    included). Training stops early (fewer stages) once no negative is left.

    Args:
        features (Tensor[N, K]): float32 or float64.
        labels (Tensor[N]): int64 in ``{0, 1}``, both classes present.
        stage_rounds (list[int]): rounds per stage, each ``>= 1``, at least one stage.
        min_detection_rate (float): per-stage detection rate ``d`` in ``(0, 1]``.

    Returns:
        list[dict[str, Tensor]]: per stage, the :func:`adaboost` model plus ``stage_threshold``
        (float64 scalar tensor).

    Raises:
        TypeError: if a dtype is not the one above.
        ValueError: if ``stage_rounds`` is empty or holds a value below 1, or as
            :func:`adaboost` / :func:`stage_threshold`.
    """
    raise NotImplementedError("train_cascade: implement me (see README.md, section `cascade`)")


def cascade_predict(features: Tensor, cascade: list[dict[str, Tensor]]) -> tuple[Tensor, Tensor]:
    """Run the cascade: a sample is a face iff every stage's score is ``>= its stage_threshold``.

    Args:
        features (Tensor[N, K]): float32 or float64.
        cascade (list[dict[str, Tensor]]): as :func:`train_cascade` returns it.

    Returns:
        tuple[Tensor, Tensor]: ``labels`` int64 ``[N]`` (1 = accepted by every stage) and
        ``depth`` int64 ``[N]``, the number of stages passed before the first rejection
        (``len(cascade)`` for accepted samples).

    Raises:
        TypeError: if ``features`` is not a float tensor.
        ValueError: if a stage misses a key.
    """
    raise NotImplementedError("cascade_predict: implement me (see README.md, section `cascade`)")


def cascade_rates(features: Tensor, labels: Tensor, cascade: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Per-stage and overall detection and false-positive rates of a cascade.

    Stage ``i``'s rates are measured on the samples that reach it (passed stages ``0 .. i-1``);
    the overall rates after stage ``i`` are the products of the stage rates so far, which equal
    the share of all positives (negatives) that pass stages ``0 .. i``. A stage that no sample
    of a class reaches has rate 0 for it.

    Args:
        features (Tensor[N, K]): float32 or float64.
        labels (Tensor[N]): int64 in ``{0, 1}``, both classes present.
        cascade (list[dict[str, Tensor]]): as :func:`train_cascade` returns it.

    Returns:
        dict[str, Tensor]: float64 ``[S]`` tensors ``detection_rate``, ``false_positive_rate``
        (per stage), ``overall_detection_rate``, ``overall_false_positive_rate`` (cumulative),
        computed in float64 (counts converted before dividing).

    Raises:
        TypeError: if a dtype is not the one above.
        ValueError: if a class is missing.
    """
    raise NotImplementedError("cascade_rates: implement me (see README.md, section `cascade`)")


def normalize_windows(windows: Tensor, eps: float = 1e-6) -> Tensor:
    """Variance normalisation of detection windows (Viola and Jones' lighting correction).

    Args:
        windows (Tensor[N, h, w]): float32 or float64.
        eps (float): the smallest standard deviation divided by, ``> 0``.

    Returns:
        Tensor[N, h, w]: float64, ``(window - mean) / max(std, eps)`` per window, ``std`` the
        population standard deviation (divide by ``h * w``); computed in float64 (the windows
        upcast first).

    Raises:
        ValueError: if ``windows`` is not 3-D or ``eps <= 0``.
    """
    raise NotImplementedError("normalize_windows: implement me (see README.md, section `vj_detect`)")


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression (``torchvision.ops.nms``).

    Args:
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)``, float32 or float64.
        scores (Tensor[N]): scores; boxes of equal score are visited in input order (a stable
            sort by decreasing score).
        iou_threshold (float): a box is suppressed by a kept box of higher score when their IoU
            is ``> iou_threshold``.

    Returns:
        Tensor[M]: int64 indices of the kept boxes, by decreasing score; ``Tensor[0]`` for no box.

    Raises:
        ValueError: if the shapes are not ``[N, 4]`` and ``[N]``.
    """
    raise NotImplementedError("nms: implement me (see README.md, section `vj_detect`)")


def sliding_windows(height: int, width: int, window: int, stride: int, scales: list[float]) -> Tensor:
    """Boxes of every detection window over an image pyramid, in original-image pixels.

    For each scale ``s`` (in the given order) the image is resized to
    ``(round(height / s), round(width / s))``; the ``window x window`` windows at every ``stride``
    pixels of that level (top-left ``(x, y)``, row-major: ``y`` outer, ``x`` inner, starting at
    0, fitting inside the level) map back to ``(x * sx, y * sy, (x + window) * sx,
    (y + window) * sy)`` with ``sx = width / level_width``, ``sy = height / level_height``.
    A level smaller than the window contributes no box.

    Args:
        height (int): image height, ``>= 1``.
        width (int): image width, ``>= 1``.
        window (int): window side, ``>= 1``.
        stride (int): step in level pixels, ``>= 1``.
        scales (list[float]): pyramid scales, each ``> 0``.

    Returns:
        Tensor[P, 4]: float32 boxes, level by level; ``Tensor[0, 4]`` when none fits.

    Raises:
        ValueError: if a size, the stride or a scale is out of range.
    """
    raise NotImplementedError("sliding_windows: implement me (see README.md, section `vj_detect`)")


def cascade_detect(image: Tensor, cascade: list[dict[str, Tensor]], rects: Tensor, signs: Tensor,
                   window: int = WINDOW, stride: int = 2, scales: list[float] | None = None,
                   iou_threshold: float = 0.3) -> dict[str, Tensor]:
    """Sliding-window face detection with a trained cascade, over scales, then NMS.

    The image pyramid and the windows are those of :func:`sliding_windows` (each level resized
    in float64, whatever the image's dtype, with ``F.interpolate(mode="bilinear",
    align_corners=False, antialias=True)``); every window
    is normalised by :func:`normalize_windows`, its features are :func:`haar_features` of the
    columns the cascade uses (``rects`` / ``signs`` index the cascade's ``feature`` columns),
    and the windows that :func:`cascade_predict` accepts are scored by the last stage's
    :func:`boosted_scores` minus its ``stage_threshold`` and passed to :func:`nms` in the order
    of :func:`sliding_windows`. Scores are sums of stage weights, so many windows tie: ties are
    visited in that window order (nms's stable sort), which makes the result unique.

    Args:
        image (Tensor[H, W]): float32 or float64 grey image.
        cascade (list[dict[str, Tensor]]): as :func:`train_cascade` returns it (at least one stage).
        rects (Tensor[K, 4, 4]): int64, the feature set the cascade was trained on.
        signs (Tensor[K, 4]): float64.
        window (int): window side (the training windows' side).
        stride (int): step in level pixels.
        scales (list[float] | None): pyramid scales; default ``[2.0, 2.5, 3.0, 3.5, 4.0]``.
        iou_threshold (float): NMS threshold.

    Returns:
        dict[str, Tensor]: ``boxes`` float32 ``[D, 4]`` and ``scores`` float32 ``[D]``, by
        decreasing score.

    Raises:
        ValueError: if ``image`` is not 2-D or ``cascade`` is empty (``image`` checked first).
    """
    raise NotImplementedError("cascade_detect: implement me (see README.md, section `vj_detect`)")


def train_face_detector(faces: Tensor, nonfaces: Tensor, seed: int = 0, time_budget_s: float = 60.0) -> None:
    """Train a Viola-Jones cascade on face and non-face images and keep it (in memory) for
    :func:`classify_faces` and :func:`detect_faces`.

    Args:
        faces (Tensor[P, 25, 25]): float32 grey faces in [0, 1] (lfw_subset).
        nonfaces (Tensor[M, 25, 25]): float32 grey non-faces in [0, 1].
        seed (int): seeds every random choice.
        time_budget_s (float): CPU seconds the training may use (stop adding stages after it;
            the first stage is always trained, even with ``time_budget_s=0``).

    Returns:
        None.

    Raises:
        ValueError: if the shapes are not the ones above.
    """
    raise NotImplementedError("train_face_detector: implement me (see README.md, section `vj_detect`)")


def classify_faces(images: Tensor) -> Tensor:
    """Face (1) or not (0) for 25 x 25 images, with the cascade :func:`train_face_detector` made.

    Args:
        images (Tensor[N, 25, 25]): float32 grey images in [0, 1].

    Returns:
        Tensor[N]: int64 in ``{0, 1}``.

    Raises:
        RuntimeError: if :func:`train_face_detector` has not been called.
    """
    raise NotImplementedError("classify_faces: implement me (see README.md, section `vj_detect`)")


def detect_faces(image: Tensor) -> dict[str, Tensor]:
    """Faces in a grey scene, with the cascade :func:`train_face_detector` made.

    Args:
        image (Tensor[H, W]): float32 grey scene in [0, 1]; faces are 24 to 48 pixels wide.

    Returns:
        dict[str, Tensor]: ``boxes`` float32 ``[D, 4]`` ``(x1, y1, x2, y2)`` and ``scores``
        float32 ``[D]``, by decreasing score, at most ``MAX_DETECTIONS`` (100) detections.

    Raises:
        RuntimeError: if :func:`train_face_detector` has not been called.
    """
    raise NotImplementedError("detect_faces: implement me (see README.md, section `vj_detect`)")
