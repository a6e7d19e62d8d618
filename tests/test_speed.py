"""Speed checks: the points curve, and the measurement protocol with fake timed workers."""

from __future__ import annotations

import math
import time
from itertools import pairwise

import pytest

from harness.grading.speed import measure, speed_points
from harness.manifest import SpeedCheck


def check(points=5.0, full=2.0, zero=20.0, **kw) -> SpeedCheck:
    return SpeedCheck(id="nms_speed", title="NMS speed", points=points, target="nms",
                      baseline="torchvision.ops.nms", case="speed_cases:nms_case", requires="nms",
                      full_ratio=full, zero_ratio=zero, **kw)


# ---------------------------------------------------------------- speed_points


@pytest.mark.parametrize("ratio", [0.0, 0.01, 1.0, 1.999, 2.0])
def test_full_points_at_or_below_full_ratio(ratio):
    assert speed_points(ratio, check()) == 5.0


@pytest.mark.parametrize("ratio", [20.0, 20.0001, 100.0, 1e300, math.inf, math.nan, -math.inf])
def test_zero_points_at_or_above_zero_ratio_and_for_non_finite(ratio):
    assert speed_points(ratio, check()) == 0.0


def test_log_linear_midpoint_gives_half_the_points():
    c = check(points=5.0, full=2.0, zero=200.0)
    mid = math.sqrt(2.0 * 200.0)  # geometric mean of the band edges
    assert speed_points(mid, c) == pytest.approx(2.5)
    c = check(points=8.0, full=10.0, zero=1000.0)
    assert speed_points(100.0, c) == pytest.approx(4.0)


def test_quarter_points_in_log_space():
    c = check(points=4.0, full=1.0, zero=10_000.0)  # 4 decades: one point per decade
    assert [speed_points(r, c) for r in (10.0, 100.0, 1000.0)] == pytest.approx([3.0, 2.0, 1.0])


@pytest.mark.parametrize("full, zero, points", [(2.0, 20.0, 5.0), (10.0, 200.0, 5.0), (1.5, 4.0, 2.0)])
def test_points_monotone_non_increasing_and_bounded_on_a_grid(full, zero, points):
    c = check(points=points, full=full, zero=zero)
    grid = [full * (zero / full) ** (k / 400) for k in range(-40, 441)]
    values = [speed_points(r, c) for r in grid]
    assert all(0.0 <= v <= points for v in values)
    assert all(a >= b for a, b in pairwise(values))
    assert values[0] == points and values[-1] == 0.0
    # strictly between the edges, strictly between the extremes (up to rounding to 0.1)
    inner = [v for r, v in zip(grid, values, strict=True) if full * 1.1 < r < zero / 1.1]
    assert min(inner) > 0.0 and max(inner) < points


def test_points_are_rounded_to_a_tenth():
    c = check(points=5.0, full=2.0, zero=20.0)
    for r in (2.5, 3.7, 7.3, 11.0, 19.0):
        v = speed_points(r, c)
        assert v == round(v, 1)
        exact = 5.0 * (math.log(20.0) - math.log(r)) / (math.log(20.0) - math.log(2.0))
        assert abs(v - exact) <= 0.05 + 1e-12


# ---------------------------------------------------------------- measure


class FakeWorker:
    """Stands in for a sandboxed worker: 'run' sleeps per call, every request is logged."""

    def __init__(self, side: str, per_call_s: float, log: list) -> None:
        self.side, self.per_call_s, self.log = side, per_call_s, log

    def __call__(self, payload: dict, timeout: float):
        assert timeout == 7.0  # the call limit is passed through
        self.log.append((self.side, payload["op"], payload.get("target"), payload.get("number")))
        if payload["op"] == "put":
            assert payload["key"] == "speed:nms_speed"
            assert payload["args"] == [1, 2] and payload["kwargs"] == {"iou": 0.5}
            return None
        assert payload["op"] == "run" and payload["key"] == "speed:nms_speed"
        time.sleep(self.per_call_s * payload["number"])
        return None


def run_measure(student_s: float, baseline_s: float, **kw):
    log: list = []
    c = check(repeats=kw.pop("repeats", 5), warmup=kw.pop("warmup", 1), min_time_s=kw.pop("min_time_s", 0.02))
    figures = measure(c, FakeWorker("student", student_s, log), FakeWorker("baseline", baseline_s, log),
                      (1, 2), {"iou": 0.5}, call_timeout_s=7.0, device="cpu")
    return c, figures, log


def test_measure_ratio_of_a_4x_slower_student():
    c, figures, _ = run_measure(0.004, 0.001)
    assert 2.5 <= figures["ratio"] <= 6.0
    assert figures["student_median_s"] == pytest.approx(0.004, rel=0.5)
    assert figures["baseline_median_s"] == pytest.approx(0.001, rel=0.8)
    assert figures["ratio"] == pytest.approx(figures["student_median_s"] / figures["baseline_median_s"])
    expected_keys = {"ratio", "student_median_s", "baseline_median_s", "student_spread",
                     "baseline_spread", "repeats", "number", "device", "full_ratio", "zero_ratio",
                     "baseline"}
    assert expected_keys <= set(figures)
    assert figures["repeats"] == c.repeats and figures["device"] == "cpu"
    assert (figures["full_ratio"], figures["zero_ratio"]) == (c.full_ratio, c.zero_ratio)
    assert figures["baseline"] == "torchvision.ops.nms"
    assert figures["student_spread"] >= 0 and figures["baseline_spread"] >= 0
    assert isinstance(figures["number"], int) and figures["number"] >= 1


def test_measure_equal_sides_give_ratio_near_one():
    _, figures, _ = run_measure(0.002, 0.002)
    assert 0.5 <= figures["ratio"] <= 2.0


def test_measure_sizes_repeats_to_min_time_and_interleaves():
    c, figures, log = run_measure(0.004, 0.001, repeats=5, warmup=2, min_time_s=0.02)
    # the stash comes first, on both sides
    assert [(s, op) for s, op, *_ in log[:2]] == [("student", "put"), ("baseline", "put")]
    runs = [(s, target, n) for s, op, target, n in log if op == "run"]
    assert all(op in ("put", "run") for _, op, *_ in log)
    # each side calls its own target, never the other's
    assert {t for s, t, _ in runs if s == "student"} == {"nms"}
    assert {t for s, t, _ in runs if s == "baseline"} == {"torchvision.ops.nms"}
    # sizing: one single call per side, then every later call uses the sized number
    assert [n for _, _, n in runs[:2]] == [1, 1]
    timed = runs[2:]
    assert len(timed) == 2 * (c.warmup + c.repeats)
    n_s = {n for s, _, n in timed if s == "student"}
    n_b = {n for s, _, n in timed if s == "baseline"}
    assert n_s == {figures["number"]}
    assert len(n_b) == 1
    # at least min_time_s of work per repeat, without overshooting by much
    (nb,) = n_b
    assert figures["number"] * 0.004 >= 0.02 * 0.8 and nb * 0.001 >= 0.02 * 0.8
    assert figures["number"] < nb  # the slower side needs fewer calls per repeat
    # interleaved: every consecutive pair holds one call from each side ...
    pairs = [timed[i:i + 2] for i in range(0, len(timed), 2)]
    assert all({p[0][0], p[1][0]} == {"student", "baseline"} for p in pairs)
    # ... and during the repeats the side that goes first alternates (ABBA ...)
    firsts = [p[0][0] for p in pairs[c.warmup:]]
    assert all(a != b for a, b in pairwise(firsts))


def test_measure_propagates_a_student_failure():
    class Boom(Exception):
        pass

    def student(payload, timeout):
        if payload["op"] == "run":
            raise Boom("student crashed")

    with pytest.raises(Boom, match="student crashed"):
        measure(check(repeats=3, warmup=0, min_time_s=0.001), student, lambda p, t: None,
                (), {}, call_timeout_s=1.0)
