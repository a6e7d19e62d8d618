"""Train the reference GOTURN regressor on synthetic sequences and write its checkpoint (trusted side).

    python reference/sot/train.py --out reference/sot/goturn.pt [--minutes 5] [--seed 0]

Training pairs: consecutive frames (t-1, t) of cv3data.sot sequences drawn from public training
seeds (never the held-out ones). The previous crop is centred on the true previous box (context
2); the current crop's region is the context-2 region around a box moved from the true current
box by GOTURN's simulated motion (``sot.sample_motion``: Laplace shifts of scale 1/5 and size
factors of scale 1/15), so the network learns to recover the motion a tracker sees. Crops are 32
x 32 (``sot.crop_and_resize``), inputs pixels / 255 - 0.5, targets ``sot.box_to_target`` (scale
10), loss L1 (as GOTURN), Adam, one torch thread. The checkpoint stores float16 weights and the
config; after training the script reports the OTB success AUC of a pure GOTURN tracker (each
frame's region from the previous prediction) on validation sequences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sot  # noqa: E402  (the reference package beside this file)
from cv3data.sot import make_sot_split  # noqa: E402

CONFIG = {"crop_size": 32, "channels": 16, "hidden": 128}
TRAIN_SEED = 20261206  # public training sequences
VAL_SEED = 777


def _pairs(seqs):
    frames = torch.stack([s["frames"] for s in seqs])  # [S, T, 3, H, W] uint8
    boxes = torch.stack([s["boxes"] for s in seqs])  # [S, T, 4] float64
    return frames, boxes


def make_batch(frames, boxes, batch, gen, size):
    s_idx = torch.randint(0, frames.shape[0], (batch,), generator=gen)
    t_idx = torch.randint(1, frames.shape[1], (batch,), generator=gen)
    prev_crops, cur_crops, targets = [], [], []
    for s, t in zip(s_idx.tolist(), t_idx.tolist()):
        b_prev, b_cur = boxes[s, t - 1], boxes[s, t]
        uniform = torch.rand(1, 4, generator=gen, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
        moved = sot.sample_motion(b_cur, 1, uniform=uniform)[0]
        region_prev = sot.context_box(b_prev[None])
        region_cur = sot.context_box(moved[None])
        prev_img = frames[s, t - 1].float() / 255.0 - 0.5
        cur_img = frames[s, t].float() / 255.0 - 0.5
        prev_crops.append(sot.crop_and_resize(prev_img, region_prev.float(), size)[0])
        cur_crops.append(sot.crop_and_resize(cur_img, region_cur.float(), size)[0])
        targets.append(sot.box_to_target(b_cur[None], region_cur)[0].float())
    return torch.stack(prev_crops), torch.stack(cur_crops), torch.stack(targets)


def goturn_track(model, frames, first_box, size):
    box = first_box.double()[None]
    out = [box[0].float()]
    images = frames.float() / 255.0 - 0.5
    with torch.inference_mode():
        for t in range(1, frames.shape[0]):
            region = sot.context_box(box)
            prev = sot.crop_and_resize(images[t - 1], region.float(), size)
            cur = sot.crop_and_resize(images[t], region.float(), size)
            box = sot.target_to_box(model(prev, cur).double(), region)
            out.append(box[0].float())
    return torch.stack(out)


def load(path):
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = sot.GoturnRegressor(**saved["config"])
    model.load_state_dict({k: v.float() for k, v in saved["state_dict"].items()})
    return model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequences", type=int, default=150)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    frames, boxes = _pairs(make_sot_split(TRAIN_SEED + args.seed, num_sequences=args.sequences))
    print(f"data: {frames.shape[0]} sequences in {time.perf_counter() - t0:.0f} s")
    model = sot.GoturnRegressor(**CONFIG)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    size = CONFIG["crop_size"]
    step, t1 = 0, time.perf_counter()
    budget = args.minutes * 60
    while time.perf_counter() - t1 < budget:
        prev, cur, target = make_batch(frames, boxes, args.batch, gen, size)
        loss = (model(prev, cur) - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 200 == 0:
            print(f"step {step}: L1 {loss.item():.3f} ({time.perf_counter() - t1:.0f} s)")
    train_s = time.perf_counter() - t1
    state = {k: v.half() for k, v in model.state_dict().items()}
    torch.save({"config": CONFIG, "state_dict": state}, args.out)
    print(f"trained {step} steps in {train_s:.0f} s; checkpoint {Path(args.out).stat().st_size / 1e6:.2f} MB")
    from harness.metrics.sot import evaluate_many

    model = load(args.out)
    val = make_sot_split(VAL_SEED, num_sequences=16)
    pairs = [(goturn_track(model, s["frames"], s["boxes"][0], size), s["boxes"]) for s in val]
    r = evaluate_many(pairs)
    print(f"GOTURN alone on 16 validation sequences: success AUC {r['auc']:.3f}, precision@20 {r['precision_20']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
