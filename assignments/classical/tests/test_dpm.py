"""Public tests of the generalized distance transform and the star-model score [dpm].

Oracle: brute force over every source position (O(n^2)), written here.
"""

import pytest
import torch

from harness.testkit import assert_tensor


def brute_1d(f, a, b):
    q = torch.arange(f.shape[0], dtype=torch.float64)
    v = f[None, :] - a * (q[None, :] - q[:, None]) ** 2 - b * (q[None, :] - q[:, None])
    return v.max(dim=1)


@pytest.mark.task("dpm")
def test_dt1d_against_brute_force(student):
    f = torch.randn(40, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    d, arg = student.distance_transform_1d(f, 0.3, 0.2)
    md, mi = brute_1d(f, 0.3, 0.2)
    assert_tensor(d, md, atol=1e-10, case="D(p) = max_q f(q) - a (q - p)^2 - b (q - p)")
    assert_tensor(arg, mi, case="argmax q")


@pytest.mark.task("dpm")
def test_dt2d_single_peak(student):
    f = torch.full((5, 6), -50.0, dtype=torch.float64)
    f[1, 4] = 3.0
    d, qy, qx = student.distance_transform_2d(f, 1.0, 0.0, 2.0, 0.0)
    yy, xx = torch.meshgrid(torch.arange(5.0, dtype=torch.float64), torch.arange(6.0, dtype=torch.float64),
                            indexing="ij")
    assert_tensor(d, 3.0 - (4 - xx) ** 2 - 2.0 * (1 - yy) ** 2, atol=1e-12, case="one peak at (1, 4)")
    assert_tensor(qy, torch.ones(5, 6, dtype=torch.int64), case="argmax row")
    assert_tensor(qx, torch.full((5, 6), 4), case="argmax column")


@pytest.mark.task("dpm")
def test_dpm_score_one_part(student):
    root = torch.zeros(3, 3, dtype=torch.float64)
    part = torch.full((1, 3, 3), -50.0, dtype=torch.float64)
    part[0, 2, 2] = 1.0
    got, place = student.dpm_score(root, part, torch.tensor([[1, 1]]), torch.tensor([[1.0, 0.0, 1.0, 0.0]]))
    ninf = float("-inf")
    expected = torch.tensor([[-1.0, ninf, ninf], [ninf, ninf, ninf], [ninf, ninf, ninf]], dtype=torch.float64)
    expected[0, 1] = 1.0 - 1 - 0  # anchor (1, 2): part at (2, 2), dx = 0, dy = 1
    expected[1, 0] = 1.0 - 0 - 1  # anchor (2, 1)
    expected[0, 0] = 1.0 - 1 - 1  # anchor (1, 1)
    expected[1, 1] = 1.0  # anchor (2, 2)
    assert_tensor(got, expected, atol=1e-12, case="anchor offset (1, 1): -inf where it leaves the grid")
    assert place[0, 1, 1].tolist() == [2, 2] and place[0, 2, 2].tolist() == [-1, -1], "placements (y, x), -1 outside"
