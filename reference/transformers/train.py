"""Calibrate the classifier accuracy check: train the reference ViT (as the grader does, in one
process on one thread) over fixed seeds, and the same ViT with a broken attention, then score
each on held-out digits moved by several random translation seeds (standing in for course keys).

    python reference/transformers/train.py                      # 3 seeds + 2 broken variants
    python reference/transformers/train.py --seeds 0 --variants none

No checkpoint is written: the accuracy check trains the student's model inside the sandbox
(train-then-evaluate), so a checkpoint would grade nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "tests"), str(HERE.parent.parent)]

import accuracy_cases as cases  # noqa: E402
import transformers as pkg  # noqa: E402
attention_module = sys.modules["transformers.attention"]

CORRECT = attention_module.attention_weights


def no_scaling(query, key, attn_mask=None, is_causal=False, scale=None):
    return CORRECT(query, key, attn_mask, is_causal, scale=1.0)


def wrong_axis(query, key, attn_mask=None, is_causal=False, scale=None):
    scores = query @ key.transpose(-2, -1) / query.shape[-1] ** 0.5
    if attn_mask is not None:
        scores = scores + attn_mask
    return F.softmax(scores, dim=-2)  # normalised over the queries instead of the keys


def self_only(query, key, attn_mask=None, is_causal=False, scale=None):
    eye = torch.eye(query.shape[-2], key.shape[-2], dtype=torch.bool, device=query.device)
    return CORRECT(query, key, eye, False, scale)  # every token attends to itself only: no mixing


VARIANTS = {"none": CORRECT, "no_scaling": no_scaling, "wrong_axis": wrong_axis, "self_only": self_only}


def run(seed: int, variant: str, eval_seeds: list[int]) -> tuple[float, list[float]]:
    attention_module.attention_weights = VARIANTS[variant]
    try:
        args, kwargs = cases.train_data()
        kwargs["seed"] = seed
        t0 = time.perf_counter()
        pkg.train(*args, **kwargs)
        seconds = time.perf_counter() - t0
        accs = []
        for s in eval_seeds:
            calls, targets = cases.holdout(seed=s)
            accs.append(cases.score([pkg.predict(*a, **k) for a, k in calls], targets)[0])
        return seconds, accs
    finally:
        attention_module.attention_weights = CORRECT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["no_scaling", "wrong_axis"],
                        help="broken attentions trained on the first seed ('none' for no variant)")
    parser.add_argument("--eval-seeds", type=int, nargs="+", default=[11, 22, 33, 44, 55])
    parser.add_argument("--config", nargs="*", default=[], metavar="KEY=INT",
                        help="override the reference ViT's configuration, e.g. num_layers=1 num_heads=1")
    args = parser.parse_args()
    model_module = sys.modules["transformers.model"]
    for item in args.config:
        key, value = item.split("=")
        model_module.CONFIG[key] = int(value)
    torch.set_num_threads(1)
    rows = [(f"reference, seed {s}", "none", s) for s in args.seeds]
    rows += [(f"broken: {v}, seed {args.seeds[0]}", v, args.seeds[0]) for v in args.variants if v != "none"]
    for name, variant, seed in rows:
        seconds, accs = run(seed, variant, args.eval_seeds)
        print(f"{name:32s} train {seconds:6.1f} s  accuracy mean {statistics.mean(accs):.4f} "
              f"min {min(accs):.4f} max {max(accs):.4f} over {len(accs)} held-out seeds", flush=True)


if __name__ == "__main__":
    main()
