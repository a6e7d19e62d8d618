"""Hidden tests of pixel_cross_entropy, confusion_matrix and mean_iou [loss_metric].

Oracles: F.cross_entropy (ignore_index), torchmetrics MulticlassJaccardIndex(average="macro",
ignore_index=...) for the dataset-level mIoU, and a float64 loop over pixels.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassJaccardIndex

from harness.testkit import assert_tensor, check_gradient, devices


def gen(seed):
    return torch.Generator().manual_seed(seed)


def labels(n, h, w, c, seed, void=0.2):
    g = gen(seed)
    t = torch.randint(0, c, (n, h, w), generator=g)
    t[torch.rand(n, h, w, generator=g) < void] = 255
    return t


@pytest.mark.task("loss_metric")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("device", devices())
def test_cross_entropy_matches_torch(student, reduction, dtype, device):
    logits = (torch.randn(2, 5, 6, 7, generator=gen(1)) * 3).to(dtype).to(device)
    target = labels(2, 6, 7, 5, 2).to(device)
    got = student.pixel_cross_entropy(logits, target, ignore_index=255, reduction=reduction)
    expected = F.cross_entropy(logits, target, ignore_index=255, reduction=reduction)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert_tensor(got, expected, atol=tol, rtol=tol, case=f"{reduction}, {dtype}")


@pytest.mark.task("loss_metric")
def test_cross_entropy_other_ignore_index_and_default(student):
    logits = torch.randn(3, 4, 5, 5, generator=gen(3), dtype=torch.float64)
    target = torch.randint(0, 4, (3, 5, 5), generator=gen(4))
    target[:, 0] = 2  # class 2 ignored in the first row only
    got = student.pixel_cross_entropy(logits, target, ignore_index=2)
    assert_tensor(got, F.cross_entropy(logits, target, ignore_index=2), atol=1e-10, rtol=1e-10)
    t255 = labels(3, 5, 5, 4, 5)
    assert_tensor(student.pixel_cross_entropy(logits, t255), F.cross_entropy(logits, t255, ignore_index=255),
                  atol=1e-10, rtol=1e-10, case="default ignore_index is 255, default reduction mean")


@pytest.mark.task("loss_metric")
def test_cross_entropy_mean_is_over_the_batch_not_per_image(student):
    logits = torch.randn(2, 3, 4, 4, generator=gen(6), dtype=torch.float64)
    target = torch.randint(0, 3, (2, 4, 4), generator=gen(7))
    target[0, :3] = 255  # image 0 keeps 4 pixels, image 1 keeps 16
    got = student.pixel_cross_entropy(logits, target)
    assert_tensor(got, F.cross_entropy(logits, target, ignore_index=255), atol=1e-12, rtol=1e-12)


@pytest.mark.task("loss_metric")
def test_cross_entropy_all_ignored_is_nan_and_none_is_zero(student):
    logits = torch.randn(1, 3, 2, 2, generator=gen(8))
    target = torch.full((1, 2, 2), 255)
    assert math.isnan(float(student.pixel_cross_entropy(logits, target)))
    assert_tensor(student.pixel_cross_entropy(logits, target, reduction="none"), torch.zeros(1, 2, 2))


@pytest.mark.task("loss_metric")
def test_cross_entropy_gradient(student):
    logits = torch.randn(1, 3, 3, 4, generator=gen(9), dtype=torch.float64)
    target = labels(1, 3, 4, 3, 10)
    check_gradient(student, "pixel_cross_entropy", [logits, target], {"ignore_index": 255})


@pytest.mark.task("loss_metric")
def test_cross_entropy_rejects_bad_input(student):
    logits = torch.randn(1, 3, 2, 2)
    with pytest.raises(ValueError, match="target|logits"):
        student.pixel_cross_entropy(logits, torch.zeros(1, 2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="target|logits|outside"):
        student.pixel_cross_entropy(logits, torch.full((1, 2, 2), 3))
    with pytest.raises(TypeError, match="target|int64"):
        student.pixel_cross_entropy(logits, torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="reduction"):
        student.pixel_cross_entropy(logits, torch.zeros(1, 2, 2, dtype=torch.int64), reduction="avg")


def loop_confusion(pred, target, c, ignore):
    m = torch.zeros(c, c, dtype=torch.int64)
    for p, t in zip(pred.reshape(-1).tolist(), target.reshape(-1).tolist()):
        if t != ignore:
            m[t, p] += 1
    return m


@pytest.mark.task("loss_metric")
@pytest.mark.parametrize("ignore", [255, 0])
def test_confusion_matrix_matches_a_loop(student, ignore):
    pred = torch.randint(0, 4, (3, 5, 6), generator=gen(11))
    target = labels(3, 5, 6, 4, 12)
    if ignore == 0:
        target[target == 255] = 1
    got = student.confusion_matrix(pred, target, 4, ignore_index=ignore)
    assert_tensor(got, loop_confusion(pred, target, 4, ignore))


@pytest.mark.task("loss_metric")
def test_confusion_matrix_rows_are_targets(student):
    pred = torch.tensor([1, 1, 1])
    target = torch.tensor([0, 0, 2])
    got = student.confusion_matrix(pred, target, 3)
    expected = torch.tensor([[0, 2, 0], [0, 0, 0], [0, 1, 0]])
    assert_tensor(got, expected)


@pytest.mark.task("loss_metric")
def test_confusion_matrix_rejects_bad_labels(student):
    with pytest.raises(ValueError, match="pred|num_classes"):
        student.confusion_matrix(torch.tensor([0, 5]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match="target|num_classes"):
        student.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 7]), 3)
    with pytest.raises(ValueError, match="pred|target|shape"):
        student.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match="num_classes"):
        student.confusion_matrix(torch.tensor([0]), torch.tensor([0]), 0)


@pytest.mark.task("loss_metric")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dataset_miou_matches_torchmetrics(student, seed):
    """Accumulate one confusion matrix over several batches: the VOC convention."""
    metric = MulticlassJaccardIndex(num_classes=5, average="macro", ignore_index=255)
    total = torch.zeros(5, 5, dtype=torch.int64)
    per_image = []
    for b in range(3):
        target = labels(2, 8, 8, 5, 100 * seed + b, void=0.1)
        noise = torch.randint(0, 5, target.shape, generator=gen(7 + b + seed))
        flip = torch.rand(target.shape, generator=gen(50 + b)) < 0.3
        pred = torch.where(flip | (target == 255), noise, target)
        if seed == 2:
            pred[pred == 4] = 3  # class 4 never predicted
            target[target == 4] = 255  # nor present: left out of the mean
        metric.update(pred, target)
        total = total + student.confusion_matrix(pred, target, 5)
        for i in range(2):
            per_image.append(float(student.mean_iou(student.confusion_matrix(pred[i], target[i], 5))[0]))
    miou, iou = student.mean_iou(total)
    assert_tensor(miou, metric.compute().double(), atol=1e-6, rtol=1e-6, case="mIoU")
    assert miou.dtype == torch.float64 and iou.shape == (5,)
    assert abs(float(miou) - sum(per_image) / len(per_image)) > 1e-4, "the per-image mean must differ here"


@pytest.mark.task("loss_metric")
def test_mean_iou_values_and_absent_classes(student):
    conf = torch.tensor([[5, 1, 0, 0], [2, 3, 0, 0], [0, 0, 0, 0], [0, 0, 0, 4]])
    miou, iou = student.mean_iou(conf)
    expected = torch.tensor([5 / 8, 3 / 6, float("nan"), 1.0], dtype=torch.float64)
    assert_tensor(iou, expected, atol=1e-12, equal_nan=True)
    assert_tensor(miou, torch.tensor((5 / 8 + 3 / 6 + 1.0) / 3, dtype=torch.float64), atol=1e-12)
    pred_only = torch.tensor([[0, 3], [0, 0]])  # class 1 predicted, never true: IoU 0, counted
    m2, i2 = student.mean_iou(pred_only)
    assert_tensor(i2, torch.tensor([0.0, 0.0], dtype=torch.float64))
    assert_tensor(m2, torch.tensor(0.0, dtype=torch.float64))
    m3, i3 = student.mean_iou(torch.zeros(3, 3, dtype=torch.int64))
    assert math.isnan(float(m3)) and bool(torch.isnan(i3).all())


@pytest.mark.task("loss_metric")
def test_mean_iou_rejects_non_square(student):
    with pytest.raises(ValueError, match="confusion|square"):
        student.mean_iou(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="confusion|negative"):
        student.mean_iou(torch.tensor([[1, -1], [0, 1]]))
