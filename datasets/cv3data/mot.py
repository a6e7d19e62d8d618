"""Deterministic multi-object tracking sequences and the MOTChallenge folder format.

A synthetic sequence is a crowd of pedestrian-like boxes seen by a static camera: objects move
with a constant velocity plus small random accelerations, enter through the left and right
borders (or stand in the scene from the first frame), leave through the borders or vanish
(a door), and hide each other (the object whose box reaches lower in the image is nearer to
the camera). A noisy detector sees every frame: it misses occluded objects more often, jitters
boxes, scores them, fires twice on a few objects and adds false positives. Every detection has
an appearance feature: the object's own unit code, blended with the code of its occluder and
noise; false positives get random codes.

The folder format is MOTChallenge's (MOT16/17/20), with 1-based frames::

    <root>/<name>/seqinfo.ini        [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
    <root>/<name>/gt/gt.txt          frame,id,left,top,width,height,consider,class,visibility
    <root>/<name>/det/det.txt        frame,-1,left,top,width,height,conf,-1,-1,-1
    <root>/<name>/det/det_features.npy   float32 [D, E], one row per line of det.txt (ours only)

No images are written (``imDir`` names a folder that does not exist); nothing here needs them.
Boxes are stored as (left, top, width, height) with two decimals; in memory they are
``(x1, y1, x2, y2)`` with ``x2 = left + width``, computed the same way by the generator and the
loader, so that writing and reading a sequence gives back the same numbers, bit for bit.

All randomness comes from ``numpy.random.default_rng`` seeded from the arguments: the same
arguments give the same sequence on every machine; global random states are never touched.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "MOT_SPLIT_SEEDS",
    "make_sequence",
    "make_mot_split",
    "frame_detections",
    "write_mot_sequence",
    "write_mot",
    "load_mot_sequence",
    "load_mot",
]

# Public splits and their seeds. A held-out split is made by the course staff with a seed of
# their own (kept on the trusted side), never one listed here.
MOT_SPLIT_SEEDS = {"train": 0, "val": 1}
PEDESTRIAN = 1  # MOTChallenge class id of pedestrians
_GRID = (12, 6)  # points sampled per box (rows, cols) to measure visibility


def _visibility(boxes: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Fraction of every box [N, 4] that is inside the image and not hidden by a box nearer to
    the camera (a larger bottom edge y2); ties in y2 are broken by index (later is nearer)."""
    n = len(boxes)
    if n == 0:
        return np.zeros(0)
    height, width = image_size
    ry = (np.arange(_GRID[0]) + 0.5) / _GRID[0]
    rx = (np.arange(_GRID[1]) + 0.5) / _GRID[1]
    px = boxes[:, None, None, 0] + rx[None, None, :] * (boxes[:, 2] - boxes[:, 0])[:, None, None]  # [N, 1, c]
    py = boxes[:, None, None, 1] + ry[None, :, None] * (boxes[:, 3] - boxes[:, 1])[:, None, None]  # [N, r, 1]
    px, py = np.broadcast_arrays(px, py)  # [N, r, c]
    inside = (px >= 0) & (px <= width) & (py >= 0) & (py <= height)  # [N, r, c]
    depth = boxes[:, 3] + np.arange(n) * 1e-9  # [N]
    in_front = depth[None, :] > depth[:, None]  # [N, N]: j is in front of i
    covered = ((px[:, None] >= boxes[None, :, 0, None, None]) & (px[:, None] <= boxes[None, :, 2, None, None])
               & (py[:, None] >= boxes[None, :, 1, None, None]) & (py[:, None] <= boxes[None, :, 3, None, None]))
    covered &= in_front[:, :, None, None]  # [N, N, r, c]
    visible = inside & ~covered.any(axis=1)  # [N, r, c]
    return visible.mean(axis=(1, 2))


def _occluder(boxes: np.ndarray, i: int) -> int:
    """Index of the box in front of box i that overlaps it most (-1 if none)."""
    b = boxes[i]
    iw = np.clip(np.minimum(b[2], boxes[:, 2]) - np.maximum(b[0], boxes[:, 0]), 0, None)
    ih = np.clip(np.minimum(b[3], boxes[:, 3]) - np.maximum(b[1], boxes[:, 1]), 0, None)
    overlap = iw * ih
    overlap[boxes[:, 3] + np.arange(len(boxes)) * 1e-9 <= b[3] + i * 1e-9] = 0
    return int(np.argmax(overlap)) if overlap.max() > 0 else -1


def _ltwh_round(boxes: np.ndarray) -> np.ndarray:
    """(x1, y1, x2, y2) -> rounded (left, top, w, h) -> (x1, y1, x1 + w, y1 + h)."""
    left = np.round(boxes[:, 0], 2)
    top = np.round(boxes[:, 1], 2)
    w = np.round(boxes[:, 2] - boxes[:, 0], 2)
    h = np.round(boxes[:, 3] - boxes[:, 1], 2)
    return np.stack([left, top, left + w, top + h], axis=1)


def make_sequence(
    seed: int,
    *,
    name: str = "CV3-SEQ",
    num_frames: int = 150,
    image_size: tuple[int, int] = (480, 640),
    num_objects: int = 16,
    frame_rate: int = 30,
    min_visibility: float = 0.2,
    miss_rate: float = 0.05,
    false_positives_per_frame: float = 1.0,
    duplicate_rate: float = 0.03,
    box_noise: float = 0.04,
    feature_dim: int = 16,
    feature_noise: float = 0.08,
) -> dict:
    """One synthetic sequence with ground truth, detections and appearance features.

    Args:
        seed (int): seed of the sequence (any non-negative int).
        name (str): the sequence name (``seqinfo.ini`` and the folder name).
        num_frames (int): frames 1 ... num_frames.
        image_size (tuple[int, int]): (height, width) in pixels.
        num_objects (int): objects over the whole sequence (about 60% stand in the scene at
            frame 1, the others enter later).
        frame_rate (int): written to ``seqinfo.ini``.
        min_visibility (float): a box is ground truth in a frame only if at least this fraction
            of it is visible (inside the image, not hidden by nearer boxes).
        miss_rate (float): chance that a fully visible object is not detected (more when occluded).
        false_positives_per_frame (float): mean of the Poisson number of false positives.
        duplicate_rate (float): chance of a second, shifted, lower-scored box on a detected object.
        box_noise (float): standard deviation of the box jitter, relative to the box size.
        feature_dim (int): length of the appearance features.
        feature_noise (float): standard deviation of the noise added to every feature entry.

    Returns:
        dict: ``name`` (str), ``num_frames`` (int), ``frame_rate`` (int), ``image_size``
        ((H, W)), ``gt`` (float64 Tensor[G, 6]: frame, id, x1, y1, x2, y2, sorted by frame then
        id; ids from 1), ``visibility`` (float64 Tensor[G]), ``detections`` (float64
        Tensor[D, 6]: frame, x1, y1, x2, y2, score, sorted by frame, shuffled within a frame)
        and ``features`` (float32 Tensor[D, feature_dim], unit rows).
    """
    if num_frames < 1 or num_objects < 0 or feature_dim < 1:
        raise ValueError(f"need num_frames >= 1, num_objects >= 0 and feature_dim >= 1, got "
                         f"{num_frames}, {num_objects}, {feature_dim}")
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError(f"min_visibility must be in [0, 1], got {min_visibility}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7129]))
    height, width = image_size

    # ---- objects: birth, size, start, velocity, appearance code
    n = num_objects
    initial = rng.random(n) < 0.6
    birth = np.where(initial, 1, rng.integers(1, max(2, num_frames - 10), n) + 1)
    death = np.where(rng.random(n) < 0.15, birth + rng.integers(20, 120, n), num_frames + 1)
    obj_h = rng.uniform(55.0, 135.0, n)
    obj_w = obj_h * rng.uniform(0.35, 0.5, n)
    speed = rng.uniform(0.6, 3.5, n)
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)  # walking left (-1) or right (+1)
    cx = np.where(initial, rng.uniform(0.05, 0.95, n) * width,
                  np.where(side > 0, -obj_w / 2 + 1, width + obj_w / 2 - 1))
    bottom = rng.uniform(0.35, 1.0, n) * height + obj_h * 0.1
    vel = np.stack([side * speed, rng.normal(0.0, 0.35, n)], axis=1)  # [n, 2]
    codes = rng.normal(size=(n, feature_dim))
    codes /= np.linalg.norm(codes, axis=1, keepdims=True)

    pos = np.stack([cx, bottom], axis=1)  # centre x, bottom y
    scale = np.ones(n)
    gt_rows, vis_rows, det_rows, feat_rows = [], [], [], []
    gone = np.zeros(n, dtype=bool)
    for frame in range(1, num_frames + 1):
        start = len(det_rows)  # this frame's detections are det_rows[start:]
        alive = (birth <= frame) & (frame < death) & ~gone
        # boxes of the objects in the scene this frame
        idx = np.flatnonzero(alive)
        w, h = obj_w[idx] * scale[idx], obj_h[idx] * scale[idx]
        boxes = np.stack([pos[idx, 0] - w / 2, pos[idx, 1] - h, pos[idx, 0] + w / 2, pos[idx, 1]], axis=1)
        boxes = boxes.reshape(-1, 4)
        outside = (boxes[:, 2] <= 0) | (boxes[:, 0] >= width) | (boxes[:, 1] >= height) | (boxes[:, 3] <= 0)
        # an object that was in the image and has left it is gone for good
        entered = frame > birth[idx] + 3
        gone[idx[outside & entered]] = True
        keep = ~outside
        idx, boxes = idx[keep], boxes[keep]
        vis = _visibility(boxes, image_size)
        clipped = boxes.copy()
        clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0, width)
        clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0, height)
        clipped = _ltwh_round(clipped)
        for k in np.flatnonzero(vis >= min_visibility):
            if clipped[k, 2] - clipped[k, 0] < 2 or clipped[k, 3] - clipped[k, 1] < 2:
                continue
            gt_rows.append([frame, idx[k] + 1, *clipped[k]])
            vis_rows.append(round(float(vis[k]), 4))
            # the detector
            p_detect = (1.0 - miss_rate) * np.clip((vis[k] - 0.15) / 0.5, 0.0, 1.0)
            if rng.random() >= p_detect:
                continue
            bw, bh = clipped[k, 2] - clipped[k, 0], clipped[k, 3] - clipped[k, 1]
            centre = (clipped[k, :2] + clipped[k, 2:]) / 2 + rng.normal(0.0, box_noise, 2) * [bw, bh]
            size = np.array([bw, bh]) * np.exp(rng.normal(0.0, box_noise, 2))
            score = float(np.clip(0.5 + 0.45 * vis[k] + rng.normal(0.0, 0.1), 0.02, 0.999))
            occ = _occluder(boxes, k)
            code = codes[idx[k]] * vis[k] + (codes[idx[occ]] * (1 - vis[k]) if occ >= 0 else 0.0)
            det_rows.append([frame, *(centre - size / 2), *(centre + size / 2), score])
            feat_rows.append(code + rng.normal(0.0, feature_noise, feature_dim))
            if rng.random() < duplicate_rate:
                shift = rng.normal(0.0, 0.15, 2) * [bw, bh]
                det_rows.append([frame, *(centre - size / 2 + shift), *(centre + size / 2 + shift),
                                 score * rng.uniform(0.4, 0.8)])
                feat_rows.append(code + rng.normal(0.0, feature_noise * 2, feature_dim))
        # false positives
        for _ in range(rng.poisson(false_positives_per_frame)):
            fh = rng.uniform(40.0, 130.0)
            fw = fh * rng.uniform(0.3, 0.6)
            x, y = rng.uniform(0, width - fw), rng.uniform(0, height - fh)
            det_rows.append([frame, x, y, x + fw, y + fh, float(rng.beta(2.0, 4.0))])
            feat_rows.append(rng.normal(size=feature_dim))
        # shuffle this frame's detections (their order must not give identities away)
        if len(det_rows) - start > 1:
            perm = rng.permutation(len(det_rows) - start) + start
            det_rows[start:] = [det_rows[i] for i in perm]
            feat_rows[start:] = [feat_rows[i] for i in perm]
        # motion: constant velocity, small random accelerations, slow changes of scale
        vel += rng.normal(0.0, 0.05, vel.shape)
        vel[:, 1] *= 0.98
        pos += vel
        scale *= np.exp(rng.normal(0.0, 0.002, n))

    gt = np.array(gt_rows, dtype=np.float64).reshape(-1, 6)
    order = np.lexsort((gt[:, 1], gt[:, 0]))
    dets = np.array(det_rows, dtype=np.float64).reshape(-1, 6)
    if len(dets):
        boxes = dets[:, 1:5].copy()
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 2)
        dets[:, 1:5] = _ltwh_round(boxes)
        dets[:, 5] = np.round(dets[:, 5], 4)
    feats = np.array(feat_rows, dtype=np.float64).reshape(-1, feature_dim)
    feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    return {
        "name": name,
        "num_frames": int(num_frames),
        "frame_rate": int(frame_rate),
        "image_size": (int(height), int(width)),
        "gt": torch.from_numpy(gt[order]),
        "visibility": torch.tensor(vis_rows, dtype=torch.float64)[torch.from_numpy(order)],
        "detections": torch.from_numpy(dets),
        "features": torch.from_numpy(feats.astype(np.float32)),
    }


def make_mot_split(split: str = "train", *, seed: int | None = None, num_sequences: int = 4,
                   **kwargs) -> list[dict]:
    """Several sequences named ``CV3<SPLIT>-01``, ``CV3<SPLIT>-02``, ...

    Args:
        split (str): the split's name; ``train`` and ``val`` have public seeds
            (:data:`MOT_SPLIT_SEEDS`), any other name needs an explicit ``seed``.
        seed (int | None): the split's seed; sequence ``i`` uses the seed ``(seed, i)``.
        num_sequences (int): how many sequences.
        **kwargs: passed on to :func:`make_sequence` (e.g. ``num_frames``).

    Returns:
        list[dict]: one dict per sequence, as :func:`make_sequence` returns.
    """
    if seed is None:
        if split not in MOT_SPLIT_SEEDS:
            raise ValueError(f"split {split!r} has no public seed ({sorted(MOT_SPLIT_SEEDS)}); pass seed=")
        seed = MOT_SPLIT_SEEDS[split]
    out = []
    for i in range(num_sequences):
        child = int(np.random.SeedSequence([int(seed), i]).generate_state(1, dtype=np.uint64)[0] >> 1)
        out.append(make_sequence(child, name=f"CV3{split.upper()}-{i + 1:02d}", **kwargs))
    return out


def frame_detections(sequence: dict, *, dtype: torch.dtype = torch.float32
                     ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
    """A sequence's detections split by frame: ``(detections, features)`` where
    ``detections[t]`` is Tensor[D_t, 5] (x1, y1, x2, y2, score) of frame ``t + 1`` and
    ``features[t]`` Tensor[D_t, E] (None when the sequence has no features)."""
    dets = sequence["detections"]
    feats = sequence.get("features")
    frames = dets[:, 0].long()
    out_d, out_f = [], ([] if feats is not None else None)
    for f in range(1, sequence["num_frames"] + 1):
        rows = torch.nonzero(frames == f).flatten()
        out_d.append(dets[rows, 1:6].to(dtype).contiguous())
        if feats is not None:
            out_f.append(feats[rows].contiguous())
    return out_d, out_f


def write_mot_sequence(sequence: dict, root: str | Path) -> Path:
    """Write one sequence to ``root/<name>/`` in the MOTChallenge layout; returns the folder."""
    folder = Path(root) / sequence["name"]
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    (folder / "det").mkdir(parents=True, exist_ok=True)
    height, width = sequence["image_size"]
    info = configparser.ConfigParser()
    info.optionxform = str  # keep the camelCase keys
    info["Sequence"] = {"name": sequence["name"], "imDir": "img1", "frameRate": str(sequence["frame_rate"]),
                        "seqLength": str(sequence["num_frames"]), "imWidth": str(width),
                        "imHeight": str(height), "imExt": ".jpg"}
    with open(folder / "seqinfo.ini", "w") as f:
        info.write(f, space_around_delimiters=False)
    gt = sequence["gt"].numpy()
    vis = sequence["visibility"].numpy()
    with open(folder / "gt" / "gt.txt", "w") as f:
        for (frame, tid, x1, y1, x2, y2), v in zip(gt, vis):
            f.write(f"{int(frame)},{int(tid)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,{PEDESTRIAN},{v:.4f}\n")
    dets = sequence["detections"].numpy()
    with open(folder / "det" / "det.txt", "w") as f:
        for frame, x1, y1, x2, y2, s in dets:
            f.write(f"{int(frame)},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{s:.4f},-1,-1,-1\n")
    if sequence.get("features") is not None:
        np.save(folder / "det" / "det_features.npy", sequence["features"].numpy(), allow_pickle=False)
    return folder


def write_mot(sequences: Sequence[dict], root: str | Path) -> Path:
    """Write sequences to ``root/<name>/`` each (a MOTChallenge split folder); returns ``root``."""
    for s in sequences:
        write_mot_sequence(s, root)
    return Path(root)


def _read_txt(path: Path, min_cols: int) -> np.ndarray:
    if not path.is_file() or path.stat().st_size == 0:
        return np.zeros((0, min_cols))
    rows = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    if rows.shape[1] < min_cols:
        raise ValueError(f"{path}: expected at least {min_cols} comma-separated columns, got {rows.shape[1]}")
    return rows


def _xyxy(ltwh: np.ndarray) -> np.ndarray:
    return np.concatenate([ltwh[:, :2], ltwh[:, :2] + ltwh[:, 2:4]], axis=1)


def load_mot_sequence(folder: str | Path, *, classes: Sequence[int] | None = (PEDESTRIAN,),
                      min_visibility: float = 0.0, only_considered: bool = True) -> dict:
    """Read one MOTChallenge sequence folder (MOT15/16/17/20 or what :func:`write_mot_sequence`
    writes) into the dict of :func:`make_sequence`.

    Ground truth with 9 columns (MOT16/17/20: ``consider, class, visibility``) is filtered:
    rows with ``consider == 0`` (unless ``only_considered=False``), other classes than
    ``classes`` (None keeps all) and visibility below ``min_visibility`` are dropped. MOT15's
    10-column ground truth has no class or visibility (visibility is set to 1). A test sequence
    without ``gt/gt.txt`` gets an empty ``gt``; ``features`` is None without
    ``det/det_features.npy``. Boxes become ``(x1, y1, x2, y2) = (left, top, left + w, top + h)``.
    """
    folder = Path(folder)
    ini = folder / "seqinfo.ini"
    if not ini.is_file():
        raise FileNotFoundError(f"{ini} not found: not a MOTChallenge sequence folder")
    info = configparser.ConfigParser()
    info.optionxform = str
    info.read(ini)
    seq = info["Sequence"]
    num_frames = int(seq["seqLength"])
    gt_raw = _read_txt(folder / "gt" / "gt.txt", 6)
    keep = np.ones(len(gt_raw), dtype=bool)
    visibility = np.ones(len(gt_raw))
    if gt_raw.shape[1] == 9:
        if only_considered:
            keep &= gt_raw[:, 6] != 0
        if classes is not None:
            keep &= np.isin(gt_raw[:, 7], np.asarray(list(classes), dtype=np.float64))
        visibility = gt_raw[:, 8]
        keep &= visibility >= min_visibility
    elif gt_raw.shape[1] >= 7 and only_considered:
        keep &= gt_raw[:, 6] != 0
    gt_raw, visibility = gt_raw[keep], visibility[keep]
    gt = np.concatenate([gt_raw[:, :2], _xyxy(gt_raw[:, 2:6])], axis=1) if len(gt_raw) else np.zeros((0, 6))
    order = np.lexsort((gt[:, 1], gt[:, 0]))
    det_raw = _read_txt(folder / "det" / "det.txt", 7)
    dets = (np.concatenate([det_raw[:, :1], _xyxy(det_raw[:, 2:6]), det_raw[:, 6:7]], axis=1)
            if len(det_raw) else np.zeros((0, 6)))
    det_order = np.argsort(dets[:, 0], kind="stable")
    features = None
    feat_path = folder / "det" / "det_features.npy"
    if feat_path.is_file():
        f = np.load(feat_path, allow_pickle=False)
        if f.ndim != 2 or len(f) != len(det_raw):
            raise ValueError(f"{feat_path}: expected one feature row per detection ({len(det_raw)}), "
                             f"got shape {list(f.shape)}")
        features = torch.from_numpy(np.ascontiguousarray(f[det_order]))
    return {
        "name": seq.get("name", folder.name),
        "num_frames": num_frames,
        "frame_rate": int(seq.get("frameRate", 30)),
        "image_size": (int(seq.get("imHeight", 0)), int(seq.get("imWidth", 0))),
        "gt": torch.from_numpy(np.ascontiguousarray(gt[order])),
        "visibility": torch.from_numpy(np.ascontiguousarray(visibility[order])),
        "detections": torch.from_numpy(np.ascontiguousarray(dets[det_order])),
        "features": features,
    }


def load_mot(root: str | Path, **kwargs) -> list[dict]:
    """Every sequence under ``root`` (e.g. ``MOT17/train``): the sub-folders holding a
    ``seqinfo.ini``, sorted by name; ``root`` itself if it is a sequence folder."""
    root = Path(root)
    if (root / "seqinfo.ini").is_file():
        return [load_mot_sequence(root, **kwargs)]
    folders = sorted(p for p in root.iterdir() if (p / "seqinfo.ini").is_file()) if root.is_dir() else []
    if not folders:
        raise FileNotFoundError(f"no MOTChallenge sequence (a folder with seqinfo.ini) under {root}")
    return [load_mot_sequence(p, **kwargs) for p in folders]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cv3data.mot",
                                     description="write a synthetic MOTChallenge split")
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--num-sequences", type=int, default=4)
    parser.add_argument("--num-frames", type=int, default=150)
    args = parser.parse_args(argv)
    seqs = make_mot_split(args.split, seed=args.seed, num_sequences=args.num_sequences,
                          num_frames=args.num_frames)
    write_mot(seqs, args.out)
    for s in seqs:
        print(f"{args.out}/{s['name']}: {s['num_frames']} frames, {len(s['gt'])} gt boxes, "
              f"{len(s['detections'])} detections")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
