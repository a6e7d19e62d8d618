"""Builds sample submissions of the selfsup assignment for demos and the project's tests.

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``. They live on the trusted side (reference/) because they contain
solution code.

    python reference/selfsup/samples.py --out /tmp/selfsup_samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "selfsup"
STUB = HERE.parent.parent / "assignments" / "selfsup" / "selfsup"

# Partly correct: pretext tasks, contrastive losses, probes and the pre-training work; DINO and
# MAE are left unimplemented, and MoCo's logits put the positive last.
PARTIAL = '''
# --- a partly correct submission: no DINO, no MAE, MoCo's positive last ----------------------------
def _missing(*args, **kwargs):
    raise NotImplementedError("not done")


teacher_probabilities = dino_loss = update_center = teacher_temperature = multi_crop = _missing
patchify = unpatchify = random_masking = restore_with_mask_tokens = mae_loss = _missing


class DINOLoss:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("not done")


def moco_logits(q, k, queue, temperature=0.07):
    import torch.nn.functional as F
    q, k = F.normalize(q, dim=1), F.normalize(k.detach(), dim=1)
    return torch.cat([q @ queue.detach().T, (q * k).sum(1, keepdim=True)], dim=1) / temperature
'''

# A typical mistake: NT-Xent ignores its temperature (always T = 1). The contrastive tests fail
# (except where T = 1), and the pre-training learns weaker features (the probe check drops).
NO_TEMPERATURE = '''
# --- a typical mistake: the temperature of NT-Xent is ignored ----------------------------------
from . import contrastive as _contrastive
from . import pretraining as _pretraining
_reference_nt_xent = _contrastive.nt_xent_loss


def nt_xent_loss(z1, z2, temperature=0.5):
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return _reference_nt_xent(z1, z2, 1.0)


_pretraining.nt_xent_loss = nt_xent_loss
'''

# Another typical mistake: the MAE norm-pix target uses the biased variance, and the DINO centre
# is updated before the loss.
OFF_BY_CONVENTION = '''
# --- typical mistakes: biased variance in MAE's norm-pix loss, DINO centre updated first --------
def mae_loss(images, pred, mask, patch_size, norm_pix_loss=False):
    target = patchify(images, patch_size)
    if float(mask.sum()) == 0:
        raise ValueError("the mask removes no patch")
    if norm_pix_loss:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True, unbiased=False)
        target = (target - mean) / (var + 1.0e-6) ** 0.5
    loss = ((pred - target) ** 2).mean(dim=-1)
    return (loss * mask).sum() / mask.sum()


def _centre_first(self, teacher_out, student_out):
    self.center = update_center(self.center, teacher_out.to(self.center.dtype), self.center_momentum)
    return dino_loss(teacher_out, student_out, self.center.to(teacher_out.dtype), self.teacher_temp,
                     self.student_temp)


DINOLoss.forward = _centre_first
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_no_temperature", REFERENCE, NO_TEMPERATURE),
        sample_package(out / "s05_conventions", REFERENCE, OFF_BY_CONVENTION),
    ]



if __name__ == "__main__":
    samples_main(__doc__, build)
