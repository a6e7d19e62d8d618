"""Calibrates the Viola-Jones accuracy checks (faces_accuracy, faces_ap) of `classical`.

Trains the reference's train_face_detector (and broken variants) on the training split with
several training seeds, then scores classify_faces and detect_faces on held-out data built with
several held-out seeds (instead of the course key), with the trusted scorers of
tests/accuracy_faces.py. One torch thread; CPU times are reported.

    python reference/classical/calibrate_faces.py --seeds 0 1 2 --heldout 11 12 --variants reference adaboost_bug
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "tests"), str(HERE.parent.parent / "datasets"), str(HERE.parent.parent)]


def _variant(name: str):
    """The reference package, with one thing broken for the broken variants."""
    from classical import boosting

    importlib.reload(boosting)
    if name == "adaboost_bug":  # the samples' typical mistake: shrink the misclassified weights
        import math

        def adaboost(features, labels, num_rounds, weights=None):
            n_pos = int(labels.sum())
            n_neg = labels.shape[0] - n_pos
            one = torch.ones(labels.shape[0], dtype=torch.float64)
            w = torch.where(labels == 1, one / (2 * n_pos), one / (2 * n_neg))
            values, order = features.double().sort(dim=0)
            out = {"feature": [], "threshold": [], "polarity": [], "alpha": [], "error": []}
            for _ in range(num_rounds):
                w = w / w.sum()
                j, thr, pol, err = boosting._best_stump(values, order, labels, w)
                e = min(max(err, 1e-10), 1 - 1e-10)
                beta = e / (1 - e)
                wrong = boosting.stump_predict(features, j, thr, pol) != labels
                w = torch.where(wrong, w * beta, w)
                for k, v in (("feature", j), ("threshold", thr), ("polarity", pol), ("alpha", math.log(1 / beta)),
                             ("error", err)):
                    out[k].append(v)
            return {"feature": torch.tensor(out["feature"]), "threshold": torch.tensor(out["threshold"]).double(),
                    "polarity": torch.tensor(out["polarity"]), "alpha": torch.tensor(out["alpha"]).double(),
                    "error": torch.tensor(out["error"]).double()}

        boosting.adaboost = adaboost
    elif name == "no_normalisation":  # windows not variance-normalised
        boosting.normalize_windows = lambda windows, eps=1e-6: windows.double()
    elif name == "one_stage":  # a single stage of 2 stumps
        boosting._STAGES = [2]
    elif name != "reference":
        raise ValueError(name)
    return boosting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--heldout", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--variants", nargs="+", default=["reference", "adaboost_bug"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    import accuracy_faces as acc

    (faces, nonfaces), kw = acc.train_data()
    for name in args.variants:
        for seed in args.seeds:
            b = _variant(name)
            t0 = time.process_time()
            b.train_face_detector(faces, nonfaces, seed=seed, time_budget_s=kw["time_budget_s"])
            train_s = time.process_time() - t0
            stages = [len(s["alpha"]) for s in b._STATE["cascade"]]
            for h in args.heldout:
                calls, targets = acc.classify_holdout(seed=h)
                a, _ = acc.classify_score([b.classify_faces(*c[0]) for c in calls], targets)
                calls, targets = acc.scenes_holdout(seed=h)
                t1 = time.process_time()
                ap, d = acc.detect_score([b.detect_faces(*c[0]) for c in calls], targets)
                print(f"{name:17s} seed {seed} heldout {h}: accuracy {a:.3f} AP50 {ap:.3f} AP {d['AP']:.3f} "
                      f"train {train_s:.1f} s CPU, detect {time.process_time() - t1:.1f} s CPU, stages {stages}",
                      flush=True)


if __name__ == "__main__":
    main()
