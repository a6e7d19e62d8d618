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

# BEGIN SOLUTION

import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor

__all__ = ["hog_gradients", "cell_histograms", "normalize_blocks", "hog", "BLOCK_NORMS"]

BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")

# BEGIN SOLUTION
_EPS = 1e-5
_HYS_CLIP = 0.2


def _check_image(image: object) -> None:
    if not isinstance(image, Tensor):
        raise TypeError(f"image must be a torch.Tensor of shape [H, W], got {type(image).__name__}")
    if image.dim() != 2:
        raise ValueError(f"image must be a grayscale Tensor[H, W], got shape {list(image.shape)}")
    if image.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"image must be float32 or float64, got {image.dtype}")


def _pair(name: str, value: object) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if value[0] < 1 or value[1] < 1:
        raise ValueError(f"{name} must be >= 1, got {tuple(value)}")
    return int(value[0]), int(value[1])


def _check_orientations(orientations: object) -> int:
    if not isinstance(orientations, int) or isinstance(orientations, bool):
        raise TypeError(f"orientations must be an int, got {orientations!r}")
    if orientations < 1:
        raise ValueError(f"orientations must be >= 1, got {orientations}")
    return orientations
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_image(image)
    g_row = torch.zeros_like(image)  # [H, W]
    g_col = torch.zeros_like(image)  # [H, W]
    g_row[1:-1, :] = image[2:, :] - image[:-2, :]
    g_col[:, 1:-1] = image[:, 2:] - image[:, :-2]
    return g_row, g_col
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_image(image)
    n = _check_orientations(orientations)
    cr, cc = _pair("pixels_per_cell", pixels_per_cell)
    g_row, g_col = hog_gradients(image)
    g_row, g_col = g_row.double(), g_col.double()
    magnitude = torch.hypot(g_row, g_col)  # [H, W]
    theta = torch.rad2deg(torch.atan2(g_row, g_col)) % 180.0  # [H, W] in [0, 180]
    # bin edges i * 180 / n rounded to float32, as scikit-image's Cython loop stores them
    edges = torch.tensor([float(torch.tensor(180.0 / n * i, dtype=torch.float32)) for i in range(n + 1)],
                         dtype=torch.float64)  # [n + 1]
    bins = torch.bucketize(theta, edges, right=True) - 1  # [H, W]: edges[b] <= theta < edges[b + 1]
    valid = bins < n  # theta == 180 (or past the last float32 edge) votes nowhere; theta >= 0 = edges[0]
    rows, cols = image.shape[0] // cr, image.shape[1] // cc
    magnitude = torch.where(valid, magnitude, torch.zeros_like(magnitude))[:rows * cr, :cols * cc]
    bins = bins.clamp(max=n - 1)[:rows * cr, :cols * cc]
    votes = F.one_hot(bins, n).to(torch.float64) * magnitude[..., None]  # [rows*cr, cols*cc, n]
    hist = votes.reshape(rows, cr, cols, cc, n).sum(dim=(1, 3)) / (cr * cc)  # [rows, cols, n]
    return hist.to(image.dtype)
    # END SOLUTION


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
    # BEGIN SOLUTION
    if not isinstance(histograms, Tensor) or histograms.dtype not in (torch.float32, torch.float64):
        raise TypeError("histograms must be a float32 or float64 torch.Tensor [R, C, n], got "
                        f"{getattr(histograms, 'dtype', type(histograms).__name__)}")
    if histograms.dim() != 3:
        raise ValueError(f"histograms must have shape [R, C, n], got {list(histograms.shape)}")
    br, bc = _pair("cells_per_block", cells_per_block)
    if block_norm not in BLOCK_NORMS:
        raise ValueError(f"block_norm must be one of {BLOCK_NORMS}, got {block_norm!r}")
    rows, cols, n = histograms.shape
    if rows < br or cols < bc:
        raise ValueError(f"the image is too small: {rows} x {cols} cells, a block needs {br} x {bc} cells")
    h = histograms.double()
    blocks = h.unfold(0, br, 1).unfold(1, bc, 1)  # [R-br+1, C-bc+1, n, br, bc]
    blocks = blocks.permute(0, 1, 3, 4, 2)  # [R-br+1, C-bc+1, br, bc, n]
    dims = (2, 3, 4)
    if block_norm in ("L1", "L1-sqrt"):
        out = blocks / (blocks.abs().sum(dim=dims, keepdim=True) + _EPS)
        if block_norm == "L1-sqrt":
            out = out.sqrt()
    else:
        out = blocks / torch.sqrt((blocks ** 2).sum(dim=dims, keepdim=True) + _EPS ** 2)
        if block_norm == "L2-Hys":
            out = out.clamp(max=_HYS_CLIP)
            out = out / torch.sqrt((out ** 2).sum(dim=dims, keepdim=True) + _EPS ** 2)
    return out.to(histograms.dtype).contiguous()
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_image(image)
    if transform_sqrt:
        if bool((image < 0).any()):
            raise ValueError("transform_sqrt needs a non-negative image, got a minimum of "
                             f"{float(image.min()):g}")
        image = image.sqrt()
    hist = cell_histograms(image, orientations, pixels_per_cell)  # [R, C, n]
    blocks = normalize_blocks(hist, cells_per_block, block_norm)  # [Br, Bc, br, bc, n]
    return blocks.reshape(-1) if feature_vector else blocks
    # END SOLUTION
