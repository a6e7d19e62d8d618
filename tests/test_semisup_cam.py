"""The CAM accuracy check of the semisup assignment (reference/semisup/tests/cam_cases.py): the
committed classifier classifies the held-out digits, the metric is the mean IoU of the masks with
the digits' squares, malformed outputs are refused with a message, the calls carry no squares, and
the example figure hides the squares from the student view."""

from __future__ import annotations


import pytest
import torch

from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "semisup" / "tests"


def _load(name: str):
    alias = f"cv3_test_semisup_{name}"
    return load_module(HIDDEN / f"{name}.py", alias)


@pytest.fixture(scope="module")
def cam():
    return _load("cam_cases")


@pytest.fixture(scope="module")
def holdout(cam):
    return cam.holdout(seed=11)


def test_box_masks_and_ious(cam):
    boxes = torch.tensor([[0, 0, 2, 3], [1, 1, 3, 3]])
    m = cam.box_masks(boxes, size=4)
    assert m.shape == (2, 4, 4) and int(m[0].sum()) == 6 and int(m[1].sum()) == 4
    assert bool(m[0, 2, 1]) and not bool(m[0, 3, 1]) and not bool(m[0, 0, 2])
    assert cam.ious(m, m).tolist() == [1.0, 1.0]
    assert cam.ious(m[[0]], m[[1]]).item() == pytest.approx(2 / 8)  # overlap x 1, y 1..2; union 6 + 4 - 2
    empty = torch.zeros(1, 4, 4, dtype=torch.bool)
    assert cam.ious(empty, empty).item() == 1.0


def test_calls_carry_features_not_squares_and_the_classifier_works(cam, holdout):
    calls, targets = holdout
    n = targets["labels"].shape[0]
    assert sum(args[0].shape[0] for args, _ in calls) == n
    for args, kwargs in calls:
        features, weight, idx, size = args
        assert features.shape[1:] == (32, 12, 12) and weight.shape == (10, 32) and size == (48, 48)
        assert idx.dtype == torch.int64 and kwargs == {}
    assert targets["classifier_accuracy"] > 0.7


def test_reference_masks_score_between_the_bands_and_square_masks_score_one(cam, holdout):
    from harness.authoring import reference_package

    ref = reference_package(ROOT / "reference" / "semisup" / "semisup", "cv3_test_semisup_reference")
    calls, targets = holdout
    value, details = cam.score([ref.cam_masks(*a, **k) for a, k in calls], targets)
    assert 0.32 <= value < 0.5, value
    assert len(details["table"]["rows"]) == 10
    (fig,) = details["figures"]
    assert len(fig["tiles"]) == cam.EXAMPLES and "#22c55e" in fig["tiles"][0]
    assert "#22c55e" not in fig["student_tiles"][0]  # the squares stay off the student view
    perfect = [targets["masks"][i:i + cam.BATCH] for i in range(0, targets["masks"].shape[0], cam.BATCH)]
    assert cam.score(perfect, targets)[0] == 1.0


@pytest.mark.parametrize("bad,match", [
    (lambda o: o[:-1], "one per batch"),
    (lambda o: [o[0].float()] + o[1:], "bool Tensor"),
    (lambda o: [o[0][:, :-1]] + o[1:], "bool Tensor"),
    (lambda o: [o[0].tolist()] + o[1:], "got a list"),
])
def test_malformed_masks_are_refused(cam, holdout, bad, match):
    calls, targets = holdout
    good = [torch.zeros(a[0].shape[0], 48, 48, dtype=torch.bool) for a, _ in calls]
    with pytest.raises(ValueError, match=match):
        cam.score(bad(good), targets)
