"""Your self-supervised pre-training, graded by probes on frozen features (task `pretraining`
and the probe check).

The grader calls ``pretrain(images)`` once, inside the sandbox, on unlabeled digits with
nuisances (``cv3data.ssl_digits``, split ``unlabeled``: float32 [1000, 1, 20, 20] in [0, 1]),
within a time budget (see the README), then ``features(images)`` on labeled batches whose
labels never enter the sandbox. A trusted weighted k-NN and linear probe score the features,
as the gain over the reference architecture's randomly initialised encoder measured in the
same run. Any method is allowed (SimCLR with your ``nt_xent_loss`` is the suggested one).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .contrastive import nt_xent_loss

__all__ = ["Encoder", "augment", "pretrain", "features"]

FEATURE_DIM = 64


class Encoder(nn.Module):
    """A small CNN for 1 x 20 x 20 images and its projection head.

    ``forward(x)`` returns the representation h (Tensor[N, 64]) used by ``features``;
    ``project(h)`` the projection z for the contrastive loss. The architecture is yours to choose
    (the grader's random-init yardstick is the reference's), but ``features`` must return
    [N, D] floats with D <= 8192.
    """

    def __init__(self) -> None:
        raise NotImplementedError("Encoder.__init__: implement me (see README.md, section `pretraining`)")

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[N, 1, H, W]) -> h (Tensor[N, 64])."""
        raise NotImplementedError("Encoder.forward: implement me (see README.md, section `pretraining`)")

    def project(self, h: Tensor) -> Tensor:
        """h (Tensor[N, 64]) -> z (Tensor[N, 32])."""
        raise NotImplementedError("Encoder.project: implement me (see README.md, section `pretraining`)")


def augment(images: Tensor, seed: int) -> Tensor:
    """One random view per image, from a private generator seeded with ``seed``: the nuisances
    the representation should ignore (a shift of up to 3 pixels and a zoom of 0.85-1.15, a
    contrast factor ``c`` in [0.4, 1.4] and a brightness offset ``b`` in [-0.2, 0.2] applied as
    ``c * x + b`` (contrast about 0, not about the image's mean as torchvision's ColorJitter),
    Gaussian noise of std 0.05), clipped to [0, 1]. They apply in this order: one bilinear
    resampling for the shift and the zoom (the zoom about the image's centre), then ``c * x + b``,
    then the noise (added after the resampling, so it is not smoothed), then the clip.

    Args:
        images (Tensor[N, 1, H, W]) in [0, 1], any float dtype: converted to float32 first (every
            draw is float32 too), so float64 images give the view of their float32 copy.
        seed (int).

    Returns:
        Tensor[N, 1, H, W] float32 in [0, 1]; the same seed gives the same view.

    Raises:
        ValueError: ``images`` not 4-D (the message names ``images``).
    """
    raise NotImplementedError("augment: implement me (see README.md, section `pretraining`)")


def pretrain(images: Tensor, steps: int = 400, batch_size: int = 128, lr: float = 2e-3,
             temperature: float = 0.2, seed: int = 0) -> list[float]:
    """Self-supervised pre-training on unlabeled images; keeps the trained encoder for
    :func:`features`. Every call starts again from the seeded random initialisation.

    The reference: SimCLR. Each step draws ``batch_size`` images, makes two views with
    :func:`augment`, and minimises ``nt_xent_loss(project(h1), project(h2), temperature)`` with
    Adam (learning rate ``lr``, cosine decay).

    Args:
        images (Tensor[N, 1, H, W]): N >= 2 unlabeled images, in [0, 1] (on the device the
            model should use).
        steps (int): >= 1. batch_size (int): >= 2 (a contrastive batch needs negatives).
        lr, temperature (float): > 0. seed (int).

    Returns:
        list[float]: the loss of every step (the report plots it).

    Raises:
        ValueError: ``images`` not 4-D or with N < 2, ``steps < 1`` or ``batch_size < 2``.
    """
    raise NotImplementedError("pretrain: implement me (see README.md, section `pretraining`)")


@torch.no_grad()
def features(images: Tensor) -> Tensor:
    """Frozen features of a batch: the encoder's representation h (eval mode, no gradient).

    Before :func:`pretrain` is called, the features of a randomly initialised encoder (seeded:
    two calls give the same features).

    Args:
        images (Tensor[N, 1, H, W]) in [0, 1], any float dtype (converted to float32, the
            encoder's dtype).

    Returns:
        Tensor[N, D] float32 on the images' device.

    Raises:
        ValueError: ``images`` not 4-D (the message names ``images``).
    """
    raise NotImplementedError("features: implement me (see README.md, section `pretraining`)")
