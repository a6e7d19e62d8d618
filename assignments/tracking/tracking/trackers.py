"""Online multi-object trackers: an IoU tracker (tracking by detection) and a Tracktor-style
tracker (tracking by regression), plus ``track_sequence`` that runs one over a whole sequence.

A tracker is fed one frame at a time through ``step`` and returns the tracks it reports in that
frame as plain tensors: ``{"ids": Tensor[K] int64, "boxes": Tensor[K, 4]}``, ascending ids.
Track ids are 1, 2, 3, ... in order of birth and never reused.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["nms", "regress_to_detections", "IoUTracker", "TracktorTracker", "track_sequence"]


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression.

    Boxes are visited by decreasing score (equal scores in input order); a box is kept unless
    its IoU with an already kept box is strictly greater than ``iou_threshold``. Equal to
    ``torchvision.ops.nms`` for distinct scores.

    Args:
        boxes (Tensor[N, 4]): (x1, y1, x2, y2), float.
        scores (Tensor[N]): one score per box.
        iou_threshold (float): boxes overlapping a kept box with IoU > iou_threshold are discarded.

    Returns:
        Tensor[K] int64: indices of the kept boxes, by decreasing score (empty for N = 0).

    Raises:
        TypeError: if ``boxes`` or ``scores`` is not a tensor.
        ValueError: if ``boxes`` is not [N, 4] or ``scores`` is not [N].
    """
    raise NotImplementedError("nms: implement me (see README.md, section `trackers`)")


def regress_to_detections(track_boxes: Tensor, dets: Tensor, scores: Tensor,
                          min_iou: float = 0.5) -> tuple[Tensor, Tensor]:
    """A stand-in for a detector's box-regression head, built from the frame's detections.

    Tracktor regresses every track's previous box with the detector's second stage on the new
    image. Without images, each track box moves to the detection that overlaps it most (the
    first one on ties) and takes its score, if that IoU is at least ``min_iou``; otherwise the
    box stays where it was and its score is 0 (the track is lost).

    Args:
        track_boxes (Tensor[T, 4]): (x1, y1, x2, y2) boxes of the tracks in the previous frame.
        dets (Tensor[D, 4]): (x1, y1, x2, y2) detections of the new frame (all of them, also
            the low-scoring ones).
        scores (Tensor[D]): their scores.
        min_iou (float): the IoU a detection needs to capture a track, in [0, 1].

    Returns:
        tuple[Tensor[T, 4], Tensor[T]]: the regressed boxes and their scores, in the dtype of
        ``dets`` and ``scores``.

    Raises:
        TypeError: if a tensor argument is not a tensor, or ``min_iou`` is not a real number
            (the message names it).
        ValueError: if a shape is wrong or ``min_iou`` is outside [0, 1].
    """
    raise NotImplementedError("regress_to_detections: implement me (see README.md, section `trackers`)")


class IoUTracker:
    """Tracking by detection: associate each frame's detections to the existing tracks.

    At frame ``t`` (the t-th call of :meth:`step`, from 1):

    1. keep the detections with ``score >= score_threshold`` (in their input order);
    2. predict where every track (ascending id) is in frame ``t`` with ``motion``:

       * ``"constant_position"``: its last matched box;
       * ``"constant_velocity"``: ``box + (t - last_frame) * v`` where ``box`` is its last
         matched box (at frame ``last_frame``) and ``v`` its velocity per frame: 0 for a track
         matched only once, else ``(box - previous_box) / (frame gap)`` from its last two matches;
       * ``"kalman"``: every track owns a :class:`KalmanBoxFilter` state (default parameters)
         started with ``initiate`` at birth; at every step *every* track's state is first
         advanced with ``predict``; the prediction is ``to_boxes(mean)``; a matched track's
         state is then corrected with ``update`` by its detection;
    3. cost: ``iou_cost(predictions, detections)``; when ``embeddings`` are given and
       ``appearance_weight > 0``, ``appearance_cost(predictions, detections,
       track_embeddings, embeddings, weight=appearance_weight)`` instead;
    4. ``associate(cost, max_cost)`` (``max_cost = 1 - iou_threshold`` when None: a pair needs
       IoU > iou_threshold);
    5. a matched track takes the detection's box (velocity and Kalman state updated, its
       embedding becomes ``m * old + (1 - m) * new`` with ``m = embedding_momentum``);
    6. a track not matched for more than ``patience`` frames (``t - last_frame > patience``)
       is deleted; until then it can be matched again (re-identified) under its old id;
    7. every unmatched detection (in input order) starts a new track with the next id; its
       embedding is the detection's.

    :meth:`step` returns the tracks matched or born in this frame, with their detection boxes.

    Args:
        iou_threshold (float): IoU a pair must exceed (when ``max_cost`` is None), in [0, 1].
        score_threshold (float): detections scoring less are ignored.
        patience (int): frames a lost track waits to be re-identified (>= 0).
        motion (str): ``"constant_position"``, ``"constant_velocity"`` or ``"kalman"``.
        appearance_weight (float): weight of the embedding distance in the cost, in [0, 1].
        max_cost (float | None): association threshold; None means ``1 - iou_threshold``.
        embedding_momentum (float): momentum of a track's embedding, in [0, 1).

    Raises:
        TypeError: if a parameter has the wrong type.
        ValueError: if a parameter is out of range or ``motion`` is unknown.
    """

    def __init__(
        self,
        iou_threshold: float = 0.3,
        score_threshold: float = 0.5,
        patience: int = 5,
        motion: str = "constant_velocity",
        appearance_weight: float = 0.0,
        max_cost: float | None = None,
        embedding_momentum: float = 0.0,
    ) -> None:
        raise NotImplementedError("IoUTracker.__init__: implement me (see README.md, section `trackers`)")

    def step(self, dets: Tensor, scores: Tensor, embeddings: Tensor | None = None) -> dict:
        """Process one frame (see the class docstring for the exact rules).

        Args:
            dets (Tensor[D, 4]): (x1, y1, x2, y2) detections of the frame, float.
            scores (Tensor[D]): their scores.
            embeddings (Tensor[D, E] | None): their appearance embeddings; give them on every
                step or on none.

        Returns:
            dict: ``ids`` (Tensor[K] int64, ascending) and ``boxes`` (Tensor[K, 4], the dtype
            of ``dets``) of the tracks matched or born in this frame.

        Raises:
            TypeError: if an argument is not a tensor.
            ValueError: if shapes do not match, or embeddings are given on some steps only.
        """
        raise NotImplementedError("IoUTracker.step: implement me (see README.md, section `trackers`)")


class TracktorTracker:
    """Tracking by regression (Bergmann, Meinhardt and Leal-Taixé, "Tracking without bells and
    whistles", ICCV 2019), with a box regressor given from outside.

    At frame ``t`` (the t-th call of :meth:`step`, from 1), with ``A`` the active tracks of
    frame ``t - 1`` (ascending id, what :meth:`active_tracks` returns before the step):

    1. regression: ``regressed_boxes``/``regressed_scores`` (one row per track of ``A``) are
       given, or computed as ``regress_to_detections(A.boxes, dets, scores, regression_iou)``;
    2. a track whose regressed score is below ``sigma_active`` becomes inactive (it keeps its
       box of frame ``t - 1``);
    3. NMS among the remaining tracks, ``nms(regressed boxes, regressed scores,
       lambda_active)``: suppressed tracks become inactive; the survivors take their regressed
       boxes and stay active;
    4. new detections: those with ``score >= sigma_detection``, then ``nms(.., lambda_new)``
       among them (kept in NMS order: decreasing score), then those with IoU > ``lambda_new``
       with any surviving track box are dropped;
    5. re-identification: the inactive tracks (ascending id, including those deactivated in
       this frame) are matched to the new detections with
       ``associate(iou_cost(inactive boxes, new detections), 1 - reid_iou)``; a matched track
       becomes active again with the detection's box;
    6. each remaining new detection (in NMS order) starts a new track with the next id;
    7. inactive tracks whose last active frame is more than ``patience`` frames ago
       (``t - last_frame > patience``) are deleted.

    :meth:`step` returns the active tracks of frame ``t`` with their boxes.

    Args:
        sigma_active (float): regression score a track needs to stay active.
        lambda_active (float): NMS IoU threshold between active tracks, in [0, 1].
        sigma_detection (float): score a detection needs to start or revive a track.
        lambda_new (float): NMS IoU threshold among new detections and against active tracks, in [0, 1].
        patience (int): frames an inactive track waits to be re-identified (>= 0).
        reid_iou (float): IoU a pair must exceed to re-identify an inactive track, in [0, 1].
        regression_iou (float): ``min_iou`` of the built-in :func:`regress_to_detections`, in
            [0, 1] (checked by the constructor).

    Raises:
        TypeError: if a parameter has the wrong type.
        ValueError: if a parameter is out of range.
    """

    def __init__(
        self,
        sigma_active: float = 0.5,
        lambda_active: float = 0.6,
        sigma_detection: float = 0.5,
        lambda_new: float = 0.3,
        patience: int = 10,
        reid_iou: float = 0.5,
        regression_iou: float = 0.5,
    ) -> None:
        raise NotImplementedError("TracktorTracker.__init__: implement me (see README.md, section `trackers`)")

    def active_tracks(self) -> dict:
        """The tracks active after the latest step, i.e. the ones the next step regresses.

        Returns:
            dict: ``ids`` (Tensor[A] int64, ascending) and ``boxes`` (Tensor[A, 4] float64,
            their boxes in the latest frame). Empty before the first step.
        """
        raise NotImplementedError("TracktorTracker.active_tracks: implement me (see README.md, section `trackers`)")

    def step(self, dets: Tensor, scores: Tensor, regressed_boxes: Tensor | None = None,
             regressed_scores: Tensor | None = None) -> dict:
        """Process one frame (see the class docstring for the exact rules).

        Args:
            dets (Tensor[D, 4]): (x1, y1, x2, y2) detections of the frame, float.
            scores (Tensor[D]): their scores.
            regressed_boxes (Tensor[A, 4] | None): the active tracks' boxes regressed on this
                frame, in the order of :meth:`active_tracks`; None uses
                :func:`regress_to_detections`.
            regressed_scores (Tensor[A] | None): their scores; given together with the boxes.

        Returns:
            dict: ``ids`` (Tensor[K] int64, ascending) and ``boxes`` (Tensor[K, 4], the dtype
            of ``dets``) of the active tracks of this frame.

        Raises:
            TypeError: if an argument is not a tensor.
            ValueError: if shapes do not match, or only one of the regressed tensors is given.
        """
        raise NotImplementedError("TracktorTracker.step: implement me (see README.md, section `trackers`)")


def track_sequence(detections: list[Tensor], embeddings: list[Tensor] | None = None,
                   method: str = "iou", **params) -> Tensor:
    """Run a tracker over a whole sequence and list its output in MOTChallenge order.

    Frame ``t`` (1-based) is ``detections[t - 1]``. ``method="iou"`` runs :class:`IoUTracker`
    (with ``embeddings[t - 1]`` as the frame's embeddings when given), ``"tracktor"`` runs
    :class:`TracktorTracker` (built-in regressor; embeddings unused). ``params`` override the
    defaults, which are, for ``"iou"``: ``iou_threshold=0.3, score_threshold=0.5, patience=30,
    motion="kalman", appearance_weight=0.5, max_cost=0.75, embedding_momentum=0.8``, and for
    ``"tracktor"``: ``sigma_active=0.3, lambda_active=0.6, sigma_detection=0.5,
    lambda_new=0.3, patience=30, reid_iou=0.3, regression_iou=0.5``.

    This is the entry point of the graded accuracy check, which calls
    ``track_sequence(detections, embeddings)`` on held-out sequences and scores MOTA and IDF1:
    your own defaults (or a better tracker) are yours to choose there.

    Args:
        detections (list[Tensor[D_t, 5]]): per frame, rows (x1, y1, x2, y2, score).
        embeddings (list[Tensor[D_t, E]] | None): per frame, one embedding per detection.
        method (str): ``"iou"`` or ``"tracktor"``.
        **params: keyword arguments of the tracker's constructor.

    Returns:
        Tensor[N, 6]: rows (frame, id, x1, y1, x2, y2) of every reported track in every frame,
        sorted by frame then id, in the dtype of the detections (float32 for an empty list).

    Raises:
        TypeError: if ``detections`` is not a list of tensors.
        ValueError: if a frame is not [D_t, 5], ``embeddings`` has another length, or
            ``method`` is unknown.
    """
    raise NotImplementedError("track_sequence: implement me (see README.md, section `trackers`)")
