"""Speed checks: the submission's time over a trusted baseline's, timed in the same run.

Both sides run in sandboxed workers on the same inputs (stashed in each worker first, so no
transfer is timed). The clocks are the trusted side's: on the CPU the CPU time of each worker's
processes, read from ``/proc`` around each repeat (immune to other processes taking turns on
the cores, which is what made wall-clock ratios swing 3x on a busy machine), with the wall clock
as the fallback where no CPU clock can be read; on a GPU the CUDA-event time the worker reports.
Either claim is cross-checked against the trusted wall clock (:func:`choose_clock`).

An untimed call per side first (lazy loading, the allocator growing to the call's peak), one
call each to size the repeats (by CPU time: load inflates the wall clock), warm-up, then repeats
interleaved in ABBA order so drift hits both sides alike. The worker keeps the heap it grew
(harness/sandbox/worker.py ``run_stashed``): page faults on fresh memory were the largest noise
left once the CPU clock was in place. Each side's figure is a low quantile of its repeats (the
mean of the fastest half): interference only ever adds time.

Measured on a busy 2-core machine (harness/bench.py ``--stability``, 10 regrades, ``--jobs`` 1
and 2, with and without a CPU hog on every core): the documented solutions' points did not move
at all; their ratios moved by a max/min of 1.1-1.2 typically, up to 1.48 while other test
suites drove the load average to 13. What is left is memory-bandwidth and cache contention on
memory-bound code (the baseline hardly moves), which no CPU clock removes. Pinning both workers
to one core was tried and measured worse (the scheduler could no longer move them off a hogged
core), so workers are not pinned.

Points: full at or below ``full_ratio``, zero at or above ``zero_ratio``, log-linear between,
rounded to a tenth of a point. Bands come from ``cv3 calibrate`` (harness/calibrate.py).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Protocol


class TimedSide(Protocol):
    def put(self, key: str, args, kwargs, *, timeout: float | None = None) -> None: ...

    def run(self, target: str, key: str, number: int, **kw): ...

    def cpu_time_ns(self) -> int | None: ...


def speed_points(ratio: float, check) -> float:
    if not math.isfinite(ratio) or ratio >= check.zero_ratio:
        return 0.0
    if ratio <= check.full_ratio:
        return check.points
    frac = (math.log(check.zero_ratio) - math.log(ratio)) / (
        math.log(check.zero_ratio) - math.log(check.full_ratio))
    return round(check.points * frac, 1)


def _spread(xs: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    q = statistics.quantiles(xs, n=4)
    med = statistics.median(xs)
    return (q[2] - q[0]) / med if med > 0 else 0.0


def low_quantile(xs: list[float]) -> float:
    """Mean of the fastest half (at least one value)."""
    fastest = sorted(xs)[:max(1, len(xs) // 2)]
    return sum(fastest) / len(fastest)


class _Clock:
    """One side's timed repeat: wall time always, CPU time when the worker's is readable."""

    def __init__(self, side, target: str, key: str, timeout: float, cuda: bool, flush_l2: bool = False) -> None:
        self.side, self.target, self.key, self.timeout, self.cuda = side, target, key, timeout, cuda
        self.extra = {"flush_l2": True} if cuda and flush_l2 else {}

    def __call__(self, number: int) -> tuple[float, float | None, float | None]:
        cpu0 = self.side.cpu_time_ns()
        t0 = time.perf_counter()
        timing = self.side.run(self.target, self.key, number, cuda_events=self.cuda, timeout=self.timeout,
                               **self.extra)
        wall = time.perf_counter() - t0
        cpu1 = self.side.cpu_time_ns()
        cpu = (cpu1 - cpu0) / 1e9 if cpu0 is not None and cpu1 is not None else None
        cuda_s = getattr(timing, "cuda_s", None)
        return wall / number, (cpu / number if cpu is not None and cpu > 0 else None), \
            (cuda_s / number if cuda_s is not None else None)


def _per_call(run: tuple[float, float | None, float | None]) -> float:
    """The best single-call figure of a sizing run: CPU time where readable (a busy machine
    inflates the wall clock, which would size the repeats too short)."""
    return run[1] if run[1] is not None else run[0]


def choose_clock(runs_s: list, runs_b: list, cuda: bool) -> tuple[str, list[float], list[float]]:
    """Which clock the ratio is taken on, and each side's per-call times on it.

    * CUDA events where both sides report them; the student's never below half the trusted wall
      clock (a patched event or a skipped synchronize would show up there).
    * CPU time where both sides' is readable: the trusted side reads it from /proc, so taking
      turns with other processes on the cores does not count. The student's is never believed
      below half of its wall time scaled by the share of the wall clock the machine gave the
      baseline in the same run (work hidden outside the worker's process tree, or sleeping,
      would show up there; honest code under the same load has the baseline's share).
    * The wall clock otherwise.
    """
    wall_b, wall_s = [x[0] for x in runs_b], [x[0] for x in runs_s]
    if cuda and runs_b and all(x[2] is not None for x in runs_b + runs_s):
        return "cuda events", [x[2] for x in runs_b], [max(x[2], 0.5 * x[0]) for x in runs_s]
    if runs_b and all(x[1] is not None for x in runs_b + runs_s):
        share_b = statistics.median(min(1.0, x[1] / x[0]) for x in runs_b if x[0] > 0) if any(
            x[0] > 0 for x in runs_b) else 1.0
        return "cpu time", [x[1] for x in runs_b], [max(x[1], 0.5 * share_b * x[0]) for x in runs_s]
    return "wall", wall_b, wall_s


def measure(check, student: TimedSide, baseline: TimedSide, args: tuple, kwargs: dict,
            *, call_timeout_s: float, device: str = "cpu") -> dict[str, Any]:
    """Returns the figures; raises whatever the student's requests raise (a crash or a timeout
    during timing scores zero, like any other failure)."""
    key = f"speed:{check.id}"
    cuda = device.startswith("cuda")
    flush = bool(getattr(check, "flush_l2", False))
    baseline_target = check.baseline.removeprefix("reference:")
    student.put(key, list(args), kwargs, timeout=call_timeout_s)
    baseline.put(key, list(args), kwargs, timeout=call_timeout_s)
    clock_b = _Clock(baseline, baseline_target, key, call_timeout_s, cuda, flush)
    clock_s = _Clock(student, check.target, key, call_timeout_s, cuda, flush)

    # An untimed call each (one-time costs: lazy imports and kernel loading, the allocator
    # growing to the call's peak), then one call each to size the repeats: at least
    # min_time_s per repeat on each side.
    clock_b(1)
    clock_s(1)
    single_b, single_s = _per_call(clock_b(1)), _per_call(clock_s(1))
    n_b = max(1, min(10_000, math.ceil(check.min_time_s / max(single_b, 1e-7))))
    n_s = max(1, min(10_000, math.ceil(check.min_time_s / max(single_s, 1e-7))))
    for _ in range(check.warmup):
        clock_b(n_b)
        clock_s(n_s)

    runs_b, runs_s = [], []
    for r in range(check.repeats):
        order = ((clock_b, n_b, runs_b), (clock_s, n_s, runs_s))
        for clock, n, out in (order if r % 2 == 0 else order[::-1]):
            out.append(clock(n))

    clock, times_b, times_s = choose_clock(runs_s, runs_b, cuda)
    wall_b, wall_s = [x[0] for x in runs_b], [x[0] for x in runs_s]
    est_b, est_s = low_quantile(times_b), low_quantile(times_s)
    ratio = est_s / est_b if est_b > 0 else math.inf
    wall_ratio = low_quantile(wall_s) / low_quantile(wall_b) if low_quantile(wall_b) > 0 else math.inf
    return {
        "ratio": ratio,
        "clock": clock,
        "wall_ratio": wall_ratio,
        "student_median_s": est_s,
        "baseline_median_s": est_b,
        "student_spread": _spread(times_s),
        "baseline_spread": _spread(times_b),
        "repeats": check.repeats,
        "number": n_s,
        "baseline_number": n_b,
        "warmup": check.warmup,
        "device": device,
        "full_ratio": check.full_ratio,
        "zero_ratio": check.zero_ratio,
        "baseline": check.baseline,
    }
