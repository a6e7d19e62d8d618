"""The accuracy check of the sot assignment (reference/sot/tests/accuracy_cases.py): only frames
and the first box enter the sandbox, the metric is the trusted OTB success AUC, malformed outputs
are refused with a message naming the sequence (never a crash), and the figures respect the
visibility policy (the student version of the track figure has no ground truth)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch

from harness.metrics.sot import evaluate_many
from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "sot" / "tests"
SUBSET = 6  # sequences the reference tracks here (the grader's full run is in test_platform)


@pytest.fixture(scope="module")
def cases():
    alias = "cv3_test_sot_accuracy_cases"
    return load_module(HIDDEN / "accuracy_cases.py", alias)


@pytest.fixture(scope="module")
def holdout(cases):
    return cases.holdout()


@pytest.fixture(scope="module")
def reference_outputs(holdout):
    spec = importlib.util.spec_from_file_location("cv3_test_sot_ref",
                                                  ROOT / "reference" / "sot" / "sot" / "__init__.py",
                                                  submodule_search_locations=[str(ROOT / "reference" / "sot" / "sot")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["cv3_test_sot_ref"] = module
    spec.loader.exec_module(module)
    calls, _ = holdout
    torch.set_num_threads(1)
    return [module.track(*args, **kwargs) for args, kwargs in calls[:SUBSET]]


def test_only_frames_and_the_first_box_enter_the_sandbox(cases, holdout):
    calls, targets = holdout
    assert len(calls) == cases.HOLDOUT["num_sequences"] == len(targets)
    for (args, kwargs), target in zip(calls, targets):
        frames, first = args
        assert kwargs == {} and len(args) == 2
        assert frames.dtype == torch.uint8 and tuple(frames.shape) == (48, 3, 96, 96)
        assert first.dtype == torch.float64 and tuple(first.shape) == (4,)
        assert np.array_equal(first.numpy(), target["boxes"][0])


def test_reference_beats_a_still_box(cases, holdout, reference_outputs):
    targets = holdout[1][:SUBSET]
    value, details = cases.score(reference_outputs, targets)
    expected = evaluate_many([(o.double().numpy(), t["boxes"]) for o, t in zip(reference_outputs, targets)])
    assert value == pytest.approx(expected["auc"], abs=1e-12)
    assert 0.0 <= value <= 1.0 and details["sequences"] == len(targets)
    assert len(details["table"]["rows"]) == len(targets)
    static = [torch.from_numpy(np.repeat(t["boxes"][:1], len(t["boxes"]), 0)).float() for t in targets]
    static_value, _ = cases.score(static, targets)
    assert value > static_value + 0.15, f"reference {value:.3f} vs a box that never moves {static_value:.3f}"


def test_figures_respect_the_visibility_policy(cases, holdout, reference_outputs):
    targets = holdout[1][:SUBSET]
    _, details = cases.score(reference_outputs, targets)
    track, curves = details["figures"]
    assert len(track["tiles"]) == len(track["student_tiles"]) == cases.EXAMPLE_SEQUENCES * cases.EXAMPLE_FRAMES
    assert all(t.startswith("<svg") and "#22c55e" in t for t in track["tiles"])  # ground truth: instructor
    assert all("#22c55e" not in t and "#ef4444" in t for t in track["student_tiles"])  # predictions only
    assert "audience" not in track and "audience" not in curves  # instructor-only by default
    assert curves["svg"].startswith("<svg") and "polyline" in curves["svg"]


@pytest.mark.parametrize("mutate, match", [
    (lambda outs: outs[:-1], "one output per sequence"),
    (lambda outs: "boxes", "one output per sequence"),
    (lambda outs: [o.numpy() for o in outs], "plain torch.Tensor"),
    (lambda outs: [o.long() for o in outs], "float32"),
    (lambda outs: [o[:-1] for o in outs], "shape"),
    (lambda outs: [torch.cat([o[:-1], torch.full((1, 4), float("nan"))]) for o in outs], "frame 47"),
    (lambda outs: [o * 1e7 for o in outs], "beyond"),
])
def test_malformed_outputs_are_refused(cases, holdout, reference_outputs, mutate, match):
    targets = holdout[1][:SUBSET]
    with pytest.raises(ValueError, match=match):
        cases.score(mutate(list(reference_outputs)), targets)
