"""Hidden tests of the pretext tasks [pretext].

Oracles: index formulas of the quarter turns written as loops, a pure-Python greedy permutation
search (small tile counts) and a numpy one (9 tiles), tile-by-tile slicing loops, and
``skimage.color.rgb2lab``.
"""

import itertools
import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from harness.testkit import assert_tensor, devices


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---------------------------------------------------------------- rotation


def rot_oracle(img, k):
    """Quarter turns counter-clockwise as displayed, one pixel at a time: out[r][c]."""
    n = img.shape[-1]
    out = torch.empty_like(img)
    for r in range(n):
        for c in range(n):
            if k == 0:
                src = (r, c)
            elif k == 1:
                src = (c, n - 1 - r)
            elif k == 2:
                src = (n - 1 - r, n - 1 - c)
            else:
                src = (n - 1 - c, r)
            out[..., r, c] = img[..., src[0], src[1]]
    return out


@pytest.mark.task("pretext")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rotate_batch_matches_index_formulas(student, dtype):
    x = randn(3, 2, 5, 5, seed=1, dtype=dtype)
    got, labels = student.rotate_batch(x)
    expected = torch.cat([rot_oracle(x, k) for k in range(4)])
    assert_tensor(got, expected, case=f"{dtype}")
    assert_tensor(labels, torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]), case="labels, rotation-major")


@pytest.mark.task("pretext")
def test_rotate_batch_one_turn_is_counter_clockwise(student):
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    got, _ = student.rotate_batch(x)
    # displayed with row 0 on top: [[1, 2], [3, 4]] turned a quarter counter-clockwise
    assert_tensor(got[1], torch.tensor([[[2.0, 4.0], [1.0, 3.0]]]), case="k = 1")
    assert_tensor(got[3], torch.tensor([[[3.0, 1.0], [4.0, 2.0]]]), case="k = 3")


@pytest.mark.task("pretext")
def test_rotate_batch_of_no_images(student):
    got, labels = student.rotate_batch(torch.zeros(0, 3, 4, 4))
    assert_tensor(got, torch.zeros(0, 3, 4, 4), case="N = 0")
    assert_tensor(labels, torch.zeros(0, dtype=torch.int64), case="N = 0 labels")


@pytest.mark.task("pretext")
def test_rotate_batch_rejects_non_square_images(student):
    with pytest.raises(ValueError, match="images|square"):
        student.rotate_batch(torch.zeros(1, 1, 4, 5))
    with pytest.raises(ValueError, match="images|N, C, H, W"):
        student.rotate_batch(torch.zeros(4, 4))


# ---------------------------------------------------------------- jigsaw permutations


def greedy_oracle(n, m):
    perms = list(itertools.permutations(range(n)))
    chosen = [0]
    while len(chosen) < m:
        best, best_d = None, -1
        for j, p in enumerate(perms):
            if j in chosen:
                continue
            d = min(sum(a != b for a, b in zip(p, perms[c])) for c in chosen)
            if d > best_d:
                best, best_d = j, d
        chosen.append(best)
    return torch.tensor([perms[j] for j in chosen], dtype=torch.int64)


def numpy_greedy(n, m):
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int8)
    chosen = [0]
    dmin = (perms != perms[0]).sum(1)
    dmin[0] = -1
    while len(chosen) < m:
        j = int(np.argmax(dmin))
        chosen.append(j)
        dmin = np.minimum(dmin, (perms != perms[j]).sum(1))
        dmin[chosen] = -1
    return torch.from_numpy(perms[chosen].astype(np.int64))


@pytest.mark.task("pretext")
@pytest.mark.parametrize("n, m", [(3, 6), (4, 10), (5, 24), (4, 1)])
def test_hamming_permutations_small_match_a_python_greedy(student, n, m):
    assert_tensor(student.hamming_permutations(n, m), greedy_oracle(n, m), case=f"{n} tiles, {m} permutations")


@pytest.mark.task("pretext")
def test_hamming_permutations_nine_tiles(student):
    got = student.hamming_permutations(9, 30)
    assert_tensor(got, numpy_greedy(9, 30), case="9 tiles, 30 permutations")
    # every row a permutation, all distinct, every pair far apart
    assert all(sorted(r) == list(range(9)) for r in got.tolist())
    d = (got[:, None] != got[None]).sum(-1) + 100 * torch.eye(30, dtype=torch.long)
    assert int(d.min()) >= 7, f"minimum pairwise Hamming distance {int(d.min())}"


@pytest.mark.task("pretext")
@pytest.mark.parametrize("n, m, what", [(1, 1, "num_tiles"), (10, 5, "num_tiles"), (3, 7, "num_permutations|num_tiles"),
                                        (3, 0, "num_permutations")])
def test_hamming_permutations_rejects_bad_arguments(student, n, m, what):
    with pytest.raises(ValueError, match=what):
        student.hamming_permutations(n, m)


# ---------------------------------------------------------------- jigsaw tiles


def tiles_oracle(images, labels, perms, grid):
    n, c, hh, ww = images.shape
    h, w = hh // grid, ww // grid
    out = torch.empty(n, grid * grid, c, h, w, dtype=images.dtype)
    for i in range(n):
        p = perms[labels[i]].tolist()
        for j in range(grid * grid):
            r, q = divmod(p[j], grid)
            out[i, j] = images[i, :, r * h:(r + 1) * h, q * w:(q + 1) * w]
    return out


@pytest.mark.task("pretext")
@pytest.mark.parametrize("grid, size", [(3, (9, 12)), (2, (4, 6)), (1, (3, 3))])
def test_jigsaw_tiles_match_slicing(student, grid, size):
    t = grid * grid
    perms = torch.stack([torch.randperm(t, generator=torch.Generator().manual_seed(s)) for s in range(5)])
    images = randn(4, 2, *size, seed=grid)
    labels = torch.tensor([4, 0, 2, 4])
    got = student.jigsaw_tiles(images, labels, perms, grid)
    assert_tensor(got, tiles_oracle(images, labels, perms, grid), case=f"grid {grid}, image {size}")


@pytest.mark.task("pretext")
def test_jigsaw_tiles_default_grid_and_no_images(student):
    perms = torch.tensor([list(range(9)), list(range(8, -1, -1))])
    images = torch.arange(2 * 36, dtype=torch.float64).reshape(2, 1, 6, 6)
    got = student.jigsaw_tiles(images, torch.tensor([1, 0]), perms)
    assert_tensor(got, tiles_oracle(images, torch.tensor([1, 0]), perms, 3), case="default grid = 3")
    empty = student.jigsaw_tiles(torch.zeros(0, 3, 6, 6), torch.zeros(0, dtype=torch.long), perms)
    assert_tensor(empty, torch.zeros(0, 9, 3, 2, 2), case="N = 0")


@pytest.mark.task("pretext")
@pytest.mark.parametrize("shape, labels, perm_len, match", [
    ((1, 1, 7, 9), [0], 9, "images|grid|divisible"),
    ((1, 1, 6, 6), [2], 9, "labels|permutations"),
    ((1, 1, 6, 6), [0], 4, "permutations|grid"),
    ((2, 1, 6, 6), [0], 9, "labels|images"),
])
def test_jigsaw_tiles_rejects_bad_inputs(student, shape, labels, perm_len, match):
    perms = torch.arange(perm_len)[None].repeat(2, 1)
    with pytest.raises(ValueError, match=match):
        student.jigsaw_tiles(torch.zeros(shape), torch.tensor(labels), perms, 3)


@pytest.mark.task("pretext")
def test_jigsaw_tiles_rejects_bad_grid_and_dims(student):
    perms = torch.arange(9)[None]
    with pytest.raises(ValueError, match="grid"):
        student.jigsaw_tiles(torch.zeros(1, 1, 6, 6), torch.tensor([0]), torch.arange(1)[None], 0)
    with pytest.raises(ValueError, match="images|N, C, H, W"):
        student.jigsaw_tiles(torch.zeros(1, 6, 6), torch.tensor([0]), perms, 3)


# ---------------------------------------------------------------- colorization


def lab_case(dtype, seed=0):
    rgb = torch.rand(2, 3, 6, 7, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    # both branches of the sRGB gamma and of f(t): dark, threshold-near and extreme values
    rgb[0, :, 0, :] = torch.tensor([0.0, 0.001, 0.02, 0.04045, 0.0405, 0.5, 1.0])
    rgb[1, :, 1, :4] = torch.tensor([0.0, 1.0, 0.003, 0.01])[None].T.expand(4, 3).T
    return rgb.to(dtype)


@pytest.mark.task("pretext")
@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-8), (torch.float32, 2e-3)])
@pytest.mark.parametrize("device", devices())
def test_rgb_to_lab_matches_skimage(student, dtype, atol, device):
    rgb = lab_case(dtype)
    expected = torch.from_numpy(rgb2lab(rgb.double().permute(0, 2, 3, 1).numpy())).permute(0, 3, 1, 2)
    got = student.rgb_to_lab(rgb.to(device))
    assert_tensor(got, expected.to(dtype).to(device), atol=atol, rtol=0, case=f"{dtype} {device}")


@pytest.mark.task("pretext")
def test_rgb_to_lab_of_one_image_and_white(student):
    rgb = torch.ones(3, 2, 2, dtype=torch.float64)
    rgb[:, 1, 1] = torch.tensor([0.2, 0.7, 0.1])
    expected = torch.from_numpy(rgb2lab(rgb.permute(1, 2, 0).numpy())).permute(2, 0, 1)
    got = student.rgb_to_lab(rgb)
    assert_tensor(got, expected, atol=1e-8, case="[3, H, W]")
    assert abs(float(got[0, 0, 0]) - 100.0) < 1e-6, "white has L = 100"


@pytest.mark.task("pretext")
def test_rgb_to_lab_rejects_bad_inputs(student):
    with pytest.raises(ValueError, match="rgb|3, H, W"):
        student.rgb_to_lab(torch.zeros(1, 4, 2, 2))
    with pytest.raises(TypeError, match="rgb|floating"):
        student.rgb_to_lab(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))


def quantize_oracle(ab, bin_size, ab_max):
    bins = math.ceil(2 * ab_max / bin_size)
    flat = ab.reshape(-1, 2, ab.shape[-2] * ab.shape[-1]).double()
    out = []
    for sample in flat:
        row = []
        for a, b in zip(sample[0].tolist(), sample[1].tolist()):
            ia = min(max(math.floor((a + ab_max) / bin_size), 0), bins - 1)
            ib = min(max(math.floor((b + ab_max) / bin_size), 0), bins - 1)
            row.append(ia * bins + ib)
        out.append(row)
    return torch.tensor(out, dtype=torch.int64).reshape(*ab.shape[:-3], *ab.shape[-2:])


@pytest.mark.task("pretext")
@pytest.mark.parametrize("bin_size, ab_max", [(10.0, 110.0), (7.0, 110.0), (25.0, 60.0)])
def test_quantize_ab_matches_a_loop(student, bin_size, ab_max):
    ab = randn(3, 2, 4, 5, seed=2) * 70
    edges = torch.tensor([-ab_max, -ab_max + bin_size, 0.0, ab_max - 1e-9, ab_max, 500.0, -500.0, -ab_max - 1e-9,
                          bin_size * 0.999, -bin_size])
    ab[0, 0, 0, :5], ab[0, 1, 0, :5] = edges[:5].float(), edges[5:].float()
    ab[1, 1, 1, :5], ab[1, 0, 1, :5] = edges[:5].float(), edges[5:].float()
    got = student.quantize_ab(ab, bin_size, ab_max)
    assert_tensor(got, quantize_oracle(ab, bin_size, ab_max), case=f"bin {bin_size}, max {ab_max}")


@pytest.mark.task("pretext")
def test_quantize_ab_defaults_and_float64(student):
    ab = randn(1, 2, 3, 3, seed=3, dtype=torch.float64) * 60
    got = student.quantize_ab(ab[0])
    assert_tensor(got, quantize_oracle(ab, 10.0, 110.0)[0], case="[2, H, W], defaults (10, 110)")


@pytest.mark.task("pretext")
@pytest.mark.parametrize("bin_size, ab_max", [(10.0, 110.0), (7.0, 50.0)])
def test_ab_bin_centres_match_a_loop_and_round_trip(student, bin_size, ab_max):
    bins = math.ceil(2 * ab_max / bin_size)
    expected = torch.tensor([[-ab_max + (ia + 0.5) * bin_size, -ab_max + (ib + 0.5) * bin_size]
                             for ia in range(bins) for ib in range(bins)], dtype=torch.float32)
    got = student.ab_bin_centres(bin_size, ab_max)
    assert_tensor(got, expected, atol=1e-5, case=f"bin {bin_size}, max {ab_max}")
    # each centre falls in its own class (a centre past ab_max falls in the last bin anyway)
    classes = student.quantize_ab(expected.T.reshape(2, 1, -1), bin_size, ab_max)
    assert_tensor(classes, torch.arange(bins * bins)[None], case="quantize_ab(centres)")


@pytest.mark.task("pretext")
def test_colorization_bins_reject_bad_arguments(student):
    with pytest.raises(ValueError, match="bin_size"):
        student.quantize_ab(torch.zeros(2, 2, 2), 0.0)
    with pytest.raises(ValueError, match=r"\bab\b|2, H, W"):
        student.quantize_ab(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="ab_max"):
        student.ab_bin_centres(10.0, -1.0)


@pytest.mark.task("pretext")
@pytest.mark.parametrize("fn", ["quantize_ab", "ab_bin_centres"])
@pytest.mark.parametrize("bin_size, ab_max, name", [(0.0, 110.0, "bin_size"), (-1.0, 110.0, "bin_size"),
                                                     (10.0, 0.0, "ab_max"), (10.0, -1e-9, "ab_max")])
def test_colorization_bins_refuse_each_bound(student, fn, bin_size, ab_max, name):
    # "bin_size/ab_max > 0": exactly 0 is refused as well as a negative value, for both functions;
    # the smallest sensible grid (one bin per axis) works
    call = {"quantize_ab": lambda b, m: student.quantize_ab(torch.full((2, 1, 2), 0.5), b, m),
            "ab_bin_centres": lambda b, m: student.ab_bin_centres(b, m)}[fn]
    one_bin = call(2.0, 1.0)
    expected = torch.zeros(1, 2, dtype=torch.int64) if fn == "quantize_ab" else torch.zeros(1, 2)
    assert_tensor(one_bin, expected, atol=1e-6, case="bin_size = 2 ab_max: one bin per axis")
    with pytest.raises(ValueError, match=name):
        call(bin_size, ab_max)
