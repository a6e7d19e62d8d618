"""Public tests of the onestage assignment (also graded). Run: `cv3 test onestage`.

Oracles: torch's own F.affine_grid and F.grid_sample (your package may not use them: the
grader blocks them; these tests may), and values worked out by hand from README.md.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor, check_gradient


def randn(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ------------------------------------------------------------------------------ stn
@pytest.mark.task("stn")
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(student, align_corners):
    theta = randn(2, 2, 3, seed=0)
    expected = F.affine_grid(theta, [2, 1, 3, 5], align_corners=align_corners)
    assert_tensor(student.affine_grid(theta, [2, 1, 3, 5], align_corners=align_corners), expected, atol=1e-12)


@pytest.mark.task("stn")
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(student, align_corners):
    x = randn(2, 3, 4, 5, seed=1)
    grid = torch.rand(2, 3, 3, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 2.4 - 1.2
    expected = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    assert_tensor(student.grid_sample(x, grid, align_corners=align_corners), expected, atol=1e-12)


@pytest.mark.task("stn")
def test_grid_sample_gradient(student):
    x = randn(1, 2, 4, 4, seed=3)
    grid = torch.rand(1, 2, 3, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2 - 1
    check_gradient(student, "grid_sample", [x, grid], wrt=(0, 1))


@pytest.mark.task("stn")
def test_stn_starts_at_the_identity(student):
    stn = student.SpatialTransformer(1, 28, 28)
    x = randn(2, 1, 28, 28, seed=5).float()
    assert_tensor(stn.theta(x), torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(2, 2, 3))
    assert_tensor(stn(x), x, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------ yolo
@pytest.mark.task("yolo")
def test_cell_index(student):
    boxes = torch.tensor([[0.1, 0.1, 0.2, 0.3], [0.4, 0.4, 0.6, 0.6], [0.9, 0.0, 1.0, 0.1]], dtype=torch.float64)
    # centres (0.15, 0.2), (0.5, 0.5) exactly on a border, (0.95, 0.05)
    assert_tensor(student.yolo_cell_index(boxes, 4), torch.tensor([[0, 0], [2, 2], [0, 3]]))


@pytest.mark.task("yolo")
def test_targets_of_one_box(student):
    S, B, C = 2, 2, 3
    pred = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    pred[1, 0, 5:9] = torch.tensor([0.5, 0.5, 0.5, 0.5], dtype=torch.float64)  # predictor 1 fits the box
    gt = torch.tensor([[0.0, 0.5, 0.5, 1.0]], dtype=torch.float64)  # centre (0.25, 0.75): cell (1, 0)
    target, resp = student.yolo_targets(pred, gt, torch.tensor([2]), S, B, C)
    expected = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    expected[1, 0, 5:10] = torch.tensor([0.5, 0.5, 0.5, 0.5, 1.0], dtype=torch.float64)
    expected[1, 0, 10 + 2] = 1.0
    assert_tensor(target, expected, atol=1e-12)
    assert_tensor(resp, expected[..., [4, 9]] > 0)


@pytest.mark.task("yolo")
def test_loss_of_an_empty_image(student):
    pred = randn(1, 2, 2, 12, seed=6)
    got = student.yolo_loss(pred, [torch.zeros(0, 4, dtype=torch.float64)], [torch.zeros(0, dtype=torch.int64)],
                            2, 2, 2)
    assert_tensor(got, 0.5 * (pred[..., [4, 9]] ** 2).sum(), atol=1e-12)


# ------------------------------------------------------------------------------ ssd
@pytest.mark.task("ssd")
def test_scales_and_one_map(student):
    assert student.ssd_scales(3, 0.2, 0.8) == pytest.approx([0.2, 0.5, 0.8, 1.0])
    got = student.default_boxes([(1, 1)], [[2]], 0.2, 0.9, dtype=torch.float64)
    s, sp, q = 0.2, math.sqrt(0.2 * 0.9), math.sqrt(2)
    expected = torch.tensor([[0.5, 0.5, s, s], [0.5, 0.5, sp, sp], [0.5, 0.5, s * q, s / q],
                             [0.5, 0.5, s / q, s * q]], dtype=torch.float64)
    assert_tensor(got, expected, atol=1e-12)


@pytest.mark.task("ssd")
def test_encode_decode_round_trip(student):
    priors = torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.25, 0.75, 0.5, 0.5]], dtype=torch.float64)
    boxes = torch.tensor([[0.42, 0.3, 0.62, 0.9], [0.0, 0.5, 0.5, 1.0]], dtype=torch.float64)
    codes = student.ssd_encode(boxes, priors)
    assert_tensor(codes[1], torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert_tensor(codes[0], torch.tensor([1.0, 2.5, 0.0, math.log(1.5) / 0.2], dtype=torch.float64), atol=1e-12)
    assert_tensor(student.ssd_decode(codes, priors), boxes, atol=1e-12)


@pytest.mark.task("ssd")
def test_match_and_mining(student):
    priors = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.125, 0.125, 0.125, 0.125], [0.9, 0.9, 0.1, 0.1]],
                          dtype=torch.float64)
    gt = torch.tensor([[0.25, 0.25, 0.75, 0.75]], dtype=torch.float64)
    assert_tensor(student.ssd_match(gt, priors), torch.tensor([0, -1, -1]))
    loss = torch.tensor([[0.3, 0.9, 0.1, 0.5, 0.7]])
    positives = torch.tensor([[False, True, False, False, False]])
    assert_tensor(student.hard_negative_mining(loss, positives),
                  torch.tensor([[True, False, False, True, True]]))


@pytest.mark.task("ssd")
def test_multibox_loss_without_objects_is_zero(student):
    priors = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.125, 0.125, 0.125, 0.125]], dtype=torch.float64)
    empty = [torch.zeros(0, 4, dtype=torch.float64)]
    got = student.multibox_loss(randn(1, 2, 4, seed=7), randn(1, 2, 3, seed=8), empty,
                                [torch.zeros(0, dtype=torch.int64)], priors)
    assert_tensor(got, torch.zeros(2, dtype=torch.float64))


# ------------------------------------------------------------------------------ classifier
@pytest.mark.task("classifier")
def test_train_then_predict_shapes(student):
    gen = torch.Generator().manual_seed(9)
    images = torch.rand(32, 1, 32, 32, generator=gen)
    labels = torch.randint(0, 10, (32,), generator=gen)
    student.train(images, labels, seed=0, time_budget_s=2.0)
    out = student.predict(images[:5])
    assert type(out) is dict and set(out) >= {"logits", "theta"}
    assert out["logits"].dtype == torch.float32 and tuple(out["logits"].shape) == (5, 10)
    assert out["theta"].dtype == torch.float32 and tuple(out["theta"].shape) == (5, 2, 3)
