"""The two-moons accuracy checks of the semisup assignment (trusted side; never enters the sandbox).

Two moons, a handful of labels: ``holdout()`` makes ``SPLITS`` splits (``LABELS_PER_CLASS``
labeled points per class, ``UNLABELED`` unlabeled points, ``HELDOUT`` held-out points), sends
``train_self_training(x_labeled, y_labeled, x_unlabeled, x_query, seed=k)`` calls into the
sandbox (``x_query`` = the held-out points, then a grid for the decision-boundary figure) and
keeps the held-out labels. It also trains the reference's supervised-only run
(``unlabeled_weight=0``) on every split, on the trusted side, in the same grading run: the
baseline. ``score()`` validates the outputs and returns the mean over the splits of the
accuracy gain ``acc(submission's self-training) - acc(reference supervised-only)`` (the median is
reported too). ``score_paired()`` grades the same outputs against the reference's own
self-training run on every split (trained on the trusted side too): the run is deterministic
given the seed, so the mean share of agreeing predictions separates the documented run from
broken masks, which two moons do not penalise in accuracy. Why the mean: with 3 labels per
class the per-split gain is bimodal (about +0.1 on most splits, about 0 or below on a third of
them, where confident wrong pseudo-labels lock in), so the median of a handful of splits jumps
between the two modes from one course key to the next (the reference's median over 9 splits:
0.010 to 0.085 over 4 keys); the mean is stable.

The points: scikit-learn's ``make_moons`` curves (noise-free, unshuffled), then Gaussian noise
(std ``NOISE``) and a permutation drawn from a 128-bit seed derived from the course key
(``heldout_seed``): a 32-bit ``random_state`` could be searched from the training points the
sandbox sees.

Calibration: ``python reference/semisup/calibrate.py`` (random course keys, the reference and
broken variants; the numbers are in the manifest).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.secret import heldout_seed

HOLDOUT_NAME = "semisup-moons"
SPLITS = 12
LABELS_PER_CLASS = 3
UNLABELED = 500
HELDOUT = 1000
NOISE = 0.1
GRID = 41
GRID_BOX = (-1.5, 2.5, -1.0, 1.5)  # x0, x1, y0, y1
HERE = Path(__file__).resolve().parent


def reference_module():
    from harness.authoring import reference_package

    return reference_package(HERE.parent / "semisup", "cv3_reference_semisup")


def moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy two-moons points (sklearn's curves) and their labels, shuffled by ``rng``."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n, noise=0.0, shuffle=False)
    x = x + rng.normal(scale=NOISE, size=x.shape)
    order = rng.permutation(n)
    return x[order], y[order]


def grid() -> torch.Tensor:
    x0, x1, y0, y1 = GRID_BOX
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, GRID), torch.linspace(y0, y1, GRID), indexing="xy")
    return torch.stack([gx.flatten(), gy.flatten()], 1)  # [GRID * GRID, 2], row-major from (x0, y0)


def make_splits(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(SPLITS):
        x, y = moons(UNLABELED + HELDOUT, rng)
        train_x, train_y = x[:UNLABELED], y[:UNLABELED]
        labeled = np.concatenate([np.flatnonzero(train_y == c)[:LABELS_PER_CLASS] for c in (0, 1)])
        unlabeled = np.setdiff1d(np.arange(UNLABELED), labeled)
        f = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
        splits.append({"x_labeled": f(train_x[labeled]), "y_labeled": torch.tensor(train_y[labeled], dtype=torch.int64),
                       "x_unlabeled": f(train_x[unlabeled]), "y_unlabeled": torch.tensor(train_y[unlabeled]),
                       "x_heldout": f(x[UNLABELED:]), "y_heldout": torch.tensor(y[UNLABELED:])})
    return splits


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    """``calls`` (one ``train_self_training`` call per split, ``seed=k``) and the trusted
    ``targets`` (held-out and unlabeled labels, the reference's supervised-only accuracies)."""
    splits = make_splits(heldout_seed(HOLDOUT_NAME) if seed is None else seed)
    ref = reference_module()
    g = grid()
    calls, baseline, paired = [], [], []
    for k, s in enumerate(splits):
        query = torch.cat([s["x_heldout"], g])
        calls.append(([s["x_labeled"], s["y_labeled"], s["x_unlabeled"], query], {"seed": k}))
        sup = ref.train_self_training(s["x_labeled"], s["y_labeled"], s["x_unlabeled"], s["x_heldout"], seed=k,
                                      unlabeled_weight=0.0)
        baseline.append(float((sup["predictions"] == s["y_heldout"]).double().mean()))
        run = ref.train_self_training(s["x_labeled"], s["y_labeled"], s["x_unlabeled"], query, seed=k)
        paired.append(run["predictions"])
    return calls, {"splits": splits, "baseline": baseline, "reference": paired}


# ---------------------------------------------------------------------------------- validation
def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def _tensor(where: str, out: dict, key: str, dtype: torch.dtype, shape: tuple) -> torch.Tensor:
    t = out.get(key)
    if type(t) is not torch.Tensor:
        raise ValueError(f"{where}: '{key}' must be a plain torch.Tensor, got {_describe(t)}")
    if t.dtype != dtype or tuple(t.shape) != shape:
        raise ValueError(f"{where}: '{key}' must be a Tensor{list(shape)} of {str(dtype).removeprefix('torch.')}, "
                         f"got {_describe(t)}")
    return t.detach().cpu()


def validate(outputs: Any, splits: list[dict]) -> list[dict]:
    if type(outputs) is not list or len(outputs) != len(splits):
        raise ValueError(f"expected {len(splits)} results (one per split), got {_describe(outputs)}")
    clean = []
    for k, (out, s) in enumerate(zip(outputs, splits)):
        where = f"split {k}"
        if type(out) is not dict:
            raise ValueError(f"{where}: train_self_training must return a dict, got {_describe(out)}")
        q = s["x_heldout"].shape[0] + GRID * GRID
        u = s["x_unlabeled"].shape[0]
        pred = _tensor(where, out, "predictions", torch.int64, (q,))
        if bool(((pred < 0) | (pred > 1)).any()):
            raise ValueError(f"{where}: 'predictions' must be classes 0 or 1, got {sorted(set(pred.tolist()))[:5]}")
        pseudo = _tensor(where, out, "pseudo_labels", torch.int64, (u,))
        mask = _tensor(where, out, "mask", torch.bool, (u,))
        losses = out.get("losses")
        if type(losses) is not torch.Tensor or losses.dim() != 1 or not losses.is_floating_point():
            raise ValueError(f"{where}: 'losses' must be a 1-D floating-point tensor, got {_describe(losses)}")
        clean.append({"predictions": pred, "pseudo_labels": pseudo, "mask": mask,
                      "losses": losses.detach().cpu().double()})
    return clean


# ---------------------------------------------------------------------------------- scoring
def gains(outputs: list[dict], targets: dict) -> list[dict]:
    rows = []
    for k, (out, s, base) in enumerate(zip(outputs, targets["splits"], targets["baseline"])):
        n = s["x_heldout"].shape[0]
        acc = float((out["predictions"][:n] == s["y_heldout"]).double().mean())
        mask = out["mask"]
        pseudo_acc = float((out["pseudo_labels"][mask] == s["y_unlabeled"][mask]).double().mean()) \
            if bool(mask.any()) else float("nan")
        rows.append({"split": k, "accuracy": acc, "baseline": base, "gain": acc - base,
                     "confident": int(mask.sum()), "pseudo_accuracy": pseudo_acc})
    return rows


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """(mean gain, details with a per-split table and figures) or ``ValueError``."""
    clean = validate(outputs, targets["splits"])
    rows = gains(clean, targets)
    value = statistics.mean(r["gain"] for r in rows)
    details = {
        "median_gain": round(statistics.median(r["gain"] for r in rows), 4),
        "median_accuracy": round(statistics.median(r["accuracy"] for r in rows), 4),
        "median_baseline": round(statistics.median(r["baseline"] for r in rows), 4),
        "table": {"columns": ["split", "accuracy", "supervised-only (reference)", "gain", "confident pseudo-labels",
                              "pseudo-label accuracy"],
                  "rows": [[r["split"], round(r["accuracy"], 4), round(r["baseline"], 4), round(r["gain"], 4),
                            r["confident"], round(r["pseudo_accuracy"], 4)] for r in rows]},
        "figures": [boundary_svg(clean[0], targets["splits"][0], heldout=False),
                    boundary_svg(clean[0], targets["splits"][0], heldout=True),
                    curves_svg([c["losses"] for c in clean])],
    }
    return value, details


def agreements(outputs: list[dict], targets: dict) -> list[float]:
    """Per split: the share of the held-out and grid points where the submission's predictions
    equal those of the reference's self-training run on the same split and seed."""
    return [float((out["predictions"] == ref).double().mean()) for out, ref in zip(outputs, targets["reference"])]


def score_paired(outputs: list, targets: dict) -> tuple[float, dict]:
    """(mean agreement with the reference's run over the splits, details) or ``ValueError``.

    ``train_self_training`` is deterministic given the seed (the model's initialisation and every
    noise draw are pinned), so a correct run reproduces the reference's classifier up to float
    rounding (agreement 0.987-1.0 per split, 0.997-1.0 on average, for float arithmetic that
    rounds differently); a run with a broken mask, a strong view equal to the weak one or no
    unlabeled loss trains another classifier (mean agreement 0.85-0.95; single splits down to 0.42)."""
    clean = validate(outputs, targets["splits"])
    agree = agreements(clean, targets)
    rows = gains(clean, targets)
    details = {
        "min_agreement": round(min(agree), 4),
        "table": {"columns": ["split", "agreement with the reference's run", "accuracy", "gain"],
                  "rows": [[r["split"], round(a, 4), round(r["accuracy"], 4), round(r["gain"], 4)]
                           for r, a in zip(rows, agree)]},
    }
    return statistics.mean(agree), details


# ---------------------------------------------------------------------------------- figures
COLORS = ("#1f77b4", "#d62728")
FAINT = ("#c6dbef", "#fcbba1")


def boundary_svg(out: dict, split: dict, heldout: bool) -> dict:
    """The submission's decision regions on the grid, with the labeled points (large) and either
    the pseudo-labeled training points (confident: filled; not: hollow) or the held-out points in
    their true class (instructor only)."""
    size, pad = 360, 10
    x0, x1, y0, y1 = GRID_BOX
    sx = lambda v: pad + (v - x0) / (x1 - x0) * size  # noqa: E731
    sy = lambda v: pad + (y1 - v) / (y1 - y0) * size * (y1 - y0) / (x1 - x0)  # noqa: E731
    height = size * (y1 - y0) / (x1 - x0)
    n = split["x_heldout"].shape[0]
    regions = out["predictions"][n:].view(GRID, GRID)
    cw = size / (GRID - 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad}" height="{height + 2 * pad}">']
    g = grid().view(GRID, GRID, 2)
    for i in range(GRID):
        for j in range(GRID):
            x, y = g[i, j].tolist()
            parts.append(f'<rect x="{sx(x) - cw / 2:.1f}" y="{sy(y) - cw / 2:.1f}" width="{cw + 0.3:.1f}" '
                         f'height="{cw + 0.3:.1f}" fill="{FAINT[int(regions[i, j])]}"/>')
    if heldout:
        for (x, y), c in zip(split["x_heldout"].tolist(), split["y_heldout"].tolist()):
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="1.6" fill="{COLORS[c]}"/>')
    else:
        for (x, y), c, m in zip(split["x_unlabeled"].tolist(), out["pseudo_labels"].tolist(), out["mask"].tolist()):
            style = f'fill="{COLORS[c]}"' if m else f'fill="none" stroke="{COLORS[c]}"'
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2" {style}/>')
    for (x, y), c in zip(split["x_labeled"].tolist(), split["y_labeled"].tolist()):
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="6" fill="{COLORS[c]}" stroke="black" '
                     f'stroke-width="2"/>')
    parts.append("</svg>")
    if heldout:
        return {"title": "split 0: decision regions and held-out points in their true class", "svg": "".join(parts)}
    return {"title": "split 0: decision regions, labeled points (large), pseudo-labels (filled: confident)",
            "svg": "".join(parts), "audience": "public"}


def curves_svg(curves: list[torch.Tensor]) -> dict:
    """The training loss per step of every split (plain data sent back by the submission)."""
    width, height, pad = 420, 220, 30
    finite = [c[torch.isfinite(c)] for c in curves]
    top = max([float(c.max()) for c in finite if c.numel()] + [1e-9])
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
    return {"title": "training loss per step (one line per split)", "svg": "".join(parts), "audience": "public"}
