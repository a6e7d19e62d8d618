"""Public tests of integral images [integral] and Haar features [haar]. The hidden tests compare
with OpenCV's integral and scikit-image's haar_like_feature(_coord)."""

import pytest
import torch

from harness.testkit import assert_tensor


@pytest.mark.task("integral")
def test_integral_image_has_a_zero_row_and_column(student):
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    expected = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 3.0], [0.0, 4.0, 10.0]], dtype=torch.float64)
    assert_tensor(student.integral_image(x), expected)


@pytest.mark.task("integral")
def test_rectangle_sums(student):
    x = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    rects = torch.tensor([[0, 0, 3, 4], [1, 1, 2, 2], [2, 3, 1, 1]])
    assert_tensor(student.rectangle_sums(student.integral_image(x), rects),
                  torch.tensor([66.0, 5.0 + 6 + 9 + 10, 11.0], dtype=torch.float64))


@pytest.mark.task("haar")
def test_feature_counts_24x24(student):
    rects, signs = student.haar_feature_coords(24, 24)
    assert rects.shape == (162336, 4, 4) and signs.shape == (162336, 4)


@pytest.mark.task("haar")
def test_two_rectangle_feature_is_right_minus_left(student):
    rects, signs = student.haar_feature_coords(1, 2, "type-2-x")
    x = torch.tensor([[1.0, 5.0]])
    assert_tensor(student.haar_features(student.integral_image(x), rects, signs),
                  torch.tensor([4.0], dtype=torch.float64))
