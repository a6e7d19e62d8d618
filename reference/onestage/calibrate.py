"""Calibration of the STN classifier accuracy check (floor and target in assignment.toml).

Trains the reference classifier exactly as the grader does (``accuracy_cases.train_data``, one
torch thread) for several training seeds, scores it on several held-out transform seeds, and
does the same for broken variants:

* ``no_stn``: the localisation network frozen at the identity (a plain CNN on the downsampled
  canvas): what the STN adds;
* ``swapped_xy``: ``grid_sample`` reading the grid as ``(y, x)`` (a typical mistake);
* ``no_sampling``: the crop ignores theta (a centre crop), gradients cannot reach the STN.

    python reference/onestage/calibrate.py [--seeds 0 1 2] [--heldout 11 12 13] [--variants ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "tests"))

import accuracy_cases as ac  # noqa: E402
import onestage  # noqa: E402
from onestage import model as M  # noqa: E402
from onestage import stn as STN  # noqa: E402

_REF_INIT = M.STNClassifier.__init__
_REF_SAMPLE = STN.grid_sample
_REF_GRID = STN.affine_grid


def _reset() -> None:
    M.STNClassifier.__init__ = _REF_INIT
    M.grid_sample = _REF_SAMPLE
    M.affine_grid = _REF_GRID


def _variant(name: str) -> None:
    _reset()
    if name == "no_stn":
        def init(self):
            _REF_INIT(self)
            for p in self.stn.parameters():
                p.requires_grad_(False)
        M.STNClassifier.__init__ = init
    elif name == "swapped_xy":
        M.grid_sample = lambda x, grid, align_corners=False: _REF_SAMPLE(x, grid.flip(-1), align_corners)
    elif name == "no_sampling":
        M.affine_grid = lambda theta, size, align_corners=False: _REF_GRID(
            torch.tensor([[0.5, 0, 0], [0, 0.5, 0]]).expand(theta.shape[0], 2, 3) + 0 * theta, size, align_corners)
    elif name != "reference":
        raise ValueError(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--heldout", type=int, nargs="+", default=[11, 12, 13])
    parser.add_argument("--variants", nargs="+", default=["reference", "no_stn", "swapped_xy", "no_sampling"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.variants:
        _variant(name)
        accs, times = [], []
        for seed in args.seeds:
            targs, kw = ac.train_data()
            kw["seed"] = seed
            t0 = time.process_time()
            onestage.train(*targs, **kw)
            times.append(time.process_time() - t0)
            for hs in args.heldout:
                calls, targets = ac.holdout(seed=hs)
                acc, _ = ac.score([onestage.predict(*a, **k) for a, k in calls], targets)
                accs.append(acc)
                print(f"{name:12s} seed={seed} heldout={hs} accuracy={acc:.4f}", flush=True)
        print(f"== {name}: accuracy {min(accs):.3f}-{max(accs):.3f} mean {statistics.mean(accs):.3f} "
              f"sd {statistics.pstdev(accs):.3f}; train CPU {min(times):.1f}-{max(times):.1f} s", flush=True)
    _reset()


if __name__ == "__main__":
    main()
