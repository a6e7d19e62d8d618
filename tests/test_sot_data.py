"""cv3data.sot: the synthetic single-object sequences (deterministic, exact boxes) and the OTB
folder layout (written by write_otb, read back by load_otb, also with OTB-100's separators)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from cv3data.sot import load_otb, make_sot_sequence, make_sot_split, write_otb, xywh_to_xyxy, xyxy_to_xywh


def test_sequences_are_deterministic_and_well_formed():
    a, b = make_sot_sequence(3, num_frames=10), make_sot_sequence(3, num_frames=10)
    assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["boxes"], b["boxes"])
    assert a["frames"].dtype == torch.uint8 and tuple(a["frames"].shape) == (10, 3, 96, 96)
    assert a["boxes"].dtype == torch.float64 and tuple(a["boxes"].shape) == (10, 4)
    boxes = a["boxes"]
    assert bool((boxes[:, 2] > boxes[:, 0]).all() & (boxes[:, 3] > boxes[:, 1]).all())
    assert bool((boxes[:, :2] >= 0).all() & (boxes[:, 2] <= 96).all() & (boxes[:, 3] <= 96).all())
    assert not torch.equal(make_sot_sequence(4, num_frames=10)["frames"], a["frames"])


@pytest.mark.parametrize("box", [(3.2, 4.7, 17.5, 9.49), (0.5, 0.5, 1.5, 1.5), (-3.0, 10.1, 5.6, 30.0),
                                 (20.0, 20.0, 40.0, 40.0)])
def test_boxes_are_exact(box):
    """The renderer paints exactly the pixels whose centre lies in [x1, x2) x [y1, y2)."""
    from cv3data.sot import _paint

    img = np.zeros((32, 40, 3))
    _paint(img, box, np.ones((4, 4, 3)))
    rows, cols = np.mgrid[0:32, 0:40] + 0.5
    x1, y1, x2, y2 = box
    inside = (cols >= x1) & (cols < x2) & (rows >= y1) & (rows < y2)
    assert np.array_equal(img[..., 0] == 1.0, inside)


def test_occlusion_and_split():
    seq = make_sot_sequence(7, num_frames=48)
    assert float(seq["occluded"].max()) > 0.05, "the occluder should cover part of the target"
    assert float(seq["occluded"].max()) < 1.0
    split = make_sot_split(5, num_sequences=3, num_frames=4)
    assert [s["name"] for s in split] == ["sot_000", "sot_001", "sot_002"]
    assert not torch.equal(split[0]["frames"], split[1]["frames"])
    big = make_sot_split(2 ** 127 + 12345, num_sequences=1, num_frames=3)  # 128-bit held-out seeds work
    assert big[0]["frames"].shape[0] == 3


@pytest.mark.parametrize("kwargs, match", [({"num_frames": 1}, "num_frames"), ({"image_size": (32, 96)}, "image_size"),
                                           ({"num_distractors": -1}, "num_distractors"), ({"speed": 0.0}, "speed")])
def test_generator_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_sot_sequence(0, **kwargs)


def test_box_conversions_round_trip():
    b = torch.tensor([[1.5, 2.0, 10.25, 7.0]], dtype=torch.float64)
    assert xyxy_to_xywh(b).tolist() == [[1.5, 2.0, 8.75, 5.0]]
    assert torch.equal(xywh_to_xyxy(xyxy_to_xywh(b)), b)


def test_otb_round_trip_png(tmp_path):
    seq = make_sot_sequence(21, num_frames=5)
    folder = write_otb(seq, tmp_path)
    assert sorted(p.name for p in (folder / "img").iterdir()) == [f"{i:04d}.png" for i in range(1, 6)]
    lines = (folder / "groundtruth_rect.txt").read_text().splitlines()
    assert len(lines) == 5 and len(lines[0].split(",")) == 4
    back = load_otb(folder)
    assert back["name"] == seq["name"]
    assert torch.equal(back["frames"], seq["frames"])
    assert torch.allclose(back["boxes"], seq["boxes"], atol=1e-12, rtol=0)


def test_otb_round_trip_jpg(tmp_path):
    seq = make_sot_sequence(22, num_frames=3)
    back = load_otb(write_otb(seq, tmp_path, ext="jpg"))
    diff = (back["frames"].float() - seq["frames"].float()).abs().mean()
    assert float(diff) < 12.0 and torch.allclose(back["boxes"], seq["boxes"], atol=1e-12)
    with pytest.raises(ValueError, match="ext"):
        write_otb(seq, tmp_path, ext="bmp")


@pytest.mark.parametrize("sep", [",", "\t", " "])
def test_load_otb_reads_otb100_separators_and_grey_frames(tmp_path, sep):
    folder = tmp_path / "Walker"
    (folder / "img").mkdir(parents=True)
    for i in range(1, 3):
        Image.fromarray(np.full((20, 30), 40 * i, dtype=np.uint8)).save(folder / "img" / f"{i:04d}.jpg")
    (folder / "groundtruth_rect.txt").write_text(f"1{sep}2{sep}10{sep}5\n3{sep}4{sep}10{sep}6\n\n")
    seq = load_otb(folder)
    assert seq["name"] == "Walker" and tuple(seq["frames"].shape) == (2, 3, 20, 30)
    assert seq["boxes"].tolist() == [[1.0, 2.0, 11.0, 7.0], [3.0, 4.0, 13.0, 10.0]]


def test_load_otb_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="groundtruth_rect"):
        load_otb(tmp_path)
    (tmp_path / "groundtruth_rect.txt").write_text("1,2,3,4\n")
    with pytest.raises(FileNotFoundError, match="img"):
        load_otb(tmp_path)
    (tmp_path / "img").mkdir()
    with pytest.raises(ValueError, match="0 frames"):
        load_otb(tmp_path)
    (tmp_path / "groundtruth_rect.txt").write_text("1,2,3\n")
    with pytest.raises(ValueError, match="4 numbers"):
        load_otb(tmp_path)
