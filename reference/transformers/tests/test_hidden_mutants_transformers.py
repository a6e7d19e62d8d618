"""Hidden tests for the classes of one-mistake variants that survived `cv3 check transformers --mutants`
(seed 31): every documented threshold at exactly its value (``sigmoid < 0.5`` blocks, so a logit
of exactly 0 does not), and every documented lower bound of a size parameter at exactly the bound
(a grid side of 1, a window side of 1), which must be accepted and computed like any other size.

Oracles: float64 loops written here (windows cut by index arithmetic, the blocking rule) and
``torch.nn.functional.interpolate`` (the interpolation the docstring names).
"""

import pytest
import torch
import torch.nn.functional as F

from harness.testkit import assert_tensor


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ masked attention
@pytest.mark.task("maskformer")
@pytest.mark.parametrize("num_heads", [1, 3])
def test_masked_attention_mask_logit_zero_is_not_blocked(student, num_heads):
    # logits in {-1, 0, 1} (0 exactly: sigmoid is exactly 0.5); same size in and out, so bilinear
    # interpolation with align_corners=False returns the logits unchanged
    b, q, h, w = 2, 4, 3, 5
    logits = torch.randint(-1, 2, (b, q, h, w), generator=gen(0)).double()
    logits[0, 0] = 0.0  # a query that is exactly 0 everywhere: nothing blocked
    logits[0, 1] = -1.0  # fully blocked -> un-blocked entirely
    logits[1, 2] = -1.0
    logits[1, 2, 1, 1] = 0.0  # one position at exactly 0.5: only that one is open
    expected = torch.zeros(b, q, h * w, dtype=torch.bool)
    for bi in range(b):
        for qi in range(q):
            row = [float(v) < 0.0 for v in logits[bi, qi].flatten()]  # sigmoid(v) < 0.5  <=>  v < 0
            if all(row):
                row = [False] * len(row)
            expected[bi, qi] = torch.tensor(row)
    expected = expected.repeat_interleave(num_heads, dim=0)
    got = student.masked_attention_mask(logits, (h, w), num_heads)
    assert_tensor(got, expected, case="blocked iff sigmoid < 0.5 (a logit of exactly 0 stays open)")


# ------------------------------------------------------------------------------ position embeddings
@pytest.mark.task("posenc")
@pytest.mark.parametrize("old_grid,new_grid,prefix", [((1, 3), (2, 3), 1), ((2, 2), (1, 4), 0),
                                                      ((1, 1), (3, 2), 2), ((3, 1), (1, 1), 1)])
def test_interpolate_pos_embedding_grid_side_one(student, old_grid, new_grid, prefix):
    (oh, ow), (nh, nw), d = old_grid, new_grid, 5
    pe = torch.randn(1, prefix + oh * ow, d, generator=gen(1), dtype=torch.float64)
    grid = pe[:, prefix:].reshape(1, oh, ow, d).permute(0, 3, 1, 2)
    resized = F.interpolate(grid, size=(nh, nw), mode="bicubic", align_corners=True)
    expected = torch.cat([pe[:, :prefix], resized.permute(0, 2, 3, 1).reshape(1, nh * nw, d)], dim=1)
    got = student.interpolate_pos_embedding(pe, old_grid, new_grid, num_prefix_tokens=prefix)
    assert_tensor(got, expected, atol=1e-12, case=f"{old_grid} -> {new_grid}, {prefix} prefix tokens")


# ------------------------------------------------------------------------------ swin windows
def loop_partition(x, mh, mw):
    b, h, w, c = x.shape
    out = []
    for bi in range(b):
        for i in range(h // mh):
            for j in range(w // mw):
                out.append(x[bi, i * mh:(i + 1) * mh, j * mw:(j + 1) * mw])
    return torch.stack(out)


@pytest.mark.task("swin")
@pytest.mark.parametrize("window_size", [1, (1, 2), (3, 1)])
def test_window_partition_and_reverse_side_one(student, window_size):
    mh, mw = (window_size, window_size) if isinstance(window_size, int) else window_size
    x = torch.randn(2, 3, 4, 2, generator=gen(2), dtype=torch.float64)
    expected = loop_partition(x, mh, mw)
    got = student.window_partition(x, window_size)
    assert_tensor(got, expected, atol=0, case=f"window {window_size}")
    assert_tensor(student.window_reverse(expected, window_size, 3, 4), x, atol=0,
                  case=f"window_reverse, window {window_size}")
