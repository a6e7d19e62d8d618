"""Speed checks: the points curve, and the measurement protocol with fake timed workers."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch

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
# The two sides are fakes of StudentSession's timed interface (put / run / outputs / call /
# cpu_time_ns) on a fake clock: ``run`` advances the trusted wall clock by the side's wall time
# (the call's own cost plus whatever "load" adds) and the side's CPU counter by its CPU time
# only. Outputs are computed from the stashed input (``output(args, kwargs)``), summarised with
# the trusted twin of the worker's fingerprint, and kept like the worker keeps them.


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sides: list = []

    def perf_counter(self) -> float:
        return self.now

    def tick(self, current) -> None:
        """Background work of the other sides happens now (outside their own runs)."""
        for side in self.sides:
            if side is not current and side.pending_ns:
                side.cpu_ns += side.pending_ns
                side.pending_ns = 0


@pytest.fixture
def clock(monkeypatch):
    import harness.grading.speed as speed_module

    c = FakeClock()
    monkeypatch.setattr(speed_module, "time", c)
    return c


def honest(args, kwargs, index=0):
    return torch.tensor([float(args[0]) * 10 + float(args[1]), 0.5], dtype=torch.float32)


class FakeSide:
    """A worker: per-call CPU cost ``cpu_s``; every run also waits ``wait(i)`` seconds of wall
    time off the CPU (another process's turn on the core); every request is logged.
    ``output(args, kwargs, i)`` is what call ``i`` returns, ``later(args, kwargs, i)`` (if given)
    what that output has become by the time it is fetched (filled in in the background);
    ``background_s`` of CPU per call is spent outside the run (while the other side runs)."""

    def __init__(self, side: str, cpu_s: float, log: list, clock: FakeClock, *, wait=lambda i: 0.0,
                 off_cpu_s: float = 0.0, cpu_clock: bool = True, cuda_s=None, output=honest, later=None,
                 background_s: float = 0.0) -> None:
        self.side, self.cpu_s, self.log, self.clock = side, cpu_s, log, clock
        self.off_cpu_s = off_cpu_s  # per call: wall time the worker's own CPU counter does not see
        self.wait, self.cpu_clock, self.cuda_s = wait, cpu_clock, cuda_s
        self.output, self.later, self.background_s = output, later, background_s
        self.cpu_ns = 123_456_789  # an arbitrary start: only differences count
        self.pending_ns = 0
        self.runs = 0
        self.calls = 0
        self.kwargs: list[dict] = []
        self.stash: dict = {}
        self.kept: dict = {}
        self.called_keys: list[str] = []
        self.released: list[str] = []
        self.summarised: list[int] = []
        clock.sides.append(self)

    def put(self, key, args, kwargs, *, timeout=None):
        assert timeout == 7.0  # the call limit is passed through
        assert key.startswith("speed:nms_speed") and kwargs == {"iou": 0.5}
        self.stash[key] = (args, kwargs)
        self.log.append((self.side, "put", key, None))

    def run(self, target, keys, number, *, timeout=None, fingerprint=None, keep=(), return_output=False, **kw):
        from harness.grading.speed import fingerprint as summarise

        assert timeout == 7.0 and isinstance(keys, list) and all(k in self.stash for k in keys)
        self.clock.tick(self)
        self.log.append((self.side, "run", target, number))
        self.kwargs.append(kw)
        self.clock.now += (self.cpu_s + self.off_cpu_s) * number + self.wait(self.runs)
        self.cpu_ns += round(self.cpu_s * number * 1e9)
        self.pending_ns += round(self.background_s * number * 1e9)
        self.runs += 1
        prints, out = [], None
        summarised = fingerprint.get("calls")
        self.summarised.append(number if summarised is None else len(summarised))
        for i in range(number):
            key = keys[i % len(keys)]
            args, kwargs = self.stash[key]
            out = self.output(args, kwargs, self.calls)
            if summarised is None or i in summarised:
                prints.append(summarise(out, fingerprint))
            if key in keep:
                self.kept[key] = self.later(args, kwargs, self.calls) if self.later else out
            self.called_keys.append(key)
            self.calls += 1
        cuda = None if self.cuda_s is None else self.cuda_s * number
        return RunTiming(cuda_s=cuda, output=out if return_output else None, fingerprints=prints)

    def outputs(self, target, keys, *, release="", timeout=None):
        self.clock.tick(self)
        values = [self.kept.get(k) for k in keys]
        if release:
            self.released.append(release)
            self.stash = {k: v for k, v in self.stash.items() if not k.startswith(release)}
        return values

    def call(self, target, args=(), kwargs=None, *, timeout=None):
        self.clock.tick(self)
        self.cpu_ns += round(self.cpu_s * 1e9)
        return (self.later or self.output)(list(args), dict(kwargs or {}), -1)

    def cpu_time_ns(self):
        return self.cpu_ns if self.cpu_clock else None


def run_measure(clock, student_s: float, baseline_s: float, *, student_kw=None, baseline_kw=None,
                device="cpu", variants: bool = False, **kw):
    log: list = []
    c = check(repeats=kw.pop("repeats", 5), warmup=kw.pop("warmup", 1), min_time_s=kw.pop("min_time_s", 0.02), **kw)
    student = FakeSide("student", student_s, log, clock, **(student_kw or {}))
    baseline = FakeSide("baseline", baseline_s, log, clock, **(baseline_kw or {}))
    variant = (lambda v: ((v, 2), {"iou": 0.5})) if variants else None
    figures = measure(c, student, baseline, (0, 2), {"iou": 0.5}, call_timeout_s=7.0, device=device,
                      variant=variant)
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


# ---------------------------------------------------------------- fresh inputs and checked outputs


def test_every_timed_call_gets_a_fresh_input_stashed_before_the_clock_starts(clock):
    c, figures, log, student, baseline = run_measure(clock, 0.004, 0.001, variants=True, repeats=5, warmup=2)
    assert "rejected" not in figures
    timed = student.called_keys[2:]  # after the untimed call (variant 0) and the sizing call (1)
    assert student.called_keys[:2] == ["speed:nms_speed:0", "speed:nms_speed:1"]
    assert len(timed) == (c.warmup + c.repeats) * figures["number"] == figures["variants"]
    assert len(set(student.called_keys)) == len(student.called_keys)  # no input twice, on the student's side
    # every input of a timed call was stashed (on both sides) before the first timed run
    runs = [i for i, e in enumerate(log) if e[1] == "run"]
    first_timed = runs[4]  # after the untimed and the sizing call of each side
    assert not [e for e in log[first_timed:] if e[1] == "put"]
    puts = {side: {e[2] for e in log if e[1] == "put" and e[0] == side} for side in ("student", "baseline")}
    assert puts["student"] == puts["baseline"] >= set(timed)
    # both sides cycle through the same inputs, and both are released at the end
    assert set(baseline.called_keys) >= set(timed)
    assert student.released == baseline.released == ["speed:nms_speed"]
    assert not student.stash and not baseline.stash


def test_the_pool_of_inputs_is_bounded_by_memory_and_never_repeats_an_input_back_to_back(clock, monkeypatch):
    import harness.grading.speed as speed_module

    monkeypatch.setattr(speed_module, "STASH_BUDGET_BYTES", 5 * 8)  # inputs of 8 bytes: 5 of them
    big = lambda v: ((torch.tensor([float(v)], dtype=torch.float64), 2), {"iou": 0.5})
    log: list = []
    student = FakeSide("student", 0.001, log, clock)
    baseline = FakeSide("baseline", 0.001, log, clock)
    figures = measure(check(repeats=5, warmup=1, min_time_s=0.004), student, baseline, *big(0),
                      call_timeout_s=7.0, variant=big)
    assert figures["variants"] == 5 and "rejected" not in figures
    timed = student.called_keys[2:]
    assert len(timed) == 6 * 4 and len(set(timed)) == 5
    assert all(a != b for a, b in pairwise(timed))


def test_a_case_without_variants_keeps_its_one_input(clock):
    _, figures, _, student, _ = run_measure(clock, 0.004, 0.001)
    assert set(student.called_keys) == {"speed:nms_speed"} and figures["variants"] == 1
    assert "rejected" not in figures


@pytest.mark.parametrize("variants", [True, False])
def test_a_wrong_output_on_one_timed_call_scores_zero(clock, variants):
    def once_wrong(args, kwargs, i):
        out = honest(args, kwargs)
        return out + 1 if i == 17 else out

    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, variants=variants, student_kw={"output": once_wrong})
    assert "returned a wrong result during timing (variant " in figures["rejected"]
    assert "other values than expected" in figures["rejected"]


def test_a_placeholder_returned_early_scores_zero_even_when_filled_in_later(clock):
    # the output is returned empty, and a background thread fills it in before it is fetched
    placeholder = lambda args, kwargs, i: torch.zeros(0)
    _, figures, _, _, _ = run_measure(clock, 1e-5, 0.001, variants=True,
                                      student_kw={"output": placeholder, "later": honest})
    assert "nms returned a wrong result during timing" in figures["rejected"]
    assert "shape [0]" in figures["rejected"]


def test_an_output_changed_after_it_was_returned_is_caught_against_the_submissions_own(clock):
    # compare = "self" (a trained model): no baseline output to compare with; the output as
    # returned differs from what it became later, and from an untimed call on the same input
    zeros = lambda args, kwargs, i: torch.zeros(2)
    _, figures, _, _, _ = run_measure(clock, 1e-5, 0.001, variants=True, compare="self",
                                      student_kw={"output": zeros, "later": honest})
    assert "changed after the call returned" in figures["rejected"]


def test_self_comparison_accepts_a_model_whose_outputs_differ_from_the_baselines(clock):
    other_model = lambda args, kwargs, i: honest(args, kwargs) * 3
    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, variants=True, compare="self",
                                      student_kw={"output": other_model})
    assert "rejected" not in figures and figures["compare"] == "self"
    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, variants=True,
                                      student_kw={"output": other_model})
    assert "wrong result" in figures["rejected"]


def test_same_elements_accepts_another_order_that_allclose_refuses(clock):
    indices = lambda args, kwargs, i: torch.tensor([3, 1, 2, int(args[0])], dtype=torch.int64)
    reordered = lambda args, kwargs, i: indices(args, kwargs, i).flip(0)
    for mode, ok in (("same_elements", True), ("allclose", False), ("exact", False)):
        _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, variants=True, compare=mode,
                                          student_kw={"output": reordered}, baseline_kw={"output": indices})
        assert ("rejected" not in figures) is ok, (mode, figures.get("rejected"))


def test_work_done_outside_the_timed_calls_scores_zero(clock):
    # each call returns at once (1 us); the 4 ms of work happen in a background thread while
    # the baseline is timed: the outputs are right, the clock saw nothing
    _, figures, _, _, _ = run_measure(clock, 1e-6, 0.001, variants=True, student_kw={"background_s": 0.004})
    assert "outside the timed calls" in figures["rejected"]
    assert figures["background_cpu_s"] > 0.1


def test_honest_code_spends_no_cpu_outside_the_timed_calls(clock):
    _, figures, _, _, _ = run_measure(clock, 0.004, 0.001, variants=True)
    assert figures["background_cpu_s"] == pytest.approx(0.0, abs=1e-6)
    assert "rejected" not in figures and figures["ratio"] == pytest.approx(4.0)


def test_the_baseline_is_released_when_the_student_fails(clock):
    class Boom(Exception):
        pass

    class Crashing(FakeSide):
        def run(self, *a, **kw):
            raise Boom("student crashed")

    log: list = []
    baseline = FakeSide("baseline", 0.001, log, clock)
    with pytest.raises(Boom):
        measure(check(repeats=3, warmup=0, min_time_s=0.001), Crashing("student", 0.001, log, clock), baseline,
                (1, 2), {"iou": 0.5}, call_timeout_s=7.0, variant=lambda v: ((v, 2), {"iou": 0.5}))
    assert baseline.released == ["speed:nms_speed"] and not baseline.stash


def test_a_reply_without_summaries_is_rejected(clock):
    from harness.grading.speed import Rejected

    class Silent(FakeSide):
        def run(self, *a, **kw):
            timing = super().run(*a, **kw)
            timing.fingerprints = None
            return timing

    log: list = []
    with pytest.raises(Rejected, match="did not report"):
        measure(check(repeats=3, warmup=0, min_time_s=0.001), Silent("student", 0.001, log, clock),
                FakeSide("baseline", 0.001, log, clock), (1, 2), {"iou": 0.5}, call_timeout_s=7.0)


# ---------------------------------------------------------------- comparisons and summaries


def test_compare_outputs_is_as_tolerant_as_the_hidden_tests():
    from harness.grading.speed import compare_outputs

    x = torch.linspace(0, 1, 50)
    assert compare_outputs(x + 1e-6, x, "allclose") is None
    assert "differs" in compare_outputs(x + 1e-2, x, "allclose")
    assert "differs" in compare_outputs(x + 1e-6, x, "exact")
    ints = torch.tensor([4, 1, 7])
    assert "differs" in compare_outputs(ints.flip(0), ints, "allclose")
    assert compare_outputs(ints.flip(0), ints, "same_elements") is None
    assert "shape" in compare_outputs(ints[:2], ints, "same_elements")
    assert "int32" in compare_outputs(ints.int(), ints, "allclose")
    nested = [{"boxes": x.reshape(-1, 2), "labels": ints}]
    assert compare_outputs([{"boxes": x.reshape(-1, 2) + 1e-7, "labels": ints}], nested, "allclose") is None
    assert "['labels']" in compare_outputs([{"boxes": x.reshape(-1, 2), "labels": ints + 1}], nested, "allclose")
    assert compare_outputs(torch.tensor([float("nan")]), torch.tensor([float("nan")]), "allclose") is None


def test_fingerprints_tell_placeholders_and_wrong_values_apart_from_right_ones():
    from harness.grading.speed import compare_fingerprints, fingerprint

    spec = {"limit": 4096, "probe": [i / 256 for i in range(256)]}
    big = torch.randn(64, 7, 7, 20)  # > limit: summed at the probed positions
    fp = fingerprint(big, spec)
    assert fp["m"] == 256
    assert compare_fingerprints(fingerprint(big + 1e-7, spec), fp, "allclose") is None
    assert compare_fingerprints(fingerprint(torch.zeros_like(big), spec), fp, "allclose")
    assert compare_fingerprints(fingerprint(torch.empty(0), spec), fp, "allclose")
    assert compare_fingerprints(fingerprint([big], spec), fingerprint([big, big], spec), "allclose")
    keep = torch.tensor([5, 2, 9])
    full = {"limit": None, "probe": []}
    assert compare_fingerprints(fingerprint(keep.flip(0), full), fingerprint(keep, full), "same_elements") is None
    assert compare_fingerprints(fingerprint(keep + 1, full), fingerprint(keep, full), "same_elements")


def test_the_workers_fingerprint_is_the_trusted_sides_twin():
    """harness/sandbox/worker.py summarises outputs in the sandbox; the trusted side recomputes
    the same summary of an output that came back whole. They must agree on the same data."""
    import json
    import subprocess
    import sys

    from harness.grading.speed import compare_fingerprints, fingerprint
    from tests.conftest import ROOT

    spec = {"limit": 64, "probe": [0.01, 0.3, 0.5, 0.77, 0.99]}
    code = f"""
import json, sys, torch
sys.path.insert(0, {str(ROOT / 'harness' / 'sandbox')!r})
import worker
torch.manual_seed(0)
values = [torch.randn(10, 10), torch.arange(7), torch.tensor([True, False]), [torch.ones(3), 2.5, None],
          {{"a": torch.zeros(2, dtype=torch.float64)}}, (1, "x")]
json.dump([worker._materialise(worker._fingerprint(v, {spec!r})) for v in values], sys.__stderr__)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    worker_prints = json.loads(done.stderr.strip().splitlines()[-1])
    torch.manual_seed(0)
    values = [torch.randn(10, 10), torch.arange(7), torch.tensor([True, False]), [torch.ones(3), 2.5, None],
              {"a": torch.zeros(2, dtype=torch.float64)}, (1, "x")]
    for got, value in zip(worker_prints, values, strict=True):
        assert compare_fingerprints(got, fingerprint(value, spec), "exact") is None


def test_the_default_comparison_follows_the_baseline():
    from harness.grading.speed import compare_mode

    assert compare_mode(check()) == "allclose"
    assert compare_mode(check(compare="same_elements")) == "same_elements"
    ref = SpeedCheck(id="predict_speed", title="t", points=5.0, target="predict", baseline="reference:predict",
                     case="speed_cases:predict_case", requires="model", full_ratio=2.0, zero_ratio=10.0)
    assert compare_mode(ref) == "self"


def test_a_case_without_variant_is_warned_about_once():
    from harness.checks.speed import _WARNED, accepts_variant

    def old_case(device="cpu"):
        return (1, 2), {}

    def new_case(device="cpu", variant=0):
        return (1, 2), {}

    assert not accepts_variant(old_case) and accepts_variant(new_case)
    assert accepts_variant(lambda device="cpu", **kw: None)

    class Ctx:
        device = "cpu"

        def trusted(self, ref):
            return old_case

        def cached(self, ref, **kw):
            return new_case(**kw)

    c = check()
    _WARNED.discard((c.id, c.case))
    with pytest.warns(UserWarning, match="does not accept variant"):
        assert c.variants(Ctx()) is None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.variants(Ctx())  # once only


def test_detection_and_detectors_cases_give_a_different_input_per_variant():
    import importlib.util

    from tests.conftest import ROOT

    def load(name):
        path = ROOT / "reference" / name / "tests" / "speed_cases.py"
        spec = importlib.util.spec_from_file_location(f"cases_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    det = load("detection")
    for case in (det.nms_case, det.roi_align_case):
        (a0, k0), (a0b, _), (a1, k1) = case(), case(variant=0), case(variant=1)
        assert torch.equal(a0[0], a0b[0]) and k0 == k1
        assert not torch.equal(a0[0], a1[0]) and a0[0].shape == a1[0].shape
        with pytest.raises(ValueError):
            case(variant=-1)
    dets = load("detectors")
    (i0,), _ = dets.predict_case()
    (i1,), _ = dets.predict_case(variant=1)
    assert len(i0) == len(i1) == 8 and not torch.equal(i0[0], i1[0])


def test_at_most_a_random_draw_of_calls_per_run_is_summarised(clock):
    from harness.grading.speed import FINGERPRINT_CALLS

    # 1 us per call: 20 000 calls a repeat (10 000 at most); the summaries stay bounded
    _, figures, _, student, _ = run_measure(clock, 1e-6, 0.001, variants=True)
    assert figures["number"] == 10_000 and "rejected" not in figures
    assert max(student.summarised) == FINGERPRINT_CALLS
    # a wrong output on every 5th call is still caught (of some 380 calls summarised, those whose
    # variant the baseline also ran: about 250)
    every_5th = lambda args, kwargs, i: honest(args, kwargs) * (2 if i % 5 == 4 else 1)
    _, figures, _, _, _ = run_measure(clock, 1e-6, 0.001, variants=True, student_kw={"output": every_5th})
    assert "wrong result during timing" in figures["rejected"]
