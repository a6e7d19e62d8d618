"""Public tests of the FlowNetC correlation layer (also graded)."""

import pytest
import torch

from harness.testkit import assert_tensor


@pytest.mark.task("correlation")
def test_correlation_shape_and_zero_displacement(student):
    f1 = torch.randn(2, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    f2 = torch.randn(2, 3, 6, 7, generator=torch.Generator().manual_seed(1))
    out = student.correlation(f1, f2, patch_size=1, max_displacement=2)
    assert tuple(out.shape) == (2, 25, 6, 7), f"expected [B, D*D, H, W] = [2, 25, 6, 7], got {list(out.shape)}"
    assert_tensor(out[:, 12], (f1 * f2).sum(1) / 3, atol=1e-5, case="centre channel: <f1, f2> / C")


@pytest.mark.task("correlation")
def test_correlation_channel_order(student):
    f1 = torch.zeros(1, 1, 5, 5)
    f2 = torch.zeros(1, 1, 5, 5)
    f1[0, 0, 2, 2] = 1.0
    f2[0, 0, 2 + 1, 2 - 1] = 1.0  # dy = +1, dx = -1
    out = student.correlation(f1, f2, max_displacement=1)
    # channel (dy + 1) * 3 + (dx + 1) = 2 * 3 + 0 = 6
    assert float(out[0, 6, 2, 2]) == 1.0 and float(out.abs().sum()) == 1.0, out[0, :, 2, 2]
