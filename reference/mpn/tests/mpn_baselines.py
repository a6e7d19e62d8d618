"""The IoU-tracker baseline of the mpn accuracy checks (trusted side only)."""

from __future__ import annotations

import numpy as np
import torch


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (x1, y1, x2, y2) rows, [len(a), len(b)]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def iou_tracker(detections: list, sigma_l: float = 0.3, sigma_iou: float = 0.3, t_min: int = 2) -> torch.Tensor:
    """The IoU tracker of Bochinski et al. (AVSS 2017), greedy frame to frame.

    Detections below ``sigma_l`` are dropped; each live track takes the unmatched detection of
    the next frame with the highest IoU if it is at least ``sigma_iou``, else it ends; tracks
    shorter than ``t_min`` are discarded. Returns rows (frame, id, x1, y1, x2, y2)."""
    active: list[dict] = []
    finished: list[dict] = []
    for t, det in enumerate(detections):
        d = det.numpy().astype(np.float64)
        d = d[d[:, 4] >= sigma_l] if len(d) else d.reshape(0, 5)
        free = np.ones(len(d), dtype=bool)
        still = []
        for track in active:
            iou = _iou(track["boxes"][-1][None, :], d[:, :4])[0] if len(d) else np.zeros(0)
            iou = np.where(free, iou, -1.0)
            if len(d) and iou.max() >= sigma_iou:
                k = int(iou.argmax())
                track["boxes"].append(d[k, :4])
                track["frames"].append(t + 1)
                free[k] = False
                still.append(track)
            else:
                finished.append(track)
        for k in np.nonzero(free)[0]:
            still.append({"boxes": [d[k, :4]], "frames": [t + 1]})
        active = still
    finished += active
    rows = []
    finished.sort(key=lambda tr: (tr["frames"][0], tuple(tr["boxes"][0])))
    tid = 0
    for track in finished:
        if len(track["frames"]) < t_min:
            continue
        tid += 1
        rows += [[f, tid, *b] for f, b in zip(track["frames"], track["boxes"])]
    out = torch.tensor(np.array(rows, dtype=np.float64).reshape(-1, 6), dtype=torch.float32)
    return out[torch.argsort(out[:, 0] * (tid + 1) + out[:, 1], stable=True)]
