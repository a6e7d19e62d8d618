"""The trusted DAVIS J&F (harness/metrics/davis.py) on hand-made cases, and against an
independent re-implementation of the toolkit's F-measure with skimage's disk and cv2.dilate."""

import math

import cv2
import numpy as np
import pytest
from skimage.morphology import disk as sk_disk

from harness.metrics import davis


def square(h, w, r0, r1, c0, c1):
    m = np.zeros((h, w), dtype=np.uint8)
    m[r0:r1, c0:c1] = 1
    return m


def toolkit_f(fg, gt, bound_th=0.008):
    """The toolkit's f_measure, written again from its description with cv2 and skimage."""
    def bmap(seg):
        seg = seg.astype(bool)
        e, s, se = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
        e[:, :-1], s[:-1, :], se[:-1, :-1] = seg[:, 1:], seg[1:, :], seg[1:, 1:]
        b = seg ^ e | seg ^ s | seg ^ se
        b[-1, :] = seg[-1, :] ^ e[-1, :]
        b[:, -1] = seg[:, -1] ^ s[:, -1]
        b[-1, -1] = 0
        return b
    r = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(fg.shape))
    fb, gb = bmap(fg), bmap(gt)
    fd = cv2.dilate(fb.astype(np.uint8), sk_disk(int(r)).astype(np.uint8))
    gd = cv2.dilate(gb.astype(np.uint8), sk_disk(int(r)).astype(np.uint8))
    nf, ng = fb.sum(), gb.sum()
    if nf == 0 and ng > 0:
        p, rc = 1, 0
    elif nf > 0 and ng == 0:
        p, rc = 0, 1
    elif nf == 0 and ng == 0:
        p, rc = 1, 1
    else:
        p, rc = np.sum(fb * gd) / nf, np.sum(gb * fd) / ng
    return 0.0 if p + rc == 0 else 2 * p * rc / (p + rc)


def test_seg2bmap_hand_made_square():
    b = davis.seg2bmap(square(5, 5, 1, 3, 1, 3))
    expected = np.zeros((5, 5), dtype=bool)
    for y, x in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)]:
        expected[y, x] = True
    np.testing.assert_array_equal(b, expected)


def test_seg2bmap_full_and_empty_masks_have_no_boundary():
    assert not davis.seg2bmap(np.ones((4, 6))).any()
    assert not davis.seg2bmap(np.zeros((4, 6))).any()
    # the last row/column rules: a mask touching the bottom edge
    b = davis.seg2bmap(square(3, 3, 2, 3, 0, 3))
    np.testing.assert_array_equal(b, [[0, 0, 0], [1, 1, 1], [0, 0, 0]])


def test_disk_matches_skimage():
    for r in range(0, 6):
        np.testing.assert_array_equal(davis.disk(r), sk_disk(r).astype(bool))
    with pytest.raises(ValueError, match="radius"):
        davis.disk(-1)


def test_dilate_matches_cv2():
    rng = np.random.default_rng(0)
    m = rng.random((17, 23)) < 0.05
    for r in (0, 1, 2, 4):
        ref = cv2.dilate(m.astype(np.uint8), sk_disk(r).astype(np.uint8)).astype(bool)
        np.testing.assert_array_equal(davis.dilate(m, r), ref)


def test_bound_pixels():
    assert davis.bound_pixels((48, 48)) == 1          # 0.008 * 67.9 = 0.54 -> 1
    assert davis.bound_pixels((480, 854)) == 8        # 0.008 * 979.7 = 7.84 -> 8
    assert davis.bound_pixels((200, 200)) == 3        # 2.26 -> 3
    assert davis.bound_pixels((10, 10), 2) == 2       # >= 1: pixels
    with pytest.raises(ValueError, match="bound_th"):
        davis.bound_pixels((10, 10), 0)


def test_jaccard_hand_made():
    a = square(6, 6, 0, 2, 0, 2)           # 4 px
    b = square(6, 6, 0, 2, 1, 3)           # 4 px, overlap 2
    assert davis.jaccard(a, b) == pytest.approx(2 / 6)
    assert davis.jaccard(a, np.zeros((6, 6))) == 0.0
    assert davis.jaccard(np.zeros((6, 6)), np.zeros((6, 6))) == 1.0  # empty union: 1
    assert davis.jaccard(a * 7, a) == 1.0                            # nonzero = foreground
    void = np.zeros((6, 6))
    void[:, 2] = 1                                                  # hides b's extra column
    assert davis.jaccard(a, b, void) == pytest.approx(2 / 4)
    assert davis.jaccard(a, a, np.ones((6, 6))) == 1.0               # all void: empty union
    with pytest.raises(ValueError, match="must match"):
        davis.jaccard(a, np.zeros((5, 6)))


def test_f_measure_degenerate_cases():
    gt = square(20, 20, 5, 10, 5, 10)
    z = np.zeros((20, 20))
    assert davis.boundary_pr(z, gt) == (1.0, 0.0)
    assert davis.boundary_pr(gt, z) == (0.0, 1.0)
    assert davis.boundary_pr(z, z) == (1.0, 1.0)
    assert davis.f_measure(z, gt) == 0.0 and davis.f_measure(z, z) == 1.0
    assert davis.f_measure(gt, gt) == 1.0


def test_f_measure_tolerance_one_pixel_on_small_images():
    gt = square(48, 48, 10, 30, 10, 30)
    assert davis.f_measure(np.roll(gt, 1, axis=1), gt) == 1.0  # within the 1-px disk
    f2 = davis.f_measure(np.roll(gt, 2, axis=1), gt)
    assert f2 < 1.0
    # the two vertical edges (20 px each of 78) are 2 px off, the horizontal ones match except ends
    assert f2 == pytest.approx(toolkit_f(np.roll(gt, 2, axis=1), gt))


def test_f_measure_matches_toolkit_reimplementation_on_random_blobs():
    rng = np.random.default_rng(1)
    for _ in range(12):
        h, w = rng.integers(20, 90, size=2)
        yy, xx = np.mgrid[0:h, 0:w]
        gt = (yy - h / 2) ** 2 / (h / 4) ** 2 + (xx - w / 2) ** 2 / (w / 3) ** 2 < 1
        pred = (yy - h / 2 - rng.normal(0, 3)) ** 2 / (h / 4 + rng.normal(0, 3)) ** 2 \
            + (xx - w / 2 - rng.normal(0, 3)) ** 2 / (w / 3) ** 2 < 1
        pred ^= rng.random((h, w)) < 0.02
        for th in (0.008, 0.03, 2):
            assert davis.f_measure(pred, gt, bound_th=th) == pytest.approx(toolkit_f(pred, gt, th), abs=1e-12)


def test_void_pixels_are_background_for_boundaries():
    gt = square(20, 20, 5, 10, 5, 10)
    pred = gt.copy()
    pred[12:15, 12:15] = 1                                    # a false blob ...
    void = np.zeros((20, 20))
    void[11:16, 11:16] = 1                                    # ... inside void
    assert davis.f_measure(pred, gt) < 1.0
    assert davis.f_measure(pred, gt, void) == 1.0


def test_db_statistics_hand_made():
    v = np.arange(10) / 10
    mean, recall, decay = davis.db_statistics(v)
    assert mean == pytest.approx(0.45)
    assert recall == pytest.approx(0.4)                      # 0.6..0.9 > 0.5; 0.5 is not
    # ids = round(linspace(1, 10, 5)) - 1 = 0, 2, 5, 7, 9: bins v[0:3], v[2:6], v[5:8], v[7:10]
    assert decay == pytest.approx(np.mean(v[0:3]) - np.mean(v[7:10]))
    m, r, d = davis.db_statistics([0.7])
    assert (m, r, d) == (pytest.approx(0.7), 1.0, 0.0)
    m, r, d = davis.db_statistics([np.nan, 0.2, 0.8, 1.0])
    assert m == pytest.approx(2 / 3) and r == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="non-empty"):
        davis.db_statistics([])


def test_evaluate_sequence_skips_first_and_last():
    gt = np.stack([square(24, 24, 4, 12, 4, 12)] * 5)
    pred = gt.copy()
    pred[0] = 0
    pred[-1] = 0                                             # wrong but unscored
    pred[2] = 0                                              # wrong and scored
    s = davis.evaluate_sequence(pred, gt)
    assert s.j == (1.0, 0.0, 1.0) and s.f == (1.0, 0.0, 1.0)
    assert s.j_mean == pytest.approx(2 / 3) and s.jf == pytest.approx(2 / 3)
    s_all = davis.evaluate_sequence(pred, gt, skip_first_last=False)
    assert len(s_all.j) == 5 and s_all.j_mean == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="no frame"):
        davis.evaluate_sequence(pred[:2], gt[:2])
    with pytest.raises(ValueError, match="must match"):
        davis.evaluate_sequence(pred[:3], gt)


def test_evaluate_sequences_weighs_sequences_equally_and_objects_separately():
    gt = np.stack([square(24, 24, 4, 12, 4, 12)] * 12)
    good = davis.evaluate_sequence(gt, gt)
    bad = davis.evaluate_sequence(np.zeros_like(gt[:3]), gt[:3])
    agg = davis.evaluate_sequences([good, bad])
    assert agg["j_mean"] == pytest.approx(0.5) and agg["jf_mean"] == pytest.approx(0.5)
    labels = gt.astype(np.int64)
    labels[:, 15:20, 15:20] = 2
    labels[:, 0, :] = 255
    pred = labels.copy()
    pred[pred == 2] = 0
    per = davis.evaluate_objects(pred, labels)
    assert sorted(per) == [1, 2]
    assert per[1].j_mean == 1.0 and per[2].j_mean == 0.0
    assert math.isclose(per[2].f_mean, 0.0)
