"""Public tests of template matching [template, template_fft]: small hand-checked cases.
The hidden tests compare with OpenCV's matchTemplate and scikit-image's match_template."""

import pytest
import torch

from harness.testkit import assert_tensor

IMAGE = torch.tensor([[0.0, 1.0, 2.0, 3.0],
                      [4.0, 5.0, 6.0, 7.0],
                      [8.0, 9.0, 1.0, 0.0]], dtype=torch.float64)
TEMPLATE = torch.tensor([[5.0, 6.0], [9.0, 1.0]], dtype=torch.float64)


def loop(method):
    out = torch.zeros(2, 3, dtype=torch.float64)
    t = TEMPLATE
    for y in range(2):
        for x in range(3):
            w = IMAGE[y:y + 2, x:x + 2]
            if method == "ssd":
                out[y, x] = ((w - t) ** 2).sum()
            elif method == "ncc":
                out[y, x] = (w * t).sum() / ((w * w).sum() * (t * t).sum()).sqrt()
            else:
                wz, tz = w - w.mean(), t - t.mean()
                out[y, x] = (wz * tz).sum() / ((wz * wz).sum() * (tz * tz).sum()).sqrt()
    return out


@pytest.mark.task("template")
@pytest.mark.parametrize("method", ["ssd", "ncc", "zncc"])
def test_score_maps_small(student, method):
    got = getattr(student, method)(IMAGE, TEMPLATE)
    assert_tensor(got, loop(method), atol=1e-12, rtol=1e-12)
    assert student.best_match(got, method) == (1, 1)  # (x, y): column first, like cv2.minMaxLoc


@pytest.mark.task("template")
def test_zncc_ignores_brightness_and_contrast(student):
    assert_tensor(student.zncc(2.0 * IMAGE + 3.0, TEMPLATE), student.zncc(IMAGE, TEMPLATE), atol=1e-12, rtol=0)


@pytest.mark.task("template_fft")
@pytest.mark.parametrize("method", ["ssd", "ncc", "zncc"])
def test_fft_small(student, method):
    assert_tensor(student.match_template_fft(IMAGE, TEMPLATE, method), loop(method), atol=1e-9, rtol=1e-9)
