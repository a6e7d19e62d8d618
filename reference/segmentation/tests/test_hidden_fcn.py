"""Hidden tests of receptive_field, gradient_receptive_field and fc_to_conv [fcn].

Oracles: the recurrence written here as a loop over layers, an autograd measurement with
random positive weights, and nn.Linear applied to every window of the feature map.
"""

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor

STACKS = {
    "empty": [],
    "three 3x3": [(3, 1, 1)] * 3,
    "vgg-like": [(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1), (3, 1, 1), (2, 2, 1)],
    "dilated": [(3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8)],
    "strided and dilated": [(7, 2, 1), (3, 2, 1), (3, 1, 2), (3, 1, 2), (1, 1, 1)],
    "pool 3 stride 2": [(3, 2, 1), (3, 2, 1)],
}


def formula(layers):
    r, j = 1, 1
    for k, s, d in layers:
        r = r + (k - 1) * d * j
        j = j * s
    return r, j


def measure(layers, size, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, d in layers:
        y = F.conv2d(y, torch.rand(1, 1, k, k, generator=g, dtype=torch.float64) + 0.1, stride=s, dilation=d)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    nz = (x.grad[0, 0] != 0)
    return int(nz.any(1).sum()), int(nz.any(0).sum())


@pytest.mark.task("fcn")
@pytest.mark.parametrize("stack", list(STACKS))
def test_receptive_field_formula(student, stack):
    assert tuple(student.receptive_field(STACKS[stack])) == formula(STACKS[stack])


@pytest.mark.task("fcn")
@pytest.mark.parametrize("stack", [s for s in STACKS if s != "empty"])
def test_receptive_field_matches_autograd(student, stack):
    layers = STACKS[stack]
    r, _ = formula(layers)
    size = r + 3 * formula(layers)[1] + 5
    assert measure(layers, size) == (r, r)
    assert student.gradient_receptive_field(layers, size) == r
    assert student.receptive_field(layers)[0] == r


@pytest.mark.task("fcn")
def test_gradient_receptive_field_counts_rows(student):
    # two layers, 5 x 5 input: output 1 x 1, receptive field 5 (the whole input)
    assert student.gradient_receptive_field([(3, 1, 1), (3, 1, 1)], 5) == 5
    assert student.gradient_receptive_field([], 4) == 1
    assert student.gradient_receptive_field([(2, 2, 1)], 9) == 2


@pytest.mark.task("fcn")
def test_receptive_field_rejects(student):
    with pytest.raises(ValueError, match="layers"):
        student.receptive_field([(3, 0, 1)])
    with pytest.raises(ValueError, match="layers"):
        student.receptive_field([(3, 1)])
    with pytest.raises(ValueError, match="size|layers|too small"):
        student.gradient_receptive_field([(3, 1, 4)], 5)
    with pytest.raises(ValueError, match="size must be|size"):
        student.gradient_receptive_field([(3, 1, 1)], 0)
    # a non-int size is not in the docstring's Raises section: either type is accepted
    with pytest.raises((ValueError, TypeError), match="size must be|size"):
        student.gradient_receptive_field([(1, 1, 1)], 2.5)


@pytest.mark.task("fcn")
@pytest.mark.parametrize("c,kh,kw", [(4, 3, 3), (2, 2, 5), (3, 1, 1)])
def test_fc_to_conv_same_logits_and_dense_map(student, c, kh, kw):
    g = torch.Generator().manual_seed(c + kh)
    fc = torch.nn.Linear(c * kh * kw, 5).double()
    with torch.no_grad():
        fc.weight.copy_(torch.randn(fc.weight.shape, generator=g, dtype=torch.float64))
        fc.bias.copy_(torch.randn(5, generator=g, dtype=torch.float64))
    feat = torch.randn(2, c, kh, kw, generator=g, dtype=torch.float64)
    cw, cb = student.fc_to_conv(fc.weight.detach(), fc.bias.detach(), c, (kh, kw) if kh != kw else kh)
    assert_tensor(cw, fc.weight.detach().reshape(5, c, kh, kw), atol=0, case="weight")
    out = F.conv2d(feat, cw, cb)
    assert out.shape == (2, 5, 1, 1)
    assert_tensor(out[:, :, 0, 0], fc(feat.flatten(1)).detach(), atol=1e-12, case="training size")
    big = torch.randn(1, c, kh + 3, kw + 2, generator=g, dtype=torch.float64)
    dense = F.conv2d(big, cw, cb)
    for i in range(4):
        for j in range(3):
            window = big[:, :, i:i + kh, j:j + kw].flatten(1)
            assert_tensor(dense[:, :, i, j], fc(window).detach(), atol=1e-12, case=f"window ({i}, {j})")


@pytest.mark.task("fcn")
def test_fc_to_conv_rejects(student):
    with pytest.raises(ValueError, match="weight|in_channels|kernel_size"):
        student.fc_to_conv(torch.randn(3, 10), torch.randn(3), 2, 2)
    with pytest.raises(ValueError, match="bias|weight"):
        student.fc_to_conv(torch.randn(3, 8), torch.randn(4), 2, 2)
