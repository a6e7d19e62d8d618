"""Hidden tests of encode_boxes and decode_boxes [coder].

Oracle: torchvision.models.detection._utils.BoxCoder, plus hand-computed non-square cases that
tell x from y and catch +1 widths, and the dw/dh clamp.

Half precision: BoxCoder computes in the boxes' dtype (it does not upcast), and the
cancellation in ``g_cx - p_cx`` costs bfloat16 whole pixels. The expected value is
torchvision's in float16 / bfloat16, with a tolerance of 4 times torchvision's own largest error
(against float64 on the same inputs) plus 2 units in the last place: computing in half
precision like torchvision, or in float32 then rounding, both pass.
"""

import math

import pytest
import torch
from torchvision.models.detection._utils import BoxCoder

from harness.testkit import assert_tensor, devices

DTYPES = [torch.float32, torch.float64]
WEIGHTS = [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]
TOL = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-10, rtol=1e-10)}
CLIP = math.log(1000.0 / 16)
HALF = [torch.float16, torch.bfloat16]


def half_tolerance(low, exact):
    """4 x the largest error of torchvision's half-precision result ``low`` against ``exact``
    (float64 on the same inputs), and 2 units in the last place of ``low``'s dtype."""
    worst = float((low.double() - exact.double()).abs().max()) if low.numel() else 0.0
    return dict(atol=4 * worst, rtol=2 * torch.finfo(low.dtype).eps)


def matched_pairs(n, seed, dtype):
    """Ground truth of 16-316 pixels in an 1000-pixel image and proposals that overlap it
    (centre moved by up to 20% of the size, sides scaled by 0.6-1.6), as in training."""
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 700
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 300 + 16
    centre = xy + wh / 2 + (torch.rand(n, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.4 * wh
    size = wh * (torch.rand(n, 2, generator=gen, dtype=torch.float64) + 0.6)
    gt = torch.cat([xy, xy + wh], dim=1).to(dtype)  # [n, 4]
    proposals = torch.cat([centre - size / 2, centre + size / 2], dim=1).to(dtype)  # [n, 4]
    return gt, proposals


def random_boxes(n, seed, dtype=torch.float32, high=60.0, min_size=2.0, max_size=40.0):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * high - high / 3
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * (max_size - min_size) + min_size
    return torch.cat([xy, xy + wh], dim=1).to(dtype)  # [n, 4]


def random_codes(n, seed, dtype=torch.float32, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 4, generator=gen, dtype=torch.float64) * scale).to(dtype)  # [n, 4]


# ================================================================ encode_boxes


@pytest.mark.task("coder")
@pytest.mark.parametrize("weights", WEIGHTS, ids=["rpn", "roi_heads"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_encode_matches_torchvision(student, dtype, weights):
    gt, proposals = random_boxes(12, seed=1, dtype=dtype), random_boxes(12, seed=2, dtype=dtype)
    expected = BoxCoder(weights).encode_single(gt, proposals)
    got = student.encode_boxes(gt, proposals, weights)
    assert_tensor(got, expected, **TOL[dtype], case=f"12 random pairs, weights {weights}, {dtype}")


@pytest.mark.task("coder")
@pytest.mark.parametrize("weights", WEIGHTS, ids=["rpn", "roi_heads"])
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_encode_half_precision_matches_torchvision(student, dtype, weights):
    gt, proposals = matched_pairs(40, seed=20, dtype=dtype)
    expected = BoxCoder(weights).encode_single(gt, proposals)
    exact = BoxCoder(weights).encode_single(gt.double(), proposals.double())
    got = student.encode_boxes(gt, proposals, weights)
    case = f"40 matched pairs of 16-316 pixel boxes, weights {weights}, {dtype}"
    assert_tensor(got, expected, **half_tolerance(expected, exact), case=case)


@pytest.mark.task("coder")
@pytest.mark.parametrize("weights", WEIGHTS, ids=["rpn", "roi_heads"])
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_decode_half_precision_matches_torchvision(student, dtype, weights):
    _, boxes = matched_pairs(40, seed=21, dtype=dtype)
    codes = random_codes(40, seed=22, scale=0.5) * torch.tensor(weights)
    codes = codes.to(dtype)
    expected = BoxCoder(weights).decode_single(codes, boxes)
    exact = BoxCoder(weights).decode_single(codes.double(), boxes.double())
    got = student.decode_boxes(codes, boxes, weights)
    case = f"40 codes on 16-500 pixel boxes, weights {weights}, {dtype}"
    assert_tensor(got, expected, **half_tolerance(expected, exact), case=case)


@pytest.mark.task("coder")
def test_coder_under_autocast(student):
    gt, proposals = matched_pairs(10, seed=23, dtype=torch.float32)
    codes = random_codes(10, seed=24)
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        encoded = student.encode_boxes(gt, proposals, (10.0, 10.0, 5.0, 5.0))
        decoded = student.decode_boxes(codes, proposals, (10.0, 10.0, 5.0, 5.0))
    tol = TOL[torch.float32]
    assert_tensor(encoded, coder.encode_single(gt, proposals), **tol, case="encode under torch.autocast('cpu')")
    assert_tensor(decoded, coder.decode_single(codes, proposals), atol=1e-4, rtol=1e-5,
                  case="decode under torch.autocast('cpu')")


@pytest.mark.task("coder")
@pytest.mark.parametrize("device", devices())
def test_encode_on_device(student, device):
    gt, proposals = random_boxes(6, seed=3), random_boxes(6, seed=4)
    expected = BoxCoder((1.0, 1.0, 1.0, 1.0)).encode_single(gt, proposals).to(device)
    got = student.encode_boxes(gt.to(device), proposals.to(device))
    assert_tensor(got, expected, **TOL[torch.float32], case=f"6 random pairs on {device}")


@pytest.mark.task("coder")
def test_encode_non_square_hand_computed(student):
    proposals = torch.tensor([[0.0, 0.0, 10.0, 20.0]], dtype=torch.float64)  # centre (5, 10), 10 x 20
    gt = torch.tensor([[2.0, 4.0, 8.0, 28.0]], dtype=torch.float64)  # centre (5, 16), 6 x 24
    expected = torch.tensor([[0.0, 6 / 20, math.log(0.6), math.log(1.2)]], dtype=torch.float64)
    got = student.encode_boxes(gt, proposals)
    assert_tensor(got, expected, atol=1e-12, case="10 x 20 proposal, 6 x 24 gt, weights 1")
    expected_w = expected * torch.tensor([10.0, 10.0, 5.0, 5.0], dtype=torch.float64)
    got = student.encode_boxes(gt, proposals, (10.0, 10.0, 5.0, 5.0))
    assert_tensor(got, expected_w, atol=1e-12, case="10 x 20 proposal, 6 x 24 gt, weights (10, 10, 5, 5)")


@pytest.mark.task("coder")
def test_encode_of_no_boxes_is_empty(student):
    got = student.encode_boxes(torch.zeros(0, 4), torch.zeros(0, 4))
    assert_tensor(got, torch.zeros(0, 4), case="N=0")


# ================================================================ decode_boxes


@pytest.mark.task("coder")
@pytest.mark.parametrize("weights", WEIGHTS, ids=["rpn", "roi_heads"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_decode_matches_torchvision(student, dtype, weights):
    codes, boxes = random_codes(12, seed=5, dtype=dtype, scale=2.0), random_boxes(12, seed=6, dtype=dtype)
    expected = BoxCoder(weights).decode_single(codes, boxes)
    got = student.decode_boxes(codes, boxes, weights)
    assert_tensor(got, expected, **TOL[dtype], case=f"12 random codes, weights {weights}, {dtype}")


@pytest.mark.task("coder")
@pytest.mark.parametrize("device", devices())
def test_decode_on_device(student, device):
    codes, boxes = random_codes(6, seed=7), random_boxes(6, seed=8)
    expected = BoxCoder((10.0, 10.0, 5.0, 5.0)).decode_single(codes, boxes).to(device)
    got = student.decode_boxes(codes.to(device), boxes.to(device), (10.0, 10.0, 5.0, 5.0))
    assert_tensor(got, expected, **TOL[torch.float32], case=f"6 random codes on {device}")


@pytest.mark.task("coder")
def test_decode_non_square_hand_computed(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0]], dtype=torch.float64)  # centre (5, 10), 10 x 20
    codes = torch.tensor([[0.5, -0.25, math.log(2.0), 0.0]], dtype=torch.float64)
    # centre (5 + 0.5 * 10, 10 - 0.25 * 20) = (10, 5); size 20 x 20
    expected = torch.tensor([[0.0, -5.0, 20.0, 15.0]], dtype=torch.float64)
    got = student.decode_boxes(codes, boxes)
    assert_tensor(got, expected, atol=1e-12, case="10 x 20 box, codes (0.5, -0.25, log 2, 0)")


@pytest.mark.task("coder")
def test_decode_clamps_only_large_dw_dh(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0], [0.0, 0.0, 10.0, 20.0]], dtype=torch.float64)
    codes = torch.tensor([[0.0, 0.0, 10.0, -10.0], [0.0, 0.0, -10.0, 10.0]], dtype=torch.float64)
    # dw, dh are clamped at log(1000 / 16) from above only: exp(clip) = 62.5
    w0, h0 = 10 * 62.5, 20 * math.exp(-10.0)
    w1, h1 = 10 * math.exp(-10.0), 20 * 62.5
    expected = torch.tensor(
        [
            [5 - w0 / 2, 10 - h0 / 2, 5 + w0 / 2, 10 + h0 / 2],
            [5 - w1 / 2, 10 - h1 / 2, 5 + w1 / 2, 10 + h1 / 2],
        ],
        dtype=torch.float64,
    )
    got = student.decode_boxes(codes, boxes)
    assert_tensor(got, expected, atol=1e-9, case="dw, dh = +-10, default clip")


@pytest.mark.task("coder")
def test_decode_clamps_after_dividing_by_the_weights(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    codes = torch.tensor([[0.0, 0.0, 10.0, 4.0]], dtype=torch.float64)
    # weights (10, 10, 5, 5): dw = 10 / 5 = 2 -> clamped at 1; dh = 4 / 5 = 0.8 stays
    w, h = 10 * math.e, 10 * math.exp(0.8)
    expected = torch.tensor([[5 - w / 2, 5 - h / 2, 5 + w / 2, 5 + h / 2]], dtype=torch.float64)
    got = student.decode_boxes(codes, boxes, (10.0, 10.0, 5.0, 5.0), 1.0)
    assert_tensor(got, expected, atol=1e-10, case="weights (10, 10, 5, 5), bbox_xform_clip 1.0")


@pytest.mark.task("coder")
def test_decode_large_codes_match_torchvision(student):
    codes, boxes = random_codes(10, seed=9, scale=6.0), random_boxes(10, seed=10)
    expected = BoxCoder((1.0, 1.0, 1.0, 1.0), CLIP).decode_single(codes, boxes)
    got = student.decode_boxes(codes, boxes)
    assert_tensor(got, expected, atol=1e-4, rtol=1e-5, case="10 random codes with |d| up to ~15")


@pytest.mark.task("coder")
def test_decode_of_no_boxes_is_empty(student):
    got = student.decode_boxes(torch.zeros(0, 4), torch.zeros(0, 4))
    assert_tensor(got, torch.zeros(0, 4), case="N=0")


@pytest.mark.task("coder")
@pytest.mark.parametrize("weights", WEIGHTS, ids=["rpn", "roi_heads"])
def test_decode_inverts_encode_in_float64(student, weights):
    gt, proposals = (
        random_boxes(10, seed=11, dtype=torch.float64),
        random_boxes(10, seed=12, dtype=torch.float64),
    )
    codes = student.encode_boxes(gt, proposals, weights)
    got = student.decode_boxes(codes, proposals, weights)
    assert_tensor(got, gt, atol=1e-10, case=f"decode(encode(gt, p), p), weights {weights}")


# ================================================================ classes of one-mistake variants
# (found by `cv3 check detection --mutants`): integer boxes are encoded in the default float dtype.


@pytest.mark.task("coder")
def test_encode_boxes_of_integer_boxes_in_the_default_float_dtype(student):
    gt = torch.tensor([[3, 4, 20, 30], [10, 12, 15, 40]])
    proposals = torch.tensor([[1, 2, 25, 28], [9, 10, 17, 33]])
    expected = BoxCoder((10.0, 10.0, 5.0, 5.0)).encode_single(gt.float(), proposals.float())
    got = student.encode_boxes(gt, proposals, (10.0, 10.0, 5.0, 5.0))
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case="int64 boxes: float32 codes")
