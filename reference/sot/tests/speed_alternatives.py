"""Documented alternative solutions of the sot speed check, for ``cv3 calibrate sot``.

Each function returns ``{name: {"kind": "documented" | "naive", "doc": ..., "source": ...}}``;
``source`` is Python appended to the reference package's ``__init__.py`` (after ``import
torch``), overriding the timed function only (the pattern of reference/detection).

* documented: the README's "one matrix-vector product per frame" written with explicit
  ``(belief[:, None] * transition).sum(0)`` (an [S, S] temporary per frame) and its own update.
* naive: a Python loop over the S states of the predict step (one dot product per state and
  frame), the mistake the README warns about.
"""

from __future__ import annotations

__all__ = ["hmm_alternatives"]

HMM_BROADCAST = '''
from .bayes import _check_forward as _cal_check_forward


def hmm_forward(initial, transition, likelihoods):
    dtype = _cal_check_forward(initial, transition, likelihoods)
    trans, lik = transition.to(dtype), likelihoods.to(dtype)
    belief = initial.to(dtype)
    beliefs = []
    log_z = torch.zeros((), dtype=dtype, device=lik.device)
    for t in range(lik.shape[0]):
        prior = belief if t == 0 else (belief[:, None] * trans).sum(0)
        joint = prior * lik[t]
        c = joint.sum()
        if not bool(c > 0):
            raise ValueError("the evidence is 0: an impossible observation")
        belief = joint / c
        beliefs.append(belief)
        log_z = log_z + torch.log(c)
    return torch.stack(beliefs) if beliefs else lik.new_zeros(lik.shape), log_z
'''

HMM_STATE_LOOP = '''
from .bayes import _check_forward as _cal_check_forward


def hmm_forward(initial, transition, likelihoods):
    dtype = _cal_check_forward(initial, transition, likelihoods)
    trans, lik = transition.to(dtype), likelihoods.to(dtype)
    s = trans.shape[0]
    belief = initial.to(dtype)
    beliefs = []
    log_z = torch.zeros((), dtype=dtype, device=lik.device)
    for t in range(lik.shape[0]):
        if t == 0:
            prior = belief
        else:
            prior = torch.stack([torch.dot(belief, trans[:, j]) for j in range(s)])
        joint = prior * lik[t]
        c = joint.sum()
        if not bool(c > 0):
            raise ValueError("the evidence is 0: an impossible observation")
        belief = joint / c
        beliefs.append(belief)
        log_z = log_z + torch.log(c)
    return torch.stack(beliefs) if beliefs else lik.new_zeros(lik.shape), log_z
'''


def hmm_alternatives() -> dict[str, dict[str, str]]:
    return {
        "broadcast_sum": {"kind": "documented", "source": HMM_BROADCAST,
                          "doc": "predict as (belief[:, None] * transition).sum(0), one [S, S] temporary per frame"},
        "state_loop": {"kind": "naive", "source": HMM_STATE_LOOP,
                       "doc": "a Python loop over the S states of each predict step"},
    }
