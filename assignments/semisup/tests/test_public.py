"""Public tests of the semisup assignment (also graded). Run: nox -s test -- semisup"""

import math

import pytest
import torch
from torch.distributions import Categorical

from harness.testkit import assert_tensor


def randn(*shape, seed=0, scale=1.0):
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.task("entropy")
def test_entropy_per_sample_and_per_pixel(student):
    logits = randn(4, 3, seed=1, scale=2.0)
    assert_tensor(student.entropy(logits, reduction="none"), Categorical(logits=logits).entropy(), atol=1e-12)
    pixels = randn(2, 3, 2, 2, seed=2)
    assert_tensor(student.entropy(pixels, reduction="none"),
                  Categorical(logits=pixels.movedim(1, -1)).entropy(), atol=1e-12)


@pytest.mark.task("fixmatch")
def test_pseudo_labels_and_mask(student):
    logits = torch.tensor([[3.0, 0.0], [0.0, 0.1], [0.0, 0.0]], dtype=torch.float64)
    labels, conf, mask = student.pseudo_labels(logits, 0.5)
    assert_tensor(labels, torch.tensor([0, 1, 0]))
    assert_tensor(mask, torch.tensor([True, True, True]))  # 0.5 >= 0.5: kept
    _, _, mask = student.pseudo_labels(logits, 0.9)
    assert_tensor(mask, torch.tensor([True, False, False]))


@pytest.mark.task("fixmatch")
def test_fixmatch_loss_small(student):
    weak = torch.tensor([[5.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    strong = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    # only the first sample is confident (p = 0.993); CE([0, 0], 0) = log 2; mean over 2 samples
    assert_tensor(student.fixmatch_loss(weak, strong, 0.95), torch.tensor(math.log(2) / 2, dtype=torch.float64),
                  atol=1e-12)


@pytest.mark.task("self_training")
def test_self_training_labels_the_easy_points(student):
    x = torch.tensor([[-3.0], [-2.0], [2.0], [3.0], [-2.5], [2.5], [0.05]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, -1, -1, -1])
    out = student.self_training_linear(x, y, threshold=0.75, max_iter=5)
    assert_tensor(out["labels"][:6], torch.tensor([0, 0, 1, 1, 0, 1]))
    assert_tensor(out["labeled_iter"][:6], torch.tensor([0, 0, 0, 0, 1, 1]))


@pytest.mark.task("vat")
def test_vat_direction_is_unit_norm(student):
    w = [randn(5, 2, seed=1), randn(5, seed=2), randn(3, 5, seed=3), randn(3, seed=4)]
    d = student.vat_direction(w, randn(4, 2, seed=5), power_iterations=3, d=randn(4, 2, seed=6))
    assert_tensor(d.norm(dim=1), torch.ones(4, dtype=torch.float64), atol=1e-9)


@pytest.mark.task("mean_teacher")
def test_ema_and_rampup(student):
    s = {"w": torch.tensor([1.0, 2.0])}
    t = student.ema_update(None, s, 0.9)
    assert_tensor(t["w"], s["w"])
    t = student.ema_update(t, {"w": torch.tensor([3.0, 2.0])}, 0.9)
    assert_tensor(t["w"], torch.tensor([1.2, 2.0]), atol=1e-6)
    assert student.sigmoid_rampup(10, 10) == 1.0
    assert student.sigmoid_rampup(0, 10) == pytest.approx(math.exp(-5))


@pytest.mark.task("domain")
def test_gradient_reversal(student):
    x = randn(3, seed=7)
    out, (g,) = student.vjp("grad_reverse", [x, 0.5])
    assert_tensor(out, x)
    assert_tensor(g, torch.full((3,), -0.5, dtype=torch.float64))


@pytest.mark.task("domain")
def test_mmd_of_identical_samples_is_zero(student):
    x = randn(4, 2, seed=8)
    assert_tensor(student.mmd_rbf(x, x), torch.tensor(0.0, dtype=torch.float64), atol=1e-12)


@pytest.mark.task("cam")
def test_cam_small(student):
    f = torch.tensor([[[[1.0, 2.0]], [[0.0, 4.0]]]])  # [1, 2, 1, 2]
    w = torch.tensor([[1.0, -1.0], [0.5, 0.5]])
    assert_tensor(student.class_activation_map(f, w, torch.tensor([1]), normalize=False), torch.tensor([[[0.5, 3.0]]]))
    assert_tensor(student.class_activation_map(f, w, torch.tensor([0])), torch.tensor([[[1.0, 0.0]]]))
