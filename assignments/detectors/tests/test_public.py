"""Public tests of the detectors assignment: small hand-computed cases, plus torchvision
comparisons that run when torchvision is installed.

Run them with ``nox -s test -- detectors``. Your package is reached only through the ``student``
fixture, exactly as in grading: modules are built with ``student.Name(...)``, weights go in with
``load_weights`` and only tensors and plain values come back. Passing these tests does not
guarantee full marks: the hidden tests try more inputs against the same contracts.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor


def needs_torchvision():
    return pytest.importorskip("torchvision", reason="torchvision is not installed (optional locally)")


def identity_fpn_weights(channels, num_levels):
    """FPN weights under torchvision's names: 1x1 laterals and 3x3 outputs that copy their input."""
    eye = torch.eye(channels)
    centre = torch.zeros(channels, channels, 3, 3)
    centre[:, :, 1, 1] = eye
    sd = {}
    for i in range(num_levels):
        sd[f"inner_blocks.{i}.0.weight"] = eye[:, :, None, None].clone()
        sd[f"inner_blocks.{i}.0.bias"] = torch.zeros(channels)
        sd[f"layer_blocks.{i}.0.weight"] = centre.clone()
        sd[f"layer_blocks.{i}.0.bias"] = torch.zeros(channels)
    return sd


# ---------------------------------------------------------------- fpn


@pytest.mark.task("fpn")
def test_fpn_output_keys_and_shapes(student):
    fpn = student.FeaturePyramidNetwork([4, 8], 6)
    x = {"c3": torch.randn(2, 4, 8, 10), "c4": torch.randn(2, 8, 4, 5)}
    out = fpn(x)
    assert type(out) is dict and list(out) == ["c3", "c4"], f"expected keys ['c3', 'c4'], got {list(out)}"
    shapes = [list(out[k].shape) for k in out]
    assert shapes == [[2, 6, 8, 10], [2, 6, 4, 5]], f"expected shapes [[2, 6, 8, 10], [2, 6, 4, 5]], got {shapes}"


@pytest.mark.task("fpn")
def test_fpn_with_identity_convs_adds_the_upsampled_coarse_map(student):
    # laterals and smoothing copy their input: P_fine = C_fine + nearest-upsample(C_coarse)
    fpn = student.FeaturePyramidNetwork([2, 2], 2)
    fpn.load_weights(identity_fpn_weights(2, 2))
    fine = torch.arange(32.0).reshape(1, 2, 4, 4)
    coarse = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[10.0, 20.0], [30.0, 40.0]]]])
    out = fpn({"fine": fine, "coarse": coarse})
    up = coarse.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # nearest, x2
    # the 3x3 identity conv zero-pads, which changes nothing for a centre tap
    assert_tensor(out["coarse"], coarse, atol=1e-6, case="coarsest level: P = C")
    assert_tensor(out["fine"], fine + up, atol=1e-6, case="finer level: P = C + upsample")


@pytest.mark.task("fpn")
def test_fpn_upsamples_to_the_size_of_odd_maps(student):
    fpn = student.FeaturePyramidNetwork([1, 1], 1)
    fpn.load_weights(identity_fpn_weights(1, 2))
    fine = torch.zeros(1, 1, 5, 3)
    coarse = torch.tensor([[[[1.0], [2.0], [3.0]]]])  # [1, 1, 3, 1]
    out = fpn({"a": fine, "b": coarse})
    expected = F.interpolate(coarse, size=(5, 3), mode="nearest")
    assert_tensor(out["a"], expected, atol=1e-6, case="3 x 1 map upsampled to 5 x 3")


@pytest.mark.task("fpn")
def test_assign_fpn_levels_by_box_size(student):
    boxes = torch.tensor([
        [0.0, 0.0, 224.0, 224.0],  # canonical: level 4
        [10.0, 10.0, 122.0, 122.0],  # 112: level 3
        [0.0, 0.0, 448.0, 448.0],  # 448: level 5, clamped to 5
        [0.0, 0.0, 4.0, 4.0],  # tiny: clamped to level 2
        [0.0, 0.0, 1000.0, 1000.0],  # huge: clamped to level 5
    ])
    got = student.assign_fpn_levels(boxes, 2, 5)
    assert_tensor(got, torch.tensor([2, 1, 3, 0, 3]), case="levels 2..5, returned as index k - 2")


@pytest.mark.task("fpn")
def test_multiscale_roi_align_picks_the_level(student):
    # level l is the constant map l + 1: the pooled value says which level a RoI came from
    features = [torch.full((1, 1, 32, 32), 1.0), torch.full((1, 1, 16, 16), 2.0)]
    boxes = torch.tensor([[0.0, 0.0, 0.0, 20.0, 20.0], [0.0, 0.0, 0.0, 120.0, 120.0]])
    got = student.multiscale_roi_align(features, boxes, 2, [1 / 4, 1 / 8], 2, canonical_scale=64)
    expected = torch.tensor([1.0, 2.0])[:, None, None, None].expand(2, 1, 2, 2)
    assert_tensor(got, expected, atol=1e-6, case="a 20 px RoI from level 0, a 120 px RoI from level 1")


@pytest.mark.task("fpn")
def test_fpn_matches_torchvision_with_copied_weights(student):
    tv = needs_torchvision()
    torch.manual_seed(0)
    ref = tv.ops.FeaturePyramidNetwork([4, 8, 16], 8)
    fpn = student.FeaturePyramidNetwork([4, 8, 16], 8)
    fpn.load_weights(ref.state_dict())
    x = {"a": torch.randn(1, 4, 16, 16), "b": torch.randn(1, 8, 8, 8), "c": torch.randn(1, 16, 4, 4)}
    expected = ref(x)
    got = fpn(x)
    for k in x:
        assert_tensor(got[k], expected[k].detach(), atol=1e-5, case=f"level {k}")


# ---------------------------------------------------------------- rpn


@pytest.mark.task("rpn")
def test_rpn_head_shapes(student):
    head = student.RPNHead(8, 3)
    objectness, deltas = head([torch.randn(2, 8, 6, 5), torch.randn(2, 8, 3, 3)])
    got = [list(o.shape) for o in objectness]
    assert got == [[2, 3, 6, 5], [2, 3, 3, 3]], f"objectness shapes: expected [[2, 3, 6, 5], [2, 3, 3, 3]], got {got}"
    got = [list(d.shape) for d in deltas]
    assert got == [[2, 12, 6, 5], [2, 12, 3, 3]], f"deltas shapes: expected [[2, 12, 6, 5], [2, 12, 3, 3]], got {got}"


@pytest.mark.task("rpn")
def test_generate_proposals_hand_case(student):
    anchors = torch.tensor([
        [10.0, 10.0, 30.0, 30.0],
        [11.0, 11.0, 31.0, 31.0],  # IoU 0.82 with the first: suppressed
        [40.0, 40.0, 80.0, 70.0],  # sticks out of the 60 x 50 image: clipped
        [5.0, 5.0, 5.5, 30.0],  # 0.5 px wide: removed by min_size 1
    ])
    objectness = torch.tensor([2.0, 3.0, 1.0, 4.0])
    boxes, scores = student.generate_proposals(objectness, torch.zeros(4, 4), anchors, (50, 60), 10, 10, 0.7, 1.0)
    assert_tensor(boxes, torch.tensor([[11.0, 11.0, 31.0, 31.0], [40.0, 40.0, 60.0, 50.0]]), atol=1e-5)
    assert_tensor(scores, torch.sigmoid(torch.tensor([3.0, 1.0])), atol=1e-6)


@pytest.mark.task("rpn")
def test_rpn_loss_hand_case(student):
    objectness = torch.zeros(4)  # p = 0.5: BCE = log 2 for every sampled anchor
    deltas = torch.zeros(4, 4)
    labels = torch.tensor([1.0, 0.0, -1.0, 0.0])  # anchor 2 is not sampled
    targets = torch.zeros(4, 4)
    targets[0] = torch.tensor([1.0, 0.0, 0.0, 0.05])  # |x| = 1 >= beta: 1 - 1/18; 0.05 < beta: 0.5 * 0.05^2 * 9
    loss_obj, loss_box = student.rpn_loss(objectness, deltas, labels, targets)
    assert_tensor(loss_obj, torch.tensor(math.log(2.0)), atol=1e-6, case="objectness")
    expected_box = ((1 - 0.5 / 9) + 0.5 * 0.05**2 * 9) / 3  # normalised by the 3 sampled anchors
    assert_tensor(loss_box, torch.tensor(expected_box), atol=1e-6, case="box")


# ---------------------------------------------------------------- roi_heads


@pytest.mark.task("roi_heads")
def test_box_head_and_predictor_shapes(student):
    head = student.TwoMLPHead(4 * 2 * 2, 10)
    pred = student.FastRCNNPredictor(10, 3)
    x = head(torch.randn(5, 4, 2, 2))
    assert list(x.shape) == [5, 10], f"TwoMLPHead: expected shape [5, 10], got {list(x.shape)}"
    assert bool((x >= 0).all()), "TwoMLPHead ends with a ReLU: no negative output"
    logits, codes = pred(x)
    assert list(logits.shape) == [5, 3], f"class logits: expected shape [5, 3], got {list(logits.shape)}"
    assert list(codes.shape) == [5, 12], f"box codes: expected shape [5, 12], got {list(codes.shape)}"


@pytest.mark.task("roi_heads")
def test_fastrcnn_loss_hand_case(student):
    logits = torch.zeros(2, 3)  # uniform over 3 classes: CE = log 3
    regression = torch.zeros(2, 12)
    regression[0, 8:12] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # class 2 of RoI 0
    labels = torch.tensor([2, 0])
    targets = torch.zeros(2, 4)
    loss_cls, loss_box = student.fastrcnn_loss(logits, regression, labels, targets)
    assert_tensor(loss_cls, torch.tensor(math.log(3.0)), atol=1e-6, case="classifier")
    assert_tensor(loss_box, torch.tensor((1 - 0.5 / 9) / 2), atol=1e-6, case="box: class 2 of RoI 0, over 2 RoIs")


@pytest.mark.task("roi_heads")
def test_postprocess_detections_hand_case(student):
    proposals = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 40.0]])
    logits = torch.tensor([[0.0, 3.0, 0.0], [0.0, 0.0, 2.0]])
    boxes, scores, labels = student.postprocess_detections(logits, torch.zeros(2, 12), proposals, (50, 50),
                                                           score_thresh=0.2)
    p = F.softmax(logits, dim=1)
    assert_tensor(labels, torch.tensor([1, 2]))
    assert_tensor(scores, torch.stack([p[0, 1], p[1, 2]]), atol=1e-6)
    assert_tensor(boxes, proposals, atol=1e-5)


# ---------------------------------------------------------------- retinanet


@pytest.mark.task("retinanet")
def test_retinanet_heads_shapes_and_prior(student):
    cls_head = student.RetinaNetClassificationHead(8, 3, 4)
    reg_head = student.RetinaNetRegressionHead(8, 3)
    x = [torch.zeros(2, 8, 4, 4), torch.zeros(2, 8, 2, 2)]
    logits = cls_head(x)
    codes = reg_head(x)
    # 60 anchors = (16 + 4) positions x 3 anchors
    assert list(logits.shape) == [2, 60, 4], f"logits: expected [2, 60, 4], got {list(logits.shape)}"
    assert list(codes.shape) == [2, 60, 4], f"codes: expected [2, 60, 4], got {list(codes.shape)}"
    # zero input: only the biases speak; every anchor starts at probability 0.01
    assert_tensor(torch.sigmoid(logits), torch.full((2, 60, 4), 0.01), atol=1e-6, case="prior")
    assert_tensor(codes, torch.zeros(2, 60, 4), atol=1e-6, case="regression starts at 0")


@pytest.mark.task("retinanet")
def test_focal_loss_hand_case(student):
    logits = torch.zeros(1, 3, 2)  # p = 0.5 everywhere
    matched = torch.tensor([[1, -1, -2]])  # anchor 0: class 1; anchor 1: background; anchor 2: ignored
    got = student.retinanet_classification_loss(logits, matched)
    log2 = math.log(2.0)
    positive = 0.25 * 0.25 * log2  # alpha (1 - 0.5)^2 log 2
    negative = 0.75 * 0.25 * log2
    expected = (positive + 3 * negative) / 1  # anchor 0 class 0 and anchor 1 both classes are negatives
    assert_tensor(got, torch.tensor(expected), atol=1e-6)


@pytest.mark.task("retinanet")
def test_regression_loss_hand_case(student):
    codes = torch.zeros(2, 2, 4)
    targets = torch.ones(2, 2, 4)
    matched = torch.tensor([[0, -1], [-2, -1]])  # one foreground anchor, in image 0
    got = student.retinanet_regression_loss(codes, targets, matched)
    assert_tensor(got, torch.tensor(4.0 / 2), atol=1e-6, case="L1 = 4 in image 0, 0 in image 1, mean of 2")


@pytest.mark.task("retinanet")
def test_retinanet_postprocess_hand_case(student):
    anchors = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [30.0, 30.0, 40.0, 40.0]])]
    logits = [torch.tensor([[2.0, -9.0], [1.0, -9.0], [-9.0, 0.5]])]
    boxes, scores, labels = student.retinanet_postprocess(logits, [torch.zeros(3, 4)], anchors, (64, 64))
    assert_tensor(labels, torch.tensor([0, 1]), case="anchor 1 is suppressed by anchor 0 (IoU 0.68)")
    assert_tensor(scores, torch.sigmoid(torch.tensor([2.0, 0.5])), atol=1e-6)
    assert_tensor(boxes, anchors[0][[0, 2]], atol=1e-5)


# ---------------------------------------------------------------- model


@pytest.mark.task("model")
def test_predict_returns_well_formed_detections(student):
    gen = torch.Generator().manual_seed(0)
    images = [torch.rand(3, 64, 64, generator=gen), torch.rand(3, 64, 64, generator=gen)]
    out = student.predict(images)
    assert type(out) is list and len(out) == 2, "one dict per image"
    for i, det in enumerate(out):
        assert type(det) is dict and {"boxes", "scores", "labels"} <= set(det), f"image {i}: keys {list(det)}"
        boxes, scores, labels = det["boxes"], det["scores"], det["labels"]
        for name, t, dtype in (("boxes", boxes, torch.float32), ("scores", scores, torch.float32),
                               ("labels", labels, torch.int64)):
            assert type(t) is torch.Tensor and t.dtype == dtype, f"image {i}: '{name}' must be a {dtype} tensor"
        assert boxes.dim() == 2 and boxes.shape[1] == 4, f"image {i}: boxes must be [D, 4], got {list(boxes.shape)}"
        d = boxes.shape[0]
        assert scores.shape == labels.shape == (d,), f"image {i}: scores and labels must be [{d}]"
        assert d <= 100, f"image {i}: {d} detections, at most 100"
        assert bool(torch.isfinite(boxes).all() and torch.isfinite(scores).all()), f"image {i}: nan or inf"
        inside = (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 64).all()
        assert bool(inside), f"image {i}: boxes must lie inside the 64 x 64 image"
        assert set(labels.tolist()) <= {1, 2, 3, 4}, f"image {i}: labels must be category ids 1 to 4"
