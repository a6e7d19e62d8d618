"""Calibrates the `digits_gain` accuracy check: the reference and broken FixMatch variants on the
held-out splits of random course keys, scored against the trusted supervised-only baseline.

    python reference/semisup/calibrate_digits.py --keys 3 --variants reference no_mask strong_pl

Variants: ``reference``; ``no_mask`` (threshold 0: every pseudo-label counts); ``strong_pl``
(pseudo-labels and mask from the strong view); ``weak_eq_strong`` (the strong view replaced by a
second weak view); ``supervised`` (unlabeled_weight 0: the baseline itself, gain exactly 0).
(A missing stop-gradient on the weak logits changes nothing with hard pseudo-labels: the argmax
and the mask carry no gradient.) Single-threaded, as in the sandbox.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "datasets"), str(HERE / "tests")]

import torch  # noqa: E402

import digits_cases  # noqa: E402


def run_variant(name: str, s: dict, k: int) -> dict:
    ref = digits_cases.reference_module()
    mod = sys.modules[ref.train_fixmatch_digits.__module__]
    args = (s["x_labeled"], s["y_labeled"], s["x_unlabeled"], s["x_heldout"])
    if name == "reference":
        return ref.train_fixmatch_digits(*args, seed=k)
    if name == "no_mask":
        return ref.train_fixmatch_digits(*args, seed=k, threshold=0.0)
    if name == "supervised":
        return ref.train_fixmatch_digits(*args, seed=k, unlabeled_weight=0.0)
    saved = (mod.semi_supervised_loss, mod.strong_view)
    try:
        if name == "strong_pl":
            def loss(ll, y, lw, ls, threshold=0.95, unlabeled_weight=1.0):
                return saved[0](ll, y, ls.detach(), ls, threshold=threshold, unlabeled_weight=unlabeled_weight)
            mod.semi_supervised_loss = loss
        elif name == "weak_eq_strong":
            mod.strong_view = lambda x, gen: mod.weak_view(x, gen)
        else:
            raise SystemExit(f"unknown variant {name}")
        return ref.train_fixmatch_digits(*args, seed=k)
    finally:
        mod.semi_supervised_loss, mod.strong_view = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["reference", "no_mask", "strong_pl"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {v: [] for v in args.variants}
    for _ in range(args.keys):
        seed = secrets.randbits(128)
        t = time.time()
        calls, targets = digits_cases.holdout(seed)
        print(f"key {seed:032x}: baselines {[round(b, 4) for b in targets['baseline']]} ({time.time() - t:.0f} s)",
              flush=True)
        for v in args.variants:
            t = time.time()
            outs = [run_variant(v, s, k) for k, s in enumerate(targets["splits"])]
            value, details = digits_cases.score(outs, targets)
            results[v].append(value)
            print(f"  {v:15s} mean gain {value:+.4f} per split {[r[3] for r in details['table']['rows']]} "
                  f"({time.time() - t:.0f} s)", flush=True)
    for v, values in results.items():
        print(f"{v:15s} {min(values):+.4f} .. {max(values):+.4f} (mean {statistics.mean(values):+.4f})")


if __name__ == "__main__":
    main()
