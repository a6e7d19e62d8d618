"""Hidden tests of hog_gradients, cell_histograms, normalize_blocks and hog [hog].

Oracles: ``skimage.feature.hog`` (its Cython histogram accumulates in float32, hence the 1e-6
tolerances) and float64 loops written here. Images with integer grey levels put many gradient
angles exactly on bin edges (0, 45, 90, 135 degrees, and -0 / 180), which pins the hard binning.
"""

import math

import numpy as np
import pytest
import torch
from skimage.feature import hog as sk_hog

from harness.testkit import assert_tensor

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(atol=2e-6, rtol=1e-5), torch.float64: dict(atol=1e-6, rtol=1e-6)}
NORMS = ["L1", "L1-sqrt", "L2", "L2-Hys"]


def rand_image(h, w, seed, dtype=torch.float64):
    return torch.rand(h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def int_image(h, w, seed, high=4, dtype=torch.float64):
    """Integer grey levels: gradient angles land exactly on the bin edges of 4 and 8 bins."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, (h, w), generator=gen).to(dtype)


def skimage_hog(image, **kw):
    return torch.from_numpy(np.ascontiguousarray(sk_hog(image.numpy(), **kw)))


def loop_histograms(image, n, cr, cc):
    """float64 loops: [-1, 0, 1] gradients, unsigned angle, hard bins, cell means."""
    img = image.double().tolist()
    h, w = len(img), len(img[0])
    rows, cols = h // cr, w // cc
    out = torch.zeros(rows, cols, n, dtype=torch.float64)
    width = 180.0 / n
    for r in range(rows * cr):
        for c in range(cols * cc):
            gr = img[r + 1][c] - img[r - 1][c] if 0 < r < h - 1 else 0.0
            gc = img[r][c + 1] - img[r][c - 1] if 0 < c < w - 1 else 0.0
            theta = math.degrees(math.atan2(gr, gc)) % 180.0
            b = int(theta // width)
            if b < n:
                out[r // cr, c // cc, b] += math.hypot(gr, gc) / (cr * cc)
    return out


def loop_normalize(hist, br, bc, norm, eps=1e-5):
    rows, cols, n = hist.shape
    out = torch.zeros(rows - br + 1, cols - bc + 1, br, bc, n, dtype=torch.float64)
    for i in range(rows - br + 1):
        for j in range(cols - bc + 1):
            v = hist[i:i + br, j:j + bc].double()
            if norm == "L1":
                v = v / (v.abs().sum() + eps)
            elif norm == "L1-sqrt":
                v = (v / (v.abs().sum() + eps)).sqrt()
            else:
                v = v / math.sqrt(float((v ** 2).sum()) + eps ** 2)
                if norm == "L2-Hys":
                    v = v.clamp(max=0.2)
                    v = v / math.sqrt(float((v ** 2).sum()) + eps ** 2)
            out[i, j] = v
    return out


# ------------------------------------------------------------------------------- gradients
@pytest.mark.task("hog")
@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_centred_difference_with_zero_border(student, dtype):
    image = rand_image(7, 9, seed=1, dtype=dtype)
    g_row, g_col = student.hog_gradients(image)
    er = torch.zeros(7, 9, dtype=dtype)
    ec = torch.zeros(7, 9, dtype=dtype)
    for r in range(1, 6):
        er[r] = image[r + 1] - image[r - 1]
    for c in range(1, 8):
        ec[:, c] = image[:, c + 1] - image[:, c - 1]
    assert_tensor(g_row, er, atol=1e-6, case="g_row = I[r+1] - I[r-1], 0 on the first and last row")
    assert_tensor(g_col, ec, atol=1e-6, case="g_col = I[:, c+1] - I[:, c-1], 0 on the first and last column")


@pytest.mark.task("hog")
def test_gradients_of_a_ramp(student):
    # I = 3 r + 5 c: interior gradients (6, 10), borders 0
    image = (3.0 * torch.arange(5.0)[:, None] + 5.0 * torch.arange(4.0)[None, :]).double()
    g_row, g_col = student.hog_gradients(image)
    er = torch.full((5, 4), 6.0, dtype=torch.float64)
    er[0] = er[-1] = 0
    ec = torch.full((5, 4), 10.0, dtype=torch.float64)
    ec[:, 0] = ec[:, -1] = 0
    assert_tensor(g_row, er, atol=1e-12, case="ramp 3r + 5c")
    assert_tensor(g_col, ec, atol=1e-12, case="ramp 3r + 5c")


# ------------------------------------------------------------------------------- histograms
@pytest.mark.task("hog")
@pytest.mark.parametrize("n,cell,shape", [(9, (8, 8), (35, 42)), (4, (3, 3), (13, 14)), (8, (4, 5), (17, 23)),
                                          (6, (2, 2), (9, 9)), (7, (5, 3), (16, 13))])
def test_cell_histograms_against_loops(student, n, cell, shape):
    image = int_image(*shape, seed=n)
    got = student.cell_histograms(image, orientations=n, pixels_per_cell=cell)
    assert_tensor(got, loop_histograms(image, n, *cell), atol=1e-9,
                  case=f"{n} bins, cells {cell}, image {shape} (integer grey levels: angles on bin edges)")


@pytest.mark.task("hog")
@pytest.mark.parametrize("dtype", DTYPES)
def test_cell_histograms_dtype_and_remainder(student, dtype):
    image = rand_image(21, 30, seed=3, dtype=dtype)  # 2 x 3 cells of 8: 5 rows and 6 columns ignored
    got = student.cell_histograms(image, orientations=9, pixels_per_cell=(8, 8))
    assert_tensor(got, loop_histograms(image, 9, 8, 8).to(dtype), **TOL[dtype],
                  case="21 x 30 image, 8 x 8 cells: the remainder is ignored")


@pytest.mark.task("hog")
def test_cell_histogram_is_a_mean_over_the_cell(student):
    # a vertical step edge: g_col = 1 on two columns, angle 0 -> bin 0; 2 pixels x 4 rows of a 4 x 4 cell
    image = torch.zeros(4, 4, dtype=torch.float64)
    image[:, 2:] = 1.0
    got = student.cell_histograms(image, orientations=4, pixels_per_cell=4)
    expected = torch.zeros(1, 1, 4, dtype=torch.float64)
    expected[0, 0, 0] = 8.0 / 16.0  # rows 0..3 x columns 1, 2 have g_col = 1
    assert_tensor(got, expected, atol=1e-12, case="step edge in a 4 x 4 cell: mean, not sum")


@pytest.mark.task("hog")
def test_cell_histograms_unsigned_orientation(student):
    # a horizontal edge bright above and bright below give the same histogram (mod 180)
    up = torch.zeros(8, 8, dtype=torch.float64)
    up[:4] = 1.0
    down = 1.0 - up
    a = student.cell_histograms(up, orientations=9, pixels_per_cell=8)
    b = student.cell_histograms(down, orientations=9, pixels_per_cell=8)
    expected = torch.zeros(1, 1, 9, dtype=torch.float64)
    expected[0, 0, 4] = 16.0 / 64.0  # angle 90 (or -90 -> 90): bin 4 of [80, 100)
    assert_tensor(a, expected, atol=1e-12, case="edge, bright above: angle 90")
    assert_tensor(b, expected, atol=1e-12, case="edge, bright below: angle -90 = 90 mod 180")


@pytest.mark.task("hog")
def test_a_tiny_negative_angle_votes_nowhere(student):
    # g_row = -1e-300, g_col = 2 at pixel (1, 1): theta = -tiny, and -tiny mod 180 rounds to 180.0,
    # which is in no bin [i * 20, (i + 1) * 20): scikit-image drops the vote
    image = torch.zeros(3, 3, dtype=torch.float64)
    image[0, 1] = 1e-300
    image[1, 2] = 1.0
    image[1, 0] = -1.0
    got = student.cell_histograms(image, orientations=9, pixels_per_cell=3)
    expected = torch.from_numpy(sk_hog(image.numpy(), orientations=9, pixels_per_cell=(3, 3), cells_per_block=(1, 1),
                                       block_norm="L1", feature_vector=False))[0, 0, 0, 0]
    assert_tensor(got[0, 0], loop_histograms(image, 9, 3, 3)[0, 0], atol=1e-12, case="theta -> 180.0 votes nowhere")
    assert float(expected.sum()) < 1e-3, "test setup: scikit-image drops the vote too"


@pytest.mark.task("hog")
def test_cell_histograms_smaller_than_a_cell(student):
    got = student.cell_histograms(rand_image(5, 20, seed=0), orientations=9, pixels_per_cell=(8, 8))
    assert_tensor(got, torch.zeros(0, 2, 9, dtype=torch.float64), case="5 rows < one 8-row cell")


# ------------------------------------------------------------------------------- blocks
@pytest.mark.task("hog")
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("block", [(2, 2), (3, 1), (1, 1)])
def test_normalize_blocks_against_loops(student, norm, block):
    gen = torch.Generator().manual_seed(5)
    hist = torch.rand(5, 4, 6, generator=gen, dtype=torch.float64) ** 4  # skewed: L2-Hys clips
    hist[0, 0] = 0.0  # an empty cell
    got = student.normalize_blocks(hist, cells_per_block=block, block_norm=norm)
    assert_tensor(got, loop_normalize(hist, *block, norm), atol=1e-12, case=f"{norm}, blocks {block}")


@pytest.mark.task("hog")
def test_l2_hys_clips_a_dominant_bin(student):
    hist = torch.zeros(1, 1, 4, dtype=torch.float64)
    hist[0, 0] = torch.tensor([10.0, 1.0, 1.0, 1.0])
    got = student.normalize_blocks(hist, cells_per_block=1, block_norm="L2-Hys")
    assert float(got.max()) < 0.99, "L2-Hys clips at 0.2 and renormalises: one bin cannot stay near 1"
    assert_tensor(got, loop_normalize(hist, 1, 1, "L2-Hys"), atol=1e-12, case="dominant bin, L2-Hys")


@pytest.mark.task("hog")
@pytest.mark.parametrize("norm", NORMS)
def test_normalize_an_all_zero_block(student, norm):
    hist = torch.zeros(2, 2, 3, dtype=torch.float32)
    got = student.normalize_blocks(hist, cells_per_block=2, block_norm=norm)
    assert_tensor(got, torch.zeros(1, 1, 2, 2, 3), case=f"all-zero block, {norm}: eps keeps it 0, no nan")


@pytest.mark.task("hog")
def test_normalize_blocks_float32(student):
    hist = torch.rand(4, 4, 9, generator=torch.Generator().manual_seed(2))
    got = student.normalize_blocks(hist, cells_per_block=(2, 2), block_norm="L2-Hys")
    assert_tensor(got, loop_normalize(hist, 2, 2, "L2-Hys").float(), atol=1e-6, case="float32 histograms")


# ------------------------------------------------------------------------------- skimage
@pytest.mark.task("hog")
@pytest.mark.parametrize("dtype", DTYPES)
def test_hog_skimage_defaults(student, dtype):
    image = rand_image(64, 48, seed=7, dtype=dtype)
    got = student.hog(image)
    assert_tensor(got, skimage_hog(image), **TOL[dtype], case="skimage defaults: 9 bins, 8x8 cells, 3x3 blocks, L2-Hys")


@pytest.mark.task("hog")
@pytest.mark.parametrize("dtype", DTYPES)
def test_hog_dalal_triggs(student, dtype):
    image = rand_image(128, 64, seed=8, dtype=dtype)
    kw = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys")
    got = student.hog(image, **kw)
    assert got.shape == (15 * 7 * 2 * 2 * 9,), \
        f"a 128 x 64 window has 15 x 7 blocks of 36 values, got {list(got.shape)}"
    assert_tensor(got, skimage_hog(image, **kw), **TOL[dtype], case="Dalal-Triggs 128 x 64 window")


@pytest.mark.task("hog")
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n,cell,block,shape", [(9, (8, 8), (2, 2), (50, 45)), (4, (4, 4), (2, 3), (30, 37)),
                                                (8, (6, 5), (1, 2), (25, 31)), (12, (3, 4), (3, 3), (22, 25))])
def test_hog_skimage_settings(student, norm, n, cell, block, shape):
    image = int_image(*shape, seed=n, high=5)
    kw = dict(orientations=n, pixels_per_cell=cell, cells_per_block=block, block_norm=norm)
    got = student.hog(image, **kw)
    assert_tensor(got, skimage_hog(image, **kw), atol=1e-6, rtol=1e-6,
                  case=f"{norm}, {n} bins, cells {cell}, blocks {block}, integer grey levels")


@pytest.mark.task("hog")
def test_hog_of_an_image_with_black_pixels(student):
    # 0 is a valid grey level, also under transform_sqrt (only negative images are refused there):
    # a black border and a black square
    image = rand_image(40, 32, seed=14)
    image[:, :5] = 0.0
    image[20:30, 10:20] = 0.0
    for sqrt in (False, True):
        kw = dict(pixels_per_cell=(8, 8), cells_per_block=(2, 2), transform_sqrt=sqrt)
        assert_tensor(student.hog(image, **kw), skimage_hog(image, **kw), atol=1e-6,
                      case=f"exact zeros in the image, transform_sqrt={sqrt}")


@pytest.mark.task("hog")
def test_hog_one_orientation_bin(student):
    image = rand_image(24, 24, seed=13)
    kw = dict(orientations=1, pixels_per_cell=(6, 6), cells_per_block=(2, 2), block_norm="L1")
    assert_tensor(student.hog(image, **kw), skimage_hog(image, **kw), atol=1e-6,
                  case="orientations=1: one bin [0, 180)")


@pytest.mark.task("hog")
def test_hog_transform_sqrt(student):
    image = rand_image(40, 40, seed=9)
    kw = dict(pixels_per_cell=(8, 8), cells_per_block=(2, 2), transform_sqrt=True)
    assert_tensor(student.hog(image, **kw), skimage_hog(image, **kw), atol=1e-6, case="transform_sqrt=True")


@pytest.mark.task("hog")
def test_hog_feature_layout(student):
    image = rand_image(48, 40, seed=10)
    kw = dict(orientations=6, pixels_per_cell=(8, 8), cells_per_block=(2, 3))
    grid = student.hog(image, feature_vector=False, **kw)
    expected = skimage_hog(image, feature_vector=False, **kw)  # [5, 3, 2, 3, 6]
    assert_tensor(grid, expected, atol=1e-6, case="feature_vector=False: [blocks_r, blocks_c, br, bc, n]")
    flat = student.hog(image, **kw)
    assert_tensor(flat, expected.reshape(-1), atol=1e-6, case="feature_vector=True is the C-order ravel")


@pytest.mark.task("hog")
def test_hog_non_square_image_axes(student):
    # a transposed image must give the transposed layout: catches swapped row / column axes
    image = rand_image(24, 56, seed=11)
    kw = dict(orientations=9, pixels_per_cell=(8, 4), cells_per_block=(2, 1))
    assert_tensor(student.hog(image, **kw), skimage_hog(image, **kw), atol=1e-6, case="24 x 56, cells 8 x 4")


@pytest.mark.task("hog")
def test_hog_contrast_invariance(student):
    image = rand_image(32, 32, seed=12)
    a = student.hog(image, pixels_per_cell=8, cells_per_block=2, block_norm="L2")
    b = student.hog(image * 3.0 + 0.5, pixels_per_cell=8, cells_per_block=2, block_norm="L2")
    assert_tensor(b, a, atol=1e-6, case="block normalisation: I -> 3 I + 0.5 leaves HOG unchanged")


# ------------------------------------------------------------------------------- errors
@pytest.mark.task("hog")
def test_hog_rejects_an_image_too_small_for_a_block(student):
    with pytest.raises(ValueError, match="too small"):
        student.hog(rand_image(20, 20, seed=0), pixels_per_cell=8, cells_per_block=3)


@pytest.mark.task("hog")
@pytest.mark.parametrize("cells", [(3, 1), (1, 3)])
def test_a_grid_too_small_on_one_axis_is_rejected(student, cells):
    # the block must fit on both axes: a grid large enough on one of them is still too small
    with pytest.raises(ValueError, match="histograms|cells_per_block|too small"):
        student.normalize_blocks(torch.rand(*cells, 9, dtype=torch.float64), cells_per_block=(2, 2))
    with pytest.raises(ValueError, match="image|cells_per_block|too small"):
        student.hog(rand_image(8 * cells[0], 8 * cells[1], seed=1), pixels_per_cell=8, cells_per_block=2)


@pytest.mark.task("hog")
def test_hog_rejects_an_unknown_norm(student):
    with pytest.raises(ValueError, match="block_norm"):
        student.hog(rand_image(32, 32, seed=0), block_norm="L3")


@pytest.mark.task("hog")
@pytest.mark.parametrize("kw,word", [(dict(orientations=0), "orientations"),
                                     (dict(pixels_per_cell=(0, 8)), "pixels_per_cell"),
                                     (dict(cells_per_block=(1, 0)), "cells_per_block")])
def test_hog_rejects_bad_sizes(student, kw, word):
    with pytest.raises(ValueError, match=word):
        student.hog(rand_image(32, 32, seed=0), **kw)


@pytest.mark.task("hog")
def test_hog_rejects_bad_images(student):
    with pytest.raises(TypeError, match="image|float32 or float64"):
        student.hog(torch.zeros(32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="image|H, W"):
        student.hog(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="transform_sqrt|image"):  # either names the problem
        student.hog(rand_image(32, 32, seed=0) - 0.5, pixels_per_cell=8, cells_per_block=2, transform_sqrt=True)


@pytest.mark.task("hog")
def test_hog_rejects_wrong_argument_types(student):
    with pytest.raises(TypeError, match="image|torch.Tensor"):
        student.hog_gradients([[0.0, 1.0], [1.0, 0.0]])
    # cell_histograms' Raises reads "TypeError / ValueError: ... not an int (pair) >= 1": either type
    with pytest.raises((TypeError, ValueError), match="pixels_per_cell"):
        student.cell_histograms(rand_image(16, 16, seed=0), pixels_per_cell="8")
    with pytest.raises((TypeError, ValueError), match="orientations"):
        student.cell_histograms(rand_image(16, 16, seed=0), orientations=4.5)
    with pytest.raises(TypeError, match="histograms"):
        student.normalize_blocks(torch.zeros(3, 3, 9, dtype=torch.int64), cells_per_block=2)
    with pytest.raises(ValueError, match="histograms|R, C, n"):
        student.normalize_blocks(torch.zeros(3, 9), cells_per_block=2)
