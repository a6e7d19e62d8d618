"""Builds the bundled sample submissions of `semisup` (for `nox -s demo` and the project's tests).

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``, so the samples follow the reference as it evolves.

    python reference/semisup/samples.py --out /tmp/samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "semisup"
STUB = HERE.parent.parent / "assignments" / "semisup" / "semisup"

# Entropy and the domain losses done, the rest not started.
PARTIAL = '''
# --- a partly correct submission -------------------------------------------------------------
from .entropy import entropy as _entropy


def vat_direction(model, x, xi=1e-6, power_iterations=1, d=None):
    raise NotImplementedError("vat_direction: not done yet")


def self_training_linear(x, y, threshold=0.75, max_iter=10, C=1.0):
    raise NotImplementedError("self_training_linear: not done yet")


def ema_update(teacher, student, decay=0.999, buffers=(), average_buffers=False):
    raise NotImplementedError("ema_update: not done yet")


def class_activation_map(features, fc_weight, class_idx, normalize=True):
    # forgets the normalisation
    w = fc_weight[class_idx]
    return torch.einsum("nk,nkhw->nhw", w, features)
'''

# The typical mistakes: FixMatch's mask averaged over the confident samples only, pseudo-labels
# that let the gradient into the weak view, a strict threshold; the consistency loss without
# detaching the teacher; CORAL with the biased covariance.
MISTAKES = '''
# --- a submission with typical mistakes ------------------------------------------------------
import torch.nn.functional as _F
from . import pseudo as _pseudo


def pseudo_labels(logits, threshold=0.95):
    probs = torch.softmax(logits, dim=1)
    confidence, labels = probs.max(dim=1)
    return labels, confidence, confidence > threshold


def fixmatch_loss(logits_weak, logits_strong, threshold=0.95):
    labels, _, mask = pseudo_labels(logits_weak, threshold)
    if mask.sum() == 0:
        return logits_strong.sum() * 0
    return _F.cross_entropy(logits_strong[mask], labels[mask])


_pseudo.fixmatch_loss = fixmatch_loss
_pseudo.pseudo_labels = pseudo_labels


def consistency_loss(student_logits, teacher_logits):
    return _F.mse_loss(student_logits.softmax(1), teacher_logits.softmax(1))


def coral_loss(source, target):
    d = source.shape[1]
    cs = torch.cov(source.T, correction=0)
    ct = torch.cov(target.T, correction=0)
    return ((cs - ct) ** 2).sum() / (4 * d * d)
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_mistakes", REFERENCE, MISTAKES),
    ]



if __name__ == "__main__":
    samples_main(__doc__, build)
