"""The synthetic segmentation scenes (datasets/cv3data/segscenes.py): determinism, format, VOC
palette PNGs written and read back, and a loader that refuses what it cannot read."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from cv3data.segscenes import (
    SEG_CLASSES,
    SEG_SPLIT_SEEDS,
    VOID,
    load_voc,
    make_seg_scenes,
    segmentation_split,
    voc_palette,
    write_voc,
)


def test_scenes_are_deterministic_and_leave_global_rngs_alone():
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    a = make_seg_scenes(5, seed=7)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    b = make_seg_scenes(5, seed=7)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x["image"], y["image"]) and torch.equal(x["mask"], y["mask"])
    c = make_seg_scenes(5, seed=8)
    assert not all(torch.equal(x["mask"], y["mask"]) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("size", [(48, 48), (32, 64)])
def test_scene_format(size):
    scenes = make_seg_scenes(12, seed=1, image_size=size)
    h, w = size
    seen = set()
    for s in scenes:
        assert s["image"].dtype == torch.uint8 and tuple(s["image"].shape) == (3, h, w)
        assert s["mask"].dtype == torch.int64 and tuple(s["mask"].shape) == (h, w)
        values = set(s["mask"].unique().tolist())
        assert values <= set(range(len(SEG_CLASSES))) | {VOID}
        seen |= values
    assert seen == set(range(len(SEG_CLASSES))) | {VOID}, "every class and void appear"


def test_void_is_exactly_the_boundary_band():
    s = make_seg_scenes(3, seed=2)
    clean = make_seg_scenes(3, seed=2, void=False)
    for a, b in zip(s, clean, strict=True):
        lab = b["mask"]
        assert int((lab == VOID).sum()) == 0
        band = torch.zeros_like(lab, dtype=torch.bool)
        dv = lab[1:] != lab[:-1]
        dh = lab[:, 1:] != lab[:, :-1]
        band[1:] |= dv
        band[:-1] |= dv
        band[:, 1:] |= dh
        band[:, :-1] |= dh
        assert torch.equal(a["mask"] == VOID, band)
        assert torch.equal(a["mask"][~band], lab[~band])
        assert torch.equal(a["image"], b["image"])


def test_public_splits_and_bad_arguments():
    assert SEG_SPLIT_SEEDS["train"] != SEG_SPLIT_SEEDS["val"]
    assert len(segmentation_split("val", n=3)) == 3
    with pytest.raises(ValueError, match="split"):
        segmentation_split("test")
    with pytest.raises(ValueError, match="image_size"):
        make_seg_scenes(1, seed=0, image_size=(8, 8))
    with pytest.raises(ValueError, match="n must"):
        make_seg_scenes(-1, seed=0)
    assert make_seg_scenes(0, seed=0) == []


def test_voc_palette():
    pal = voc_palette()
    assert len(pal) == 768
    assert pal[0:3] == [0, 0, 0] and pal[3:6] == [128, 0, 0] and pal[6:9] == [0, 128, 0]
    assert pal[9:12] == [128, 128, 0] and pal[255 * 3:] == [224, 224, 192]


def test_write_and_load_voc_roundtrip(tmp_path):
    scenes = make_seg_scenes(4, seed=5)
    root = write_voc(scenes, tmp_path / "voc", split="val")
    listing = (root / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    assert listing == ["000000", "000001", "000002", "000003"]
    with Image.open(root / "SegmentationClass" / "000001.png") as m:
        assert m.mode == "P"
        assert m.getpalette()[:12] == [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]
        assert np.array_equal(np.asarray(m), scenes[1]["mask"].numpy().astype(np.uint8))
    loaded = load_voc(root, "val")
    assert [x["id"] for x in loaded] == listing
    for a, b in zip(scenes, loaded, strict=True):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])


def test_load_voc_reads_jpg_images_and_refuses_bad_masks(tmp_path):
    scenes = make_seg_scenes(2, seed=6)
    root = write_voc(scenes, tmp_path / "voc")
    # a real VOC tree has JPEG images
    png = root / "JPEGImages" / "000000.png"
    Image.open(png).save(root / "JPEGImages" / "000000.jpg", quality=100)
    png.unlink()
    loaded = load_voc(root)
    assert loaded[0]["image"].shape == (3, 48, 48)
    assert (loaded[0]["image"].int() - scenes[0]["image"].int()).abs().float().mean() < 20
    Image.fromarray(np.zeros((48, 48, 3), dtype=np.uint8)).save(root / "SegmentationClass" / "000001.png")
    with pytest.raises(ValueError, match="mode"):
        load_voc(root)
    Image.fromarray(np.zeros((40, 48), dtype=np.uint8)).save(root / "SegmentationClass" / "000001.png")
    with pytest.raises(ValueError, match="size"):
        load_voc(root)
    (root / "SegmentationClass" / "000001.png").unlink()
    with pytest.raises(FileNotFoundError, match="000001"):
        load_voc(root)
    with pytest.raises(FileNotFoundError, match="split list"):
        load_voc(root, "nope")
