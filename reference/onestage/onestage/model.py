"""A digit classifier with a spatial transformer in front, trained by the grader inside the
sandbox (``train``), then graded by its accuracy on held-out digits (``predict``).

The digits are scikit-learn's 8 x 8 digits, upsampled to 16 x 16 and placed, rotated (up to
60 degrees either way), scaled and shifted, on a 32 x 32 canvas; see README.md, section
`classifier`, for the data, the time budget and the rules. Build it from your own
:class:`SpatialTransformer` (hence your ``affine_grid`` and ``grid_sample``).
"""

from __future__ import annotations

# BEGIN SOLUTION
import math
import time
# END SOLUTION

from torch import Tensor

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
from torch import nn

from .stn import SpatialTransformer, affine_grid, grid_sample
# END SOLUTION

__all__ = ["CANVAS", "NUM_CLASSES", "train", "predict"]

CANVAS = 32  # the grader's images are 1 x 32 x 32, values in [0, 1]
NUM_CLASSES = 10

# BEGIN SOLUTION
EPOCHS = 50
BATCH_SIZE = 64
LR = 2e-3
STN_LR = 5e-4
_STATE: dict[str, nn.Module] = {}


class STNClassifier(nn.Module):
    """STN (32 x 32 -> a 16 x 16 crop) followed by a small CNN."""

    def __init__(self) -> None:
        super().__init__()
        self.stn = SpatialTransformer(1, CANVAS, CANVAS, out_size=(16, 16))
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 8 x 8
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4 x 4
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(), nn.Linear(64, NUM_CLASSES))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        theta = self.stn.theta(x)  # [N, 2, 3]
        grid = affine_grid(theta, (x.shape[0], 1, 16, 16))
        crop = grid_sample(x, grid)  # [N, 1, 16, 16]
        return self.head(self.features(crop)), theta
# END SOLUTION


def train(images: Tensor, labels: Tensor, seed: int = 0, time_budget_s: float = 60.0) -> None:
    """Train the classifier from scratch and keep it (in memory) for :func:`predict`.

    Args:
        images (Tensor[N, 1, 32, 32]): float32 in [0, 1].
        labels (Tensor[N]): int64 in ``0 .. 9``.
        seed (int): seeds all randomness of the training.
        time_budget_s (float): stop training once this many seconds of CPU time are used (the
            grader's wall-clock limit of the call is larger; a call that runs past it scores 0).

    Returns:
        None.

    Raises:
        ValueError: if the shapes or dtypes are not the ones above (for a dtype, a ``TypeError``
            is as good: the README's rule).
    """
    # BEGIN SOLUTION
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, CANVAS, CANVAS):
        raise ValueError(f"images must be [N, 1, {CANVAS}, {CANVAS}], got {list(images.shape)}")
    if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
        raise ValueError(f"labels must be int64 [N], got {labels.dtype} {list(labels.shape)}")
    start = time.process_time()  # CPU time: other processes on the machine do not count
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = STNClassifier()
    stn_params = list(model.stn.parameters())
    other = [p for n, p in model.named_parameters() if not n.startswith("stn.")]
    opt = torch.optim.Adam([{"params": other, "lr": LR}, {"params": stn_params, "lr": STN_LR}])
    n = images.shape[0]
    steps_per_epoch = math.ceil(n / BATCH_SIZE)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(n, generator=gen)
        for s in range(steps_per_epoch):
            idx = perm[s * BATCH_SIZE:(s + 1) * BATCH_SIZE]
            logits, _ = model(images[idx])
            loss = F.cross_entropy(logits, labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if time.process_time() - start > time_budget_s:
                break
        if time.process_time() - start > time_budget_s:
            break
    _STATE["model"] = model.eval()
    # END SOLUTION


def predict(images: Tensor) -> dict[str, Tensor]:
    """Classify digits with the model :func:`train` produced.

    Args:
        images (Tensor[N, 1, 32, 32]): float32 in [0, 1].

    Returns:
        dict: ``logits`` float32 ``[N, 10]`` (finite) and ``theta`` float32 ``[N, 2, 3]``, the
        spatial transformer's transform of every image (``align_corners=False``, onto a
        16 x 16 output; the report draws the rectified digits from it).

    Raises:
        RuntimeError: if :func:`train` has not been called.
    """
    # BEGIN SOLUTION
    model = _STATE.get("model")
    if model is None:
        raise RuntimeError("predict: call train(images, labels) first")
    with torch.no_grad():
        logits, theta = model(images)
        return {"logits": logits.float(), "theta": theta.float()}
    # END SOLUTION
