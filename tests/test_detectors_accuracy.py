"""The accuracy check of the detectors assignment (reference/detectors/tests/accuracy_cases.py):
its mAP is pycocotools' on the same predictions, malformed outputs are refused with a clear
message (never a crash), and grading the bundled samples gives the reference full points and
random boxes none."""

from __future__ import annotations

import base64
import contextlib
import io
import re

import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import cv3data
from harness.grading.grade import Grader
from harness.manifest import find_assignment
from harness.sandbox import LocalSandbox
from harness.submissions import SubmissionSource
from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "detectors" / "tests"


_load = load_module


@pytest.fixture(scope="module")
def cases():
    return _load(HIDDEN / "accuracy_cases.py", "cv3_test_detectors_accuracy_cases")


@pytest.fixture(scope="module")
def holdout(cases):
    return cases.holdout()


def noisy_predictions(targets, seed):
    """Detections made from the ground truth: jittered, some missed, some with the wrong class,
    plus false positives; float32 boxes inside the image, as ``predict`` returns them."""
    gen = torch.Generator().manual_seed(seed)
    coco = targets["coco"]
    per_image = []
    for info in coco["images"]:
        h, w = info["height"], info["width"]
        anns = [a for a in coco["annotations"] if a["image_id"] == info["id"]]
        xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float64).reshape(-1, 4)
        boxes = torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1)
        labels = torch.tensor([a["category_id"] for a in anns], dtype=torch.int64)
        boxes = boxes + torch.randn(boxes.shape, generator=gen, dtype=torch.float64) * 2.0
        keep = torch.rand(len(anns), generator=gen) > 0.15
        wrong = torch.rand(len(anns), generator=gen) < 0.1
        labels = torch.where(wrong, labels % 4 + 1, labels)
        extra = 5
        xy = torch.rand(extra, 2, generator=gen, dtype=torch.float64) * torch.tensor([w * 0.7, h * 0.7])
        fp = torch.cat([xy, xy + torch.rand(extra, 2, generator=gen, dtype=torch.float64) * 20 + 3], dim=1)
        boxes = torch.cat([boxes[keep], fp])
        labels = torch.cat([labels[keep], torch.randint(1, 5, (extra,), generator=gen)])
        scores = torch.cat([torch.rand(int(keep.sum()), generator=gen) * 0.5 + 0.5,
                            torch.rand(extra, generator=gen) * 0.6])
        limit = torch.tensor([w, h, w, h], dtype=torch.float64)
        boxes = torch.minimum(boxes.clamp(min=0), limit)
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2])
        per_image.append({"boxes": boxes.float(), "scores": scores.float(), "labels": labels})
    return per_image


def batches(per_image, size=8):
    return [per_image[i:i + size] for i in range(0, len(per_image), size)]


def coco_eval(per_image, coco, cat_ids=None):
    """An independent COCOeval of the same predictions (the oracle)."""
    results = [{"image_id": info["id"], "category_id": int(c), "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(s)}
               for info, det in zip(coco["images"], per_image)
               for (x1, y1, x2, y2), s, c in zip(det["boxes"].tolist(), det["scores"].tolist(),
                                                 det["labels"].tolist())]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {k: coco[k] for k in ("images", "annotations", "categories")}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        if cat_ids is not None:
            ev.params.catIds = cat_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


# -------------------------------------------------------------------------- the data


def test_detection_splits_are_deterministic_disjoint_and_prefix_stable():
    a = cv3data.detection_splits(3, num_train=6, num_val=4, num_test=5)
    b = cv3data.detection_splits(3, num_train=2, num_val=0, num_test=8)
    assert [len(a[k]) for k in cv3data.DETECTION_SPLITS] == [6, 4, 5]
    assert all(torch.equal(x["image"], y["image"]) for x, y in zip(a["train"][:2], b["train"]))
    assert all(torch.equal(x["image"], y["image"]) for x, y in zip(a["test"], b["test"][:5]))
    images = [s["image"] for split in a.values() for s in split]
    assert len({bytes(im.numpy()) for im in images}) == len(images), "no scene shared between splits"
    assert cv3data.detection_split_seed(3, "val") != cv3data.detection_split_seed(4, "val")
    scene = a["val"][0]
    assert scene["image"].shape == (3, 64, 64) and set(scene["labels"].tolist()) <= {1, 2, 3, 4}
    with pytest.raises(ValueError, match="split must be one of"):
        cv3data.detection_split_seed(0, "holdout")


def test_holdout_is_not_a_split_students_can_generate(cases):
    held = cases.holdout_scenes()[0]["image"]
    for seed in range(3):
        public = cv3data.detection_splits(seed, num_train=1, num_val=1, num_test=1)
        assert not any(torch.equal(held, split[0]["image"]) for split in public.values())


# -------------------------------------------------------------------------- the metric


def test_holdout_sends_images_only(cases, holdout):
    calls, targets = holdout
    assert len(calls) == 16 and all(len(args[0]) == 8 and kwargs == {} for args, kwargs in calls)
    image = calls[0][0][0][0]
    assert type(image) is torch.Tensor and image.dtype == torch.float32 and image.shape == (3, 64, 64)
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert len(targets["coco"]["images"]) == 128 and len(targets["coco"]["annotations"]) > 128


@pytest.mark.parametrize("seed", [0, 1])
def test_scorer_equals_pycocotools(cases, holdout, seed):
    _, targets = holdout
    per_image = noisy_predictions(targets, seed)
    value, details = cases.score(batches(per_image), targets)
    stats = coco_eval(per_image, targets["coco"])
    assert 0.3 < stats[1] < 0.95, "test setup: a middling detector"
    assert value == pytest.approx(stats[1], abs=1e-12)
    assert details["mAP50"] == pytest.approx(stats[1], abs=1e-6)
    assert details["mAP"] == pytest.approx(stats[0], abs=1e-6)
    for cat in targets["coco"]["categories"]:
        single = coco_eval(per_image, targets["coco"], cat_ids=[cat["id"]])
        assert details["AP50_per_class"][cat["name"]] == pytest.approx(single[1], abs=1e-6), cat["name"]
    assert details["images"] == 128
    assert details["detections"] == sum(int(d["labels"].numel()) for d in per_image)


def test_perfect_and_empty_predictions(cases, holdout):
    _, targets = holdout
    coco = targets["coco"]
    perfect = []
    for info in coco["images"]:
        anns = [a for a in coco["annotations"] if a["image_id"] == info["id"]]
        xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float32).reshape(-1, 4)
        perfect.append({"boxes": torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1),
                        "scores": torch.ones(len(anns)),
                        "labels": torch.tensor([a["category_id"] for a in anns], dtype=torch.int64)})
    value, details = cases.score(batches(perfect), targets)
    assert value == pytest.approx(1.0) and details["mAP"] == pytest.approx(1.0)
    empty = [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.int64)}
             for _ in coco["images"]]
    value, details = cases.score(batches(empty), targets)
    assert value == 0.0 and details["mAP"] == 0.0 and details["detections"] == 0
    assert len(details["figures"]) == 2


def test_figures_show_images_boxes_and_curves(cases, holdout):
    _, targets = holdout
    _, details = cases.score(batches(noisy_predictions(targets, 3)), targets)
    examples, curves = details["figures"]
    assert set(examples) == {"title", "tiles", "student_tiles", "legend"} and set(curves) == {"title", "svg"}
    tiles = examples["tiles"]  # one SVG per image: the report wraps them on narrow screens
    assert len(tiles) == 4 and all(t.startswith("<svg") and t.count("<image ") == 1 for t in tiles)
    svg = "".join(tiles)
    png = base64.b64decode(re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", svg).group(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 'stroke="#22c55e"' in svg and 'stroke="#ef4444"' in svg  # ground truth green, predictions red
    # what a student may see (if the policy allows predictions at all): no ground truth
    student = "".join(examples["student_tiles"])
    assert 'stroke="#22c55e"' not in student and 'stroke="#ef4444"' in student
    assert curves["svg"].count("<polyline") == 4 and "recall" in curves["svg"]
    for name in ("rectangle", "ellipse", "triangle", "diamond"):
        assert name in curves["svg"]


# -------------------------------------------------------------------------- malformed outputs


class SubTensor(torch.Tensor):
    pass


def _set(i, key, value):
    def mutate(per_image):
        per_image[i][key] = value(per_image[i]) if callable(value) else value
    return mutate


def _drop_key(i, key):
    def mutate(per_image):
        del per_image[i][key]
    return mutate


def _many_boxes(per_image):
    per_image[5] = {"boxes": torch.tensor([[1.0, 1.0, 9.0, 9.0]]).repeat(500, 1), "scores": torch.rand(500),
                    "labels": torch.ones(500, dtype=torch.int64)}


def _outside(per_image):
    per_image[2]["boxes"] = torch.tensor([[10.0, 10.0, 70.0, 20.0]])
    per_image[2]["scores"], per_image[2]["labels"] = torch.ones(1), torch.ones(1, dtype=torch.int64)


def _flipped(per_image):
    per_image[4]["boxes"] = torch.tensor([[30.0, 10.0, 20.0, 20.0]])
    per_image[4]["scores"], per_image[4]["labels"] = torch.ones(1), torch.ones(1, dtype=torch.int64)


def _with_box(i, box, score=1.0):
    def mutate(per_image):
        per_image[i] = {"boxes": torch.tensor([box]), "scores": torch.tensor([score]),
                        "labels": torch.ones(1, dtype=torch.int64)}
    return mutate


MALFORMED = {
    "nan box": (_with_box(0, [1.0, float("nan"), 5.0, 5.0]), r"image 0: 'boxes' holds nan or inf"),
    "inf score": (_with_box(1, [1.0, 1.0, 5.0, 5.0], float("inf")), r"image 1: 'scores' holds nan or inf"),
    "float64 boxes": (_set(3, "boxes", lambda d: d["boxes"].double()),
                      r"image 3: 'boxes' must have dtype float32, got float64"),
    "int32 labels": (_set(6, "labels", lambda d: d["labels"].int()), r"image 6: 'labels' must have dtype int64"),
    "box outside": (_outside, r"image 2: box 0 = \[10.0, 10.0, 70.0, 20.0\] is not a box"),
    "x2 < x1": (_flipped, r"image 4: box 0 .* is not a box"),
    "500 boxes": (_many_boxes, r"image 5: 500 detections, at most 100 are allowed"),
    "tensor subclass": (_set(7, "boxes", lambda d: d["boxes"].as_subclass(SubTensor)),
                        r"image 7: 'boxes' must be a plain torch.Tensor, got a .*SubTensor"),
    "a list for scores": (_set(8, "scores", lambda d: d["scores"].tolist()),
                          r"image 8: 'scores' must be a plain torch.Tensor, got a list"),
    "missing key": (_drop_key(9, "scores"), r"image 9: the dict lacks \['scores'\]"),
    "unknown label": (_set(10, "labels", lambda d: torch.full_like(d["labels"], 7)),
                      r"image 10: labels \[7\] are not category ids"),
    "scores of the wrong length": (_set(11, "scores", lambda d: torch.zeros(d["scores"].numel() + 1)),
                                   r"image 11: 'scores' and 'labels' must have shape \[D\]"),
    "boxes of the wrong shape": (_set(12, "boxes", lambda d: d["boxes"][:, :3].contiguous()),
                                 r"image 12: 'boxes' must have shape \[D, 4\]"),
    "not a dict": (lambda p: p.__setitem__(13, [torch.zeros(0, 4)]), r"image 13: expected a dict"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_outputs_are_refused_with_a_clear_message(cases, holdout, case):
    _, targets = holdout
    per_image = noisy_predictions(targets, 5)
    mutate, message = MALFORMED[case]
    mutate(per_image)
    with pytest.raises(ValueError, match=message):
        cases.score(batches(per_image), targets)


@pytest.mark.parametrize("outputs, message", [
    (None, "expected one result per call"),
    ("detections", "expected one result per call"),
    ([None] * 16, r"call 0: predict must return a list of dicts"),
    ([[{}] * 7] + [[{}] * 8] * 15, r"call 0: predict returned 7 results for 8 images"),
    ([[{}] * 8] * 15, r"predict returned 120 results for 128 images"),
    ([[{}] * 8] * 16, r"image 0: the dict lacks \['boxes', 'scores', 'labels'\]"),
    ([[{"boxes": 1, "scores": 2, "labels": 3}] * 8] * 16, r"image 0: 'boxes' must be a plain torch.Tensor, got a int"),
    ([[{"boxes": torch.zeros(()), "scores": torch.zeros(()), "labels": torch.zeros((), dtype=torch.int64)}] * 8] * 16,
     r"image 0: 'boxes' must have shape \[D, 4\], got \[\]"),
])
def test_hostile_outputs_raise_value_error_only(cases, holdout, outputs, message):
    _, targets = holdout
    with pytest.raises(ValueError, match=message):
        cases.score(outputs, targets)


# -------------------------------------------------------------------------- grading the samples


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    module = _load(ROOT / "reference" / "detectors" / "samples.py", "cv3_test_detectors_samples")
    out = tmp_path_factory.mktemp("detector_samples")
    return {p.name: p for p in module.build(out)}


@pytest.fixture(scope="module")
def detectors_grader():
    a = find_assignment("detectors")
    sandbox = LocalSandbox(limits=a.limits)
    grader = Grader(a, sandbox=sandbox, tasks=["model", "map"], speed=False)
    yield grader
    grader.close()
    sandbox.close()


def _map_check(grader, path):
    result = grader.grade(SubmissionSource(path.name, path))
    assert result.status == "graded", result.error
    (task,) = [t for t in result.tasks if t.id == "map"]
    return task, task.checks[0]


def test_reference_reaches_the_target(detectors_grader, samples):
    task, check = _map_check(detectors_grader, samples["s01_reference"])
    assert task.score == task.points, check.message
    assert check.details["value"] >= check.details["target"]
    assert len(check.details["figures"]) == 2


def test_random_boxes_score_zero(detectors_grader, samples):
    task, check = _map_check(detectors_grader, samples["s03_random_boxes"])
    assert task.score == 0.0
    assert check.details["value"] <= check.details["floor"]
    assert "0.05 or less scores 0" in check.message


def test_malformed_predictions_score_zero_with_the_reason(detectors_grader, samples):
    task, check = _map_check(detectors_grader, samples["s04_malformed"])
    assert task.score == 0.0
    assert check.message == ("malformed output from predict: image 0: 'boxes' must have dtype float32, "
                             "got float64")
