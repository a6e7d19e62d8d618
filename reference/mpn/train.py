"""Train the reference message-passing network on the synthetic train split (CPU, minutes).

    python reference/mpn/train.py --out reference/mpn/mpn/checkpoint.pt

Data: the public ``train`` split of ``cv3data.mot`` (validation: ``val``); the hidden accuracy
split's seed comes from the course key (harness/secret.py, reference/mpn/tests/accuracy_cases.py).
Every detection takes the ground-truth id it overlaps best (Hungarian matching per frame, IoU >= 0.5; false positives
get 0). An edge is positive when it joins two consecutive detections of the same object (no
detection of that object in the frames between), as in Braso & Leal-Taixe 2020. The loss is a
class-balanced binary cross entropy averaged over all message-passing steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "tests"))

import numpy as np  # noqa: E402
from cv3data.mot import frame_detections, make_mot_split  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402
from mpn import MessagePassingNetwork, build_graph, edge_features  # noqa: E402

TRAIN_SEQUENCES, VAL_SEQUENCES = 24, 4
CONFIG = {"feature_dim": 16, "node_dim": 32, "edge_dim": 16, "num_steps": 4, "top_k": 8, "max_gap": 6,
          "threshold": 0.5, "min_score": 0.3, "min_length": 2}


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    iw = (torch.min(a[:, None, 2], b[:, 2]) - torch.max(a[:, None, 0], b[:, 0])).clamp(min=0)
    ih = (torch.min(a[:, None, 3], b[:, 3]) - torch.max(a[:, None, 1], b[:, 1])).clamp(min=0)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b - inter)


def detection_ids(seq: dict, detections: list) -> list:
    """The gt id of every detection (Hungarian matching per frame at IoU >= 0.5), 0 if none."""
    gt = seq["gt"]
    out = []
    for t, d in enumerate(detections):
        g = gt[gt[:, 0] == t + 1]
        ids = torch.zeros(d.shape[0], dtype=torch.int64)
        if len(g) and len(d):
            iou = _iou(d[:, :4].double(), g[:, 2:6].double()).numpy()
            rows, cols = linear_sum_assignment(-iou)
            ok = iou[rows, cols] >= 0.5
            ids[torch.from_numpy(rows[ok])] = torch.from_numpy(g[cols[ok], 1].numpy().astype(np.int64))
        out.append(ids)
    return out


def flatten(seq: dict, min_score: float):
    dets, feats_ = frame_detections(seq)
    boxes, frames, feats, ids = [], [], [], []
    for t, (d, f, i) in enumerate(zip(dets, feats_, detection_ids(seq, dets))):
        keep = d[:, 4] >= min_score
        boxes.append(d[keep, :4])
        feats.append(f[keep])
        ids.append(i[keep])
        frames.append(torch.full((int(keep.sum()),), t + 1, dtype=torch.int64))
    return torch.cat(boxes), torch.cat(frames), torch.cat(feats), torch.cat(ids)


def edge_labels(edge_index, frames, ids):
    """1 for consecutive detections of one object, else 0."""
    n = ids.shape[0]
    nxt = torch.full((n,), -1, dtype=torch.int64)
    for k in ids.unique().tolist():
        if k <= 0:
            continue
        members = (ids == k).nonzero()[:, 0]
        members = members[torch.argsort(frames[members], stable=True)]
        nxt[members[:-1]] = members[1:]
    return (nxt[edge_index[0]] == edge_index[1]).float()


def make_samples(seqs, cfg):
    samples = []
    for seq in seqs:
        boxes, frames, feats, ids = flatten(seq, cfg["min_score"])
        ei = build_graph(frames, feats, cfg["top_k"], cfg["max_gap"])
        attr = edge_features(boxes, frames, feats, ei)
        samples.append((feats, ei, attr, edge_labels(ei, frames, ids)))
    return samples


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=HERE / "mpn" / "checkpoint.pt")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=3e-3)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    cfg = dict(CONFIG)
    t0 = time.time()
    train = make_samples(make_mot_split("train", num_sequences=TRAIN_SEQUENCES), cfg)
    val = make_samples(make_mot_split("val", num_sequences=VAL_SEQUENCES), cfg)
    pos = sum(float(s[3].sum()) for s in train)
    total = sum(s[3].numel() for s in train)
    pos_weight = torch.tensor((total - pos) / max(pos, 1.0))
    print(f"data: {len(train)} train graphs, {total} edges, {pos / total:.1%} positive "
          f"({time.time() - t0:.1f} s)", flush=True)
    model = MessagePassingNetwork(cfg["feature_dim"], 6, cfg["node_dim"], cfg["edge_dim"], cfg["num_steps"])
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs * len(train))
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train)).tolist()
        total_loss = 0.0
        for k in order:
            feats, ei, attr, y = train[k]
            logits = model(feats, ei, attr)  # [S, E]
            loss = F.binary_cross_entropy_with_logits(logits, y.expand_as(logits), pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach())
        model.eval()
        with torch.no_grad():
            correct = count = 0
            for feats, ei, attr, y in val:
                pred = model(feats, ei, attr)[-1] > 0
                correct += int((pred == (y > 0.5)).sum())
                count += y.numel()
        print(f"epoch {epoch + 1}: loss {total_loss / len(train):.4f}, val edge accuracy "
              f"{correct / count:.4f} ({time.time() - t0:.0f} s)", flush=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": cfg, "state_dict": state}, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
