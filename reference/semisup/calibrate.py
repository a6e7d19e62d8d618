"""Calibrates the `moons_gain` and `moons_paired` accuracy checks: the reference and broken
variants over random course keys (the held-out seed), through the trusted scorers (not the sandbox).

    python reference/semisup/calibrate.py --keys 20 --variants reference f64 no_mask inverted_mask supervised

``f64`` is a correct run whose unlabeled loss is computed in float64 and cast back (other float
rounding): the spread of ``moons_paired`` that a correct submission may show.
(`cv3 calibrate` is not used for these checks: the variants are patched into the reference.)
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tests"))
sys.path.insert(0, str(HERE.parent.parent))

import accuracy_cases  # noqa: E402


def _inverted_fixmatch(logits_weak, logits_strong, threshold=0.95):
    p = torch.softmax(logits_weak.detach(), 1)
    conf, labels = p.max(1)
    ce = F.cross_entropy(logits_strong, labels, reduction="none")
    return (ce * (conf < threshold).to(ce.dtype)).mean()


def _f64_fixmatch(logits_weak, logits_strong, threshold=0.95):
    p = torch.softmax(logits_weak.detach().double(), 1)
    conf, labels = p.max(1)
    ce = F.cross_entropy(logits_strong.double(), labels, reduction="none")
    return ((ce * (conf >= threshold)).sum() / logits_strong.shape[0]).float()


def run_variant(ref, variant: str, args, kwargs) -> dict:
    """One split's outputs of the reference with one mistake (the module is patched in place)."""
    pseudo_mod = sys.modules[ref.__name__ + ".pseudo"]
    saved = pseudo_mod.fixmatch_loss
    try:
        if variant == "inverted_mask":
            pseudo_mod.fixmatch_loss = _inverted_fixmatch
        elif variant == "f64":
            pseudo_mod.fixmatch_loss = _f64_fixmatch
        kw = dict(kwargs)
        if variant == "no_mask":
            kw["threshold"] = 0.0
        elif variant == "supervised":
            kw["unlabeled_weight"] = 0.0
        elif variant == "no_strong":
            kw["strong_noise"] = kw.get("weak_noise", 0.05)
        return ref.train_self_training(*args, **kw)
    finally:
        pseudo_mod.fixmatch_loss = saved


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--keys", type=int, default=20)
    p.add_argument("--variants", nargs="+", default=["reference", "no_mask", "inverted_mask", "supervised"])
    a = p.parse_args()
    torch.set_num_threads(1)
    ref = accuracy_cases.reference_module()
    results = {v: [] for v in a.variants}
    paired = {v: [] for v in a.variants}
    t0 = time.perf_counter()
    for _ in range(a.keys):
        calls, targets = accuracy_cases.holdout(secrets.randbits(128))
        for v in a.variants:
            outputs = [run_variant(ref, v, args, kwargs) for args, kwargs in calls]
            value, details = accuracy_cases.score(outputs, targets)
            results[v].append(value)
            paired[v].append(accuracy_cases.score_paired(outputs, targets)[0])
        print(" ".join(f"{v}={results[v][-1]:+.4f}/{paired[v][-1]:.4f}" for v in a.variants), flush=True)
    print(f"{a.keys} keys, {time.perf_counter() - t0:.0f} s")
    for name, table in (("moons_gain", results), ("moons_paired", paired)):
        print(name)
        for v, vals in table.items():
            print(f"  {v:14s} min={min(vals):+.4f} max={max(vals):+.4f} mean={statistics.mean(vals):+.4f} "
                  f"median={statistics.median(vals):+.4f} sd={statistics.pstdev(vals):.4f}")


if __name__ == "__main__":
    main()
