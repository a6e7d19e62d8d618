"""Evaluating a tracker: CLEAR-MOT (MOTA, MOTP) and identity (IDF1) metrics.

Rows of ground truth and predictions are ``(frame, id, x1, y1, x2, y2)``.
"""

from __future__ import annotations

# BEGIN SOLUTION
import numpy as np
import torch
# END SOLUTION
from torch import Tensor

# BEGIN SOLUTION
from .association import _box_iou, linear_assignment
# END SOLUTION

__all__ = ["mot_metrics"]


# BEGIN SOLUTION
def _check_rows(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, 6], got {type(x).__name__}")
    if x.dim() != 2 or x.shape[1] != 6:
        raise ValueError(f"{name} must have shape [N, 6] with rows (frame, id, x1, y1, x2, y2), got {list(x.shape)}")
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds nan or infinite values")
    order = np.lexsort((x[:, 1].numpy(), x[:, 0].numpy()))  # by frame, then id
    x = x[torch.from_numpy(order)]
    same = (x[1:, 0] == x[:-1, 0]) & (x[1:, 1] == x[:-1, 1])
    if bool(same.any()):
        k = int(torch.nonzero(same)[0])
        raise ValueError(f"{name}: id {x[k, 1].item():g} appears more than once in frame {x[k, 0].item():g}")
    return x


def _divide(a: float, b: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.true_divide(np.float64(a), np.float64(b)))


def _max_matching_min_cost(dist: Tensor, valid: Tensor) -> list[tuple[int, int]]:
    """Pairs (row, col) of a matching that has as many valid pairs as possible and, among
    those, the smallest total distance (invalid pairs cost a constant that no saving on valid
    pairs can make up for)."""
    r = min(dist.shape)
    c = float(dist[valid].abs().max()) + 1.0
    large = 2 * r * c + 1
    cost = torch.where(valid, dist, torch.full_like(dist, large))
    rows, cols = linear_assignment(cost)
    return [(i, j) for i, j in zip(rows.tolist(), cols.tolist()) if bool(valid[i, j])]
# END SOLUTION


def mot_metrics(gt: Tensor, pred: Tensor, iou_threshold: float = 0.5) -> dict:
    """CLEAR-MOT and identity metrics of one sequence, as motmetrics computes them.

    A gt object ``o`` and a predicted box ``h`` of the same frame *may match* when their
    distance ``d = 1 - IoU`` satisfies ``d <= 1 - iou_threshold`` (compute it exactly like
    this; the rows are converted to float64 first, so IoUs and ratios are float64 whatever the
    input dtype). The frames are those present in ``gt`` or ``pred``, in increasing order; in each:

    1. **keep earlier matches**: visiting the frame's objects in ascending id order, an object
       whose latest match (in any earlier frame) was predicted id ``h`` keeps ``h`` if ``h`` is
       in this frame, not yet taken, and may match;
    2. **assign the rest**: among the remaining objects and predictions, choose the pairs that
       may match with a linear assignment (:func:`linear_assignment`) that first maximises the
       number of pairs and then minimises their summed distance. A new pair whose object's
       latest match was another predicted id is an **ID switch**; the others are matches.
       Where several assignments are optimal (equal distances, e.g. disjoint boxes at
       ``iou_threshold = 0``, all at distance 1), which one is taken is not specified, and
       motmetrics' choice follows scipy's internals: no test depends on that choice;
    3. remaining objects are **misses** (FN), remaining predictions **false positives** (FP).

    Then ``mota = 1 - (FN + FP + IDSW) / num_objects`` and ``motp`` is the mean distance
    ``1 - IoU`` of all matched pairs, switches included (motmetrics' convention: a distance,
    lower is better, not the IoU overlap of the CLEAR-MOT paper).

    Identity metrics: ``c[o, h]`` counts the frames in which gt id ``o`` and predicted id
    ``h`` may match. One global one-to-one assignment of gt ids to predicted ids maximises the
    summed ``c``; that sum is ``idtp``; ``idfn = num_objects - idtp``,
    ``idfp = num_predictions - idtp``, ``idp = idtp / num_predictions``,
    ``idr = idtp / num_objects``, ``idf1 = 2 idtp / (num_objects + num_predictions)``.

    Ratios with a zero denominator follow numpy (``0/0 = nan``, ``x/0 = inf``), e.g. ``motp``
    is nan when nothing matched.

    Args:
        gt (Tensor[G, 6]): ground truth rows (frame, id, x1, y1, x2, y2); frames and ids are
            integer-valued; an id appears at most once per frame.
        pred (Tensor[P, 6]): the tracker's rows, same layout and rules.
        iou_threshold (float): minimum IoU of a match, in [0, 1].

    Returns:
        dict: ``num_frames``, ``num_objects`` (G), ``num_predictions`` (P), ``num_matches``,
        ``num_switches``, ``num_false_positives``, ``num_misses``, ``idtp``, ``idfp``, ``idfn``
        (Python ints) and ``mota``, ``motp``, ``idf1``, ``idp``, ``idr`` (Python floats).

    Raises:
        TypeError: if ``gt`` or ``pred`` is not a tensor.
        ValueError: on a wrong shape, non-finite values, an id repeated within a frame, or
            ``iou_threshold`` outside [0, 1].
    """
    # BEGIN SOLUTION
    gt = _check_rows("gt", gt)
    pred = _check_rows("pred", pred)
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    max_d = 1.0 - float(iou_threshold)
    frames = torch.unique(torch.cat([gt[:, 0], pred[:, 0]])).tolist()
    latest: dict[float, float] = {}  # gt id -> predicted id of its latest match
    pair_frames: dict[tuple[float, float], int] = {}  # (gt id, pred id) -> frames that may match
    matches = switches = 0
    dist_sum = 0.0
    for f in frames:
        g = gt[gt[:, 0] == f]
        p = pred[pred[:, 0] == f]
        if len(g) == 0 or len(p) == 0:
            continue
        dist = 1.0 - _box_iou(g[:, 2:], p[:, 2:])  # [Gf, Pf]
        valid = dist <= max_d  # [Gf, Pf]
        oids, hids = g[:, 1].tolist(), p[:, 1].tolist()
        for i, j in torch.nonzero(valid).tolist():
            key = (oids[i], hids[j])
            pair_frames[key] = pair_frames.get(key, 0) + 1
        free_g = [True] * len(oids)
        free_p = [True] * len(hids)
        column = {h: j for j, h in enumerate(hids)}
        for i, o in enumerate(oids):  # 1. keep earlier matches
            j = column.get(latest.get(o))
            if j is not None and free_p[j] and bool(valid[i, j]):
                free_g[i] = free_p[j] = False
                matches += 1
                dist_sum += float(dist[i, j])
        rows = [i for i in range(len(oids)) if free_g[i]]
        cols = [j for j in range(len(hids)) if free_p[j]]
        if not rows or not cols:
            continue
        sub_valid = valid[rows][:, cols]
        if not bool(sub_valid.any()):
            continue
        for a, b in _max_matching_min_cost(dist[rows][:, cols], sub_valid):  # 2. assign the rest
            i, j = rows[a], cols[b]
            o, h = oids[i], hids[j]
            if o in latest and latest[o] != h:
                switches += 1
            else:
                matches += 1
            latest[o] = h
            dist_sum += float(dist[i, j])

    idtp = 0
    if pair_frames:
        gt_ids = sorted({o for o, _ in pair_frames})
        pred_ids = sorted({h for _, h in pair_frames})
        gi = {o: k for k, o in enumerate(gt_ids)}
        pi = {h: k for k, h in enumerate(pred_ids)}
        counts = torch.zeros(len(gt_ids), len(pred_ids), dtype=torch.float64)
        for (o, h), n in pair_frames.items():
            counts[gi[o], pi[h]] = n
        rows, cols = linear_assignment(-counts)
        idtp = int(counts[rows, cols].sum().item())

    num_objects, num_predictions = len(gt), len(pred)
    detected = matches + switches
    misses, false_positives = num_objects - detected, num_predictions - detected
    return {
        "num_frames": len(frames),
        "num_objects": num_objects,
        "num_predictions": num_predictions,
        "num_matches": matches,
        "num_switches": switches,
        "num_false_positives": false_positives,
        "num_misses": misses,
        "idtp": idtp,
        "idfp": num_predictions - idtp,
        "idfn": num_objects - idtp,
        "mota": 1.0 - _divide(misses + switches + false_positives, num_objects),
        "motp": _divide(dist_sum, detected),
        "idf1": _divide(2 * idtp, num_objects + num_predictions),
        "idp": _divide(idtp, num_predictions),
        "idr": _divide(idtp, num_objects),
    }
    # END SOLUTION
