"""Builds sample submissions of the detectors assignment for demos and the project's tests.

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``. They live on the trusted side (reference/) because they contain
solution code (and the reference checkpoint).

    python reference/detectors/samples.py --out /tmp/detector_samples
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "detectors"
STUB = HERE.parent.parent / "assignments" / "detectors" / "detectors"

# Every part right, but the "model" guesses: 20 random boxes per image, random classes.
RANDOM_BOXES = '''
# --- a submission whose detector predicts random boxes ----------------------------------------
def predict(images):
    gen = torch.Generator().manual_seed(0)
    out = []
    for im in images:
        h, w = int(im.shape[1]), int(im.shape[2])
        xy = torch.rand(20, 2, generator=gen) * torch.tensor([w, h]) * 0.8
        wh = torch.rand(20, 2, generator=gen) * torch.tensor([w, h]) * 0.4 + 2
        boxes = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([float(w), float(h)]))], dim=1)
        out.append({"boxes": boxes, "scores": torch.rand(20, generator=gen),
                    "labels": torch.randint(1, 5, (20,), generator=gen)})
    return out
'''

# A good detector whose output breaks the contract: float64 boxes.
MALFORMED = '''
# --- a submission whose predict returns float64 boxes --------------------------------------------
_reference_predict = predict


def predict(images):
    out = _reference_predict(images)
    for det in out:
        det["boxes"] = det["boxes"].double()
    return out
'''

# The FPN adds the upsampled coarse map before the lateral conv of the finer level.
PARTIAL = '''
# --- a partly correct submission: a broken FPN ---------------------------------------------------
import torch.nn.functional as _F


def _broken_forward(self, x):
    names, maps = list(x), list(x.values())
    last = self.inner_blocks[-1](maps[-1])
    results = [self.layer_blocks[-1](last)]
    for i in range(len(maps) - 2, -1, -1):
        last = self.inner_blocks[i](maps[i]) + _F.interpolate(last, scale_factor=2.0, mode="bilinear")
        results.insert(0, self.layer_blocks[i](last))
    return dict(zip(names, results))


FeaturePyramidNetwork.forward = _broken_forward
'''


def _package(dest: Path, source: Path, extra: str = "") -> Path:
    pkg = dest / "detectors"
    shutil.copytree(source, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if extra:
        init = pkg / "__init__.py"
        init.write_text(init.read_text() + "\nimport torch\n" + extra)
    return dest


def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return [
        _package(out / "s01_reference", REFERENCE),
        _package(out / "s02_stub", STUB),
        _package(out / "s03_random_boxes", REFERENCE, RANDOM_BOXES),
        _package(out / "s04_malformed", REFERENCE, MALFORMED),
        _package(out / "s05_partial", REFERENCE, PARTIAL),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to (re)create")
    args = parser.parse_args()
    for p in build(Path(args.out)):
        print(p)


if __name__ == "__main__":
    main()
