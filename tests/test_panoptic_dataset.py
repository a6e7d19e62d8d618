"""cv3data.panoptic: the synthetic panoptic scenes are deterministic and consistent, and the COCO
panoptic writer and loader round-trip them (RGB id encoding, segments_info, categories)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cv3data.panoptic import (PANOPTIC_CATEGORIES, STUFF_IDS, THING_IDS, id_to_rgb, instance_targets,
                              load_coco_panoptic, make_panoptic_scenes, panoptic_pairs, rgb_to_id,
                              to_coco_panoptic, write_coco_panoptic)


@pytest.fixture(scope="module")
def scenes():
    return make_panoptic_scenes(12, seed=3)


def test_scenes_are_deterministic(scenes):
    again = make_panoptic_scenes(12, seed=3)
    other = make_panoptic_scenes(12, seed=4)
    for a, b in zip(scenes, again):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["segment_ids"], b["segment_ids"])
        assert a["segments"] == b["segments"]
    assert not all(torch.equal(a["segment_ids"], b["segment_ids"]) for a, b in zip(scenes, other))


def test_segments_match_the_id_map(scenes):
    for s in scenes:
        ids = s["segment_ids"]
        assert s["image"].dtype == torch.uint8 and s["image"].shape == (3, 64, 64)
        listed = {seg["id"] for seg in s["segments"]}
        assert set(torch.unique(ids).tolist()) - {0} == listed, "every non-void id has a segment and vice versa"
        for seg in s["segments"]:
            m = ids == seg["id"]
            assert int(m.sum()) == seg["area"] > 0
            ys, xs = torch.nonzero(m, as_tuple=True)
            x, y = int(xs.min()), int(ys.min())
            assert seg["bbox"] == [x, y, int(xs.max()) - x + 1, int(ys.max()) - y + 1]
            assert seg["iscrowd"] == 0 and seg["category_id"] in THING_IDS + STUFF_IDS
            if seg["category_id"] in THING_IDS:
                assert seg["area"] >= 12


def test_scenes_have_things_stuff_and_void():
    many = make_panoptic_scenes(40, seed=5)
    cats = {seg["category_id"] for s in many for seg in s["segments"]}
    assert cats == set(THING_IDS) | set(STUFF_IDS)
    assert any(bool((s["segment_ids"] == 0).any()) for s in many)
    assert make_panoptic_scenes(0, seed=1) == []


def test_generator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        make_panoptic_scenes(1, seed=0, image_size=(8, 64))
    with pytest.raises(ValueError, match=">= 0"):
        make_panoptic_scenes(-1, seed=0)


def test_rgb_id_encoding_round_trips():
    ids = torch.tensor([[0, 1, 255], [256, 65536, 256 ** 3 - 1]])
    rgb = id_to_rgb(ids)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    assert rgb[1, 0].tolist() == [0, 1, 0] and rgb[1, 1].tolist() == [0, 0, 1]
    assert torch.equal(rgb_to_id(rgb), ids)
    with pytest.raises(ValueError, match="2\\^24"):
        id_to_rgb(torch.tensor([256 ** 3]))
    with pytest.raises(ValueError, match="shape"):
        rgb_to_id(np.zeros((2, 2), dtype=np.uint8))


def test_write_and_load_round_trip(tmp_path, scenes):
    path = write_coco_panoptic(tmp_path / "pan", scenes)
    data = json.loads(path.read_text())
    assert data["categories"] == PANOPTIC_CATEGORIES and len(data["annotations"]) == len(scenes)
    assert data == to_coco_panoptic(scenes)
    loaded = load_coco_panoptic(path, image_dir=tmp_path / "pan" / "images")
    for s, item in zip(scenes, loaded):
        assert torch.equal(item["segment_ids"], s["segment_ids"])
        assert torch.equal(item["image"], s["image"])
        assert [{k: v for k, v in seg.items() if k != "isthing"} for seg in item["segments"]] == s["segments"]
        assert all(seg["isthing"] == (seg["category_id"] in THING_IDS) for seg in item["segments"])


def test_loader_reads_a_coco_style_layout(tmp_path, scenes):
    """COCO's layout: panoptic_val2017.json next to panoptic_val2017/ and .jpg image names."""
    from PIL import Image

    write_coco_panoptic(tmp_path / "w", scenes[:2])
    data = json.loads((tmp_path / "w" / "panoptic.json").read_text())
    (tmp_path / "panoptic_val2017").mkdir()
    (tmp_path / "val2017").mkdir()
    for img, ann in zip(data["images"], data["annotations"]):
        (tmp_path / "w" / "panoptic" / ann["file_name"]).rename(tmp_path / "panoptic_val2017" / ann["file_name"])
        jpg = img["file_name"].replace(".png", ".jpg")
        Image.open(tmp_path / "w" / "images" / img["file_name"]).save(tmp_path / "val2017" / jpg, quality=95)
        img["file_name"] = jpg
    (tmp_path / "panoptic_val2017.json").write_text(json.dumps(data))
    loaded = load_coco_panoptic(tmp_path / "panoptic_val2017.json", image_dir=tmp_path / "val2017")
    assert torch.equal(loaded[1]["segment_ids"], scenes[1]["segment_ids"])
    assert loaded[1]["image"].shape == (3, 64, 64) and loaded[1]["file_name"].endswith(".jpg")


def test_loader_refuses_inconsistent_files(tmp_path, scenes):
    path = write_coco_panoptic(tmp_path, scenes[:1])
    data = json.loads(path.read_text())
    data["annotations"][0]["segments_info"].append({"id": 12345, "category_id": 1, "area": 1, "bbox": [0, 0, 1, 1],
                                                    "iscrowd": 0})
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="12345"):
        load_coco_panoptic(path)
    data["annotations"][0]["segments_info"].pop()
    data["images"][0]["height"] = 10
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="size"):
        load_coco_panoptic(path)


def test_pairs_and_instance_targets(scenes):
    s = scenes[0]
    pairs, crowd = panoptic_pairs(s["segment_ids"], s["segments"])
    assert pairs.shape == (64, 64, 2) and not bool(crowd.any())
    void = s["segment_ids"] == 0
    assert bool((pairs[..., 0][void] == 0).all())
    for seg in s["segments"]:
        m = s["segment_ids"] == seg["id"]
        assert bool((pairs[..., 0][m] == seg["category_id"]).all())
        expected_inst = seg["id"] if seg["category_id"] in THING_IDS else 0
        assert bool((pairs[..., 1][m] == expected_inst).all())
    crowded = [dict(seg, iscrowd=1) if seg["category_id"] in THING_IDS else seg for seg in s["segments"]]
    _, crowd = panoptic_pairs(s["segment_ids"], crowded)
    assert bool(crowd.any())
    t = instance_targets(s["segment_ids"], s["segments"])
    things = [seg for seg in s["segments"] if seg["category_id"] in THING_IDS]
    assert t["masks"].shape == (len(things), 64, 64) and t["labels"].tolist() == [seg["category_id"] for seg in things]
    for box, seg in zip(t["boxes"].tolist(), things):
        x, y, w, h = seg["bbox"]
        assert box == [x, y, x + w, y + h]
    assert set(torch.unique(t["semantic"]).tolist()) <= {0, *STUFF_IDS}
    empty = instance_targets(torch.zeros(4, 4, dtype=torch.int64), [])
    assert empty["masks"].shape == (0, 4, 4) and empty["boxes"].shape == (0, 4)
