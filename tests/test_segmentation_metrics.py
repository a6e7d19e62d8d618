"""The trusted segmentation metric (harness/metrics/segmentation.py) against torchmetrics'
MulticlassJaccardIndex(average="macro", ignore_index=...), and the segmentation scorer's
validation and report figures (reference/segmentation/tests/accuracy_cases.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.classification import MulticlassJaccardIndex

from harness.metrics.segmentation import confusion_matrix, evaluate_segmentation, iou_from_confusion
from tests.conftest import load_module

ROOT = Path(__file__).resolve().parents[1]


def _cases(seed, n=5, c=5, size=(12, 10), void=0.15, drop_class=None):
    g = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = g.integers(0, c, size=size)
        p = np.where(g.random(size) < 0.35, g.integers(0, c, size=size), t)
        t = np.where(g.random(size) < void, 255, t)
        if drop_class is not None:
            p = np.where(p == drop_class, 0, p)
            t = np.where(t == drop_class, 255, t)
        out.append((p, t))
    return out


@pytest.mark.parametrize("seed,drop", [(0, None), (1, None), (2, 4), (3, 3)])
def test_miou_matches_torchmetrics(seed, drop):
    pairs = _cases(seed, drop_class=drop)
    metric = MulticlassJaccardIndex(num_classes=5, average="macro", ignore_index=255)
    for p, t in pairs:
        metric.update(torch.from_numpy(p), torch.from_numpy(t))
    s = evaluate_segmentation(pairs, 5)
    assert math.isclose(s.miou, float(metric.compute()), rel_tol=1e-6, abs_tol=1e-7)
    per_class = MulticlassJaccardIndex(num_classes=5, average="none", ignore_index=255)
    for p, t in pairs:
        per_class.update(torch.from_numpy(p), torch.from_numpy(t))
    expected = per_class.compute().double().numpy()
    present = ~np.isnan(s.iou)
    assert np.allclose(s.iou[present], expected[present], atol=1e-6)
    assert np.all(expected[~present] == 0), "torchmetrics reports 0 where we report nan (left out of the mean)"
    if drop is not None:
        assert not present[drop]


def test_dataset_level_differs_from_per_image_mean():
    big_t = np.zeros((20, 20), dtype=np.int64)
    big_t[:10] = 1
    big_p = big_t.copy()
    small_t = np.array([[1, 1], [0, 0]])
    small_p = np.array([[0, 0], [1, 1]])  # all wrong
    s = evaluate_segmentation([(big_p, big_t), (small_p, small_t)], 2)
    assert math.isclose(s.per_image_miou, 0.5)
    assert s.miou > 0.9
    assert s.pixel_accuracy == pytest.approx(400 / 404)


def test_confusion_and_iou_edge_cases():
    c = confusion_matrix(np.array([0, 1, 1]), np.array([0, 255, 1]), 3)
    assert c.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    m, iou = iou_from_confusion(c)
    assert m == 1.0 and math.isnan(iou[2])
    m0, iou0 = iou_from_confusion(np.zeros((2, 2)))
    assert math.isnan(m0) and np.isnan(iou0).all()
    with pytest.raises(ValueError, match="predicted"):
        confusion_matrix(np.array([3]), np.array([0]), 3)
    with pytest.raises(ValueError, match="target"):
        confusion_matrix(np.array([0]), np.array([7]), 3)
    with pytest.raises(ValueError, match="shapes"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 3)
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix(np.array([0]), np.array([0]), 0)
    assert math.isnan(evaluate_segmentation([], 3).pixel_accuracy)


def _accuracy_cases():
    return load_module(ROOT / "reference" / "segmentation" / "tests" / "accuracy_cases.py",
                       "cv3_segmentation_accuracy_cases")


def test_scorer_perfect_and_malformed_outputs():
    acc = _accuracy_cases()
    calls, targets = acc.holdout(seed=123)
    masks = targets["masks"]
    assert len(calls) == 6 and calls[0][0][0].shape == (16, 3, 48, 48)
    perfect = [torch.where(masks[i:i + 16] == 255, torch.zeros_like(masks[i:i + 16]), masks[i:i + 16])
               for i in range(0, len(masks), 16)]
    value, details = acc.score(perfect, targets)
    assert value == 1.0 and details["pixel_accuracy"] == 1.0
    assert [r[0] for r in details["table"]["rows"]] == ["background", "disc", "square", "triangle"]
    titles = [f["title"] for f in details["figures"]]
    assert any("confusion" in t for t in titles)
    overlay = details["figures"][0]
    assert len(overlay["tiles"]) == 6 and len(overlay["student_tiles"]) == 6
    assert all(t.startswith("<svg") for t in overlay["tiles"] + overlay["student_tiles"])
    assert "ground truth" in overlay["tiles"][0] and "ground truth" not in overlay["student_tiles"][0]
    zeros = [torch.zeros_like(p) for p in perfect]
    z, _ = acc.score(zeros, targets)
    assert 0.0 < z < 0.3
    for bad, msg in [(perfect[:-1], "expected 6"), ([p.int() for p in perfect], "int64"),
                     ([p[:, :, :40] for p in perfect], "shape"), ([p + 3 for p in perfect], "labels must lie"),
                     ("nope", "one result per call"), ([p.tolist() for p in perfect], "Tensor")]:
        with pytest.raises(ValueError, match=msg):
            acc.score(bad, targets)


def test_training_data_is_the_public_split():
    acc = _accuracy_cases()
    (images, masks), kwargs = acc.training_data()
    assert images.shape == (192, 3, 48, 48) and images.dtype == torch.float32
    assert masks.dtype == torch.int64 and float(images.max()) <= 1.0
    assert kwargs["ignore_index"] == 255 and kwargs["num_classes"] == 4 and kwargs["time_budget_s"] > 0
