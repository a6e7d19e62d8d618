"""The synthetic MOT sequence generator and the MOTChallenge writer/loader in datasets/cv3data."""

from __future__ import annotations

import configparser

import numpy as np
import pytest
import torch
import torchvision

from cv3data import (MOT_SPLIT_SEEDS, frame_detections, load_mot, load_mot_sequence, make_mot_split,
                     make_sequence, write_mot, write_mot_sequence)


@pytest.fixture(scope="module")
def seq():
    return make_sequence(3, name="CV3-TEST", num_frames=60, num_objects=12)


def assert_same_sequence(a, b):
    for key in ("name", "num_frames", "frame_rate", "image_size"):
        assert a[key] == b[key], key
    for key in ("gt", "visibility", "detections", "features"):
        assert a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key], b[key]), key


def test_sequences_are_deterministic_and_leave_global_rngs_alone(seq):
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    again = make_sequence(3, name="CV3-TEST", num_frames=60, num_objects=12)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    assert_same_sequence(seq, again)
    other = make_sequence(4, name="CV3-TEST", num_frames=60, num_objects=12)
    assert not torch.equal(seq["detections"][:20], other["detections"][:20])


def test_sequence_format(seq):
    gt, vis, dets, feats = seq["gt"], seq["visibility"], seq["detections"], seq["features"]
    height, width = seq["image_size"]
    assert gt.dtype == torch.float64 and gt.dim() == 2 and gt.shape[1] == 6
    assert vis.dtype == torch.float64 and vis.shape == (gt.shape[0],)
    assert dets.dtype == torch.float64 and dets.shape[1] == 6
    assert feats.dtype == torch.float32 and feats.shape == (dets.shape[0], 16)
    assert torch.allclose(feats.norm(dim=1), torch.ones(len(feats)), atol=1e-5)
    # gt: sorted by (frame, id), 1-based frames, ids from 1, one row per id and frame
    key = gt[:, 0] * 10_000 + gt[:, 1]
    assert bool((key[1:] > key[:-1]).all())
    assert gt[:, 0].min() >= 1 and gt[:, 0].max() <= seq["num_frames"] and gt[:, 1].min() >= 1
    assert bool((gt[:, :2] == gt[:, :2].round()).all())
    for boxes in (gt[:, 2:], dets[:, 1:5]):
        assert bool((boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all())
        assert bool((boxes[:, 2] <= width + 1e-9).all() and (boxes[:, 3] <= height + 1e-9).all())
        assert bool((boxes[:, 2:] - boxes[:, :2] >= 2 - 1e-9).all())
    assert bool((vis >= 0.2).all() and (vis <= 1).all())
    assert bool((dets[1:, 0] >= dets[:-1, 0]).all()), "detections are sorted by frame"
    assert bool((dets[:, 5] > 0).all() and (dets[:, 5] < 1).all())


def test_sequence_has_the_difficulties_of_real_tracking(seq):
    gt, vis, dets = seq["gt"], seq["visibility"], seq["detections"]
    first = {}
    for f, i in gt[:, :2].long().tolist():
        first.setdefault(i, f)
    assert any(f > 1 for f in first.values()), "some objects enter after the first frame"
    assert bool((vis < 0.6).any()), "some objects are partly occluded"
    matched = hits = 0
    for f in range(1, seq["num_frames"] + 1):
        g = gt[gt[:, 0] == f][:, 2:]
        d = dets[dets[:, 0] == f][:, 1:5]
        if len(g) and len(d):
            iou = torchvision.ops.box_iou(d, g)
            hits += int((iou.max(dim=1).values >= 0.5).sum())
            matched += int((iou.max(dim=0).values >= 0.5).sum())
    assert hits < len(dets), "the detector has false positives"
    assert matched < len(gt), "the detector misses objects"
    assert matched > 0.75 * len(gt), "but finds most of them"


def test_appearance_features_identify_objects(seq):
    # detections of the same object are closer to each other than to other objects'
    gt, dets, feats = seq["gt"], seq["detections"], seq["features"]
    owner = torch.full((len(dets),), -1)
    for k, row in enumerate(dets):
        g = gt[gt[:, 0] == row[0]]
        if len(g):
            iou = torchvision.ops.box_iou(row[None, 1:5], g[:, 2:])[0]
            if iou.max() > 0.7:
                owner[k] = int(g[iou.argmax(), 1])
    keep = owner >= 0
    f, o = feats[keep], owner[keep]
    d = torch.cdist(f, f)
    same = o[:, None] == o[None, :]
    assert d[same].mean() < 0.5 * d[~same].mean()


def test_frame_detections(seq):
    dets, feats = frame_detections(seq)
    assert len(dets) == len(feats) == seq["num_frames"]
    for d, f in zip(dets, feats, strict=True):
        assert d.dtype == torch.float32 and d.dim() == 2 and d.shape[1] == 5
        assert f.shape == (d.shape[0], 16)
    rows = torch.cat([torch.cat([torch.full((len(d), 1), t + 1.0, dtype=torch.float64), d.double()], 1)
                      for t, d in enumerate(frame_detections(seq, dtype=torch.float64)[0])])
    assert torch.equal(rows, seq["detections"])


def test_write_and_load_round_trip_bit_for_bit(seq, tmp_path):
    folder = write_mot_sequence(seq, tmp_path)
    assert folder == tmp_path / "CV3-TEST"
    assert_same_sequence(load_mot_sequence(folder), seq)


def test_written_files_follow_motchallenge(seq, tmp_path):
    folder = write_mot_sequence(seq, tmp_path)
    info = configparser.ConfigParser()
    info.optionxform = str
    info.read(folder / "seqinfo.ini")
    s = info["Sequence"]
    assert s["name"] == "CV3-TEST" and s["seqLength"] == "60" and s["imWidth"] == "640" and s["imHeight"] == "480"
    assert s["frameRate"] == "30" and s["imDir"] == "img1"
    gt_lines = (folder / "gt" / "gt.txt").read_text().splitlines()
    det_lines = (folder / "det" / "det.txt").read_text().splitlines()
    assert len(gt_lines) == len(seq["gt"]) and len(det_lines) == len(seq["detections"])
    first = gt_lines[0].split(",")
    assert len(first) == 9 and first[0] == "1" and first[6:8] == ["1", "1"]  # consider, class
    left, top, w, h = map(float, first[2:6])
    assert (left, top, left + w, top + h) == tuple(seq["gt"][0, 2:].tolist())
    det = det_lines[0].split(",")
    assert len(det) == 10 and det[1] == "-1" and det[7:] == ["-1", "-1", "-1"]


def test_load_real_motchallenge_layouts(tmp_path):
    """MOT17-like ground truth (9 columns, other classes, ignored rows), a MOT15-like sequence
    (10-column gt) and a test sequence without ground truth."""
    def make(name, gt_lines, det_lines, length=3):
        folder = tmp_path / "MOT17" / "train" / name
        (folder / "det").mkdir(parents=True)
        (folder / "seqinfo.ini").write_text(
            f"[Sequence]\nname={name}\nimDir=img1\nframeRate=25\nseqLength={length}\n"
            "imWidth=1920\nimHeight=1080\nimExt=.jpg\n")
        if gt_lines is not None:
            (folder / "gt").mkdir()
            (folder / "gt" / "gt.txt").write_text("\n".join(gt_lines) + "\n")
        (folder / "det" / "det.txt").write_text("\n".join(det_lines) + "\n")
        return folder

    make("MOT17-02-FRCNN", [
        "2,1,10,20,30,40,1,1,0.8",
        "1,1,10,20,30,40,1,1,1.0",
        "1,2,100,100,50,80,0,1,0.5",  # not considered
        "1,3,200,100,50,80,1,7,1.0",  # class 7 (static person): not a pedestrian
        "1,4,300,100,50,80,1,1,0.1",  # low visibility
    ], ["1,-1,11,21,30,40,0.9,-1,-1,-1", "2,-1,12,22,30,40,0.8,-1,-1,-1"])
    make("ADL-Rundle-6", ["1,1,5,5,10,10,1,-1,-1,-1", "1,2,50,5,10,10,1,-1,-1,-1"],
         ["1,-1,5,5,10,10,0.7"])
    make("MOT17-01-FRCNN", None, ["1,-1,5,5,10,10,0.7,-1,-1,-1"])

    seqs = load_mot(tmp_path / "MOT17" / "train")
    assert [s["name"] for s in seqs] == ["ADL-Rundle-6", "MOT17-01-FRCNN", "MOT17-02-FRCNN"]
    mot15, test, mot17 = seqs
    assert mot17["image_size"] == (1080, 1920) and mot17["frame_rate"] == 25 and mot17["num_frames"] == 3
    assert mot17["gt"].tolist() == [[1, 1, 10, 20, 40, 60], [1, 4, 300, 100, 350, 180], [2, 1, 10, 20, 40, 60]]
    assert mot17["visibility"].tolist() == [1.0, 0.1, 0.8]
    assert mot17["detections"].tolist() == [[1, 11, 21, 41, 61, 0.9], [2, 12, 22, 42, 62, 0.8]]
    assert mot17["features"] is None
    strict = load_mot_sequence(tmp_path / "MOT17" / "train" / "MOT17-02-FRCNN", min_visibility=0.25)
    assert strict["gt"][:, 1].tolist() == [1, 1]
    everything = load_mot_sequence(tmp_path / "MOT17" / "train" / "MOT17-02-FRCNN", classes=None,
                                   only_considered=False)
    assert sorted(everything["gt"][:, 1].long().tolist()) == [1, 1, 2, 3, 4]
    assert mot15["gt"].tolist() == [[1, 1, 5, 5, 15, 15], [1, 2, 50, 5, 60, 15]]
    assert mot15["visibility"].tolist() == [1.0, 1.0]
    assert test["gt"].shape == (0, 6) and test["detections"].shape == (1, 6)
    assert load_mot(tmp_path / "MOT17" / "train" / "ADL-Rundle-6")[0]["name"] == "ADL-Rundle-6"


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="seqinfo.ini"):
        load_mot_sequence(tmp_path)
    with pytest.raises(FileNotFoundError, match="no MOTChallenge sequence"):
        load_mot(tmp_path)


def test_splits(tmp_path):
    assert set(MOT_SPLIT_SEEDS) == {"train", "val"}
    train = make_mot_split("train", num_sequences=2, num_frames=20)
    assert [s["name"] for s in train] == ["CV3TRAIN-01", "CV3TRAIN-02"]
    assert not torch.equal(train[0]["gt"][:5], train[1]["gt"][:5])
    val = make_mot_split("val", num_sequences=1, num_frames=20)
    assert not torch.equal(val[0]["detections"][:5], train[0]["detections"][:5])
    assert_same_sequence(make_mot_split("train", num_sequences=2, num_frames=20)[1], train[1])
    with pytest.raises(ValueError, match="seed"):
        make_mot_split("hidden", num_sequences=1)
    held_out = make_mot_split("hidden", seed=2**62 + 12345, num_sequences=1, num_frames=20)
    assert held_out[0]["name"] == "CV3HIDDEN-01"
    root = write_mot(train, tmp_path / "CV3" / "train")
    loaded = load_mot(root)
    for a, b in zip(loaded, train, strict=True):
        assert_same_sequence(a, b)


def test_generator_arguments_are_checked():
    with pytest.raises(ValueError):
        make_sequence(0, num_frames=0)
    with pytest.raises(ValueError):
        make_sequence(0, min_visibility=1.5)


def test_cli_writes_a_split(tmp_path, capsys):
    from cv3data.mot import main

    assert main(["--out", str(tmp_path), "--split", "val", "--num-sequences", "1", "--num-frames", "10"]) == 0
    assert (tmp_path / "CV3VAL-01" / "gt" / "gt.txt").is_file()
    assert "CV3VAL-01" in capsys.readouterr().out
