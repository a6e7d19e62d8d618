"""Builds sample submissions of the sot assignment for demos and the project's tests.

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``. They live on the trusted side (reference/) because they contain
solution code.

    python reference/sot/samples.py --out /tmp/sot_samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "sot"
STUB = HERE.parent.parent / "assignments" / "sot" / "sot"

# Three one-line mistakes: the predict step multiplies by the transition matrix instead of its
# transpose, the success plot counts IoU >= t instead of IoU > t, and the particle weights are
# exponentiated without subtracting the maximum (0/0 for log-likelihoods of -1000).
PARTIAL = '''
# --- a partly correct submission -----------------------------------------------------------------
from . import bayes as _bayes, evaluation as _evaluation


def hmm_predict(belief, transition):
    return transition.to(torch.promote_types(belief.dtype, transition.dtype)) @ belief.to(
        torch.promote_types(belief.dtype, transition.dtype))


def _hmm_forward(initial, transition, likelihoods):
    belief = initial
    beliefs, log_z = [], torch.zeros((), dtype=likelihoods.dtype)
    for t in range(likelihoods.shape[0]):
        prior = belief if t == 0 else hmm_predict(belief, transition)
        belief, c = _bayes.hmm_update(prior, likelihoods[t])
        beliefs.append(belief)
        log_z = log_z + torch.log(c)
    return (torch.stack(beliefs) if beliefs else likelihoods.new_zeros(likelihoods.shape)), log_z


hmm_forward = _hmm_forward


def success_curve(pred, gt):
    iou = _evaluation.frame_iou(pred, gt)
    thresholds = torch.linspace(0, 1, 21, dtype=torch.float64)
    return (iou[None, :] >= thresholds[:, None]).double().mean(1)


def success_auc(pred, gt):
    return success_curve(pred, gt).mean()


def reweight(weights, log_likelihood):
    w = weights * torch.exp(log_likelihood)
    return w / w.sum()
'''

# The typical speed mistake: the grid filter loops over the states in its predict step (correct,
# input checks included, but far too slow: the speed check gives 0).
TYPICAL = '''
# --- a submission with the typical mistakes -------------------------------------------------------
from . import bayes as _bayes


def hmm_forward(initial, transition, likelihoods):
    dtype = _bayes._check_forward(initial, transition, likelihoods)
    trans, lik = transition.to(dtype), likelihoods.to(dtype)
    s = trans.shape[0]
    belief = initial.to(dtype)
    beliefs, log_z = [], torch.zeros((), dtype=dtype, device=lik.device)
    for t in range(lik.shape[0]):
        prior = belief if t == 0 else torch.stack([torch.dot(belief, trans[:, j]) for j in range(s)])
        joint = prior * lik[t]
        c = joint.sum()
        if not bool(c > 0):
            raise ValueError("the evidence is 0: an impossible observation")
        belief = joint / c
        beliefs.append(belief)
        log_z = log_z + torch.log(c)
    return (torch.stack(beliefs) if beliefs else lik.new_zeros(lik.shape)), log_z

'''

# Everything right, but the "tracker" never moves: the first box in every frame.
STATIC = '''
# --- a submission whose tracker reports the first box in every frame ------------------------------
def track(frames, first_box):
    return first_box.to(torch.float32).repeat(frames.shape[0], 1)
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial", REFERENCE, PARTIAL),
        sample_package(out / "s04_slow_filter", REFERENCE, TYPICAL),
        sample_package(out / "s05_static_tracker", REFERENCE, STATIC),
    ]



if __name__ == "__main__":
    samples_main(__doc__, build)
