"""Histograms of oriented gradients (Dalal and Triggs), laid out as scikit-image's ``hog``.

The pipeline, for a grayscale image ``I`` of ``H x W`` pixels (row ``r``, column ``c``):

1. Gradients with the centred kernel ``[-1, 0, 1]`` and no smoothing:
   ``g_row[r, c] = I[r + 1, c] - I[r - 1, c]`` and ``g_col[r, c] = I[r, c + 1] - I[r, c - 1]``;
   the first and last row of ``g_row`` and the first and last column of ``g_col`` are 0.
2. Unsigned orientation ``theta = degrees(atan2(g_row, g_col)) mod 180`` in ``[0, 180)``, magnitude
   ``hypot(g_row, g_col)``, both computed in float64 from the gradients (which are in the image's
   dtype), as scikit-image does, whatever the image's dtype. HARD binning (scikit-image's, no
   interpolation between bins or cells): bin ``i`` of ``n`` takes the pixels with
   ``i * 180/n <= theta < (i + 1) * 180/n``, the bin edges being rounded to float32 (as
   scikit-image's Cython code does). A pixel whose theta rounds to exactly 180 (a tiny negative
   angle) falls in no bin.
3. Cells of ``pixels_per_cell = (cr, cc)`` pixels, starting at pixel (0, 0); the last
   ``H mod cr`` rows and ``W mod cc`` columns are ignored. A cell's histogram is the SUM of its
   pixels' magnitudes per bin divided by the number of pixels in a cell (a mean).
4. Overlapping blocks of ``cells_per_block = (br, bc)`` cells with a stride of one cell; each block
   (``br x bc x n`` values) is normalised on its own, with ``eps = 1e-5``:
   ``L1: v / (|v|_1 + eps)``, ``L1-sqrt: sqrt(v / (|v|_1 + eps))``,
   ``L2: v / sqrt(|v|_2^2 + eps^2)``, ``L2-Hys: L2, then min(., 0.2), then L2 again``.
5. Feature order (``feature_vector=True``): the C-order ravel of
   ``[n_blocks_row, n_blocks_col, br, bc, n]``: block row, block column, cell row inside the
   block, cell column inside the block, orientation bin.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["hog_gradients", "cell_histograms", "normalize_blocks", "hog", "BLOCK_NORMS"]

BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")


def hog_gradients(image: Tensor) -> tuple[Tensor, Tensor]:
    """Image gradients with the centred kernel ``[-1, 0, 1]`` (no smoothing, no division by 2).

    ``g_row[r, c] = image[r + 1, c] - image[r - 1, c]`` for ``0 < r < H - 1`` and 0 on the first
    and last row; ``g_col[r, c] = image[r, c + 1] - image[r, c - 1]`` for ``0 < c < W - 1`` and 0
    on the first and last column (scikit-image's ``_hog_channel_gradient``).

    Args:
        image (Tensor[H, W]): float32 or float64 grayscale image.

    Returns:
        tuple[Tensor, Tensor]: ``(g_row, g_col)``, both ``[H, W]`` in the image's dtype.

    Raises:
        TypeError: if ``image`` is not a float32 / float64 tensor.
        ValueError: if ``image`` is not 2-D.
    """
    raise NotImplementedError("hog_gradients: implement me (see README.md, section `hog`)")


def cell_histograms(image: Tensor, orientations: int = 9, pixels_per_cell: tuple[int, int] = (8, 8)) -> Tensor:
    """Per-cell histograms of unsigned gradient orientations with hard binning (steps 1-3).

    Args:
        image (Tensor[H, W]): float32 or float64 grayscale image.
        orientations (int): number of bins over ``[0, 180)`` degrees (>= 1).
        pixels_per_cell (int or tuple[int, int]): ``(rows, cols)`` of a cell (each >= 1).

    Returns:
        Tensor[H // rows, W // cols, orientations]: the mean of the magnitudes voting into each
        bin (sum over the cell's pixels divided by ``rows * cols``), in the image's dtype. An image
        smaller than one cell gives a ``[0, ., orientations]`` or ``[., 0, orientations]`` tensor.

    Raises:
        TypeError / ValueError: as :func:`hog_gradients`; ``orientations`` or
            ``pixels_per_cell`` not an int (pair) >= 1.
    """
    raise NotImplementedError("cell_histograms: implement me (see README.md, section `hog`)")


def normalize_blocks(histograms: Tensor, cells_per_block: tuple[int, int] = (3, 3),
                     block_norm: str = "L2-Hys") -> Tensor:
    """Overlapping blocks of cells (stride one cell), each normalised on its own (step 4).

    Args:
        histograms (Tensor[R, C, n]): cell histograms (float32 or float64), e.g. from
            :func:`cell_histograms`.
        cells_per_block (int or tuple[int, int]): ``(br, bc)`` cells per block (each >= 1).
        block_norm (str): one of ``"L1"``, ``"L1-sqrt"``, ``"L2"``, ``"L2-Hys"`` (``eps = 1e-5``,
            formulas in the module docstring).

    Returns:
        Tensor[R - br + 1, C - bc + 1, br, bc, n]: ``out[i, j] = normalise(histograms[i:i+br, j:j+bc])``,
        in the histograms' dtype.

    Raises:
        TypeError: if ``histograms`` is not a float32 / float64 tensor, or ``cells_per_block``
            is not an int (pair).
        ValueError: if ``histograms`` is not 3-D, ``cells_per_block`` is < 1, the grid has fewer
            cells than a block (the message names the sizes), or ``block_norm`` is unknown.
    """
    raise NotImplementedError("normalize_blocks: implement me (see README.md, section `hog`)")


def hog(image: Tensor, orientations: int = 9, pixels_per_cell: tuple[int, int] = (8, 8),
        cells_per_block: tuple[int, int] = (3, 3), block_norm: str = "L2-Hys",
        transform_sqrt: bool = False, feature_vector: bool = True) -> Tensor:
    """The HOG descriptor of a grayscale image, equal to ``skimage.feature.hog`` with the same
    arguments (its defaults are these; Dalal and Triggs use ``cells_per_block=(2, 2)``).

    Args:
        image (Tensor[H, W]): float32 or float64, non-negative if ``transform_sqrt``.
        orientations (int): bins over ``[0, 180)`` degrees.
        pixels_per_cell (int or tuple[int, int]): ``(rows, cols)`` of a cell.
        cells_per_block (int or tuple[int, int]): ``(br, bc)`` cells per block.
        block_norm (str): ``"L1"``, ``"L1-sqrt"``, ``"L2"`` or ``"L2-Hys"``.
        transform_sqrt (bool): take the square root of the image first (gamma compression).
        feature_vector (bool): ravel the result (C order; see the module docstring).

    Returns:
        Tensor: ``[n_blocks_row * n_blocks_col * br * bc * orientations]`` if ``feature_vector``,
        else ``[n_blocks_row, n_blocks_col, br, bc, orientations]``, in the image's dtype, with
        ``n_blocks_row = H // rows - br + 1`` and ``n_blocks_col = W // cols - bc + 1``.

    Raises:
        TypeError / ValueError: as :func:`cell_histograms` and :func:`normalize_blocks`;
            ValueError if ``transform_sqrt`` is set and the image has negative values.
    """
    raise NotImplementedError("hog: implement me (see README.md, section `hog`)")
