"""Hidden tests for the classes of one-mistake variants that survived `cv3 check onestage --mutants`
(seed 31): every documented lower bound of a size parameter (S, B, C >= 1) checked at exactly the
bound, one parameter at a time, with a ``pred`` whose shape matches so that only the bound can
reject it; the value 1 must be accepted.

Oracle: the documented formulas (``cx = (col + x) / S``...) written out for a 1 x 1 grid.
"""

import pytest
import torch

from harness.testkit import assert_refused_or_same, assert_tensor

# (S, B, C) with exactly one of them 0; pred has the matching shape [S, S, B * 5 + C]
ZERO_ONE_AT_A_TIME = [(0, 1, 1), (1, 0, 1), (1, 1, 0)]


def empty_gt(dtype=torch.float64):
    return torch.zeros(0, 4, dtype=dtype), torch.zeros(0, dtype=torch.int64)


@pytest.mark.task("yolo")
@pytest.mark.parametrize("S,B,C", ZERO_ONE_AT_A_TIME)
def test_decode_rejects_each_size_below_one(student, S, B, C):
    pred = torch.rand(S, S, B * 5 + C, dtype=torch.float64)
    with pytest.raises(ValueError, match="S, B and C|[SBC]"):
        student.yolo_decode(pred, S, B, C)


@pytest.mark.task("yolo")
@pytest.mark.parametrize("S,B,C", ZERO_ONE_AT_A_TIME)
def test_targets_reject_each_size_below_one(student, S, B, C):
    pred = torch.rand(S, S, B * 5 + C, dtype=torch.float64)
    boxes, labels = empty_gt()
    with pytest.raises(ValueError, match="S, B and C|[SBC]"):
        student.yolo_targets(pred, boxes, labels, S, B, C)


@pytest.mark.task("yolo")
@pytest.mark.parametrize("S,B,C", ZERO_ONE_AT_A_TIME)
def test_loss_rejects_each_size_below_one(student, S, B, C):
    pred = torch.rand(1, S, S, B * 5 + C, dtype=torch.float64)
    boxes, labels = empty_gt()
    with pytest.raises(ValueError, match="S, B and C|[SBC]"):
        student.yolo_loss(pred, [boxes], [labels], S=S, B=B, C=C)


@pytest.mark.task("yolo")
def test_sizes_of_one_are_accepted(student):
    # one cell, one predictor, one class: x, y, w, h, conf, class score
    x, y, w, h = 0.25, 0.5, 0.5, 0.25
    pred = torch.tensor([[[x, y, w, h, 0.7, 0.9]]], dtype=torch.float64)
    expected = torch.tensor([[[[x - w / 2, y - h / 2, x + w / 2, y + h / 2]]]], dtype=torch.float64)
    assert_tensor(student.yolo_decode(pred, 1, 1, 1), expected, atol=1e-12, case="S = B = C = 1")
    boxes, labels = empty_gt()
    target, resp = student.yolo_targets(pred, boxes, labels, 1, 1, 1)
    assert_tensor(target, torch.zeros(1, 1, 6, dtype=torch.float64), atol=0, case="no ground truth: all zero")
    assert resp.dtype == torch.bool and resp.shape == (1, 1, 1) and not bool(resp.any())
    loss = student.yolo_loss(pred[None], [boxes], [labels], S=1, B=1, C=1, lambda_coord=5.0, lambda_noobj=0.5)
    # no object anywhere: only the no-object confidence term, lambda_noobj * conf ** 2
    assert_tensor(loss, torch.tensor(0.5 * 0.7 ** 2, dtype=torch.float64), atol=1e-12, case="noobj only")


# ================================================================================================
# seed 705 (200 variants): the classes over the whole API, table-driven (harness.testkit.task_rows)
# - REJECTED: every documented numeric bound a hair past it (ValueError naming the parameter)
# - ACCEPTED: every documented bound exactly at it, with the documented result (oracles:
#   torch.nn.functional.affine_grid / grid_sample, the docstrings' formulas in float64)
# - DIMS: every shaped argument with a dimension too many / too few or a wrong dtype
# ================================================================================================
import math  # noqa: E402

import torch.nn.functional as F  # noqa: E402

from harness.testkit import task_rows  # noqa: E402

E = 1e-9
PRIORS = torch.tensor([[0.5, 0.5, 0.4, 0.4], [0.3, 0.6, 0.2, 0.5], [0.7, 0.2, 0.3, 0.2]], dtype=torch.float64)
GT2 = torch.tensor([[0.3, 0.3, 0.7, 0.7], [0.1, 0.4, 0.35, 0.8]], dtype=torch.float64)
LAB2 = torch.tensor([1, 2])
CONF = torch.randn(1, 3, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)  # K = 2
LOC = torch.randn(1, 3, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
CE = torch.rand(2, 5, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
POS = torch.tensor([[True, False, False, False, False], [False, False, True, True, False]])
YPRED = torch.rand(2, 2, 2 * 5 + 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64)  # S=2 B=2 C=3
YBOX = torch.tensor([[0.1, 0.1, 0.4, 0.3], [0.55, 0.5, 0.9, 0.95]], dtype=torch.float64)
THETA = torch.tensor([[[0.9, 0.1, 0.05], [-0.2, 1.1, -0.1]]], dtype=torch.float64)
IMG = torch.randn(1, 2, 5, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)

REJECTED = [
    ("ssd", "num_maps", lambda s: s.ssd_scales(0)),
    ("ssd", "num_maps", lambda s: s.ssd_scales(-1)),
    ("ssd", "s_min", lambda s: s.ssd_scales(3, 0.0, 0.9)),
    ("ssd", "s_min", lambda s: s.ssd_scales(3, -E, 0.9)),
    ("ssd", "s_min|s_max", lambda s: s.ssd_scales(3, 0.5, 0.5 - 1e-6)),
    ("ssd", "s_max", lambda s: s.ssd_scales(3, 0.2, 1.0 + 1e-6)),
    ("ssd", "s_min|s_max", lambda s: s.ssd_scales(1, 1.0 + 1e-6, 1.0 + 1e-6)),
    ("ssd", "feature_sizes", lambda s: s.default_boxes([(0, 2)], [[2]])),
    ("ssd", "feature_sizes", lambda s: s.default_boxes([(2, 0)], [[2]])),
    ("ssd", "feature_sizes", lambda s: s.default_boxes([(2, 2), (1, 0)], [[2], []])),
    ("ssd", "feature_sizes|aspect_ratios", lambda s: s.default_boxes([], [])),
    ("ssd", "feature_sizes|aspect_ratios", lambda s: s.default_boxes([(2, 2)], [[2], [3]])),
    ("ssd", "s_min|s_max", lambda s: s.default_boxes([(2, 2)], [[2]], s_min=0.0)),
    ("ssd", "threshold", lambda s: s.ssd_match(GT2, PRIORS, -E)),
    ("ssd", "threshold", lambda s: s.ssd_match(GT2, PRIORS, 1.0 + E)),
    ("ssd", "threshold", lambda s: s.ssd_match(GT2[:0], PRIORS, 1.5)),
    ("ssd", "variances", lambda s: s.ssd_encode(GT2[:1].expand(3, 4), PRIORS, (0.0, 0.2))),
    ("ssd", "variances", lambda s: s.ssd_encode(GT2[:1].expand(3, 4), PRIORS, (0.1, 0.0))),
    ("ssd", "variances", lambda s: s.ssd_encode(GT2[:1].expand(3, 4), PRIORS, (0.1, -E))),
    ("ssd", "variances", lambda s: s.ssd_encode(GT2[:1].expand(3, 4), PRIORS, (0.1, 0.2, 0.3))),
    ("ssd", "variances", lambda s: s.ssd_decode(LOC[0], PRIORS, (0.0, 0.2))),
    ("ssd", "variances", lambda s: s.ssd_decode(LOC[0], PRIORS, (0.1, 0.0))),
    ("ssd", "variances", lambda s: s.ssd_decode(LOC[0], PRIORS, (-E, 0.2))),
    ("ssd", "variances", lambda s: s.ssd_decode(LOC[0], PRIORS, (0.1,))),
    ("ssd", "neg_pos_ratio", lambda s: s.hard_negative_mining(CE, POS, -1)),
    ("ssd", "gt_labels", lambda s: s.multibox_loss(LOC, CONF, [GT2], [torch.tensor([0, 1])], PRIORS)),
    ("ssd", "gt_labels", lambda s: s.multibox_loss(LOC, CONF, [GT2], [torch.tensor([1, 3])], PRIORS)),
    ("ssd", "gt_labels", lambda s: s.multibox_loss(LOC, CONF, [GT2], [torch.tensor([3, 1])], PRIORS)),
    ("ssd", "gt_labels", lambda s: s.multibox_loss(LOC, CONF, [GT2], [torch.tensor([-1, 2])], PRIORS)),
    ("ssd", "conf_pred|gt_labels", lambda s: s.multibox_loss(LOC, CONF[..., :1], [GT2], [LAB2], PRIORS)),  # K = 0
    ("yolo", "S", lambda s: s.yolo_cell_index(YBOX, 0)),
    ("yolo", "S", lambda s: s.yolo_cell_index(YBOX, -1)),
    ("yolo", "labels", lambda s: s.yolo_targets(YPRED, YBOX, torch.tensor([0, 3]), 2, 2, 3)),
    ("yolo", "labels", lambda s: s.yolo_targets(YPRED, YBOX, torch.tensor([3, 0]), 2, 2, 3)),
    ("yolo", "labels", lambda s: s.yolo_targets(YPRED, YBOX, torch.tensor([-1, 0]), 2, 2, 3)),
    ("yolo", "labels", lambda s: s.yolo_targets(YPRED, YBOX, torch.tensor([1, -1]), 2, 2, 3)),
    ("yolo", "labels", lambda s: s.yolo_loss(YPRED[None], [YBOX], [torch.tensor([2, 3])], 2, 2, 3)),
    ("yolo", "labels", lambda s: s.yolo_loss(YPRED[None], [YBOX], [torch.tensor([-1, 2])], 2, 2, 3)),
    ("stn", "size", lambda s: s.affine_grid(THETA, (1, 2, 0, 3))),
    ("stn", "size", lambda s: s.affine_grid(THETA, (1, 2, 3, 0))),
    ("stn", "size", lambda s: s.affine_grid(THETA, (1, 2, -1, -1))),
    ("stn", "input", lambda s: s.grid_sample(IMG[:, :, :0], torch.zeros(1, 2, 2, 2, dtype=torch.float64))),
    ("stn", "input", lambda s: s.grid_sample(IMG[:, :, :, :0], torch.zeros(1, 2, 2, 2, dtype=torch.float64))),
]


@pytest.mark.parametrize("task, name, call", task_rows(REJECTED))
def test_every_bound_a_hair_past_is_rejected(student, task, name, call):
    with pytest.raises(ValueError, match=name):
        call(student)


# ------------------------------------------------------------------------------- accepted bounds
def _scales(m, s_min, s_max):
    if m == 1:
        return [s_min, s_max]
    return [s_min + (s_max - s_min) * k / (m - 1) for k in range(m)] + [1.0]


def _default_boxes(sizes, ratios, s_min=0.2, s_max=0.9, clip=True):
    sc = _scales(len(sizes), s_min, s_max)
    rows = []
    for k, (fh, fw) in enumerate(sizes):
        wh = [(sc[k], sc[k]), (math.sqrt(sc[k] * sc[k + 1]),) * 2]
        for r in ratios[k]:
            wh += [(sc[k] * math.sqrt(r), sc[k] / math.sqrt(r)), (sc[k] / math.sqrt(r), sc[k] * math.sqrt(r))]
        for i in range(fh):
            for j in range(fw):
                for w, h in wh:
                    if clip:
                        w, h = min(max(w, 0.0), 1.0), min(max(h, 0.0), 1.0)
                    rows.append([(j + 0.5) / fw, (i + 0.5) / fh, w, h])
    return torch.tensor(rows, dtype=torch.float64)


def _encode(boxes, priors, v0, v1):
    c = (boxes[:, :2] + boxes[:, 2:]) / 2
    wh = boxes[:, 2:] - boxes[:, :2]
    return torch.cat([(c - priors[:, :2]) / (v0 * priors[:, 2:]), torch.log(wh / priors[:, 2:]) / v1], 1)


def _decode(codes, priors, v0, v1):
    c = priors[:, :2] + codes[:, :2] * v0 * priors[:, 2:]
    wh = priors[:, 2:] * torch.exp(codes[:, 2:] * v1)
    return torch.cat([c - wh / 2, c + wh / 2], 1)


def _cells(boxes, S):
    out = []
    for x1, y1, x2, y2 in boxes.tolist():
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        out.append([min(max(math.floor(cy * S), 0), S - 1), min(max(math.floor(cx * S), 0), S - 1)])
    return torch.tensor(out, dtype=torch.int64).reshape(-1, 2)


# centres slightly outside the image on each side (a box crossing the border): clamped into the grid
OUTSIDE = torch.tensor([[-0.2, -0.3, 0.1, 0.2], [0.8, 0.9, 1.3, 1.2], [-0.4, 0.4, 0.3, 0.6],
                        [0.6, -0.5, 0.9, 0.45], [0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)

ACCEPTED = [
    ("ssd", "num_maps=1", lambda s: torch.tensor(s.ssd_scales(1, 0.3, 0.7), dtype=torch.float64),
     lambda: torch.tensor([0.3, 0.7], dtype=torch.float64), 1e-12),
    ("ssd", "s_min=s_max", lambda s: torch.tensor(s.ssd_scales(3, 0.4, 0.4), dtype=torch.float64),
     lambda: torch.tensor([0.4, 0.4, 0.4, 1.0], dtype=torch.float64), 1e-12),
    ("ssd", "s_max=1", lambda s: torch.tensor(s.ssd_scales(2, 0.5, 1.0), dtype=torch.float64),
     lambda: torch.tensor([0.5, 1.0, 1.0], dtype=torch.float64), 1e-12),
    ("ssd", "s_min=s_max=1", lambda s: torch.tensor(s.ssd_scales(1, 1.0, 1.0), dtype=torch.float64),
     lambda: torch.tensor([1.0, 1.0], dtype=torch.float64), 1e-12),
    ("ssd", "s_min tiny", lambda s: torch.tensor(s.ssd_scales(3, 1e-6, 0.9), dtype=torch.float64),
     lambda: torch.tensor(_scales(3, 1e-6, 0.9), dtype=torch.float64), 1e-12),
    ("ssd", "feature size 1 x 1", lambda s: s.default_boxes([(1, 1)], [[2]], dtype=torch.float64),
     lambda: _default_boxes([(1, 1)], [[2]]), 1e-12),
    ("ssd", "feature size 1 x 3, 2 x 1", lambda s: s.default_boxes([(1, 3), (2, 1)], [[], [3]], 0.3, 0.8,
                                                                     dtype=torch.float64),
     lambda: _default_boxes([(1, 3), (2, 1)], [[], [3]], 0.3, 0.8), 1e-12),
    ("ssd", "no clip, sizes above 1", lambda s: s.default_boxes([(2, 3), (1, 1)], [[3], [2, 3]], 0.6, 0.95,
                                                                 clip=False, dtype=torch.float64),
     lambda: _default_boxes([(2, 3), (1, 1)], [[3], [2, 3]], 0.6, 0.95, clip=False), 1e-12),
    ("ssd", "clip, sizes above 1", lambda s: s.default_boxes([(2, 3), (1, 1)], [[3], [2, 3]], 0.6, 0.95,
                                                              dtype=torch.float64),
     lambda: _default_boxes([(2, 3), (1, 1)], [[3], [2, 3]], 0.6, 0.95), 1e-12),
    ("ssd", "tiny variances", lambda s: s.ssd_encode(GT2[[0, 1, 0]], PRIORS, (1e-3, 1e-3)),
     lambda: _encode(GT2[[0, 1, 0]], PRIORS, 1e-3, 1e-3), 1e-9),
    ("ssd", "large variances", lambda s: s.ssd_decode(LOC[0], PRIORS, (2.0, 0.7)),
     lambda: _decode(LOC[0], PRIORS, 2.0, 0.7), 1e-12),
    ("ssd", "variances as a list", lambda s: s.ssd_decode(LOC[0], PRIORS, [0.3, 0.4]),
     lambda: _decode(LOC[0], PRIORS, 0.3, 0.4), 1e-12),
    ("ssd", "neg_pos_ratio=0", lambda s: s.hard_negative_mining(CE, POS, 0),
     lambda: torch.zeros(2, 5, dtype=torch.bool), 0),
    ("yolo", "S=1", lambda s: s.yolo_cell_index(OUTSIDE, 1), lambda: torch.zeros(5, 2, dtype=torch.int64), 0),
    ("yolo", "centres outside, S=3", lambda s: s.yolo_cell_index(OUTSIDE, 3), lambda: _cells(OUTSIDE, 3), 0),
    ("yolo", "centres outside, S=7", lambda s: s.yolo_cell_index(OUTSIDE.float(), 7), lambda: _cells(OUTSIDE, 7), 0),
    ("yolo", "labels 0 and C - 1", lambda s: s.yolo_targets(YPRED, YBOX, torch.tensor([2, 0]), 2, 2, 3)[0][..., 10:],
     lambda: torch.tensor([[[0, 0, 1.0], [0, 0, 0]], [[0, 0, 0], [1.0, 0, 0]]], dtype=torch.float64), 0),
    ("stn", "H = W = 1", lambda s: s.affine_grid(THETA, (1, 2, 1, 1)),
     lambda: F.affine_grid(THETA, [1, 2, 1, 1], align_corners=False), 1e-12),
    ("stn", "H = 1, align_corners", lambda s: s.affine_grid(THETA, (1, 2, 1, 4), align_corners=True),
     lambda: F.affine_grid(THETA, [1, 2, 1, 4], align_corners=True), 1e-12),
    ("stn", "W = 1", lambda s: s.affine_grid(THETA, [1, 3, 5, 1]),
     lambda: F.affine_grid(THETA, [1, 3, 5, 1], align_corners=False), 1e-12),
    ("stn", "empty batch", lambda s: s.affine_grid(THETA[:0], (0, 1, 2, 3)),
     lambda: torch.zeros(0, 2, 3, 2, dtype=torch.float64), 0),
    ("stn", "1 x 1 input", lambda s: s.grid_sample(IMG[:, :, :1, :1], THETA.new_tensor([[[[0.3, -0.2], [1.5, 0.0]]]])),
     lambda: F.grid_sample(IMG[:, :, :1, :1], THETA.new_tensor([[[[0.3, -0.2], [1.5, 0.0]]]]), align_corners=False),
     1e-12),
    ("stn", "1 x 4 input, align_corners",
     lambda s: s.grid_sample(IMG[:, :, :1], THETA.new_tensor([[[[0.3, 0.0], [-0.9, 0.0], [0.6, 0.0]]]]), True),
     lambda: F.grid_sample(IMG[:, :, :1], THETA.new_tensor([[[[0.3, 0.0], [-0.9, 0.0], [0.6, 0.0]]]]),
                           align_corners=True), 1e-12),
    ("stn", "height = width = 18", lambda s: s.SpatialTransformer(2, 18, 18)(IMG.new_ones(1, 2, 18, 18).float()),
     lambda: torch.ones(1, 2, 18, 18), 1e-5),
    ("stn", "height = 18, width = 19",
     lambda s: s.SpatialTransformer(1, 18, 19, out_size=(6, 5)).theta(torch.ones(2, 1, 18, 19)),
     lambda: torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(2, 2, 3), 0),
    ("stn", "forward at 25 x 21", lambda s: s.SpatialTransformer(1, 25, 21)(IMG.new_ones(3, 1, 25, 21).float()),
     lambda: torch.ones(3, 1, 25, 21), 1e-5),
    ("stn", "forward at 21 x 25", lambda s: s.SpatialTransformer(1, 21, 25)(IMG.new_ones(2, 1, 21, 25).float()),
     lambda: torch.ones(2, 1, 21, 25), 1e-5),
]


@pytest.mark.parametrize("task, name, call, oracle, tol", task_rows(ACCEPTED))
def test_every_bound_is_accepted_with_the_documented_result(student, task, name, call, oracle, tol):
    got, expected = call(student), oracle()
    assert_tensor(got, expected, atol=tol, rtol=tol, case=name)


# the STN's size bound (height, width >= 18) at and a hair past it, and odd sizes where a wrong
# floor in h = ((height - 6) // 2 - 4) // 2 changes the Linear's size; the module must also work
# there: at initialisation its output equals its input (the identity transform)
@pytest.mark.task("stn")
@pytest.mark.parametrize("height, width", [(18, 18), (18, 19), (19, 18), (25, 21), (21, 25), (29, 33)])
def test_stn_sizes_at_and_past_the_bound(student, height, width):
    stn = student.SpatialTransformer(2, height, width)
    x = torch.randn(3, 2, height, width, generator=torch.Generator().manual_seed(height * width))
    assert_tensor(stn(x), x, atol=1e-5, rtol=1e-5, case=f"identity at initialisation, {height} x {width}")
    fh, fw = ((height - 6) // 2 - 4) // 2, ((width - 6) // 2 - 4) // 2
    got = tuple(stn.state_dict()["fc_loc.0.weight"].shape)
    assert got == (32, 10 * fh * fw), f"fc_loc[0] must be Linear(10 * {fh} * {fw}, 32) at {height} x {width}, got {got}"
    with pytest.raises(ValueError, match="height"):
        student.SpatialTransformer(2, 17, width)
    with pytest.raises(ValueError, match="width"):
        student.SpatialTransformer(2, height, 17)


@pytest.mark.task("stn")
def test_stn_out_size_at_the_bound(student):
    stn = student.SpatialTransformer(1, 19, 18, out_size=(6, 5))
    x = torch.randn(2, 1, 19, 18, generator=torch.Generator().manual_seed(4))
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(2, 2, 3)
    expected = F.grid_sample(x, F.affine_grid(identity, [2, 1, 6, 5], align_corners=False), align_corners=False)
    assert_tensor(stn(x), expected, atol=1e-5, rtol=1e-5, case="out_size (6, 5) of a 19 x 18 input")


# ------------------------------------------------------------------------------- dimensions and dtypes
# P or N disagreeing between loc_pred, conf_pred and priors: any of them may be named
_P_OR_N = "loc_pred|conf_pred|priors"

DIMS = [
    ("yolo", "boxes", ValueError, lambda s: s.yolo_cell_index(YBOX[0], 2)),
    ("yolo", "boxes", ValueError, lambda s: s.yolo_cell_index(YBOX[:, :3], 2)),
    ("yolo", "boxes", ValueError, lambda s: s.yolo_cell_index(YBOX[None], 2)),
    ("yolo", "boxes", TypeError, lambda s: s.yolo_cell_index(YBOX.long(), 2)),
    ("yolo", "pred", ValueError, lambda s: s.yolo_decode(YPRED[0], 2, 2, 3)),
    ("yolo", "pred", ValueError, lambda s: s.yolo_decode(YPRED[..., :-1], 2, 2, 3)),
    ("yolo", "pred", ValueError, lambda s: s.yolo_decode(YPRED[:1], 2, 2, 3)),
    ("yolo", "pred", ValueError, lambda s: s.yolo_targets(YPRED[None], YBOX, LAB2, 2, 2, 3)),
    ("yolo", "pred", ValueError, lambda s: s.yolo_targets(YPRED[:, :1], YBOX, LAB2, 2, 2, 3)),
    ("yolo", "boxes", ValueError, lambda s: s.yolo_targets(YPRED, YBOX[:, :3], LAB2, 2, 2, 3)),
    ("yolo", "boxes", TypeError, lambda s: s.yolo_targets(YPRED, YBOX.long(), LAB2, 2, 2, 3)),
    ("yolo", "labels|boxes", ValueError, lambda s: s.yolo_targets(YPRED, YBOX, LAB2[:1], 2, 2, 3)),
    ("yolo", "labels", ValueError, lambda s: s.yolo_targets(YPRED, YBOX, LAB2[None], 2, 2, 3)),
    ("yolo", "pred|boxes|labels", ValueError, lambda s: s.yolo_loss(YPRED, [YBOX], [LAB2], 2, 2, 3)),
    ("yolo", "pred", ValueError, lambda s: s.yolo_loss(YPRED[None, None], [YBOX], [LAB2], 2, 2, 3)),
    # seed 967: an empty batch is still checked (its own check, not only the per-image targets')
    ("yolo", "pred", ValueError, lambda s: s.yolo_loss(YPRED[None, :, :, :-1][:0], [], [], 2, 2, 3)),
    ("yolo", "boxes", ValueError, lambda s: s.yolo_loss(YPRED[None], [YBOX, YBOX], [LAB2], 2, 2, 3)),
    ("yolo", "labels", ValueError, lambda s: s.yolo_loss(YPRED[None], [YBOX], [LAB2, LAB2], 2, 2, 3)),
    ("ssd", "gt_boxes", ValueError, lambda s: s.ssd_match(GT2[0], PRIORS)),
    ("ssd", "gt_boxes", ValueError, lambda s: s.ssd_match(GT2[:, :3], PRIORS)),
    ("ssd", "priors", ValueError, lambda s: s.ssd_match(GT2, PRIORS[:, :3])),
    ("ssd", "priors", ValueError, lambda s: s.ssd_match(GT2, PRIORS[None])),
    ("ssd", "boxes|priors", ValueError, lambda s: s.ssd_encode(GT2, PRIORS)),
    ("ssd", "priors|boxes", ValueError, lambda s: s.ssd_encode(GT2[0], PRIORS[0])),
    ("ssd", "codes|priors", ValueError, lambda s: s.ssd_decode(LOC[0, :2], PRIORS)),
    # boxes / codes with the same bad shape as the priors: the priors' own check rejects them
    ("ssd", "priors|boxes", ValueError, lambda s: s.ssd_encode(GT2[[0, 1, 0], :3], PRIORS[:, :3])),
    ("ssd", "priors|boxes", ValueError, lambda s: s.ssd_encode(GT2[[0, 1, 0]][None], PRIORS[None])),
    ("ssd", "priors|boxes", ValueError, lambda s: s.ssd_encode(GT2[:, [0, 1, 2, 3, 3]],
                                                                    PRIORS[:2, [0, 1, 2, 3, 3]])),
    ("ssd", "priors|codes", ValueError, lambda s: s.ssd_decode(LOC[0, :, :3], PRIORS[:, :3])),
    ("ssd", "priors|codes", ValueError, lambda s: s.ssd_decode(LOC, PRIORS[None])),
    ("ssd", "priors|codes", ValueError, lambda s: s.ssd_decode(LOC[0, :, [0, 1, 2, 3, 3]], PRIORS[:, [0, 1, 2, 3, 3]])),
    ("ssd", "conf_loss|positives", ValueError, lambda s: s.hard_negative_mining(CE[0], POS[0])),
    ("ssd", "conf_loss|positives", ValueError, lambda s: s.hard_negative_mining(CE, POS[:1])),
    ("ssd", "conf_loss|positives", ValueError, lambda s: s.hard_negative_mining(CE[:, :4], POS)),
    ("ssd", "positives", (ValueError, TypeError), lambda s: s.hard_negative_mining(CE, POS.long())),
    ("ssd", "loc_pred", ValueError, lambda s: s.multibox_loss(LOC[0], CONF, [GT2], [LAB2], PRIORS)),
    ("ssd", _P_OR_N, ValueError, lambda s: s.multibox_loss(LOC[:, :2], CONF, [GT2], [LAB2], PRIORS)),
    ("ssd", "loc_pred", ValueError, lambda s: s.multibox_loss(LOC[..., :3], CONF, [GT2], [LAB2], PRIORS)),
    ("ssd", "conf_pred", ValueError, lambda s: s.multibox_loss(LOC, CONF[0], [GT2], [LAB2], PRIORS)),
    ("ssd", _P_OR_N, ValueError, lambda s: s.multibox_loss(LOC, CONF[:, :2], [GT2], [LAB2], PRIORS)),
    ("ssd", _P_OR_N, ValueError, lambda s: s.multibox_loss(LOC, CONF.expand(2, 3, 3), [GT2], [LAB2], PRIORS)),
    ("ssd", "priors", ValueError, lambda s: s.multibox_loss(LOC, CONF, [GT2], [LAB2], PRIORS[:, :3])),
    ("ssd", "gt_boxes|gt_labels", ValueError, lambda s: s.multibox_loss(LOC, CONF, [GT2, GT2], [LAB2], PRIORS)),
    ("ssd", "gt_labels|gt_boxes", ValueError, lambda s: s.multibox_loss(LOC, CONF, [GT2], [LAB2, LAB2], PRIORS)),
    ("ssd", "gt_labels|gt_boxes", ValueError, lambda s: s.multibox_loss(LOC, CONF, [GT2], [LAB2[:1]], PRIORS)),
    ("stn", "theta", ValueError, lambda s: s.affine_grid(THETA[0], (1, 1, 2, 2))),
    ("stn", "theta", ValueError, lambda s: s.affine_grid(THETA[:, :, :2], (1, 1, 2, 2))),
    ("stn", "theta", ValueError, lambda s: s.affine_grid(torch.zeros(1, 3, 3, dtype=torch.float64), (1, 1, 2, 2))),
    ("stn", "theta", TypeError, lambda s: s.affine_grid(THETA.long(), (1, 1, 2, 2))),
    ("stn", "size", ValueError, lambda s: s.affine_grid(THETA, (1, 2, 2))),
    ("stn", "size", ValueError, lambda s: s.affine_grid(THETA, (1, 1, 2, 2, 2))),
    ("stn", "size|theta", ValueError, lambda s: s.affine_grid(THETA, (2, 1, 2, 2))),  # N disagrees
    ("stn", "input", ValueError, lambda s: s.grid_sample(IMG[0], torch.zeros(1, 2, 2, 2, dtype=torch.float64))),
    ("stn", "grid", ValueError, lambda s: s.grid_sample(IMG, torch.zeros(1, 2, 2, 3, dtype=torch.float64))),
    ("stn", "grid", ValueError, lambda s: s.grid_sample(IMG, torch.zeros(2, 2, 2, dtype=torch.float64))),
    ("stn", "grid|input", ValueError, lambda s: s.grid_sample(IMG, torch.zeros(2, 2, 2, 2, dtype=torch.float64))),
    ("stn", "grid|input", TypeError, lambda s: s.grid_sample(IMG, torch.zeros(1, 2, 2, 2, dtype=torch.float32))),
    ("stn", "grid|input", TypeError, lambda s: s.grid_sample(IMG.long(), torch.zeros(1, 2, 2, 2).long())),
]


# int32 labels: the docstrings say int64, but their Raises sections list no dtype error for the
# labels (yolo_targets names only boxes), so three independent solutions read them as integers:
# refused by name, or read exactly as the int64 labels
@pytest.mark.parametrize("call", [
    pytest.param(lambda s, lab: s.yolo_targets(YPRED, YBOX, lab, 2, 2, 3), marks=pytest.mark.task("yolo"), id="yolo"),
    pytest.param(lambda s, lab: s.multibox_loss(LOC, CONF, [GT2], [lab], PRIORS), marks=pytest.mark.task("ssd"),
                 id="ssd"),
])
def test_int32_labels_are_refused_by_name_or_read_exactly(student, call):
    assert_refused_or_same(lambda: call(student, LAB2.int()), lambda: call(student, LAB2), name="labels",
                           case="int32 labels read as the int64 ones")


@pytest.mark.parametrize("task, name, exc, call", task_rows(DIMS))
def test_wrong_dimensions_and_dtypes_name_the_argument(student, task, name, exc, call):
    with pytest.raises(exc, match=name):
        call(student)

pytestmark = pytest.mark.filterwarnings("ignore:Since version 1.3.0:UserWarning")


# ------------------------------------------------------------------------------- mixed dtypes
# results promised in one argument's dtype, the others in the other float dtype: float32 ->
# float64 is exact, so a float64 result must equal the all-float64 formula tightly
P32 = PRIORS.float()
G3 = GT2[[0, 1, 0]]
MIXED = [
    ("ssd", "encode: boxes float64, priors float32", lambda s: s.ssd_encode(G3, P32, (0.1, 0.2)),
     lambda: _encode(G3, P32.double(), 0.1, 0.2), 1e-12),
    ("ssd", "encode: boxes float32, priors float64", lambda s: s.ssd_encode(G3.float(), PRIORS, (0.1, 0.2)),
     lambda: _encode(G3.float().double(), PRIORS, 0.1, 0.2).float(), 1e-5),
    ("ssd", "decode: codes float64, priors float32", lambda s: s.ssd_decode(LOC[0], P32, (0.1, 0.2)),
     lambda: _decode(LOC[0], P32.double(), 0.1, 0.2), 1e-12),
    ("ssd", "decode: codes float32, priors float64", lambda s: s.ssd_decode(LOC[0].float(), PRIORS, (0.1, 0.2)),
     lambda: _decode(LOC[0].float().double(), PRIORS, 0.1, 0.2).float(), 1e-5),
    ("ssd", "default boxes float64", lambda s: s.default_boxes([(3, 2)], [[2, 3]], 0.35, 0.35, dtype=torch.float64),
     lambda: _default_boxes([(3, 2)], [[2, 3]], 0.35, 0.35), 1e-15),
    ("yolo", "cell index of float32 boxes", lambda s: s.yolo_cell_index(YBOX.float(), 5),
     lambda: _cells(YBOX.float().double(), 5), 0),
]


@pytest.mark.parametrize("task, name, call, oracle, tol", task_rows(MIXED))
def test_mixed_dtypes_give_the_documented_dtype(student, task, name, call, oracle, tol):
    assert_tensor(call(student), oracle(), atol=tol, rtol=tol, case=name)


# ------------------------------------------------------------------------------- seed 715
# the documented clamp sqrt(max(w^, 1e-9)) of each predicted size (w and h, zero and negative),
# tightly: the other terms are exact, and the IoU target is 0 (the decoded box, centred at x = 0.25
# with a width of at most 0.3, or of width 0, does not overlap the ground truth's 0.45 .. 0.55)
@pytest.mark.task("yolo")
@pytest.mark.parametrize("w, h", [(-0.2, 0.3), (0.3, -0.2), (0.0, -1.0), (-1.0, 0.0), (1e-9, 2e-9)])
def test_loss_clamps_each_predicted_size_at_1e_9(student, w, h):
    gt = [torch.tensor([[0.45, 0.4, 0.55, 0.6]], dtype=torch.float64)]  # w = 0.1, h = 0.2, centre (0.5, 0.5)
    pred = torch.tensor([[[[0.25, 0.5, w, h, 0.4, 0.7]]]], dtype=torch.float64)
    got = student.yolo_loss(pred, gt, [torch.tensor([0])], S=1, B=1, C=1, lambda_coord=5.0, lambda_noobj=0.5)
    iou = 0.0
    size = (math.sqrt(0.1) - math.sqrt(max(w, 1e-9))) ** 2 + (math.sqrt(0.2) - math.sqrt(max(h, 1e-9))) ** 2
    expected = 5.0 * ((0.5 - 0.25) ** 2 + size) + (iou - 0.4) ** 2 + (1.0 - 0.7) ** 2
    assert_tensor(got, torch.tensor(expected, dtype=torch.float64), atol=1e-14, rtol=1e-14,
                  case=f"predicted w = {w}, h = {h}")
