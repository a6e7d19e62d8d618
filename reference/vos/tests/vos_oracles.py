"""Float64 oracles of the segmentation half of the vos assignment (trusted side; hidden tests only)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage


def unet_layout(in_ch: int, c: int) -> dict:
    """The pinned state-dict layout of TinyUNet(in_ch, c)."""
    shapes = {}

    def dc(name, a, b):
        shapes[f"{name}.0.weight"] = (b, a, 3, 3)
        shapes[f"{name}.0.bias"] = (b,)
        shapes[f"{name}.2.weight"] = (b, b, 3, 3)
        shapes[f"{name}.2.bias"] = (b,)

    dc("enc0", in_ch, c)
    dc("enc1", c, 2 * c)
    dc("mid", 2 * c, 4 * c)
    shapes["up1.weight"] = (4 * c, 2 * c, 2, 2)
    shapes["up1.bias"] = (2 * c,)
    dc("dec1", 4 * c, 2 * c)
    shapes["up0.weight"] = (2 * c, c, 2, 2)
    shapes["up0.bias"] = (c,)
    dc("dec0", 2 * c, c)
    shapes["head.weight"] = (1, c, 1, 1)
    shapes["head.bias"] = (1,)
    return shapes


def random_state(in_ch: int, c: int, seed: int) -> dict:
    """Random float32-representable weights (He-like scale), as float64 tensors."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, s in unet_layout(in_ch, c).items():
        fan = s[1] * s[2] * s[3] if len(s) == 4 else 1
        if k.startswith("up") and len(s) == 4:
            fan = s[0] * s[2] * s[3]
        out[k] = (torch.randn(s, generator=g, dtype=torch.float64) * (2.0 / fan) ** 0.5 * 0.8).float().double()
    return out


def unet_forward(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """The functional TinyUNet: logits [N, 1, H, W]."""
    def dc(name, h):
        h = F.relu(F.conv2d(h, sd[f"{name}.0.weight"], sd[f"{name}.0.bias"], padding=1))
        return F.relu(F.conv2d(h, sd[f"{name}.2.weight"], sd[f"{name}.2.bias"], padding=1))

    s0 = dc("enc0", x)
    s1 = dc("enc1", F.max_pool2d(s0, 2))
    h = dc("mid", F.max_pool2d(s1, 2))
    h = dc("dec1", torch.cat([s1, F.conv_transpose2d(h, sd["up1.weight"], sd["up1.bias"], stride=2)], 1))
    h = dc("dec0", torch.cat([s0, F.conv_transpose2d(h, sd["up0.weight"], sd["up0.bias"], stride=2)], 1))
    return F.conv2d(h, sd["head.weight"], sd["head.bias"])


def balanced_bce(logits: torch.Tensor, labels: torch.Tensor, ignore: int = 255) -> torch.Tensor:
    """OSVOS' loss written per pixel in float64 (a differentiable torch expression)."""
    x = logits.double().reshape(-1)
    y = labels.reshape(-1).tolist()
    pos = [i for i, v in enumerate(y) if v == 1]
    neg = [i for i, v in enumerate(y) if v == 0]
    n = len(pos) + len(neg)
    if n == 0:
        return x.sum() * 0
    beta = len(neg) / n
    total = x.new_zeros(())
    for i in pos:
        total = total + beta * torch.log(torch.sigmoid(x[i]))
    for i in neg:
        total = total + (1 - beta) * torch.log(1 - torch.sigmoid(x[i]))
    return -total / n


def balanced_bce_fast(logits: torch.Tensor, labels: torch.Tensor, ignore: int = 255) -> torch.Tensor:
    """The same loss vectorised (float64) for training oracles; checked against balanced_bce."""
    x = logits.double()
    pos, neg = labels == 1, labels == 0
    n = int(pos.sum() + neg.sum())
    if n == 0:
        return x.sum() * 0
    beta = float(neg.sum()) / n
    return -(beta * F.logsigmoid(x[pos]).sum() + (1 - beta) * F.logsigmoid(-x[neg]).sum()) / n


def finetune(sd: dict, images: torch.Tensor, labels: torch.Tensor, steps: int, lr: float):
    """Full-batch Adam on float64 copies; returns (new state, losses before each step)."""
    params = {k: v.clone().double().requires_grad_(True) for k, v in sd.items()}
    opt = torch.optim.Adam(list(params.values()), lr=lr)
    losses = []
    for _ in range(steps):
        loss = balanced_bce_fast(unet_forward(params, images.double())[:, 0], labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {k: v.detach() for k, v in params.items()}, losses


def probs(sd: dict, frames: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.sigmoid(unet_forward(sd, frames.double())[:, 0])


def pseudo_labels(p: np.ndarray, prev: np.ndarray, alpha: float, margin: float, erosion: float,
                  ignore: int = 255) -> np.ndarray:
    """OnAVOS pseudo-labels with scipy's exact Euclidean distance transform."""
    inside = prev != 0
    d_bg = ndimage.distance_transform_edt(inside) if (~inside).any() else np.full(p.shape, np.inf)
    d_fg = ndimage.distance_transform_edt(~inside) if inside.any() else np.full(p.shape, np.inf)
    out = np.full(p.shape, ignore, dtype=np.int64)
    out[d_fg > margin] = 0
    out[(p > alpha) & (d_bg > erosion)] = 1
    return out


def onavos(sd, frames, first_mask, steps, online_steps, lr, online_lr, alpha, margin, erosion):
    """OnAVOS in float64: masks [T, H, W] and the probabilities they were thresholded from."""
    frames = frames.double()
    first = (first_mask != 0).long()
    sd, _ = finetune(sd, frames[:1], first[None], steps, lr)
    p0 = probs(sd, frames[:1])[0]
    masks, ps = [(p0 > 0.5).long()], [p0]
    for t in range(1, frames.shape[0]):
        p = probs(sd, frames[t:t + 1])[0]
        lab = torch.from_numpy(pseudo_labels(p.numpy(), masks[-1].numpy(), alpha, margin, erosion))
        sd, _ = finetune(sd, torch.stack([frames[0], frames[t]]), torch.stack([first, lab]), online_steps, online_lr)
        p = probs(sd, frames[t:t + 1])[0]
        masks.append((p > 0.5).long())
        ps.append(p)
    return torch.stack(masks), torch.stack(ps)


def dist(a, b):
    """Euclidean distance of two embeddings in Python floats (at least 1e-6)."""
    return math.sqrt(max(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b)), 1e-12))


def knn_oracle(ref, ref_labels, query, k):
    """k-NN labels by a Python loop: a stable sort by distance, then index; ties in the vote go to the smaller label."""
    out = []
    for q in query:
        d = [(dist(q, r), i) for i, r in enumerate(ref)]
        d.sort()  # by distance, then index
        votes = {}
        for _, i in d[:k]:
            votes[int(ref_labels[i])] = votes.get(int(ref_labels[i]), 0) + 1
        best = max(votes.values())
        out.append(min(lab for lab, v in votes.items() if v == best))
    return torch.tensor(out, dtype=torch.int64)
