"""Hidden tests of max_pool2d_with_indices and max_unpool2d [unpool].

Oracles: F.max_pool2d(return_indices=True) and F.max_unpool2d, values and gradients.
"""

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor, check_gradient, devices

POOL = {
    "2x2": (2, None, 0, (6, 8)),
    "3x3 stride 2 pad 1": (3, 2, 1, (7, 9)),
    "odd size 2x2": (2, 2, 0, (5, 7)),
    "rectangular": ((2, 3), (2, 3), (1, 1), (6, 9)),
}


def distinct(shape, seed, dtype=torch.float32):
    n = 1
    for s in shape:
        n *= s
    g = torch.Generator().manual_seed(seed)
    return (torch.randperm(n, generator=g).to(dtype) / n).reshape(shape)  # no ties


@pytest.mark.task("unpool")
@pytest.mark.parametrize("case", list(POOL))
@pytest.mark.parametrize("device", devices())
def test_max_pool_with_indices_matches_torch(student, case, device):
    k, s, p, (h, w) = POOL[case]
    x = distinct((2, 3, h, w), 1).to(device)
    ev, ei = F.max_pool2d(x, k, s, p, return_indices=True)
    gv, gi = student.max_pool2d_with_indices(x, k, s, p)
    assert_tensor(gv, ev, case=f"{case} values")
    assert_tensor(gi, ei, case=f"{case} indices")


@pytest.mark.task("unpool")
def test_max_pool_ties_take_the_first(student):
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0
    ev, ei = F.max_pool2d(x, 2, return_indices=True)
    gv, gi = student.max_pool2d_with_indices(x, 2)
    assert_tensor(gi, ei)
    assert_tensor(gv, ev)


@pytest.mark.task("unpool")
@pytest.mark.parametrize("case", list(POOL))
def test_unpool_matches_torch(student, case):
    k, s, p, (h, w) = POOL[case]
    x = distinct((2, 2, h, w), 2, torch.float64)
    pooled, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    expected = F.max_unpool2d(pooled, idx, k, s, p, output_size=x.shape[-2:])
    got = student.max_unpool2d(pooled, idx, k, s, p, output_size=tuple(x.shape[-2:]))
    assert_tensor(got, expected, case=case)


@pytest.mark.task("unpool")
def test_unpool_default_size_and_full_shape(student):
    x = distinct((1, 2, 6, 6), 3)
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    assert_tensor(student.max_unpool2d(pooled, idx, 2), F.max_unpool2d(pooled, idx, 2))
    x7 = distinct((1, 2, 7, 7), 4)
    pooled, idx = F.max_pool2d(x7, 2, return_indices=True)
    assert_tensor(student.max_unpool2d(pooled, idx, 2, 2, 0, list(x7.shape)),
                  F.max_unpool2d(pooled, idx, 2, 2, 0, output_size=x7.shape), case="output_size = full shape")


@pytest.mark.task("unpool")
def test_unpool_roundtrip_keeps_the_maxima_in_place(student):
    """SegNet: pooling then unpooling with the student's own indices keeps the maxima where
    they were and zeros elsewhere."""
    x = distinct((1, 1, 4, 6), 5)
    v, i = student.max_pool2d_with_indices(x, 2)
    up = student.max_unpool2d(v, i, 2)
    mask = up != 0
    assert int(mask.sum()) == 6
    assert_tensor(up[mask], x[mask])


@pytest.mark.task("unpool")
def test_unpool_gradient(student):
    x = distinct((1, 2, 4, 4), 6, torch.float64)
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    check_gradient(student, "max_unpool2d", [pooled, idx, 2])


@pytest.mark.task("unpool")
def test_unpool_rejects(student):
    x = distinct((1, 1, 4, 4), 7)
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(ValueError, match="output_size"):
        student.max_unpool2d(pooled, idx, 2, 2, 0, (6, 4))
    with pytest.raises(ValueError, match="indices"):
        student.max_unpool2d(pooled, idx + 20, 2)
    with pytest.raises(TypeError, match="indices|int64"):
        student.max_unpool2d(pooled, idx.int(), 2)
    with pytest.raises(ValueError, match=r"\bx\b|indices|shape"):
        student.max_unpool2d(pooled, idx[..., :1], 2)
    # max_pool2d_with_indices documents "TypeError, ValueError": either type is accepted
    with pytest.raises((ValueError, TypeError), match="padding|kernel_size"):
        student.max_pool2d_with_indices(x, 2, 2, 2)
