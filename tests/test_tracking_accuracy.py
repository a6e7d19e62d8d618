"""The accuracy checks of the tracking assignment (reference/tracking/tests/accuracy_cases.py):
only detections go into the sandbox, the scores are motmetrics' on the same rows, malformed
outputs are refused with a clear message (never a crash), and grading gives the reference full
points and a malformed submission none."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from harness.grading.grade import Grader
from harness.manifest import find_assignment
from harness.metrics.mot import motmetrics_accumulator
from harness.sandbox import LocalSandbox
from harness.submissions import SubmissionSource
from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "tracking" / "tests"


@pytest.fixture(scope="module")
def cases():
    alias = "cv3_test_tracking_accuracy_cases"
    return load_module(HIDDEN / "accuracy_cases.py", alias)


@pytest.fixture(scope="module")
def hidden(cases):
    return cases.hidden_sequences()


def noisy_tracks(targets, seed):
    """Tracker-like output made from the ground truth: jittered boxes, misses, id switches and
    false positives, as float32 Tensor[N, 6] (frame, id, x1, y1, x2, y2)."""
    rng = np.random.default_rng(seed)
    outs = []
    for t in targets:
        gt = t["gt"]
        keep = rng.random(len(gt)) > 0.1
        out = gt[keep].copy()
        out[:, 2:] += rng.normal(0, 2.0, (len(out), 4))
        out[:, 4:] = np.maximum(out[:, 4:], out[:, 2:4] + 1)
        out[:, 1] += 1000 * (out[:, 0] > t["num_frames"] // 2) * (out[:, 1] % 3 == 0)  # some switch once
        frames = rng.integers(1, t["num_frames"] + 1, 40)
        xy = rng.uniform(0, 400, (40, 2))
        fp = np.concatenate([frames[:, None], 5000 + np.arange(40)[:, None], xy, xy + 30], axis=1)
        outs.append(torch.from_numpy(np.concatenate([out, fp])).float())
    return outs


def test_only_detections_enter_the_sandbox(hidden):
    calls, targets = hidden
    assert len(calls) == len(targets) == 4
    for (args, kwargs), target in zip(calls, targets, strict=True):
        dets, feats = args
        assert kwargs == {}
        assert len(dets) == len(feats) == target["num_frames"]
        for d, f in zip(dets, feats, strict=True):
            assert type(d) is torch.Tensor and d.dtype == torch.float32 and d.dim() == 2 and d.shape[1] == 5
            assert f.shape == (d.shape[0], 16)
        assert isinstance(target["gt"], np.ndarray) and target["gt"].shape[1] == 6


def test_perfect_output_scores_one(cases, hidden):
    _, targets = hidden
    outs = [torch.from_numpy(t["gt"]) for t in targets]
    mota, details = cases.score_mota(outs, targets)
    idf1, _ = cases.score_idf1(outs, targets)
    assert mota == 1.0 and idf1 == 1.0
    table = details["table"]
    assert table["columns"][:2] == ["sequence", "frames"] and len(table["rows"]) == len(targets) + 1
    assert table["rows"][-1][0] == "overall"
    svg = details["figures"][0]["svg"]
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<script" not in svg


def test_scores_are_motmetrics_overall(cases, hidden):
    import motmetrics as mm

    _, targets = hidden
    outs = noisy_tracks(targets, 0)
    mota, details = cases.score_mota(outs, targets)
    idf1, _ = cases.score_idf1(outs, targets)
    accs = [motmetrics_accumulator(t["gt"], o.double().numpy()) for t, o in zip(targets, outs, strict=True)]
    summary = mm.metrics.create().compute_many(accs, metrics=["mota", "idf1", "num_switches"],
                                               names=[t["name"] for t in targets], generate_overall=True)
    assert mota == pytest.approx(float(summary.loc["OVERALL", "mota"]), abs=1e-12)
    assert idf1 == pytest.approx(float(summary.loc["OVERALL", "idf1"]), abs=1e-12)
    assert details["id_switches"] == int(summary.loc["OVERALL", "num_switches"]) > 0


def malformed(targets):
    n = targets[0]["num_frames"]
    good = torch.from_numpy(targets[0]["gt"]).float()
    nan = good.clone()
    nan[3, 2] = float("nan")
    zero_based = good.clone()
    zero_based[:, 0] -= 1
    late = good.clone()
    late[-1, 0] = n + 1
    half_id = good.clone()
    half_id[0, 1] = 1.5
    negative = good.clone()
    negative[0, 1] = -1
    inverted = good.clone()
    inverted[2, [2, 4]] = inverted[2, [4, 2]]
    twice = torch.cat([good, good[:1]])
    return {
        "a list": (good.tolist(), "must return a torch.Tensor"),
        "int64": (good.long(), "float32 or float64"),
        "5 columns": (good[:, :5], r"shape \[N, 6\]"),
        "nan": (nan, "nan or infinite"),
        "0-based frames": (zero_based, rf"frames must be integers in \[1, {n}\]"),
        "frame past the end": (late, rf"frames must be integers in \[1, {n}\]"),
        "fractional id": (half_id, "track ids must be integers"),
        "negative id": (negative, "track ids must be integers"),
        "inverted box": (inverted, "x2 >= x1"),
        "id twice in a frame": (twice, "appears twice in frame"),
        "too many rows": (torch.zeros(200_001, 6), "more than the 200000 allowed"),
    }


@pytest.mark.parametrize("case", ["a list", "int64", "5 columns", "nan", "0-based frames", "frame past the end",
                                  "fractional id", "negative id", "inverted box", "id twice in a frame",
                                  "too many rows"])
def test_malformed_outputs_are_refused_with_a_clear_message(cases, hidden, case):
    _, targets = hidden
    out, message = malformed(targets)[case]
    outs = [out] + [torch.from_numpy(t["gt"]) for t in targets[1:]]
    for scorer in (cases.score_mota, cases.score_idf1):
        with pytest.raises(ValueError, match=message) as err:
            scorer(outs, targets)
        assert targets[0]["name"] in str(err.value)


def test_wrong_number_of_outputs_is_refused(cases, hidden):
    _, targets = hidden
    with pytest.raises(ValueError, match="one output per sequence"):
        cases.score_mota([torch.zeros(0, 6)], targets)


@pytest.mark.slow
def test_grading_scores_the_reference_and_refuses_malformed_output(tmp_path):
    a = find_assignment("tracking")
    sandbox = LocalSandbox(limits=a.limits)
    grader = Grader(a, sandbox=sandbox, tasks=["mot_eval", "mota", "idf1"], speed=False)
    try:
        ref = grader.grade(SubmissionSource("reference", a.reference_dir))
        assert ref.status == "graded", ref.error
        by_id = {t.id: t for t in ref.tasks}
        assert by_id["mota"].score == 10 and by_id["idf1"].score == 10
        details = by_id["mota"].checks[0].details
        assert details["value"] >= a.accuracy[0].target and details["table"]["rows"][-1][0] == "overall"

        sub = tmp_path / "zero_based"
        shutil.copytree(a.reference_dir, sub / "tracking", ignore=shutil.ignore_patterns("__pycache__"))
        init = sub / "tracking" / "__init__.py"
        init.write_text(init.read_text() + (
            "\n_track_sequence = track_sequence\n\n\n"
            "def track_sequence(*args, **kwargs):\n"
            "    out = _track_sequence(*args, **kwargs)\n"
            "    out[:, 0] -= 1  # 0-based frames\n"
            "    return out\n"))
        bad = grader.grade(SubmissionSource("zero_based", sub))
        by_id = {t.id: t for t in bad.tasks}
        assert by_id["mot_eval"].score == by_id["mot_eval"].points  # the tests are unaffected
        for check in ("mota", "idf1"):
            c = by_id[check].checks[0]
            assert by_id[check].score == 0 and not c.passed
            assert c.message.startswith("malformed output from track_sequence: sequence CV3HIDDEN-01: frames")
    finally:
        grader.close()
        sandbox.close()
