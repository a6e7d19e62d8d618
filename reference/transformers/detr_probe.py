"""Can a small DETR reach a meaningful mAP@0.5 on the synthetic cv3data scenes within a CPU
budget? A measurement for README.md ("Accuracy of a DETR on a CPU"), not a graded check.

A tiny DETR: a 4-stage CNN backbone (stride 8, 64 channels) on 64 x 64 scenes (4 classes, up to
5 objects), sine-cosine position embeddings, a 2-layer transformer encoder and a 3-layer decoder
(d = 64, 4 heads, 16 queries; torch's nn.Transformer layers, trusted side only), DETR's heads,
trained with the reference ``set_criterion`` (Hungarian matching, auxiliary losses) and AdamW for
a budget of CPU time (``time.process_time``) on one thread, then scored with the harness' COCO
evaluator (mAP@0.5) on 128 validation scenes through ``detr_postprocess`` (no NMS).

    python reference/transformers/detr_probe.py --minutes 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent), str(HERE.parent.parent / "datasets")]

import cv3data  # noqa: E402
from harness.metrics.coco import evaluate  # noqa: E402
from transformers import detr_postprocess, set_criterion, sincos_encoding_2d  # noqa: E402

K, Q, D = 4, 16, 64
OPTS = {"image_size": (64, 64), "num_classes": K, "max_objects": 5}


class TinyDETR(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        def block(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        self.backbone = nn.Sequential(block(3, 32, 2), block(32, 32, 1), block(32, 64, 2), block(64, 64, 2),
                                      block(64, D, 1))
        self.register_buffer("pos", sincos_encoding_2d(8, 8, D)[None])
        enc = nn.TransformerEncoderLayer(D, 4, 128, 0.0, batch_first=True, norm_first=True)
        dec = nn.TransformerDecoderLayer(D, 4, 128, 0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(enc, 2)
        self.decoder = nn.ModuleList(dec if i == 0 else nn.TransformerDecoderLayer(D, 4, 128, 0.0, batch_first=True,
                                                                                     norm_first=True) for i in range(3))
        self.queries = nn.Parameter(torch.randn(1, Q, D) * 0.1)
        self.norm = nn.LayerNorm(D)
        self.cls = nn.Linear(D, K + 1)
        self.box = nn.Sequential(nn.Linear(D, D), nn.ReLU(), nn.Linear(D, 4))

    def forward(self, x):
        f = self.backbone((x - 0.4) / 0.25).flatten(2).transpose(1, 2) + self.pos  # [B, 64, D]
        mem = self.encoder(f)
        h = self.queries.expand(x.shape[0], -1, -1)
        outs = []
        for layer in self.decoder:
            h = layer(h, mem)
            y = self.norm(h)
            outs.append((self.cls(y), self.box(y).sigmoid()))
        return outs


def targets_of(scenes):
    out = []
    for s in scenes:
        b = s["boxes"] / 64.0
        cxcywh = torch.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0],
                              b[:, 3] - b[:, 1]], 1)
        out.append({"labels": s["labels"] - 1, "boxes": cxcywh})
    return out


def map50(model, scenes):
    model.eval()
    gt = cv3data.to_coco(scenes, category_names=list(cv3data.SHAPE_NAMES[:K]))
    dets = []
    with torch.no_grad():
        for i in range(0, len(scenes), 32):
            batch = scenes[i:i + 32]
            x = torch.stack([s["image"].float() / 255 for s in batch])
            logits, boxes = model(x)[-1]
            res = detr_postprocess(logits, boxes, torch.tensor([[64, 64]] * len(batch)))
            for j, r in enumerate(res):
                for (x1, y1, x2, y2), sc, lb in zip(r["boxes"].clamp(0, 64).tolist(), r["scores"].tolist(),
                                                    r["labels"].tolist()):
                    dets.append({"image_id": gt["images"][i + j]["id"], "category_id": lb + 1,
                                 "bbox": [x1, y1, x2 - x1, y2 - y1], "score": sc})
    model.train()
    return evaluate({k: gt[k] for k in ("images", "annotations", "categories")}, dets)["AP50"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=8.0)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train = cv3data.make_scenes(4000, seed=1, **OPTS)
    val = cv3data.make_scenes(128, seed=2, **OPTS)
    model = TinyDETR()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1e-4)
    t0, step = time.process_time(), 0  # CPU time: the shared machine's load does not count
    gen = torch.Generator().manual_seed(0)
    next_eval = 60.0
    while time.process_time() - t0 < args.minutes * 60:
        idx = torch.randint(0, len(train), (32,), generator=gen).tolist()
        batch = [train[i] for i in idx]
        x = torch.stack([s["image"].float() / 255 for s in batch])
        outs = model(x)
        losses = set_criterion(outs[-1][0], outs[-1][1], targets_of(batch), K, aux_logits=[o[0] for o in outs[:-1]],
                               aux_boxes=[o[1] for o in outs[:-1]])
        loss = sum(v * (5.0 if "bbox" in k else 2.0 if "giou" in k else 1.0) for k, v in losses.items())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        step += 1
        if time.process_time() - t0 > next_eval:
            print(f"{time.process_time() - t0:6.0f} CPU s  step {step:5d}  loss {float(loss.detach()):.3f}  "
                  f"val mAP@0.5 {map50(model, val):.3f}", flush=True)
            next_eval += 60.0
    print(f"final after {time.process_time() - t0:.0f} CPU s, {step} steps: val mAP@0.5 {map50(model, val):.3f}",
          flush=True)


if __name__ == "__main__":
    main()
