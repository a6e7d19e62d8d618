"""Benchmarks: harness overhead per submission and grading throughput, per sandbox backend.

    python -m harness.bench [--backends local,docker] [--batch 50] [--jobs 2]
    python -m harness.bench --mot [--repeats 5]


Every figure is printed next to a baseline measured in the same run:

* worker ready (sandbox + interpreter + torch import + package import) vs. a bare
  ``python -c "import torch"`` on the host;
* a round trip through the sandbox protocol (small call, 1 MB tensors) vs. the same call
  in-process;
* grading one submission (sandboxed: hidden + public tests, speed checks) vs. the same tests
  run in-process by pytest against the reference (the tests' own compute);
* throughput: a batch of N copies of the reference with ``--jobs``, per backend, and the ratio
  between backends.

``--mot`` benchmarks the trusted MOT evaluator instead (harness/metrics/mot.py, used by the
tracking accuracy checks): its time against motmetrics (accumulator + ``compute_many``) on the
held-out tracking split, scored on the reference tracker's output, with the speed ratio
(target: at least 10x faster) and a check that every count agrees.
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


def _median(fn, repeats: int) -> tuple[float, float]:
    xs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t0)
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return statistics.median(xs), (q[2] - q[0])


def _backend_figures(name, a, staged, batch_dir, args, bare, local_calls) -> dict:
    import torch

    from harness.batch import grade_batch
    from harness.grading.grade import Grader
    from harness.grading.proxy import StudentSession
    from harness.sandbox import make_sandbox
    from harness.store import ResultStore
    from harness.submissions import SubmissionSource

    sandbox = make_sandbox(a, backend=name)
    out: dict = {}
    try:
        def start_and_stop():
            s = StudentSession(sandbox, staged, package=a.package, api=a.api,
                               forbidden_modules=a.forbidden_modules)
            s.start()
            s.close()

        start_and_stop()  # warm file caches
        out["start"], out["start_iqr"] = _median(start_and_stop, args.repeats)
        print(f"[{name}] worker ready: {out['start'] * 1e3:.0f} ms (IQR {out['start_iqr'] * 1e3:.0f} ms); "
              f"bare `python -c 'import torch'`: {bare * 1e3:.0f} ms -> ratio {out['start'] / bare:.2f}x, "
              f"sandbox cost {(out['start'] - bare) * 1e3:+.0f} ms")

        s = StudentSession(sandbox, staged, package=a.package, api=a.api, forbidden_modules=a.forbidden_modules)
        s.start()
        boxes = torch.rand(8, 4) * 10
        boxes[:, 2:] += boxes[:, :2]
        big = torch.rand(512, 512)
        small_msg = {"op": "call", "target": "box_iou", "args": [boxes, boxes]}
        big_msg = {"op": "call", "target": "sigmoid_focal_loss", "args": [big, (big > 0.5).float()]}
        for _ in range(20):
            s.request(small_msg)
        out["rtt_small"], _ = _median(lambda: s.request(small_msg), 200)
        out["rtt_big"], _ = _median(lambda: s.request(big_msg), 30)
        s.close()
        print(f"[{name}] round trip: small call {out['rtt_small'] * 1e3:.2f} ms "
              f"(in-process {local_calls[0] * 1e3:.3f} ms); 2 x 1 MB in, 1 MB out {out['rtt_big'] * 1e3:.2f} ms "
              f"(in-process {local_calls[1] * 1e3:.2f} ms)")

        grader = Grader(a, sandbox=sandbox)
        grader.grade(SubmissionSource("warmup", staged))
        t0 = time.perf_counter()
        r = grader.grade(SubmissionSource("reference", staged))
        out["one"] = time.perf_counter() - t0
        grader.close()
        calls = r.timings.get("calls", 0)
        out["overhead"] = r.timings.get("worker_start_s", 0) + calls * max(0.0, out["rtt_small"] - local_calls[0])
        print(f"[{name}] grade one submission: {out['one']:.2f} s, score {r.score:g}/{r.max_score:g} "
              f"(tests {r.timings.get('tests_s', 0):.2f} s, speed checks {r.timings.get('speed_s', 0):.2f} s, "
              f"{calls} calls)")
        print(f"[{name}] harness overhead per submission (worker start + {calls} x transport): "
              f"{out['overhead']:.2f} s (target < 2 s)")

        store = ResultStore(batch_dir.parent / f"bench-{name}.sqlite")
        sources = [SubmissionSource(p.name, p) for p in sorted(batch_dir.iterdir())]
        summary = grade_batch(a, sources, store, jobs=args.jobs, progress=None,
                              sandbox_options={"backend": name})
        out["batch_s"] = summary.wall_s
        out["per_hour"] = len(summary.graded) / summary.wall_s * 3600
        ok = sum(abs(x.score - x.max_score) < 1e-6 for x in summary.graded)
        print(f"[{name}] batch: {len(summary.graded)} submissions, --jobs {args.jobs}: {summary.wall_s:.1f} s, "
              f"{out['per_hour']:.0f} submissions/hour ({ok} at full marks)")
    finally:
        sandbox.close()
    return out


def mot_benchmark(repeats: int = 5) -> dict:
    """Harness MOT evaluator vs motmetrics on the held-out tracking split (printed and returned)."""
    import importlib.util

    import torch

    from harness.authoring import load_package_as
    from harness.manifest import find_assignment
    from harness.metrics.mot import benchmark_mot

    a = find_assignment("tracking")
    spec = importlib.util.spec_from_file_location("cv3_bench_tracking_cases", a.hidden_tests_dir / "accuracy_cases.py")
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    calls, targets = cases.hidden_sequences()
    ref = load_package_as(a.reference_dir, "cv3_bench_reference_tracking")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        preds = [ref.track_sequence(*args, **kwargs) for args, kwargs in calls]
        track_s = time.perf_counter() - t0
    finally:
        torch.set_num_threads(threads)
    pairs = [(t["gt"], p.double().numpy()) for t, p in zip(targets, preds)]
    out = benchmark_mot(pairs, repeats=repeats)
    overall = out["overall"]
    print(f"[mot] held-out tracking split: {out['sequences']} sequences, {out['frames']} frames, "
          f"{out['gt_rows']} gt boxes, {out['pred_rows']} predicted boxes (reference tracker, {track_s:.2f} s)")
    print(f"[mot] harness evaluator {out['harness_s'] * 1e3:.1f} ms vs motmetrics {out['motmetrics_s'] * 1e3:.1f} ms "
          f"(median of {repeats}) -> {out['speedup']:.1f}x faster (target >= 10x)")
    print(f"[mot] counts equal to motmetrics: {'yes' if out['equal_counts'] else 'NO'}; overall MOTA "
          f"{overall['mota']:.4f}, IDF1 {overall['idf1']:.4f}, MOTP {overall['motp']:.4f}, "
          f"IDSW {overall['num_switches']}, FP {overall['num_false_positives']}, FN {overall['num_misses']}")
    for m in out["mismatches"][:10]:
        print(f"[mot]   mismatch: {m}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CV3 harness benchmarks")
    parser.add_argument("--assignment", default="detection")
    parser.add_argument("--backends", default="local,docker", help="comma-separated; unavailable ones are skipped")
    parser.add_argument("--batch", type=int, default=50, help="submissions in the throughput batch")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mot", action="store_true",
                        help="benchmark the MOT evaluator against motmetrics (only that)")
    parser.add_argument("--no-mot", action="store_true", help="skip the MOT evaluator section")
    args = parser.parse_args(argv)
    if args.mot:
        out = mot_benchmark(args.repeats)
        return 0 if out["equal_counts"] else 1

    import torch

    from harness.authoring import load_package_as
    from harness.manifest import find_assignment
    from harness.submissions import SubmissionSource, stage

    a = find_assignment(args.assignment)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, torch {torch.__version__}, "
          f"cuda {torch.cuda.is_available()}")
    tmp = Path(tempfile.mkdtemp(prefix="cv3_bench_"))
    try:
        staged = stage(SubmissionSource("reference", a.reference_dir), a.package, tmp / "ref")
        batch = tmp / "batch"
        batch.mkdir()
        for i in range(args.batch):
            shutil.copytree(staged, batch / f"student{i:03d}")

        bare, _ = _median(lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True),
                          args.repeats)
        ref = load_package_as(a.reference_dir, "cv3_bench_reference")
        boxes = torch.rand(8, 4) * 10
        boxes[:, 2:] += boxes[:, :2]
        big = torch.rand(512, 512)
        local_small, _ = _median(lambda: ref.box_iou(boxes, boxes), 200)
        local_big, _ = _median(lambda: ref.sigmoid_focal_loss(big, (big > 0.5).float()), 30)

        t0 = time.perf_counter()
        env = dict(os.environ, CV3_STUDENT_DIR=str(a.reference_root))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                        str(a.public_tests_dir), str(a.hidden_tests_dir)], env=env, capture_output=True)
        inproc = time.perf_counter() - t0
        print(f"baseline: the same tests in-process (pytest subprocess, no sandbox, no speed checks): {inproc:.2f} s")

        figures = {}
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            try:
                figures[name] = _backend_figures(name, a, staged, batch, args, bare, (local_small, local_big))
            except Exception as e:  # noqa: BLE001 - e.g. no Docker engine: say so and go on
                print(f"[{name}] skipped: {type(e).__name__}: {e}")
        if "local" in figures and "docker" in figures:
            loc, doc = figures["local"], figures["docker"]
            print(f"docker vs. local: worker ready {doc['start'] / loc['start']:.2f}x, "
                  f"batch wall time {doc['batch_s'] / loc['batch_s']:.2f}x, "
                  f"throughput {doc['per_hour'] / loc['per_hour']:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_mot:
        mot_benchmark(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
