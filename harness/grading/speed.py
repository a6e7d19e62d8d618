"""Speed checks: the submission's time over a trusted baseline's, timed in the same run.

Both sides run in sandboxed workers on the same inputs (stashed in each worker first, so no
transfer is timed); the clock is the trusted side's (``perf_counter`` around a request whose
reply comes only after the calls, and after ``cuda.synchronize`` on a GPU). Warm-up first, then
repeats interleaved in ABBA order so drift hits both sides alike; the figure is the ratio of
medians, with the spread (IQR / median) of each side reported.

Points: full at or below ``full_ratio``, zero at or above ``zero_ratio``, log-linear between,
rounded to a tenth of a point. The band edges sit an order of magnitude apart, so the few-percent
noise of a median moves a score by a fraction of a point and never flips pass to fail.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from harness.manifest import SpeedCheck


def speed_points(ratio: float, check: SpeedCheck) -> float:
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


def _timed(request, target, key: str, number: int, timeout: float) -> float:
    t0 = time.perf_counter()
    request({"op": "run", "target": target, "key": key, "number": number}, timeout)
    return (time.perf_counter() - t0) / number


def measure(check: SpeedCheck, student_request, baseline_request, args: tuple, kwargs: dict,
            *, call_timeout_s: float, device: str = "cpu") -> dict[str, Any]:
    """Returns the figures; raises whatever the student's requests raise (a crash or a timeout
    during timing scores zero, like any other failure)."""
    key = f"speed:{check.id}"
    baseline_target = check.baseline.removeprefix("reference:")
    payload = {"op": "put", "key": key, "args": list(args), "kwargs": kwargs}
    student_request(payload, call_timeout_s)
    baseline_request(payload, call_timeout_s)

    # One call each to size the repeats: at least min_time_s per repeat on each side.
    single_b = _timed(baseline_request, baseline_target, key, 1, call_timeout_s)
    single_s = _timed(student_request, check.target, key, 1, call_timeout_s)
    n_b = max(1, min(10_000, math.ceil(check.min_time_s / max(single_b, 1e-7))))
    n_s = max(1, min(10_000, math.ceil(check.min_time_s / max(single_s, 1e-7))))
    for _ in range(check.warmup):
        _timed(baseline_request, baseline_target, key, n_b, call_timeout_s)
        _timed(student_request, check.target, key, n_s, call_timeout_s)

    times_b, times_s = [], []
    for r in range(check.repeats):
        order = ((baseline_request, baseline_target, n_b, times_b),
                 (student_request, check.target, n_s, times_s))
        for request, target, n, out in (order if r % 2 == 0 else order[::-1]):
            out.append(_timed(request, target, key, n, call_timeout_s))

    med_b, med_s = statistics.median(times_b), statistics.median(times_s)
    ratio = med_s / med_b if med_b > 0 else math.inf
    return {
        "ratio": ratio,
        "student_median_s": med_s,
        "baseline_median_s": med_b,
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
