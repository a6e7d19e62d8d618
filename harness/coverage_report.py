"""`cv3 check --coverage`: line and branch coverage of a reference package by its tests.

The public and hidden tests run in a subprocess against the reference (``CV3_STUDENT_DIR``),
under coverage.py restricted to the reference package, so the figure says which lines of the
solution a student's mistake could hide in without any test noticing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.manifest import Assignment, repo_root
from harness.tmp import scratch_dir

#: the share of the reference's lines the tests must reach
TARGET = 0.95


def measure(a: Assignment) -> dict:
    """{"lines": fraction, "branches": fraction, "files": {name: {...}}, "missing": {name: [lines]}}"""
    import shutil

    tmp = scratch_dir("coverage")
    try:
        data, report = tmp / ".coverage", tmp / "coverage.json"
        dirs = [str(d) for d in (a.public_tests_dir, a.hidden_tests_dir) if d.is_dir()]
        env = dict(os.environ, CV3_STUDENT_DIR=str(a.reference_root), COVERAGE_FILE=str(data))
        datasets = str(repo_root() / "datasets")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (datasets, env.get("PYTHONPATH")) if p)
        run = subprocess.run([sys.executable, "-m", "coverage", "run", "--branch", f"--source={a.reference_dir}",
                              "-m", "pytest", *dirs, "-q", "-p", "no:cacheprovider", "-x", "--no-header"],
                             cwd=repo_root(), env=env, capture_output=True, text=True)
        if run.returncode not in (0, 5):
            raise RuntimeError(f"the tests failed against the reference:\n{(run.stdout + run.stderr)[-2000:]}")
        subprocess.run([sys.executable, "-m", "coverage", "json", "-o", str(report)], cwd=repo_root(), env=env,
                       capture_output=True, text=True, check=True)
        raw = json.loads(report.read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    totals = raw["totals"]
    files, missing = {}, {}
    for path, info in raw["files"].items():
        name = Path(path).name
        s = info["summary"]
        files[name] = {"lines": s["covered_lines"] / max(1, s["num_statements"]),
                       "branches": (s.get("covered_branches", 0) / s["num_branches"]) if s.get("num_branches")
                       else 1.0}
        if info.get("missing_lines"):
            missing[name] = info["missing_lines"]
    return {"lines": totals["covered_lines"] / max(1, totals["num_statements"]),
            "branches": (totals.get("covered_branches", 0) / totals["num_branches"]) if totals.get("num_branches")
            else 1.0,
            "files": files, "missing": missing}


def report_lines(a: Assignment, figures: dict) -> list[str]:
    out = [f"{name}: lines {f['lines']:.1%}, branches {f['branches']:.1%}"
           + (f"; missed lines {figures['missing'][name][:12]}" if name in figures["missing"] else "")
           for name, f in sorted(figures["files"].items())]
    return out
