"""Calibrate the OSVOS J&F accuracy check (floor / target in assignments/vos/assignment.toml).

    python reference/vos/calibrate_osvos.py --keys 6

For each of ``--keys`` random 128-bit held-out seeds (standing in for course keys), runs on the
held-out sequences of tests/accuracy_vos.py, one torch thread:
the reference ``osvos_segment`` (as the check calls it: time_budget_s=8), the reference without
fine-tuning (``steps=0``, the "forgot to train" mistake), a network *not reset* between
sequences (fine-tuned on every first frame in turn, the "parameters leak" mistake), and the
trivial "copy the first mask to every frame" baseline; prints J&F per key and a summary.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "tests")]

import accuracy_vos  # noqa: E402
from vos import osvos  # noqa: E402


def not_reset_runner():
    net = {}

    def run(frames, first_mask, time_budget_s=None):
        if "net" not in net:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                net["net"] = osvos.TinyUNet(3, 8)
        osvos.finetune(net["net"], frames[:1], first_mask[None].long(), steps=120, lr=1e-2,
                       time_budget_s=time_budget_s)
        return (osvos.foreground_probs(net["net"], frames) > 0.5).long()

    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=6)
    ap.add_argument("--variants", default="reference,no_finetune,not_reset,copy_first")
    args = ap.parse_args()
    torch.set_num_threads(1)
    variants = {
        "reference": lambda f, m, **kw: osvos.osvos_segment(f, m, **kw),
        "no_finetune": lambda f, m, **kw: osvos.osvos_segment(f, m, steps=0, **kw),
        "not_reset": None,
        "copy_first": lambda f, m, **kw: m[None].repeat(f.shape[0], 1, 1).long(),
    }
    results = {v: [] for v in args.variants.split(",")}
    for k in range(args.keys):
        seed = secrets.randbits(128)
        calls, targets = accuracy_vos.holdout(seed)
        for name in results:
            fn = variants[name] or not_reset_runner()
            t0 = time.perf_counter()
            outs = [fn(*a, **kw) for a, kw in calls]
            took = time.perf_counter() - t0
            jf, details = accuracy_vos.score(outs, targets)
            results[name].append(jf)
            print(f"key {k} {name:12s} J&F {jf:.4f} (J {details['j_mean']:.4f} F {details['f_mean']:.4f}) "
                  f"{took / len(calls):.2f} s/sequence", flush=True)
    for name, v in results.items():
        t = torch.tensor(v, dtype=torch.float64)
        print(f"{name:12s} min {t.min():.4f} max {t.max():.4f} mean {t.mean():.4f} sd {t.std():.4f}")


if __name__ == "__main__":
    main()
