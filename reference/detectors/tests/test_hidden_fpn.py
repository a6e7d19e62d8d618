"""Hidden tests of FeaturePyramidNetwork, assign_fpn_levels and multiscale_roi_align [fpn].

Oracles: torchvision.ops.FeaturePyramidNetwork with the same (perturbed) weights copied into
the student's module, torchvision's LevelMapper and MultiScaleRoIAlign.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision.ops.poolers import LevelMapper

from harness.testkit import assert_tensor, devices

_spec = importlib.util.spec_from_file_location("cv3_detectors_oracles", Path(__file__).with_name("_oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracles)

FPN_CASES = {
    "2 levels": ([4, 8], [(8, 8), (4, 4)], 1),
    "3 levels, odd sizes": ([3, 6, 12], [(13, 17), (7, 9), (4, 5)], 2),
    "4 levels": ([2, 4, 8, 16], [(16, 12), (8, 6), (4, 3), (2, 2)], 1),
    "1 level": ([5], [(6, 7)], 2),
}


def fpn_pair(in_channels, out_channels, seed):
    ref = oracles.perturbed(torchvision.ops.FeaturePyramidNetwork(in_channels, out_channels), seed)
    return ref, oracles.state_dict(ref)


@pytest.mark.task("fpn")
@pytest.mark.parametrize("case", list(FPN_CASES))
def test_fpn_matches_torchvision(student, case):
    in_channels, sizes, n = FPN_CASES[case]
    ref, sd = fpn_pair(in_channels, 6, seed=len(in_channels))
    x = {f"c{i}": oracles.randn(n, c, h, w, seed=10 + i) for i, (c, (h, w)) in enumerate(zip(in_channels, sizes))}
    expected = ref(x)
    fpn = student.FeaturePyramidNetwork(in_channels, 6)
    fpn.load_weights(sd)
    got = fpn(x)
    assert type(got) is dict and list(got) == list(x), f"[{case}] expected keys {list(x)} in order, got {list(got)}"
    for k in x:
        assert_tensor(got[k], expected[k].detach(), atol=1e-5, rtol=1e-5, case=f"{case}, output {k}")


@pytest.mark.task("fpn")
@pytest.mark.parametrize("device", devices())
def test_fpn_on_device(student, device):
    ref, sd = fpn_pair([4, 8, 8], 5, seed=7)
    x = {"a": oracles.randn(1, 4, 12, 10, seed=1), "b": oracles.randn(1, 8, 6, 5, seed=2),
         "c": oracles.randn(1, 8, 3, 3, seed=3)}
    expected = ref(x)
    fpn = student.FeaturePyramidNetwork([4, 8, 8], 5)
    fpn.load_weights({k: v.to(device) for k, v in sd.items()})  # the module follows its weights
    got = fpn({k: v.to(device) for k, v in x.items()})
    for k in x:
        assert_tensor(got[k], expected[k].detach().to(device), atol=1e-5, rtol=1e-5, case=f"{device}, output {k}")


@pytest.mark.task("fpn")
def test_fresh_fpn_has_the_documented_zero_biases(student):
    # "zero bias": without loaded weights, all-zero maps give all-zero outputs (as torchvision's
    # FeaturePyramidNetwork, initialised the same way); a random input gives a non-trivial pyramid
    fpn = student.FeaturePyramidNetwork([3, 5], 4)
    zeros = {"a": torch.zeros(2, 3, 8, 6), "b": torch.zeros(2, 5, 4, 3)}
    got = fpn(zeros)
    for k, shape in (("a", (2, 4, 8, 6)), ("b", (2, 4, 4, 3))):
        assert_tensor(got[k], torch.zeros(shape), case=f"a fresh pyramid, output {k} of all-zero maps")
    x = {k: torch.randn(v.shape, generator=torch.Generator().manual_seed(1)) for k, v in zeros.items()}
    out = fpn(x)
    assert all(float(out[k].abs().max()) > 0 for k in out), "kaiming-initialised weights map noise to non-zero maps"


@pytest.mark.task("fpn")
def test_fpn_load_weights_is_strict(student):
    _, sd = fpn_pair([4, 8], 6, seed=3)
    fpn = student.FeaturePyramidNetwork([4, 8], 6)
    missing = dict(sd)
    del missing["layer_blocks.1.0.bias"]
    with pytest.raises(RuntimeError):
        fpn.load_weights(missing)
    wrong = dict(sd)
    wrong["inner_blocks.0.0.weight"] = torch.zeros(6, 5, 1, 1)
    with pytest.raises(RuntimeError):
        fpn.load_weights(wrong)


@pytest.mark.task("fpn")
def test_fpn_rejects_the_wrong_number_of_maps(student):
    fpn = student.FeaturePyramidNetwork([4, 8], 6)
    with pytest.raises(ValueError):
        fpn({"only": torch.zeros(1, 4, 4, 4)})


# ---------------------------------------------------------------- assign_fpn_levels


@pytest.mark.task("fpn")
@pytest.mark.parametrize("k_min, k_max, scale, level", [(2, 5, 224, 4), (3, 6, 224, 4), (1, 3, 32, 2)])
def test_assign_fpn_levels_matches_levelmapper(student, k_min, k_max, scale, level):
    boxes = oracles.random_boxes(60, seed=k_min + k_max, width=900, height=700, min_side=1.0, max_side=600)
    # exact powers of two times the canonical scale sit on level boundaries (eps decides)
    exact = torch.tensor([[0.0, 0.0, scale, scale], [5.0, 5.0, 5 + scale / 2, 5 + scale / 2],
                          [0.0, 0.0, 2.0 * scale, 2.0 * scale], [0.0, 0.0, scale / 4, scale]])
    boxes = torch.cat([boxes, exact])
    expected = LevelMapper(k_min, k_max, scale, level)([boxes])
    got = student.assign_fpn_levels(boxes, k_min, k_max, scale, level)
    assert_tensor(got, expected, case=f"64 boxes, levels {k_min}..{k_max}, s0 {scale}, k0 {level}")


@pytest.mark.task("fpn")
def test_assign_fpn_levels_of_no_boxes(student):
    assert_tensor(student.assign_fpn_levels(torch.zeros(0, 4), 2, 5), torch.zeros(0, dtype=torch.int64), case="K=0")


@pytest.mark.task("fpn")
def test_assign_fpn_levels_rejects_k_min_above_k_max(student):
    with pytest.raises(ValueError, match="k_min|k_max"):
        student.assign_fpn_levels(torch.tensor([[0.0, 0.0, 4.0, 4.0]]), 5, 2)


# ---------------------------------------------------------------- multiscale_roi_align


def pyramid(n, c, image, strides, seed):
    h, w = image
    return {f"p{s}": oracles.randn(n, c, h // s, w // s, seed=seed + s) for s in strides}


def rois_of(per_image):
    return torch.cat([torch.cat([torch.full((b.shape[0], 1), float(i)), b], dim=1) for i, b in enumerate(per_image)])


@pytest.mark.task("fpn")
@pytest.mark.parametrize("output_size, sampling_ratio", [(7, 2), ((3, 5), 2), (4, -1)],
                         ids=["7-sr2", "3x5-sr2", "4-adaptive"])
def test_multiscale_roi_align_matches_torchvision(student, output_size, sampling_ratio):
    image = (128, 96)
    strides = [4, 8, 16]
    feats = pyramid(2, 3, image, strides, seed=20)
    per_image = [oracles.random_boxes(9, seed=30, width=96, height=128, min_side=3, max_side=90, outside=4),
                 oracles.random_boxes(7, seed=31, width=96, height=128, min_side=3, max_side=90)]
    pool = torchvision.ops.MultiScaleRoIAlign(list(feats), output_size, sampling_ratio,
                                              canonical_scale=48, canonical_level=4)
    expected = pool(feats, per_image, [image, image])
    levels = LevelMapper(2, 4, 48, 4)([rois_of(per_image)[:, 1:]])
    assert set(levels.tolist()) == {0, 1, 2}, "test setup: every level is used"
    got = student.multiscale_roi_align(list(feats.values()), rois_of(per_image), output_size,
                                       [1 / s for s in strides], sampling_ratio, 48, 4)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case=f"16 rois, 3 levels, output {output_size}")


@pytest.mark.task("fpn")
def test_multiscale_roi_align_with_one_level(student):
    feats = pyramid(1, 2, (64, 64), [8], seed=40)
    boxes = [oracles.random_boxes(6, seed=41, width=64, height=64)]
    expected = torchvision.ops.MultiScaleRoIAlign(["p8"], 3, 2)(feats, boxes, [(64, 64)])
    got = student.multiscale_roi_align([feats["p8"]], rois_of(boxes), 3, [1 / 8], 2)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case="one level")


@pytest.mark.task("fpn")
@pytest.mark.parametrize("device", devices())
def test_multiscale_roi_align_on_device(student, device):
    feats = pyramid(1, 2, (64, 64), [4, 8], seed=50)
    boxes = [oracles.random_boxes(10, seed=51, width=64, height=64, max_side=60)]
    expected = torchvision.ops.MultiScaleRoIAlign(list(feats), 2, 2, canonical_scale=32, canonical_level=3)(
        feats, boxes, [(64, 64)])
    got = student.multiscale_roi_align([f.to(device) for f in feats.values()], rois_of(boxes).to(device), 2,
                                       [1 / 4, 1 / 8], 2, 32, 3)
    assert_tensor(got, expected.to(device), atol=1e-5, rtol=1e-5, case=f"two levels on {device}")


@pytest.mark.task("fpn")
def test_multiscale_roi_align_of_no_rois(student):
    feats = pyramid(1, 3, (32, 32), [4, 8], seed=60)
    got = student.multiscale_roi_align(list(feats.values()), torch.zeros(0, 5), (2, 3), [1 / 4, 1 / 8], 2)
    assert_tensor(got, torch.zeros(0, 3, 2, 3), case="K=0")
