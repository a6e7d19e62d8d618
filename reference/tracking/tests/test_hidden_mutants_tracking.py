"""Hidden tests for the classes of one-mistake variants that survived `cv3 check tracking --mutants`
(issue 11): every documented parameter range at its boundary (with the documented exception and a
message naming the parameter), every threshold comparison at exactly its threshold, the dtype
promised for mixed and non-default input dtypes, single-element next to empty inputs, and the
axis of every reduction on non-square shapes.

Oracles: torch.cdist, torchvision.ops.box_iou, numpy Kalman equations written out below, float64
loops in the tests, and hand-made scenes whose outcome follows from the rules in the docstrings
(the IoU values used at a threshold are exact in binary floating point: 1/2, 1/4, 3/4).
"""

import math

import numpy as np
import pytest
import torch
import torchvision

from harness.testkit import assert_refused_or_same, assert_tensor


def box(x, y, w=10.0, h=20.0):
    return [x, y, x + w, y + h]


def frame(boxes, scores, dtype=torch.float32):
    return torch.tensor(boxes, dtype=dtype).reshape(-1, 4), torch.tensor(scores, dtype=dtype)


def ids_of(out):
    ids = out["ids"]
    assert type(ids) is torch.Tensor and ids.dtype == torch.int64 and ids.dim() == 1, \
        f"ids must be an int64 Tensor[K], got {ids!r:.100}"
    return ids.tolist()


# two boxes whose IoU is exactly 1/2 (intersection 2, union 4), and exactly 1/4 (1 / 4)
HALF_A, HALF_B = [0.0, 0.0, 3.0, 1.0], [1.0, 0.0, 4.0, 1.0]
QUARTER_A, QUARTER_B = [0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]  # 1 / (4 + 4 - 1) is not 1/4
SEVEN = 1.0 / 7.0  # the IoU of QUARTER_A and QUARTER_B


# ================================================================ parameter ranges of every constructor

NAN, INF = float("nan"), float("inf")

# (parameter, accepted values, rejected values with ValueError, rejected values with TypeError)
IOU_TRACKER_PARAMS = [
    ("iou_threshold", [0.0, 1.0, 1, 0.5], [-1e-9, 1.0 + 1e-9, NAN, -INF], ["0.3", None]),
    ("score_threshold", [-INF, -5.0, 0.0, 2.0, 1], [NAN], ["0.5", None]),
    ("patience", [0, 1, 100], [-1, -10], ["3", None]),
    ("appearance_weight", [0.0, 1.0, 1], [-1e-9, 1.0 + 1e-9, NAN], ["0.5", None]),
    ("max_cost", [None, -1.0, 0.0, 2.5, 1], [NAN], ["0.7"]),
    ("embedding_momentum", [0.0, 0.5, 0.999, 0], [1.0, 1, -1e-9, 1.5, NAN], ["0.8", None]),
]

TRACKTOR_PARAMS = [
    ("sigma_active", [-INF, -1.0, 0.0, 1.0, 2.0, 1], [NAN], ["0.5", None]),
    ("lambda_active", [0.0, 1.0, 1], [-1e-9, 1.0 + 1e-9, NAN], ["0.6", None]),
    ("sigma_detection", [-INF, -1.0, 0.0, 2.0, 0], [NAN], ["0.5", None]),
    ("lambda_new", [0.0, 1.0, 0], [-1e-9, 1.0 + 1e-9, NAN], ["0.3", None]),
    ("patience", [0, 1, 50], [-1], ["2", None]),
    ("reid_iou", [0.0, 1.0], [-1e-9, 1.0 + 1e-9, NAN], ["0.5", None]),
    ("regression_iou", [0.0, 1.0], [-1e-9, 1.0 + 1e-9, NAN], ["0.5", None]),
]

KALMAN_PARAMS = [
    ("dt", [1e-9, 0.5, 2], [0.0, -1.0, NAN], ["1", None]),
    ("std_position", [0.0, 0, 3.0], [-1e-9, NAN], ["1", None]),
    ("std_velocity", [0.0, 0, 3.0], [-1e-9, NAN], ["1", None]),
    ("std_measurement", [1e-9, 2], [0.0, 0, -1.0, NAN], ["2", None]),
    ("std_initial_velocity", [1e-9, 10], [0.0, 0, -1.0, NAN], ["10", None]),
]


def check_params(make, table):
    for name, good, bad_values, bad_types in table:
        for value in good:
            make(**{name: value})
        for value in bad_values:
            with pytest.raises(ValueError, match=name):
                make(**{name: value})
        for value in bad_types:
            with pytest.raises(TypeError, match=name):
                make(**{name: value})


@pytest.mark.task("trackers")
@pytest.mark.parametrize("row", IOU_TRACKER_PARAMS, ids=[r[0] for r in IOU_TRACKER_PARAMS])
def test_iou_tracker_parameter_ranges(student, row):
    check_params(student.IoUTracker, [row])
    with pytest.raises(ValueError, match="motion"):
        student.IoUTracker(motion="Kalman")


@pytest.mark.task("trackers")
@pytest.mark.parametrize("row", TRACKTOR_PARAMS, ids=[r[0] for r in TRACKTOR_PARAMS])
def test_tracktor_parameter_ranges(student, row):
    check_params(student.TracktorTracker, [row])


@pytest.mark.task("motion")
@pytest.mark.parametrize("row", KALMAN_PARAMS, ids=[r[0] for r in KALMAN_PARAMS])
def test_kalman_parameter_ranges(student, row):
    check_params(student.KalmanBoxFilter, [row])


@pytest.mark.task("trackers")
def test_regress_to_detections_min_iou_range(student):
    tracks = torch.tensor([HALF_A])
    dets, scores = torch.tensor([HALF_B]), torch.tensor([0.9])
    for ok in (0.0, 1.0, 0, 1):
        student.regress_to_detections(tracks, dets, scores, ok)
    for bad in (-1e-9, 1.0 + 1e-9, NAN):
        with pytest.raises(ValueError, match="min_iou"):
            student.regress_to_detections(tracks, dets, scores, bad)
    for bad in ("0.5", None):
        with pytest.raises(TypeError, match="min_iou"):
            student.regress_to_detections(tracks, dets, scores, bad)


@pytest.mark.task("motion")
@pytest.mark.parametrize("fn", ["constant_position", "constant_velocity"])
def test_motion_steps_range(student, fn):
    boxes = torch.tensor([[0.0, 0.0, 4.0, 2.0], [5.0, 5.0, 9.0, 8.0]])
    prev = boxes - torch.tensor([1.0, -2.0, 1.5, 0.5])
    call = (lambda s: student.constant_position(boxes, s)) if fn == "constant_position" \
        else (lambda s: student.constant_velocity(boxes, prev, s))
    assert_tensor(call(0), boxes, case=f"{fn}, steps=0")
    for bad in (-1, -3):
        with pytest.raises(ValueError, match="steps"):
            call(bad)
    for bad in ("1", None):
        with pytest.raises(TypeError, match="steps"):
            call(bad)
    if fn == "constant_velocity":
        assert_tensor(call(3), boxes + 3 * (boxes - prev), case="constant_velocity, steps=3")


@pytest.mark.task("motion")
def test_constant_position_returns_a_new_tensor(student):
    boxes = torch.tensor([[0.0, 0.0, 4.0, 2.0]], dtype=torch.float64)
    for steps in (0, 1, 5):
        out = student.constant_position(boxes, steps)
        assert_tensor(out, boxes, case=f"steps={steps}")
        assert out.data_ptr() != boxes.data_ptr(), "constant_position must return a copy, not the input"
        out += 1  # the caller owns the copy
    assert boxes.tolist() == [[0.0, 0.0, 4.0, 2.0]], "the input was changed through the result"


# ================================================================ thresholds at exactly their value


@pytest.mark.task("trackers")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_iou_tracker_score_threshold_is_inclusive(student, dtype):
    below = float(np.nextafter(np.float32(0.5), np.float32(0)))  # representable in both dtypes
    tracker = student.IoUTracker(score_threshold=0.5, motion="constant_position")
    out = tracker.step(*frame([box(0, 0), box(50, 0), box(100, 0)], [0.5, below, 1.0], dtype))
    assert ids_of(out) == [1, 2], "a detection scoring exactly score_threshold is kept, one just below is not"
    assert_tensor(out["boxes"], torch.tensor([box(0, 0), box(100, 0)], dtype=dtype), case="kept boxes")
    # a negative threshold keeps negative scores; -inf keeps everything
    tracker = student.IoUTracker(score_threshold=-INF, motion="constant_position")
    assert ids_of(tracker.step(*frame([box(0, 0), box(50, 0)], [-3.0, -1e30], dtype))) == [1, 2]
    tracker = student.IoUTracker(score_threshold=-1.0, motion="constant_position")
    assert ids_of(tracker.step(*frame([box(0, 0), box(50, 0)], [-1.0, -1.5], dtype))) == [1]


@pytest.mark.task("trackers")
def test_iou_tracker_iou_threshold_is_strict_and_max_cost_overrides_it(student):
    # IoU exactly 1/2: with iou_threshold 0.5 (max_cost None -> 0.5) the pair must not match
    for kwargs, expected in [(dict(iou_threshold=0.5), [2]), (dict(iou_threshold=0.5 - 1e-9), [1]),
                             (dict(iou_threshold=0.5, max_cost=0.5 + 1e-9), [1]),
                             (dict(iou_threshold=0.0, max_cost=0.5), [2]),
                             (dict(iou_threshold=1.0, max_cost=0.75), [1])]:
        tracker = student.IoUTracker(motion="constant_position", **kwargs)
        assert ids_of(tracker.step(*frame([HALF_A], [0.9], torch.float64))) == [1]
        got = ids_of(tracker.step(*frame([HALF_B], [0.9], torch.float64)))
        assert got == expected, f"{kwargs}: a pair with IoU exactly 0.5 gives ids {got}, expected {expected}"


@pytest.mark.task("trackers")
def test_iou_tracker_constant_velocity_after_a_gap(student):
    # moving 4 px per frame, missed in frame 3: the velocity is the displacement per frame
    # (divided by the gap of 2 frames), and a prediction moves by gap * velocity
    tracker = student.IoUTracker(iou_threshold=0.3, patience=3, motion="constant_velocity")
    for t, x in [(1, 0.0), (2, 4.0), (3, None), (4, 12.0), (5, 16.0), (6, None), (7, 24.0), (8, 28.0)]:
        dets = frame([box(x, 0)], [0.9]) if x is not None else frame([], [])
        got = ids_of(tracker.step(*dets))
        assert got == ([1] if x is not None else []), f"frame {t}: box at x={x} gives ids {got}, expected [1]"


@pytest.mark.task("trackers")
def test_iou_tracker_velocity_follows_the_last_two_matches(student):
    # one match only: velocity 0, the prediction is the box itself (a jump of 7 px fails, 2 px matches)
    tracker = student.IoUTracker(iou_threshold=0.5, patience=3, motion="constant_velocity")
    tracker.step(*frame([box(0, 0)], [0.9]))
    assert ids_of(tracker.step(*frame([box(2, 0)], [0.9]))) == [1]
    # now v = +2 px/frame: at frame 3 the prediction is x = 4; x = 4 matches exactly
    assert ids_of(tracker.step(*frame([box(4, 0)], [0.9]))) == [1]
    # velocity changes sign: the box goes back to x = 2 at frame 4 (prediction 6: IoU 6/14 < 0.5)
    assert ids_of(tracker.step(*frame([box(2, 0)], [0.9]))) == [2]


@pytest.mark.task("trackers")
def test_iou_tracker_embedding_momentum_rule(student):
    # appearance only (weight 1): cost = distance between the track's and the detection's embedding
    def run(momentum, third):
        tracker = student.IoUTracker(appearance_weight=1.0, max_cost=1.0, motion="constant_position",
                                     embedding_momentum=momentum)
        tracker.step(*frame([box(0, 0)], [0.9]), torch.tensor([[0.0, 0.0]]))
        assert ids_of(tracker.step(*frame([box(0, 0)], [0.9]), torch.tensor([[0.8, 0.0]]))) == [1]
        # the track's embedding is now m * (0, 0) + (1 - m) * (0.8, 0)
        return ids_of(tracker.step(*frame([box(0, 0)], [0.9]), torch.tensor([[third, 0.0]])))
    assert run(0.0, 1.7) == [1]  # (0.8, 0): distance 0.9
    assert run(0.0, -0.3) == [2]  # distance 1.1
    assert run(0.5, 1.3) == [1]  # (0.4, 0): distance 0.9
    assert run(0.5, 1.5) == [2]  # distance 1.1
    assert run(0.75, -0.7) == [1]  # (0.2, 0): distance 0.9
    assert run(0.75, 1.3) == [2]  # distance 1.1


@pytest.mark.task("trackers")
def test_nms_equal_scores_keep_the_earlier_box(student):
    boxes = torch.tensor([HALF_A, HALF_B, [10.0, 10.0, 12.0, 12.0]], dtype=torch.float64)
    scores = torch.tensor([0.7, 0.7, 0.7], dtype=torch.float64)
    assert student.nms(boxes, scores, 0.4).tolist() == [0, 2]
    assert student.nms(boxes[[1, 0, 2]], scores, 0.4).tolist() == [0, 2]
    assert student.nms(boxes, scores, 0.5).tolist() == [0, 1, 2], "IoU exactly 0.5 is not above 0.5"
    # a chain: 0 suppresses 1, so 2 (which overlaps only 1) is kept
    chain = torch.tensor([[0.0, 0, 4, 1], [1.0, 0, 5, 1], [2.0, 0, 6, 1], [3.0, 0, 7, 1]])
    keep = student.nms(chain, torch.tensor([0.9, 0.8, 0.7, 0.6]), 0.5)
    assert_tensor(keep, torchvision.ops.nms(chain, torch.tensor([0.9, 0.8, 0.7, 0.6]), 0.5), case="a chain")
    assert keep.tolist() == [0, 2]


@pytest.mark.task("trackers")
def test_regress_to_detections_boundaries_dtypes_and_ties(student):
    tracks = torch.tensor([HALF_A, box(100, 0), box(200, 0)], dtype=torch.float64)
    dets = torch.tensor([HALF_B, [0.0, 0.0, 3.0, 1.0], box(100, 0), box(101, 0), box(300, 0)], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5], dtype=torch.float64)
    # track 0: det 1 is identical (IoU 1); track 1: det 2 identical; track 2: nothing
    got_boxes, got_scores = student.regress_to_detections(tracks, dets, scores, 0.5)
    assert_tensor(got_boxes, torch.tensor([HALF_A, box(100, 0), box(200, 0)], dtype=torch.float32),
                  case="boxes in the dtype of dets")
    assert_tensor(got_scores, torch.tensor([0.8, 0.7, 0.0], dtype=torch.float64), case="scores in the dtype of scores")
    # IoU exactly min_iou is enough; just above it is not
    one, det = torch.tensor([HALF_A], dtype=torch.float64), dets[:1].double()
    b, s = student.regress_to_detections(one, det, scores[:1], 0.5)
    assert_tensor(b, det, case="IoU == min_iou captures")
    assert_tensor(s, scores[:1], case="IoU == min_iou captures: its score")
    b, s = student.regress_to_detections(one, det, scores[:1], 0.5 + 1e-9)
    assert_tensor(b, one, case="IoU < min_iou: the box stays")
    assert_tensor(s, torch.zeros(1, dtype=torch.float64), case="IoU < min_iou: score 0")
    # equal IoU: the first detection wins
    two = torch.tensor([[1.0, 0.0, 4.0, 1.0], [-1.0, 0.0, 2.0, 1.0]])
    b, s = student.regress_to_detections(torch.tensor([HALF_A]), two, torch.tensor([0.3, 0.9]), 0.5)
    assert_tensor(b, two[:1], case="a tie goes to the first detection")
    assert_tensor(s, torch.tensor([0.3]), case="a tie goes to the first detection: its score")


# ================================================================ TracktorTracker at every threshold


def tracktor_after_one_frame(student, boxes, **kw):
    tracker = student.TracktorTracker(**kw)
    scores = [0.9] * len(boxes)
    assert ids_of(tracker.step(*frame(boxes, scores))) == list(range(1, len(boxes) + 1))
    return tracker


@pytest.mark.task("trackers")
def test_tracktor_sigma_active_is_inclusive(student):
    for score, expected in [(0.5, [1]), (float(np.nextafter(np.float32(0.5), np.float32(0))), [])]:
        tracker = tracktor_after_one_frame(student, [box(0, 0)], sigma_active=0.5)
        out = tracker.step(*frame([], []), torch.tensor([box(3, 0)]), torch.tensor([score]))
        assert ids_of(out) == expected, f"regressed score {score} against sigma_active 0.5: ids {ids_of(out)}"


@pytest.mark.task("trackers")
def test_tracktor_nms_between_tracks_is_strict(student):
    for lam, expected in [(0.5, [1, 2]), (0.5 - 1e-9, [2])]:
        tracker = tracktor_after_one_frame(student, [box(0, 0), box(50, 0)], lambda_active=lam)
        out = tracker.step(*frame([], []), torch.tensor([HALF_A, HALF_B], dtype=torch.float64),
                           torch.tensor([0.8, 0.9], dtype=torch.float64))
        assert ids_of(out) == expected, f"lambda_active {lam}, regressed IoU 0.5: ids {ids_of(out)}"


@pytest.mark.task("trackers")
def test_tracktor_sigma_detection_is_inclusive(student):
    below = float(np.nextafter(np.float32(0.5), np.float32(0)))
    tracker = student.TracktorTracker(sigma_detection=0.5)
    out = tracker.step(*frame([box(0, 0), box(50, 0), box(100, 0)], [below, 0.5, 0.7]))
    assert ids_of(out) == [1, 2]
    assert_tensor(out["boxes"], torch.tensor([box(100, 0), box(50, 0)]), case="births by decreasing score")


@pytest.mark.task("trackers")
def test_tracktor_nms_among_new_detections_is_strict(student):
    for lam, expected in [(0.5, [1, 2]), (0.5 - 1e-9, [1])]:
        tracker = student.TracktorTracker(lambda_new=lam)
        out = tracker.step(*frame([HALF_A, HALF_B], [0.8, 0.9], torch.float64))  # float64: 0.5 - 1e-9 < 0.5
        assert ids_of(out) == expected, f"lambda_new {lam}, detections with IoU 0.5: ids {ids_of(out)}"


@pytest.mark.task("trackers")
@pytest.mark.parametrize("num_tracks", [1, 2, 3])
def test_tracktor_detections_covered_by_tracks(student, num_tracks):
    # surviving tracks at HALF_A (+ far away ones); new detections: HALF_B (IoU exactly 1/2 with the
    # track), one covered (IoU 1), two free ones; covered means IoU > lambda_new with any track
    starts = [HALF_A, box(500, 0), box(800, 0)][:num_tracks]
    dets = [HALF_B, [0.0, 0.0, 3.0, 1.0], box(200, 0), box(300, 0)]
    for lam, born in [(0.5, 3), (0.5 - 1e-9, 2)]:
        tracker = tracktor_after_one_frame(student, starts, lambda_new=lam)
        reg = torch.tensor(starts, dtype=torch.float64)
        out = tracker.step(*frame(dets, [0.9, 0.8, 0.7, 0.6], torch.float64), reg,
                           torch.full((num_tracks,), 0.9, dtype=torch.float64))
        got = ids_of(out)
        expected = list(range(1, num_tracks + born + 1))
        assert got == expected, f"{num_tracks} tracks, lambda_new {lam}: ids {got}, expected {expected}"


@pytest.mark.task("trackers")
def test_tracktor_reid_iou_is_strict_and_uses_the_last_active_box(student):
    for reid_iou, expected in [(0.5, [2]), (0.5 - 1e-9, [1])]:
        tracker = tracktor_after_one_frame(student, [HALF_A], reid_iou=reid_iou, lambda_new=0.3)
        # frame 2: regressed far away with a low score -> inactive, keeps HALF_A
        assert ids_of(tracker.step(*frame([], []), torch.tensor([box(400, 400)]), torch.tensor([0.1]))) == []
        got = ids_of(tracker.step(*frame([HALF_B], [0.9], torch.float64)))
        assert got == expected, f"reid_iou {reid_iou}, IoU exactly 0.5 with the last active box: ids {got}"


@pytest.mark.task("trackers")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tracktor_output_in_the_dtype_of_dets(student, dtype):
    x = 0.1 + 1e-12  # not representable in float32
    tracker = student.TracktorTracker()
    out = tracker.step(*frame([box(x, 0)], [0.9], dtype))
    assert_tensor(out["boxes"], torch.tensor([box(x, 0)], dtype=dtype), case="frame 1")
    out = tracker.step(*frame([box(x + 1, 0)], [0.9], dtype))
    assert_tensor(out["boxes"], torch.tensor([box(x + 1, 0)], dtype=dtype), case="frame 2 (regressed)")
    assert ids_of(out) == [1]


@pytest.mark.task("trackers")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_iou_tracker_output_in_the_dtype_of_dets(student, dtype):
    x = 0.1 + 1e-12
    tracker = student.IoUTracker(motion="kalman")
    out = tracker.step(*frame([box(x, 0), box(40, 0)], [0.9, 0.8], dtype))
    assert ids_of(out) == [1, 2]
    assert_tensor(out["boxes"], torch.tensor([box(x, 0), box(40, 0)], dtype=dtype), case="frame 1")
    out = tracker.step(*frame([box(41, 0), box(x + 1, 0), box(300, 0)], [0.9, 0.8, 0.7], dtype))
    assert ids_of(out) == [1, 2, 3]
    assert_tensor(out["boxes"], torch.tensor([box(x + 1, 0), box(41, 0), box(300, 0)], dtype=dtype),
                  case="frame 2: boxes follow the ids")


# ================================================================ track_sequence


@pytest.mark.task("trackers")
@pytest.mark.parametrize("method", ["iou", "tracktor"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_track_sequence_single_frame(student, method, dtype):
    x = 0.1 + 1e-12
    d = torch.tensor([box(x, 0) + [0.9], box(50, 0) + [0.2], box(100, 5) + [0.8]], dtype=dtype)
    got = student.track_sequence([d], method=method)
    # the boxes as given (rounded to dtype); Tracktor's births by decreasing score give the same ids here
    expected = torch.cat([torch.tensor([[1.0, 1.0], [1.0, 2.0]], dtype=dtype), d[[0, 2], :4]], dim=1)
    assert_tensor(got, expected, case=f"{method}, one frame, {dtype}")


@pytest.mark.task("trackers")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_track_sequence_frames_without_tracks(student, dtype):
    got = student.track_sequence([torch.zeros(0, 5, dtype=dtype)] * 2)
    assert_tensor(got, torch.zeros(0, 6, dtype=dtype), case="two empty frames")
    low = torch.tensor([box(0, 0) + [0.1]], dtype=dtype)
    got = student.track_sequence([low, torch.zeros(0, 5, dtype=dtype), low])
    assert_tensor(got, torch.zeros(0, 6, dtype=dtype), case="only low scores")
    d = torch.tensor([box(0, 0) + [0.9]], dtype=dtype)
    got = student.track_sequence([torch.zeros(0, 5, dtype=dtype), d, d], method="iou", motion="constant_position")
    assert_tensor(got, torch.tensor([[2.0, 1.0] + box(0, 0), [3.0, 1.0] + box(0, 0)], dtype=dtype),
                  case="frames are numbered from 1, also after an empty first frame")


@pytest.mark.task("trackers")
def test_track_sequence_passes_params_and_embeddings(student):
    # two boxes that swap places; with appearance the identities follow the embeddings
    f1 = torch.tensor([box(0, 0) + [0.9], box(6, 0) + [0.9]])
    f2 = torch.tensor([box(1, 0) + [0.9], box(5, 0) + [0.9]])
    a, b = [1.0, 0.0], [0.0, 1.0]
    emb = [torch.tensor([a, b]), torch.tensor([b, a])]
    kw = dict(iou_threshold=0.1, motion="constant_position", max_cost=0.9)
    plain = student.track_sequence([f1, f2], emb, appearance_weight=0.0, **kw)
    seen = student.track_sequence([f1, f2], emb, appearance_weight=0.5, **kw)
    none = student.track_sequence([f1, f2], None, appearance_weight=0.5, **kw)
    first = [[1.0, 1.0] + box(0, 0), [1.0, 2.0] + box(6, 0)]
    assert_tensor(plain, torch.tensor(first + [[2.0, 1.0] + box(1, 0), [2.0, 2.0] + box(5, 0)]), case="IoU only")
    assert_tensor(none, plain, case="no embeddings")
    assert_tensor(seen, torch.tensor(first + [[2.0, 1.0] + box(5, 0), [2.0, 2.0] + box(1, 0)]),
                  case="embeddings given to every step")
    # params reach the tracker: a high score threshold leaves nothing
    assert student.track_sequence([f1, f2], score_threshold=0.95).shape == (0, 6)
    assert student.track_sequence([f1, f2], method="tracktor", sigma_detection=0.95).shape == (0, 6)


@pytest.mark.task("trackers")
def test_track_sequence_argument_checks(student):
    good = torch.tensor([box(0, 0) + [0.9]])
    # a tuple of frames: "TypeError if detections is not a list of tensors" read literally refuses it
    # (a round 16 solution), a sequence reading tracks it; both are fair
    assert_refused_or_same(lambda: student.track_sequence((good, good)), lambda: student.track_sequence([good, good]),
                           name="detections", exc=TypeError, case="a tuple of frames")
    for bad in (None, "frames", [good, [[0.0] * 5]], [good.tolist()]):
        with pytest.raises(TypeError, match="detections"):
            student.track_sequence(bad)
    for bad in ([good, torch.zeros(2, 4)], [good, torch.zeros(5)], [good, torch.zeros(1, 2, 5)], [torch.zeros(1, 6)]):
        with pytest.raises(ValueError, match="detections"):
            student.track_sequence(bad)
    e = torch.zeros(1, 3)
    for bad in ([e], [e, e, e]):
        with pytest.raises(ValueError, match="embeddings"):
            student.track_sequence([good, good], bad)
    with pytest.raises((ValueError, TypeError), match="embeddings"):  # a tensor, not a list: a type error too
        student.track_sequence([good, good], e)
    for bad in ("IoU", "kalman", ""):
        with pytest.raises(ValueError, match="method"):
            student.track_sequence([good], method=bad)


# ================================================================ association: dtypes and arguments


@pytest.mark.task("association")
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float64), (torch.float64, torch.float32),
                                    (torch.int64, torch.int64), (torch.int32, torch.float64),
                                    (torch.float16, torch.float32)], ids=str)
def test_iou_cost_output_dtype(student, dtypes):
    a = torch.tensor([[0, 0, 4, 4], [1, 1, 5, 3], [2, 0, 3, 7]]).to(dtypes[0])
    b = torch.tensor([[0, 0, 2, 4], [1, 1, 5, 5]]).to(dtypes[1])
    expected_dtype = torch.promote_types(*dtypes)
    if not expected_dtype.is_floating_point:
        expected_dtype = torch.get_default_dtype()
    if expected_dtype in (torch.float16, torch.bfloat16):
        expected_dtype = torch.float32
    expected = 1 - torchvision.ops.box_iou(a.double(), b.double())
    assert_tensor(student.iou_cost(a, b), expected.to(expected_dtype), atol=1e-6, case=f"{dtypes}")


@pytest.mark.task("association")
@pytest.mark.parametrize("fn", ["linear_assignment", "associate"])
def test_cost_dtypes_accepted_and_rejected(student, fn):
    extra = (10,) if fn == "associate" else ()
    cost = torch.tensor([[4, 1, 4], [2, 0, 5]])  # one optimum: (0, 1), (1, 0)
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.bfloat16, torch.float32,
                  torch.float64):
        out = getattr(student, fn)(cost.to(dtype), *extra)
        if fn == "linear_assignment":
            assert out[0].tolist() == [0, 1] and out[1].tolist() == [1, 0], f"{dtype}: {out}"
        else:
            assert out[0].tolist() == [[0, 1], [1, 0]], f"{dtype}: {out}"
    # bool costs: the docstring says "real costs"; refusing them (naming cost) and solving them as 0/1
    # are both fair readings (complex tensors cannot cross the grading sandbox)
    flags = torch.tensor([[True, False, True], [False, True, True]])  # one optimum: (0, 1), (1, 0)
    try:
        out = getattr(student, fn)(flags, *extra)
    except (ValueError, TypeError) as e:
        assert "cost" in str(e), f"refusing a bool cost must name cost: {e}"
    else:
        got = [out[0].tolist(), out[1].tolist()] if fn == "linear_assignment" else out[0].tolist()
        assert got in ([[0, 1], [1, 0]],), f"bool costs solved as 0/1: {out}"


@pytest.mark.task("association")
def test_linear_assignment_rejects_non_finite_costs(student):
    for bad in (float("nan"), float("inf"), -float("inf")):
        cost = torch.tensor([[1.0, 2.0], [3.0, bad]])
        with pytest.raises(ValueError, match="cost"):
            student.linear_assignment(cost)


@pytest.mark.task("association")
def test_associate_max_cost_checks(student):
    cost = torch.tensor([[0.2, 0.9], [0.8, 0.1]])
    for bad in ("0.5", None):
        with pytest.raises(TypeError, match="max_cost"):
            student.associate(cost, bad)
    for bad in (float("inf"), -float("inf"), float("nan")):
        with pytest.raises(ValueError, match="max_cost"):
            student.associate(cost, bad)
    matches, ut, ud = student.associate(cost, 1)  # an int is a real number
    assert matches.tolist() == [[0, 0], [1, 1]] and ut.tolist() == [] and ud.tolist() == []
    # a negative max_cost: only costs below it match
    matches, ut, ud = student.associate(cost - 1.0, -0.5)
    assert matches.tolist() == [[0, 0], [1, 1]]
    matches, ut, ud = student.associate(cost - 1.0, -0.85)
    assert matches.tolist() == [[1, 1]] and ut.tolist() == [0] and ud.tolist() == [0]


@pytest.mark.task("association")
@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1), (3, 5), (5, 3)])
def test_associate_single_rows_and_columns_against_brute_force(student, shape):
    gen = torch.Generator().manual_seed(sum(shape))
    for trial in range(4):
        cost = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 0.5
        max_cost = [0.0, 0.5, 1.0, 1.6][trial]
        matches, ut, ud = student.associate(cost, max_cost)
        total = sum(float(cost[t, d]) for t, d in matches.tolist()) + max_cost * len(ut)
        best = brute_force_associate(cost.tolist(), max_cost)
        assert abs(total - best) < 1e-9, f"{shape}, max_cost {max_cost}: total {total}, optimum {best}"
        assert all(float(cost[t, d]) < max_cost for t, d in matches.tolist())
        assert len(matches) + len(ut) == shape[0] and len(matches) + len(ud) == shape[1]


def brute_force_associate(cost, max_cost):
    """The optimum of the gated matching by recursion over the tracks (small problems only)."""
    def rec(t, used):
        if t == len(cost):
            return 0.0
        best = max_cost + rec(t + 1, used)
        for d, c in enumerate(cost[t]):
            if d not in used and c < max_cost:
                best = min(best, c + rec(t + 1, used | {d}))
        return best
    return rec(0, frozenset())


# ================================================================ re-ID: dtypes, margins, empty and single batches


@pytest.mark.task("reid")
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float64), (torch.float64, torch.float32)], ids=str)
@pytest.mark.parametrize("squared", [False, True])
def test_pairwise_distances_mixed_dtypes(student, dtypes, squared):
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(5, 4, generator=gen, dtype=torch.float64).to(dtypes[0])
    b = torch.randn(3, 4, generator=gen, dtype=torch.float64).to(dtypes[1])
    expected = torch.cdist(a.double(), b.double()) ** (2 if squared else 1)
    assert_tensor(student.pairwise_distances(a, b, squared=squared), expected, atol=1e-5,
                  case=f"{dtypes}: the promoted dtype float64")


@pytest.mark.task("reid")
def test_batch_hard_triplet_loss_margin_zero_and_boundaries(student):
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(9, 3, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2], dtype=torch.int32)
    d = torch.cdist(x, x)
    losses = []
    for i in range(9):
        pos = max(float(d[i, j]) for j in range(9) if j != i and labels[j] == labels[i])
        neg = min(float(d[i, k]) for k in range(9) if labels[k] != labels[i])
        losses.append(max(0.0, pos - neg))
    got = student.batch_hard_triplet_loss(x, labels, 0.0)
    assert_tensor(got, torch.tensor(sum(losses) / 9, dtype=torch.float64), atol=1e-10, case="margin 0")
    for bad in (-1e-9, -0.3):
        with pytest.raises(ValueError, match="margin"):
            student.batch_hard_triplet_loss(x, labels, bad)
    for bad in (torch.zeros(9, dtype=torch.bool), torch.zeros(9, dtype=torch.float32)):
        with pytest.raises(ValueError, match="labels"):
            student.batch_hard_triplet_loss(x, bad)
    with pytest.raises(ValueError, match="labels"):
        student.batch_hard_triplet_loss(x, labels[:, None])
    with pytest.raises(TypeError, match="labels"):
        student.batch_hard_triplet_loss(x, labels.tolist())


@pytest.mark.task("reid")
def test_batch_hard_triplet_loss_hardest_pairs_on_a_line(student):
    # points on a line, so the hardest positive and negative of every anchor can be read off:
    # ids 0: 0, 1, 5; ids 1: 2, 8 (the hardest positive of 0 is 5, its hardest negative 2)
    x = torch.tensor([[0.0], [1.0], [5.0], [2.0], [8.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1])
    # anchor: (hardest positive, hardest negative)
    pairs = [(5, 2), (4, 1), (5, 3), (6, 1), (6, 3)]
    for margin in (0.0, 0.5, 2.0):
        expected = sum(max(0.0, p - n + margin) for p, n in pairs) / 5
        got = student.batch_hard_triplet_loss(x, labels, margin)
        assert_tensor(got, torch.tensor(expected, dtype=torch.float64), atol=1e-12, case=f"margin {margin}")
    expected = sum(math.log1p(math.exp(p - n)) for p, n in pairs) / 5
    assert_tensor(student.batch_hard_triplet_loss(x, labels, None), torch.tensor(expected, dtype=torch.float64),
                  atol=1e-12, case="soft margin")


@pytest.mark.task("reid")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_hard_triplet_loss_empty_and_single_batches(student, dtype):
    for n in (0, 1):
        x = torch.full((n, 3), 2.0, dtype=dtype)
        got = student.batch_hard_triplet_loss(x, torch.zeros(n, dtype=torch.int64), 0.3)
        assert_tensor(got, torch.zeros((), dtype=dtype), case=f"a batch of {n}")
        _, grads = student.vjp("batch_hard_triplet_loss", [x, torch.zeros(n, dtype=torch.int64), 0.3])
        assert grads[0] is None or bool((grads[0] == 0).all()), f"a batch of {n}: zero gradient"


@pytest.mark.task("reid")
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float64), (torch.float64, torch.float32),
                                    (torch.float32, torch.float32)], ids=str)
def test_contrastive_loss_dtypes_margin_and_shapes(student, dtypes):
    gen = torch.Generator().manual_seed(6)
    a = torch.randn(6, 3, generator=gen, dtype=torch.float64).to(dtypes[0]) * 0.5
    b = torch.randn(6, 3, generator=gen, dtype=torch.float64).to(dtypes[1]) * 0.5
    same = torch.tensor([True, False, False, True, False, True])
    dtype = torch.promote_types(*dtypes)
    d = (a.double() - b.double()).norm(dim=1)
    for margin in (1e-3, 1.0, 3):
        expected = torch.where(same, d ** 2, (margin - d).clamp(min=0) ** 2).mean().to(dtype)
        assert_tensor(student.contrastive_loss(a, b, same, margin), expected, atol=1e-5, case=f"margin {margin}")
    empty = student.contrastive_loss(a[:0], b[:0], same[:0])
    assert_tensor(empty, torch.zeros((), dtype=dtype), case="no pairs")
    for bad in (0.0, 0, -1.0):
        with pytest.raises(ValueError, match="margin"):
            student.contrastive_loss(a, b, same, bad)
    with pytest.raises(ValueError, match="same"):
        student.contrastive_loss(a, b, same[:5])
    with pytest.raises(ValueError, match="same"):
        student.contrastive_loss(a, b, same.long())
    with pytest.raises(TypeError, match="same"):
        student.contrastive_loss(a, b, same.tolist())
    with pytest.raises(ValueError, match=r"\b[ab]\b"):
        student.contrastive_loss(a, b[:5], same)


@pytest.mark.task("reid")
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float64), (torch.float64, torch.float32)], ids=str)
def test_appearance_cost_dtypes_and_min_iou_boundary(student, dtypes):
    boxes_dtype, emb_dtype = dtypes
    tb = torch.tensor([HALF_A, QUARTER_A], dtype=boxes_dtype)
    db = torch.tensor([HALF_B, QUARTER_B, box(50, 50)], dtype=boxes_dtype)
    te = torch.tensor([[0.0, 1.0], [1.0, 1.0]], dtype=emb_dtype)
    de = torch.tensor([[0.0, 0.0], [3.0, 1.0], [1.0, 2.0]], dtype=emb_dtype)
    iou = torchvision.ops.box_iou(tb.double(), db.double())
    dist = torch.cdist(te.double(), de.double())
    # 1e-6: above float32 eps. The gate's boundary is pinned where it is exact (IoU 0.5 = min_iou);
    # at 1/7, which no float holds, an IoU recovered as 1 - iou_cost (the docstring's "the IoU of
    # iou_cost", a round 19 solution) lands an ulp below float64(1/7), so 1/7 is judged 1e-6 off
    for weight, min_iou in [(0.25, 0.5), (0.25, 0.5 + 1e-6), (0.5, SEVEN - 1e-6), (0.5, SEVEN + 1e-6), (1.0, 0.0)]:
        expected = (1 - weight) * (1 - iou) + weight * dist
        expected[iou < min_iou] = float("inf")
        got = student.appearance_cost(tb, db, te, de, weight, min_iou)
        assert_tensor(got, expected, atol=1e-6, case=f"{dtypes}, weight {weight}, min_iou {min_iou}")


# ================================================================ Kalman filter: one track, non-square shapes


def hand_matrices(dt=1.0, qp=1.0, qv=0.5, r=2.0, sv=10.0):
    F = np.eye(8)
    F[:4, 4:] = dt * np.eye(4)
    H = np.hstack([np.eye(4), np.zeros((4, 4))])
    return F, H, np.diag([qp ** 2] * 4 + [qv ** 2] * 4), r ** 2 * np.eye(4), np.diag([r ** 2] * 4 + [sv ** 2] * 4)


def cxcywh(boxes):
    b = np.asarray(boxes, dtype=np.float64)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)


def states(n, seed):
    rng = np.random.default_rng(seed)
    mean = np.concatenate([rng.uniform(50, 300, (n, 2)), rng.uniform(20, 80, (n, 2)), rng.normal(0, 2, (n, 4))], 1)
    a = rng.normal(size=(n, 8, 8))
    return mean, a @ a.transpose(0, 2, 1) + 0.5 * np.eye(8)


def some_boxes(m, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 300, (m, 2))
    return np.concatenate([xy, xy + rng.uniform(10, 90, (m, 2))], 1)


@pytest.mark.task("motion")
@pytest.mark.parametrize("n, m", [(1, 1), (1, 5), (3, 1), (3, 5), (5, 4), (4, 6), (2, 0)])
def test_kalman_mahalanobis_shapes(student, n, m):
    mean, cov = states(n, 10 * n + m)
    boxes = some_boxes(m, m)
    _, H, _, R, _ = hand_matrices()
    z = cxcywh(boxes) if m else np.zeros((0, 4))
    expected = np.zeros((n, m))
    for k in range(n):
        S = H @ cov[k] @ H.T + R
        diff = z - H @ mean[k]
        expected[k] = np.einsum("mi,ij,mj->m", diff, np.linalg.inv(S), diff)
    got = student.KalmanBoxFilter().mahalanobis(torch.from_numpy(mean), torch.from_numpy(cov),
                                                torch.from_numpy(boxes.reshape(m, 4)))
    assert_tensor(got, torch.from_numpy(expected), atol=1e-7, rtol=1e-7, case=f"{n} tracks x {m} boxes")


@pytest.mark.task("motion")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kalman_one_track_through_every_method(student, dtype):
    params = dict(dt=0.5, std_position=0.0, std_velocity=0.0, std_measurement=1.5, std_initial_velocity=4.0)
    F, H, Q, R, P0 = hand_matrices(0.5, 0.0, 0.0, 1.5, 4.0)
    kf = student.KalmanBoxFilter(**params)
    boxes = some_boxes(1, 3)
    mean, cov = kf.initiate(torch.from_numpy(boxes).to(dtype))
    x, P = np.concatenate([cxcywh(boxes)[0], np.zeros(4)]), P0
    tol = dict(atol=1e-3, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-9, rtol=1e-9)
    for step in range(3):
        mean, cov = kf.predict(mean, cov)
        x, P = F @ x, F @ P @ F.T + Q
        assert_tensor(mean, torch.from_numpy(x[None]).to(dtype), **tol, case=f"predict {step}: mean")
        assert_tensor(cov, torch.from_numpy(P[None]).to(dtype), **tol, case=f"predict {step}: covariance")
        z = cxcywh(boxes + step + 1)[0]
        S = H @ P @ H.T + R
        K = P @ H.T @ np.linalg.inv(S)
        x, P = x + K @ (z - H @ x), (np.eye(8) - K @ H) @ P
        mean, cov = kf.update(mean, cov, torch.from_numpy(boxes + step + 1).to(dtype))
        assert_tensor(mean, torch.from_numpy(x[None]).to(dtype), **tol, case=f"update {step}: mean")
        assert_tensor(cov, torch.from_numpy(P[None]).to(dtype), **tol, case=f"update {step}: covariance")
    m = kf.matrices(dtype)
    assert all(v.dtype == dtype for v in m.values()), {k: v.dtype for k, v in m.items()}
    assert_tensor(m["Q"], torch.zeros(8, 8, dtype=dtype), case="std_position = std_velocity = 0: Q = 0")


@pytest.mark.task("motion")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_kalman_matrices_in_every_floating_dtype(student, dtype):
    F, H, Q, R, _ = hand_matrices(0.5, 1.5, 0.25, 3.0, 8.0)
    got = student.KalmanBoxFilter(dt=0.5, std_position=1.5, std_velocity=0.25, std_measurement=3.0,
                                  std_initial_velocity=8.0).matrices(dtype)
    for name, expected in [("F", F), ("H", H), ("Q", Q), ("R", R)]:
        assert_tensor(got[name], torch.from_numpy(expected).to(dtype), case=f"{name} in {dtype}")


# ================================================================ mot_metrics: repeated ids and rows in any order


@pytest.mark.task("mot_eval")
@pytest.mark.parametrize("which", ["gt", "pred"])
def test_mot_metrics_finds_an_id_repeated_in_a_frame_wherever_its_rows_are(student, which):
    rows = torch.tensor([[1, 1, 0.0, 0.0, 4.0, 4.0], [2, 1, 0.0, 0.0, 4.0, 4.0], [2, 2, 5.0, 0.0, 9.0, 4.0],
                         [2, 1, 10.0, 0.0, 14.0, 4.0], [3, 2, 1.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
    good = torch.tensor([[1, 1, 0.0, 0.0, 4.0, 4.0]], dtype=torch.float64)
    # id 1 twice in frame 2, with id 2 between them by position; every order of the rows
    for perm in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [3, 0, 2, 4, 1]):
        args = (rows[perm], good) if which == "gt" else (good, rows[perm])
        with pytest.raises(ValueError, match=which):
            student.mot_metrics(*args)


@pytest.mark.task("trackers")
@pytest.mark.parametrize("regressor", ["built-in", "given"])
def test_tracktor_active_tracks_are_float64(student, regressor):
    x = 0.1 + 1e-12
    tracker = student.TracktorTracker()
    tracker.step(*frame([box(x, 0), box(50, 0)], [0.9, 0.8]))
    act = tracker.active_tracks()
    assert act["ids"].tolist() == [1, 2]
    assert_tensor(act["boxes"], torch.tensor([box(x, 0), box(50, 0)], dtype=torch.float32).double(),
                  case="after births from float32 detections")
    dets = frame([box(x + 1, 0), box(51, 0), box(200, 0)], [0.9, 0.8, 0.7])
    if regressor == "given":
        tracker.step(*dets, torch.tensor([box(x + 1, 0), box(51, 0)]), torch.tensor([0.9, 0.8]))
    else:
        tracker.step(*dets)
    act = tracker.active_tracks()
    assert act["ids"].tolist() == [1, 2, 3]
    assert_tensor(act["boxes"], torch.tensor([box(x + 1, 0), box(51, 0), box(200, 0)], dtype=torch.float32).double(),
                  case=f"after a step with a {regressor} float32 regression")
    # a frame where every active track comes from the float32 regression (no new detection)
    moved = [box(x + 2, 0), box(52, 0), box(201, 0)]
    if regressor == "given":
        tracker.step(*frame([], []), torch.tensor(moved), torch.tensor([0.9, 0.8, 0.7]))
    else:
        tracker.step(*frame(moved, [0.9, 0.8, 0.7]))
    act = tracker.active_tracks()
    assert act["ids"].tolist() == [1, 2, 3]
    assert_tensor(act["boxes"], torch.tensor(moved, dtype=torch.float32).double(),
                  case=f"only regressed tracks, {regressor} float32 regression")


# ================================================================ argument checks of step and mot_metrics


@pytest.mark.task("trackers")
def test_iou_tracker_step_embedding_checks(student):
    dets, scores = frame([box(0, 0), box(50, 0)], [0.9, 0.8])
    for bad, error in [(torch.zeros(2), ValueError), (torch.zeros(3, 4), ValueError), (torch.zeros(1, 4), ValueError),
                       (torch.zeros(2, 4, 1), ValueError), ([[0.0] * 4] * 2, TypeError)]:
        tracker = student.IoUTracker(appearance_weight=0.5)
        with pytest.raises(error, match="embeddings"):
            tracker.step(dets, scores, bad)
    # none on the first step, then embeddings: refused as well
    tracker = student.IoUTracker(appearance_weight=0.5)
    tracker.step(dets, scores)
    with pytest.raises(ValueError, match="embeddings"):
        tracker.step(dets, scores, torch.zeros(2, 4))
    for bad_dets, bad_scores, error in [(dets[:, :3], scores, ValueError), (dets, scores[:1], ValueError),
                                        (dets, scores[:, None], ValueError), (dets.tolist(), scores, TypeError),
                                        (dets, scores.tolist(), TypeError), (dets[0], scores[:1], ValueError)]:
        with pytest.raises(error):
            student.IoUTracker().step(bad_dets, bad_scores)
        with pytest.raises(error):
            student.TracktorTracker().step(bad_dets, bad_scores)
        with pytest.raises(error):
            student.nms(bad_dets, bad_scores, 0.5)


@pytest.mark.task("trackers")
def test_tracktor_step_regression_checks(student):
    tracker = tracktor_after_one_frame(student, [box(0, 0)])
    dets, scores = frame([], [])
    for reg_boxes, reg_scores, error in [(torch.zeros(1, 3), torch.zeros(1), ValueError),
                                         (torch.zeros(1, 4), torch.zeros(2), ValueError),
                                         (torch.zeros(1, 4), torch.zeros(1, 1), ValueError),
                                         (torch.zeros(0, 4), torch.zeros(0), ValueError),
                                         ([[0.0, 0.0, 1.0, 1.0]], torch.zeros(1), TypeError),
                                         (torch.zeros(1, 4), [0.5], TypeError),
                                         (None, torch.zeros(1), ValueError)]:
        with pytest.raises(error):
            tracker.step(dets, scores, reg_boxes, reg_scores)
    # the refused calls changed nothing: the track is still active and regresses normally
    out = tracker.step(dets, scores, torch.tensor([box(2, 0)]), torch.tensor([0.9]))
    assert ids_of(out) == [1]
    assert_tensor(out["boxes"], torch.tensor([box(2, 0)]), case="after the refused calls")


@pytest.mark.task("trackers")
def test_nms_and_regression_of_a_single_box(student):
    for dtype in (torch.float32, torch.float64):
        one = torch.tensor([box(3, 4)], dtype=dtype)
        assert_tensor(student.nms(one, torch.tensor([0.1], dtype=dtype), 0.5), torch.tensor([0]), case="one box")
        assert_tensor(student.nms(one, torch.tensor([0.1], dtype=dtype), 0.0), torch.tensor([0]),
                      case="one box, threshold 0")
    b, s = student.regress_to_detections(torch.tensor([box(0, 0)]), torch.tensor([box(1, 0)]), torch.tensor([0.7]))
    assert_tensor(b, torch.tensor([box(1, 0)]), case="one track, one detection (default min_iou 0.5)")
    assert_tensor(s, torch.tensor([0.7]), case="one track, one detection: its score")


@pytest.mark.task("mot_eval")
def test_mot_metrics_rejects_non_finite_and_non_tensor_rows(student):
    good = torch.tensor([[1, 1, 0.0, 0.0, 4.0, 4.0], [2, 1, 1.0, 0.0, 5.0, 4.0]], dtype=torch.float64)
    for which in ("gt", "pred"):
        for bad_value in (float("nan"), float("inf"), -float("inf")):
            bad = good.clone()
            bad[1, 4] = bad_value
            args = (bad, good) if which == "gt" else (good, bad)
            with pytest.raises(ValueError, match=which):
                student.mot_metrics(*args)
        args = (good.tolist(), good) if which == "gt" else (good, good.tolist())
        with pytest.raises(TypeError, match=which):
            student.mot_metrics(*args)
        for shape_bad in (good[:, :5], good[0], good[None]):
            args = (shape_bad, good) if which == "gt" else (good, shape_bad)
            with pytest.raises(ValueError, match=which):
                student.mot_metrics(*args)


@pytest.mark.task("trackers")
def test_tracktor_with_sigma_active_zero_keeps_lost_tracks_active(student):
    # a regressed score of 0 (nothing to regress to) is not below sigma_active = 0: the track stays
    # active where it was; with sigma_active = 0.5 it becomes inactive
    for sigma, expected in [(0.0, [1, 2]), (0.5, [])]:
        tracker = student.TracktorTracker(sigma_active=sigma)
        assert ids_of(tracker.step(*frame([box(0, 0), box(50, 0)], [0.9, 0.8]))) == [1, 2]
        out = tracker.step(*frame([], []))
        assert ids_of(out) == expected, f"sigma_active {sigma}: ids {ids_of(out)}, expected {expected}"
        if expected:
            assert_tensor(out["boxes"], torch.tensor([box(0, 0), box(50, 0)]), case="boxes stay where they were")
    # sigma_active = 0 from the first frame on: no phantom track from an empty regression
    tracker = student.TracktorTracker(sigma_active=0.0)
    assert ids_of(tracker.step(*frame([box(0, 0)], [0.9]))) == [1]
    assert tracker.active_tracks()["ids"].tolist() == [1]


# ================================================================ more classes: precision of mixed dtypes, gradients
# flowing into costs, a single nan, one pair, one object


@pytest.mark.task("association")
@pytest.mark.parametrize("order", ["float16 tracks", "float16 dets"])
def test_iou_cost_of_large_float16_boxes_mixed_with_float32(student, order):
    big = torch.tensor([[0.0, 0.0, 300.0, 300.0], [100.0, 50.0, 500.0, 450.0]])  # areas above float16's 65504
    other = torch.tensor([[10.0, 10.0, 310.0, 290.0], [0.0, 0.0, 20.0, 20.0], [150.0, 100.0, 420.0, 460.0]])
    tracks, dets = (big.half(), other) if order == "float16 tracks" else (other, big.half())
    expected = 1 - torchvision.ops.box_iou(tracks.double(), dets.double())
    assert_tensor(student.iou_cost(tracks, dets), expected.float(), atol=1e-6, case=order)


@pytest.mark.task("association")
def test_assignment_of_costs_that_carry_gradients(student):
    base = torch.tensor([[0.3, 0.1, 0.9], [0.2, 0.8, 0.4]], dtype=torch.float64)
    cost = (base.clone().requires_grad_(True) * 1.0)  # a non-leaf cost built from differentiable terms
    rows, cols = student.linear_assignment(cost)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    matches, ut, ud = student.associate(cost, 0.5)
    assert matches.tolist() == [[0, 1], [1, 0]] and ut.tolist() == [] and ud.tolist() == [2]


@pytest.mark.task("association")
def test_associate_rejects_a_single_nan(student):
    for cost in (torch.tensor([[0.1, float("nan")], [0.2, 0.3]]), torch.tensor([[float("nan"), 0.1, 0.4]])):
        with pytest.raises(ValueError, match="cost"):
            student.associate(cost, 0.5)


@pytest.mark.task("association")
def test_assignment_resolves_float64_cost_differences(student):
    # costs that differ only below float32's resolution: the float64 optimum is unique
    eps = 3e-9
    for cost, rows, cols in [
        ([[1.0 + eps, 1.0], [1.0, 1.0 + eps]], [0, 1], [1, 0]),
        ([[1.0, 1.0 + eps], [1.0 + eps, 1.0]], [0, 1], [0, 1]),
        ([[1.0 + 2 * eps, 1.0 + eps, 1.0], [1.0, 1.0 + 2 * eps, 1.0 + eps], [1.0 + eps, 1.0, 1.0 + 2 * eps]],
         [0, 1, 2], [2, 0, 1]),
    ]:
        c = torch.tensor(cost, dtype=torch.float64)
        got = student.linear_assignment(c)
        assert got[0].tolist() == rows and got[1].tolist() == cols, f"{cost}: {got}"
        matches, _, _ = student.associate(c, 2.0)
        assert matches.tolist() == [[r, k] for r, k in zip(rows, cols)], f"associate {cost}: {matches.tolist()}"


@pytest.mark.task("reid")
@pytest.mark.parametrize("same", [True, False])
def test_contrastive_loss_of_a_single_pair(student, same):
    a = torch.tensor([[0.0, 0.3]], dtype=torch.float64)
    b = torch.tensor([[0.4, 0.0]], dtype=torch.float64)  # distance 0.5
    expected = 0.25 if same else (1.5 - 0.5) ** 2
    got = student.contrastive_loss(a, b, torch.tensor([same]), 1.5)
    assert_tensor(got, torch.tensor(expected, dtype=torch.float64), atol=1e-12, case=f"one pair, same={same}")


@pytest.mark.task("mot_eval")
def test_mot_metrics_with_one_object_and_one_prediction_per_frame(student):
    from harness.metrics.mot import motmetrics_evaluate
    gt = torch.tensor([[f, 1, 10.0 + f, 0.0, 30.0 + f, 20.0] for f in range(1, 9)], dtype=torch.float64)
    # a tracker that follows it, loses it in frame 3, switches id in frame 5, drifts off in frame 7
    pred = []
    for f in range(1, 9):
        if f == 3:
            continue
        shift = 15.0 if f == 7 else 1.0
        pred.append([f, 1 if f < 5 else 2, 10.0 + f + shift, 0.0, 30.0 + f + shift, 20.0])
    pred = torch.tensor(pred, dtype=torch.float64)
    got = student.mot_metrics(gt, pred)
    expected = motmetrics_evaluate(gt.numpy(), pred.numpy(), 0.5)
    for k in ("num_matches", "num_switches", "num_misses", "num_false_positives", "idtp"):
        assert got[k] == expected[k], f"{k}: expected {expected[k]} (motmetrics), got {got[k]}"
    for k in ("mota", "motp", "idf1"):
        assert abs(got[k] - expected[k]) <= 1e-9, f"{k}: expected {expected[k]} (motmetrics), got {got[k]}"


@pytest.mark.task("motion")
def test_kalman_update_and_mahalanobis_with_float64_boxes_on_a_float32_state(student):
    # boxes in another dtype than the state: the result may be in either dtype, but must be right
    mean, cov = states(3, 21)
    boxes = some_boxes(3, 22)
    _, H, _, R, _ = hand_matrices()
    kf = student.KalmanBoxFilter()
    m32, c32 = torch.from_numpy(mean).float(), torch.from_numpy(cov).float()
    expected_d2 = np.zeros((3, 3))
    expected_mean = np.zeros((3, 8))
    for k in range(3):
        S = H @ cov[k] @ H.T + R
        diff = cxcywh(boxes) - H @ mean[k]
        expected_d2[k] = np.einsum("mi,ij,mj->m", diff, np.linalg.inv(S), diff)
        K = cov[k] @ H.T @ np.linalg.inv(S)
        expected_mean[k] = mean[k] + K @ diff[k]
    got = student.KalmanBoxFilter().mahalanobis(m32, c32, torch.from_numpy(boxes))
    assert_tensor(got.double(), torch.from_numpy(expected_d2), rtol=1e-3, atol=1e-3, case="mahalanobis")
    got_mean, _ = kf.update(m32, c32, torch.from_numpy(boxes))
    assert_tensor(got_mean.double(), torch.from_numpy(expected_mean), rtol=1e-4, atol=1e-3, case="update")


@pytest.mark.task("trackers")
def test_regress_to_detections_checks_track_boxes(student):
    dets, scores = torch.tensor([box(0, 0)]), torch.tensor([0.9])
    for bad, error in [([box(0, 0)], TypeError), (torch.zeros(2, 3), ValueError), (torch.zeros(4), ValueError),
                       (torch.zeros(1, 2, 4), ValueError)]:
        with pytest.raises(error, match="track_boxes"):
            student.regress_to_detections(bad, dets, scores, 0.5)


@pytest.mark.task("trackers")
def test_tracktor_step_checks_the_frame_also_with_a_given_regression(student):
    dets, scores = frame([box(0, 0), box(50, 0)], [0.9, 0.8])
    no_rows, no_scores = torch.zeros(0, 4), torch.zeros(0)
    for bad_dets, bad_scores, error in [(dets[:, :3], scores, ValueError), (dets, scores[:1], ValueError),
                                        (dets, scores[:, None], ValueError), (dets.tolist(), scores, TypeError),
                                        (dets, scores.tolist(), TypeError)]:
        with pytest.raises(error):
            student.TracktorTracker().step(bad_dets, bad_scores, no_rows, no_scores)
