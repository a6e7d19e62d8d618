"""Hidden tests of the pre-training API [pretraining]: the encoder, the augmentations and the
features. The representation itself is graded by the probe check (assignment.toml)."""

import pytest
import torch

from harness.testkit import assert_tensor


def digits(n, seed):
    from cv3data.ssl_digits import ssl_digits

    images, _ = ssl_digits("probe_test", seed=seed)
    return images[:n]


@pytest.mark.task("pretraining")
def test_features_are_frozen_deterministic_float_rows(student):
    x = digits(12, 1)
    f1 = student.features(x)
    f2 = student.features(x)
    assert type(f1) is torch.Tensor and f1.dim() == 2 and f1.shape[0] == 12 and 1 <= f1.shape[1] <= 8192
    assert f1.is_floating_point() and bool(torch.isfinite(f1).all())
    assert_tensor(f2, f1, case="two calls on the same batch")
    # row i depends on image i only (eval mode: no batch statistics)
    assert_tensor(student.features(x[3:5]), f1[3:5], atol=1e-5, rtol=1e-4, case="a sub-batch")
    assert float(f1.std(0).max()) > 0, "features must vary between images"


@pytest.mark.task("pretraining")
def test_augment_is_seeded_and_stays_in_range(student):
    x = digits(16, 2)
    a, b, c = student.augment(x, 5), student.augment(x, 5), student.augment(x, 6)
    assert a.shape == x.shape and a.dtype == torch.float32
    assert torch.equal(a, b), "the same seed must give the same view"
    assert not torch.equal(a, c) and not torch.equal(a, x), "views differ by seed and from the input"
    assert float(a.min()) >= 0 and float(a.max()) <= 1


@pytest.mark.task("pretraining")
def test_encoder_shapes(student):
    enc = student.Encoder()
    h = enc(digits(4, 3))
    assert h.dim() == 2 and h.shape[0] == 4
    z = enc.project(h)
    assert z.dim() == 2 and z.shape[0] == 4


@pytest.mark.task("pretraining")
def test_pretrain_returns_finite_losses_and_changes_the_features(student):
    x = digits(32, 4)
    before = student.features(x)
    losses = student.pretrain(x, steps=3, batch_size=16)
    assert type(losses) is list and len(losses) == 3 and all(isinstance(v, float) for v in losses)
    assert all(v == v and abs(v) < 1e6 for v in losses)
    after = student.features(x)
    assert after.shape[0] == 32 and not torch.allclose(before, after), "training must change the encoder"


@pytest.mark.task("pretraining")
def test_pretrain_and_features_reject_bad_inputs(student):
    with pytest.raises(ValueError):
        student.features(torch.zeros(3, 20, 20))
    with pytest.raises(ValueError):
        student.pretrain(torch.zeros(1, 1, 20, 20))
    with pytest.raises(ValueError):
        student.augment(torch.zeros(3, 20, 20), 0)
    with pytest.raises(ValueError):
        student.pretrain(torch.zeros(8, 1, 20, 20), steps=0)
