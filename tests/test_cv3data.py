"""The synthetic scene generator and the COCO writer/loader in datasets/cv3data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cv3data import load_coco, make_scenes, to_coco, write_coco

DATASETS = str(Path(__file__).resolve().parents[1] / "datasets")


def assert_same_scenes(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for key in ("image", "boxes", "labels"):
            assert torch.equal(x[key], y[key]), key


def test_scenes_are_deterministic_and_leave_global_rngs_alone():
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = make_scenes(6, seed=3)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    assert_same_scenes(first, make_scenes(6, seed=3))
    other = make_scenes(6, seed=4)
    assert not all(torch.equal(x["image"], y["image"]) for x, y in zip(first, other, strict=True))


@pytest.mark.parametrize("image_size, num_classes", [((128, 128), 3), ((64, 96), 6)])
def test_scene_format(image_size, num_classes):
    height, width = image_size
    scenes = make_scenes(20, seed=0, image_size=image_size, num_classes=num_classes, max_objects=5)
    labels = torch.cat([s["labels"] for s in scenes])
    assert set(labels.tolist()) <= set(range(1, num_classes + 1))
    for s in scenes:
        image, boxes = s["image"], s["boxes"]
        assert image.dtype == torch.uint8 and image.shape == (3, height, width)
        assert boxes.dtype == torch.float32 and boxes.dim() == 2 and boxes.shape[1] == 4
        assert s["labels"].dtype == torch.int64 and s["labels"].shape == (boxes.shape[0],)
        assert 1 <= boxes.shape[0] <= 5
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
        assert ((boxes[:, 2:] - boxes[:, :2]) >= 4).all()  # no degenerate boxes
        assert image.float().std() > 10  # something was drawn


def test_scenes_are_fast():
    start = time.perf_counter()
    make_scenes(100, seed=1)
    assert time.perf_counter() - start < 2.0


def test_scene_arguments_are_checked():
    with pytest.raises(ValueError, match="num_images"):
        make_scenes(-1, seed=0)
    with pytest.raises(ValueError, match="num_classes"):
        make_scenes(2, seed=0, num_classes=7)
    with pytest.raises(ValueError, match="image_size"):
        make_scenes(2, seed=0, image_size=(8, 8))
    assert make_scenes(0, seed=0) == []


def test_to_coco_is_a_valid_instances_dict():
    from pycocotools.coco import COCO

    scenes = make_scenes(5, seed=2)
    coco = to_coco(scenes, category_names=["a", "b", "c", "d"])
    assert [c["id"] for c in coco["categories"]] == [1, 2, 3, 4]
    assert [img["id"] for img in coco["images"]] == [1, 2, 3, 4, 5]
    anns = coco["annotations"]
    assert len(anns) == sum(len(s["labels"]) for s in scenes)
    assert len({a["id"] for a in anns}) == len(anns)
    first = scenes[0]["boxes"][0].tolist()
    x, y, w, h = anns[0]["bbox"]
    assert [x, y, x + w, y + h] == first and anns[0]["area"] == w * h and anns[0]["iscrowd"] == 0
    api = COCO()
    api.dataset = coco
    api.createIndex()
    assert sorted(api.getImgIds()) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="label"):
        to_coco(scenes, category_names=["only-one"])


def test_write_then_load_round_trip(tmp_path):
    scenes = make_scenes(4, seed=5)
    path = write_coco(tmp_path / "coco", scenes)
    assert path == tmp_path / "coco" / "annotations.json"
    targets = load_coco(path, image_dir=path.parent)
    assert [t["image_id"] for t in targets] == [1, 2, 3, 4]
    for s, t in zip(scenes, targets, strict=True):
        assert torch.equal(t["image"], s["image"])  # PNG is lossless
        assert torch.equal(t["boxes"], s["boxes"]) and torch.equal(t["labels"], s["labels"])
    assert "image" not in load_coco(path)[0]


def test_load_coco_on_a_real_format_file(tmp_path):
    coco = {
        "images": [
            {"id": 139, "file_name": "000000000139.jpg", "height": 426, "width": 640},
            {"id": 285, "file_name": "000000000285.jpg", "height": 640, "width": 586},
        ],
        "annotations": [
            {"id": 1, "image_id": 139, "category_id": 64, "bbox": [236.98, 142.51, 24.7, 69.5], "iscrowd": 0},
            {"id": 2, "image_id": 139, "category_id": 1, "bbox": [10.0, 20.0, 0.0, 5.0], "iscrowd": 0},
            {"id": 3, "image_id": 139, "category_id": 1, "bbox": [0.0, 0.0, 50.0, 50.0], "iscrowd": 1},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 64, "name": "potted plant"}],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    targets = load_coco(path)
    assert [t["file_name"] for t in targets] == ["000000000139.jpg", "000000000285.jpg"]
    expected = torch.tensor([[236.98, 142.51, 236.98 + 24.7, 142.51 + 69.5]], dtype=torch.float32)
    assert torch.equal(targets[0]["boxes"], expected)  # crowd and zero-width boxes dropped
    assert targets[0]["labels"].tolist() == [64]  # sparse COCO ids kept
    assert targets[1]["boxes"].shape == (0, 4) and targets[1]["labels"].dtype == torch.int64
    assert len(load_coco(path, include_crowd=True)[0]["labels"]) == 2


def test_command_line_writes_a_coco_folder_without_the_harness(tmp_path):
    env = dict(os.environ, PYTHONPATH=DATASETS)
    out = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "cv3data", "--out", str(out), "--num-images", "3", "--seed", "7"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "000000.png",
        "000001.png",
        "000002.png",
        "annotations.json",
    ]
    assert_same_scenes(load_coco(out / "annotations.json", out), make_scenes(3, seed=7))
    probe = (
        "import sys, cv3data; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('harness', 'detection')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
