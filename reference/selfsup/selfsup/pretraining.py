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
        # BEGIN SOLUTION
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.body = nn.Sequential(block(1, 16), nn.MaxPool2d(2), block(16, 32), nn.MaxPool2d(2),
                                  block(32, FEATURE_DIM), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(FEATURE_DIM, 128), nn.ReLU(), nn.Linear(128, 32))
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """x (Tensor[N, 1, H, W]) -> h (Tensor[N, 64])."""
        # BEGIN SOLUTION
        return self.body(x)
        # END SOLUTION

    def project(self, h: Tensor) -> Tensor:
        """h (Tensor[N, 64]) -> z (Tensor[N, 32])."""
        # BEGIN SOLUTION
        return self.head(h)
        # END SOLUTION


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
    # BEGIN SOLUTION
    if images.dim() != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {list(images.shape)}")
    gen = torch.Generator().manual_seed(int(seed))
    n, _, h, w = images.shape
    x = images.float()
    zoom = torch.empty(n).uniform_(0.85, 1.15, generator=gen)
    shift = torch.empty(n, 2).uniform_(-3.0, 3.0, generator=gen) * torch.tensor([2.0 / w, 2.0 / h])
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1 / zoom
    theta[:, 1, 1] = 1 / zoom
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    contrast = torch.empty(n, 1, 1, 1).uniform_(0.4, 1.4, generator=gen).to(x.device)
    brightness = torch.empty(n, 1, 1, 1).uniform_(-0.2, 0.2, generator=gen).to(x.device)
    noise = 0.05 * torch.randn(x.shape, generator=gen).to(x.device)
    return (x * contrast + brightness + noise).clamp(0.0, 1.0)
    # END SOLUTION


# BEGIN SOLUTION
_STATE: dict = {}


def _model() -> Encoder:
    """The current encoder: the trained one, or a seeded random initialisation."""
    if "model" not in _STATE:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            _STATE["model"] = Encoder()
    return _STATE["model"]
# END SOLUTION


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
    # BEGIN SOLUTION
    if images.dim() != 4 or images.shape[0] < 2:
        raise ValueError(f"images must be [N >= 2, C, H, W], got shape {list(images.shape)}")
    if steps < 1 or batch_size < 2:
        raise ValueError(f"need steps >= 1 and batch_size >= 2, got {steps} and {batch_size}")
    gen = torch.Generator().manual_seed(int(seed))
    _STATE.pop("model", None)  # every call starts from the seeded random initialisation
    model = _model().to(images.device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    n = images.shape[0]
    batch_size = min(batch_size, n)
    losses = []
    for _ in range(steps):
        idx = torch.randperm(n, generator=gen)[:batch_size].to(images.device)
        batch = images[idx]
        seeds = torch.randint(0, 2 ** 62, (2,), generator=gen).tolist()
        v1, v2 = augment(batch, seeds[0]), augment(batch, seeds[1])
        z = model.project(model(torch.cat([v1, v2])))  # [2B, 32]
        loss = nt_xent_loss(z[:batch_size], z[batch_size:], temperature)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses
    # END SOLUTION


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
    # BEGIN SOLUTION
    if images.dim() != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {list(images.shape)}")
    model = _model().to(images.device)
    model.eval()
    return model(images.float())
    # END SOLUTION
