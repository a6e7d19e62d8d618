"""Hidden tests of box_iou, generalized_box_iou [iou], nms and batched_nms [nms].

Oracles: torchvision.ops and hand-computed cases. Inputs are small; scores are distinct
wherever the order of kept boxes is compared (ties make NMS ambiguous), except in the test
that accepts every order of equal scores across categories.

Half precision: float16 / bfloat16 boxes wider and taller than ~181 pixels overflow an area
computed in float16, so the IoUs are computed in float32 and returned as float32, as
torchvision's ``_upcast`` does. The tolerance covers both ways to get there (convert the
boxes first, or subtract in half precision and convert the differences, as torchvision).
"""

import pytest
import torch
import torchvision

from harness.testkit import assert_same_elements, assert_tensor, check_gradient, devices

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(atol=1e-6, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
HALF = [torch.float16, torch.bfloat16]
# float32 IoUs of half-precision boxes against torchvision's: about 3x the largest difference
# between converting the boxes first and torchvision's half-precision subtraction (1.1e-3 in
# float16, 8.6e-3 in bfloat16 over 2000 random pairs of 60-450 pixel boxes)
HALF_IOU_TOL = {torch.float16: dict(atol=3e-3, rtol=0.0), torch.bfloat16: dict(atol=2.5e-2, rtol=0.0)}


def random_boxes(n, seed, dtype=torch.float32, high=50.0, max_size=20.0, min_size=1.0):
    """``n`` valid (x1, y1, x2, y2) boxes with sides in [min_size, max_size]."""
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * high
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * (max_size - min_size) + min_size
    return torch.cat([xy, xy + wh], dim=1).to(dtype)  # [n, 4]


def clustered_boxes(n, seed, dtype=torch.float32, clusters=8):
    """``n`` boxes jittered around ``clusters`` centres (lots of overlap) and distinct scores."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.rand(clusters, 2, generator=gen, dtype=torch.float64) * 200
    which = torch.randint(0, clusters, (n,), generator=gen)
    ctr = centres[which] + torch.randn(n, 2, generator=gen, dtype=torch.float64) * 4
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 30 + 10
    boxes = torch.cat([ctr - wh / 2, ctr + wh / 2], dim=1).to(dtype)  # [n, 4]
    scores = (torch.randperm(n, generator=gen).to(torch.float64) / n + 0.01).to(dtype)  # [n]
    return boxes, scores


def large_boxes(n, seed, dtype, high=800.0, min_size=60.0, max_size=450.0):
    """``n`` boxes of 60-450 pixels: most areas exceed float16's range (65504)."""
    return random_boxes(n, seed, dtype=dtype, high=high, max_size=max_size, min_size=min_size)


def near(boxes, seed, jitter=20.0):
    """Boxes overlapping ``boxes``: each corner moved by about ``jitter`` pixels."""
    gen = torch.Generator().manual_seed(seed)
    moved = boxes.double() + torch.randn(boxes.shape, generator=gen, dtype=torch.float64) * jitter
    return moved.to(boxes.dtype)


def large_clustered_boxes(n, seed, dtype, clusters=6):
    """``n`` boxes of 150-600 pixels around ``clusters`` centres, distinct scores in ``dtype``."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.rand(clusters, 2, generator=gen, dtype=torch.float64) * 1500 + 300
    which = torch.randint(0, clusters, (n,), generator=gen)
    ctr = centres[which] + torch.randn(n, 2, generator=gen, dtype=torch.float64) * 40
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 450 + 150
    boxes = torch.cat([ctr - wh / 2, ctr + wh / 2], dim=1).to(dtype)  # [n, 4]
    scores = (torch.randperm(n, generator=gen).to(torch.float64) / n + 0.01).to(dtype)  # [n]
    assert scores.unique().numel() == n, "scores must stay distinct in the test dtype"
    return boxes, scores


def as_int64(values):
    return torch.tensor(values, dtype=torch.int64)


# ================================================================ box_iou [iou]


@pytest.mark.task("iou")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", DTYPES)
def test_box_iou_matches_torchvision(student, dtype, device):
    boxes1, boxes2 = random_boxes(9, seed=1, dtype=dtype), random_boxes(7, seed=2, dtype=dtype)
    expected = torchvision.ops.box_iou(boxes1, boxes2).to(device)
    got = student.box_iou(boxes1.to(device), boxes2.to(device))
    assert_tensor(got, expected, **TOL[dtype], case=f"9 x 7 random boxes, {dtype}")


@pytest.mark.task("iou")
def test_box_iou_integer_boxes_have_no_plus_one(student):
    boxes1 = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 4.0, 4.0]])
    boxes2 = torch.tensor([[0.0, 0.0, 2.0, 1.0], [1.0, 1.0, 3.0, 3.0]])
    # [0,0,1,1] vs [0,0,2,1]: 1 / 2; [0,0,4,4] contains [1,1,3,3]: 4 / 16
    # [0,0,1,1] vs [1,1,3,3]: touch at a corner; [0,0,4,4] vs [0,0,2,1]: 2 / 16
    expected = torch.tensor([[0.5, 0.0], [0.125, 0.25]])
    assert_tensor(student.box_iou(boxes1, boxes2), expected, atol=1e-7, case="integer boxes, no +1")


@pytest.mark.task("iou")
def test_box_iou_large_coordinates_in_float64(student):
    # far from the origin, float32 would lose the small overlap
    boxes1 = random_boxes(4, seed=3, dtype=torch.float64, max_size=3.0) + 1e6
    boxes2 = random_boxes(5, seed=4, dtype=torch.float64, max_size=3.0, high=3.0) + 1e6
    expected = torchvision.ops.box_iou(boxes1, boxes2)
    got = student.box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-9, case="float64 boxes near 1e6")


@pytest.mark.task("iou")
@pytest.mark.parametrize("n, m", [(0, 3), (3, 0), (0, 0)])
def test_box_iou_empty(student, n, m):
    got = student.box_iou(random_boxes(n, seed=5), random_boxes(m, seed=6))
    assert_tensor(got, torch.zeros(n, m), case=f"N={n}, M={m}")


@pytest.mark.task("iou")
def test_box_iou_zero_area_boxes(student):
    boxes1 = torch.tensor(
        [
            [1.0, 1.0, 1.0, 1.0],  # a point
            [0.0, 0.0, 2.0, 0.0],  # a horizontal segment
            [0.0, 0.0, 4.0, 4.0],  # a normal box
        ]
    )
    boxes2 = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 3.0, 0.0], [1.0, 1.0, 2.0, 2.0]])
    # zero union -> 0 (not nan); zero-area boxes intersect nothing with positive area
    expected = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1 / 16]])
    got = student.box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-7, case="points, segments and a box")


@pytest.mark.task("iou")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_box_iou_half_precision_matches_torchvision(student, dtype, device):
    boxes1 = large_boxes(12, seed=40, dtype=dtype)
    boxes2 = torch.cat([large_boxes(6, seed=41, dtype=dtype), near(boxes1[:8], seed=42)])
    expected = torchvision.ops.box_iou(boxes1, boxes2).to(device)  # float32
    got = student.box_iou(boxes1.to(device), boxes2.to(device))
    assert_tensor(got, expected, **HALF_IOU_TOL[dtype], case=f"12 x 14 boxes of 60-450 pixels, {dtype}")


@pytest.mark.task("iou")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_box_iou_half_precision_does_not_overflow(student, dtype):
    # every coordinate is exact in both dtypes; areas 90000 and 45000 exceed float16's 65504
    boxes1 = torch.tensor([[0.0, 0.0, 300.0, 300.0], [100.0, 100.0, 612.0, 356.0]], dtype=dtype)
    boxes2 = torch.tensor([[0.0, 0.0, 300.0, 150.0], [100.0, 100.0, 356.0, 356.0]], dtype=dtype)
    # [0,0,300,300] contains [0,0,300,150]: 1/2; [100,100,612,356] (512 x 256) contains the
    # 256 x 256 box at its corner: 1/2; the crossed pairs overlap by 200 x 200 and 200 x 50
    expected = torch.tensor(
        [[0.5, 40000.0 / (90000 + 65536 - 40000)], [10000.0 / (131072 + 45000 - 10000), 0.5]]
    )
    got = student.box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-6, case=f"boxes of 300 and 512 pixels, {dtype}")


@pytest.mark.task("iou")
def test_box_iou_of_inverted_boxes_is_zero(student):
    boxes1 = torch.tensor([[10.0, 0.0, 0.0, 10.0], [0.0, 10.0, 10.0, 0.0], [8.0, 8.0, 2.0, 2.0]])
    boxes2 = torch.tensor([[0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 8.0, 8.0], [10.0, 10.0, 0.0, 0.0]])
    # corners are not reordered: an inverted box intersects nothing; a zero union gives 0
    got = student.box_iou(boxes1, boxes2)
    assert_tensor(got, torch.zeros(3, 3), atol=0.0, case="boxes with x2 < x1 or y2 < y1")


@pytest.mark.task("iou")
@pytest.mark.parametrize(
    "shape1, shape2, name",
    [((3, 5), (2, 4), "boxes1"), ((3, 4), (4,), "boxes2"), ((1, 3, 4), (2, 4), "boxes1")],
    ids=["5-columns", "1-D", "3-D"],
)
def test_box_iou_rejects_bad_shapes(student, shape1, shape2, name):
    with pytest.raises(ValueError, match=name):
        student.box_iou(torch.zeros(shape1), torch.zeros(shape2))


# ================================================================ generalized_box_iou [iou]


@pytest.mark.task("iou")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", DTYPES)
def test_generalized_box_iou_matches_torchvision(student, dtype, device):
    boxes1, boxes2 = random_boxes(8, seed=7, dtype=dtype), random_boxes(6, seed=8, dtype=dtype)
    expected = torchvision.ops.generalized_box_iou(boxes1, boxes2).to(device)
    got = student.generalized_box_iou(boxes1.to(device), boxes2.to(device))
    assert_tensor(got, expected, **TOL[dtype], case=f"8 x 6 random boxes, {dtype}")


@pytest.mark.task("iou")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_generalized_box_iou_half_precision_matches_torchvision(student, dtype, device):
    boxes1 = large_boxes(10, seed=43, dtype=dtype)
    boxes2 = torch.cat([large_boxes(5, seed=44, dtype=dtype), near(boxes1[:7], seed=45)])
    expected = torchvision.ops.generalized_box_iou(boxes1, boxes2).to(device)  # float32
    got = student.generalized_box_iou(boxes1.to(device), boxes2.to(device))
    assert_tensor(got, expected, **HALF_IOU_TOL[dtype], case=f"10 x 12 boxes of 60-450 pixels, {dtype}")


@pytest.mark.task("iou")
def test_generalized_box_iou_of_large_float16_boxes(student):
    boxes1 = torch.tensor([[0.0, 0.0, 300.0, 300.0], [0.0, 0.0, 400.0, 200.0]], dtype=torch.float16)
    boxes2 = torch.tensor([[300.0, 0.0, 600.0, 300.0], [0.0, 0.0, 400.0, 100.0]], dtype=torch.float16)
    # side by side: IoU 0, C = union -> 0; [0,0,300,300] vs [0,0,400,100]: inter 300 x 100,
    # union 100000, C = 400 x 300; [0,0,400,200] vs [300,0,600,300]: inter 100 x 200,
    # union 80000 + 90000 - 20000, C = 600 x 300; nested boxes: GIoU = IoU = 1/2
    expected = torch.tensor(
        [
            [0.0, 30000.0 / 100000 - (120000.0 - 100000) / 120000],
            [20000.0 / 150000 - (180000.0 - 150000) / 180000, 0.5],
        ]
    )
    got = student.generalized_box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-6, case="float16 boxes of 300-600 pixels")


@pytest.mark.task("iou")
def test_generalized_box_iou_hand_computed(student):
    boxes1 = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 4.0, 4.0]])
    boxes2 = torch.tensor([[2.0, 0.0, 3.0, 1.0], [1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 1.0, 1.0]])
    # row 0: disjoint, enclosing 3, union 2 -> -1/3; disjoint, enclosing 9, union 5 -> -4/9; same -> 1
    # row 1: [0,0,4,4] contains all three: IoU = area / 16, enclosing = union
    expected = torch.tensor([[-1 / 3, -4 / 9, 1.0], [1 / 16, 4 / 16, 1 / 16]])
    got = student.generalized_box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-6, case="hand-computed 2 x 3")


@pytest.mark.task("iou")
def test_generalized_box_iou_degenerate_boxes(student):
    boxes1 = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    boxes2 = torch.tensor(
        [[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 5.0, 5.0]]
    )
    # union 0 -> IoU 0; enclosing area C == 0 -> GIoU = IoU = 0; else GIoU = IoU - (C - U) / C
    expected = torch.tensor(
        [
            [0.0, -1.0, -1.0, -(16 - 4) / 16],  # point (1,1): C = 0, 2, 1, 16
            [-1.0, 0.0, -1.0, -(25 - 4) / 25],  # segment on y = 0: C = 2, 0, 4, 25
            [-1.0, 0.0, -1.0, -(25 - 4) / 25],  # point (0,0): C = 1, 0, 4, 25
        ]
    )
    got = student.generalized_box_iou(boxes1, boxes2)
    assert_tensor(got, expected, atol=1e-6, case="points and segments")


@pytest.mark.task("iou")
def test_generalized_box_iou_empty(student):
    got = student.generalized_box_iou(random_boxes(0, seed=9), random_boxes(4, seed=10))
    assert_tensor(got, torch.zeros(0, 4), case="N=0, M=4")


@pytest.mark.task("iou")
def test_generalized_box_iou_gradient(student):
    boxes1 = random_boxes(4, seed=11, dtype=torch.float64, high=20.0)
    boxes2 = random_boxes(3, seed=12, dtype=torch.float64, high=20.0)
    check_gradient(student, "generalized_box_iou", (boxes1, boxes2), wrt=(0, 1))


@pytest.mark.task("iou")
def test_generalized_box_iou_vjp_matches_torchvision(student):
    boxes1 = random_boxes(5, seed=13, dtype=torch.float64, high=20.0)
    boxes2 = random_boxes(4, seed=14, dtype=torch.float64, high=20.0)
    v = torch.randn(5, 4, generator=torch.Generator().manual_seed(15), dtype=torch.float64)
    a, b = boxes1.clone().requires_grad_(True), boxes2.clone().requires_grad_(True)
    expected = torch.autograd.grad(torchvision.ops.generalized_box_iou(a, b), (a, b), v)
    _, grads = student.vjp("generalized_box_iou", (boxes1, boxes2), wrt=(0, 1), grad_outputs=v)
    assert len(grads) == 2, f"expected 2 gradients, got {len(grads)}"
    assert_tensor(grads[0], expected[0], atol=1e-10, case="d/d boxes1, 5 x 4 random boxes")
    assert_tensor(grads[1], expected[1], atol=1e-10, case="d/d boxes2, 5 x 4 random boxes")


# ================================================================ nms [nms]


@pytest.mark.task("nms")
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nms_matches_torchvision(student, dtype, threshold):
    boxes, scores = clustered_boxes(150, seed=20, dtype=dtype)
    expected = torchvision.ops.nms(boxes, scores, threshold)
    got = student.nms(boxes, scores, threshold)
    assert_tensor(got, expected, case=f"150 clustered boxes, {dtype}, threshold {threshold}")


@pytest.mark.task("nms")
@pytest.mark.parametrize("device", devices())
def test_nms_on_device(student, device):
    boxes, scores = clustered_boxes(80, seed=21)
    expected = torchvision.ops.nms(boxes, scores, 0.5).to(device)
    got = student.nms(boxes.to(device), scores.to(device), 0.5)
    assert_tensor(got, expected, case=f"80 clustered boxes on {device}")


@pytest.mark.task("nms")
@pytest.mark.parametrize("dtype", DTYPES)
def test_nms_keeps_a_box_whose_iou_equals_the_threshold(student, dtype):
    # IoU of the pairs (0, 1) and (2, 3) is exactly 0.5 and 0.25 in binary floating point
    boxes = torch.tensor([[0, 0, 3, 1], [1, 0, 4, 1], [10, 0, 15, 1], [13, 0, 18, 1]], dtype=dtype)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6], dtype=dtype)
    assert_tensor(student.nms(boxes, scores, 0.5), as_int64([0, 1, 2, 3]), case="IoU 0.5 == threshold 0.5")
    assert_tensor(student.nms(boxes, scores, 0.25), as_int64([0, 2, 3]), case="IoU 0.25 == threshold 0.25")
    assert_tensor(student.nms(boxes, scores, 0.2499), as_int64([0, 2]), case="IoU 0.25 > threshold 0.2499")


@pytest.mark.task("nms")
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("threshold", [0.3, 0.7])
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_nms_half_precision_matches_torchvision(student, dtype, threshold, device):
    # torchvision's CPU kernel refuses half precision; its CUDA kernel computes IoUs in float32
    boxes, scores = large_clustered_boxes(120, seed=46, dtype=dtype)
    expected = torchvision.ops.nms(boxes.float(), scores.float(), threshold).to(device)
    got = student.nms(boxes.to(device), scores.to(device), threshold)
    assert_tensor(got, expected, case=f"120 clustered boxes of 150-600 pixels, {dtype}, threshold {threshold}")


@pytest.mark.task("nms")
def test_nms_suppresses_large_float16_boxes(student):
    # three views of one object, about 800 x 650 pixels: IoUs above 0.95
    boxes = torch.tensor(
        [[100.0, 50.0, 900.0, 700.0], [104.0, 52.0, 902.0, 705.0], [96.0, 60.0, 890.0, 698.0]],
        dtype=torch.float16,
    )
    scores = torch.tensor([0.6, 0.75, 0.4], dtype=torch.float16)
    assert_tensor(student.nms(boxes, scores, 0.2), as_int64([1]), case="3 overlapping float16 boxes")


@pytest.mark.task("nms")
def test_nms_suppression_is_greedy(student):
    # 0 suppresses 1 (IoU 0.43 > 0.4); 1 would suppress 2 but is gone; IoU(0, 2) = 0.11
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [4.0, 0.0, 14.0, 10.0], [8.0, 0.0, 18.0, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert_tensor(student.nms(boxes, scores, 0.4), as_int64([0, 2]), case="a chain of 3 boxes")


@pytest.mark.task("nms")
def test_nms_unsorted_scores_and_identical_boxes(student):
    boxes = torch.tensor([[5.0, 5.0, 15.0, 25.0]]).repeat(4, 1)
    scores = torch.tensor([0.2, 0.6, 0.9, 0.4])
    assert_tensor(student.nms(boxes, scores, 0.5), as_int64([2]), case="4 identical boxes")


@pytest.mark.task("nms")
def test_nms_output_is_sorted_by_score(student):
    boxes = random_boxes(6, seed=22, high=5.0, max_size=1.0) + 10 * torch.arange(6.0)[:, None]
    scores = torch.tensor([0.3, 0.9, 0.1, 0.5, 0.7, 0.2])  # boxes do not overlap
    assert_tensor(student.nms(boxes, scores, 0.5), as_int64([1, 4, 3, 0, 5, 2]), case="6 disjoint boxes")


@pytest.mark.task("nms")
def test_nms_zero_area_boxes_are_kept(student):
    boxes = torch.tensor([[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0], [0.0, 1.0, 4.0, 1.0]])
    scores = torch.tensor([0.5, 0.8, 0.6])
    # a zero union gives IoU 0: nothing is suppressed
    assert_tensor(student.nms(boxes, scores, 0.5), as_int64([1, 2, 0]), case="points and a segment")


@pytest.mark.task("nms")
@pytest.mark.parametrize("dtype", DTYPES)
def test_nms_of_no_boxes_is_empty(student, dtype):
    got = student.nms(torch.zeros(0, 4, dtype=dtype), torch.zeros(0, dtype=dtype), 0.5)
    assert_tensor(got, torch.zeros(0, dtype=torch.int64), case=f"N=0, {dtype}")


@pytest.mark.task("nms")
def test_nms_of_one_box(student):
    got = student.nms(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), torch.tensor([0.3]), 0.5)
    assert_tensor(got, as_int64([0]), case="N=1")


@pytest.mark.task("nms")
@pytest.mark.parametrize(
    "boxes_shape, scores_shape",
    [((5, 4), (4,)), ((5, 4), (5, 1)), ((5, 3), (5,))],
    ids=["length", "2-D scores", "3 columns"],
)
def test_nms_rejects_bad_shapes(student, boxes_shape, scores_shape):
    with pytest.raises(ValueError, match="boxes|scores"):
        student.nms(torch.rand(boxes_shape), torch.rand(scores_shape), 0.5)


# ================================================================ batched_nms [nms]


@pytest.mark.task("nms")
@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_nms_matches_torchvision(student, dtype):
    boxes, scores = clustered_boxes(120, seed=23, dtype=dtype, clusters=5)
    idxs = torch.randint(0, 4, (120,), generator=torch.Generator().manual_seed(24))
    expected = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)
    got = student.batched_nms(boxes, scores, idxs, 0.5)
    assert_tensor(got, expected, case=f"120 clustered boxes in 4 categories, {dtype}")


@pytest.mark.task("nms")
@pytest.mark.parametrize("device", devices())
def test_batched_nms_on_device(student, device):
    boxes, scores = clustered_boxes(60, seed=25, clusters=4)
    idxs = torch.randint(0, 3, (60,), generator=torch.Generator().manual_seed(26))
    expected = torchvision.ops.batched_nms(boxes, scores, idxs, 0.6).to(device)
    got = student.batched_nms(boxes.to(device), scores.to(device), idxs.to(device), 0.6)
    assert_tensor(got, expected, case=f"60 clustered boxes in 3 categories on {device}")


@pytest.mark.task("nms")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_batched_nms_half_precision_matches_torchvision(student, dtype):
    boxes, scores = large_clustered_boxes(100, seed=47, dtype=dtype, clusters=4)
    idxs = torch.randint(0, 3, (100,), generator=torch.Generator().manual_seed(48))
    expected = torchvision.ops.batched_nms(boxes.float(), scores.float(), idxs, 0.5)
    got = student.batched_nms(boxes, scores, idxs, 0.5)
    assert_tensor(got, expected, case=f"100 clustered boxes of 150-600 pixels in 3 categories, {dtype}")


@pytest.mark.task("nms")
def test_batched_nms_equal_scores_across_categories_in_any_order(student):
    # scores are distinct within a category (so the kept set is well defined) but repeat across
    # categories: any order of equal scores is accepted, the sequence of scores is not
    boxes, _ = clustered_boxes(90, seed=49, clusters=5)
    idxs = torch.arange(90) % 3  # [90]
    scores = 1.0 - (torch.arange(90) // 3).float() / 40  # box i and its neighbours share a score
    expected = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)
    got = student.batched_nms(boxes, scores, idxs, 0.5)
    case = "90 boxes in 3 categories, each score shared by 3 categories"
    assert_same_elements(got, expected, case=case)
    got_scores = scores[got]
    assert bool((got_scores[:-1] >= got_scores[1:]).all()), f"[{case}] kept boxes are not sorted by score"


@pytest.mark.task("nms")
def test_batched_nms_categories_do_not_suppress_each_other(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]]).repeat(4, 1)
    scores = torch.tensor([0.5, 0.9, 0.7, 0.8])
    idxs = as_int64([3, 1, 3, 2])
    # best of category 3 is box 2; categories 1 and 2 have one box each
    got = student.batched_nms(boxes, scores, idxs, 0.5)
    assert_tensor(got, as_int64([1, 3, 2]), case="identical boxes in 3 categories")


@pytest.mark.task("nms")
def test_batched_nms_of_no_boxes_is_empty(student):
    got = student.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5)
    assert_tensor(got, torch.zeros(0, dtype=torch.int64), case="N=0")


# ================================================================ classes of one-mistake variants
# (found by `cv3 check detection --mutants`): the smallest non-empty inputs (one box, one box per
# category) next to the empty ones.


@pytest.mark.task("nms")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nms_and_batched_nms_of_a_single_box(student, dtype):
    box = torch.tensor([[1.0, 2.0, 5.0, 7.0]], dtype=dtype)
    score = torch.tensor([0.3], dtype=dtype)
    expected = torch.tensor([0], dtype=torch.int64)
    assert_tensor(student.nms(box, score, 0.5), expected, case="one box")
    assert_tensor(student.batched_nms(box, score, torch.tensor([4]), 0.5), expected, case="one box, batched")
    # one box per category: nothing is suppressed across categories, order by score
    boxes = box.repeat(3, 1)
    scores = torch.tensor([0.2, 0.9, 0.5], dtype=dtype)
    assert_tensor(student.batched_nms(boxes, scores, torch.tensor([0, 1, 2]), 0.5),
                  torch.tensor([1, 2, 0], dtype=torch.int64), case="identical boxes, one per category")
