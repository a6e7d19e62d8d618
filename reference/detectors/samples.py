"""Builds sample submissions of the detectors assignment for demos and the project's tests.

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``. They live on the trusted side (reference/) because they contain
solution code (and the reference checkpoint).

    python reference/detectors/samples.py --out /tmp/detector_samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

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



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_random_boxes", REFERENCE, RANDOM_BOXES),
        sample_package(out / "s04_malformed", REFERENCE, MALFORMED),
        sample_package(out / "s05_partial", REFERENCE, PARTIAL),
    ]



if __name__ == "__main__":
    samples_main(__doc__, build)
