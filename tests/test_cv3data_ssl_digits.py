"""cv3data.ssl_digits: the pasted-digit images of the semisup CAM check."""

import pytest
import torch

from cv3data.ssl_digits import pasted_digits, SPLITS


def test_pasted_digits_shapes_boxes_and_determinism():
    images, labels, boxes = pasted_digits("probe_test", seed=3, size=40)
    n = SPLITS["probe_test"][1] - SPLITS["probe_test"][0]
    assert images.shape == (n, 1, 40, 40) and images.dtype == torch.float32
    assert labels.shape == (n,) and labels.dtype == torch.int64 and set(labels.tolist()) <= set(range(10))
    assert boxes.shape == (n, 4) and boxes.dtype == torch.int64
    assert bool((boxes[:, 2] - boxes[:, 0] == 16).all()) and bool((boxes[:, 3] - boxes[:, 1] == 16).all())
    assert int(boxes.min()) >= 0 and int(boxes[:, 2:].max()) <= 40
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    # the digit's ink lies inside its box: outside there is only noise (std 0.05, clipped at 0)
    inside = torch.zeros(n, 40, 40, dtype=torch.bool)
    for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        inside[i, y0:y1, x0:x1] = True
    ink = images[:, 0]
    assert float(ink[~inside].mean()) < 0.03 < float(ink[inside].mean())
    again = pasted_digits("probe_test", seed=3, size=40)
    assert torch.equal(again[0], images) and torch.equal(again[2], boxes)
    other = pasted_digits("probe_test", seed=4, size=40)
    assert torch.equal(other[1], labels) and not torch.equal(other[2], boxes)


def test_pasted_digits_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        pasted_digits("test")
    with pytest.raises(ValueError, match="size"):
        pasted_digits("probe_test", size=15)
