"""`nox -s gpu`: on a machine with a GPU, every CUDA test and the GPU speed checks.

    python -m harness.gpu [--out gpu-figures.md] [--regrades 5] [--assignments a,b]

1. The CUDA cases of every assignment's public and hidden tests, run against the reference
   (pytest ``-k cuda``).
2. The speed checks of every assignment on CUDA: the reference graded ``--regrades`` times, its
   ratio against the baseline (torchvision's CUDA kernels, or the reference model) each time, and
   the spread of the points (a verdict must not change between regrades).

Only trusted code runs here (the references), so the process sandbox is used where bubblewrap
is missing. Without a GPU it says so and exits 0: CI has none.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path


def _plugin_args() -> list[str]:
    """Load the test kit explicitly where its entry point is not installed (a bare GPU machine)."""
    names = {ep.name for ep in metadata.entry_points(group="pytest11")}
    return [] if "cv3" in names else ["-p", "harness.testkit"]


def cuda_tests(a, root: Path) -> dict:
    env = dict(os.environ, CV3_STUDENT_DIR=str(a.reference_root))
    dirs = [str(d) for d in (a.public_tests_dir, a.hidden_tests_dir) if d.is_dir()]
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *dirs, "-k", "cuda", "-q", "-p", "no:cacheprovider",
                           *_plugin_args()], cwd=root, env=env, capture_output=True, text=True)
    tail = (done.stdout + done.stderr).strip().splitlines()
    summary = next((ln for ln in reversed(tail) if re.search(r"\d+ (passed|failed|skipped|deselected)", ln)),
                   tail[-1] if tail else "")
    return {"exit": done.returncode, "summary": summary.strip("= "), "s": time.perf_counter() - t0,
            "failures": [ln for ln in tail if ln.startswith("FAILED")][:20]}


def gpu_speed(a, regrades: int) -> list[dict]:
    from harness.grading.context import GradingContext, gpu_description
    from harness.sandbox.local import LocalSandbox, bubblewrap_available
    from harness.submissions import SubmissionSource

    if not a.speed:
        return []
    sandbox = LocalSandbox(limits=a.limits, gpu=True,
                           isolation="bubblewrap" if bubblewrap_available() else "none-trusted-code")
    rows: dict[str, dict] = {}
    try:
        with GradingContext(a, sandbox=sandbox, device="cuda",
                            tasks=sorted({s.requires for s in a.speed})) as ctx:
            for _ in range(regrades):
                r = ctx.grade(SubmissionSource("reference", a.reference_dir))
                for t in r.tasks:
                    for c in t.checks:
                        if c.kind == "speed":
                            row = rows.setdefault(t.id, {"check": t.id, "ratios": [], "points": [],
                                                         "max": t.points, "clock": "", "message": ""})
                            row["ratios"].append(c.details.get("ratio"))
                            row["points"].append(t.score)
                            row["clock"] = c.details.get("clock", "")
                            row["baseline"] = c.details.get("baseline", "")
                            row["message"] = c.message
            gpu = gpu_description()
    finally:
        sandbox.close()
    for row in rows.values():
        row.update(gpu)
    return list(rows.values())


def main(argv: list[str] | None = None) -> int:
    import torch

    from harness.manifest import list_assignments, repo_root

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu-figures.md")
    parser.add_argument("--regrades", type=int, default=5)
    parser.add_argument("--assignments", default="", help="comma-separated (default: all)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to run (the CUDA tests skip themselves on CPU machines)")
        return 0
    wanted = {x for x in args.assignments.split(",") if x}
    assignments = [a for a in list_assignments() if not wanted or a.name in wanted]
    lines = [f"# GPU figures ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}", ""]
    lines += ["## CUDA tests (against the reference)", "", "| assignment | result | time |", "|---|---|---|"]
    ok = True
    for a in assignments:
        res = cuda_tests(a, repo_root())
        ok &= res["exit"] in (0, 5)
        lines.append(f"| {a.name} | {res['summary']} | {res['s']:.0f} s |")
        lines += [f"|  | {f} | |" for f in res["failures"]]
        print(f"[cuda tests] {a.name}: {res['summary']}", flush=True)
    lines += ["", f"## Speed checks on the GPU ({args.regrades} regrades of the reference)", "",
              "| check | baseline | ratios | points (min-max of max) | clock | device, driver |",
              "|---|---|---|---|---|---|"]
    for a in assignments:
        for row in gpu_speed(a, args.regrades):
            ratios = [r for r in row["ratios"] if isinstance(r, (int, float))]
            spread = f"{min(row['points']):g}-{max(row['points']):g} of {row['max']:g}"
            med = f"median {statistics.median(ratios):.2f}x, {min(ratios):.2f}-{max(ratios):.2f}" if ratios else "—"
            lines.append(f"| {a.name}/{row['check']} | {row.get('baseline', '')} | {med} | {spread} | "
                         f"{row['clock']} | {row.get('gpu', '')}, driver {row.get('driver', '?')} |")
            print(f"[gpu speed] {a.name}/{row['check']}: {med}; points {spread}", flush=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
