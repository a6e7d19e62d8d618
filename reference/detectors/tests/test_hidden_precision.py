"""Hidden tests in half precision and under ``torch.autocast`` [fpn, rpn, roi_heads, retinanet].

What torchvision does is the spec: its level mapper computes box areas in float32 for
float16 / bfloat16 boxes (``box_area`` upcasts), its RoI Align under autocast computes in
float32 and returns the feature map's dtype, and its heads are plain convolutions and linear
layers that autocast runs in bfloat16. A submission that computes areas in float16 (they
overflow above about 256 x 256 pixels) or breaks under autocast loses these points.
"""

import importlib.util
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.retinanet import RetinaNetClassificationHead, RetinaNetRegressionHead
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops.poolers import LevelMapper

from harness.testkit import assert_tensor

_spec = importlib.util.spec_from_file_location("cv3_detectors_oracles", Path(__file__).with_name("_oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracles)

HALF = [torch.float16, torch.bfloat16]
# one rounding of the output to the half dtype (values of a few units): 2 ulp
HALF_ATOL = {torch.float16: 4e-3, torch.bfloat16: 3e-2}


def rois_of(per_image):
    return torch.cat([torch.cat([torch.full((b.shape[0], 1), float(i)), b], dim=1) for i, b in enumerate(per_image)])


@pytest.mark.task("fpn")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_assign_fpn_levels_of_large_half_precision_boxes(student, dtype):
    # sides 200-700 px: float16 areas overflow (> 65504) for most of them
    boxes = oracles.random_boxes(40, seed=3, width=800, height=800, min_side=200, max_side=700).to(dtype)
    expected = LevelMapper(2, 6, 224, 4)([boxes.float()])
    assert len(set(expected.tolist())) >= 2, "test setup: the boxes span several levels"
    got = student.assign_fpn_levels(boxes, 2, 6)
    assert_tensor(got, expected, case=f"{dtype} boxes of 200-700 px, levels 2-6")


@pytest.mark.task("fpn")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_multiscale_roi_align_in_half_precision(student, dtype):
    image = (512, 384)
    strides = [4, 8, 16]
    feats = {f"p{s}": oracles.randn(2, 3, image[0] // s, image[1] // s, seed=70 + s).to(dtype) for s in strides}
    per_image = [oracles.random_boxes(8, seed=71, width=384, height=512, min_side=8, max_side=380).to(dtype),
                 oracles.random_boxes(6, seed=72, width=384, height=512, min_side=8, max_side=380).to(dtype)]
    pool = torchvision.ops.MultiScaleRoIAlign(list(feats), 5, 2)
    with torch.autocast("cpu", dtype=dtype):  # torchvision's half-precision path: float32 inside
        expected = pool(feats, per_image, [image, image])
    assert expected.dtype == dtype
    got = student.multiscale_roi_align(list(feats.values()), rois_of(per_image), 5, [1 / s for s in strides], 2)
    assert_tensor(got, expected, atol=HALF_ATOL[dtype], rtol=0, case=f"{dtype} maps and boxes, 3 levels")


@pytest.mark.task("fpn")
def test_multiscale_roi_align_under_autocast(student):
    image = (128, 96)
    feats = {f"p{s}": oracles.randn(1, 4, image[0] // s, image[1] // s, seed=80 + s) for s in (4, 8)}
    boxes = [oracles.random_boxes(10, seed=81, width=96, height=128, min_side=4, max_side=90)]
    expected = torchvision.ops.MultiScaleRoIAlign(list(feats), 3, 2, canonical_scale=32, canonical_level=3)(
        feats, boxes, [image])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = student.multiscale_roi_align(list(feats.values()), rois_of(boxes), 3, [1 / 4, 1 / 8], 2, 32, 3)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case="float32 maps under autocast(bfloat16)")


def _bf16_close(got, expected, case):
    assert_tensor(got, expected.detach(), atol=5e-2, rtol=2e-2, case=case)


@pytest.mark.task("fpn")
def test_fpn_under_autocast(student):
    ref = oracles.perturbed(torchvision.ops.FeaturePyramidNetwork([4, 8], 6), seed=11)
    x = {"c3": oracles.randn(1, 4, 8, 10, seed=12), "c4": oracles.randn(1, 8, 4, 5, seed=13)}
    fpn = student.FeaturePyramidNetwork([4, 8], 6)
    fpn.load_weights(oracles.state_dict(ref))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected, got = ref(x), fpn(x)
    for k in x:
        _bf16_close(got[k], expected[k], f"autocast(bfloat16), output {k}")


@pytest.mark.task("rpn")
def test_rpn_head_under_autocast(student):
    ref = oracles.perturbed(RPNHead(6, 3), seed=21)
    x = [oracles.randn(1, 6, 7, 5, seed=22), oracles.randn(1, 6, 4, 3, seed=23)]
    head = student.RPNHead(6, 3)
    head.load_weights(oracles.state_dict(ref))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        (exp_obj, exp_deltas), (got_obj, got_deltas) = ref(x), head(x)
    for level in range(2):
        _bf16_close(got_obj[level], exp_obj[level], f"autocast(bfloat16), objectness level {level}")
        _bf16_close(got_deltas[level], exp_deltas[level], f"autocast(bfloat16), deltas level {level}")


@pytest.mark.task("roi_heads")
def test_box_head_and_predictor_under_autocast(student):
    ref_head = oracles.perturbed(TwoMLPHead(2 * 3 * 3, 12), seed=31, scale=1.0)
    ref_pred = oracles.perturbed(FastRCNNPredictor(12, 4), seed=32, scale=1.0)
    x = oracles.randn(5, 2, 3, 3, seed=33)
    head, pred = student.TwoMLPHead(18, 12), student.FastRCNNPredictor(12, 4)
    head.load_weights(oracles.state_dict(ref_head))
    pred.load_weights(oracles.state_dict(ref_pred))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = ref_pred(ref_head(x))
        got = pred(head(x))
    _bf16_close(got[0], expected[0], "autocast(bfloat16), class logits")
    _bf16_close(got[1], expected[1], "autocast(bfloat16), box codes")


@pytest.mark.task("retinanet")
def test_retinanet_heads_under_autocast(student):
    ref_cls = oracles.perturbed(RetinaNetClassificationHead(4, 2, 3), seed=41, scale=0.5)
    ref_reg = oracles.perturbed(RetinaNetRegressionHead(4, 2), seed=42, scale=0.5)
    x = [oracles.randn(1, 4, 6, 5, seed=43), oracles.randn(1, 4, 3, 3, seed=44)]
    cls_head, reg_head = student.RetinaNetClassificationHead(4, 2, 3), student.RetinaNetRegressionHead(4, 2)
    cls_head.load_weights(oracles.state_dict(ref_cls))
    reg_head.load_weights(oracles.state_dict(ref_reg))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = ref_cls(x), ref_reg(x)
        got = cls_head(x), reg_head(x)
    _bf16_close(got[0], expected[0], "autocast(bfloat16), class logits")
    _bf16_close(got[1], expected[1], "autocast(bfloat16), box regression")
