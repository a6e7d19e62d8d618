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

# BEGIN SOLUTION
import math
import time

import torch
import torch.nn.functional as F

from .haar import haar_feature_coords, haar_features, integral_image
# END SOLUTION
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

# BEGIN SOLUTION
_STATE: dict = {}
_FLOATS = (torch.float32, torch.float64)


def _check_features(features: object, labels: object = None) -> None:
    if not isinstance(features, Tensor) or features.dtype not in _FLOATS:
        got = features.dtype if isinstance(features, Tensor) else type(features).__name__
        raise TypeError(f"features must be a float32 or float64 tensor, got {got}")
    if features.dim() != 2:
        raise ValueError(f"features must have shape [N, K], got {list(features.shape)}")
    if labels is not None:
        if not isinstance(labels, Tensor) or labels.dtype != torch.int64:
            got = labels.dtype if isinstance(labels, Tensor) else type(labels).__name__
            raise TypeError(f"labels must be an int64 tensor, got {got}")
        if tuple(labels.shape) != (features.shape[0],):
            raise ValueError(f"labels must have shape [{features.shape[0]}], got {list(labels.shape)}")
        if bool(((labels != 0) & (labels != 1)).any()):
            raise ValueError(f"labels must be 0 or 1, got values {sorted(set(labels.tolist()))}")


def _check_model(model: object) -> None:
    if not isinstance(model, dict) or any(k not in model for k in ("feature", "threshold", "polarity", "alpha")):
        raise ValueError("model must be a dict with 'feature', 'threshold', 'polarity' and 'alpha'")


def _weak(features: Tensor, model: dict) -> Tensor:
    """``[N, T]`` 0/1 outputs of the model's stumps (float64)."""
    x = features.double()[:, model["feature"]]  # [N, T]
    pol = model["polarity"].double()  # [T]
    return (pol * x < pol * model["threshold"].double()).double()  # [N, T]


def _best_stump(values: Tensor, order: Tensor, labels: Tensor, w: Tensor) -> tuple[int, float, int, float]:
    """:func:`fit_stump` on features already sorted per column (``values, order = x.sort(0)``)."""
    n, k = values.shape
    pos_w = (w * labels.double())[order]  # [N, K]
    neg_w = (w * (1 - labels.double()))[order]  # [N, K]
    zero = values.new_zeros(1, k)
    pos_below = torch.cat([zero, pos_w.cumsum(0)])  # [N + 1, K]: weight of positives below split i
    neg_below = torch.cat([zero, neg_w.cumsum(0)])  # [N + 1, K]
    total_pos, total_neg = pos_below[-1], neg_below[-1]  # [K]
    err_plus = neg_below + (total_pos - pos_below)  # polarity +1: predict 1 below the threshold
    err_minus = pos_below + (total_neg - neg_below)  # polarity -1: predict 1 above
    valid = torch.ones(n + 1, k, dtype=torch.bool)
    valid[1:n] = values[1:] > values[:-1]  # a split between equal values is not a split
    inf = torch.tensor(float("inf"), dtype=torch.float64)
    err = torch.stack([torch.where(valid, err_plus, inf), torch.where(valid, err_minus, inf)])  # [2, N + 1, K]
    best = int(err.reshape(-1).argmin())
    p, rest = divmod(best, (n + 1) * k)
    i, j = divmod(rest, k)
    if i == 0:
        threshold = float(values[0, j]) - 1.0
    elif i == n:
        threshold = float(values[n - 1, j]) + 1.0
    else:
        threshold = 0.5 * (float(values[i - 1, j]) + float(values[i, j]))
    return j, threshold, 1 if p == 0 else -1, float(err[p, i, j])
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_features(features, labels)
    if not isinstance(weights, Tensor) or tuple(weights.shape) != (features.shape[0],):
        got = list(weights.shape) if isinstance(weights, Tensor) else type(weights).__name__
        raise ValueError(f"weights must have shape [{features.shape[0]}], got {got}")
    if bool((weights < 0).any()):
        raise ValueError("weights must be >= 0")
    n, k = features.shape
    if n == 0 or k == 0:
        raise ValueError(f"features must have at least one sample and one feature, got {list(features.shape)}")
    values, order = features.double().sort(dim=0)  # [N, K]
    return _best_stump(values, order, labels, weights.double())
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_features(features)
    if polarity not in (1, -1):
        raise ValueError(f"polarity must be +1 or -1, got {polarity!r}")
    if not 0 <= feature < features.shape[1]:
        raise ValueError(f"feature must be in [0, {features.shape[1]}), got {feature}")
    return (polarity * features[:, feature].double() < polarity * threshold).long()
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_features(features, labels)
    if type(num_rounds) is not int or num_rounds < 1:
        raise ValueError(f"num_rounds must be an int >= 1, got {num_rounds!r}")
    n_pos = int(labels.sum())
    n_neg = labels.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"labels must hold both classes, got {n_pos} positives and {n_neg} negatives")
    if weights is None:
        one = torch.ones(labels.shape[0], dtype=torch.float64)
        w = torch.where(labels == 1, one / (2 * n_pos), one / (2 * n_neg))  # [N]
    else:
        if not isinstance(weights, Tensor) or tuple(weights.shape) != (labels.shape[0],):
            raise ValueError(f"weights must have shape [{labels.shape[0]}]")
        if bool((weights < 0).any()) or float(weights.sum()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        w = weights.double().clone()
    out: dict[str, list] = {"feature": [], "threshold": [], "polarity": [], "alpha": [], "error": []}
    if features.shape[1] == 0:
        raise ValueError(f"features must have at least one feature, got {list(features.shape)}")
    values, order = features.double().sort(dim=0)  # sorted once: the weights change, the order does not
    for _ in range(num_rounds):
        w = w / w.sum()
        j, thr, pol, err = _best_stump(values, order, labels, w)
        e = min(max(err, EPS_ERROR), 1.0 - EPS_ERROR)
        beta = e / (1.0 - e)
        correct = stump_predict(features, j, thr, pol) == labels  # [N]
        w = torch.where(correct, w * beta, w)
        for key, v in (("feature", j), ("threshold", thr), ("polarity", pol), ("alpha", math.log(1.0 / beta)),
                       ("error", err)):
            out[key].append(v)
    return {
        "feature": torch.tensor(out["feature"], dtype=torch.int64),
        "threshold": torch.tensor(out["threshold"], dtype=torch.float64),
        "polarity": torch.tensor(out["polarity"], dtype=torch.int64),
        "alpha": torch.tensor(out["alpha"], dtype=torch.float64),
        "error": torch.tensor(out["error"], dtype=torch.float64),
    }
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_features(features)
    _check_model(model)
    return _weak(features, model) @ model["alpha"].double()  # [N]
    # END SOLUTION


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
    # BEGIN SOLUTION
    scores = boosted_scores(features, model)
    return (scores >= 0.5 * model["alpha"].double().sum()).long()
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(min_detection_rate, (int, float)) or not 0 < min_detection_rate <= 1:
        raise ValueError(f"min_detection_rate must be in (0, 1], got {min_detection_rate!r}")
    if not isinstance(scores, Tensor) or scores.dim() != 1 or not isinstance(labels, Tensor) \
            or labels.shape != scores.shape:
        raise ValueError("scores and labels must be 1-D tensors of the same length")
    pos = scores[labels == 1].double().sort(descending=True).values
    if pos.numel() == 0:
        raise ValueError("labels must hold at least one positive")
    k = math.ceil(min_detection_rate * pos.numel() - 1e-9)
    return float(pos[max(k, 1) - 1])
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_features(features, labels)
    if not isinstance(stage_rounds, (list, tuple)) or len(stage_rounds) == 0 \
            or any(type(r) is not int or r < 1 for r in stage_rounds):
        raise ValueError(f"stage_rounds must be a non-empty list of ints >= 1, got {stage_rounds!r}")
    if not isinstance(min_detection_rate, (int, float)) or not 0 < min_detection_rate <= 1:
        raise ValueError(f"min_detection_rate must be in (0, 1], got {min_detection_rate!r}")
    active = torch.ones(labels.shape[0], dtype=torch.bool)  # positives always; negatives still accepted
    cascade = []
    for rounds in stage_rounds:
        if not bool((active & (labels == 0)).any()):
            break
        x, y = features[active], labels[active]
        model = adaboost(x, y, rounds)
        thr = stage_threshold(boosted_scores(x, model), y, min_detection_rate)
        model["stage_threshold"] = torch.tensor(thr, dtype=torch.float64)
        cascade.append(model)
        passed = boosted_scores(features, model) >= thr  # [N]
        active = active & (passed | (labels == 1))
    return cascade
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_features(features)
    alive = torch.ones(features.shape[0], dtype=torch.bool)
    depth = torch.zeros(features.shape[0], dtype=torch.int64)
    for stage in cascade:
        if "stage_threshold" not in stage:
            raise ValueError("every cascade stage needs a 'stage_threshold'")
        alive = alive & (boosted_scores(features, stage) >= float(stage["stage_threshold"]))
        depth += alive.long()
    return alive.long(), depth
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_features(features, labels)
    if int(labels.sum()) in (0, labels.shape[0]):
        raise ValueError("labels must hold both classes")
    alive = torch.ones(features.shape[0], dtype=torch.bool)
    rates: dict[str, list] = {"detection_rate": [], "false_positive_rate": []}
    for stage in cascade:
        passed = boosted_scores(features, stage) >= float(stage["stage_threshold"])
        for key, cls in (("detection_rate", 1), ("false_positive_rate", 0)):
            reach = alive & (labels == cls)
            n = int(reach.sum())
            rates[key].append(float((reach & passed).sum()) / n if n else 0.0)
        alive = alive & passed
    d = torch.tensor(rates["detection_rate"], dtype=torch.float64)
    f = torch.tensor(rates["false_positive_rate"], dtype=torch.float64)
    return {"detection_rate": d, "false_positive_rate": f,
            "overall_detection_rate": d.cumprod(0), "overall_false_positive_rate": f.cumprod(0)}
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(windows, Tensor) or windows.dim() != 3:
        got = list(windows.shape) if isinstance(windows, Tensor) else type(windows).__name__
        raise ValueError(f"windows must have shape [N, h, w], got {got}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    x = windows.double()
    mean = x.mean(dim=(1, 2), keepdim=True)  # [N, 1, 1]
    std = x.var(dim=(1, 2), unbiased=False, keepdim=True).sqrt().clamp(min=eps)  # [N, 1, 1]
    return (x - mean) / std
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape [N, 4], got {list(getattr(boxes, 'shape', []))}")
    if not isinstance(scores, Tensor) or tuple(scores.shape) != (boxes.shape[0],):
        raise ValueError(f"scores must have shape [{boxes.shape[0]}], got {list(getattr(scores, 'shape', []))}")
    order = torch.sort(scores, descending=True, stable=True).indices
    b = boxes[order].double()  # [N, 4]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # [N]
    iw = (torch.min(b[:, None, 2], b[None, :, 2]) - torch.max(b[:, None, 0], b[None, :, 0])).clamp(min=0)
    ih = (torch.min(b[:, None, 3], b[None, :, 3]) - torch.max(b[:, None, 1], b[None, :, 1])).clamp(min=0)
    inter = iw * ih  # [N, N]
    union = area[:, None] + area[None, :] - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1e-300), torch.zeros_like(inter))
    removed = torch.zeros(b.shape[0], dtype=torch.bool)
    keep = []
    for i in range(b.shape[0]):
        if removed[i]:
            continue
        keep.append(i)
        removed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.int64)]
    # END SOLUTION


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
    # BEGIN SOLUTION
    for name, v in (("height", height), ("width", width), ("window", window), ("stride", stride)):
        if type(v) is not int or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    if any(not isinstance(s, (int, float)) or not s > 0 for s in scales):
        raise ValueError(f"scales must all be > 0, got {list(scales)!r}")
    out = [torch.zeros(0, 4, dtype=torch.float64)]
    for s in scales:
        lh, lw = round(height / s), round(width / s)
        if lh < window or lw < window:
            continue
        sy, sx = height / lh, width / lw
        ys = torch.arange(0, lh - window + 1, stride, dtype=torch.float64)
        xs = torch.arange(0, lw - window + 1, stride, dtype=torch.float64)
        y, x = torch.meshgrid(ys, xs, indexing="ij")
        y, x = y.reshape(-1), x.reshape(-1)
        out.append(torch.stack([x * sx, y * sy, (x + window) * sx, (y + window) * sy], dim=1))
    return torch.cat(out).float()
    # END SOLUTION


# BEGIN SOLUTION
def _level_windows(image: Tensor, window: int, stride: int, scales: list[float]) -> Tensor:
    """``[P, window, window]`` windows in :func:`sliding_windows` order (bilinear pyramid)."""
    H, W = image.shape
    out = [image.new_zeros(0, window, window, dtype=torch.float64)]
    for s in scales:
        lh, lw = round(H / s), round(W / s)
        if lh < window or lw < window:
            continue
        level = F.interpolate(image.double()[None, None], size=(lh, lw), mode="bilinear", align_corners=False,
                              antialias=True)  # [1, 1, lh, lw]
        patches = level.unfold(2, window, stride).unfold(3, window, stride)  # [1, 1, ny, nx, window, window]
        out.append(patches.reshape(-1, window, window))
    return torch.cat(out)


def _used_features(cascade: list[dict[str, Tensor]]) -> tuple[Tensor, list[dict[str, Tensor]]]:
    """The distinct feature columns of a cascade and the cascade re-indexed onto them."""
    used = torch.unique(torch.cat([s["feature"] for s in cascade]))
    lookup = torch.full((int(used.max()) + 1,), -1, dtype=torch.int64)
    lookup[used] = torch.arange(used.numel())
    return used, [{**s, "feature": lookup[s["feature"]]} for s in cascade]
# END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(image, Tensor) or image.dim() != 2:
        raise ValueError(f"image must have shape [H, W], got {list(getattr(image, 'shape', []))}")
    if len(cascade) == 0:
        raise ValueError("cascade must have at least one stage")
    scales = [2.0, 2.5, 3.0, 3.5, 4.0] if scales is None else scales
    boxes = sliding_windows(image.shape[0], image.shape[1], window, stride, scales)  # [P, 4]
    windows = normalize_windows(_level_windows(image, window, stride, scales))  # [P, window, window]
    used, local = _used_features(cascade)
    feats = haar_features(integral_image(windows), rects[used], signs[used])  # [P, U]
    accepted, _ = cascade_predict(feats, local)
    keep = accepted.bool()
    scores = boosted_scores(feats[keep], local[-1]) - float(local[-1]["stage_threshold"])
    boxes = boxes[keep]
    order = nms(boxes, scores, iou_threshold)
    return {"boxes": boxes[order].float(), "scores": scores[order].float()}
    # END SOLUTION


# BEGIN SOLUTION
# the reference detector's recipe (README "Viola-Jones"): 12 x 12 windows, every 2nd feature
# position of every type (a subsample of the 2-rectangle types), random negative crops
_STAGES = [2, 5, 10, 15, 20, 25, 30]
_NEGATIVES = 1000  # negatives per stage, topped up with fresh crops the cascade still accepts
_FEATURE_STEP = 2
_STAGE_RATE = 1.0  # per-stage detection rate on the training faces
_JITTERS = 2  # shifted and slightly zoomed copies of every (mirrored) face
_TILE = 32


def _resize(images: Tensor, size: int) -> Tensor:
    return F.interpolate(images.double()[:, None], size=(size, size), mode="bilinear", align_corners=False,
                         antialias=True)[:, 0]


def _feature_set() -> tuple[Tensor, Tensor]:
    rects, signs = haar_feature_coords(WINDOW, WINDOW)
    keep = (rects[:, 0, 0] % _FEATURE_STEP == 0) & (rects[:, 0, 1] % _FEATURE_STEP == 0)
    return rects[keep], signs[keep]


def _random_crops(images: Tensor, count: int, gen: torch.Generator, lo: int = 8, hi: int = 25) -> Tensor:
    """``count`` square crops (side ``lo .. hi``) of the images, resized to WINDOW; one resize
    per crop side."""
    n, H, W = images.shape
    side = torch.randint(lo, min(hi, H, W) + 1, (count,), generator=gen)
    which = torch.randint(0, n, (count,), generator=gen)
    fy = torch.rand(count, generator=gen, dtype=torch.float64)
    fx = torch.rand(count, generator=gen, dtype=torch.float64)
    out = torch.empty(count, WINDOW, WINDOW, dtype=torch.float64)
    for s in side.unique().tolist():
        idx = (side == s).nonzero()[:, 0]  # [c]
        y = (fy[idx] * (H - s + 1)).long().clamp(max=H - s)
        x = (fx[idx] * (W - s + 1)).long().clamp(max=W - s)
        rows = y[:, None] + torch.arange(s)  # [c, s]
        cols = x[:, None] + torch.arange(s)  # [c, s]
        crops = images[which[idx][:, None, None], rows[:, :, None], cols[:, None, :]]  # [c, s, s]
        out[idx] = _resize(crops, WINDOW)
    return out


def _mosaics(images: Tensor, count: int, gen: torch.Generator, height: int = 96, width: int = 128) -> Tensor:
    """``count`` backgrounds tiled from ``_TILE``-pixel resized images (as the scenes are)."""
    tiles = _resize(images, _TILE)  # [M, 32, 32]
    ny, nx = -(-height // _TILE), -(-width // _TILE)
    pick = torch.randint(0, images.shape[0], (count, ny, nx), generator=gen)
    flip = torch.rand(count, ny, nx, generator=gen) < 0.5
    t = torch.where(flip[..., None, None], tiles[pick].flip(-1), tiles[pick])  # [count, ny, nx, 32, 32]
    return t.permute(0, 1, 3, 2, 4).reshape(count, ny * _TILE, nx * _TILE)[:, :height, :width]
# END SOLUTION


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
    # BEGIN SOLUTION
    for name, t in (("faces", faces), ("nonfaces", nonfaces)):
        if not isinstance(t, Tensor) or t.dim() != 3 or t.shape[0] == 0:
            raise ValueError(f"{name} must have shape [N, H, W] with N >= 1, got {list(getattr(t, 'shape', []))}")
    start = time.process_time()
    gen = torch.Generator().manual_seed(seed)
    rects, signs = _feature_set()
    both = torch.cat([faces, faces.flip(-1)])  # mirrored faces too
    jitter = [_random_crops(both, both.shape[0], gen, FACE_SIZE - 3, FACE_SIZE) for _ in range(_JITTERS)]
    pos = torch.cat([_resize(both, WINDOW)] + jitter)  # [2P (1 + _JITTERS), 12, 12]
    pos_feats = haar_features(integral_image(normalize_windows(pos)), rects, signs)  # [2P, K]
    mosaics = _mosaics(nonfaces, 16, gen)

    def candidates(count: int) -> Tensor:
        half = count // 2
        return torch.cat([_random_crops(nonfaces, half, gen), _random_crops(mosaics, count - half, gen, 20, 52)])

    def accepted(windows: Tensor, cascade: list) -> Tensor:
        if not cascade:
            return torch.ones(windows.shape[0], dtype=torch.bool)
        used, local = _used_features(cascade)
        feats = haar_features(integral_image(normalize_windows(windows)), rects[used], signs[used])
        return cascade_predict(feats, local)[0].bool()

    cascade: list = []
    negs = candidates(_NEGATIVES)
    for rounds in _STAGES:
        if time.process_time() - start > time_budget_s and cascade:
            break
        negs = negs[accepted(negs, cascade)]
        for _ in range(8):  # bootstrapping: the false positives of the cascade so far
            if negs.shape[0] >= _NEGATIVES:
                break
            fresh = candidates(4 * _NEGATIVES)
            negs = torch.cat([negs, fresh[accepted(fresh, cascade)]])
        negs = negs[:_NEGATIVES]
        if negs.shape[0] < 20:
            break
        feats = torch.cat([pos_feats, haar_features(integral_image(normalize_windows(negs)), rects, signs)])
        labels = torch.cat([torch.ones(pos.shape[0]), torch.zeros(negs.shape[0])]).long()
        cascade.append(train_cascade(feats, labels, [rounds], _STAGE_RATE)[0])
    _STATE.update(cascade=cascade, rects=rects, signs=signs)
    # END SOLUTION


def classify_faces(images: Tensor) -> Tensor:
    """Face (1) or not (0) for 25 x 25 images, with the cascade :func:`train_face_detector` made.

    Args:
        images (Tensor[N, 25, 25]): float32 grey images in [0, 1].

    Returns:
        Tensor[N]: int64 in ``{0, 1}``.

    Raises:
        RuntimeError: if :func:`train_face_detector` has not been called.
    """
    # BEGIN SOLUTION
    if "cascade" not in _STATE:
        raise RuntimeError("classify_faces: call train_face_detector(faces, nonfaces) first")
    windows = normalize_windows(_resize(images, WINDOW))
    feats = haar_features(integral_image(windows), _STATE["rects"], _STATE["signs"])
    return cascade_predict(feats, _STATE["cascade"])[0]
    # END SOLUTION


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
    # BEGIN SOLUTION
    if "cascade" not in _STATE:
        raise RuntimeError("detect_faces: call train_face_detector(faces, nonfaces) first")
    out = cascade_detect(image, _STATE["cascade"], _STATE["rects"], _STATE["signs"], stride=1,
                         scales=[2.0, 2.4, 2.8, 3.2, 3.6, 4.0])
    # already by decreasing score (ties in window order): the first ones
    return {"boxes": out["boxes"][:MAX_DETECTIONS], "scores": out["scores"][:MAX_DETECTIONS]}
    # END SOLUTION
