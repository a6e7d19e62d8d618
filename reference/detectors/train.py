"""Train the reference detector from scratch and write its checkpoint (trusted side).

    python reference/detectors/train.py --out reference/detectors/detectors/checkpoint.pt [--minutes 8] [--steps N]

Uses one torch thread by default: on a shared 2-core machine two OpenMP threads that wait on
each other made every step 5-10x slower. After training it reports COCO mAP (pycocotools) on the validation split
and on the held-out test scenes that the accuracy check uses.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "tests"))

import detectors  # noqa: E402  (the reference package beside this file)


def evaluate(scenes: list[dict], batch_size: int = 8) -> dict:
    """COCO mAP of ``detectors.predict`` on ``scenes`` (pycocotools)."""
    from accuracy_cases import coco_map  # trusted helper of the accuracy check

    outputs = []
    for start in range(0, len(scenes), batch_size):
        images = [s["image"].float() / 255.0 for s in scenes[start:start + batch_size]]
        outputs += detectors.predict(images)
    return coco_map(outputs, scenes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="checkpoint to write")
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget (wall clock)")
    parser.add_argument("--steps", type=int, default=None,
                        help="a fixed number of steps (reproducible schedule) instead of the time budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is fastest on a shared 2-core machine: see README)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    figures = detectors.train(args.out, minutes=args.minutes, seed=args.seed, steps=args.steps)
    train_s = time.perf_counter() - t0
    import cv3data
    from accuracy_cases import HOLDOUT_IMAGES, holdout_scenes

    val_scenes = cv3data.detection_splits(args.seed, num_train=0, num_val=256, num_test=0)["val"]
    detectors.model.CHECKPOINT = Path(args.out)
    detectors.model._LOADED.clear()
    with contextlib.redirect_stdout(io.StringIO()):
        val = evaluate(val_scenes)
        test = evaluate(holdout_scenes())
    size = Path(args.out).stat().st_size
    print(f"trained in {train_s:.0f} s ({figures['steps']} steps, {figures['images_seen']} images); "
          f"checkpoint {size / 1e6:.2f} MB")
    print(f"val  (256 scenes): mAP@0.5 {val['mAP50']:.3f}  mAP@[.5:.95] {val['mAP']:.3f}")
    print(f"test ({HOLDOUT_IMAGES} held-out scenes): mAP@0.5 {test['mAP50']:.3f}  mAP@[.5:.95] {test['mAP']:.3f}  "
          f"per class AP50 {test['AP50_per_class']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
