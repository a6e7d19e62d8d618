"""Hidden tests of predict's output format [model]. How good the detections are is the
accuracy check's business (accuracy_cases.py); these tests check the contract on validation
scenes, other image sizes and edge cases."""

import pytest
import torch

import cv3data

MAX_DETECTIONS = 100


def check_detections(out, sizes):
    assert type(out) is list, f"predict must return a list, got {type(out).__name__}"
    assert len(out) == len(sizes), f"one dict per image: expected {len(sizes)}, got {len(out)}"
    for i, (det, (h, w)) in enumerate(zip(out, sizes)):
        assert type(det) is dict, f"image {i}: expected a dict, got {type(det).__name__}"
        assert {"boxes", "scores", "labels"} <= set(det), f"image {i}: keys {sorted(det)}"
        boxes, scores, labels = det["boxes"], det["scores"], det["labels"]
        for name, t, dtype in (("boxes", boxes, torch.float32), ("scores", scores, torch.float32),
                               ("labels", labels, torch.int64)):
            assert type(t) is torch.Tensor and t.dtype == dtype, f"image {i}: {name} must be a {dtype} tensor"
        d = boxes.shape[0]
        assert boxes.shape == (d, 4) and scores.shape == (d,) and labels.shape == (d,), f"image {i}: shapes"
        assert d <= MAX_DETECTIONS, f"image {i}: {d} detections, at most {MAX_DETECTIONS}"
        assert bool(torch.isfinite(boxes).all() and torch.isfinite(scores).all()), f"image {i}: nan or inf"
        b = boxes.cpu()
        inside = (b[:, 0] >= -0.01) & (b[:, 1] >= -0.01) & (b[:, 2] <= w + 0.01) & (b[:, 3] <= h + 0.01)
        ordered = (b[:, 2] >= b[:, 0]) & (b[:, 3] >= b[:, 1])
        assert bool((inside & ordered).all()), f"image {i}: a box is not inside the {h} x {w} image"
        assert set(labels.tolist()) <= {1, 2, 3, 4}, f"image {i}: labels {sorted(set(labels.tolist()))}"


@pytest.fixture(scope="module")
def val_images():
    scenes = cv3data.detection_splits(11, num_train=0, num_val=6, num_test=0)["val"]
    return [s["image"].float() / 255.0 for s in scenes]


@pytest.mark.task("model")
def test_predict_format_on_validation_scenes(student, val_images):
    out = student.predict(val_images)
    check_detections(out, [(64, 64)] * len(val_images))
    assert sum(d["boxes"].shape[0] for d in out) > 0, "no detection at all on 6 scenes with objects"


@pytest.mark.task("model")
def test_predict_is_deterministic(student, val_images):
    first = student.predict(val_images[:3])
    second = student.predict(val_images[:3])
    for i, (a, b) in enumerate(zip(first, second)):
        for k in ("boxes", "scores", "labels"):
            assert torch.equal(a[k], b[k]), f"image {i}: '{k}' differs between two calls on the same images"


@pytest.mark.task("model")
def test_predict_on_other_image_sizes(student, val_images):
    wide = torch.nn.functional.pad(val_images[0], (0, 16, 0, 0))  # 64 x 80
    small = val_images[1][:, :48, :40]  # 48 x 40
    out = student.predict([wide, small])
    check_detections(out, [(64, 80), (48, 40)])


@pytest.mark.task("model")
def test_predict_of_no_images(student):
    out = student.predict([])
    assert out == [], f"no images: expected [], got {out!r:.100}"


@pytest.mark.task("model")
def test_predict_rejects_images_without_channels(student):
    with pytest.raises(ValueError):
        student.predict([torch.rand(64, 64)])
