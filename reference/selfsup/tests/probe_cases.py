"""Data of the probe check: unlabeled digits for ``pretrain`` (sandbox), labeled batches for
``features`` whose labels stay here (trusted side).

The digits are scikit-learn's (public), so the nuisances (shift, contrast, brightness, noise) of
the graded splits are drawn from the course key (harness/secret.py): a submission cannot
regenerate the held-out images exactly. The reference is calibrated over several keys.
"""

from __future__ import annotations

import base64

import numpy as np
import torch

from cv3data.ssl_digits import ssl_digits
from harness.reports.png import png_rgb
from harness.secret import heldout_seed

BATCH_SIZE = 200
HOLDOUT_NAME = "selfsup-probe"


def _seed() -> int:
    return heldout_seed(HOLDOUT_NAME, bits=56)


def unlabeled(device: str = "cpu"):
    """``pretrain(images)``: float32 [1000, 1, 20, 20] in [0, 1], no labels."""
    images, _ = ssl_digits("unlabeled", seed=_seed())
    return [images.to(device)], {}


def _batches(images):
    return [([images[i:i + BATCH_SIZE]], {}) for i in range(0, images.shape[0], BATCH_SIZE)]


def labeled():
    """(train_calls, train_labels, test_calls, test_labels): 400 and 397 digits."""
    seed = _seed()
    train, train_labels = ssl_digits("probe_train", seed=seed)
    test, test_labels = ssl_digits("probe_test", seed=seed)
    return _batches(train), train_labels, _batches(test), test_labels


# ---------------------------------------------------------------------------------- figures
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
NEIGHBOURS = 6
QUERIES = 6


def _normalised(f):
    f = f.double()
    return f / f.norm(dim=1, keepdim=True).clamp(min=1e-12)


def figures(train_features, train_labels, test_features, test_labels) -> list[dict]:
    """The probe check's report figures, from the submission's frozen features: a 2-D PCA of the
    held-out features coloured by class, and the nearest training images (cosine similarity, the
    k-NN probe's) of a few held-out images."""
    return [scatter_svg(test_features, test_labels), neighbours_figure(train_features, train_labels, test_features,
                                                                       test_labels)]


def scatter_svg(features, labels) -> dict:
    """The held-out features (L2-normalised, centred) projected on their two top principal axes."""
    z = _normalised(features)
    z = z - z.mean(0, keepdim=True)
    if z.shape[0] >= 2 and z.shape[1] >= 1:
        _, _, v = torch.linalg.svd(z, full_matrices=False)
        xy = z @ v[:2].T
        if xy.shape[1] == 1:
            xy = torch.cat([xy, torch.zeros_like(xy)], 1)
    else:
        xy = torch.zeros(z.shape[0], 2, dtype=torch.float64)
    size, pad = 320, 12
    lo, hi = xy.min(0).values, xy.max(0).values
    span = (hi - lo).clamp(min=1e-12)
    pts = (xy - lo) / span * size + pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad + 70}" height="{size + 2 * pad}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#bbb"/>']
    for (x, y), c in zip(pts.tolist(), labels.tolist()):
        parts.append(f'<circle cx="{x:.1f}" cy="{size + 2 * pad - y:.1f}" r="2.2" fill="{PALETTE[int(c) % 10]}"/>')
    for c in range(10):
        parts.append(f'<circle cx="{size + 2 * pad + 12}" cy="{pad + 10 + 16 * c}" r="4" fill="{PALETTE[c]}"/>'
                     f'<text x="{size + 2 * pad + 22}" y="{pad + 14 + 16 * c}">digit {c}</text>')
    parts.append("</svg>")
    return {"title": "your held-out features: 2-D PCA of the L2-normalised features, coloured by class",
            "svg": "".join(parts)}


def _png_tile(images) -> str:
    """base64 PNG of a row of grey images [M, 1, S, S] in [0, 1], 1-pixel white gaps."""
    m, _, s, _ = images.shape
    row = np.full((s, m * (s + 1) - 1), 255, dtype=np.uint8)
    for i in range(m):
        row[:, i * (s + 1):i * (s + 1) + s] = (images[i, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    rgb = np.repeat(row[:, :, None], 3, axis=2)
    return base64.b64encode(png_rgb(rgb)).decode("ascii")


def neighbours_figure(train_features, train_labels, test_features, test_labels) -> dict:
    """Tiles: a held-out image, then its ``NEIGHBOURS`` most similar training images (green
    caption: same class; red: another class)."""
    seed = _seed()
    train_images, _ = ssl_digits("probe_train", seed=seed)
    test_images, _ = ssl_digits("probe_test", seed=seed)
    sim = _normalised(test_features) @ _normalised(train_features).T
    k = min(NEIGHBOURS, sim.shape[1])
    top = sim.topk(k, dim=1).indices
    zoom, s = 3, test_images.shape[-1]
    tiles = []
    for q in range(min(QUERIES, test_images.shape[0])):
        row = torch.cat([test_images[q:q + 1], train_images[top[q]]])
        same = sum(int(train_labels[j]) == int(test_labels[q]) for j in top[q].tolist())
        png = _png_tile(row)
        w, h = (row.shape[0] * (s + 1) - 1) * zoom, s * zoom
        colour = "#15803d" if 2 * same >= k else "#b91c1c"
        tiles.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 8}" height="{h + 24}" '
                     f'font-family="sans-serif"><g transform="translate(4,20)">'
                     f'<text x="0" y="-5" font-size="11" fill="{colour}">held-out digit {int(test_labels[q])}: '
                     f'{same} of {k} neighbours of its class</text>'
                     f'<image width="{w}" height="{h}" style="image-rendering:pixelated" '
                     f'href="data:image/png;base64,{png}"/></g></svg>')
    return {"title": f"nearest training images by your features (first: the held-out image, then its {k} "
                     f"nearest neighbours)", "tiles": tiles,
            "legend": "cosine similarity of L2-normalised features, as the k-NN probe uses"}
