"""Benchmarks: harness overhead per submission and grading throughput.

    python -m harness.bench [--assignment detection] [--submissions 8] [--jobs 2]

Every figure is printed next to a baseline measured in the same run:

* worker start (sandbox + interpreter + torch import + package import) vs. a bare
  ``python -c "import torch"`` on the host;
* a round trip through the sandbox protocol (small call, 1 MB tensor) vs. the same call in-process;
* grading one submission (sandboxed, hidden tests, speed checks) vs. running the same tests
  in-process against the imported reference (the tests' own compute);
* throughput of a batch of N copies of the reference with ``--jobs``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _median_time(fn, repeats: int) -> tuple[float, float]:
    xs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t0)
    return statistics.median(xs), (max(xs) - min(xs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CV3 harness benchmarks")
    parser.add_argument("--assignment", default="detection")
    parser.add_argument("--submissions", type=int, default=8, help="batch size for throughput")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import torch

    from harness.batch import grade_batch
    from harness.grading.proxy import StudentSession
    from harness.manifest import find_assignment
    from harness.sandbox import make_sandbox
    from harness.store import ResultStore
    from harness.submissions import SubmissionSource, stage

    a = find_assignment(args.assignment)
    sandbox = make_sandbox(a)
    desc = sandbox.describe()
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, "
          f"sandbox {desc['backend']}/{desc['isolation']}, cgroups={desc['cgroups']}")

    tmp = Path(tempfile.mkdtemp(prefix="cv3_bench_"))
    try:
        staged = stage(SubmissionSource("reference", a.reference_dir), a.package, tmp / "ref")

        # 1. worker start vs. bare interpreter + torch import
        bare, bare_spread = _median_time(
            lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True), args.repeats)

        def start_and_stop():
            s = StudentSession(sandbox, staged, package=a.package, api=a.api,
                               forbidden_modules=a.forbidden_modules)
            s.start()
            s.close()

        start, start_spread = _median_time(start_and_stop, args.repeats)
        print(f"worker ready (sandbox + python + torch + package): {start * 1000:7.0f} ms "
              f"(spread {start_spread * 1000:.0f} ms)")
        print(f"baseline: bare `python -c 'import torch'`:          {bare * 1000:7.0f} ms "
              f"(spread {bare_spread * 1000:.0f} ms)")
        print(f"  -> sandbox start overhead: {(start - bare) * 1000:+.0f} ms, ratio {start / bare:.2f}x")

        # 2. transport: small call and a 1 MB tensor, vs. in-process
        s = StudentSession(sandbox, staged, package=a.package, api=a.api,
                           forbidden_modules=a.forbidden_modules)
        s.start()
        boxes = torch.rand(8, 4) * 10
        boxes[:, 2:] += boxes[:, :2]
        big = torch.rand(512, 512)
        msg_small = {"op": "call", "target": "box_iou", "args": [boxes, boxes]}
        msg_big = {"op": "call", "target": "sigmoid_focal_loss", "args": [big, (big > 0.5).float()]}
        for _ in range(20):
            s.request(msg_small)
        small, _ = _median_time(lambda: s.request(msg_small), 200)
        bigt, _ = _median_time(lambda: s.request(msg_big), 30)
        s.close()
        sys.path.insert(0, str(a.reference_root))
        from harness.authoring import load_package_as

        ref = load_package_as(a.reference_dir, "cv3_bench_reference")
        small_local, _ = _median_time(lambda: ref.box_iou(boxes, boxes), 200)
        big_local, _ = _median_time(lambda: ref.sigmoid_focal_loss(big, (big > 0.5).float()), 30)
        print(f"round trip, small call:   {small * 1e3:6.2f} ms  (in-process {small_local * 1e3:.3f} ms)")
        print(f"round trip, 2x1 MB in, 1 MB out: {bigt * 1e3:6.2f} ms  (in-process {big_local * 1e3:.3f} ms)")

        # 3. one submission: sandboxed grading vs. the same tests in-process
        import pytest

        t0 = time.perf_counter()
        env = dict(os.environ, CV3_STUDENT_DIR=str(a.reference_root))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                        str(a.public_tests_dir), str(a.hidden_tests_dir), "-o", "addopts="],
                       env=env, check=False, capture_output=True)
        inproc = time.perf_counter() - t0
        del pytest

        from harness.grading.grade import Grader

        grader = Grader(a, sandbox=sandbox)
        t0 = time.perf_counter()
        r = grader.grade(SubmissionSource("reference", a.reference_dir))
        one = time.perf_counter() - t0
        grader.close()
        overhead = r.timings.get("worker_start_s", 0.0) * 1 + max(0.0, r.timings.get("call_s", 0.0) -
                                                                  r.timings.get("calls", 0) * small_local)
        print(f"grade one submission: {one:.2f} s (score {r.score:g}/{r.max_score:g}; tests "
              f"{r.timings.get('tests_s', 0):.2f} s, speed checks {r.timings.get('speed_s', 0):.2f} s, "
              f"{r.timings.get('calls', 0)} calls)")
        print(f"baseline: same tests in-process, no sandbox (pytest subprocess): {inproc:.2f} s")
        print(f"  -> harness overhead per submission (worker start + transport): "
              f"{r.timings.get('worker_start_s', 0) + r.timings.get('calls', 0) * small:.2f} s")

        # 4. throughput
        batch = tmp / "batch"
        batch.mkdir()
        for i in range(args.submissions):
            shutil.copytree(staged, batch / f"student{i:03d}")
        store = ResultStore(tmp / "bench.sqlite")
        summary = grade_batch(a, [SubmissionSource(p.name, p) for p in sorted(batch.iterdir())],
                              store, jobs=args.jobs, progress=None)
        per_hour = len(summary.graded) / summary.wall_s * 3600
        print(f"throughput: {len(summary.graded)} submissions in {summary.wall_s:.1f} s with "
              f"--jobs {args.jobs}: {per_hour:.0f} submissions/hour (target >= 300)")
        print(f"  -> vs. one-at-a-time estimate from step 3: {3600 / one:.0f}/hour, "
              f"ratio {per_hour / (3600 / one):.2f}x")
        del overhead
    finally:
        sandbox.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
