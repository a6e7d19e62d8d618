"""cv3data.faces: the lfw_subset split and the synthetic face scenes of the classical checks."""

import pytest
import torch

from cv3data.faces import NUM_PER_CLASS, TRAIN_PER_CLASS, lfw_images, lfw_split, make_face_scenes


def test_lfw_subset_is_100_faces_then_100_non_faces():
    from skimage.data import lfw_subset

    raw = lfw_subset()
    assert raw.shape == (200, 25, 25)
    faces, nonfaces = lfw_images()
    assert faces.shape == nonfaces.shape == (NUM_PER_CLASS, 25, 25) and faces.dtype == torch.float32
    assert torch.equal(faces, torch.tensor(raw[:100], dtype=torch.float32))
    # the faces are alike (aligned crops): closer to the mean face than the non-faces are
    mean_face = faces.double().mean(0)
    d_faces = ((faces.double() - mean_face) ** 2).mean((1, 2))
    d_non = ((nonfaces.double() - mean_face) ** 2).mean((1, 2))
    assert float(d_faces.median()) < 0.5 * float(d_non.median())


def test_split_is_fixed_disjoint_and_complete():
    s = lfw_split()
    t, h = TRAIN_PER_CLASS, NUM_PER_CLASS - TRAIN_PER_CLASS
    assert s["train_faces"].shape == (t, 25, 25) and s["heldout_faces"].shape == (h, 25, 25)
    assert s["train_nonfaces"].shape == (t, 25, 25) and s["heldout_nonfaces"].shape == (h, 25, 25)
    faces, nonfaces = lfw_images()
    for part, full in (("faces", faces), ("nonfaces", nonfaces)):
        both = torch.cat([s["train_" + part], s["heldout_" + part]]).reshape(NUM_PER_CLASS, -1)
        rows = {tuple(r.tolist()) for r in both}
        assert rows == {tuple(r.tolist()) for r in full.reshape(NUM_PER_CLASS, -1)}
        assert len(rows) == NUM_PER_CLASS  # no image in both parts
    again = lfw_split()
    assert all(torch.equal(again[k], s[k]) for k in s)


def test_scenes_boxes_inside_disjoint_and_deterministic():
    s = lfw_split()
    scenes = make_face_scenes(s["heldout_faces"], s["heldout_nonfaces"], 12, seed=3)
    assert len(scenes) == 12
    counts = []
    for image, boxes in scenes:
        assert image.shape == (96, 128) and image.dtype == torch.float32
        assert float(image.min()) >= 0 and float(image.max()) <= 1
        assert boxes.dtype == torch.float32 and boxes.dim() == 2 and boxes.shape[1] == 4
        assert 1 <= boxes.shape[0] <= 3
        side = boxes[:, 2] - boxes[:, 0]
        assert torch.equal(side, boxes[:, 3] - boxes[:, 1])
        assert bool(((side >= 24) & (side <= 48)).all())
        assert bool((boxes[:, :2] >= 0).all()) and bool((boxes[:, 2] <= 128).all()) and bool((boxes[:, 3] <= 96).all())
        for i in range(boxes.shape[0]):
            for j in range(i + 1, boxes.shape[0]):
                a, b = boxes[i].tolist(), boxes[j].tolist()
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        counts.append(boxes.shape[0])
    assert len(set(counts)) > 1
    again = make_face_scenes(s["heldout_faces"], s["heldout_nonfaces"], 12, seed=3)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(scenes, again))
    other = make_face_scenes(s["heldout_faces"], s["heldout_nonfaces"], 12, seed=4)
    assert not torch.equal(other[0][0], scenes[0][0])


def test_pasted_face_is_the_resized_face():
    s = lfw_split()
    (image, boxes), = make_face_scenes(s["heldout_faces"][:1], s["heldout_nonfaces"], 1, seed=0, max_faces=1,
                                       min_side=25, max_side=25)
    x, y = int(boxes[0, 0]), int(boxes[0, 1])
    patch = image[y:y + 25, x:x + 25]
    assert float((patch - s["heldout_faces"][0]).abs().max()) < 0.06  # noise std 0.01, clipped


def test_bad_scene_arguments():
    s = lfw_split()
    with pytest.raises(ValueError):
        make_face_scenes(s["heldout_faces"], s["heldout_nonfaces"], 1, seed=0, min_side=50, max_side=40)
    with pytest.raises(ValueError):
        make_face_scenes(s["heldout_faces"], s["heldout_nonfaces"], 1, seed=0, max_side=100)
