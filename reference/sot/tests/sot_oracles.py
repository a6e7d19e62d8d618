"""Oracles shared by the sot hidden tests (a helper module, no tests)."""

import torch
from torchvision.ops import box_iou


def iou_labels(samples, box, pos=0.7, neg=0.5):
    """MDNet's sample labels from torchvision's IoU: 1 at IoU >= pos, 0 at IoU <= neg, -1 between."""
    iou = box_iou(samples, box[None])[:, 0]
    expected = torch.full((samples.shape[0],), -1, dtype=torch.int64)
    expected[iou <= neg] = 0
    expected[iou >= pos] = 1
    return expected


# A box of zero width or height, refused: the message names the argument (the docstrings' "box",
# "regions", "target") or the size that fails ("positive size", "width", "height")
ZERO_SIZE = r"width|height|size|\bbox|regions|target"
