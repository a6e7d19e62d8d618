"""Hidden tests of integral images and rectangle sums [integral] and Haar features [haar].

Oracles: OpenCV ``cv2.integral`` (zero first row and column), scikit-image ``integral_image``
(none), ``haar_like_feature`` and ``haar_like_feature_coord``, and float64 sums written here.
"""

import cv2
import numpy as np
import pytest
import torch
from skimage.feature import haar_like_feature, haar_like_feature_coord
from skimage.transform import integral_image as sk_integral_image

from harness.testkit import assert_tensor

TYPES = ["type-2-x", "type-2-y", "type-3-x", "type-3-y", "type-4"]


def image(h, w, seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(h, w, generator=gen, dtype=torch.float64).to(dtype)


def sk_coords_as_rects(coords):
    """scikit-image's inclusive corner pairs -> [K, 4, 4] (row, col, height, width), padded."""
    out = np.zeros((len(coords), 4, 4), dtype=np.int64)
    for k, feature in enumerate(coords):
        for r, ((r0, c0), (r1, c1)) in enumerate(feature):
            out[k, r] = (r0, c0, r1 - r0 + 1, c1 - c0 + 1)
    return torch.from_numpy(out)


# ------------------------------------------------------------------------------------ integral
@pytest.mark.task("integral")
@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (16, 3)])
def test_integral_image_equals_opencv(student, shape):
    x = image(*shape, seed=1)
    expected = torch.from_numpy(cv2.integral(x.numpy()))
    got = student.integral_image(x)
    assert_tensor(got, expected, atol=1e-12, rtol=1e-12)
    assert float(got[0].abs().max()) == 0.0 and float(got[:, 0].abs().max()) == 0.0


@pytest.mark.task("integral")
def test_integral_image_without_its_zero_row_is_scikit_images(student):
    x = image(9, 6, seed=2)
    got = student.integral_image(x)
    assert_tensor(got[1:, 1:], torch.from_numpy(sk_integral_image(x.numpy())), atol=1e-12, rtol=1e-12)


@pytest.mark.task("integral")
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.float32, torch.bool])
def test_integral_image_dtypes_give_float64(student, dtype):
    x = (image(6, 5, seed=3) * 255).to(dtype) if dtype != torch.bool else image(6, 5, seed=3) > 0.5
    expected = torch.from_numpy(cv2.integral(x.double().numpy()))
    got = student.integral_image(x)
    assert_tensor(got, expected, atol=0, rtol=0)


@pytest.mark.task("integral")
def test_integral_image_of_uint8_does_not_overflow(student):
    x = torch.full((20, 20), 255, dtype=torch.uint8)
    assert float(student.integral_image(x)[-1, -1]) == 255.0 * 400


@pytest.mark.task("integral")
def test_integral_image_batched(student):
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 7, 8, generator=gen, dtype=torch.float64)
    got = student.integral_image(x)
    assert got.shape == (2, 3, 8, 9)
    for i in range(2):
        for j in range(3):
            assert_tensor(got[i, j], torch.from_numpy(cv2.integral(x[i, j].numpy())), atol=1e-12, rtol=0)


@pytest.mark.task("integral")
def test_rectangle_sums_equal_slicing(student):
    x = image(13, 17, seed=5)
    gen = torch.Generator().manual_seed(6)
    rects = []
    for _ in range(60):
        r, c = int(torch.randint(0, 13, (1,), generator=gen)), int(torch.randint(0, 17, (1,), generator=gen))
        h = int(torch.randint(0, 13 - r + 1, (1,), generator=gen))
        w = int(torch.randint(0, 17 - c + 1, (1,), generator=gen))
        rects.append((r, c, h, w))
    rects += [(0, 0, 13, 17), (12, 16, 1, 1), (0, 0, 0, 0), (5, 5, 0, 3), (13, 17, 0, 0)]
    rects = torch.tensor(rects, dtype=torch.int64)
    expected = torch.tensor([float(x[r:r + h, c:c + w].sum()) for r, c, h, w in rects.tolist()],
                            dtype=torch.float64)
    got = student.rectangle_sums(student.integral_image(x), rects)
    assert_tensor(got, expected, atol=1e-12, rtol=1e-12)


@pytest.mark.task("integral")
def test_rectangle_sums_batched_and_empty(student):
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(3, 6, 6, generator=gen, dtype=torch.float64)
    rects = torch.tensor([[1, 2, 3, 4], [0, 0, 6, 6]], dtype=torch.int64)
    got = student.rectangle_sums(student.integral_image(x), rects)
    expected = torch.stack([x[:, 1:4, 2:6].sum((1, 2)), x.sum((1, 2))], dim=1)
    assert_tensor(got, expected, atol=1e-12, rtol=0)
    empty = student.rectangle_sums(student.integral_image(x), torch.zeros(0, 4, dtype=torch.int64))
    assert_tensor(empty, torch.zeros(3, 0, dtype=torch.float64))


@pytest.mark.task("integral")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.integral_image(torch.zeros(5)), ValueError, "image"),
    (lambda s: s.integral_image([[1.0]]), TypeError, "image"),
    (lambda s: s.rectangle_sums(torch.zeros(5, 5, dtype=torch.float64), torch.tensor([[0, 0, 5, 4]])),
     ValueError, "inside|rects"),
    (lambda s: s.rectangle_sums(torch.zeros(5, 5, dtype=torch.float64), torch.tensor([[-1, 0, 1, 1]])),
     ValueError, "inside|rects"),
    (lambda s: s.rectangle_sums(torch.zeros(5, 5, dtype=torch.float64), torch.tensor([[0, 0, 2, 5]])),
     ValueError, "inside|rects"),
    (lambda s: s.rectangle_sums(torch.zeros(5, 5, dtype=torch.float64), torch.tensor([[1, 1, -1, 2]])),
     ValueError, "inside|rects"),
    (lambda s: s.rectangle_sums(torch.zeros(5, 5, dtype=torch.float64), torch.tensor([[0.0, 0, 1, 1]])),
     TypeError, "rects"),
    (lambda s: s.rectangle_sums(torch.zeros(5, 5, dtype=torch.float64), torch.tensor([[0, 0, 1]])),
     ValueError, "rects"),
], ids=["1d", "list", "bottom", "negative", "right", "neg-height", "float", "shape"])
def test_integral_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)


# ----------------------------------------------------------------------------------------- haar
@pytest.mark.task("haar")
def test_feature_counts_on_a_24x24_window(student):
    counts = {t: student.haar_feature_coords(24, 24, t)[0].shape[0] for t in TYPES}
    assert counts == {"type-2-x": 43200, "type-2-y": 43200, "type-3-x": 27600, "type-3-y": 27600, "type-4": 20736}
    rects, signs = student.haar_feature_coords(24, 24)
    assert rects.shape == (162336, 4, 4) and rects.dtype == torch.int64
    assert signs.shape == (162336, 4) and signs.dtype == torch.float64


@pytest.mark.task("haar")
@pytest.mark.parametrize("size", [(5, 5), (4, 7), (8, 3), (1, 1), (2, 3)])
@pytest.mark.parametrize("ftype", TYPES)
def test_coords_equal_scikit_image(student, size, ftype):
    coords, _ = haar_like_feature_coord(size[1], size[0], ftype)
    rects, signs = student.haar_feature_coords(size[0], size[1], ftype)
    expected = sk_coords_as_rects(coords).reshape(-1, 4, 4)
    assert_tensor(rects, expected)
    n_rect = {"type-2-x": 2, "type-2-y": 2, "type-3-x": 3, "type-3-y": 3, "type-4": 4}[ftype]
    sign_row = torch.tensor([-1.0, 1.0, -1.0, 1.0][:n_rect] + [0.0] * (4 - n_rect), dtype=torch.float64)
    assert_tensor(signs, sign_row.expand(rects.shape[0], 4).clone())


@pytest.mark.task("haar")
def test_coords_of_several_types_follow_the_given_order(student):
    r1, s1 = student.haar_feature_coords(6, 5, ["type-4", "type-2-x"])
    a, sa = student.haar_feature_coords(6, 5, "type-4")
    b, sb = student.haar_feature_coords(6, 5, "type-2-x")
    assert_tensor(r1, torch.cat([a, b]))
    assert_tensor(s1, torch.cat([sa, sb]))
    allr, _ = student.haar_feature_coords(6, 5)
    assert_tensor(allr, torch.cat([student.haar_feature_coords(6, 5, t)[0] for t in TYPES]))


@pytest.mark.task("haar")
@pytest.mark.parametrize("ftype", TYPES + [None])
def test_features_equal_scikit_image(student, ftype):
    x = image(24, 24, seed=8)
    expected = torch.from_numpy(haar_like_feature(sk_integral_image(x.numpy()), 0, 0, 24, 24, ftype))
    rects, signs = student.haar_feature_coords(24, 24, ftype)
    got = student.haar_features(student.integral_image(x), rects, signs)
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10)


@pytest.mark.task("haar")
@pytest.mark.parametrize("ftype", TYPES)
def test_features_of_a_window_inside_a_larger_image(student, ftype):
    """Shifting the rectangles by the window's corner on the whole image's integral image gives
    the features of the cropped window (scikit-image on the crop). scikit-image's own r, c
    offsets are not used as an oracle: on this version they disagree with its crop."""
    x = image(20, 30, seed=9)
    r0, c0, h, w = 3, 11, 9, 10
    crop = x[r0:r0 + h, c0:c0 + w].contiguous()
    expected = torch.from_numpy(haar_like_feature(sk_integral_image(crop.numpy()), 0, 0, w, h, ftype))
    rects, signs = student.haar_feature_coords(h, w, ftype)
    shift = torch.tensor([r0, c0, 0, 0], dtype=torch.int64)
    moved = torch.where(signs[..., None] != 0, rects + shift, rects)
    got = student.haar_features(student.integral_image(x), moved, signs)
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10)


@pytest.mark.task("haar")
def test_sign_conventions_on_hand_made_windows(student):
    left_dark = torch.zeros(2, 2, dtype=torch.float64)
    left_dark[:, 1] = 1.0  # right column bright
    r, s = student.haar_feature_coords(2, 2, "type-2-x")
    full = r[:, 0, 2] == 2
    r, s = r[full], s[full]  # the full-height feature: two 2 x 1 rectangles
    assert r[0, :2].tolist() == [[0, 0, 2, 1], [0, 1, 2, 1]]
    assert float(student.haar_features(student.integral_image(left_dark), r, s)[0]) == 2.0  # right - left
    bottom = torch.tensor([[0.25], [1.0]], dtype=torch.float64)
    r, s = student.haar_feature_coords(2, 1, "type-2-y")
    assert float(student.haar_features(student.integral_image(bottom), r, s)[0]) == 0.75  # bottom - top
    stripe = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64)
    r, s = student.haar_feature_coords(1, 3, "type-3-x")
    assert float(student.haar_features(student.integral_image(stripe), r, s)[0]) == 1.0  # middle - sides
    sides = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    assert float(student.haar_features(student.integral_image(sides), r, s)[0]) == -2.0
    checker = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)  # TR and BL bright
    r, s = student.haar_feature_coords(2, 2, "type-4")
    assert float(student.haar_features(student.integral_image(checker), r, s)[0]) == 2.0


@pytest.mark.task("haar")
def test_features_batched(student):
    gen = torch.Generator().manual_seed(10)
    x = torch.rand(4, 8, 8, generator=gen, dtype=torch.float64)
    rects, signs = student.haar_feature_coords(8, 8)
    got = student.haar_features(student.integral_image(x), rects, signs)
    assert got.shape == (4, rects.shape[0])
    for i in range(4):
        expected = torch.from_numpy(haar_like_feature(sk_integral_image(x[i].numpy()), 0, 0, 8, 8))
        assert_tensor(got[i], expected, atol=1e-10, rtol=1e-10)


@pytest.mark.task("haar")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.haar_feature_coords(0, 5), ValueError, "height"),
    (lambda s: s.haar_feature_coords(5, -1), ValueError, "width"),
    (lambda s: s.haar_feature_coords(5, 5, "type-5"), ValueError, "feature_types|feature type"),
    (lambda s: s.haar_feature_coords(5, 5, ["type-2-x", "edge"]), ValueError, "feature_types|feature type"),
    (lambda s: s.haar_features(torch.zeros(4, 4, dtype=torch.float64), torch.zeros(2, 4, 4), torch.zeros(2, 4)),
     TypeError, "rects"),
    (lambda s: s.haar_features(torch.zeros(4, 4, dtype=torch.float64), torch.zeros(2, 4, 4, dtype=torch.int64),
                               torch.zeros(3, 4)), ValueError, "signs"),
    (lambda s: s.haar_features(torch.zeros(4, 4, dtype=torch.float64), torch.ones(1, 4, 4, dtype=torch.int64) * 3,
                               torch.zeros(1, 4)), ValueError, "inside|rects|leaves"),
    (lambda s: s.haar_features([[0.0]], torch.zeros(1, 4, 4, dtype=torch.int64), torch.zeros(1, 4)), TypeError, "ii"),
    (lambda s: s.rectangle_sums(torch.zeros(5, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.int64)),
     ValueError, "ii"),
], ids=["height", "width", "type", "type-list", "rects-dtype", "signs", "outside", "ii-list", "ii-1d"])
def test_haar_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)
