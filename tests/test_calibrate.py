"""`cv3 calibrate`: the band proposal from measured ratios, and one real run through the grader."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest

from harness.calibrate import Solution, _sig_ceil, _sig_floor, build_submission, calibrate, propose_band


def sol(name, kind, *ratios):
    return Solution(name, kind, ratios=list(ratios))


# ---------------------------------------------------------------- the proposal


def test_rounding_to_two_significant_digits():
    assert _sig_ceil(37.5) == 38 and _sig_ceil(14.01) == 15 and _sig_ceil(3.51) == 3.6 and _sig_ceil(120.1) == 130
    assert _sig_floor(64.9) == 64 and _sig_floor(3.59) == 3.5 and _sig_floor(129.0) == 120
    assert _sig_ceil(15.0) == 15 and _sig_floor(40.0) == 40


def test_full_ratio_is_above_the_worst_documented_ratio_with_margin():
    band = propose_band([sol("reference", "reference", 2.0, 2.2), sol("a", "documented", 8.0, 9.0, 10.0),
                         sol("b", "documented", 4.0), sol("loop", "naive", 400.0, 380.0)])
    assert band.ok
    assert band.full_ratio == 15  # 1.5 x 10, the worst regrade of the slowest documented solution
    assert band.zero_ratio == 60  # 4 x full: the naive loop is far away
    assert "'a'" in band.notes[0]


def test_zero_ratio_stays_below_a_close_naive_loop():
    band = propose_band([sol("reference", "reference", 2.0), sol("a", "documented", 9.0, 10.0),
                         sol("loop", "naive", 52.0, 50.0, 55.0)])
    assert band.ok
    assert band.full_ratio == 15
    assert band.zero_ratio == 40  # the naive loop's best ratio 50 / 1.25, below the 60 aimed at
    assert band.zero_ratio * 1.25 <= 50
    assert any("only 5.0x slower" in n for n in band.notes)


def test_every_regrade_lands_in_the_proposed_bands():
    from harness.grading.speed import speed_points
    from tests.test_speed import check

    solutions = [sol("reference", "reference", 2.4, 2.5), sol("a", "documented", 8.3, 9.4, 9.9),
                 sol("loop", "naive", 80.4, 81.4, 77.0)]
    band = propose_band(solutions)
    c = dataclasses.replace(check(), full_ratio=band.full_ratio, zero_ratio=band.zero_ratio)
    assert all(speed_points(r, c) == c.points for s in solutions[:2] for r in s.ratios)
    assert all(speed_points(r, c) == 0.0 for r in solutions[2].ratios)


def test_overlapping_solutions_cannot_be_separated():
    band = propose_band([sol("a", "documented", 10.0), sol("loop", "naive", 14.0)])
    assert not band.ok
    assert any("CANNOT SEPARATE" in n for n in band.notes)


def test_without_a_naive_solution_the_band_is_four_times_full():
    band = propose_band([sol("reference", "reference", 1.2, 1.3)])
    assert band.ok and band.full_ratio == 2.0 and band.zero_ratio == 8.0


def test_nothing_measured_proposes_nothing():
    band = propose_band([Solution("reference", "reference"), sol("loop", "naive", 50.0)])
    assert not band.ok


def test_build_submission_appends_the_override(assignment, tmp_path):
    dest = build_submission(assignment, tmp_path / "alt", "def nms(boxes, scores, t):\n    return 'mine'\n")
    init = (dest / "detection" / "__init__.py").read_text()
    assert init.rstrip().endswith("return 'mine'")
    assert "import torch" in init
    assert (dest / "detection" / "roi.py").read_text() == (assignment.reference_dir / "roi.py").read_text()


def test_an_unknown_check_is_an_error(assignment):
    out = io.StringIO()
    assert calibrate(assignment, checks=["no_such_check"], out=out) == 1
    assert "no speed check" in out.getvalue()


# ---------------------------------------------------------------- one real run


@pytest.mark.slow
def test_calibrate_nms_through_the_grader(assignment, sandbox):
    out = io.StringIO()
    status = calibrate(assignment, regrades=1, checks=["nms_speed"], sandbox=sandbox, out=out)
    text = out.getvalue()
    assert status == 0, text
    for name in ("reference", "iou_matrix_mask", "iou_matrix_rows", "row_blocks", "python_pairs"):
        assert re.search(rf"^{name}\s+(reference|documented|naive)\s+\d+\.\d\d", text, re.M), text
    full, zero = map(float, re.search(r"proposed: full_ratio = ([\d.]+), zero_ratio = ([\d.]+)", text).groups())
    assert full < zero
    assert "roi_align_speed" not in text  # only the check asked for
