"""``cv3 calibrate``: speed bands from measurements instead of guesses.

For every ``[[speed]]`` check the reference and the check's documented alternatives (its
``alternatives`` reference: a trusted function in the hidden tests folder returning
``{name: {"kind": "documented" | "naive", "source": ..., "doc": ...}}``; each ``source`` is
appended to the reference package's ``__init__.py`` to override the timed function) are graded
``regrades`` times each through the real grader (sandbox, the task's tests as gate, the speed
check's own measurement), interleaved so that drift hits every solution alike. Then:

* ``full_ratio`` = 1.5 x the worst ratio of any reference or documented solution (rounded up to
  two significant digits): what the README teaches must keep full points with margin;
* ``zero_ratio`` <= the naive solutions' best ratio / 1.25 (rounded down), so that a naive loop
  keeps scoring zero; aiming at 4 x ``full_ratio`` (enough room for partial credit) and never
  above that cap. When the cap is below 4 x full the table says so: the naive loop is then too
  close to what the README documents for a wider band.

The proposal is printed (and returned by :func:`propose_band`); the manifest is not edited.
Exit status 0 when every solution could be graded and the documented and naive ratios can be
separated; 1 otherwise.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harness.manifest import Assignment

FULL_MARGIN = 1.5  # full_ratio over the slowest documented solution's worst ratio
NAIVE_MARGIN = 1.25  # the naive solutions' best ratio over zero_ratio
BAND_WIDTH = 4.0  # zero_ratio / full_ratio aimed at


@dataclass
class Solution:
    name: str
    kind: str  # "reference" | "documented" | "naive"
    source: str = ""
    doc: str = ""
    ratios: list[float] = field(default_factory=list)
    points: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ratios) if self.ratios else math.nan


@dataclass
class Band:
    full_ratio: float
    zero_ratio: float
    ok: bool
    notes: list[str]


def _sig_ceil(x: float, digits: int = 2) -> float:
    if not math.isfinite(x) or x <= 0:
        return x
    step = 10 ** (math.floor(math.log10(x)) - digits + 1)
    return round(math.ceil(x / step - 1e-9) * step, 10)


def _sig_floor(x: float, digits: int = 2) -> float:
    if not math.isfinite(x) or x <= 0:
        return x
    step = 10 ** (math.floor(math.log10(x)) - digits + 1)
    return round(math.floor(x / step + 1e-9) * step, 10)


def propose_band(solutions: list[Solution]) -> Band:
    """full_ratio / zero_ratio from the measured ratios (see the module docstring)."""
    notes: list[str] = []
    must_pass = [s for s in solutions if s.kind in ("reference", "documented") and s.ratios]
    naive = [s for s in solutions if s.kind == "naive" and s.ratios]
    if not must_pass:
        return Band(math.nan, math.nan, False, ["no reference or documented solution was measured"])
    slowest = max(must_pass, key=lambda s: max(s.ratios))
    worst = max(slowest.ratios)
    full = _sig_ceil(FULL_MARGIN * worst)
    notes.append(f"full_ratio = {FULL_MARGIN:g} x {worst:.2f} (worst ratio of '{slowest.name}', the slowest "
                 f"documented solution) = {FULL_MARGIN * worst:.2f} -> {full:g}")
    target = BAND_WIDTH * full
    if not naive:
        notes.append(f"no naive solution measured: zero_ratio = {BAND_WIDTH:g} x full_ratio = {_sig_ceil(target):g}")
        return Band(full, _sig_ceil(target), True, notes)
    fastest_naive = min(naive, key=lambda s: min(s.ratios))
    best = min(fastest_naive.ratios)
    cap = _sig_floor(best / NAIVE_MARGIN)
    if cap >= target:
        zero = _sig_ceil(target)
        notes.append(f"zero_ratio = {BAND_WIDTH:g} x full_ratio = {zero:g}, below the best ratio of the naive "
                     f"'{fastest_naive.name}' ({best:.2f}) / {NAIVE_MARGIN:g} = {best / NAIVE_MARGIN:.2f}")
    else:
        zero = cap
        notes.append(f"zero_ratio = best ratio of the naive '{fastest_naive.name}' ({best:.2f}) / {NAIVE_MARGIN:g} "
                     f"-> {zero:g}: below the {BAND_WIDTH:g} x full_ratio = {target:g} aimed at, because the naive "
                     f"loop is only {best / worst:.1f}x slower than the slowest documented solution")
    ok = zero > full * 1.05
    if not ok:
        notes.append("CANNOT SEPARATE: a naive solution is as fast as a documented one within the margins; "
                     "change the case (more work per call) or what the README documents")
    return Band(full, zero, ok, notes)


def build_submission(assignment: Assignment, dest: Path, source: str = "") -> Path:
    """The reference package copied to ``dest/<package>`` with ``source`` appended to its
    ``__init__.py`` (after ``import torch``); returns ``dest``."""
    pkg = dest / assignment.package
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(assignment.reference_dir, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if source:
        init = pkg / "__init__.py"
        init.write_text(init.read_text() + "\nimport torch\n" + source)
    return dest


def solutions_of(ctx, check) -> list[Solution]:
    """The reference plus the check's alternatives (none when the check names no ``alternatives``)."""
    out = [Solution("reference", "reference", "", "the reference solution")]
    if check.alternatives:
        alternatives = ctx.trusted(check.alternatives)()
        for name, alt in alternatives.items():
            kind = alt.get("kind", "documented")
            if kind not in ("documented", "naive"):
                raise ValueError(f"{check.alternatives}: '{name}' has kind {kind!r}; "
                                 "allowed: 'documented', 'naive'")
            out.append(Solution(name, kind, alt["source"], alt.get("doc", "")))
    return out


def measure_solutions(assignment: Assignment, check, *, regrades: int, sandbox=None,
                      progress: TextIO | None = None) -> list[Solution]:
    """Grade every solution ``regrades`` times (round-robin) through the real grader, restricted
    to the check's required task; returns the solutions with their ratios (and errors)."""
    from harness.grading.context import GradingContext
    from harness.submissions import SubmissionSource
    from harness.tmp import scratch_dir

    with GradingContext(assignment, sandbox=sandbox, tasks=[check.requires]) as ctx:
        solutions = solutions_of(ctx, check)
        root = scratch_dir("calibrate", ctx.scratch)
        paths = {s.name: build_submission(assignment, root / s.name, s.source) for s in solutions}
        for r in range(regrades):
            for s in solutions:
                result = ctx.grade(SubmissionSource(s.name, paths[s.name]))
                task = next((t for t in result.tasks if t.id == check.id), None)
                speed = task.checks[0] if task and task.checks else None
                ratio = (speed.details or {}).get("ratio") if speed else None
                if ratio is None or not math.isfinite(ratio):
                    why = speed.message if speed else (result.error or "no result for the check")
                    s.errors.append(why)
                    if progress:
                        print(f"  [{check.id}] {s.name} #{r + 1}: not measured: {why[:300]}", file=progress)
                    continue
                s.ratios.append(float(ratio))
                s.points.append(task.score)
                if progress:
                    print(f"  [{check.id}] {s.name} #{r + 1}: {ratio:.2f}x ({task.score:g}/{task.points:g} points)",
                          file=progress, flush=True)
    return solutions


def format_table(check, solutions: list[Solution], band: Band) -> str:
    from harness.grading.speed import speed_points

    proposed = dataclasses.replace(check, full_ratio=band.full_ratio, zero_ratio=band.zero_ratio) \
        if band.ok else None
    head = f"{'solution':<22} {'kind':<10} {'ratios':<30} {'median':>7} {'points now':>11} {'proposed':>9}"
    lines = [head, "-" * len(head)]
    for s in solutions:
        ratios = ", ".join(f"{r:.2f}" for r in s.ratios) if s.ratios else "not measured"
        now = "—" if not s.ratios else "/".join(f"{p:g}" for p in sorted(set(s.points)))
        prop = "—" if not s.ratios or proposed is None else \
            "/".join(f"{p:g}" for p in sorted({speed_points(r, proposed) for r in s.ratios}))
        median = f"{s.median:.2f}" if s.ratios else "—"
        lines.append(f"{s.name:<22} {s.kind:<10} {ratios:<30} {median:>7} {now:>11} {prop:>9}")
        for e in s.errors[:1]:
            lines.append(f"    not measured: {e[:200]}")
    return "\n".join(lines)


def calibrate(assignment: Assignment, *, regrades: int = 3, checks: list[str] | None = None,
              sandbox=None, out: TextIO | None = None) -> int:
    """Time the reference and the documented alternatives of each speed check through the
    grader and print a table and a proposed band per check. 0 when every band could be
    proposed and every solution was measured, 1 otherwise."""
    out = out or sys.stdout
    speed = [c for c in assignment.speed if not checks or c.id in checks]
    if checks:
        unknown = set(checks) - {c.id for c in assignment.speed}
        if unknown:
            print(f"no speed check {sorted(unknown)} in '{assignment.name}' "
                  f"(it has {[c.id for c in assignment.speed]})", file=out)
            return 1
    if not speed:
        print(f"'{assignment.name}' has no speed checks", file=out)
        return 1
    if regrades < 1:
        print("--regrades must be at least 1", file=out)
        return 1
    status = 0
    for check in speed:
        print(f"\n== {check.id}: {check.target} vs. {check.baseline}, {regrades} regrade(s) per solution "
              f"(now full <= {check.full_ratio:g}x, zero >= {check.zero_ratio:g}x)", file=out, flush=True)
        if not check.alternatives:
            print("  (no 'alternatives' in the manifest: only the reference is timed)", file=out)
        solutions = measure_solutions(assignment, check, regrades=regrades, sandbox=sandbox, progress=out)
        band = propose_band(solutions)
        print(format_table(check, solutions, band), file=out)
        for note in band.notes:
            print(f"  {note}", file=out)
        missing = [s.name for s in solutions if s.errors]
        if missing:
            print(f"  NOT MEASURED every time: {missing} (a documented solution must pass the task's tests)",
                  file=out)
        if band.ok:
            print(f"  proposed: full_ratio = {band.full_ratio:g}, zero_ratio = {band.zero_ratio:g}", file=out)
        if missing or not band.ok:
            status = 1
    return status
