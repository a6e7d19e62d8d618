"""Public tests of HOG [hog]: hand-computed gradients and cells, and scikit-image's ``hog``.

Run them with ``nox -s test -- classical``. The hidden tests try more settings (every block
norm, other cell and block sizes, float32, angles exactly on bin edges, errors).
"""

import numpy as np
import pytest
import torch
from skimage.feature import hog as sk_hog

from harness.testkit import assert_tensor


@pytest.mark.task("hog")
def test_gradients_of_a_ramp(student):
    image = (2.0 * torch.arange(4.0)[:, None] + torch.arange(5.0)[None, :]).double()  # I = 2 r + c
    g_row, g_col = student.hog_gradients(image)
    er = torch.full((4, 5), 4.0, dtype=torch.float64)
    er[0] = er[-1] = 0
    ec = torch.full((4, 5), 2.0, dtype=torch.float64)
    ec[:, 0] = ec[:, -1] = 0
    assert_tensor(g_row, er, atol=1e-12, case="[-1, 0, 1] along rows, 0 on the border rows")
    assert_tensor(g_col, ec, atol=1e-12, case="[-1, 0, 1] along columns, 0 on the border columns")


@pytest.mark.task("hog")
def test_cell_histogram_of_a_vertical_edge(student):
    image = torch.zeros(4, 4, dtype=torch.float64)
    image[:, 2:] = 1.0  # g_col = 1 on columns 1 and 2, angle 0 -> bin 0
    got = student.cell_histograms(image, orientations=9, pixels_per_cell=4)
    expected = torch.zeros(1, 1, 9, dtype=torch.float64)
    expected[0, 0, 0] = 8.0 / 16.0
    assert_tensor(got, expected, atol=1e-12, case="a step edge: 8 pixels of magnitude 1, mean over 16")


@pytest.mark.task("hog")
def test_hog_equals_skimage_defaults(student):
    image = np.random.default_rng(0).random((48, 40))
    got = student.hog(torch.from_numpy(image))
    assert_tensor(got, torch.from_numpy(sk_hog(image)), atol=1e-6, case="skimage.feature.hog defaults")


@pytest.mark.task("hog")
def test_hog_equals_skimage_dalal_triggs(student):
    image = np.random.default_rng(1).random((128, 64))
    kw = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys")
    got = student.hog(torch.from_numpy(image), **kw)
    assert_tensor(got, torch.from_numpy(sk_hog(image, **kw)), atol=1e-6,
                  case="Dalal-Triggs 128 x 64 window (3780 values)")
