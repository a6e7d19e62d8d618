"""Train the DETR of the DETR accuracy check (trusted side, once; the checkpoint is committed).

``TinyDETR`` (transformers/detr_model.py: a stride-8 CNN backbone, 2 encoder and 3 decoder
blocks of the package's own attention, d = 64, 4 heads, 12 queries) is trained on synthetic
cv3data scenes (64 x 64, 3 classes, up to 4 objects) with the reference ``set_criterion``
(Hungarian matching, auxiliary losses, loss weights 1 / 5 / 2 as DETR) and AdamW, for a budget
of CPU time (``time.process_time``) on one thread, then scored with the harness' COCO evaluator
(mAP@0.5) on 128 validation scenes through ``detect`` (``detr_postprocess``, no NMS). The
weights are saved in float16 (``reference/transformers/tests/detr_scenes.pt``, under 1 MB).

    cd reference/transformers
    python detr_probe.py --minutes 10 --lr 1e-3 --save tests/detr_scenes.pt
    python detr_probe.py --calibrate tests/detr_scenes.pt

``--calibrate`` scores the committed weights as the check does (tests/detr_cases.py: ``load_detector``,
``detect`` on 256 held-out scenes per seed, COCO mAP@0.5) over 5 held-out seeds, for the reference
and for broken variants of the parts the forward pass uses (attention, post-processing).
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
from transformers import set_criterion, sincos_encoding_2d  # noqa: E402
from transformers.detr_model import DETR_CONFIG, TinyDETR  # noqa: E402

K = DETR_CONFIG["num_classes"]
S = DETR_CONFIG["image_size"]
SCENES = {"image_size": (S, S), "num_classes": K, "max_objects": 4}


def targets_of(scenes):
    out = []
    for s in scenes:
        b = s["boxes"] / float(S)
        cxcywh = torch.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0],
                              b[:, 3] - b[:, 1]], 1)
        out.append({"labels": s["labels"] - 1, "boxes": cxcywh})
    return out


def map50(model, scenes, detect=None):
    """mAP@0.5 of ``model`` (or of a ``detect(images)`` function) on ``scenes``."""
    from transformers.detr_model import _DETECTOR, detect as detect_fn

    was = model.training
    model.eval()
    _DETECTOR["model"] = model
    detect = detect or detect_fn
    gt = cv3data.to_coco(scenes, category_names=list(cv3data.SHAPE_NAMES[:K]))
    dets = []
    for i in range(0, len(scenes), 64):
        batch = scenes[i:i + 64]
        r = detect(torch.stack([s["image"].float() / 255 for s in batch]))
        for j in range(len(batch)):
            for (x1, y1, x2, y2), sc, lb in zip(r["boxes"][j].clamp(0, S).tolist(), r["scores"][j].tolist(),
                                                r["labels"][j].tolist()):
                dets.append({"image_id": gt["images"][i + j]["id"], "category_id": lb + 1,
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "score": sc})
    model.train(was)
    return evaluate({k: gt[k] for k in ("images", "annotations", "categories")}, dets)["AP50"]


def _no_scaling(query, key, attn_mask=None, is_causal=False, scale=None):
    return _ATTN(query, key, attn_mask, is_causal, scale=1.0)


def _wrong_axis(query, key, attn_mask=None, is_causal=False, scale=None):
    scores = query @ key.transpose(-2, -1) / query.shape[-1] ** 0.5
    if attn_mask is not None:
        scores = scores + attn_mask
    return scores.softmax(dim=-2)  # over the queries instead of the keys


def _post_softmax_objects_only(pred_logits, pred_boxes, image_sizes):  # no-object column dropped before softmax
    return _POST(torch.cat([pred_logits[..., :-1], torch.full_like(pred_logits[..., :1], -1e4)], -1), pred_boxes,
                 image_sizes)


def _post_no_conversion(pred_logits, pred_boxes, image_sizes):  # (cx, cy, w, h) taken as (x1, y1, x2, y2)
    out = _POST(pred_logits, pred_boxes, image_sizes)
    for r, b in zip(out, pred_boxes):
        r["boxes"] = b * image_sizes[0, 0].to(b.dtype)
    return out


_ATTN = sys.modules["transformers.attention"].attention_weights
_POST = sys.modules["transformers.detr"].detr_postprocess
DETR_VARIANTS = {
    "none": [],
    "no_scaling": [(sys.modules["transformers.attention"], "attention_weights", _no_scaling)],
    "wrong_axis": [(sys.modules["transformers.attention"], "attention_weights", _wrong_axis)],
    "softmax_without_no_object": [(sys.modules["transformers.detr_model"], "detr_postprocess",
                                   _post_softmax_objects_only)],
    "boxes_not_converted": [(sys.modules["transformers.detr_model"], "detr_postprocess", _post_no_conversion)],
}


def calibrate(path: Path, variants: list[str], seeds: list[int]) -> None:
    import statistics

    sys.path.insert(0, str(HERE / "tests"))
    import detr_cases
    from transformers.detr_model import detect, load_detector

    state = torch.load(path, map_location="cpu", weights_only=True)
    for variant in variants:
        changes = DETR_VARIANTS[variant]
        saved = [(obj, name, getattr(obj, name)) for obj, name, _ in changes]
        for obj, name, new in changes:
            setattr(obj, name, new)
        try:
            load_detector(state)
            values = []
            for seed in seeds:
                calls, targets = detr_cases.detr_holdout(seed=seed)
                values.append(detr_cases.detr_score([detect(*a, **k) for a, k in calls], targets)[0])
        finally:
            for obj, name, old in saved:
                setattr(obj, name, old)
        print(f"{variant:28s} mAP@0.5 mean {statistics.mean(values):.4f} min {min(values):.4f} "
              f"max {max(values):.4f} over {len(values)} held-out seeds", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="CPU minutes of training")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", type=Path, default=None, help="write the float16 state dict here")
    p.add_argument("--calibrate", type=Path, default=None, metavar="CHECKPOINT",
                   help="score these weights (reference and broken variants) instead of training")
    p.add_argument("--variants", nargs="+", default=list(DETR_VARIANTS))
    p.add_argument("--eval-seeds", type=int, nargs="+", default=[11, 22, 33, 44, 55])
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.calibrate is not None:
        calibrate(args.calibrate, args.variants, args.eval_seeds)
        return
    torch.manual_seed(args.seed)
    train = cv3data.make_scenes(6000, seed=1, **SCENES)
    val = cv3data.make_scenes(128, seed=2, **SCENES)
    model = TinyDETR(**DETR_CONFIG)
    g = S // 8
    model.pos.copy_(sincos_encoding_2d(g, g, DETR_CONFIG["hidden_dim"])[None])
    nn.init.normal_(model.query_embed, std=0.5)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60
    t0, step = time.process_time(), 0  # CPU time: the shared machine's load does not count
    gen = torch.Generator().manual_seed(args.seed)
    next_eval = 60.0
    while (spent := time.process_time() - t0) < budget:
        for group in opt.param_groups:  # linear warm-up over 100 steps, then cosine to 5% by the budget
            frac = min(spent / budget, 1.0)
            group["lr"] = args.lr * min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + torch.cos(
                torch.tensor(frac * torch.pi)).item()))
        idx = torch.randint(0, len(train), (32,), generator=gen).tolist()
        batch = [train[i] for i in idx]
        outs = model(torch.stack([s["image"].float() / 255 for s in batch]))
        losses = set_criterion(outs[-1][0], outs[-1][1], targets_of(batch), K, aux_logits=[o[0] for o in outs[:-1]],
                               aux_boxes=[o[1] for o in outs[:-1]])
        loss = sum(v * (5.0 if "bbox" in k else 2.0 if "giou" in k else 1.0) for k, v in losses.items())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if time.process_time() - t0 > next_eval:
            print(f"{time.process_time() - t0:6.0f} CPU s  step {step:5d}  loss {float(loss.detach()):.3f}  "
                  f"val mAP@0.5 {map50(model, val):.3f}", flush=True)
            next_eval += 60.0
    model.eval()
    print(f"final after {time.process_time() - t0:.0f} CPU s, {step} steps: val mAP@0.5 {map50(model, val):.3f}",
          flush=True)
    if args.save is not None:
        state = {k: v.detach().half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
        torch.save(state, args.save)
        print(f"saved {args.save} ({args.save.stat().st_size / 1e6:.2f} MB); float16 weights: val mAP@0.5 "
              f"{map50(_loaded(state), val):.3f}", flush=True)


def _loaded(state):
    model = TinyDETR(**DETR_CONFIG)
    model.load_weights(state)
    return model.eval()


if __name__ == "__main__":
    main()
