"""Evaluating a tracker: CLEAR-MOT (MOTA, MOTP) and identity (IDF1) metrics.

Rows of ground truth and predictions are ``(frame, id, x1, y1, x2, y2)``.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["mot_metrics"]


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
    raise NotImplementedError("mot_metrics: implement me (see README.md, section `mot_eval`)")
