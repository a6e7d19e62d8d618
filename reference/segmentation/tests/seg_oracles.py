"""Float64 oracles and data shared by the segmentation hidden tests (a helper module, no tests).

The U-Net oracle is functional code written from the pinned state-dict layout (padded 3x3
convolutions, max pooling, transposed 2x2 convolutions, skip first in the concatenation); the
CRF oracles are loops and a dense mean-field written from the docstrings.
"""

import numpy as np
import torch
import torch.nn.functional as F


def unet_layout(in_ch, num_classes, base, depth):
    ch = [base * 2 ** i for i in range(depth + 1)]
    shapes = {}

    def dc(name, a, b):
        shapes[f"{name}.0.weight"] = (b, a, 3, 3)
        shapes[f"{name}.0.bias"] = (b,)
        shapes[f"{name}.2.weight"] = (b, b, 3, 3)
        shapes[f"{name}.2.bias"] = (b,)

    for i in range(depth):
        dc(f"encoders.{i}", in_ch if i == 0 else ch[i - 1], ch[i])
    dc("bottleneck", ch[depth - 1], ch[depth])
    for i in range(depth):
        shapes[f"upsamplers.{i}.weight"] = (ch[i + 1], ch[i], 2, 2)
        shapes[f"upsamplers.{i}.bias"] = (ch[i],)
    for i in range(depth):
        dc(f"decoders.{i}", 2 * ch[i], ch[i])
    shapes["head.weight"] = (num_classes, ch[0], 1, 1)
    shapes["head.bias"] = (num_classes,)
    return shapes


def unet_oracle(sd, x, depth):
    def dc(name, h):
        h = F.relu(F.conv2d(h, sd[f"{name}.0.weight"], sd[f"{name}.0.bias"], padding=1))
        return F.relu(F.conv2d(h, sd[f"{name}.2.weight"], sd[f"{name}.2.bias"], padding=1))

    skips, h = [], x
    for i in range(depth):
        h = dc(f"encoders.{i}", h)
        skips.append(h)
        h = F.max_pool2d(h, 2)
    h = dc("bottleneck", h)
    for i in reversed(range(depth)):
        h = F.conv_transpose2d(h, sd[f"upsamplers.{i}.weight"], sd[f"upsamplers.{i}.bias"], stride=2)
        h = dc(f"decoders.{i}", torch.cat([skips[i], h], dim=1))
    return F.conv2d(h, sd["head.weight"], sd["head.bias"])


def potts_energy(unary, labels, weight):
    h, w = labels.shape
    e = 0.0
    for r in range(h):
        for c in range(w):
            e += float(unary[labels[r, c], r, c])
            if c + 1 < w and labels[r, c] != labels[r, c + 1]:
                e += weight
            if r + 1 < h and labels[r, c] != labels[r + 1, c]:
                e += weight
    return e


def dense_mean_field(unary, image, num_iters, w1, ta, tb, w2, tg):
    u = unary.double().numpy()
    img = image.double().numpy()
    nl, h, w = u.shape
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    pos = np.stack([ys.ravel(), xs.ravel()], 1).astype(np.float64)
    col = img.reshape(img.shape[0], -1).T
    dp = ((pos[:, None] - pos[None]) ** 2).sum(-1)
    dc = ((col[:, None] - col[None]) ** 2).sum(-1)
    k = w1 * np.exp(-dp / (2 * ta ** 2) - dc / (2 * tb ** 2)) + w2 * np.exp(-dp / (2 * tg ** 2))
    np.fill_diagonal(k, 0.0)
    U = u.reshape(nl, -1)

    def softmax(z):
        z = z - z.max(0, keepdims=True)
        e = np.exp(z)
        return e / e.sum(0, keepdims=True)

    q = softmax(-U)
    for _ in range(num_iters):
        msg = q @ k.T
        pair = np.stack([sum(msg[m] for m in range(nl) if m != lab) for lab in range(nl)])
        q = softmax(-U - pair)
    return torch.from_numpy(q.reshape(nl, h, w))


def colour_scenes(n, size, seed, void=True):
    """Each pixel's class is its colour (plus noise): a problem any working trainer solves."""
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(n, size, size, dtype=torch.int64)
    for i in range(n):
        for _ in range(3):
            r, c = torch.randint(0, size - 6, (2,), generator=g).tolist()
            masks[i, r:r + 6, c:c + 6] = int(torch.randint(1, 4, (1,), generator=g))
    palette = torch.tensor([[0.5, 0.5, 0.5], [0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9]])
    images = palette[masks].permute(0, 3, 1, 2) + 0.05 * torch.randn(n, 3, size, size, generator=g)
    images = images.clamp(0, 1).float()
    labels = masks.clone()
    if void:
        labels[:, :, :2] = 255  # VOC void: must be ignored, never predicted
    return images, masks, labels
