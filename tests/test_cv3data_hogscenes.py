"""cv3data.hogscenes: deterministic grayscale scenes of upright figures for HOG detectors."""

import numpy as np
import pytest
import torch

from cv3data.hogscenes import HOG_IMAGE_SIZE, figure_mask, hog_scene_split, make_hog_scenes


def test_scenes_are_deterministic_and_well_formed():
    a = make_hog_scenes(6, seed=3)
    b = make_hog_scenes(6, seed=3)
    c = make_hog_scenes(6, seed=4)
    assert len(a) == 6
    for sa, sb in zip(a, b):
        assert torch.equal(sa["image"], sb["image"]) and torch.equal(sa["boxes"], sb["boxes"])
    assert not all(torch.equal(sa["image"], sc["image"]) for sa, sc in zip(a, c)), "another seed, other scenes"
    for s in a:
        img, boxes, labels = s["image"], s["boxes"], s["labels"]
        assert img.dtype == torch.float32 and tuple(img.shape) == HOG_IMAGE_SIZE
        assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
        assert boxes.dtype == torch.float32 and boxes.dim() == 2 and boxes.shape[1] == 4
        assert labels.dtype == torch.int64 and labels.shape == (boxes.shape[0],) and bool((labels == 1).all())
        assert boxes.shape[0] <= 3


def test_boxes_are_tight_upright_and_apart():
    scenes = make_hog_scenes(20, seed=1, min_objects=2)
    h, w = HOG_IMAGE_SIZE
    count = 0
    for s in scenes:
        b = s["boxes"]
        count += b.shape[0]
        assert bool((b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all())
        heights, widths = b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]
        assert bool((heights >= 30).all() and (heights <= 62).all()), "figure heights in [30, 62]"
        assert bool((widths < heights * 0.6).all() and (widths > heights * 0.3).all()), "about twice as tall as wide"
        for i in range(b.shape[0]):  # boxes at least 2 pixels apart
            for j in range(i + 1, b.shape[0]):
                apart = (b[i, 2] + 2 <= b[j, 0] or b[j, 2] + 2 <= b[i, 0] or b[i, 3] + 2 <= b[j, 1]
                         or b[j, 3] + 2 <= b[i, 1])
                assert apart, "figures do not overlap"
    assert count >= 40, "min_objects=2 places at least two figures in most scenes"


def test_figure_mask_touches_its_box():
    rng = np.random.default_rng(0)
    for h in (30, 45, 62):
        m = figure_mask(h, rng)
        assert m.shape[0] == h and m[0].any() and m[-1].any() and m[:, 0].any() and m[:, -1].any(), \
            "the mask's tight box is its whole array"
    with pytest.raises(ValueError, match="height"):
        figure_mask(4, rng)


def test_figures_differ_from_their_surroundings():
    s = make_hog_scenes(1, seed=5, min_objects=1, clutter=(0, 0))[0]
    x1, y1, x2, y2 = (int(v) for v in s["boxes"][0].tolist())
    inside = s["image"][y1:y2, x1:x2]
    around = s["image"][max(0, y1 - 3):y2 + 3, max(0, x1 - 3):x2 + 3]
    assert float(inside.std()) > 0.05 and float(around.std()) > 0.05, "a visible figure"


def test_splits_and_bad_arguments():
    seed, opts = hog_scene_split("train")
    assert opts["num_images"] == 160 and opts["min_objects"] == 1
    assert hog_scene_split("val")[0] != seed
    with pytest.raises(ValueError, match="unknown split"):
        hog_scene_split("test")
    with pytest.raises(ValueError, match="num_images"):
        make_hog_scenes(-1, seed=0)
    with pytest.raises(ValueError, match="min_objects"):
        make_hog_scenes(1, seed=0, min_objects=3, max_objects=2)
    with pytest.raises(ValueError, match="heights"):
        make_hog_scenes(1, seed=0, heights=(30, 200))
    assert make_hog_scenes(0, seed=0) == []
