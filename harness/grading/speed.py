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

Inputs and outputs, so that the figure is the cost of doing the work (docs: "Speed checks that
cannot be gamed"). A case accepting ``variant`` gives a different input per variant (another
seed), generated on the trusted side: every call of the whole measurement gets a variant no call
before it had (as many variants as the student's calls, up to ``STASH_BUDGET_BYTES`` of inputs;
beyond that they cycle, never the same input twice in a row), all stashed in both workers before
the clock starts, so no transfer is timed and memoising inputs gains nothing. The worker summarises
each call's output the moment the call returns (dtype, shape, float64 sums over all elements or
over positions the trusted side draws at random; harness/sandbox/worker.py ``_fingerprint``; of
every call up to ``FINGERPRINT_CALLS`` per run, else of a random draw of that many); every
summary is compared with the baseline's for the same variant, so an output finished later (a
background thread filling it in, a lazy object) or a wrong one scores zero. After timing a few
kept outputs, drawn with ``random.SystemRandom``, come back whole and are compared with the
baseline's (``compare``: ``allclose``, ``exact``, ``same_elements``; ``self`` for models, whose
outputs differ from the reference's: against the submission's own untimed call) and with their own
summaries (an output changed after it was returned). Finally every CPU second the student's
worker spent outside its timed calls during the measurement, beyond what the baseline's worker
spent on the same transfers, is work done in the background: above a tolerance the check scores
zero. Cases without ``variant`` keep the single stashed input (memoisable; ``cv3 check`` warns).

Points: full at or below ``full_ratio``, zero at or above ``zero_ratio``, log-linear between,
rounded to a tenth of a point. Bands come from ``cv3 calibrate`` (harness/calibrate.py).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections import defaultdict
from typing import Any, Callable, Protocol

#: elements of an output summed whole; a larger tensor is summed at PROBES drawn positions
FINGERPRINT_LIMIT = 4096
PROBES = 256
#: stashed inputs per worker and check, and outputs kept for the comparison after timing
STASH_BUDGET_BYTES = 160 << 20
KEEP_BUDGET_BYTES = 48 << 20
MAX_VARIANTS = 512
#: calls of one run whose outputs are summarised (all of them up to this many; else a random draw)
FINGERPRINT_CALLS = 64
#: whole outputs fetched and compared after timing
SAMPLE_OUTPUTS = 6
#: variants only the student's calls reached, run on the baseline after timing for their summaries
MAX_BASELINE_EXTRA = 128
#: CPU time outside the timed calls tolerated (max of the two): GC, decoding, reading /proc
BACKGROUND_TOLERANCE_S = 0.1
BACKGROUND_TOLERANCE_SHARE = 0.25
COMPARE_MODES = ("allclose", "exact", "same_elements", "self")


class TimedSide(Protocol):
    def put(self, key: str, args, kwargs, *, timeout: float | None = None) -> None: ...

    def run(self, target: str, key, number: int, **kw): ...

    def outputs(self, target: str, keys, *, release: str = "", timeout: float | None = None) -> list: ...

    def call(self, target: str, args=(), kwargs=None, *, timeout: float | None = None) -> Any: ...

    def cpu_time_ns(self) -> int | None: ...


class Rejected(Exception):
    """The timed runs are not a measurement of the work: the check scores zero with the message."""


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


def compare_mode(check) -> str:
    """The check's ``compare``; by default ``self`` for a ``reference:`` baseline (a trained
    model's outputs differ from the reference model's), ``allclose`` for a library baseline."""
    mode = getattr(check, "compare", "") or ""
    if mode:
        return mode
    return "self" if str(getattr(check, "baseline", "")).startswith("reference:") else "allclose"


# -- output summaries and comparisons (trusted side) ---------------------------------------------

def _tolerance(dtype: str) -> tuple[float, float]:
    """(rtol, atol) of an allclose comparison, as loose as the hidden tests' or a little looser."""
    if dtype == "float64":
        return 1e-7, 1e-9
    return 1e-4, 1e-5


def _is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat", "complex"))


def fingerprint(value: Any, spec: dict, depth: int = 0) -> Any:
    """The trusted side's twin of the worker's ``_fingerprint`` (harness/sandbox/worker.py), for
    outputs that came back whole; the same summary of the same data."""
    import numpy as np
    import torch

    if depth > 6:
        return {"t": "deep"}
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, torch.Tensor):
        t = value.detach()
        flat = t.reshape(-1)
        n = flat.numel()
        limit, probe = spec.get("limit"), spec.get("probe") or []
        if limit is not None and n > limit and probe:
            flat = flat[torch.tensor([min(n - 1, int(p * n)) for p in probe], device=flat.device)]
        if flat.dtype == torch.bool:
            flat = flat.to(torch.uint8)
        if flat.is_complex():
            flat = torch.view_as_real(flat).reshape(-1)
        sums = [flat.sum(dtype=torch.float64).item(), flat.abs().sum(dtype=torch.float64).item()] if (
            flat.numel()) else [0.0, 0.0]
        return {"t": "tensor", "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                "m": int(flat.numel()), "sums": sums}
    if value is None or type(value) in (bool, int, float, str):
        return {"t": "value", "v": value if type(value) is not float or value == value else "nan"}
    if isinstance(value, (list, tuple)):
        return {"t": type(value).__name__ if type(value) in (list, tuple) else "sequence", "n": len(value),
                "v": [fingerprint(v, spec, depth + 1) for v in list(value)[:64]]}
    if isinstance(value, dict):
        return {"t": "dict", "n": len(value),
                "v": [[k if type(k) in (str, int) else repr(type(k)), fingerprint(v, spec, depth + 1)]
                      for k, v in list(value.items())[:64]]}
    return {"t": "object", "type": f"{type(value).__module__}.{type(value).__qualname__}"}


def _describe_fp(fp: Any) -> str:
    if not isinstance(fp, dict):
        return "a malformed summary"
    t = fp.get("t")
    if t == "tensor":
        return f"a tensor of shape {fp.get('shape')} {fp.get('dtype')}"
    if t == "value":
        return f"the value {fp.get('v')!r}"[:80]
    if t in ("list", "tuple", "dict", "sequence"):
        return f"a {t} of {fp.get('n')} item(s)"
    if t == "object":
        return f"an object of type {fp.get('type')}"[:120]
    return "a value nested too deep"


def _close(a: Any, b: Any, m: int, scale: float, dtype: str, mode: str) -> bool:
    if type(a) not in (int, float) or type(b) not in (int, float):
        return False
    if math.isnan(b) or math.isnan(a):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(b) or math.isinf(a):
        return a == b
    if mode == "exact" or not _is_float(dtype):
        return a == b
    rtol, atol = _tolerance(dtype)
    return abs(a - b) <= m * atol + rtol * abs(scale) + 1e-9 * abs(scale)


def compare_fingerprints(got: Any, expected: Any, mode: str, where: str = "the output") -> str | None:
    """Why the summary of a student's output does not match the expected one (None: it does)."""
    if not isinstance(got, dict) or not isinstance(expected, dict) or got.get("t") != expected.get("t"):
        return f"{where} is {_describe_fp(got)} where {_describe_fp(expected)} was expected"
    t = got["t"]
    if t == "tensor":
        if got.get("dtype") != expected.get("dtype") or got.get("shape") != expected.get("shape") or (
                got.get("m") != expected.get("m")):
            return f"{where} is {_describe_fp(got)} where {_describe_fp(expected)} was expected"
        gs, es = got.get("sums"), expected.get("sums")
        if type(gs) is not list or type(es) is not list or len(gs) != 2 or len(es) != 2:
            return f"{where}: malformed summary"
        m, dtype = int(expected.get("m") or 0), str(expected.get("dtype"))
        if not all(_close(g, e, m, es[1] if type(es[1]) in (int, float) else 0.0, dtype, mode)
                   for g, e in zip(gs, es)):
            return (f"{where} has other values than expected (a tensor of shape {expected.get('shape')}: "
                    f"sum {gs[0]:.6g} where {es[0]:.6g} was expected)")
        return None
    if t == "value":
        g, e = got.get("v"), expected.get("v")
        ok = _close(g, e, 1, e, "float32", mode) if type(e) is float and type(g) is float else g == e
        return None if ok else f"{where} is {g!r} where {e!r} was expected"[:300]
    if t in ("list", "tuple", "sequence", "dict"):
        if got.get("n") != expected.get("n"):
            return f"{where} is {_describe_fp(got)} where {_describe_fp(expected)} was expected"
        gv, ev = got.get("v") or [], expected.get("v") or []
        if len(gv) != len(ev):
            return f"{where}: malformed summary"
        for i, (g, e) in enumerate(zip(gv, ev)):
            if t == "dict":
                if not (isinstance(g, list) and isinstance(e, list) and len(g) == 2 and len(e) == 2 and g[0] == e[0]):
                    return f"{where} has other keys than expected"
                why = compare_fingerprints(g[1], e[1], mode, f"{where}[{e[0]!r}]")
            else:
                why = compare_fingerprints(g, e, mode, f"{where}[{i}]")
            if why:
                return why
        return None
    return f"{where} is {_describe_fp(got)}"


def compare_outputs(got: Any, expected: Any, mode: str, where: str = "the output") -> str | None:
    """Why a student's whole output does not match the expected one, like the hidden tests:
    allclose for floats, exact for integers (``exact``: everything exact; ``same_elements``: the
    same values in any order)."""
    import numpy as np
    import torch

    if isinstance(expected, np.ndarray):
        expected = torch.from_numpy(np.ascontiguousarray(expected))
    if isinstance(got, np.ndarray):
        got = torch.from_numpy(np.ascontiguousarray(got))
    if isinstance(expected, torch.Tensor):
        if type(got) is not torch.Tensor:
            return f"{where} is a {type(got).__name__} where a tensor was expected"
        if got.dtype != expected.dtype or got.shape != expected.shape:
            return (f"{where} is a tensor of shape {list(got.shape)} {str(got.dtype).removeprefix('torch.')} "
                    f"where {list(expected.shape)} {str(expected.dtype).removeprefix('torch.')} was expected")
        g, e = got.detach().cpu(), expected.detach().cpu()
        if mode == "same_elements":
            g, e = g.reshape(-1).sort().values, e.reshape(-1).sort().values
        if g.is_floating_point() or g.is_complex():
            dtype = str(e.dtype).removeprefix("torch.")
            rtol, atol = (0.0, 0.0) if mode == "exact" else _tolerance(dtype)
            ok = torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        else:
            ok = torch.equal(g, e)
        if ok:
            return None
        bad = int((g != e).sum()) if not (g.is_floating_point() or g.is_complex()) else int(
            (~torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)).sum())
        return f"{where} differs from the expected one in {bad} of {e.numel()} element(s)"
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return f"{where} is not a sequence of {len(expected)} item(s)"
        for i, (g, e) in enumerate(zip(got, expected)):
            why = compare_outputs(g, e, mode, f"{where}[{i}]")
            if why:
                return why
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return f"{where} does not have the keys {sorted(map(str, expected))}"[:300]
        for k in expected:
            why = compare_outputs(got[k], expected[k], mode, f"{where}[{k!r}]")
            if why:
                return why
        return None
    if type(expected) is float and type(got) in (int, float) and mode != "exact":
        return None if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5) or (
            math.isnan(got) and math.isnan(expected)) else f"{where} is {got!r} where {expected!r} was expected"
    return None if type(got) is type(expected) and got == expected else (
        f"{where} is {got!r} where {expected!r} was expected"[:300])


def _nbytes(value: Any, depth: int = 0) -> int:
    import numpy as np
    import torch

    if depth > 8:
        return 0
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v, depth + 1) for v in value.values())
    return 0


# -- one side of the measurement -----------------------------------------------------------------

class _Side:
    """One worker's timed runs: the clocks of each, its CPU time inside them, and the output
    summaries it reported per stashed key."""

    def __init__(self, session, target: str, timeout: float, cuda: bool, flush_l2: bool, spec: dict,
                 rng: random.Random) -> None:
        self.session, self.target, self.timeout, self.cuda, self.spec = session, target, timeout, cuda, spec
        self.rng = rng
        self.extra = {"flush_l2": True} if cuda and flush_l2 else {}
        self.keep: list[str] = []
        self.prints: dict[str, list] = defaultdict(list)
        self.window_ns = 0
        self.cursor = 0
        self.calls = 0

    def cpu(self) -> int | None:
        return self.session.cpu_time_ns()

    def __call__(self, keys: list[str], number: int, *, return_output: bool = False):
        """One run of ``number`` calls over ``keys``; (wall, cpu, cuda) per call, and the timing."""
        calls = None if number <= FINGERPRINT_CALLS else sorted(self.rng.sample(range(number), FINGERPRINT_CALLS))
        cpu0 = self.cpu()
        t0 = time.perf_counter()
        timing = self.session.run(self.target, keys, number, cuda_events=self.cuda, timeout=self.timeout,
                                  fingerprint=dict(self.spec, calls=calls), keep=self.keep,
                                  return_output=return_output, **self.extra)
        wall = time.perf_counter() - t0
        cpu1 = self.cpu()
        cpu = (cpu1 - cpu0) / 1e9 if cpu0 is not None and cpu1 is not None else None
        if cpu is not None:
            self.window_ns += cpu1 - cpu0
        prints = getattr(timing, "fingerprints", None)
        indices = range(number) if calls is None else calls
        if type(prints) is not list or len(prints) != len(indices):
            raise Rejected(f"{self.target}: the worker did not report what the timed calls returned "
                           "(its reply was changed)")
        for i, fp in zip(indices, prints):
            self.prints[keys[i % len(keys)]].append(fp)
        self.calls += len(indices)
        cuda_s = getattr(timing, "cuda_s", None)
        return (wall / number, (cpu / number if cpu is not None and cpu > 0 else None),
                (cuda_s / number if cuda_s is not None else None)), timing

    def timed(self, pool: list[str], number: int):
        """The next ``number`` calls, cycling through ``pool`` where this side left off."""
        keys = [pool[(self.cursor + i) % len(pool)] for i in range(min(number, len(pool)))]
        self.cursor += number
        return self(keys, number)[0]


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
            *, call_timeout_s: float, device: str = "cpu",
            variant: Callable[[int], tuple[tuple, dict]] | None = None) -> dict[str, Any]:
    """Returns the figures; raises whatever the student's requests raise (a crash or a timeout
    during timing scores zero, like any other failure). ``args``/``kwargs`` are the case's input
    (variant 0); ``variant(v)`` gives the input of variant ``v`` (None: a case without variants,
    whose one input every call gets). Outputs that do not check out set ``figures["rejected"]``
    to the message the check scores zero with."""
    cuda = device.startswith("cuda")
    flush = bool(getattr(check, "flush_l2", False))
    mode = compare_mode(check)
    rng = random.SystemRandom()
    spec = {"limit": None if mode == "same_elements" else FINGERPRINT_LIMIT,
            "probe": sorted(rng.random() for _ in range(PROBES))}
    side_b = _Side(baseline, check.baseline.removeprefix("reference:"), call_timeout_s, cuda, flush, spec, rng)
    side_s = _Side(student, check.target, call_timeout_s, cuda, flush, spec, rng)
    prefix = f"speed:{check.id}"
    start_s, start_b = side_s.cpu(), side_b.cpu()

    def key_of(v: int) -> str:
        return prefix if variant is None else f"{prefix}:{v}"

    def inputs(v: int) -> tuple[list, dict]:
        if variant is None or v == 0:
            return list(args), dict(kwargs)
        a, k = variant(v)
        return list(a), dict(k)

    def stash(vs) -> None:
        for v in vs:
            a, k = inputs(v)
            student.put(key_of(v), a, k, timeout=call_timeout_s)
            baseline.put(key_of(v), a, k, timeout=call_timeout_s)

    released = False
    try:
        # An untimed call each (one-time costs: lazy imports and kernel loading, the allocator
        # growing to the call's peak), then one call each to size the repeats: at least
        # min_time_s per repeat on each side. Variants 0 and 1: no call sees an input twice.
        stash([0] if variant is None else [0, 1])
        out_b = side_b([key_of(0)], 1, return_output=True)[1].output
        out_s = side_s([key_of(0)], 1, return_output=True)[1].output
        single_b = _per_call(side_b([key_of(1)], 1)[0])
        single_s = _per_call(side_s([key_of(1)], 1)[0])
        n_b = max(1, min(10_000, math.ceil(check.min_time_s / max(single_b, 1e-7))))
        n_s = max(1, min(10_000, math.ceil(check.min_time_s / max(single_s, 1e-7))))

        # The pool of inputs the timed calls cycle through: one per timed call of the student,
        # as many as the memory budget allows.
        timed_calls = (check.warmup + check.repeats) * n_s
        if variant is None:
            pool = [key_of(0)]
        else:
            per_input = max(1, _nbytes((args, kwargs)))
            size = max(2, min(timed_calls, MAX_VARIANTS, STASH_BUDGET_BYTES // per_input))
            pool = [key_of(v) for v in range(2, 2 + size)]
            stash(range(2, 2 + size))
        out_bytes = max(_nbytes(out_b), _nbytes(out_s), 1)
        keep_n = max(1, min(len(pool), KEEP_BUDGET_BYTES // out_bytes))
        side_s.keep = side_b.keep = pool if keep_n >= len(pool) else rng.sample(pool, keep_n)

        for _ in range(check.warmup):
            side_b.timed(pool, n_b)
            side_s.timed(pool, n_s)
        runs_b, runs_s = [], []
        for r in range(check.repeats):
            order = ((side_b, n_b, runs_b), (side_s, n_s, runs_s))
            for side, n, out in (order if r % 2 == 0 else order[::-1]):
                out.append(side.timed(pool, n))

        rejected = _verify(check, mode, side_s, side_b, student, baseline, key_of, inputs, rng,
                           call_timeout_s, variant is not None)
        end_s, end_b = side_s.cpu(), side_b.cpu()
        background_s = None
        if None not in (start_s, start_b, end_s, end_b):
            outside_s = (end_s - start_s - side_s.window_ns) / 1e9
            outside_b = (end_b - start_b - side_b.window_ns) / 1e9
            background_s = outside_s - outside_b
            tolerance = max(BACKGROUND_TOLERANCE_S, BACKGROUND_TOLERANCE_SHARE * side_s.window_ns / 1e9)
            if not rejected and background_s > tolerance:
                rejected = (f"the submission's worker used {background_s:.2f} s of CPU time outside the timed "
                            f"calls of {check.target} during the speed check (tolerated: {tolerance:.2f} s), "
                            "e.g. work done in a background thread; the time a function takes is the time "
                            "until it returns a finished result")
        student.outputs(check.target, [], release=prefix, timeout=call_timeout_s)
        baseline.outputs(side_b.target, [], release=prefix, timeout=call_timeout_s)
        released = True
    finally:
        if not released:
            try:  # the baseline's worker lives on for the whole batch: give its memory back
                baseline.outputs(side_b.target, [], release=prefix, timeout=call_timeout_s)
            except Exception:  # noqa: BLE001 - a broken baseline worker is restarted at its next use
                pass

    clock, times_b, times_s = choose_clock(runs_s, runs_b, cuda)
    wall_b, wall_s = [x[0] for x in runs_b], [x[0] for x in runs_s]
    est_b, est_s = low_quantile(times_b), low_quantile(times_s)
    ratio = est_s / est_b if est_b > 0 else math.inf
    wall_ratio = low_quantile(wall_s) / low_quantile(wall_b) if low_quantile(wall_b) > 0 else math.inf
    figures = {
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
        "variants": len(pool) if variant is not None else 1,
        "compare": mode,
        "checked_calls": side_s.calls,
        "background_cpu_s": None if background_s is None else round(background_s, 4),
    }
    if rejected:
        figures["rejected"] = rejected
    return figures


def _verify(check, mode: str, side_s: _Side, side_b: _Side, student, baseline, key_of, inputs, rng,
            timeout: float, has_variants: bool) -> str | None:
    """Why the outputs of the student's calls do not check out (None: they do).

    Every call's summary against the expected one for its variant (the baseline's; in ``self``
    mode the student's own for the same variant, and for the sampled ones its untimed call's);
    then the sampled outputs whole: against the expected output, and against their own summary
    taken when the call returned (an output changed afterwards was not finished then)."""
    target = check.target

    def variant_of(key: str) -> str:
        return key.rsplit(":", 1)[-1] if has_variants else "0"

    def wrong(key: str, why: str) -> str:
        return f"{target} returned a wrong result during timing (variant {variant_of(key)}): {why}"[:1500]

    expected: dict[str, Any] = {}
    if mode != "self":
        missing = [k for k in side_s.prints if k not in side_b.prints]
        if len(missing) > MAX_BASELINE_EXTRA:  # a student much faster than the baseline: a sample
            missing = rng.sample(missing, MAX_BASELINE_EXTRA)
        if missing:  # variants the baseline's timed runs did not reach: run them now, untimed
            side_b(missing, len(missing))
        expected = {k: side_b.prints[k][0] for k in side_s.prints if k in side_b.prints}
    else:  # the first summary of each variant; later calls of the same variant must agree
        expected = {k: v[0] for k, v in side_s.prints.items()}
    for key, prints in side_s.prints.items():
        if key not in expected:
            continue
        for fp in prints:
            why = compare_fingerprints(fp, expected[key], mode)
            if why:
                return wrong(key, why)

    kept = [k for k in side_s.keep if k in side_s.prints]
    for key in rng.sample(kept, min(SAMPLE_OUTPUTS, len(kept))):
        (got,) = student.outputs(target, [key], timeout=timeout)
        if mode == "self":
            a, k = inputs(int(variant_of(key)))
            cpu0 = side_s.cpu()
            want = student.call(target, a, k, timeout=timeout)
            cpu1 = side_s.cpu()
            if cpu0 is not None and cpu1 is not None:
                side_s.window_ns += cpu1 - cpu0
        else:
            if key in side_b.keep and key in side_b.prints:
                (want,) = baseline.outputs(side_b.target, [key], timeout=timeout)
            else:
                want = side_b([key], 1, return_output=True)[1].output
        why = compare_outputs(got, want, "allclose" if mode == "self" else mode)
        if why:
            return wrong(key, why)
        why = compare_fingerprints(side_s.prints[key][-1], fingerprint(got, side_s.spec), "allclose")
        if why:
            return (f"{target}'s output for variant {variant_of(key)} changed after the call returned (an output "
                    f"must be finished, and left alone, when it is returned): {why}")[:1500]
        if mode == "self":
            why = compare_fingerprints(side_s.prints[key][-1], fingerprint(want, side_s.spec), "allclose")
            if why:
                return wrong(key, why + " (compared with an untimed call on the same input)")
    return None
