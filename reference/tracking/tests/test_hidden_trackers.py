"""Hidden tests of nms, regress_to_detections, IoUTracker, TracktorTracker and track_sequence
[trackers].

Oracles: torchvision.ops.nms; hand-made scenes whose outcome follows from the rules in the
docstrings (birth, death, patience, re-identification, motion); and the reference trackers run
frame by frame on synthetic sequences from cv3data (ids and boxes must agree exactly: the rules
leave no freedom, and the scenes avoid ties).
"""

import pytest
import torch
import torchvision

from cv3data.mot import frame_detections, make_sequence
from harness.testkit import assert_tensor


def box(x, y, w=10.0, h=20.0):
    return [x, y, x + w, y + h]


def frame(boxes, scores):
    return torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), torch.tensor(scores, dtype=torch.float32)


def check_output(out, case):
    assert isinstance(out, dict) and {"ids", "boxes"} <= set(out), \
        f"[{case}] step must return dict(ids, boxes), got {out!r:.100}"
    ids, boxes = out["ids"], out["boxes"]
    if type(ids) is not torch.Tensor or ids.dtype != torch.int64 or ids.dim() != 1:
        raise AssertionError(f"[{case}] ids must be an int64 Tensor[K], got {ids!r:.100}")
    if type(boxes) is not torch.Tensor or boxes.shape != (ids.shape[0], 4):
        raise AssertionError(f"[{case}] boxes must be a Tensor[{ids.shape[0]}, 4], got {boxes!r:.100}")
    assert ids.tolist() == sorted(ids.tolist()), f"[{case}] ids must be ascending, got {ids.tolist()}"
    return ids.tolist(), boxes


def ids_of(out, case=""):
    return check_output(out, case)[0]


@pytest.fixture(scope="module")
def sequences():
    """Two short synthetic sequences (detections split by frame, features, ground truth)."""
    out = []
    for seed in (101, 202):
        seq = make_sequence(seed, num_frames=40, num_objects=12)
        dets, feats = frame_detections(seq)
        out.append({"dets": dets, "feats": feats, "gt": seq["gt"], "name": f"seed {seed}"})
    return out


def compare_steps(student_tracker, reference_tracker, seq, case, embeddings=False):
    for t, d in enumerate(seq["dets"]):
        args = [d[:, :4], d[:, 4]] + ([seq["feats"][t]] if embeddings else [])
        got = student_tracker.step(*args)
        exp = reference_tracker.step(*args)
        ids, boxes = check_output(got, f"{case}, frame {t + 1}")
        assert ids == exp["ids"].tolist(), \
            f"[{case}] frame {t + 1}: expected track ids {exp['ids'].tolist()}, got {ids}"
        assert_tensor(boxes, exp["boxes"], atol=1e-5, case=f"{case}, frame {t + 1} boxes")


# ================================================================ nms and the regressor


@pytest.mark.task("trackers")
def test_nms_matches_torchvision(student):
    gen = torch.Generator().manual_seed(1)
    xy = torch.rand(80, 2, generator=gen) * 60
    boxes = torch.cat([xy, xy + torch.rand(80, 2, generator=gen) * 20 + 5], 1)
    scores = torch.randperm(80, generator=gen).float() / 80
    for thr in (0.3, 0.5, 0.7):
        assert_tensor(student.nms(boxes, scores, thr), torchvision.ops.nms(boxes, scores, thr),
                      case=f"80 boxes, threshold {thr}")


@pytest.mark.task("trackers")
def test_nms_strict_threshold_and_empty(student):
    boxes = torch.tensor([[0.0, 0.0, 3.0, 1.0], [1.0, 0.0, 4.0, 1.0]])  # IoU exactly 0.5
    assert student.nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0, 1]
    assert student.nms(boxes, torch.tensor([0.8, 0.9]), 0.4).tolist() == [1]
    assert_tensor(student.nms(torch.zeros(0, 4), torch.zeros(0), 0.5), torch.zeros(0, dtype=torch.int64),
                  case="no boxes")


@pytest.mark.task("trackers")
def test_regress_to_detections_hand_computed(student):
    tracks = torch.tensor([box(0, 0), box(100, 0), box(200, 0)])
    dets = torch.tensor([box(1, 0), box(2, 1), box(104, 0), box(300, 0)])
    scores = torch.tensor([0.9, 0.4, 0.7, 0.99])
    # track 0: IoU 9/11 with det 0 (best); track 1: det 2 has IoU 6/14 < 0.5; track 2: nothing
    boxes, out = student.regress_to_detections(tracks, dets, scores, 0.5)
    assert_tensor(boxes, torch.tensor([box(1, 0), box(100, 0), box(200, 0)]), case="regressed boxes")
    assert_tensor(out, torch.tensor([0.9, 0.0, 0.0]), case="regressed scores")
    boxes, out = student.regress_to_detections(tracks, dets, scores, 0.4)
    assert_tensor(boxes[1], torch.tensor(box(104, 0)), case="track 1 with min_iou 0.4")
    assert_tensor(out, torch.tensor([0.9, 0.7, 0.0]), case="scores with min_iou 0.4")


@pytest.mark.task("trackers")
def test_regress_to_detections_without_detections(student):
    tracks = torch.tensor([box(0, 0), box(30, 0)])
    boxes, out = student.regress_to_detections(tracks, torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert_tensor(boxes, tracks, case="no detections: boxes stay")
    assert_tensor(out, torch.zeros(2), case="no detections: scores 0")
    boxes, out = student.regress_to_detections(torch.zeros(0, 4), torch.tensor([box(0, 0)]), torch.ones(1), 0.5)
    assert boxes.shape == (0, 4) and out.shape == (0,)


@pytest.mark.task("trackers")
def test_regress_to_detections_matches_reference(student, reference, sequences):
    seq = sequences[0]
    for t in range(1, 10):
        prev, now = seq["dets"][t - 1], seq["dets"][t]
        exp = reference.regress_to_detections(prev[:, :4], now[:, :4], now[:, 4], 0.5)
        got = student.regress_to_detections(prev[:, :4], now[:, :4], now[:, 4], 0.5)
        assert_tensor(got[0], exp[0], case=f"frame {t + 1} boxes")
        assert_tensor(got[1], exp[1], case=f"frame {t + 1} scores")


# ================================================================ IoUTracker: the rules


@pytest.mark.task("trackers")
def test_iou_tracker_birth_order_score_threshold_and_ids(student):
    tracker = student.IoUTracker(iou_threshold=0.3, score_threshold=0.5, patience=2, motion="constant_position")
    # births in input order (not score order); the 0.3 detection is ignored
    out = tracker.step(*frame([box(50, 0), box(0, 0), box(100, 100)], [0.6, 0.9, 0.3]))
    ids, boxes = check_output(out, "frame 1")
    assert ids == [1, 2], f"expected ids [1, 2], got {ids}"
    assert_tensor(boxes, torch.tensor([box(50, 0), box(0, 0)]), case="frame 1 boxes (id order)")
    out = tracker.step(*frame([box(1, 0), box(51, 1)], [0.8, 0.7]))
    ids, boxes = check_output(out, "frame 2")
    assert ids == [1, 2]
    assert_tensor(boxes, torch.tensor([box(51, 1), box(1, 0)]), case="frame 2: boxes follow the ids")


@pytest.mark.task("trackers")
@pytest.mark.parametrize("patience, expected", [(0, [1, 3]), (1, [1, 2]), (3, [1, 2])])
def test_iou_tracker_patience(student, patience, expected):
    tracker = student.IoUTracker(iou_threshold=0.3, patience=patience, motion="constant_position")
    assert ids_of(tracker.step(*frame([box(0, 0), box(50, 0)], [0.9, 0.8]))) == [1, 2]
    assert ids_of(tracker.step(*frame([box(2, 0)], [0.9]))) == [1], "track 2 is not seen in frame 2"
    got = ids_of(tracker.step(*frame([box(4, 0), box(51, 0)], [0.9, 0.8])))
    assert got == expected, f"patience {patience}: after one missed frame expected ids {expected}, got {got}"


@pytest.mark.task("trackers")
def test_iou_tracker_deletes_after_patience(student):
    tracker = student.IoUTracker(patience=2, motion="constant_position")
    tracker.step(*frame([box(0, 0)], [0.9]))
    for _ in range(3):  # missed in frames 2, 3 and 4: 4 - 1 = 3 > 2
        assert ids_of(tracker.step(*frame([], []))) == []
    assert ids_of(tracker.step(*frame([box(0, 0)], [0.9]))) == [2]


@pytest.mark.task("trackers")
@pytest.mark.parametrize("motion, expected", [("constant_position", [2]), ("constant_velocity", [1]), ("kalman", [1])])
def test_iou_tracker_motion_models_bridge_an_occlusion(student, motion, expected):
    # a box moving 4 px per frame to the right disappears for two frames
    tracker = student.IoUTracker(iou_threshold=0.3, patience=5, motion=motion)
    for t in range(6):
        assert ids_of(tracker.step(*frame([box(4.0 * t, 0)], [0.9]))) == [1]
    assert ids_of(tracker.step(*frame([], []))) == []
    assert ids_of(tracker.step(*frame([], []))) == []
    got = ids_of(tracker.step(*frame([box(32.0, 0)], [0.9])))
    assert got == expected, f"{motion}: expected {expected} when the box reappears 12 px further, got {got}"


@pytest.mark.task("trackers")
def test_iou_tracker_uses_appearance(student):
    # two boxes swap places behind each other; IoU alone swaps their ids, appearance does not
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    kw = dict(iou_threshold=0.1, motion="constant_position", max_cost=0.9)
    plain = student.IoUTracker(appearance_weight=0.0, **kw)
    seen = student.IoUTracker(appearance_weight=0.5, **kw)
    f1 = frame([box(0, 0), box(6, 0)], [0.9, 0.9])
    f2 = frame([box(1, 0), box(5, 0)], [0.9, 0.9])  # the detections now show b, a (order swapped)
    for tracker in (plain, seen):
        tracker.step(*f1, torch.cat([a, b]))
    # det 0 at x=1 overlaps track 1 most; with appearance it is b, i.e. track 2
    out_plain = plain.step(*f2, torch.cat([b, a]))
    out_seen = seen.step(*f2, torch.cat([b, a]))
    _, boxes_plain = check_output(out_plain, "IoU only")
    _, boxes_seen = check_output(out_seen, "with appearance")
    assert_tensor(boxes_plain, torch.tensor([box(1, 0), box(5, 0)]), case="IoU only keeps positions")
    assert_tensor(boxes_seen, torch.tensor([box(5, 0), box(1, 0)]), case="appearance keeps identities")


@pytest.mark.task("trackers")
def test_iou_tracker_embeddings_on_every_step_or_none(student):
    tracker = student.IoUTracker(appearance_weight=0.5)
    tracker.step(*frame([box(0, 0)], [0.9]), torch.ones(1, 4))
    with pytest.raises(ValueError):
        tracker.step(*frame([box(0, 0)], [0.9]))


@pytest.mark.task("trackers")
def test_iou_tracker_rejects_bad_arguments(student):
    with pytest.raises(ValueError):
        student.IoUTracker(motion="teleport")
    with pytest.raises(ValueError):
        student.IoUTracker(iou_threshold=1.5)
    with pytest.raises(ValueError):
        student.IoUTracker(patience=-1)
    tracker = student.IoUTracker()
    with pytest.raises(ValueError):
        tracker.step(torch.zeros(3, 4), torch.zeros(2))


# ================================================================ IoUTracker vs the reference


@pytest.mark.task("trackers")
@pytest.mark.parametrize("motion", ["constant_position", "constant_velocity", "kalman"])
def test_iou_tracker_matches_reference_on_sequences(student, reference, sequences, motion):
    kw = dict(iou_threshold=0.3, score_threshold=0.5, patience=4, motion=motion)
    for seq in sequences:
        compare_steps(student.IoUTracker(**kw), reference.IoUTracker(**kw), seq, f"{motion}, {seq['name']}")


@pytest.mark.task("trackers")
def test_iou_tracker_with_appearance_matches_reference(student, reference, sequences):
    kw = dict(iou_threshold=0.3, score_threshold=0.4, patience=10, motion="kalman", appearance_weight=0.4,
              max_cost=0.8, embedding_momentum=0.7)
    seq = sequences[1]
    compare_steps(student.IoUTracker(**kw), reference.IoUTracker(**kw), seq, "appearance", embeddings=True)


# ================================================================ TracktorTracker


@pytest.mark.task("trackers")
def test_tracktor_active_tracks_and_regression(student):
    tracker = student.TracktorTracker()
    act = tracker.active_tracks()
    assert act["ids"].tolist() == [] and act["boxes"].shape == (0, 4)
    assert ids_of(tracker.step(*frame([box(0, 0), box(50, 0)], [0.9, 0.8]))) == [1, 2]
    act = tracker.active_tracks()
    assert act["ids"].tolist() == [1, 2]
    assert_tensor(act["boxes"].float(), torch.tensor([box(0, 0), box(50, 0)]), case="active boxes")
    # given regression: track 1 moves, track 2's score drops below sigma_active
    reg_boxes, reg_scores = frame([box(3, 0), box(52, 0)], [0.9, 0.2])
    out = tracker.step(*frame([], []), reg_boxes, reg_scores)
    ids, boxes = check_output(out, "frame 2")
    assert ids == [1]
    assert_tensor(boxes, torch.tensor([box(3, 0)]), case="regressed box of track 1")
    assert tracker.active_tracks()["ids"].tolist() == [1]


@pytest.mark.task("trackers")
def test_tracktor_reidentifies_an_inactive_track(student):
    tracker = student.TracktorTracker(patience=3, reid_iou=0.5)
    tracker.step(*frame([box(0, 0), box(50, 0)], [0.9, 0.8]))
    tracker.step(*frame([box(1, 0)], [0.9]))  # track 2 has no detection: regressed score 0
    # a new detection near track 2's last box revives it; one far away starts track 3
    out = tracker.step(*frame([box(2, 0), box(51, 0), box(200, 0)], [0.9, 0.85, 0.7]))
    assert ids_of(out) == [1, 2, 3]


@pytest.mark.task("trackers")
def test_tracktor_nms_between_tracks_and_detections(student):
    tracker = student.TracktorTracker(lambda_active=0.6, lambda_new=0.3)
    tracker.step(*frame([box(0, 0), box(30, 0)], [0.9, 0.8]))
    # both tracks regress onto nearly the same place: the lower-scored one is suppressed
    reg_boxes, reg_scores = frame([box(10, 0), box(11, 0)], [0.7, 0.95])
    # a detection overlapping the surviving track (IoU > 0.3) must not start a new track
    out = tracker.step(*frame([box(12, 0), box(100, 0)], [0.9, 0.8]), reg_boxes, reg_scores)
    ids, boxes = check_output(out, "frame 2")
    assert ids == [2, 3], f"expected track 1 suppressed, track 2 kept, one new track 3; got {ids}"
    assert_tensor(boxes, torch.tensor([box(11, 0), box(100, 0)]), case="frame 2 boxes")


@pytest.mark.task("trackers")
def test_tracktor_new_detections_in_score_order(student):
    tracker = student.TracktorTracker(sigma_detection=0.5)
    out = tracker.step(*frame([box(0, 0), box(100, 0), box(200, 0), box(300, 0)], [0.6, 0.9, 0.4, 0.7]))
    ids, boxes = check_output(out, "frame 1")
    assert ids == [1, 2, 3]
    # ids are given in NMS order (decreasing score): 0.9 -> 1, 0.7 -> 2, 0.6 -> 3
    assert_tensor(boxes, torch.tensor([box(100, 0), box(300, 0), box(0, 0)]), case="birth order")


@pytest.mark.task("trackers")
def test_tracktor_matches_reference_with_builtin_regressor(student, reference, sequences):
    kw = dict(sigma_active=0.3, lambda_active=0.6, sigma_detection=0.5, lambda_new=0.3, patience=5,
              reid_iou=0.3, regression_iou=0.5)
    for seq in sequences:
        compare_steps(student.TracktorTracker(**kw), reference.TracktorTracker(**kw), seq, f"tracktor, {seq['name']}")


def gt_regressor(track_boxes, gt_frame, t):
    """A trusted stand-in regressor: the best-overlapping ground-truth box, slightly jittered,
    with a score that drops with the overlap; lost tracks score 0.1."""
    boxes = track_boxes.double().clone()
    scores = torch.full((len(boxes),), 0.1, dtype=torch.float64)
    if len(boxes) and len(gt_frame):
        iou = torchvision.ops.box_iou(boxes, gt_frame)
        best_iou, best = iou.max(1)
        hit = best_iou >= 0.4
        jitter = torch.sin(torch.arange(len(boxes), dtype=torch.float64) + t)[:, None] * 0.5
        boxes[hit] = gt_frame[best[hit]] + jitter[hit]
        scores[hit] = 0.5 + 0.45 * best_iou[hit] + 0.001 * torch.arange(len(boxes), dtype=torch.float64)[hit]
    return boxes.float(), scores.float()


@pytest.mark.task("trackers")
def test_tracktor_matches_reference_with_external_regressor(student, reference, sequences):
    seq = sequences[0]
    kw = dict(patience=6, reid_iou=0.4)
    mine, ref = student.TracktorTracker(**kw), reference.TracktorTracker(**kw)
    gt = seq["gt"]
    for t, d in enumerate(seq["dets"]):
        act, act_ref = mine.active_tracks(), ref.active_tracks()
        assert act["ids"].tolist() == act_ref["ids"].tolist(), f"frame {t + 1}: active tracks differ"
        gt_frame = gt[gt[:, 0] == t + 1][:, 2:]
        reg = gt_regressor(act_ref["boxes"], gt_frame, t)
        got = mine.step(d[:, :4], d[:, 4], *reg)
        exp = ref.step(d[:, :4], d[:, 4], *reg)
        ids, boxes = check_output(got, f"frame {t + 1}")
        assert ids == exp["ids"].tolist(), f"frame {t + 1}: expected ids {exp['ids'].tolist()}, got {ids}"
        assert_tensor(boxes, exp["boxes"], atol=1e-5, case=f"frame {t + 1} boxes")


@pytest.mark.task("trackers")
def test_tracktor_rejects_bad_regression(student):
    tracker = student.TracktorTracker()
    tracker.step(*frame([box(0, 0)], [0.9]))
    with pytest.raises(ValueError):
        tracker.step(*frame([], []), torch.zeros(2, 4), torch.zeros(2))  # 1 active track, 2 rows
    with pytest.raises(ValueError):
        tracker.step(*frame([], []), torch.zeros(1, 4), None)


# ================================================================ track_sequence


def check_rows(got, case):
    if type(got) is not torch.Tensor or got.dim() != 2 or got.shape[1] != 6:
        raise AssertionError(f"[{case}] expected a Tensor[N, 6], got {got!r:.100}")
    return got


@pytest.mark.task("trackers")
@pytest.mark.parametrize("method, params", [
    ("iou", dict(iou_threshold=0.3, score_threshold=0.5, patience=5, motion="constant_velocity",
                 appearance_weight=0.0, max_cost=None, embedding_momentum=0.0)),
    ("iou", dict(iou_threshold=0.2, score_threshold=0.6, patience=20, motion="kalman",
                 appearance_weight=0.5, max_cost=0.7, embedding_momentum=0.5)),
    ("tracktor", dict(sigma_active=0.4, lambda_active=0.5, sigma_detection=0.6, lambda_new=0.3,
                      patience=8, reid_iou=0.3, regression_iou=0.5)),
], ids=["iou-velocity", "iou-kalman-appearance", "tracktor"])
def test_track_sequence_matches_reference(student, reference, sequences, method, params):
    seq = sequences[1]
    expected = reference.track_sequence(seq["dets"], seq["feats"], method=method, **params)
    got = check_rows(student.track_sequence(seq["dets"], seq["feats"], method=method, **params), method)
    assert_tensor(got, expected, atol=1e-5, case=f"{method} on a 40-frame sequence")


@pytest.mark.task("trackers")
def test_track_sequence_format(student, sequences):
    seq = sequences[0]
    got = check_rows(student.track_sequence(seq["dets"]), "defaults, no embeddings")
    assert got.dtype == torch.float32
    frames, ids = got[:, 0], got[:, 1]
    assert bool((frames >= 1).all() and (frames <= len(seq["dets"])).all()), "frames must be 1-based"
    assert bool((frames == frames.round()).all() and (ids == ids.round()).all()), "frames and ids are integers"
    key = frames.double() * 1e6 + ids.double()
    assert bool((key[1:] > key[:-1]).all()), "rows must be sorted by frame then id, without repeats"


@pytest.mark.task("trackers")
def test_track_sequence_of_empty_input(student):
    got = student.track_sequence([])
    assert_tensor(got, torch.zeros(0, 6), case="no frames")
    got = student.track_sequence([torch.zeros(0, 5)] * 3)
    assert_tensor(got, torch.zeros(0, 6), case="three empty frames")


@pytest.mark.task("trackers")
def test_track_sequence_rejects_bad_input(student):
    with pytest.raises(ValueError):
        student.track_sequence([torch.zeros(3, 4)])
    with pytest.raises(ValueError):
        student.track_sequence([torch.zeros(0, 5)], method="magic")


# ================================================================ classes of one-mistake variants
# (found by `cv3 check tracking --mutants`): the boundary of every documented range, the exact
# empty shapes and dtypes before any track exists, and deletion after `patience` frames.


@pytest.mark.task("trackers")
def test_iou_tracker_embedding_momentum_boundary(student):
    with pytest.raises(ValueError, match="embedding_momentum"):
        student.IoUTracker(embedding_momentum=1.0)
    with pytest.raises(ValueError, match="embedding_momentum"):
        student.IoUTracker(embedding_momentum=-0.1)
    student.IoUTracker(embedding_momentum=0.0)
    student.IoUTracker(embedding_momentum=0.999)


@pytest.mark.task("trackers")
def test_tracktor_active_tracks_before_and_after_every_track_is_lost(student):
    tracker = student.TracktorTracker()
    for _ in range(2):
        got = tracker.active_tracks()
        assert_tensor(got["ids"], torch.zeros(0, dtype=torch.int64), case="no active track")
        assert_tensor(got["boxes"], torch.zeros(0, 4, dtype=torch.float64), case="no active track")
        tracker.step(torch.tensor([[0.0, 0.0, 10.0, 10.0]]), torch.tensor([0.9]))
        out = tracker.step(torch.zeros(0, 4), torch.zeros(0))  # nothing to regress to: the track is lost
        assert_tensor(out["ids"], torch.zeros(0, dtype=torch.int64), case="step without tracks")
        assert_tensor(out["boxes"], torch.zeros(0, 4), case="step without tracks: the dtype of dets")


@pytest.mark.task("trackers")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_iou_tracker_step_without_tracks_has_exact_empty_shapes(student, dtype):
    tracker = student.IoUTracker()
    for dets, scores in [(torch.zeros(0, 4, dtype=dtype), torch.zeros(0, dtype=dtype)),
                         (torch.tensor([[0.0, 0.0, 5.0, 5.0]], dtype=dtype), torch.tensor([0.1], dtype=dtype))]:
        out = tracker.step(dets, scores)  # nothing, then only a detection below the score threshold
        assert_tensor(out["ids"], torch.zeros(0, dtype=torch.int64), case="no track")
        assert_tensor(out["boxes"], torch.zeros(0, 4, dtype=dtype), case="no track: boxes [0, 4] in the dtype of dets")


@pytest.mark.task("trackers")
@pytest.mark.parametrize("patience", [1, 3])
def test_tracktor_deletes_a_track_lost_for_more_than_patience_frames(student, patience):
    # born in frame 1, lost in frame 2 (nothing to regress to), back in frame `away + 2`: the
    # deletion at the end of frame t removes it once t - 1 > patience, so it is re-identified
    # (id 1) after `patience` empty frames and replaced by a new track (id 2) after one more
    box, none = torch.tensor([[10.0, 10.0, 30.0, 40.0]]), torch.zeros(0, 4)
    for away, expected_id in [(patience, 1), (patience + 1, 2)]:
        tracker = student.TracktorTracker(patience=patience)
        assert tracker.step(box, torch.tensor([0.9]))["ids"].tolist() == [1]
        for _ in range(away):
            tracker.step(none, torch.zeros(0))
        got = tracker.step(box, torch.tensor([0.9]))["ids"].tolist()
        assert got == [expected_id], f"patience {patience}, {away} empty frames: ids {got}"


@pytest.mark.task("trackers")
@pytest.mark.parametrize("name", ["lambda_active", "lambda_new", "reid_iou", "regression_iou"])
def test_tracktor_unit_interval_parameters_at_both_ends(student, name):
    for ok in (0.0, 1.0):
        student.TracktorTracker(**{name: ok})
    for bad in (-1e-9, 1.0 + 1e-9, 2.0):
        with pytest.raises(ValueError, match=name):
            student.TracktorTracker(**{name: bad})
