"""Public tests of the segmentation half of the vos assignment (a subset of what is graded; also graded).

Run them with ``nox -s test -- vos`` (or ``cv3 test vos``). The hidden tests check the same
functions against float64 oracles on more cases, edge cases, distributions and gradients, and the
accuracy check runs ``osvos_segment`` on held-out sequences (J&F).
"""

import math

import pytest
import torch
import torch.nn.functional as F

from cv3data.vos import make_vos_sequence
from harness.testkit import assert_tensor, check_gradient


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ osvos
@pytest.mark.task("osvos")
def test_tiny_unet_shapes_and_layout(student):
    net = student.TinyUNet(3, 4)
    out = net(torch.rand(2, 3, 16, 12, generator=gen(0)))
    assert type(out) is torch.Tensor and out.shape == (2, 1, 16, 12)
    # the pinned layout: loading zero weights with every key works and gives zero logits
    shapes = {"enc0.0.weight": (4, 3, 3, 3), "enc0.0.bias": (4,), "enc0.2.weight": (4, 4, 3, 3), "enc0.2.bias": (4,),
              "enc1.0.weight": (8, 4, 3, 3), "enc1.0.bias": (8,), "enc1.2.weight": (8, 8, 3, 3), "enc1.2.bias": (8,),
              "mid.0.weight": (16, 8, 3, 3), "mid.0.bias": (16,), "mid.2.weight": (16, 16, 3, 3), "mid.2.bias": (16,),
              "up1.weight": (16, 8, 2, 2), "up1.bias": (8,),
              "dec1.0.weight": (8, 16, 3, 3), "dec1.0.bias": (8,), "dec1.2.weight": (8, 8, 3, 3), "dec1.2.bias": (8,),
              "up0.weight": (8, 4, 2, 2), "up0.bias": (4,),
              "dec0.0.weight": (4, 8, 3, 3), "dec0.0.bias": (4,), "dec0.2.weight": (4, 4, 3, 3), "dec0.2.bias": (4,),
              "head.weight": (1, 4, 1, 1), "head.bias": (1,)}
    sd = {k: torch.zeros(s) for k, s in shapes.items()}
    sd["head.bias"] = torch.tensor([0.25])
    net.load_weights(sd)
    assert_tensor(net(torch.rand(1, 3, 8, 8, generator=gen(1))), torch.full((1, 1, 8, 8), 0.25))


@pytest.mark.task("osvos")
def test_balanced_bce_small_case(student):
    logits = torch.tensor([2.0, -1.0, 0.5, 3.0])
    labels = torch.tensor([1, 0, 0, 255])
    beta = 2 / 3  # share of the background among labelled pixels, weighs the foreground
    expected = -(beta * F.logsigmoid(torch.tensor(2.0))
                 + (1 - beta) * (F.logsigmoid(torch.tensor(1.0)) + F.logsigmoid(torch.tensor(-0.5)))) / 3
    assert_tensor(student.balanced_bce_loss(logits, labels), expected, atol=1e-6, rtol=1e-6)
    check_gradient(student, "balanced_bce_loss", [logits.double(), labels])


@pytest.mark.task("osvos")
def test_osvos_segment_contract(student):
    seq = make_vos_sequence(0, height=16, width=16, frames=3)
    frames = seq["frames"].float() / 255
    out = student.osvos_segment(frames, seq["masks"][0].long(), base_channels=2, steps=3)
    assert type(out) is torch.Tensor and out.dtype == torch.int64 and out.shape == (3, 16, 16)
    again = student.osvos_segment(frames, seq["masks"][0].long(), base_channels=2, steps=3)
    assert torch.equal(out, again), "each call starts from the same parameters"


# ------------------------------------------------------------------------------ onavos
@pytest.mark.task("onavos")
def test_pseudo_labels_small_case(student):
    prev = torch.zeros(5, 5, dtype=torch.int64)
    prev[1:4, 1:4] = 1
    probs = torch.full((5, 5), 0.99)
    got = student.onavos_pseudo_labels(probs, prev, alpha=0.97, margin=1.0, erosion=1.0)
    expected = torch.full((5, 5), 255, dtype=torch.int64)
    expected[2, 2] = 1                          # only the centre survives the erosion
    for y, x in [(0, 0), (0, 4), (4, 0), (4, 4)]:
        expected[y, x] = 0                      # corners: sqrt(2) > 1 from the mask
    assert_tensor(got, expected)


# ------------------------------------------------------------------------------ masktrack
@pytest.mark.task("masktrack")
def test_masktrack_input_and_shift(student):
    frames = torch.rand(1, 3, 4, 4, generator=gen(2))
    masks = torch.zeros(1, 4, 4, dtype=torch.int64)
    masks[0, 1, 2] = 5
    got = student.masktrack_input(frames, masks)
    assert_tensor(got[:, :3], frames)
    assert float(got[0, 3, 1, 2]) == 1.0 and float(got[0, 3].sum()) == 1.0
    m = torch.zeros(6, 6, dtype=torch.int64)
    m[2, 2] = 1
    moved = student.affine_warp_mask(m, 1.0, (2.0, 1.0))
    expected = torch.zeros(6, 6, dtype=torch.int64)
    expected[3, 4] = 1                          # x = column + 2, y = row + 1
    assert_tensor(moved, expected)


@pytest.mark.task("masktrack")
def test_deform_mask_seeded(student):
    m = torch.zeros(20, 20, dtype=torch.int64)
    m[6:14, 5:15] = 1
    a = student.deform_mask(m, seed=1)
    assert torch.equal(a, student.deform_mask(m, seed=1))
    zero = student.deform_mask(m, seed=1, max_scale=0.0, max_shift=0.0, nonrigid=0.0, dilation=0)
    assert torch.equal(zero, m)


# ------------------------------------------------------------------------------ retrieval
@pytest.mark.task("retrieval")
def test_triplet_and_nearest_neighbour(student):
    e = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    labels = torch.tensor([1, 1, 0])
    # anchor 0: max(0, 1 - 3 + 1) = 0; anchor 1: max(0, 1 - sqrt(10) + 1) = 0; anchor 2: no positive
    assert_tensor(student.pixel_triplet_loss(e, labels, margin=1.0), torch.tensor(0.0, dtype=torch.float64),
                  atol=1e-12)
    # margin 3: anchor 0: 1 - 3 + 3 = 1; anchor 1: 1 - sqrt(10) + 3
    expected = torch.tensor((1.0 + 4 - math.sqrt(10)) / 2, dtype=torch.float64)
    assert_tensor(student.pixel_triplet_loss(e, labels, margin=3.0), expected, atol=1e-9)
    q = torch.tensor([[0.2, 0.1], [0.1, 2.5]], dtype=torch.float64)
    assert_tensor(student.nearest_neighbour_labels(e, labels, q), torch.tensor([1, 0]))


# ------------------------------------------------------------------------------ crw
@pytest.mark.task("crw")
def test_transition_and_walk(student):
    x = torch.randn(1, 3, 4, generator=gen(3), dtype=torch.float64)
    y = torch.randn(1, 2, 4, generator=gen(4), dtype=torch.float64)
    expected = torch.softmax(F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).transpose(1, 2) / 0.5, dim=-1)
    assert_tensor(student.transition_matrix(x, y, temperature=0.5), expected, atol=1e-10, rtol=1e-10)
    feats = torch.stack([x[0], x[0] * 2], dim=0)[None]  # [1, 2, 3, 4]
    walk = student.palindrome_walk(feats, temperature=0.5)
    a = torch.softmax(F.normalize(x, dim=-1) @ F.normalize(x, dim=-1).transpose(1, 2) / 0.5, dim=-1)
    assert_tensor(walk, a @ a, atol=1e-10, rtol=1e-10)
    loss = student.cycle_consistency_loss(feats, temperature=0.5)
    assert_tensor(loss, -torch.log(torch.diagonal(a @ a, dim1=1, dim2=2)).mean(), atol=1e-10, rtol=1e-10)
