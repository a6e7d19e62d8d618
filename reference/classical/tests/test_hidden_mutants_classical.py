"""Hidden tests for the classes of one-mistake variants that survived `cv3 check classical --mutants`
(seed 31): input checks on every kind of bad input, not only the most common one: a non-tensor
must raise the documented kind of exception (never an AttributeError from the check itself), and
a tensor of the wrong rank must be reported with its shape (the bad value), as the course's
error-message rule asks.
"""

import pytest
import torch


@pytest.mark.task("vj_detect")
@pytest.mark.parametrize("bad", [[[[0.0] * 4] * 3], 3.0, None])
def test_normalize_windows_rejects_non_tensors(student, bad):
    with pytest.raises((TypeError, ValueError), match="windows"):
        student.normalize_windows(bad)


@pytest.mark.task("vj_detect")
@pytest.mark.parametrize("shape", [(5, 7), (2, 5, 7, 1)])
def test_normalize_windows_wrong_rank_names_the_shape(student, shape):
    dims = ", ".join(str(s) for s in shape)
    with pytest.raises(ValueError, match=rf"windows.*({dims}|{len(shape)}\s*-?\s*(D|d|dim))"):
        student.normalize_windows(torch.zeros(shape))
