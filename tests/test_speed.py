"""Speed checks: the points curve, and the measurement protocol with fake timed workers."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from harness.grading.speed import low_quantile, measure, speed_points
from harness.manifest import SpeedCheck
from harness.sandbox.client import RunTiming


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
#
# The two sides are fakes of StudentSession's timed interface (put / run / cpu_time_ns) on a
# fake clock: ``run`` advances the trusted wall clock by the side's wall time (the call's own
# cost plus whatever "load" adds) and the side's CPU counter by its CPU time only.


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    import harness.grading.speed as speed_module

    c = FakeClock()
    monkeypatch.setattr(speed_module, "time", c)
    return c


class FakeSide:
    """A worker: per-call CPU cost ``cpu_s``; every run also waits ``wait(i)`` seconds of wall
    time off the CPU (another process's turn on the core); every request is logged."""

    def __init__(self, side: str, cpu_s: float, log: list, clock: FakeClock, *, wait=lambda i: 0.0,
                 off_cpu_s: float = 0.0, cpu_clock: bool = True, cuda_s=None) -> None:
        self.side, self.cpu_s, self.log, self.clock = side, cpu_s, log, clock
        self.off_cpu_s = off_cpu_s  # per call: wall time the worker's own CPU counter does not see
        self.wait, self.cpu_clock, self.cuda_s = wait, cpu_clock, cuda_s
        self.cpu_ns = 123_456_789  # an arbitrary start: only differences count
        self.runs = 0
        self.kwargs: list[dict] = []

    def put(self, key, args, kwargs, *, timeout=None):
        assert timeout == 7.0  # the call limit is passed through
        assert key == "speed:nms_speed" and args == [1, 2] and kwargs == {"iou": 0.5}
        self.log.append((self.side, "put", None, None))

    def run(self, target, key, number, *, timeout=None, **kw):
        assert timeout == 7.0 and key == "speed:nms_speed"
        self.log.append((self.side, "run", target, number))
        self.kwargs.append(kw)
        self.clock.now += (self.cpu_s + self.off_cpu_s) * number + self.wait(self.runs)
        self.cpu_ns += round(self.cpu_s * number * 1e9)
        self.runs += 1
        cuda = None if self.cuda_s is None else self.cuda_s * number
        return RunTiming(cuda_s=cuda)

    def cpu_time_ns(self):
        return self.cpu_ns if self.cpu_clock else None


def run_measure(clock, student_s: float, baseline_s: float, *, student_kw=None, baseline_kw=None,
                device="cpu", **kw):
    log: list = []
    c = check(repeats=kw.pop("repeats", 5), warmup=kw.pop("warmup", 1), min_time_s=kw.pop("min_time_s", 0.02), **kw)
    student = FakeSide("student", student_s, log, clock, **(student_kw or {}))
    baseline = FakeSide("baseline", baseline_s, log, clock, **(baseline_kw or {}))
    figures = measure(c, student, baseline, (1, 2), {"iou": 0.5}, call_timeout_s=7.0, device=device)
    return c, figures, log, student, baseline


def test_measure_ratio_of_a_4x_slower_student(clock):
    c, figures, _, _, _ = run_measure(clock, 0.004, 0.001)
    assert figures["ratio"] == pytest.approx(4.0)
    assert figures["clock"] == "cpu time"
    assert figures["student_median_s"] == pytest.approx(0.004)
    assert figures["baseline_median_s"] == pytest.approx(0.001)
    expected_keys = {"ratio", "clock", "wall_ratio", "student_median_s", "baseline_median_s", "student_spread",
                     "baseline_spread", "repeats", "number", "device", "full_ratio", "zero_ratio", "baseline"}
    assert expected_keys <= set(figures)
    assert figures["repeats"] == c.repeats and figures["device"] == "cpu"
    assert (figures["full_ratio"], figures["zero_ratio"]) == (c.full_ratio, c.zero_ratio)
    assert figures["baseline"] == "torchvision.ops.nms"
    assert figures["student_spread"] >= 0 and figures["baseline_spread"] >= 0
    assert isinstance(figures["number"], int) and figures["number"] >= 1


def test_measure_equal_sides_give_ratio_one(clock):
    _, figures, _, _, _ = run_measure(clock, 0.002, 0.002)
    assert figures["ratio"] == pytest.approx(1.0)


def test_measure_sizes_repeats_to_min_time_and_interleaves(clock):
    c, figures, log, _, _ = run_measure(clock, 0.004, 0.001, repeats=5, warmup=2, min_time_s=0.02)
    # the stash comes first, on both sides
    assert [(s, op) for s, op, *_ in log[:2]] == [("student", "put"), ("baseline", "put")]
    assert all(op in ("put", "run") for _, op, *_ in log)
    runs = [(s, target, n) for s, op, target, n in log if op == "run"]
    # each side calls its own target, never the other's
    assert {t for s, t, _ in runs if s == "student"} == {"nms"}
    assert {t for s, t, _ in runs if s == "baseline"} == {"torchvision.ops.nms"}
    # an untimed single call per side (one-time costs), then one single call per side to size
    assert [n for _, _, n in runs[:4]] == [1, 1, 1, 1]
    assert {s for s, _, _ in runs[:2]} == {s for s, _, _ in runs[2:4]} == {"student", "baseline"}
    timed = runs[4:]
    assert len(timed) == 2 * (c.warmup + c.repeats)
    n_s = {n for s, _, n in timed if s == "student"}
    n_b = {n for s, _, n in timed if s == "baseline"}
    assert n_s == {figures["number"]} and n_b == {figures["baseline_number"]}
    # at least min_time_s of work per repeat, without overshooting by much
    assert figures["number"] == 5 and figures["baseline_number"] == 20
    # interleaved: every consecutive pair holds one call from each side ...
    pairs = [timed[i:i + 2] for i in range(0, len(timed), 2)]
    assert all({p[0][0], p[1][0]} == {"student", "baseline"} for p in pairs)
    # ... and during the repeats the side that goes first alternates (ABBA ...)
    firsts = [p[0][0] for p in pairs[c.warmup:]]
    assert all(a != b for a, b in pairwise(firsts))


def test_measure_sizes_by_cpu_time_when_load_inflates_the_wall_clock(clock):
    # every run waits 50 ms for the core: sized by wall time, one call per repeat would do
    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, min_time_s=0.02,
                                      student_kw={"wait": lambda i: 0.05}, baseline_kw={"wait": lambda i: 0.05})
    assert (figures["number"], figures["baseline_number"]) == (5, 20)


def test_measure_propagates_a_student_failure(clock):
    class Boom(Exception):
        pass

    class Crashing(FakeSide):
        def run(self, *a, **kw):
            raise Boom("student crashed")

    log: list = []
    with pytest.raises(Boom, match="student crashed"):
        measure(check(repeats=3, warmup=0, min_time_s=0.001), Crashing("student", 0.001, log, clock),
                FakeSide("baseline", 0.001, log, clock), (1, 2), {"iou": 0.5}, call_timeout_s=7.0)


def test_measure_propagates_a_failure_to_stash(clock):
    class Refusing(FakeSide):
        def put(self, *a, **kw):
            raise ValueError("cannot decode the arguments")

    log: list = []
    with pytest.raises(ValueError, match="cannot decode"):
        measure(check(repeats=3, warmup=0), Refusing("student", 0.001, log, clock),
                FakeSide("baseline", 0.001, log, clock), (1, 2), {"iou": 0.5}, call_timeout_s=7.0)
    assert not [e for e in log if e[1] == "run"]  # nothing was timed


# ---------------------------------------------------------------- the estimator and the clocks


def test_low_quantile_is_the_mean_of_the_fastest_half():
    assert low_quantile([5.0, 1.0, 4.0, 2.0, 3.0]) == pytest.approx(1.5)
    assert low_quantile([3.0, 1.0, 2.0, 4.0]) == pytest.approx(1.5)
    assert low_quantile([7.0]) == 7.0
    assert low_quantile([2.0, 2.0, 2.0]) == 2.0
    # slow outliers (interference only ever adds time) do not move it; a median would
    assert low_quantile([1.0, 1.0, 1.0, 1.0, 50.0, 60.0, 70.0]) == 1.0


def test_measure_ignores_slow_repeats_on_either_side(clock):
    # the wall clock is out of play here (no CPU clock): a few repeats of each side are 3x slower
    spiky = {"cpu_clock": False, "wait": lambda i: 0.008 if i % 4 == 3 else 0.0}
    spiky_b = {"cpu_clock": False, "wait": lambda i: 0.02 if i % 5 == 2 else 0.0}
    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, repeats=9, min_time_s=0.004,
                                      student_kw=spiky, baseline_kw=spiky_b)
    assert figures["clock"] == "wall"
    assert figures["ratio"] == pytest.approx(4.0)


def test_cpu_clock_is_immune_to_time_off_the_core(clock):
    # load: every run of either side waits a different, large time for the core
    import random

    rng = random.Random(0)
    wait = lambda i: rng.uniform(0.0, 0.2)
    _, figures, _, _, _ = run_measure(clock, 0.006, 0.002, student_kw={"wait": wait}, baseline_kw={"wait": wait})
    assert figures["clock"] == "cpu time"
    assert figures["ratio"] == pytest.approx(3.0)
    assert figures["wall_ratio"] != pytest.approx(3.0, rel=0.05)  # the wall clock would have guessed


@pytest.mark.parametrize("which", ["student", "baseline"])
def test_wall_clock_is_the_fallback_without_a_cpu_clock(clock, which):
    kw = {"cpu_clock": False, "wait": lambda i: 0.0}
    c, figures, _, _, _ = run_measure(clock, 0.006, 0.002, **{f"{which}_kw": kw})
    assert figures["clock"] == "wall"
    assert figures["ratio"] == pytest.approx(3.0)
    assert figures["ratio"] == pytest.approx(figures["wall_ratio"])


def test_cpu_time_below_the_wall_clock_share_is_not_believed(clock):
    # the student's worker shows almost no CPU time but takes 10 ms of wall time per call (work
    # done outside its process tree, or sleeping): its time is at least half its wall time
    # scaled by the CPU share the baseline got in the same run (here 1)
    _, figures, _, _, _ = run_measure(clock, 1e-6, 0.001, student_kw={"off_cpu_s": 0.01})
    assert figures["clock"] == "cpu time"
    assert figures["student_median_s"] == pytest.approx(0.5 * 0.010001)  # not the 1 us the counter claims
    assert figures["ratio"] == pytest.approx(0.5 * 0.010001 / 0.001)


def test_cpu_cross_check_does_not_penalise_honest_code_under_load(clock):
    # both sides get a third of the core (wall = 3 x CPU): the student's CPU time stands
    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, student_kw={"wait": lambda i: 0.008 * 5},
                                      baseline_kw={"wait": lambda i: 0.002 * 20})
    assert figures["clock"] == "cpu time"
    assert figures["ratio"] == pytest.approx(4.0)


def test_cuda_events_are_the_clock_on_a_gpu(clock):
    c, figures, _, student, baseline = run_measure(clock, 0.004, 0.001, device="cuda",
                                                   student_kw={"cuda_s": 0.003}, baseline_kw={"cuda_s": 0.001})
    assert figures["clock"] == "cuda events"
    assert figures["ratio"] == pytest.approx(3.0)
    assert all(kw.get("cuda_events") is True for kw in student.kwargs + baseline.kwargs)
    assert not any("flush_l2" in kw for kw in student.kwargs)


def test_a_tiny_student_cuda_time_is_not_believed_below_half_the_wall_clock(clock):
    # the student's worker claims 1 ns per call while the trusted wall clock saw 4 ms
    c, figures, _, _, _ = run_measure(clock, 0.004, 0.001, device="cuda",
                                      student_kw={"cuda_s": 1e-9}, baseline_kw={"cuda_s": 0.001})
    assert figures["clock"] == "cuda events"
    assert figures["student_median_s"] == pytest.approx(0.5 * 0.004)
    assert figures["ratio"] == pytest.approx(2.0)


def test_flush_l2_is_asked_for_on_a_gpu_only(clock):
    _, _, _, student, baseline = run_measure(clock, 0.004, 0.001, device="cuda", flush_l2=True,
                                             student_kw={"cuda_s": 0.004}, baseline_kw={"cuda_s": 0.001})
    assert all(kw.get("flush_l2") is True for kw in student.kwargs + baseline.kwargs)
    _, _, _, student, _ = run_measure(clock, 0.004, 0.001, flush_l2=True)
    assert all(kw.get("cuda_events") is False and "flush_l2" not in kw for kw in student.kwargs)


def test_without_cuda_times_a_gpu_run_falls_back_to_the_cpu_clock(clock):
    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, device="cuda", student_kw={"cuda_s": 0.004})
    assert figures["clock"] == "cpu time"
