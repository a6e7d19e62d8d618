import pytest
import torch
import torch.nn.functional as F

from _common import DEVICES, DTYPES, randn
from harness.testkit import assert_tensor, check_gradient


def cam64(features, weight, idx, normalize=True):
    """A float64 loop: the CAM of image n is sum_k w[c, k] f[n, k] (Zhou et al.), min-max normalised."""
    f, w = features.double(), weight.double()
    out = torch.zeros(f.shape[0], f.shape[2], f.shape[3], dtype=torch.float64)
    for n in range(f.shape[0]):
        for k in range(f.shape[1]):
            out[n] += w[int(idx[n]), k] * f[n, k]
        if normalize:
            lo, hi = out[n].min(), out[n].max()
            out[n] = (out[n] - lo) / (hi - lo) if hi > lo else torch.zeros_like(out[n])
    return out


@pytest.mark.task("cam")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cam_matches_loop(student, device, dtype):
    f = randn(3, 5, 4, 6, seed=1, dtype=dtype, device=device)
    w = randn(4, 5, seed=2, dtype=dtype, device=device)
    idx = torch.tensor([2, 0, 3], device=device)
    tol = dict(atol=1e-5) if dtype == torch.float32 else dict(atol=1e-12)
    got = student.class_activation_map(f, w, idx)
    assert_tensor(got, cam64(f.cpu(), w.cpu(), idx.cpu()).to(dtype=dtype, device=device), **tol)
    assert float(got.min()) == 0.0 and float(got.max()) == pytest.approx(1.0, abs=1e-6)
    raw = student.class_activation_map(f, w, idx, normalize=False)
    assert_tensor(raw, cam64(f.cpu(), w.cpu(), idx.cpu(), False).to(dtype=dtype, device=device), **tol)


@pytest.mark.task("cam")
def test_cam_mean_is_the_logit_without_bias(student):
    # GAP classifier: logits = fc(mean_hw features); the CAM's spatial mean is logit - bias
    f = randn(2, 6, 3, 3, seed=3)
    fc = torch.nn.Linear(6, 4).double()
    idx = torch.tensor([1, 3])
    logits = fc(f.mean((2, 3)))
    raw = student.class_activation_map(f, fc.weight.detach(), idx, normalize=False)
    assert_tensor(raw.mean((1, 2)), (logits - fc.bias).detach()[torch.arange(2), idx], atol=1e-12)


@pytest.mark.task("cam")
def test_constant_map_normalises_to_zeros(student):
    f = torch.ones(2, 3, 2, 2)
    f[1] = randn(3, 2, 2, seed=4, dtype=torch.float32)
    w = torch.ones(2, 3)
    got = student.class_activation_map(f, w, torch.tensor([0, 1]))
    assert_tensor(got[0], torch.zeros(2, 2))
    assert_tensor(got, cam64(f, w, torch.tensor([0, 1])).float(), atol=1e-6)


@pytest.mark.task("cam")
def test_cam_gradient_unnormalised(student):
    f, w = randn(2, 3, 2, 2, seed=5), randn(4, 3, seed=6)
    check_gradient(student, "class_activation_map", [f, w, torch.tensor([0, 3])], {"normalize": False}, wrt=(0, 1))


@pytest.mark.task("cam")
@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_cam_to_mask(student, threshold):
    cams = cam64(randn(2, 4, 3, 5, seed=7), randn(3, 4, seed=8), torch.tensor([0, 2]))
    up = F.interpolate(cams[:, None], size=(12, 20), mode="bilinear", align_corners=False)[:, 0]
    got = student.cam_to_mask(cams, (12, 20), threshold)
    assert_tensor(got, up >= threshold)
    assert 0 < int(got.sum()) < got.numel()


@pytest.mark.task("cam")
def test_cam_to_mask_inclusive_threshold_and_default(student):
    cams = torch.tensor([[[0.0, 0.5], [1.0, 0.25]]])
    assert_tensor(student.cam_to_mask(cams, (2, 2)), torch.tensor([[[False, True], [True, False]]]))
    assert_tensor(student.cam_to_mask(cams, (2, 2), 0.25), torch.tensor([[[False, True], [True, True]]]))


@pytest.mark.task("cam")
def test_empty_batch(student):
    f = torch.zeros(0, 3, 2, 2)
    assert_tensor(student.class_activation_map(f, torch.zeros(2, 3), torch.zeros(0, dtype=torch.int64)),
                  torch.zeros(0, 2, 2))
    assert_tensor(student.cam_to_mask(torch.zeros(0, 2, 2), (4, 4)), torch.zeros(0, 4, 4, dtype=torch.bool))
    # "maps of h or w 0 (when N > 0: nothing to upsample)": with N = 0 an empty map is no error
    for shape in [(0, 0, 2), (0, 2, 0)]:
        assert_tensor(student.cam_to_mask(torch.zeros(shape), (4, 4)), torch.zeros(0, 4, 4, dtype=torch.bool),
                      case=f"cams of shape {list(shape)}")


@pytest.mark.task("cam")
def test_bad_inputs(student):
    f, w = torch.zeros(2, 3, 2, 2), torch.zeros(4, 3)
    with pytest.raises(ValueError, match="fc_weight|features"):  # K differs: both disagree
        student.class_activation_map(f, torch.zeros(4, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="class_idx"):
        student.class_activation_map(f, w, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="class_idx"):
        student.class_activation_map(f, w, torch.tensor([0]))
    with pytest.raises(TypeError, match="class_idx"):
        student.class_activation_map(f, w, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="features"):
        student.class_activation_map(torch.zeros(3, 2, 2), w, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="size"):
        student.cam_to_mask(torch.zeros(1, 2, 2), (0, 4))
    with pytest.raises(ValueError, match="threshold"):
        student.cam_to_mask(torch.zeros(1, 2, 2), (4, 4), 2.0)


@pytest.mark.task("cam")
@pytest.mark.parametrize("threshold", [None, 0.3, 0.7])
def test_cam_masks_compose(student, threshold):
    # the accuracy check's entry: the normalised CAM of each image's class, upsampled, thresholded
    f, w, idx = randn(3, 5, 4, 4, seed=11), randn(6, 5, seed=12), torch.tensor([5, 0, 2])
    kw = {} if threshold is None else {"threshold": threshold}
    up = F.interpolate(cam64(f, w, idx)[:, None], size=(16, 12), mode="bilinear", align_corners=False)[:, 0]
    got = student.cam_masks(f, w, idx, (16, 12), **kw)
    assert_tensor(got, up >= (0.5 if threshold is None else threshold))
    assert 0 < int(got.sum()) < got.numel()
    with pytest.raises(ValueError, match="class_idx"):
        student.cam_masks(f, w, torch.tensor([0, 6, 1]), (16, 12))
    assert_tensor(student.cam_masks(f[:0], w, idx[:0], (3, 3)), torch.zeros(0, 3, 3, dtype=torch.bool))


@pytest.mark.task("cam")
def test_weight_and_cams_must_have_the_documented_rank(student):
    f = torch.zeros(2, 3, 2, 2)
    with pytest.raises(ValueError, match="fc_weight"):
        student.class_activation_map(f, torch.zeros(4, 3, 1), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="fc_weight"):
        student.class_activation_map(f, torch.zeros(3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="cams"):
        student.cam_to_mask(torch.zeros(1, 1, 2, 2), (4, 4))
    with pytest.raises(TypeError, match="features"):
        student.class_activation_map(f.long(), torch.zeros(4, 3), torch.tensor([0, 1]))


@pytest.mark.task("cam")
def test_negative_class_index_raises(student):
    # -1 would silently index the last class's weights
    with pytest.raises(ValueError, match="class_idx"):
        student.class_activation_map(torch.zeros(2, 3, 2, 2), torch.zeros(4, 3), torch.tensor([-1, 0]))
