"""Hidden tests of the association cost in half precision [association].

MOTChallenge frames are 1920 x 1080: a pedestrian box near the camera is several hundred
pixels tall, and a float16 area overflows above about 256 x 256 pixels. torchvision's
``box_iou`` computes areas in float32 for float16 / bfloat16 boxes; ``iou_cost`` does the same
(its docstring) and returns float32.
"""

import pytest
import torch
import torchvision

from harness.testkit import assert_tensor


def big_boxes(n, seed):
    gen = torch.Generator().manual_seed(seed)
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * torch.tensor([400.0, 700.0]) + 150
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * (torch.tensor([1920.0, 1080.0]) - wh)
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.task("association")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_iou_cost_of_large_half_precision_boxes(student, dtype):
    tracks, dets = big_boxes(12, seed=1).to(dtype), big_boxes(15, seed=2).to(dtype)
    expected = 1 - torchvision.ops.box_iou(tracks.float(), dets.float())
    assert (expected < 1).sum() >= 10, "test setup: many pairs overlap"
    got = student.iou_cost(tracks, dets)
    assert_tensor(got, expected, atol=1e-6, rtol=0, case=f"{dtype} boxes of 150-1100 px in a 1920 x 1080 frame")
