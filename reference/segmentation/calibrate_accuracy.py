"""Calibrates the floor and target of the segmentation accuracy check (trusted side).

Trains the reference exactly as the grader does (``accuracy_cases.training_data()``: the public
training split, one thread) for each training seed, then scores ``predict`` on held-out sets
drawn from random 128-bit keys, and reports the spread; also two trivial predictors.

    python reference/segmentation/calibrate_accuracy.py --keys 20 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for p in (ROOT / "datasets", ROOT, HERE, HERE / "tests"):
    sys.path.insert(0, str(p))

import accuracy_cases  # noqa: E402
import segmentation as S  # noqa: E402
from segmentation import model as M  # noqa: E402

from cv3data.segscenes import make_seg_scenes  # noqa: E402
from harness.metrics.segmentation import evaluate_segmentation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20, help="held-out sets (random 128-bit keys)")
    parser.add_argument("--seeds", default="0,1", help="training seeds, comma-separated")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = random.Random(12345)
    held = []
    for _ in range(args.keys):
        scenes = make_seg_scenes(accuracy_cases.HOLDOUT_IMAGES, seed=rng.getrandbits(128))
        held.append((torch.stack([s["image"] for s in scenes]).float() / 255, torch.stack([s["mask"] for s in scenes])))

    def evaluate(pred_fn) -> np.ndarray:
        out = []
        for x, y in held:
            p = torch.cat([pred_fn(x[i:i + 16]) for i in range(0, len(x), 16)])
            out.append(evaluate_segmentation(zip(p.numpy(), y.numpy()), 4).miou)
        return np.array(out)

    (images, masks), kwargs = accuracy_cases.training_data()
    for seed in [int(s) for s in args.seeds.split(",")]:
        t0 = time.time()
        info = M.train(images, masks, **{**kwargs, "seed": seed})
        v = evaluate(S.predict)
        print(f"reference, training seed {seed} ({info['steps']} steps, {time.time() - t0:.0f} s): mIoU over "
              f"{args.keys} keys min {v.min():.4f} max {v.max():.4f} mean {v.mean():.4f} sd {v.std():.4f}", flush=True)
    raw = evaluate(lambda x: M._STATE["model"](x).argmax(1))
    zeros = evaluate(lambda x: torch.zeros(x.shape[0], *x.shape[2:], dtype=torch.int64))
    print(f"predict without the input normalisation: {raw.min():.4f}-{raw.max():.4f}; "
          f"all background: {zeros.min():.4f}-{zeros.max():.4f}")


if __name__ == "__main__":
    main()
