"""Hidden tests of train and predict [model]: the contract the accuracy check relies on.

The accuracy check itself (accuracy_cases.py) trains on the public training scenes inside the
sandbox and scores predict on held-out scenes; these tests grade the training code directly on
small problems, so a broken training loop loses points here even if its mIoU is lucky.
"""

import time

import pytest
import torch
from seg_oracles import colour_scenes


@pytest.mark.task("model")
def test_train_then_predict_contract(student):
    images, _, labels = colour_scenes(8, 16, 0)
    labels[labels == 255] = 99  # another void label: train must pass ignore_index on to its loss
    out = student.train(images, labels, num_classes=4, ignore_index=99, steps=3, seed=0)
    assert type(out) is dict and out.get("steps") == 3, f"train must report the steps done, got {out!r}"
    assert isinstance(out.get("loss"), float) and out["loss"] == out["loss"]
    pred = student.predict(images[:5])
    assert type(pred) is torch.Tensor and pred.dtype == torch.int64 and tuple(pred.shape) == (5, 16, 16)
    assert int(pred.min()) >= 0 and int(pred.max()) < 4


@pytest.mark.task("model")
def test_train_learns_and_ignores_void(student):
    images, masks, labels = colour_scenes(16, 16, 1)
    student.train(images, labels, num_classes=4, ignore_index=255, steps=120, seed=0)
    test_images, test_masks, _ = colour_scenes(8, 16, 2)
    pred = student.predict(test_images)
    acc = float((pred == test_masks).float().mean())
    assert acc > 0.9, f"pixel accuracy {acc:.3f} after 120 steps on colour-coded classes"


@pytest.mark.task("model")
def test_train_is_deterministic_for_a_seed(student):
    images, _, labels = colour_scenes(8, 16, 3)
    student.train(images, labels, num_classes=4, steps=8, seed=5)
    logits_a = student.predict(images)
    student.train(images, labels, num_classes=4, steps=8, seed=5)
    logits_b = student.predict(images)
    assert torch.equal(logits_a, logits_b), "the same seed must give the same model"


@pytest.mark.task("model")
def test_train_stops_at_the_time_budget(student):
    images, _, labels = colour_scenes(8, 16, 4)
    t0 = time.perf_counter()
    out = student.train(images, labels, num_classes=4, steps=10 ** 7, seed=0, time_budget_s=1.0)
    assert time.perf_counter() - t0 < 15.0
    assert 0 < out["steps"] < 10 ** 7


@pytest.mark.task("model")
def test_train_rejects_mismatched_masks(student):
    images, _, labels = colour_scenes(2, 16, 5)
    with pytest.raises(ValueError, match="masks|images"):
        student.train(images, labels[:, :8], num_classes=4, steps=1)
