"""The trusted COCO evaluator (harness/metrics/coco.py) against pycocotools' COCOeval (the
oracle): all 12 stats and the full precision / recall arrays, compared with ``==``, on random
cases with crowd regions, every area range, more than 100 detections per image, empty images,
images without detections, categories without ground truth, tied scores and IoUs, in shuffled
orders; crafted cases at the IoU thresholds; cv3data scenes; bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import cv3data
from harness.metrics.coco import (
    IOU_THRESHOLDS,
    STAT_DESCRIPTIONS,
    STAT_NAMES,
    benchmark_case,
    benchmark_coco,
    evaluate,
    pycocotools_evaluate,
)


def random_case(seed: int) -> tuple[dict, list[dict]]:
    """A small COCO case drawn to hit every rule of COCOeval: integer or float boxes (integer
    boxes make exact IoU ties and IoUs exactly at a threshold), sizes across small / medium /
    large (with boxes of area exactly 32**2 and 96**2), ``area`` fields that are not ``w * h``,
    crowd regions with several detections inside, duplicates, >100 detections of one category
    in an image, detections of unknown categories, coarse scores (ties within and across
    images), images without ground truth or without detections, categories without ground
    truth, non-contiguous ids, everything shuffled."""
    rng = np.random.default_rng(seed)
    integer = seed % 2 == 0
    num_images = int(rng.integers(1, 14))
    image_ids = rng.choice(np.arange(1, 10 * num_images + 10), size=num_images, replace=False).tolist()
    cat_ids = rng.choice(np.arange(1, 20), size=int(rng.integers(1, 6)), replace=False).tolist()
    images = [{"id": int(i), "width": 320, "height": 320} for i in image_ids]
    gt_cats = cat_ids[:max(1, len(cat_ids) - int(rng.integers(0, 2)))]  # maybe one category without gt
    crowd_rate = [0.0, 0.1, 0.3][seed % 3]
    annotations, detections = [], []
    first_id = int(rng.integers(1, 5))

    def draw_box(lo=2.0, hi=200.0):
        w, h = np.exp(rng.uniform(np.log(lo), np.log(hi), 2))
        if rng.uniform() < 0.1:
            w, h = rng.choice([(32.0, 32.0), (96.0, 96.0), (16.0, 64.0), (48.0, 192.0)])
        x, y = rng.uniform(0, 300 - w), rng.uniform(0, 300 - h)
        box = np.array([x, y, w, h])
        return np.round(box) if integer else box

    for image_id in image_ids:
        kind = rng.uniform()
        n_gt = 0 if kind < 0.15 else int(rng.integers(1, 9))
        gts = []
        for _ in range(n_gt):
            box = draw_box()
            cat = int(rng.choice(gt_cats))
            crowd = bool(rng.uniform() < crowd_rate)
            area = float(box[2] * box[3])
            if rng.uniform() < 0.2:  # a segmentation area, smaller than the box
                area *= float(rng.uniform(0.4, 1.0))
            ann = {"id": first_id + len(annotations), "image_id": image_id, "category_id": cat,
                   "bbox": box.tolist(), "area": area, "iscrowd": int(crowd)}
            annotations.append(ann)
            gts.append(ann)
            if rng.uniform() < 0.15 and not crowd:  # a twin shifted by a few pixels: IoU ties
                twin = box.copy()
                twin[0] += float(rng.integers(1, 4)) if integer else rng.uniform(0.5, 3)
                annotations.append({**ann, "id": first_id + len(annotations), "bbox": twin.tolist()})
        if kind > 0.9:
            continue  # an image without detections
        scores_grid = rng.choice([0.05, 0.1, 0.25])
        for g in gts:
            for _ in range(int(rng.integers(0, 4 if g["iscrowd"] else 3))):
                box = np.array(g["bbox"])
                if g["iscrowd"]:  # detections inside the crowd region
                    w, h = box[2:] * rng.uniform(0.2, 0.7, 2)
                    box = np.array([box[0] + rng.uniform(0, box[2] - w), box[1] + rng.uniform(0, box[3] - h), w, h])
                else:
                    box = box + rng.normal(0, 0.1, 4) * np.r_[box[2:], box[2:]]
                if integer:
                    box = np.round(box)
                box[2:] = np.maximum(box[2:], 1.0)
                cat = g["category_id"] if rng.uniform() < 0.9 else int(rng.choice(cat_ids))
                detections.append({"image_id": image_id, "category_id": cat, "bbox": box.tolist(),
                                   "score": float(np.round(rng.uniform(0.05, 1.0) / scores_grid) * scores_grid)})
        for _ in range(int(rng.integers(0, 6))):  # false positives, some of unknown categories
            cat = int(rng.choice(cat_ids)) if rng.uniform() < 0.9 else 99
            detections.append({"image_id": image_id, "category_id": cat, "bbox": draw_box().tolist(),
                               "score": float(np.round(rng.uniform(0, 0.8), 1))})
        if rng.uniform() < 0.1:  # more than 100 detections of one category, ties at the cut
            cat = int(rng.choice(cat_ids))
            base = gts[0]["bbox"] if gts else draw_box().tolist()
            for _ in range(int(rng.integers(101, 140))):
                box = np.array(base) + rng.normal(0, 3, 4)
                box[2:] = np.maximum(box[2:], 1.0)
                detections.append({"image_id": image_id, "category_id": cat, "bbox": box.tolist(),
                                   "score": float(np.round(rng.uniform(0, 1), 1))})
    order = rng.permutation(len(images))
    gt = {"images": [images[i] for i in order], "annotations": annotations,
          "categories": [{"id": int(c), "name": f"c{c}"} for c in rng.permutation(cat_ids)]}
    return gt, [detections[i] for i in rng.permutation(len(detections))]


def assert_identical(gt, detections, case=""):
    ours = evaluate(gt, detections)
    ev = pycocotools_evaluate(gt, detections)
    assert ev is not None, "test setup: pycocotools needs a detection"
    for name, a, b in zip(STAT_NAMES, ours["stats"], ev.stats.tolist(), strict=True):
        assert a == b, f"[{case}] {name}: harness {a!r}, pycocotools {b!r}"
        assert ours[name] == a
    assert ours["precision"].shape == ev.eval["precision"].shape
    assert np.array_equal(ours["precision"], ev.eval["precision"]), f"[{case}] precision arrays differ"
    assert np.array_equal(ours["recall"], ev.eval["recall"]), f"[{case}] recall arrays differ"
    assert ours["cat_ids"] == [int(c) for c in ev.params.catIds]
    return ours


@pytest.mark.parametrize("seed", range(80))
def test_random_cases_equal_pycocotools(seed):
    gt, detections = random_case(seed)
    if not detections:
        detections = [{"image_id": gt["images"][0]["id"], "category_id": gt["categories"][0]["id"],
                       "bbox": [1.0, 1.0, 5.0, 5.0], "score": 0.5}]
    assert_identical(gt, detections, f"seed {seed}")


def test_random_cases_cover_the_rules():
    """The random cases are not vacuous: crowd, every area range, >100 detections, empty images."""
    seen = {"crowd": 0, "small": 0, "medium": 0, "large": 0, "over100": 0, "no_gt_image": 0, "no_dt_image": 0,
            "no_gt_category": 0}
    for seed in range(80):
        gt, dets = random_case(seed)
        anns = gt["annotations"]
        seen["crowd"] += sum(a["iscrowd"] for a in anns)
        seen["small"] += sum(a["area"] < 32 ** 2 for a in anns)
        seen["medium"] += sum(32 ** 2 <= a["area"] <= 96 ** 2 for a in anns)
        seen["large"] += sum(a["area"] > 96 ** 2 for a in anns)
        counts: dict = {}
        for d in dets:
            counts[d["image_id"], d["category_id"]] = counts.get((d["image_id"], d["category_id"]), 0) + 1
        seen["over100"] += any(c > 100 for c in counts.values())
        ids_gt, ids_dt = {a["image_id"] for a in anns}, {d["image_id"] for d in dets}
        seen["no_gt_image"] += any(im["id"] not in ids_gt for im in gt["images"])
        seen["no_dt_image"] += any(im["id"] not in ids_dt for im in gt["images"])
        seen["no_gt_category"] += any(c["id"] not in {a["category_id"] for a in anns} for c in gt["categories"])
    assert all(v >= 3 for v in seen.values()), seen


@pytest.mark.parametrize("seed", [3, 4, 11])
def test_order_of_images_does_not_matter(seed):
    """Shuffling the images and interleaving the detections of different images differently
    (each image's own detections keep their order) changes nothing, tied scores across images
    included; pycocotools agrees on every order."""
    gt, dets = random_case(seed)
    base = evaluate(gt, dets)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        gt2 = {**gt, "images": [gt["images"][i] for i in rng.permutation(len(gt["images"]))],
               "annotations": sorted(gt["annotations"], key=lambda a: (rng.uniform(), 0)),
               "categories": [gt["categories"][i] for i in rng.permutation(len(gt["categories"]))]}
        # annotations of one image keep their relative order (equal IoUs pick the later one)
        position = {id(a): i for i, a in enumerate(gt["annotations"])}
        by_image: dict = {}
        for a in gt["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a)
        slots = [a["image_id"] for a in gt2["annotations"]]
        iters = {k: iter(sorted(v, key=lambda a: position[id(a)])) for k, v in by_image.items()}
        gt2["annotations"] = [next(iters[k]) for k in slots]
        keys = rng.uniform(size=len(dets))
        per_image: dict = {}
        for d in dets:
            per_image.setdefault(d["image_id"], []).append(d)
        slots = [d["image_id"] for _, d in sorted(zip(keys, dets, strict=True), key=lambda x: x[0])]
        iters = {k: iter(v) for k, v in per_image.items()}
        dets2 = [next(iters[k]) for k in slots]
        got = assert_identical(gt2, dets2, f"seed {seed}, shuffled")
        assert got["stats"] == base["stats"]
        assert np.array_equal(got["precision"], base["precision"])


def test_ties_within_an_image_follow_the_list_order_like_pycocotools():
    """Equal scores in one image: the earlier detection in the list ranks first (pycocotools'
    stable sort), so reversing the list can change the result; pycocotools agrees either way."""
    gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
                           "iscrowd": 0}]}
    dets = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},
            {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.5}]
    first = assert_identical(gt, dets, "true positive first")
    second = assert_identical(gt, dets[::-1], "false positive first")
    assert first["AP"] == pytest.approx(1.0, abs=1e-12) and second["AP"] == pytest.approx(0.5, abs=1e-12)


def single_image(gts, dets, crowd=()):
    anns = [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b, "area": b[2] * b[3],
             "iscrowd": int(i in crowd)} for i, b in enumerate(gts)]
    gt = {"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": anns}
    return gt, [{"image_id": 1, "category_id": 1, "bbox": b, "score": s} for b, s in dets]


@pytest.mark.parametrize("width, matched_at", [(17.0, 0.85), (18.0, 0.8999999999999999)])
def test_iou_exactly_at_085_and_090(width, matched_at):
    """IoU 170/200 == 0.85 and 180/200 == 0.9 in float64 meet the thresholds
    numpy.linspace(0.5, 0.95, 10)[7] == 0.85 and [8] == 0.8999999999999999."""
    gt, dets = single_image([[0.0, 0.0, 20.0, 10.0]], [([0.0, 0.0, width, 10.0], 0.9)])
    got = assert_identical(gt, dets, f"IoU {width / 20}")
    assert IOU_THRESHOLDS[7] == 0.85 and IOU_THRESHOLDS[8] == 0.8999999999999999
    recall = got["recall"][:, 0, 0, -1]
    assert recall.tolist() == [1.0 if t <= matched_at else 0.0 for t in IOU_THRESHOLDS]


def test_equal_iou_takes_the_later_ground_truth():
    # the first detection has IoU 2/3 with both; taking the later leaves the first for detection 2
    gt, dets = single_image([[0.0, 0.0, 10.0, 10.0], [4.0, 0.0, 10.0, 10.0]],
                            [([2.0, 0.0, 10.0, 10.0], 0.9), ([0.0, 0.0, 9.0, 10.0], 0.8)])
    got = assert_identical(gt, dets, "equal IoU")
    assert got["AP50"] == pytest.approx(1.0, abs=1e-12)  # the first gt taken by detection 1: 0.5


def test_crowd_regions():
    """A crowd region absorbs any number of detections (IoU = intersection / detection area),
    only when no regular ground truth is left for them; its category counts only regular
    ground truth; a category with crowd regions only is left out (-1)."""
    gt, dets = single_image(
        [[0.0, 0.0, 100.0, 100.0], [10.0, 10.0, 20.0, 20.0], [200.0, 200.0, 30.0, 30.0]],
        [([12.0, 12.0, 18.0, 18.0], 0.9),  # the regular box, inside the crowd region
         ([11.0, 11.0, 19.0, 19.0], 0.8),  # duplicate: goes to the crowd region, ignored
         ([50.0, 50.0, 10.0, 10.0], 0.95),  # inside the crowd region: ignored
         ([60.0, 60.0, 30.0, 30.0], 0.7),  # inside too
         ([200.0, 200.0, 30.0, 30.0], 0.1)],  # the third box, last
        crowd=(0,))
    got = assert_identical(gt, dets, "crowd")
    assert got["AP50"] == pytest.approx(1.0, abs=1e-12)
    only_crowd = copy.deepcopy(gt)
    only_crowd["categories"].append({"id": 2})
    only_crowd["annotations"].append({"id": 9, "image_id": 1, "category_id": 2, "bbox": [0, 0, 50, 50],
                                      "area": 2500, "iscrowd": 1})
    dets2 = dets + [{"image_id": 1, "category_id": 2, "bbox": [0, 0, 5, 5], "score": 0.3}]
    got2 = assert_identical(only_crowd, dets2, "a category of crowd regions only")
    assert got2["AP50_per_class"] == {1: got["AP50_per_class"][1], 2: None}
    assert (got2["precision"][:, :, 1] == -1).all()


def test_annotation_id_zero_reads_as_unmatched_like_pycocotools():
    gt, dets = random_case(6)
    for i, a in enumerate(gt["annotations"]):
        a["id"] = i  # ids from 0: pycocotools stores the gt id as the match, and 0 means none
    assert_identical(gt, dets, "annotation ids from 0")


def test_no_ground_truth_no_detections_and_unknown_categories():
    gt, dets = random_case(5)
    empty_gt = {**gt, "annotations": []}
    got = assert_identical(empty_gt, dets, "no ground truth")
    assert got["stats"] == [-1.0] * 12 and all(v is None for v in got["AP50_per_class"].values())
    nothing = evaluate(gt, [])
    assert all(v in (0.0, -1.0) for v in nothing["stats"]) and nothing["AP"] == 0.0
    assert all(v == 0.0 for k, v in nothing["AP50_per_class"].items()
               if any(a["category_id"] == k for a in gt["annotations"]))
    unknown = [{**d, "category_id": 99} for d in dets]
    assert evaluate(gt, unknown)["stats"] == nothing["stats"]


def test_cv3data_scenes():
    scenes = cv3data.make_scenes(24, seed=5, image_size=(160, 160), num_classes=3, max_objects=6)
    gt = cv3data.to_coco(scenes)
    gen = torch.Generator().manual_seed(0)
    dets = []
    for info, s in zip(gt["images"], scenes, strict=True):
        boxes = s["boxes"] + torch.randn(s["boxes"].shape, generator=gen) * 2
        for (x1, y1, x2, y2), label in zip(boxes.tolist(), s["labels"].tolist(), strict=True):
            dets.append({"image_id": info["id"], "category_id": label, "bbox": [x1, y1, x2 - x1, y2 - y1],
                         "score": round(float(torch.rand((), generator=gen)), 1)})
        dets.append({"image_id": info["id"], "category_id": 1, "bbox": [5.0, 5.0, 30.0, 30.0], "score": 0.3})
    got = assert_identical(gt, dets, "cv3data")
    assert 0.2 < got["AP"] < 1.0


def test_summary_names_and_lines():
    assert STAT_NAMES == ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
    assert STAT_DESCRIPTIONS["AP"] == "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"
    assert STAT_DESCRIPTIONS["ARs"] == "Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]"


@pytest.mark.parametrize("mutate, message", [
    (lambda gt, d: d.append({**d[0], "image_id": 123456}), "image_id 123456 is not an image of gt"),
    (lambda gt, d: d.append({**d[0], "bbox": [0, 0, float("nan"), 1]}), "holds nan or inf"),
    (lambda gt, d: d.append({**d[0], "score": float("inf")}), "is not finite"),
    (lambda gt, d: d.append({"image_id": 1}), "lacks"),
    (lambda gt, d: d.append({**d[0], "bbox": [0, 0, 1]}), r"\[x, y, w, h\]"),
    (lambda gt, d: gt["annotations"].append(dict(gt["annotations"][0])), "ids must be unique"),
    (lambda gt, d: gt.pop("categories"), "gt lacks 'categories'"),
])
def test_bad_input_is_rejected(mutate, message):
    gt, dets = random_case(2)
    mutate(gt, dets)
    with pytest.raises(ValueError, match=message):
        evaluate(gt, dets)


def test_benchmark_reports_identical_stats_and_a_speedup():
    gt, dets = benchmark_case(60, 16, seed=1)
    out = benchmark_coco(gt, dets, repeats=1)
    assert out["identical"] and out["arrays_identical"], out["mismatches"]
    assert out["detections"] == 960 and out["crowd"] > 0 and out["speedup"] > 1.0
