"""Hidden tests of the linear SVM [svm], the pyramid, dense windows and the sliding-window
detector [sliding], and the trained detector's contract [detector].

Oracles: scikit-learn ``LinearSVC(loss="squared_hinge", dual=False)`` (the same objective, its
intercept regularised as a feature of value 1), autograd of a float64 objective written here,
``F.interpolate`` for the pyramid, ``skimage.feature.hog`` per level plus loops for the windows,
and ``torchvision.ops.nms``.
"""


import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from skimage.feature import hog as sk_hog
from sklearn.svm import LinearSVC

from cv3data.hogscenes import make_hog_scenes
from harness.testkit import assert_tensor, check_gradient


def blobs(n, d, seed, dtype=torch.float64, sep=1.0):
    """Two overlapping Gaussian classes (not separable: some hinge terms stay active)."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.where(torch.rand(n, generator=gen) < 0.5, 1, -1).to(torch.int64)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) + sep * y[:, None].double() * torch.linspace(1, 0.2, d,
                                                                                                        dtype=torch.float64)
    return x.to(dtype), y


def objective64(w, b, x, y, c):
    m = y.double() * (x.double() @ w + b)
    return 0.5 * (w @ w + b * b) + c * ((1 - m).clamp(min=0) ** 2).sum()


# ------------------------------------------------------------------------------- svm
@pytest.mark.task("svm")
@pytest.mark.parametrize("c", [0.01, 1.0, 7.5])
def test_svm_objective_formula(student, c):
    x, y = blobs(40, 6, seed=1)
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(6, generator=gen, dtype=torch.float64) * 0.5
    b = torch.tensor(0.3, dtype=torch.float64)
    assert_tensor(student.svm_objective(w, b, x, y, C=c), objective64(w, b, x, y, c), atol=1e-10, rtol=1e-12,
                  case=f"C={c}: 1/2 (|w|^2 + b^2) + C sum max(0, 1 - y f)^2")


@pytest.mark.task("svm")
def test_svm_objective_margin_boundary_and_float32(student):
    # margins exactly 1 (no loss), 0.5 (loss 0.25) and 2 (no loss)
    x = torch.tensor([[1.0], [0.5], [-2.0]])
    y = torch.tensor([1, 1, -1])
    w, b = torch.tensor([1.0]), torch.tensor(0.0)
    got = student.svm_objective(w, b, x, y, C=2.0)
    assert_tensor(got, torch.tensor(0.5 + 2.0 * 0.25), atol=1e-6, case="margins 1, 0.5, 2; float32 in, float32 out")


@pytest.mark.task("svm")
def test_svm_objective_no_samples(student):
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    got = student.svm_objective(w, torch.tensor(1.0, dtype=torch.float64), torch.zeros(0, 2, dtype=torch.float64),
                                torch.zeros(0, dtype=torch.int64), C=1.0)
    assert_tensor(got, torch.tensor(13.0, dtype=torch.float64), atol=1e-12, case="N = 0: the regulariser only")


@pytest.mark.task("svm")
def test_svm_objective_gradient(student):
    x, y = blobs(25, 4, seed=3)
    gen = torch.Generator().manual_seed(4)
    w = torch.randn(4, generator=gen, dtype=torch.float64) * 0.3
    b = torch.tensor(-0.2, dtype=torch.float64)
    check_gradient(student, "svm_objective", [w, b, x, y], {"C": 0.7}, wrt=(0, 1, 2))


@pytest.mark.task("svm")
@pytest.mark.parametrize("n,d,c", [(120, 5, 1.0), (200, 30, 0.05), (60, 3, 20.0), (300, 80, 0.002)])
def test_train_linear_svm_matches_liblinear(student, n, d, c):
    x, y = blobs(n, d, seed=n + d)
    w, b = student.train_linear_svm(x, y, C=c)
    ref = LinearSVC(C=c, loss="squared_hinge", dual=False, tol=1e-12, max_iter=10000).fit(x.numpy(), y.numpy())
    f_ref = torch.from_numpy(ref.decision_function(x.numpy()))
    scale = float(f_ref.abs().max())
    assert_tensor(x @ w + b, f_ref, atol=1e-4 * scale, rtol=0, check_dtype=False,
                  case=f"decision function vs LinearSVC(C={c}), N={n}, D={d}")
    assert_tensor(w, torch.from_numpy(ref.coef_[0]), atol=1e-4 * (1 + float(ref.coef_.__abs__().max())), rtol=0,
                  case="weights vs LinearSVC (the minimiser is unique)")


@pytest.mark.task("svm")
def test_train_linear_svm_is_stationary(student):
    # the gradient of the objective vanishes at the returned point (autograd of a float64 formula)
    x, y = blobs(150, 8, seed=9, sep=0.6)
    w, b = student.train_linear_svm(x, y, C=0.3)
    w = w.clone().requires_grad_(True)
    b = b.clone().requires_grad_(True)
    j = objective64(w, b, x, y, 0.3)
    gw, gb = torch.autograd.grad(j, (w, b))
    assert float(gw.abs().max()) < 1e-4 * (1 + 150 * 0.3) and abs(float(gb)) < 1e-4 * (1 + 150 * 0.3), \
        f"the gradient at the returned (w, b) is not 0: |grad w|_inf = {float(gw.abs().max()):.3g}, " \
        f"grad b = {float(gb):.3g}"


@pytest.mark.task("svm")
def test_train_linear_svm_float32_and_one_class(student):
    x, y = blobs(80, 4, seed=5, dtype=torch.float32)
    w, b = student.train_linear_svm(x, y, C=1.0)
    assert type(w) is torch.Tensor and w.dtype == torch.float32 and w.shape == (4,), "weight: float32 [D]"
    assert type(b) is torch.Tensor and b.dtype == torch.float32 and b.shape == (), "bias: a float32 0-d tensor"
    ref = LinearSVC(C=1.0, dual=False, tol=1e-12).fit(x.double().numpy(), y.numpy())
    assert_tensor(x.double() @ w.double() + float(b), torch.from_numpy(ref.decision_function(x.double().numpy())),
                  atol=1e-3, check_dtype=False, case="float32 features")
    # one class only: J = 1/2 (|w|^2 + b^2) + C sum (1 - w.x - b)^2 -> a closed-form ridge problem
    xs = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    ys = torch.tensor([1, 1])
    w1, b1 = student.train_linear_svm(xs, ys, C=1.0)
    xa = torch.cat([xs, torch.ones(2, 1, dtype=torch.float64)], 1)
    theta = torch.linalg.solve(torch.eye(3, dtype=torch.float64) + 2 * xa.T @ xa,
                               2 * xa.T @ torch.ones(2, dtype=torch.float64))
    assert_tensor(torch.cat([w1, b1[None]]), theta, atol=1e-6, case="one class: a ridge regression to +1")


@pytest.mark.task("svm")
def test_svm_rejects_bad_input(student):
    x, y = blobs(10, 2, seed=0)
    with pytest.raises(ValueError, match="labels"):
        student.train_linear_svm(x, (y > 0).long(), C=1.0)  # 0 / 1 labels
    with pytest.raises(ValueError, match="C"):
        student.train_linear_svm(x, y, C=0.0)
    with pytest.raises(ValueError, match="labels"):
        student.svm_objective(torch.zeros(2, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), x, y[:5],
                              C=1.0)
    with pytest.raises(ValueError, match="features|labels|N >= 1"):
        student.train_linear_svm(torch.zeros(0, 2, dtype=torch.float64), torch.zeros(0, dtype=torch.int64))


@pytest.mark.task("svm")
def test_train_linear_svm_max_iter_one_is_allowed(student):
    x, y = blobs(30, 3, seed=6)
    w, b = student.train_linear_svm(x, y, C=1.0, max_iter=1)
    assert type(w) is torch.Tensor and w.shape == (3,) and b.shape == (), "max_iter=1 is valid: (w [D], b [])"
    assert float(student.svm_objective(w, b, x, y, C=1.0)) < float(objective64(torch.zeros(3, dtype=torch.float64),
                                                                               torch.tensor(0.0, dtype=torch.float64),
                                                                               x, y, 1.0)), \
        "one iteration already lowers the objective below J(0, 0)"


@pytest.mark.task("svm")
def test_svm_rejects_bad_types_and_shapes(student):
    x, y = blobs(10, 2, seed=0)
    with pytest.raises(TypeError, match="features|float32 or float64"):
        student.train_linear_svm(x.long(), y)
    with pytest.raises(ValueError, match="weight"):
        student.svm_objective(torch.zeros(3, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), x, y)
    with pytest.raises(ValueError, match="max_iter"):
        student.train_linear_svm(x, y, max_iter=0)


# ------------------------------------------------------------------------------- pyramid
@pytest.mark.task("sliding")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale,min_size", [(1.2, (32, 16)), (2.0, (8, 8)), (1.5, (10, 30))])
def test_image_pyramid_levels(student, dtype, scale, min_size):
    image = torch.rand(61, 77, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    got = student.image_pyramid(image, scale=scale, min_size=min_size)
    expected = []
    k = 0
    while int(61 / scale ** k) >= min_size[0] and int(77 / scale ** k) >= min_size[1]:
        size = (int(61 / scale ** k), int(77 / scale ** k))
        expected.append(image if k == 0 else F.interpolate(image[None, None], size=size, mode="bilinear",
                                                           align_corners=False, antialias=False)[0, 0])
        k += 1
    assert type(got) is list and len(got) == len(expected), \
        f"scale {scale}, min_size {min_size}: expected {len(expected)} levels, " \
        f"got {len(got) if type(got) is list else got!r}"
    for k, (g, e) in enumerate(zip(got, expected)):
        assert_tensor(g, e, atol=1e-6 if dtype == torch.float32 else 1e-12, case=f"level {k} of scale {scale}")


@pytest.mark.task("sliding")
def test_image_pyramid_keeps_a_level_exactly_min_size(student):
    image = torch.rand(32, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    got = student.image_pyramid(image, scale=1.2, min_size=(32, 16))
    assert len(got) == 1, "a 32 x 16 image with min_size (32, 16) has exactly one level"
    assert student.image_pyramid(image, scale=1.2, min_size=(33, 16)) == [], "an image below min_size: []"


@pytest.mark.task("sliding")
def test_image_pyramid_rejects_bad_scale(student):
    with pytest.raises(ValueError, match="scale"):
        student.image_pyramid(torch.zeros(40, 40), scale=1.0)


@pytest.mark.task("sliding")
def test_image_pyramid_rejects_bad_shapes(student):
    with pytest.raises(ValueError, match="image|H, W"):
        student.image_pyramid(torch.zeros(3, 40, 40))
    with pytest.raises(ValueError, match="min_size"):
        student.image_pyramid(torch.zeros(40, 40), min_size=(0, 4))


# ------------------------------------------------------------------------------- windows
@pytest.mark.task("sliding")
@pytest.mark.parametrize("window", [(3, 2), (1, 1), (5, 4)])
def test_window_features_against_loops(student, window):
    blocks = torch.rand(5, 4, 2, 3, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    got = student.window_features(blocks, window)
    wr, wc = window
    expected = torch.zeros(5 - wr + 1, 4 - wc + 1, wr * wc * 36, dtype=torch.float64)
    for i in range(5 - wr + 1):
        for j in range(4 - wc + 1):
            expected[i, j] = blocks[i:i + wr, j:j + wc].reshape(-1)
    assert_tensor(got, expected, case=f"window of {window} blocks: blocks[i:i+wr, j:j+wc].reshape(-1)")


@pytest.mark.task("sliding")
def test_window_features_equal_hog_of_the_window(student):
    # the descriptor at window (i, j) of a whole-image block grid = skimage's hog of the blocks of that window
    image = np.random.default_rng(4).random((40, 32))
    grid = sk_hog(image, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2), feature_vector=False)
    got = student.window_features(torch.from_numpy(grid), (7, 3))
    assert got.shape == (3, 5, 756), f"9 x 7 blocks, 7 x 3 per window: [3, 5, 756], got {list(got.shape)}"
    sub = torch.from_numpy(grid[1:8, 2:5].copy()).reshape(-1)
    assert_tensor(got[1, 2], sub, atol=1e-12, case="window (1, 2)")


@pytest.mark.task("sliding")
def test_window_features_grid_smaller_than_window(student):
    got = student.window_features(torch.zeros(2, 6, 2, 2, 9), (3, 2))
    assert_tensor(got, torch.zeros(0, 5, 3 * 2 * 36), case="2 block rows < 3: a [0, 5, D] tensor")
    got = student.window_features(torch.zeros(4, 1, 2, 2, 9), (2, 4))
    assert_tensor(got, torch.zeros(3, 0, 2 * 4 * 36), case="1 block column < 4: a [3, 0, D] tensor")
    # short by two or more blocks: Br - wr + 1 is negative, still a size-0 dimension (seed-free scan of
    # the window_features variants: a floor of -1 instead of 0 passed the cases short by one)
    got = student.window_features(torch.zeros(1, 6, 2, 2, 9), (3, 2))
    assert_tensor(got, torch.zeros(0, 5, 3 * 2 * 36), case="1 block row < 3: a [0, 5, D] tensor")
    got = student.window_features(torch.zeros(4, 2, 2, 2, 9), (2, 5))
    assert_tensor(got, torch.zeros(3, 0, 2 * 5 * 36), case="2 block columns < 5: a [3, 0, D] tensor")


@pytest.mark.task("sliding")
def test_window_features_rejects_bad_input(student):
    with pytest.raises(ValueError, match="blocks"):
        student.window_features(torch.zeros(4, 4, 2, 9), (2, 2))
    with pytest.raises(ValueError, match="window_blocks"):
        student.window_features(torch.zeros(4, 4, 2, 2, 9), (0, 2))


def expected_detections(image, weight, bias, threshold, iou, scale=1.2, level_max=None):
    """Trusted detector: F.interpolate levels, skimage HOG per level, window loops, torchvision NMS
    (``level_max``: a list that receives each level's best window score)."""
    h, w = image.shape
    boxes, scores = [], []
    k = 0
    while int(h / scale ** k) >= 32 and int(w / scale ** k) >= 16:
        size = (int(h / scale ** k), int(w / scale ** k))
        level = image.double() if k == 0 else F.interpolate(image[None, None], size=size, mode="bilinear",
                                                            align_corners=False)[0, 0].double()
        grid = torch.from_numpy(sk_hog(level.numpy(), orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                                       block_norm="L2-Hys", feature_vector=False))
        sy, sx = h / size[0], w / size[1]
        best = -math.inf
        for i in range(grid.shape[0] - 7 + 1):
            for j in range(grid.shape[1] - 3 + 1):
                s = float(grid[i:i + 7, j:j + 3].reshape(-1) @ weight.double() + float(bias))
                best = max(best, s)
                if s > threshold:
                    boxes.append([4 * j * sx, 4 * i * sy, (4 * j + 16) * sx, (4 * i + 32) * sy])
                    scores.append(s)
        if level_max is not None:
            level_max.append(best)
        k += 1
    boxes = torch.tensor(boxes, dtype=torch.float64).reshape(-1, 4)
    scores = torch.tensor(scores, dtype=torch.float64)
    keep = torchvision.ops.nms(boxes, scores, iou)
    return boxes[keep].float(), scores[keep].float()


@pytest.mark.task("sliding")
@pytest.mark.parametrize("seed,iou", [(0, 0.3), (1, 0.5)])
def test_detect_windows_against_a_trusted_detector(student, seed, iou):
    scene = make_hog_scenes(1, seed=100 + seed, min_objects=2)[0]
    image = scene["image"]
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(756, generator=gen) * 0.1
    bias = torch.tensor(-0.05)
    boxes, scores = student.detect_windows(image, weight, bias, score_threshold=0.3, iou_threshold=iou)
    eb, es = expected_detections(image, weight, bias, 0.3, iou)
    assert es.shape[0] >= 3, "test setup: a few windows must survive"
    assert_tensor(scores, es, atol=2e-4, rtol=1e-4, case=f"scores after NMS (IoU > {iou}), sorted")
    assert_tensor(boxes, eb, atol=1e-3, case="boxes (x1, y1, x2, y2) mapped back by the level's true size ratio")


@pytest.mark.task("sliding")
def test_detect_windows_goes_on_after_levels_without_a_detection(student):
    # a pyramid level with no window above the threshold ends nothing: coarser levels still count
    image = make_hog_scenes(1, seed=102, min_objects=2)[0]["image"]
    weight = torch.randn(756, generator=torch.Generator().manual_seed(0)) * 0.1
    bias = torch.tensor(-0.05)
    maxima = []
    expected_detections(image, weight, bias, math.inf, 0.5, level_max=maxima)
    threshold = (maxima[0] + max(maxima)) / 2
    assert max(maxima) > maxima[0] + 0.1, "test setup: a coarser level must score above the first one"
    boxes, scores = student.detect_windows(image, weight, bias, score_threshold=threshold, iou_threshold=0.5)
    eb, es = expected_detections(image, weight, bias, threshold, 0.5)
    assert es.shape[0] >= 1, "test setup: windows of a coarser level survive"
    assert_tensor(scores, es, atol=2e-4, rtol=1e-4, case="scores of the levels after the empty ones")
    assert_tensor(boxes, eb, atol=1e-3, case="boxes of the levels after the empty ones")


@pytest.mark.task("sliding")
def test_detect_windows_strict_threshold_and_empty(student):
    image = torch.rand(40, 24, generator=torch.Generator().manual_seed(2))
    weight = torch.zeros(756)
    # every window scores exactly the bias 0.0: "> 0.0" keeps none
    boxes, scores = student.detect_windows(image, weight, torch.tensor(0.0), score_threshold=0.0)
    assert_tensor(boxes, torch.zeros(0, 4), case="scores equal to the threshold are dropped: [0, 4]")
    assert_tensor(scores, torch.zeros(0), case="no detection: [0]")
    boxes, scores = student.detect_windows(torch.rand(20, 40), weight, torch.tensor(1.0))
    assert_tensor(boxes, torch.zeros(0, 4), case="image smaller than the window: no level")


@pytest.mark.task("sliding")
def test_detect_windows_single_window(student):
    # a 32 x 16 image holds one window at one level; a positive bias keeps it, with its exact box
    image = torch.rand(32, 16, generator=torch.Generator().manual_seed(3))
    boxes, scores = student.detect_windows(image, torch.zeros(756), torch.tensor(0.5))
    assert_tensor(boxes, torch.tensor([[0.0, 0.0, 16.0, 32.0]]), atol=1e-6, case="the only window")
    assert_tensor(scores, torch.tensor([0.5]), atol=1e-6, case="its score is the bias")


@pytest.mark.task("sliding")
def test_detect_windows_window_of_one_block(student):
    # an 8 x 8 window of 4 x 4 cells holds exactly one 2 x 2 block (36 values)
    image = torch.rand(16, 12, generator=torch.Generator().manual_seed(4))
    weight = torch.randn(36, generator=torch.Generator().manual_seed(5))
    boxes, scores = student.detect_windows(image, weight, torch.tensor(-0.1), window=(8, 8), scale=2.0,
                                           score_threshold=-100.0, iou_threshold=1.0)
    grid = torch.from_numpy(sk_hog(image.double().numpy(), orientations=9, pixels_per_cell=(4, 4),
                                   cells_per_block=(2, 2), feature_vector=False))  # [3, 2, 2, 2, 9]
    level0 = (grid.reshape(3, 2, 36).double() @ weight.double() - 0.1).reshape(-1)
    level1_img = F.interpolate(image[None, None], size=(8, 6), mode="bilinear", align_corners=False)[0, 0]
    assert level1_img.shape[1] < 8, "test setup: level 1 is narrower than the window"
    assert_tensor(scores, level0.sort(descending=True).values.float(), atol=1e-5,
                  case="a one-block window: 3 x 2 windows on level 0, none on level 1; iou_threshold=1 keeps all")


@pytest.mark.task("sliding")
def test_detect_windows_rejects_a_wrong_weight_length(student):
    with pytest.raises(ValueError, match="weight"):
        student.detect_windows(torch.rand(40, 40), torch.zeros(100), torch.tensor(0.0))
    with pytest.raises(ValueError, match="window|whole number of cells"):
        student.detect_windows(torch.rand(40, 40), torch.zeros(756), torch.tensor(0.0), window=(30, 16))


# ------------------------------------------------------------------------------- detector
@pytest.mark.task("detector")
def test_train_detector_and_detect_are_well_formed(student):
    scenes = make_hog_scenes(30, seed=7, min_objects=1)
    student.train_detector([s["image"] for s in scenes], [s["boxes"] for s in scenes], seed=0, time_budget_s=20.0)
    test = make_hog_scenes(3, seed=8, min_objects=1)
    out = student.detect([s["image"] for s in test])
    assert type(out) is list and len(out) == 3, "detect returns one dict per image"
    hits = 0
    for i, (det, scene) in enumerate(zip(out, test)):
        assert type(det) is dict and {"boxes", "scores", "labels"} <= set(det), \
            f"image {i}: a dict of boxes, scores, labels"
        b, s, lab = det["boxes"], det["scores"], det["labels"]
        k = s.shape[0]
        assert b.dtype == torch.float32 and b.shape == (k, 4) and s.dtype == torch.float32 and s.dim() == 1, \
            f"image {i}: boxes float32 [K, 4], scores float32 [K]"
        assert lab.dtype == torch.int64 and lab.shape == (k,) and bool((lab == 1).all()), \
            f"image {i}: labels int64, all 1"
        assert k <= 100 and bool((s[:-1] >= s[1:]).all()), f"image {i}: at most 100 detections, by decreasing score"
        if k:
            hits += int((torchvision.ops.box_iou(b[:3], scene["boxes"]) > 0.5).any())
    assert hits >= 2, f"the top 3 detections hit a figure (IoU > 0.5) in only {hits} of 3 easy scenes"
    # a crowded scene (the reference finds 150 windows before the cap): the cap keeps boxes, scores
    # and labels of one length, the top 100 by score
    crowd = make_hog_scenes(1, seed=9, image_size=(512, 512), min_objects=70, max_objects=70)[0]["image"]
    (det,) = student.detect([crowd])
    b, s, lab = det["boxes"], det["scores"], det["labels"]
    assert s.dim() == 1 and s.shape[0] <= 100 and b.shape == (s.shape[0], 4) and lab.shape == s.shape, \
        f"crowded scene: at most 100 detections, boxes {tuple(b.shape)}, scores {tuple(s.shape)} and " \
        f"labels {tuple(lab.shape)} of one length"
    assert bool((s[:-1] >= s[1:]).all()), "crowded scene: detections by decreasing score"
    # the documented input errors, here because only a working detector makes them count
    with pytest.raises(ValueError, match="box|figure"):
        student.train_detector([s["image"] for s in test], [torch.zeros(0, 4)] * 3, seed=0, time_budget_s=5.0)
    with pytest.raises(ValueError, match="images|boxes|length"):
        student.train_detector([s["image"] for s in test], [s["boxes"] for s in test[:2]], seed=0, time_budget_s=5.0)
