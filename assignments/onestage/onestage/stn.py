"""Spatial transformer networks (Jaderberg et al., 2015): the affine sampling grid, bilinear
sampling with zero padding, and a small STN module whose localisation network starts at the
identity transform.

Coordinates are normalised to [-1, 1] as in PyTorch: ``x = -1`` is the left edge of the input
(``align_corners=False``) or the centre of its leftmost pixel (``align_corners=True``); a grid
point is ``(x, y)`` (column first), see README.md, section `stn`.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["affine_grid", "grid_sample", "SpatialTransformer"]


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
    raise NotImplementedError("affine_grid: implement me (see README.md, section `stn`)")


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
    raise NotImplementedError("grid_sample: implement me (see README.md, section `stn`)")


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
        raise NotImplementedError("SpatialTransformer.__init__: implement me (see README.md, section `stn`)")

    def theta(self, x: Tensor) -> Tensor:
        """The predicted transforms.

        Args:
            x (Tensor[N, in_channels, height, width]): the images.

        Returns:
            Tensor[N, 2, 3]: ``theta`` (output coordinates -> input coordinates).
        """
        raise NotImplementedError("SpatialTransformer.theta: implement me (see README.md, section `stn`)")

    def forward(self, x: Tensor) -> Tensor:
        """Resample every image with its predicted transform.

        Args:
            x (Tensor[N, in_channels, height, width]): the images.

        Returns:
            Tensor[N, in_channels, H_out, W_out]: the transformed images.
        """
        raise NotImplementedError("SpatialTransformer.forward: implement me (see README.md, section `stn`)")

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
