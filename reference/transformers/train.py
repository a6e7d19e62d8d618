"""Train and calibrate the classifier accuracy checks of the transformers assignment.

Two checks grade the ViT classifier on held-out digits (tests/accuracy_cases.py):

- ``digits_pretrained``: the ViT trained here (``save``), its weights committed as
  ``tests/vit_digits.pt``, copied into the student's ``VisionTransformer`` by
  ``load_pretrained``; the student's forward pass classifies the held-out digits. With the
  attention as specified it reproduces the reference accuracy; a broken attention collapses it.
- ``digits_accuracy``: the student's own ``train`` inside the sandbox (train-then-evaluate).

    python reference/transformers/train.py save         # train seed 0 (~75 s CPU), write tests/vit_digits.pt
    python reference/transformers/train.py pretrained   # the committed weights: reference + broken variants
    python reference/transformers/train.py sandbox      # train-in-sandbox: 3 seeds + 2 broken attentions
    python reference/transformers/train.py sandbox --seeds 0 --variants none

Every accuracy is over 5 held-out translation seeds (standing in for course keys), one thread.
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
vit_module = sys.modules["transformers.vit"]
model_module = sys.modules["transformers.model"]

CORRECT = attention_module.attention_weights
BLOCK_FORWARD = vit_module.EncoderBlock.forward
TOKENS = vit_module.VisionTransformer.tokens
FORWARD = vit_module.VisionTransformer.forward


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


def no_residual(self, x):  # the attention branch replaces x instead of being added to it
    y = self.ln_1(x)
    x, _ = self.self_attention(y, y, y, need_weights=False)
    return x + self.mlp(self.ln_2(x))


def post_norm(self, x):  # x = LN(x + f(x)) instead of x + f(LN(x))
    x = self.ln_1(x + self.self_attention(x, x, x, need_weights=False)[0])
    return self.ln_2(x + self.mlp(x))


def cls_last_tokens(self, images):  # class token after the patches ...
    x = self.conv_proj(images).flatten(2).transpose(1, 2)
    cls = self.class_token.expand(x.shape[0], -1, -1)
    return torch.cat((x, cls), dim=1) + self.encoder.pos_embedding


def cls_last_forward(self, images):  # ... and the head reads the last token
    x = self.encoder.ln(self.encoder.layers(self.tokens(images)))
    return self.heads(x[:, -1])


def mean_pool_forward(self, images):  # the head reads the mean of all tokens, not the class token
    x = self.encoder.ln(self.encoder.layers(self.tokens(images)))
    return self.heads(x.mean(1))


# name -> [(object, attribute, replacement)]
VARIANTS = {
    "none": [],
    "no_scaling": [(attention_module, "attention_weights", no_scaling)],
    "wrong_axis": [(attention_module, "attention_weights", wrong_axis)],
    "self_only": [(attention_module, "attention_weights", self_only)],
    "no_residual": [(vit_module.EncoderBlock, "forward", no_residual)],
    "post_norm": [(vit_module.EncoderBlock, "forward", post_norm)],
    "cls_last": [(vit_module.VisionTransformer, "tokens", cls_last_tokens),
                 (vit_module.VisionTransformer, "forward", cls_last_forward)],
    "mean_pool": [(vit_module.VisionTransformer, "forward", mean_pool_forward)],
}


class patched:
    def __init__(self, variant: str) -> None:
        self.changes = VARIANTS[variant]
        self.saved = [(obj, name, getattr(obj, name)) for obj, name, _ in self.changes]

    def __enter__(self):
        for obj, name, new in self.changes:
            setattr(obj, name, new)

    def __exit__(self, *exc):
        for obj, name, old in self.saved:
            setattr(obj, name, old)


def evaluate(eval_seeds: list[int]) -> list[float]:
    accs = []
    for s in eval_seeds:
        calls, targets = cases.holdout(seed=s)
        accs.append(cases.score([pkg.predict(*a, **k) for a, k in calls], targets)[0])
    return accs


def line(name: str, accs: list[float], extra: str = "") -> str:
    return (f"{name:30s} {extra}accuracy mean {statistics.mean(accs):.4f} min {min(accs):.4f} "
            f"max {max(accs):.4f} over {len(accs)} held-out seeds")


def cmd_save(args) -> None:
    xtr, ytr, _, _ = cases.split()
    t0 = time.process_time()
    pkg.train(xtr, ytr, seed=args.seed, time_budget_s=1e9)
    seconds = time.process_time() - t0
    state = {k: v.detach().clone().contiguous() for k, v in model_module._STATE["model"].state_dict().items()}
    torch.save(state, args.out)
    print(f"trained seed {args.seed} in {seconds:.1f} CPU s; saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    print(line("reference (trained)", evaluate(args.eval_seeds)))


def cmd_pretrained(args) -> None:
    state = cases.pretrained_weights()[0][0]
    for variant in args.variants:
        with patched(variant):
            pkg.load_pretrained(state)
            print(line(f"{'reference' if variant == 'none' else 'broken: ' + variant}", evaluate(args.eval_seeds)),
                  flush=True)


def cmd_sandbox(args) -> None:
    rows = [(f"reference, seed {s}", "none", s) for s in args.seeds]
    rows += [(f"broken: {v}, seed {args.seeds[0]}", v, args.seeds[0]) for v in args.variants if v != "none"]
    for name, variant, seed in rows:
        with patched(variant):
            args_, kwargs = cases.train_data()
            kwargs["seed"] = seed
            t0 = time.perf_counter()
            pkg.train(*args_, **kwargs)
            seconds = time.perf_counter() - t0
            print(line(name, evaluate(args.eval_seeds), f"train {seconds:6.1f} s  "), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("save", help="train the reference ViT and write the committed checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=cases.PRETRAINED)
    p = sub.add_parser("pretrained", help="the committed weights in the reference and in broken variants")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p = sub.add_parser("sandbox", help="train in the sandbox as the grader does")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=["no_scaling", "wrong_axis"],
                   help="broken attentions trained on the first seed ('none' for no variant)")
    p.add_argument("--config", nargs="*", default=[], metavar="KEY=INT",
                   help="override the reference ViT's configuration, e.g. num_layers=1 num_heads=1")
    for p in sub.choices.values():
        p.add_argument("--eval-seeds", type=int, nargs="+", default=[11, 22, 33, 44, 55])
    args = parser.parse_args()
    for item in getattr(args, "config", []):
        key, value = item.split("=")
        model_module.CONFIG[key] = int(value)
    torch.set_num_threads(1)
    {"save": cmd_save, "pretrained": cmd_pretrained, "sandbox": cmd_sandbox}[args.cmd](args)


if __name__ == "__main__":
    main()
