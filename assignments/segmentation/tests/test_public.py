"""Public tests of the segmentation assignment (a subset of what is graded; also graded).

Run them with ``nox -s test -- segmentation`` (or ``cv3 test segmentation``). The hidden tests
check the same functions against library oracles on more cases, edge cases and gradients.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor, check_gradient, devices


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ loss_metric
@pytest.mark.task("loss_metric")
def test_cross_entropy_ignores_void(student):
    logits = torch.randn(2, 3, 4, 5, generator=gen(0))
    target = torch.randint(0, 3, (2, 4, 5), generator=gen(1))
    target[0, 0] = 255
    assert_tensor(student.pixel_cross_entropy(logits, target),
                  F.cross_entropy(logits, target, ignore_index=255), atol=1e-6, rtol=1e-6)


@pytest.mark.task("loss_metric")
def test_confusion_and_miou_small(student):
    pred = torch.tensor([[0, 0, 1], [1, 2, 2]])
    target = torch.tensor([[0, 1, 1], [255, 2, 0]])
    conf = student.confusion_matrix(pred, target, 3)
    assert_tensor(conf, torch.tensor([[1, 0, 1], [1, 1, 0], [0, 0, 1]]))
    miou, iou = student.mean_iou(conf)
    assert_tensor(iou, torch.tensor([1 / 3, 1 / 2, 1 / 2], dtype=torch.float64), atol=1e-12)
    assert math.isclose(float(miou), (1 / 3 + 1 / 2 + 1 / 2) / 3, rel_tol=1e-12)


# ------------------------------------------------------------------------------ transposed
@pytest.mark.task("transposed")
@pytest.mark.parametrize("stride,padding,output_padding,dilation", [(1, 0, 0, 1), (2, 1, 1, 1), (3, 0, 0, 2)])
@pytest.mark.parametrize("device", devices())
def test_conv_transpose2d_matches_torch(student, stride, padding, output_padding, dilation, device):
    x = torch.randn(2, 3, 5, 4, generator=gen(2)).to(device)
    w = torch.randn(3, 2, 3, 3, generator=gen(3)).to(device)
    b = torch.randn(2, generator=gen(4)).to(device)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    assert_tensor(student.conv_transpose2d(x, w, b, **kw), F.conv_transpose2d(x, w, b, **kw), atol=1e-5, rtol=1e-5)


@pytest.mark.task("transposed")
def test_conv_transpose2d_gradient(student):
    x = torch.randn(1, 2, 3, 3, generator=gen(5), dtype=torch.float64)
    w = torch.randn(2, 2, 3, 3, generator=gen(6), dtype=torch.float64)
    check_gradient(student, "conv_transpose2d", [x, w, None], {"stride": 2, "padding": 1}, wrt=(0, 1))


@pytest.mark.task("transposed")
def test_bilinear_kernel_4(student):
    w = student.bilinear_kernel(1, 4, dtype=torch.float64)
    g = torch.tensor([0.25, 0.75, 0.75, 0.25], dtype=torch.float64)
    assert_tensor(w[0, 0], g[:, None] * g[None, :], atol=1e-12)


# ------------------------------------------------------------------------------ unpool
@pytest.mark.task("unpool")
def test_unpool_matches_torch(student):
    x = torch.randperm(36, generator=gen(7)).float().reshape(1, 1, 6, 6)
    v, i = F.max_pool2d(x, 2, return_indices=True)
    gv, gi = student.max_pool2d_with_indices(x, 2)
    assert_tensor(gi, i)
    assert_tensor(student.max_unpool2d(v, i, 2), F.max_unpool2d(v, i, 2))


# ------------------------------------------------------------------------------ fcn
@pytest.mark.task("fcn")
def test_receptive_field_of_dilated_stack(student):
    layers = [(3, 1, 1), (3, 1, 2), (3, 1, 4)]
    assert tuple(student.receptive_field(layers)) == (15, 1)
    assert student.gradient_receptive_field(layers, 21) == 15


@pytest.mark.task("fcn")
def test_fc_to_conv_shapes(student):
    w, b = torch.randn(4, 2 * 3 * 3), torch.randn(4)
    cw, cb = student.fc_to_conv(w, b, 2, 3)
    assert cw.shape == (4, 2, 3, 3) and cb.shape == (4,)
    f = torch.randn(1, 2, 3, 3)
    assert_tensor(F.conv2d(f, cw, cb)[:, :, 0, 0], f.flatten(1) @ w.t() + b, atol=1e-5)


# ------------------------------------------------------------------------------ aspp, unet
@pytest.mark.task("aspp")
def test_aspp_shapes_and_keys(student):
    m = student.ASPP(4, [2, 3], 6)
    out = m(torch.randn(2, 4, 7, 9))
    assert tuple(out.shape) == (2, 6, 7, 9)


@pytest.mark.task("unet")
def test_unet_output_size(student):
    net = student.UNet(3, 5, 4, 2)
    assert tuple(net(torch.rand(1, 3, 12, 8)).shape) == (1, 5, 12, 8)
    with pytest.raises(ValueError, match=r"\bx\b|depth|divisible"):
        net(torch.rand(1, 3, 10, 8))


# ------------------------------------------------------------------------------ kmeans
@pytest.mark.task("kmeans")
def test_kmeans_two_blobs(student):
    x = torch.cat([torch.randn(10, 2, generator=gen(8)) * 0.1, torch.randn(10, 2, generator=gen(9)) * 0.1 + 5])
    labels, centres = student.kmeans(x, 2, init=x[[0, 10]].clone())
    assert_tensor(labels, torch.arange(2).repeat_interleave(10))
    assert_tensor(centres, torch.stack([x[:10].mean(0), x[10:].mean(0)]), atol=1e-5)


# ------------------------------------------------------------------------------ spectral
@pytest.mark.task("spectral")
def test_two_components(student):
    w = torch.zeros(5, 5, dtype=torch.float64)
    w[0, 1] = w[1, 0] = w[1, 2] = w[2, 1] = 1.0
    w[3, 4] = w[4, 3] = 0.5
    assert_tensor(student.laplacian(w), torch.diag(w.sum(1)) - w)
    assert student.count_components(w) == 2
    assert_tensor(student.ncut_bipartition(w), torch.tensor([0, 0, 0, 1, 1]))


# ------------------------------------------------------------------------------ crf
@pytest.mark.task("crf")
def test_mincut_smooths_a_single_outlier(student):
    unary = torch.zeros(2, 3, 3, dtype=torch.float64)
    unary[1] = 1.0  # everyone prefers label 0 ...
    unary[:, 1, 1] = torch.tensor([1.0, 0.0], dtype=torch.float64)  # ... except the centre, weakly
    assert_tensor(student.binary_mincut(unary, 0.5), torch.zeros(3, 3, dtype=torch.int64))
    assert float(student.potts_energy(unary, torch.zeros(3, 3, dtype=torch.int64), 0.5)) == 1.0


@pytest.mark.task("crf")
def test_mean_field_zero_iterations_is_softmax(student):
    unary = torch.randn(3, 4, 4, generator=gen(10))
    q = student.dense_crf_mean_field(unary, torch.rand(3, 4, 4, generator=gen(11)), num_iters=0)
    assert_tensor(q, torch.softmax(-unary, dim=0), atol=1e-6)


# ------------------------------------------------------------------------------ model
@pytest.mark.task("model")
def test_train_and_predict_contract(student):
    images = torch.rand(4, 3, 16, 16, generator=gen(12))
    masks = torch.randint(0, 4, (4, 16, 16), generator=gen(13))
    out = student.train(images, masks, num_classes=4, steps=2, seed=0)
    assert out["steps"] == 2
    pred = student.predict(images)
    assert pred.dtype == torch.int64 and tuple(pred.shape) == (4, 16, 16)
