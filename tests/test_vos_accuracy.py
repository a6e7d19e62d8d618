"""The OSVOS J&F accuracy check of the vos assignment (reference/vos/tests/accuracy_vos.py): only
the frames and the first mask enter the sandbox, the sequences come from the course key, the
metric is the trusted DAVIS J&F, malformed outputs are refused with a message naming the
sequence, and the figures respect the visibility policy (the student version has no ground truth)."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from cv3data.vos import make_vos_sequences
from harness.metrics.davis import evaluate_sequence, evaluate_sequences
from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "vos" / "tests"


@pytest.fixture(scope="module")
def av():
    alias = "cv3_test_vos_accuracy"
    return load_module(HIDDEN / "accuracy_vos.py", alias)


def copy_first(calls):
    return [args[1][None].repeat(args[0].shape[0], 1, 1) for args, _ in calls]


def test_only_frames_and_the_first_mask_enter_the_sandbox(av):
    calls, targets = av.holdout(seed=5)
    seqs = make_vos_sequences(av.SEQUENCES, 5, height=av.SIZE, width=av.SIZE, frames=av.FRAMES, speed=av.SPEED)
    assert len(calls) == av.SEQUENCES
    for (args, kwargs), seq, gt in zip(calls, seqs, targets["masks"]):
        frames, first = args
        assert frames.dtype == torch.float32 and frames.shape == (av.FRAMES, 3, av.SIZE, av.SIZE)
        assert float(frames.max()) <= 1.0
        assert first.dtype == torch.int64 and first.shape == (av.SIZE, av.SIZE)
        assert torch.equal(first, seq["masks"][0].long()) and torch.equal(gt, seq["masks"])
        assert kwargs == {"time_budget_s": av.TIME_BUDGET_S}


def test_holdout_uses_the_course_key(av, tmp_path, monkeypatch):
    from harness.secret import KEY_ENV, create_key

    key_a, key_b = tmp_path / "a.key", tmp_path / "b.key"
    create_key(key_a)
    create_key(key_b)
    monkeypatch.setenv(KEY_ENV, str(key_a))
    first_a = av.holdout()[0][0][0][1]
    again = av.holdout()[0][0][0][1]
    monkeypatch.setenv(KEY_ENV, str(key_b))
    first_b = av.holdout()[0][0][0][1]
    assert torch.equal(first_a, again) and not torch.equal(first_a, first_b)


def test_score_is_the_davis_jf_mean(av):
    calls, targets = av.holdout(seed=7)
    outs = copy_first(calls)
    value, details = av.score(outs, targets)
    scores = [evaluate_sequence(o.numpy(), g.numpy()) for o, g in zip(outs, targets["masks"])]
    expected = evaluate_sequences(scores)["jf_mean"]
    assert value == pytest.approx(expected, abs=1e-12)
    assert 0.2 < value < 0.6, "copying the first mask is a weak but not useless baseline"
    assert details["sequences"] == av.SEQUENCES and len(details["table"]["rows"]) == av.SEQUENCES
    perfect, _ = av.score([g.long() for g in targets["masks"]], targets)
    assert perfect == 1.0
    empty, _ = av.score([torch.zeros_like(g, dtype=torch.int64) for g in targets["masks"]], targets)
    assert empty == 0.0


def test_figures_hide_the_ground_truth_from_students(av):
    calls, targets = av.holdout(seed=8)
    _, details = av.score(copy_first(calls), targets)
    figs = details["figures"]
    assert len(figs) == av.EXAMPLES
    for f in figs:
        assert "ground truth" in f["tiles"][0] and "ground truth" not in f["student_tiles"][0]
        assert f["tiles"][0].startswith("<svg") and "data:image/png;base64," in f["student_tiles"][0]


@pytest.mark.parametrize("mistake,message", [
    ("float", "int64"), ("missing", "expected 8 results"), ("shape", "expected shape"), ("values", "0 or 1"),
    ("not a list", "one result per sequence"), ("not a tensor", "must return a Tensor")])
def test_malformed_outputs_are_refused(av, mistake, message):
    calls, targets = av.holdout(seed=9)
    outs = copy_first(calls)
    bad = {"float": [outs[0].float()] + outs[1:], "missing": outs[:-1], "shape": [outs[0][:, :5]] + outs[1:],
           "values": [outs[0] * 2] + outs[1:], "not a list": tuple(outs),
           "not a tensor": [np.zeros((12, 48, 48), dtype=np.int64)] + outs[1:]}[mistake]
    with pytest.raises(ValueError, match=message):
        av.score(bad, targets)
