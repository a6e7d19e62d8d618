"""Hidden tests of dynamic_conv [dynamic_conv] and matrix_nms [matrix_nms].

Oracles: straightforward float64 loops written here (the dynamic convolution as explicit sums
over channels and kernel offsets; Matrix NMS pair by pair from the formula in the README), and
hand-computed decays.
"""

import math

import pytest
import torch

from harness.testkit import assert_tensor, check_gradient, devices

F32 = dict(atol=1e-5, rtol=1e-5)
F64 = dict(atol=1e-10, rtol=1e-10)


def _rand(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def dynamic_conv_loop(features, kernels, k):
    e, h, w = features.shape
    n = kernels.shape[0]
    f = features.double()
    ker = kernels.double().view(n, e, k, k)
    out = torch.zeros(n, h, w, dtype=torch.float64)
    r = k // 2
    for u in range(k):
        for v in range(k):
            shifted = torch.zeros(e, h, w, dtype=torch.float64)
            ys, xs = slice(max(0, r - u), min(h, h + r - u)), slice(max(0, r - v), min(w, w + r - v))
            yt, xt = slice(max(0, u - r), min(h, h + u - r)), slice(max(0, v - r), min(w, w + v - r))
            shifted[:, ys, xs] = f[:, yt, xt]  # shifted[y, x] = f[y + u - r, x + v - r]
            out += torch.einsum("ne,ehw->nhw", ker[:, :, u, v], shifted)
    return out


def matrix_nms_loop(masks, labels, scores, kernel="gaussian", sigma=2.0):
    """Pair by pair, in float64, from the formula."""
    n = scores.shape[0]
    order = sorted(range(n), key=lambda i: (-float(scores[i]), i))
    m = [masks[i].double().flatten() for i in order]
    lab = [int(labels[i]) for i in order]

    def iou(a, b):
        inter = float((m[a] * m[b]).sum())
        union = float(m[a].sum() + m[b].sum()) - inter
        return inter / union if union > 0 else 0.0

    comp = [max([iou(k, i) for k in range(i) if lab[k] == lab[i]], default=0.0) for i in range(n)]
    out = torch.zeros(n, dtype=torch.float64)
    for j in range(n):
        decay = 1.0
        for i in range(j):
            if lab[i] != lab[j]:
                continue
            if kernel == "gaussian":
                f = math.exp(-sigma * (iou(i, j) ** 2 - comp[i] ** 2))
            else:
                f = (1 - iou(i, j)) / max(1 - comp[i], 1e-6)
            decay = min(decay, f)
        out[order[j]] = float(scores[order[j]]) * decay
    return out


def _masks(n, h, w, seed, clusters=4):
    """Overlapping blobs: masks in a cluster share most pixels."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    centres = torch.rand(clusters, 2, generator=gen, dtype=torch.float64) * torch.tensor([h, w])
    which = torch.randint(0, clusters, (n,), generator=gen)
    c = centres[which] + torch.randn(n, 2, generator=gen, dtype=torch.float64) * 2
    r = torch.rand(n, generator=gen, dtype=torch.float64) * 4 + 3
    return ((yy - c[:, 0, None, None]) ** 2 + (xx - c[:, 1, None, None]) ** 2) <= r[:, None, None] ** 2


def _scores(n, seed, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return ((torch.randperm(n, generator=gen).double() + 1) / (n + 1)).to(dtype)  # distinct


# ================================================================ dynamic convolution


@pytest.mark.task("dynamic_conv")
@pytest.mark.parametrize("k", [1, 3, 5])
def test_dynamic_conv_matches_a_loop(student, k):
    feats = _rand(6, 9, 11, seed=k)
    kernels = _rand(4, 6 * k * k, seed=10 + k)
    assert_tensor(student.dynamic_conv(feats, kernels, k), dynamic_conv_loop(feats, kernels, k), **F64, case=f"k = {k}")


@pytest.mark.task("dynamic_conv")
def test_dynamic_conv_default_1x1_float32(student):
    feats = _rand(8, 10, 10, seed=1, dtype=torch.float32)
    kernels = _rand(5, 8, seed=2, dtype=torch.float32)
    expected = dynamic_conv_loop(feats, kernels, 1).float()
    assert_tensor(student.dynamic_conv(feats, kernels), expected, **F32, case="1 x 1, float32")


@pytest.mark.task("dynamic_conv")
def test_dynamic_conv_no_kernels_and_gradient(student):
    feats = _rand(3, 4, 5, seed=3)
    assert_tensor(student.dynamic_conv(feats, torch.zeros(0, 3, dtype=torch.float64)),
                  torch.zeros(0, 4, 5, dtype=torch.float64), case="no kernels")
    check_gradient(student, "dynamic_conv", [feats, _rand(2, 27, seed=4), 3], wrt=(0, 1))


@pytest.mark.task("dynamic_conv")
@pytest.mark.parametrize("device", devices())
def test_dynamic_conv_on_device(student, device):
    feats, kernels = _rand(4, 6, 6, seed=5, dtype=torch.float32), _rand(3, 36, seed=6, dtype=torch.float32)
    expected = dynamic_conv_loop(feats, kernels, 3).float().to(device)
    assert_tensor(student.dynamic_conv(feats.to(device), kernels.to(device), 3), expected, atol=1e-4, case=device)


@pytest.mark.task("dynamic_conv")
def test_dynamic_conv_rejects_bad_inputs(student):
    with pytest.raises(ValueError, match="kernel_size"):
        student.dynamic_conv(torch.zeros(2, 4, 4), torch.zeros(1, 8), 2)
    with pytest.raises(ValueError, match="kernels"):
        student.dynamic_conv(torch.zeros(2, 4, 4), torch.zeros(1, 3))


# ================================================================ Matrix NMS


@pytest.mark.task("matrix_nms")
@pytest.mark.parametrize("kernel", ["gaussian", "linear"])
@pytest.mark.parametrize("num_labels", [1, 3])
def test_matrix_nms_matches_the_loop(student, kernel, num_labels):
    masks = _masks(30, 24, 24, seed=num_labels)
    labels = torch.randint(0, num_labels, (30,), generator=torch.Generator().manual_seed(5))
    scores = _scores(30, seed=6)
    expected = matrix_nms_loop(masks, labels, scores, kernel).float()
    got = student.matrix_nms(masks, labels, scores, kernel)
    assert_tensor(got, expected, **F32, case=f"{kernel}, {num_labels} labels")


@pytest.mark.task("matrix_nms")
@pytest.mark.parametrize("sigma", [0.5, 2.0, 4.0])
def test_matrix_nms_sigma_and_float64(student, sigma):
    masks = _masks(12, 16, 16, seed=7).double()
    labels = torch.zeros(12, dtype=torch.int64)
    scores = _scores(12, seed=8, dtype=torch.float64)
    got = student.matrix_nms(masks, labels, scores, "gaussian", sigma)
    assert_tensor(got, matrix_nms_loop(masks, labels, scores, "gaussian", sigma), **F64, case=f"sigma {sigma}")


@pytest.mark.task("matrix_nms")
def test_matrix_nms_default_is_gaussian_sigma_2(student):
    masks = _masks(10, 16, 16, seed=9)
    labels = torch.zeros(10, dtype=torch.int64)
    scores = _scores(10, seed=10)
    assert_tensor(student.matrix_nms(masks, labels, scores), matrix_nms_loop(masks, labels, scores).float(), **F32,
                  case="defaults")


@pytest.mark.task("matrix_nms")
def test_matrix_nms_two_masks_by_hand(student):
    masks = torch.zeros(2, 1, 4, dtype=torch.bool)
    masks[0, 0, :3] = True  # area 3
    masks[1, 0, 1:] = True  # area 3, overlap 2: IoU 0.5
    labels = torch.tensor([1, 1])
    scores = torch.tensor([0.6, 0.9], dtype=torch.float64)  # the second is ranked first
    got = student.matrix_nms(masks, labels, scores, "gaussian", 2.0)
    assert_tensor(got, torch.tensor([0.6 * math.exp(-2.0 * 0.25), 0.9], dtype=torch.float64), **F64,
                  case="gaussian, IoU 0.5, input order kept")
    got = student.matrix_nms(masks, labels, scores, "linear")
    assert_tensor(got, torch.tensor([0.3, 0.9], dtype=torch.float64), **F64, case="linear, IoU 0.5")
    got = student.matrix_nms(masks, torch.tensor([1, 2]), scores, "linear")
    assert_tensor(got, scores, **F64, case="different labels never decay")


@pytest.mark.task("matrix_nms")
def test_matrix_nms_compensation_by_hand(student):
    # A (0.9) > B (0.8) > C (0.7): B overlaps A with IoU 0.5; C overlaps B with IoU 0.5 and A not.
    masks = torch.zeros(3, 1, 8, dtype=torch.bool)
    masks[0, 0, 0:4] = True
    masks[1, 0, 2:6] = True
    masks[2, 0, 4:8] = True
    scores = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)
    labels = torch.zeros(3, dtype=torch.int64)
    iou_ab, iou_bc = 2 / 6, 2 / 6
    got = student.matrix_nms(masks, labels, scores, "linear")
    decay_c = min(1.0, (1 - iou_bc) / (1 - iou_ab))  # the compensation cancels B's own decay
    assert_tensor(got, torch.tensor([0.9, 0.8 * (1 - iou_ab), 0.7 * decay_c], dtype=torch.float64), **F64,
                  case="linear with compensation")


@pytest.mark.task("matrix_nms")
def test_matrix_nms_duplicates_and_empty_masks(student):
    masks = _masks(6, 12, 12, seed=11)
    masks[3] = masks[1]  # an exact duplicate
    masks[5] = False  # an empty mask
    labels = torch.zeros(6, dtype=torch.int64)
    scores = _scores(6, seed=12)
    for kernel in ("gaussian", "linear"):
        got = student.matrix_nms(masks, labels, scores, kernel)
        assert_tensor(got, matrix_nms_loop(masks, labels, scores, kernel).float(), **F32, case=f"{kernel} duplicates")
        assert bool(torch.isfinite(got).all())


@pytest.mark.task("matrix_nms")
def test_matrix_nms_ties_keep_input_order(student):
    masks = _masks(5, 12, 12, seed=13, clusters=1)
    scores = torch.tensor([0.5, 0.7, 0.5, 0.7, 0.2])
    labels = torch.zeros(5, dtype=torch.int64)
    got = student.matrix_nms(masks, labels, scores)
    assert_tensor(got, matrix_nms_loop(masks, labels, scores).float(), **F32, case="tied scores: stable order")


@pytest.mark.task("matrix_nms")
def test_matrix_nms_empty(student):
    got = student.matrix_nms(torch.zeros(0, 5, 5, dtype=torch.bool), torch.zeros(0, dtype=torch.int64), torch.zeros(0))
    assert_tensor(got, torch.zeros(0), case="no masks")


@pytest.mark.task("matrix_nms")
@pytest.mark.parametrize("device", devices())
def test_matrix_nms_on_device(student, device):
    masks = _masks(40, 20, 20, seed=14)
    labels = torch.randint(0, 2, (40,), generator=torch.Generator().manual_seed(15))
    scores = _scores(40, seed=16)
    expected = matrix_nms_loop(masks, labels, scores, "linear").float().to(device)
    got = student.matrix_nms(masks.to(device), labels.to(device), scores.to(device), "linear")
    assert_tensor(got, expected, **F32, case=device)


@pytest.mark.task("matrix_nms")
def test_matrix_nms_rejects_bad_inputs(student):
    masks, labels, scores = torch.zeros(2, 3, 3, dtype=torch.bool), torch.zeros(2, dtype=torch.int64), torch.ones(2)
    with pytest.raises(ValueError, match="kernel"):
        student.matrix_nms(masks, labels, scores, "box")
    with pytest.raises(ValueError, match="sigma"):
        student.matrix_nms(masks, labels, scores, "gaussian", 0.0)
    with pytest.raises(ValueError, match="labels|masks|scores"):  # N disagrees: any of the three
        student.matrix_nms(masks, labels[:1], scores)
