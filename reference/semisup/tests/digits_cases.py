"""The digits FixMatch accuracy check of the semisup assignment (trusted side; never enters the sandbox).

10% of the labels: ``holdout()`` builds ``SPLITS`` splits of the ``unlabeled`` split of
``cv3data.ssl_digits`` (1000 digits with nuisances drawn from the course key): per split
``LABELS_PER_CLASS`` labeled digits per class (100, picked from the course key), the other 900
unlabeled, and the 797 digits of ``probe_train`` + ``probe_test`` held out. It sends
``train_fixmatch_digits(x_labeled, y_labeled, x_unlabeled, x_heldout, seed=k)`` calls into the
sandbox and keeps the held-out labels. It also trains the reference's supervised-only run
(``unlabeled_weight=0``: the same CNN, the same weak views of the labeled digits, the same
steps) on every split on the trusted side, in the same grading run: the baseline, which a
submission cannot influence. ``score()`` validates the outputs and returns the mean over the
splits of ``accuracy(submission's FixMatch run) - accuracy(reference supervised-only run)``.

Calibration: ``python reference/semisup/calibrate_digits.py`` (numbers in the manifest).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import torch

from harness.secret import heldout_seed

HOLDOUT_NAME = "semisup-digits"
SPLITS = 2
LABELS_PER_CLASS = 10
NUM_CLASSES = 10
HERE = Path(__file__).resolve().parent


def reference_module():
    from harness.authoring import reference_package

    return reference_package(HERE.parent / "semisup", "cv3_reference_semisup")


def make_splits(seed: int) -> list[dict]:
    """``SPLITS`` splits; the nuisances and the labeled digits of split ``k`` come from ``seed``."""
    from cv3data.ssl_digits import ssl_digits

    splits = []
    for k in range(SPLITS):
        data_seed = (int(seed) + 7919 * k) % (2 ** 127)
        xu, yu = ssl_digits("unlabeled", data_seed)
        a, b = ssl_digits("probe_train", data_seed), ssl_digits("probe_test", data_seed)
        gen = torch.Generator().manual_seed((int(seed) * 31 + k) % (2 ** 63 - 1))
        labeled = torch.cat([torch.nonzero(yu == c).flatten()[torch.randperm(int((yu == c).sum()), generator=gen)]
                             [:LABELS_PER_CLASS] for c in range(NUM_CLASSES)])
        keep = torch.ones(yu.shape[0], dtype=torch.bool)
        keep[labeled] = False
        splits.append({"x_labeled": xu[labeled], "y_labeled": yu[labeled], "x_unlabeled": xu[keep],
                       "y_unlabeled": yu[keep], "x_heldout": torch.cat([a[0], b[0]]),
                       "y_heldout": torch.cat([a[1], b[1]])})
    return splits


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    """``calls`` (one ``train_fixmatch_digits`` call per split, ``seed=k``) and the trusted targets
    (held-out labels, the reference's supervised-only accuracies)."""
    splits = make_splits(heldout_seed(HOLDOUT_NAME) if seed is None else seed)
    ref = reference_module()
    calls, baseline = [], []
    for k, s in enumerate(splits):
        calls.append(([s["x_labeled"], s["y_labeled"], s["x_unlabeled"], s["x_heldout"]], {"seed": k}))
        sup = ref.train_fixmatch_digits(s["x_labeled"], s["y_labeled"], s["x_unlabeled"], s["x_heldout"], seed=k,
                                        unlabeled_weight=0.0)
        baseline.append(float((sup["predictions"] == s["y_heldout"]).double().mean()))
    return calls, {"splits": splits, "baseline": baseline}


# ---------------------------------------------------------------------------------- validation
def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def _curve(where: str, out: dict, key: str) -> torch.Tensor:
    t = out.get(key)
    if type(t) is not torch.Tensor or t.dim() != 1 or not t.is_floating_point():
        raise ValueError(f"{where}: '{key}' must be a 1-D floating-point tensor, got {_describe(t)}")
    return t.detach().cpu().double()


def validate(outputs: Any, splits: list[dict]) -> list[dict]:
    if type(outputs) is not list or len(outputs) != len(splits):
        raise ValueError(f"expected {len(splits)} results (one per split), got {_describe(outputs)}")
    clean = []
    for k, (out, s) in enumerate(zip(outputs, splits)):
        where = f"split {k}"
        if type(out) is not dict:
            raise ValueError(f"{where}: train_fixmatch_digits must return a dict, got {_describe(out)}")
        q = s["x_heldout"].shape[0]
        pred = out.get("predictions")
        if type(pred) is not torch.Tensor or pred.dtype != torch.int64 or tuple(pred.shape) != (q,):
            raise ValueError(f"{where}: 'predictions' must be a Tensor[{q}] of int64, got {_describe(pred)}")
        pred = pred.detach().cpu()
        if bool(((pred < 0) | (pred >= NUM_CLASSES)).any()):
            raise ValueError(f"{where}: 'predictions' must be classes in [0, {NUM_CLASSES}), "
                             f"got {sorted(set(pred.tolist()))[:12]}")
        clean.append({"predictions": pred, "losses": _curve(where, out, "losses"),
                      "mask_rate": _curve(where, out, "mask_rate")})
    return clean


# ---------------------------------------------------------------------------------- scoring
def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """(mean accuracy gain over the supervised-only baseline, details with a table and figures)
    or ``ValueError`` for malformed outputs."""
    clean = validate(outputs, targets["splits"])
    rows = []
    for k, (out, s, base) in enumerate(zip(clean, targets["splits"], targets["baseline"])):
        acc = float((out["predictions"] == s["y_heldout"]).double().mean())
        rate = out["mask_rate"]
        final_rate = float(rate[-20:].mean()) if rate.numel() else float("nan")
        rows.append({"split": k, "accuracy": acc, "baseline": base, "gain": acc - base, "mask_rate": final_rate})
    value = statistics.mean(r["gain"] for r in rows)
    details = {
        "mean_accuracy": round(statistics.mean(r["accuracy"] for r in rows), 4),
        "mean_baseline": round(statistics.mean(r["baseline"] for r in rows), 4),
        "table": {"columns": ["split", "accuracy", "supervised-only (reference)", "gain",
                              "confident share (last 20 steps)"],
                  "rows": [[r["split"], round(r["accuracy"], 4), round(r["baseline"], 4), round(r["gain"], 4),
                            round(r["mask_rate"], 3)] for r in rows]},
        "figures": [curves_svg([c["losses"] for c in clean], "training loss per step (one line per split)"),
                    curves_svg([c["mask_rate"] for c in clean],
                               "share of confident pseudo-labels per step (one line per split)", top=1.0)],
    }
    return value, details


# ---------------------------------------------------------------------------------- figures
def curves_svg(curves: list[torch.Tensor], title: str, top: float | None = None) -> dict:
    """Curves per step (plain data sent back by the submission), clipped to [0, top]."""
    width, height, pad = 420, 220, 30
    finite = [c[torch.isfinite(c)] for c in curves]
    if top is None:
        top = max([float(c.max()) for c in finite if c.numel()] + [1e-9])
    top = max(top, 1e-9)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="10">',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - 5}" y2="{height - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="5" x2="{pad}" y2="{height - pad}" stroke="black"/>',
             f'<text x="{pad}" y="{height - 8}">step</text><text x="2" y="12">{top:.3g}</text>']
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
    for k, c in enumerate(curves):
        c = c[:2000]
        if c.numel() < 2:
            continue
        pts = " ".join(f"{pad + i / (c.numel() - 1) * (width - pad - 5):.1f},"
                       f"{height - pad - min(max(float(v), 0.0), top) / top * (height - pad - 5):.1f}"
                       for i, v in enumerate(c.tolist()) if v == v)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{palette[k % 5]}" stroke-width="1"/>')
    parts.append("</svg>")
    return {"title": title, "svg": "".join(parts), "audience": "public"}
