"""Hidden tests of the pasted box helpers (boxes.py), under the tasks whose graded functions call
them: decode, clip, IoU and per-class NMS [retinanet] (RetinaNet's postprocessing), the box coder's
encoding and small-box removal [rpn] (the RPN's targets and proposals), RoI Align [fpn]
(multiscale_roi_align). `detection` grades them in depth; this is the short check that a pasted
copy still behaves, so a mistake in a helper costs points here too.

Oracles: torchvision.ops (box_iou, nms, batched_nms, clip_boxes_to_image, remove_small_boxes,
roi_align) and torchvision's BoxCoder.
"""

import math

import pytest
import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder

from harness.testkit import assert_tensor


def _boxes(n, seed, size=60.0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size / 2 + 0.5
    return torch.cat([xy, xy + wh], 1).to(dtype)


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_box_iou_matches_torchvision(student, dtype):
    a, b = _boxes(7, 1, dtype=dtype), _boxes(5, 2, dtype=dtype)
    b[0] = a[0]  # identical pair: IoU 1
    b[1] = torch.tensor([200.0, 200.0, 210.0, 210.0], dtype=dtype)  # far away: IoU 0
    assert_tensor(student.box_iou(a, b), torchvision.ops.box_iou(a, b), atol=1e-6, rtol=1e-6)
    assert_tensor(student.box_iou(a[:0], b), torch.zeros(0, 5, dtype=dtype), case="no boxes1")
    assert_tensor(student.box_iou(a, b[:0]), torch.zeros(7, 0, dtype=dtype), case="no boxes2")


@pytest.mark.task("retinanet")
def test_box_iou_of_large_half_precision_boxes_is_float32(student):
    # 300 x 300 areas overflow float16 (max 65504): the docstring computes them in float32
    a = torch.tensor([[0.0, 0.0, 300.0, 300.0], [10.0, 10.0, 400.0, 290.0]])
    for dtype in (torch.float16, torch.bfloat16):
        got = student.box_iou(a.to(dtype), a.to(dtype))
        assert_tensor(got, torchvision.ops.box_iou(a.to(dtype).float(), a.to(dtype).float()), atol=1e-6,
                      case=f"{dtype} boxes")


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.7])
def test_nms_and_batched_nms_match_torchvision(student, thr):
    boxes = _boxes(60, 3, size=40.0)
    scores = torch.randperm(60, generator=torch.Generator().manual_seed(4)).float() / 60  # distinct
    idxs = torch.randint(0, 3, (60,), generator=torch.Generator().manual_seed(5))
    assert_tensor(student.nms(boxes, scores, thr), torchvision.ops.nms(boxes, scores, thr), case=f"nms {thr}")
    assert_tensor(student.batched_nms(boxes, scores, idxs, thr), torchvision.ops.batched_nms(boxes, scores, idxs, thr),
                  case=f"batched_nms {thr}")
    empty = torch.zeros(0, dtype=torch.int64)
    assert_tensor(student.nms(boxes[:0], scores[:0], thr), empty, case="no boxes")
    assert_tensor(student.batched_nms(boxes[:0], scores[:0], idxs[:0], thr), empty, case="no boxes, batched")


@pytest.mark.task("rpn")
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 0.5, 4.0)])
def test_encode_boxes_matches_the_box_coder(student, weights):
    g, p = _boxes(20, 6), _boxes(20, 7)
    expected = BoxCoder(weights).encode_single(g, p)
    assert_tensor(student.encode_boxes(g, p, weights), expected, atol=1e-5, rtol=1e-5, case=f"weights {weights}")
    g64, p64 = g.double(), p.double()
    assert_tensor(student.encode_boxes(g64, p64, weights), BoxCoder(weights).encode_single(g64, p64), atol=1e-12,
                  case=f"float64, weights {weights}")
    assert student.encode_boxes(g[:0], p[:0], weights).shape == (0, 4)


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("thr", [0.0, 0.4])
def test_nms_visits_equal_scores_in_input_order(student, thr):
    # seed 955: "equal scores in input order (a stable sort)"; from about 32 tied scores on, torch's
    # default sort orders ties otherwise. Oracle: torchvision on distinct scores that rank the boxes
    # by (score, input order)
    boxes = _boxes(48, 6, size=80.0)
    scores = (torch.arange(48) % 3).float() / 4  # three values, 16 boxes each
    idxs = torch.randint(0, 2, (48,), generator=torch.Generator().manual_seed(7))
    order = torch.sort(scores, descending=True, stable=True).indices
    ranked = torch.empty(48)
    ranked[order] = torch.arange(48, 0, -1).float()
    assert_tensor(student.nms(boxes, scores, thr), torchvision.ops.nms(boxes, ranked, thr),
                  case=f"nms, 3 distinct scores over 48 boxes, threshold {thr}")
    assert_tensor(student.batched_nms(boxes, scores, idxs, thr), torchvision.ops.batched_nms(boxes, ranked, idxs, thr),
                  case=f"batched_nms, 3 distinct scores over 48 boxes in 2 categories, threshold {thr}")


@pytest.mark.task("retinanet")
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_decode_boxes_matches_the_box_coder(student, weights):
    p = _boxes(20, 8)
    codes = torch.randn(20, 4, generator=torch.Generator().manual_seed(9))
    codes[0, 2:] = torch.tensor([40.0, -40.0]) * torch.tensor(weights[2:])  # beyond log(1000 / 16): clamped
    expected = BoxCoder(weights).decode_single(codes, p)
    assert_tensor(student.decode_boxes(codes, p, weights), expected, atol=1e-4, rtol=1e-5, case=f"weights {weights}")
    assert float(expected[0, 2] - expected[0, 0]) == pytest.approx(1000 / 16 * float(p[0, 2] - p[0, 0]), rel=1e-5)
    assert student.decode_boxes(codes[:0], p[:0], weights).shape == (0, 4)


@pytest.mark.task("retinanet")
def test_clip_boxes_to_image_matches_torchvision(student):
    boxes = _boxes(30, 10, size=80.0) - 15.0  # some cross every side
    for size in ((50, 70), (70, 50), (1, 1)):
        assert_tensor(student.clip_boxes_to_image(boxes, size), torchvision.ops.clip_boxes_to_image(boxes, size),
                      case=f"image (height, width) = {size}")


@pytest.mark.task("rpn")
def test_remove_small_boxes_matches_torchvision(student):
    boxes = _boxes(40, 11, size=10.0)
    boxes[0] = torch.tensor([0.0, 0.0, 2.0, 5.0])  # width exactly at min_size 2: kept
    boxes[1] = torch.tensor([0.0, 0.0, 5.0, 1.999])  # height just under: removed
    for min_size in (0.0, 2.0, 3.5):
        assert_tensor(student.remove_small_boxes(boxes, min_size),
                      torchvision.ops.remove_small_boxes(boxes, min_size), case=f"min_size {min_size}")


@pytest.mark.task("fpn")
@pytest.mark.parametrize("sampling_ratio, aligned", [(-1, False), (2, False), (0, True), (1, True)])
def test_roi_align_matches_torchvision(student, sampling_ratio, aligned):
    gen = torch.Generator().manual_seed(12)
    x = torch.randn(2, 3, 12, 16, generator=gen)
    rois = torch.cat([torch.tensor([[0.0], [1.0], [1.0], [0.0]]),
                      torch.tensor([[1.0, 2.0, 30.0, 20.0], [0.0, 0.0, 3.0, 3.0], [10.0, 4.0, 10.5, 4.5],
                                    [-5.0, -5.0, 40.0, 30.0]])], 1)  # large, small, sub-cell, beyond the map
    for size, scale in (((3, 4), 0.5), (1, 0.25)):
        expected = torchvision.ops.roi_align(x, rois, size, scale, sampling_ratio, aligned)
        assert_tensor(student.roi_align(x, rois, size, scale, sampling_ratio, aligned), expected, atol=1e-5,
                      case=f"output {size}, scale {scale}")
    got = student.roi_align(x, rois[:0], (2, 2), 0.5, sampling_ratio, aligned)
    assert_tensor(got, torch.zeros(0, 3, 2, 2), case="no RoIs")


@pytest.mark.task("fpn")
def test_roi_align_of_a_half_precision_map(student):
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(13)) * 100
    rois = torch.tensor([[0.0, 1.0, 1.0, 13.0, 9.0]])
    expected = torchvision.ops.roi_align(x.to(torch.bfloat16).float(), rois, 2, 0.5, 2).to(torch.bfloat16)
    assert_tensor(student.roi_align(x.to(torch.bfloat16), rois.to(torch.bfloat16), 2, 0.5, 2), expected, atol=0.5,
                  rtol=1e-2, case="bfloat16 map, computed in float32")
    assert math.isfinite(float(expected.float().abs().max()))


# boxes.py seed 902: the helpers' own input checks, per-class NMS of half-precision boxes far from
# the origin, float64 RoI Align to float64 precision, and an adaptive grid of zero samples
@pytest.mark.task("retinanet")
@pytest.mark.parametrize("name, call", [
    ("boxes2", lambda s: s.box_iou(_boxes(3, 1), _boxes(3, 2).tolist())),
    ("boxes2", lambda s: s.box_iou(_boxes(3, 1), _boxes(3, 2)[:, :3])),
    ("boxes1", lambda s: s.box_iou(_boxes(3, 1)[None], _boxes(3, 2))),
    ("boxes", lambda s: s.batched_nms(_boxes(3, 1)[:, :2], torch.rand(3), torch.zeros(3, dtype=torch.int64), 0.5)),
    ("boxes", lambda s: s.batched_nms(_boxes(3, 1).tolist(), torch.rand(3), torch.zeros(3, dtype=torch.int64), 0.5)),
    ("boxes", lambda s: s.nms(_boxes(3, 1)[:, :2], torch.rand(3), 0.5)),
    ("boxes", lambda s: s.nms(_boxes(3, 1).tolist(), torch.rand(3), 0.5)),
], ids=["iou-list", "iou-cols", "iou-rank", "batched-cols", "batched-list", "nms-cols", "nms-list"])
def test_box_helpers_name_the_bad_argument(student, name, call):
    with pytest.raises((TypeError, ValueError), match=name):
        call(student)


@pytest.mark.task("retinanet")
def test_batched_nms_of_half_precision_boxes_far_from_the_origin(student):
    # 30 x 30 boxes and a near copy of each, spread over 3000 px, in 3 classes: offsetting the
    # classes apart in float16 / bfloat16 (spacing 4-32 px out there) moves boxes and changes
    # which copy survives; the helpers compute in float32 for half precision, as torchvision
    gen = torch.Generator().manual_seed(14)
    corner = torch.rand(40, 2, generator=gen) * 3000
    first = torch.cat([corner, corner + 30], 1)
    boxes = torch.cat([first, first + torch.rand(40, 4, generator=gen) * 12 - 6])
    scores = torch.randperm(80, generator=gen).float() / 80
    idxs = torch.randint(0, 3, (80,), generator=gen)
    for dtype in (torch.float16, torch.bfloat16):
        for thr in (0.5123, 0.6187, 0.7031):  # half-precision boxes have whole coordinates out there:
            half = boxes.to(dtype)               # thresholds off the simple ratios their IoUs take
            expected = torchvision.ops.batched_nms(half.float(), scores, idxs, thr)
            assert_tensor(student.batched_nms(half, scores, idxs, thr), expected,
                          case=f"{dtype} boxes over 3000 px, IoU {thr}")


@pytest.mark.task("fpn")
def test_roi_align_in_float64_to_float64_precision(student):
    gen = torch.Generator().manual_seed(17)
    x = torch.randn(1, 2, 10, 12, generator=gen, dtype=torch.float64)
    rois = torch.tensor([[0.0, 1.3, 2.7, 17.9, 15.1], [0.0, 0.1, 0.2, 5.3, 3.3]], dtype=torch.float64)
    for sampling_ratio in (-1, 3):
        expected = torchvision.ops.roi_align(x, rois, (3, 2), 0.5, sampling_ratio, False)
        assert_tensor(student.roi_align(x, rois, (3, 2), 0.5, sampling_ratio, False), expected, atol=1e-12, rtol=0,
                      case=f"float64, sampling_ratio {sampling_ratio}")


@pytest.mark.task("fpn")
def test_roi_align_adaptive_grid_of_zero_samples_between_normal_rois(student):
    # aligned=True keeps a zero-width RoI zero-wide: ceil(0 / ow) = 0 samples, output 0
    # (torchvision: a sum of no samples over max(count, 1)); the RoIs after it are still pooled
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(18))
    rois = torch.tensor([[0.0, 1.0, 1.0, 7.0, 5.0], [0.0, 2.0, 2.0, 2.0, 6.0], [0.0, 0.5, 3.0, 6.5, 7.5],
                         [0.0, 3.0, 1.0, 6.0, 1.0]])
    expected = torchvision.ops.roi_align(x, rois, 2, 1.0, -1, True)
    assert float(expected[1].abs().max()) == 0.0 and float(expected[3].abs().max()) == 0.0
    assert_tensor(student.roi_align(x, rois, 2, 1.0, -1, True), expected, atol=1e-5,
                  case="zero-width and zero-height RoIs between normal ones, adaptive grid, aligned")


# boxes.py seed 903: mixed dtypes of the coder's inputs and of RoI Align's boxes, remove_small_boxes
# at min_size exactly on the height, RoI Align samples exactly on the -1 / H, W limits, and the
# adaptive grid of a RoI narrower than one feature cell (aligned=False clamps it to 1)
@pytest.mark.task("retinanet")
def test_decode_boxes_with_float64_codes_and_float32_boxes(student):
    p = _boxes(10, 19)
    codes = torch.randn(10, 4, generator=torch.Generator().manual_seed(20), dtype=torch.float64)
    expected = BoxCoder((10.0, 10.0, 5.0, 5.0)).decode_single(codes, p)  # boxes go to the codes' dtype
    assert_tensor(student.decode_boxes(codes, p, (10.0, 10.0, 5.0, 5.0)), expected, atol=1e-12,
                  case="float64 codes, float32 boxes")


@pytest.mark.task("rpn")
def test_remove_small_boxes_height_exactly_at_min_size(student):
    boxes = torch.tensor([[0.0, 0.0, 5.0, 2.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.999, 5.0], [1.0, 1.0, 9.0, 3.0]])
    expected = torchvision.ops.remove_small_boxes(boxes, 2.0)
    assert expected.tolist() == [0, 1, 3]
    assert_tensor(student.remove_small_boxes(boxes, 2.0), expected, case="sides exactly 2 are kept")


@pytest.mark.task("fpn")
def test_roi_align_samples_exactly_on_the_limits(student):
    # sampling_ratio 1, one bin: the sample sits at the RoI centre; centres exactly at -1 and at
    # H / W still read the border pixels (torchvision drops only samples beyond them)
    x = torch.randn(1, 2, 6, 8, generator=torch.Generator().manual_seed(21))
    rois = torch.tensor([[0.0, 2.0, -3.0, 4.0, 1.0], [0.0, -3.0, 2.0, 1.0, 4.0], [0.0, 6.0, 2.0, 10.0, 4.0],
                         [0.0, 2.0, 4.0, 4.0, 8.0], [0.0, -3.5, -3.5, 0.5, 0.5]])
    expected = torchvision.ops.roi_align(x, rois, 1, 1.0, 1, False)
    assert float(expected[:4].abs().min()) > 0  # the limit samples count
    assert_tensor(student.roi_align(x, rois, 1, 1.0, 1, False), expected, atol=1e-6,
                  case="sample centres at y = -1, x = -1, x = W, y = H and beyond")


@pytest.mark.task("fpn")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_roi_align_boxes_of_another_dtype_and_sub_cell_rois(student, dtype):
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(22))
    # 0.5 x 0.5 feature cells, clamped to 1 x 1 (aligned=False): adaptive grid of 1 sample per
    # axis (2 for a RoI clamped to 2 would straddle the pixel centres at 3 and 4)
    rois = torch.tensor([[0.0, 3.4, 2.4, 3.9, 2.9], [0.0, 1.2, 5.6, 1.7, 6.1]], dtype=dtype)
    expected = torchvision.ops.roi_align(x, rois.float(), 1, 1.0, -1, False)
    got = student.roi_align(x, rois, 1, 1.0, -1, False)
    assert_tensor(got, expected, atol=1e-6, case=f"{dtype} boxes on a float32 map, RoIs under one cell")
