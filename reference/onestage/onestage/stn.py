"""Spatial transformer networks (Jaderberg et al., 2015): the affine sampling grid, bilinear
sampling with zero padding, and a small STN module whose localisation network starts at the
identity transform.

Coordinates are normalised to [-1, 1] as in PyTorch: ``x = -1`` is the left edge of the input
(``align_corners=False``) or the centre of its leftmost pixel (``align_corners=True``); a grid
point is ``(x, y)`` (column first), see README.md, section `stn`.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor, nn

__all__ = ["affine_grid", "grid_sample", "SpatialTransformer"]


# BEGIN SOLUTION
def _base_coords(n: int, align_corners: bool, dtype: torch.dtype, device) -> Tensor:
    """Normalised coordinates of ``n`` pixel centres: [n]."""
    if n <= 1:
        return torch.zeros(n, dtype=dtype, device=device)
    coords = torch.linspace(-1.0, 1.0, n, dtype=dtype, device=device)  # [n]
    if not align_corners:
        coords = coords * (n - 1) / n
    return coords


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """Normalised coordinate -> pixel index (float)."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2
# END SOLUTION


def affine_grid(theta: Tensor, size: list[int] | tuple[int, ...], align_corners: bool = False) -> Tensor:
    """The sampling grid of a batch of 2-D affine transforms (``F.affine_grid``).

    Output pixel ``(i, j)`` has normalised coordinates ``(x_j, y_i)``: with ``align_corners=True``
    ``x_j = -1 + 2 j / (W - 1)``, with ``align_corners=False`` ``x_j = (2 j + 1) / W - 1`` (the
    centre of pixel j when -1 and 1 are the outer edges); a size of 1 gives the coordinate 0.
    Its grid entry is ``theta[n] @ (x_j, y_i, 1)``.

    Args:
        theta (Tensor[N, 2, 3]): floating point; maps output coordinates to input coordinates.
        size (list[int]): the output size ``(N, C, H, W)``; ``N`` equals ``theta.shape[0]``.
        align_corners (bool): see above.

    Returns:
        Tensor[N, H, W, 2]: ``(x, y)`` of the point to sample, same dtype and device as ``theta``.

    Raises:
        ValueError: if ``theta`` is not ``[N, 2, 3]``, ``size`` does not have 4 entries, its
            ``N`` differs from theta's or ``H`` or ``W`` is below 1 (an empty batch is fine).
        TypeError: if ``theta`` is not floating point.
    """
    # BEGIN SOLUTION
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(f"theta must have shape [N, 2, 3], got {list(theta.shape)}")
    if not theta.is_floating_point():
        raise TypeError(f"theta must be floating point, got {theta.dtype}")
    size = [int(s) for s in size]
    if len(size) != 4:
        raise ValueError(f"size must be (N, C, H, W) with 4 entries, got {size}")
    if size[0] != theta.shape[0]:
        raise ValueError(f"size[0] must equal theta.shape[0] = {theta.shape[0]}, got {size[0]}")
    if size[2] < 1 or size[3] < 1:
        raise ValueError(f"size must have H >= 1 and W >= 1, got {size}")
    n, h, w = size[0], size[2], size[3]
    xs = _base_coords(w, align_corners, theta.dtype, theta.device)  # [W]
    ys = _base_coords(h, align_corners, theta.dtype, theta.device)  # [H]
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # [H, W] each
    base = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).reshape(1, h * w, 3)  # [1, HW, 3]
    grid = base @ theta.transpose(1, 2)  # [N, HW, 2]
    return grid.reshape(n, h, w, 2)
    # END SOLUTION


def grid_sample(input: Tensor, grid: Tensor, align_corners: bool = False) -> Tensor:
    """Bilinear sampling with zero padding (``F.grid_sample(mode="bilinear",
    padding_mode="zeros")``), differentiable in ``input`` and in ``grid``.

    A grid point ``(x, y)`` is unnormalised to the pixel position ``ix = (x + 1) / 2 (W - 1)``
    (``align_corners=True``) or ``ix = ((x + 1) W - 1) / 2`` (``False``), likewise ``iy``; the
    output is the bilinear blend of the four pixels around ``(ix, iy)``, a pixel outside the
    input counting as 0.

    Args:
        input (Tensor[N, C, H_in, W_in]): floating point.
        grid (Tensor[N, H, W, 2]): ``(x, y)`` sample positions, same dtype as ``input``.
        align_corners (bool): see above.

    Returns:
        Tensor[N, C, H, W]: same dtype and device as ``input``; an empty batch (``N = 0``) gives
        an empty ``[0, C, H, W]`` output.

    Raises:
        ValueError: if ``input`` is not 4-D with ``H_in, W_in >= 1``, ``grid`` is not
            ``[N, H, W, 2]`` or the batch sizes differ.
        TypeError: if the dtypes are not floating point or differ.
    """
    # BEGIN SOLUTION
    if input.dim() != 4 or input.shape[2] < 1 or input.shape[3] < 1:
        raise ValueError(f"input must have shape [N, C, H, W] with H, W >= 1, got {list(input.shape)}")
    if grid.dim() != 4 or grid.shape[-1] != 2:
        raise ValueError(f"grid must have shape [N, H, W, 2], got {list(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise ValueError(f"grid and input must have the same batch size, got {grid.shape[0]} and {input.shape[0]}")
    if not input.is_floating_point() or grid.dtype != input.dtype:
        raise TypeError(f"input and grid must have the same floating dtype, got {input.dtype} and {grid.dtype}")
    n, c, h_in, w_in = input.shape
    h, w = grid.shape[1], grid.shape[2]
    ix = _unnormalize(grid[..., 0], w_in, align_corners)  # [N, H, W]
    iy = _unnormalize(grid[..., 1], h_in, align_corners)  # [N, H, W]
    x0, y0 = ix.floor(), iy.floor()
    wx1, wy1 = ix - x0, iy - y0  # weights of the right / lower neighbours
    wx0, wy0 = 1 - wx1, 1 - wy1
    flat = input.reshape(n, c, h_in * w_in)  # [N, C, HW_in]
    out = input.new_zeros(n, c, h, w)
    for dx, dy, weight in ((0, 0, wx0 * wy0), (1, 0, wx1 * wy0), (0, 1, wx0 * wy1), (1, 1, wx1 * wy1)):
        xi, yi = x0 + dx, y0 + dy  # [N, H, W]
        valid = (xi >= 0) & (xi <= w_in - 1) & (yi >= 0) & (yi <= h_in - 1)
        idx = (yi.clamp(0, h_in - 1) * w_in + xi.clamp(0, w_in - 1)).long()  # [N, H, W]
        vals = flat.gather(2, idx.reshape(n, 1, h * w).expand(n, c, h * w)).reshape(n, c, h, w)
        out = out + vals * weight.masked_fill(~valid, 0).unsqueeze(1)
    return out
    # END SOLUTION


class SpatialTransformer(nn.Module):
    """A spatial transformer: a localisation network predicts ``theta`` per image, then the
    image is resampled on ``affine_grid(theta, (N, C, *out_size))`` by :func:`grid_sample`.

    The localisation network (the PyTorch STN tutorial's, parameter names fixed):
    ``localization = Sequential(Conv2d(in_channels, 8, 7), MaxPool2d(2), ReLU(),
    Conv2d(8, 10, 5), MaxPool2d(2), ReLU())``, flattened, then ``fc_loc = Sequential(
    Linear(10 * h * w, 32), ReLU(), Linear(32, 6))`` with ``h = ((height - 6) // 2 - 4) // 2``
    (likewise ``w``). ``fc_loc[2]`` starts with zero weights and the bias ``(1, 0, 0, 0, 1, 0)``,
    so that every image starts with the identity transform.

    Args:
        in_channels (int): channels of the input images.
        height (int): input height (at least 18).
        width (int): input width (at least 18).
        out_size (tuple[int, int] | None): ``(H_out, W_out)`` of the output (default: the input's).
        align_corners (bool): passed to :func:`affine_grid` and :func:`grid_sample`.

    Raises:
        ValueError: if ``height`` or ``width`` is below 18.
    """

    def __init__(self, in_channels: int, height: int, width: int, out_size: tuple[int, int] | None = None,
                 align_corners: bool = False) -> None:
        super().__init__()
        # BEGIN SOLUTION
        if height < 18 or width < 18:
            raise ValueError(f"height and width must be at least 18, got {height} x {width}")
        self.out_size = (height, width) if out_size is None else (int(out_size[0]), int(out_size[1]))
        self.align_corners = align_corners
        self.localization = nn.Sequential(
            nn.Conv2d(in_channels, 8, kernel_size=7), nn.MaxPool2d(2, stride=2), nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
        fh, fw = ((height - 6) // 2 - 4) // 2, ((width - 6) // 2 - 4) // 2
        self.fc_loc = nn.Sequential(nn.Linear(10 * fh * fw, 32), nn.ReLU(True), nn.Linear(32, 6))
        nn.init.zeros_(self.fc_loc[2].weight)
        with torch.no_grad():
            self.fc_loc[2].bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        # END SOLUTION

    def theta(self, x: Tensor) -> Tensor:
        """The predicted transforms.

        Args:
            x (Tensor[N, in_channels, height, width]): the images.

        Returns:
            Tensor[N, 2, 3]: ``theta`` (output coordinates -> input coordinates).
        """
        # BEGIN SOLUTION
        feats = self.localization(x).flatten(1)  # [N, 10 h w]
        return self.fc_loc(feats).view(-1, 2, 3)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """Resample every image with its predicted transform.

        Args:
            x (Tensor[N, in_channels, height, width]): the images.

        Returns:
            Tensor[N, in_channels, H_out, W_out]: the transformed images.
        """
        # BEGIN SOLUTION
        theta = self.theta(x)  # [N, 2, 3]
        grid = affine_grid(theta, (x.shape[0], x.shape[1], *self.out_size), align_corners=self.align_corners)
        return grid_sample(x, grid, align_corners=self.align_corners)
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict); returns nothing.

        Args:
            state_dict (dict[str, Tensor]): ``localization.0.weight``, ... ``fc_loc.2.bias``.

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)
