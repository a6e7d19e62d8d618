"""Benchmarks: harness overhead per submission and grading throughput, per sandbox backend.

    python -m harness.bench [--backends local,docker] [--batch 50] [--jobs 2]
    python -m harness.bench --mot [--repeats 5]
    python -m harness.bench --coco [--repeats 5]
    python -m harness.bench --stability-only [--stability-regrades 10]
    python -m harness.bench --dask [--dask-batch 8]


Every figure is printed next to a baseline measured in the same run:

* worker ready (sandbox + interpreter + torch import + package import) vs. a bare
  ``python -c "import torch"`` on the host;
* a round trip through the sandbox protocol (small call, 1 MB tensors) vs. the same call
  in-process;
* grading one submission (sandboxed: hidden + public tests, speed checks) vs. the same tests
  run in-process by pytest against the reference (the tests' own compute);
* throughput: a batch of N copies of the reference with ``--jobs``, per backend, and the ratio
  between backends.

The stability figure (``--stability``, run by default unless ``--no-stability``; only it with
``--stability-only``): correct submissions written independently of the reference (the
documented alternatives of the speed checks, harness/calibrate.py) are graded
``--stability-regrades`` times each, with ``--jobs`` 1 and 2, with and without a background CPU
hog (one busy process per core); per condition and speed check it prints the ratios and the
spread of the points over the regrades (max - min), plus the spread a submission with the same
ratio spread would have in the middle of the band (the worst case: in the full band points never
move).

``--mot`` benchmarks the trusted MOT evaluator instead (harness/metrics/mot.py, used by the
tracking accuracy checks): its full evaluation (CLEAR-MOT, identity, MT/PT/ML, fragmentations
and HOTA) against motmetrics (accumulator + ``compute_many``) and against TrackEval (its HOTA,
CLEAR and Identity classes on the same arrays; skipped when TrackEval is not installed) on the
held-out tracking split, scored on the reference tracker's output, with both speed ratios
(target: at least 10x faster than each), a check that every motmetrics count agrees and that
every HOTA number is TrackEval's to 1e-9.

``--dask`` (only it) grades a batch of copies of the reference with the Dask executor on a
LocalCluster of 1, 2 and 3 worker processes and with the local pool of as many processes, and
prints both throughputs and the distributed path's overhead per submission (target: under 0.2 s
more than local).

``--coco`` (only it; run by default unless ``--no-coco``) benchmarks the trusted COCO evaluator
(harness/metrics/coco.py, used by the detectors accuracy check): its time against pycocotools
(``COCO`` index, ``loadRes``, ``evaluate``, ``accumulate``, ``summarize``) on a 500-image,
8,000-detection case with crowd regions and small / medium / large objects, with the speed
ratio (target: at least 2x faster) and a check that all 12 stats are identical.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import statistics
import subprocess
import sys
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
        labels = (big > 0.5).float()
        for _ in range(20):
            s.call("box_iou", [boxes, boxes])
        out["rtt_small"], _ = _median(lambda: s.call("box_iou", [boxes, boxes]), 200)
        out["rtt_big"], _ = _median(lambda: s.call("sigmoid_focal_loss", [big, labels]), 30)
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

    import torch

    from harness.authoring import load_package_as
    from harness.manifest import find_assignment
    from harness.metrics.mot import benchmark_mot
    from harness.grading.context import trusted_function

    a = find_assignment("tracking")
    calls, targets = trusted_function(a, "accuracy_cases:hidden_sequences")()
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
    try:
        import trackeval  # noqa: F401
        with_trackeval = True
    except ImportError:
        with_trackeval = False
        print("[mot] TrackEval is not installed (pip install trackeval): HOTA is neither timed against it nor checked")
    out = benchmark_mot(pairs, repeats=repeats, trackeval=with_trackeval)
    overall = out["overall"]
    print(f"[mot] held-out tracking split: {out['sequences']} sequences, {out['frames']} frames, "
          f"{out['gt_rows']} gt boxes, {out['pred_rows']} predicted boxes (reference tracker, {track_s:.2f} s)")
    print(f"[mot] harness evaluator, full (CLEAR, identity, MT/PT/ML, Frag, HOTA) {out['harness_s'] * 1e3:.1f} ms "
          f"(median of {repeats})")
    print(f"[mot]   vs motmetrics (CLEAR, identity, MT/PT/ML, Frag) {out['motmetrics_s'] * 1e3:.1f} ms "
          f"-> {out['speedup']:.1f}x faster (target >= 10x)")
    if with_trackeval:
        print(f"[mot]   vs TrackEval (HOTA, CLEAR, Identity) {out['trackeval_s'] * 1e3:.1f} ms "
              f"-> {out['speedup_trackeval']:.1f}x faster (target >= 10x)")
    print(f"[mot] counts equal to motmetrics: {'yes' if out['equal_counts'] else 'NO'}; overall MOTA "
          f"{overall['mota']:.4f}, IDF1 {overall['idf1']:.4f}, MOTP {overall['motp']:.4f}, "
          f"IDSW {overall['num_switches']}, FP {overall['num_false_positives']}, FN {overall['num_misses']}, "
          f"MT/PT/ML {overall['mostly_tracked']}/{overall['partially_tracked']}/{overall['mostly_lost']}, "
          f"Frag {overall['num_fragmentations']}")
    if with_trackeval:
        print(f"[mot] HOTA equal to TrackEval's (1e-9): {'yes' if out['equal_hota'] else 'NO'} (largest difference "
              f"{out['hota_max_abs_diff']:.1e}); overall HOTA {overall['hota']:.4f}, DetA {overall['deta']:.4f}, "
              f"AssA {overall['assa']:.4f}, LocA {overall['loca']:.4f}")
    for m in out["mismatches"][:10]:
        print(f"[mot]   mismatch: {m}")
    return out


def coco_benchmark(repeats: int = 5) -> dict:
    """Harness COCO evaluator vs pycocotools on a 500-image, 8,000-detection case (printed and
    returned)."""
    from harness.metrics.coco import STAT_NAMES, benchmark_case, benchmark_coco

    gt, detections = benchmark_case(500, 16)
    out = benchmark_coco(gt, detections, repeats=repeats)
    print(f"[coco] case: {out['images']} images, {out['annotations']} gt boxes ({out['crowd']} crowd), "
          f"{out['detections']} detections, {len(gt['categories'])} categories")
    print(f"[coco] harness evaluator {out['harness_s'] * 1e3:.1f} ms (IQR {out['harness_iqr_s'] * 1e3:.1f}) vs "
          f"pycocotools {out['pycocotools_s'] * 1e3:.1f} ms (IQR {out['pycocotools_iqr_s'] * 1e3:.1f}) "
          f"(median of {repeats}) -> {out['speedup']:.1f}x faster (target >= 2x)")
    print(f"[coco] all 12 stats identical to pycocotools: {'yes' if out['identical'] else 'NO'}; precision and "
          f"recall arrays identical: {'yes' if out['arrays_identical'] else 'NO'}; "
          + ", ".join(f"{n} {out['stats'][n]:.4f}" for n in STAT_NAMES))
    for m in out["mismatches"][:12]:
        print(f"[coco]   mismatch: {m}")
    return out


@contextlib.contextmanager
def cpu_hog(processes: int | None = None):
    """Busy-looping processes (one per core by default) for the duration of the block; they
    are ended by their own pids afterwards."""
    n = processes or os.cpu_count() or 1
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        yield hogs
    finally:
        for p in hogs:
            p.kill()
        for p in hogs:
            p.wait()


def stability_submissions(a, dest: Path, limit: int = 2) -> dict[str, Path]:
    """Up to ``limit`` correct submissions written independently of the reference: submission i
    overrides every speed check's target with that check's i-th documented alternative."""
    from harness.calibrate import build_submission
    from harness.grading.context import GradingContext

    per_check = []
    with GradingContext(a, speed=False) as ctx:
        for c in a.speed:
            if c.alternatives:
                alts = ctx.trusted(c.alternatives)()
                per_check.append([(n, v["source"]) for n, v in alts.items() if v.get("kind") == "documented"])
    per_check = [p for p in per_check if p]
    if not per_check:
        return {}
    made = {}
    for i in range(min(limit, max(len(p) for p in per_check))):
        picks = [p[i % len(p)] for p in per_check]
        name = "+".join(n for n, _ in picks)
        made[name] = build_submission(a, dest / f"sub{i}", "\n".join(src for _, src in picks))
    return made


def _speed_figures(result) -> dict[str, dict]:
    out = {}
    for t in result.tasks:
        for c in t.checks:
            if c.kind == "speed":
                d = c.details or {}
                out[t.id] = {"ratio": d.get("ratio"), "points": c.score, "clock": d.get("clock"),
                             "wall_ratio": d.get("wall_ratio"), "message": c.message}
    return out


_STABILITY_GRADER = None


def _stability_init(assignment_name: str, root: str, tasks: list[str], speed_lock: str) -> None:
    global _STABILITY_GRADER
    from multiprocessing.util import Finalize

    from harness.grading.context import GradingContext
    from harness.manifest import find_assignment

    a = find_assignment(assignment_name, Path(root))
    _STABILITY_GRADER = GradingContext(a, tasks=tasks, speed_lock=Path(speed_lock))
    Finalize(_STABILITY_GRADER, _STABILITY_GRADER.close, exitpriority=10)


def _stability_grade(name: str, path: str) -> dict[str, dict]:
    from harness.submissions import SubmissionSource

    return _speed_figures(_STABILITY_GRADER.grade(SubmissionSource(name, Path(path))))


def _grade_many(a, tasks, jobs: int, todo: list[tuple[str, Path]], lock: Path) -> list[tuple[str, dict]]:
    """Grade ``todo`` (name, path) like ``cv3 grade --jobs``: one process per job, each with its
    own grading context (sandbox, baseline workers), sharing one speed lane."""
    import concurrent.futures as cf
    import multiprocessing

    from harness.grading.context import GradingContext
    from harness.submissions import SubmissionSource

    if jobs <= 1:
        with GradingContext(a, tasks=tasks, speed_lock=lock) as ctx:
            return [(n, _speed_figures(ctx.grade(SubmissionSource(n, p)))) for n, p in todo]
    mp = multiprocessing.get_context("forkserver")
    with cf.ProcessPoolExecutor(jobs, mp_context=mp, initializer=_stability_init,
                                initargs=(a.name, str(a.root.parent.parent), tasks, str(lock))) as pool:
        futures = [(n, pool.submit(_stability_grade, n, str(p))) for n, p in todo]
        return [(n, f.result()) for n, f in futures]


def stability_benchmark(assignment: str = "detection", *, regrades: int = 5, jobs: tuple[int, ...] = (1, 2),
                        hog: tuple[bool, ...] = (False, True), submissions: int = 2) -> dict:
    """Grades the same correct submissions ``regrades`` times under each condition (jobs x hog)
    and prints, per speed check, the ratios and the spread of the points (printed and returned)."""
    from harness.manifest import find_assignment

    from harness.tmp import scratch_dir

    a = find_assignment(assignment)
    checks = {c.id: c for c in a.speed}
    tasks = sorted({c.requires for c in a.speed})
    tmp = scratch_dir("stability")
    figures: dict = {"conditions": [], "max_points_spread": 0.0, "max_mid_band_spread": 0.0}
    try:
        subs = stability_submissions(a, tmp, submissions)
        if not subs:
            print(f"[stability] '{assignment}': no speed check names documented alternatives; skipped")
            return figures
        print(f"[stability] {assignment}: {len(subs)} submission(s) ({', '.join(subs)}), {regrades} regrades each, "
              f"tasks {tasks}; bands: " + ", ".join(f"{c.id} {c.full_ratio:g}-{c.zero_ratio:g}x"
                                                      for c in checks.values()))
        for with_hog in hog:
            for j in jobs:
                todo = [(n, p) for _ in range(regrades) for n, p in subs.items()]
                t0 = time.perf_counter()
                with contextlib.ExitStack() as stack:
                    if with_hog:
                        stack.enter_context(cpu_hog())
                    graded = _grade_many(a, tasks, j, todo, tmp / f"speed-{j}-{with_hog}.lock")
                wall = time.perf_counter() - t0
                cond = {"jobs": j, "hog": with_hog, "wall_s": wall, "rows": []}
                print(f"[stability] --jobs {j}, {'with' if with_hog else 'without'} a CPU hog on every core "
                      f"({wall:.0f} s):")
                for name in subs:
                    for cid, c in checks.items():
                        got = [g[cid] for n, g in graded if n == name and cid in g]
                        ratios = [x["ratio"] for x in got if x["ratio"] is not None]
                        points = [x["points"] for x in got]
                        if not ratios:
                            msg = got[0]["message"][:200] if got else "not graded"
                            print(f"    {cid:<16} {name}: not measured ({msg})")
                            continue
                        spread = max(points) - min(points)
                        mid = c.points * math.log(max(ratios) / min(ratios)) / math.log(c.zero_ratio / c.full_ratio)
                        clocks = sorted({x["clock"] for x in got})
                        print(f"    {cid:<16} {name}: ratio {min(ratios):.2f} / {statistics.median(ratios):.2f} / "
                              f"{max(ratios):.2f} (min/median/max, {'+'.join(clocks)}), points "
                              f"{min(points):g}-{max(points):g} of {c.points:g} (spread {spread:.1f}); "
                              f"mid-band spread {mid:.2f}")
                        cond["rows"].append({"check": cid, "submission": name, "ratios": ratios, "points": points,
                                             "points_spread": spread, "mid_band_spread": mid})
                        figures["max_points_spread"] = max(figures["max_points_spread"], spread)
                        figures["max_mid_band_spread"] = max(figures["max_mid_band_spread"], mid)
                figures["conditions"].append(cond)
        print(f"[stability] largest points spread over regrades: {figures['max_points_spread']:.2f} "
              f"(target <= 0.5); largest mid-band spread: {figures['max_mid_band_spread']:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def dask_benchmark(assignment: str = "detection", *, batch: int = 8, workers: tuple[int, ...] = (1, 2, 3),
                   speed: bool = False) -> dict:
    """Throughput of the Dask executor with 1, 2, 3 grading nodes on this machine (a LocalCluster
    of worker processes, one job slot each) next to the local pool with as many processes, on
    the same batch of ``batch`` copies of the reference; and the per-submission overhead of the
    distributed path (printed and returned)."""
    import distributed

    from harness.batch import grade_batch
    from harness.executors.dask import DaskExecutor
    from harness.manifest import find_assignment
    from harness.store import ResultStore
    from harness.submissions import SubmissionSource, stage
    from harness.tmp import scratch_dir

    a = find_assignment(assignment)
    tmp = scratch_dir("bench")
    out: dict = {"local": {}, "dask": {}}
    try:
        staged = stage(SubmissionSource("reference", a.reference_dir), a.package, tmp / "ref")
        subs = tmp / "batch"
        for i in range(batch):
            shutil.copytree(staged, subs / f"student{i:03d}")
        sources = [SubmissionSource(p.name, p) for p in sorted(subs.iterdir())]

        def figures(summary) -> dict:
            n = len(summary.graded)
            inside = sum(r.timings.get("total_s", 0.0) for r in summary.graded)
            # warm jobs only: a node's first job starts its grading process, as a pool process does
            dispatch = sorted(r.timings.get("dispatch_s", 0.0) for r in summary.graded
                              if not r.timings.get("node_cold")) or [0.0]
            return {"wall_s": summary.wall_s, "per_hour": n / summary.wall_s * 3600, "per_sub_s": summary.wall_s / n,
                    "grading_s": inside / n, "full": sum(abs(r.score - r.max_score) < 1e-6 for r in summary.graded),
                    "dispatch_median_s": statistics.median(dispatch), "dispatch_max_s": dispatch[-1]}

        for k in workers:
            store = ResultStore(tmp / f"local{k}.sqlite")
            f = out["local"][k] = figures(grade_batch(a, sources, store, jobs=k, speed=speed, progress=None))
            print(f"[dask] local pool, --jobs {k}: {batch} submissions in {f['wall_s']:.1f} s, "
                  f"{f['per_hour']:.0f}/hour ({f['per_sub_s']:.2f} s each; {f['full']} at full marks)")
            cluster = distributed.LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                                               resources={"CPU": 1}, dashboard_address=None, memory_limit=0,
                                               silence_logs=40)
            client = distributed.Client(cluster, set_as_default=False)
            try:
                client.wait_for_workers(k, timeout=120)
                store = ResultStore(tmp / f"dask{k}.sqlite")
                summary = grade_batch(a, sources, store, speed=speed, progress=None,
                                      executor=DaskExecutor(client=client))
                f = out["dask"][k] = figures(summary)
                nodes = sorted({r.environment.get("node", "?") for r in summary.graded})
            finally:
                client.close()
                cluster.close()
            print(f"[dask] dask, {k} worker(s): {batch} submissions in {f['wall_s']:.1f} s, "
                  f"{f['per_hour']:.0f}/hour ({f['per_sub_s']:.2f} s each; {f['full']} at full marks; "
                  f"{len(nodes)} node(s) used) -> {f['per_hour'] / out['local'][k]['per_hour']:.2f}x the local "
                  f"pool's throughput; dispatch overhead of warm jobs: median {f['dispatch_median_s']:.3f} s")
        one_l, one_d = out["local"][workers[0]], out["dask"][workers[0]]
        out["overhead_s"] = one_d["per_sub_s"] - one_l["per_sub_s"]
        out["dispatch_s"] = max(f["dispatch_median_s"] for f in out["dask"].values())
        print(f"[dask] per-submission overhead of the distributed path: median {out['dispatch_s']:.3f} s between "
              "sending a job and storing its result, beyond the grading itself (scheduling, shipping the files, "
              "the node's checks; jobs on a node whose grading process was already running, as in a local "
              "pool after its first submission; worst median over the worker counts; target < 0.2 s)")
        print(f"[dask] wall time per submission, {workers[0]} worker vs --jobs {workers[0]}: "
              f"{one_d['per_sub_s']:.2f} s vs {one_l['per_sub_s']:.2f} s ({out['overhead_s']:+.2f} s; grading itself "
              f"{one_d['grading_s']:.2f} s vs {one_l['grading_s']:.2f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def hang_benchmark(assignments: tuple[str, ...] = ("detection", "tracking")) -> dict[str, dict]:
    """The cost of a submission whose every function hangs, next to the honest reference's, with
    the manifest's default limits (target: at most 2 minutes)."""
    from harness.grading.context import GradingContext
    from harness.manifest import find_assignment
    from harness.submissions import SubmissionSource
    from harness.tmp import scratch_dir

    out = {}
    for name in assignments:
        a = find_assignment(name)
        tmp = scratch_dir("bench")
        try:
            pkg = tmp / "hangs" / a.package
            shutil.copytree(a.stub_dir, pkg, ignore=shutil.ignore_patterns("__pycache__"))
            (pkg / "__init__.py").write_text((pkg / "__init__.py").read_text() + "\nimport time as _t\n" + "".join(
                f"\ndef {n}(*args, **kwargs):\n    while True:\n        _t.sleep(1)\n" for n in a.api))
            with GradingContext(a) as ctx:
                t0 = time.perf_counter()
                honest = ctx.grade(SubmissionSource("reference", a.reference_dir))
                honest_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                hung = ctx.grade(SubmissionSource("hangs", tmp / "hangs"))
                hung_s = time.perf_counter() - t0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        zero = all(t.score == 0 for t in hung.tasks)
        out[name] = {"honest_s": honest_s, "honest_score": honest.score, "hung_s": hung_s,
                     "hang_s": hung.timings.get("hang_s"), "zero": zero}
        print(f"[hang] {name} (call limit {a.limits.call_timeout_s:g} s, hang budget {a.limits.hang_budget_s:g} s): "
              f"every function hangs: {hung_s:.1f} s, score {hung.score:g} (every check zero: {zero}); "
              f"the honest reference: {honest_s:.1f} s (target: hanging submission <= 120 s)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CV3 harness benchmarks")
    parser.add_argument("--assignment", default="detection")
    parser.add_argument("--backends", default="local,docker", help="comma-separated; unavailable ones are skipped")
    parser.add_argument("--batch", type=int, default=50, help="submissions in the throughput batch")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mot", action="store_true",
                        help="benchmark the MOT evaluator against motmetrics and TrackEval (only that)")
    parser.add_argument("--no-mot", action="store_true", help="skip the MOT evaluator section")
    parser.add_argument("--coco", action="store_true",
                        help="benchmark the COCO evaluator against pycocotools (only that)")
    parser.add_argument("--no-coco", action="store_true", help="skip the COCO evaluator section")
    parser.add_argument("--dask", action="store_true",
                        help="only the Dask executor: throughput with 1, 2, 3 workers next to the local pool's, "
                        "and the per-submission overhead (needs the dask extra)")
    parser.add_argument("--dask-batch", type=int, default=8, help="submissions per --dask measurement (default 8)")
    parser.add_argument("--hang", action="store_true", help="only the cost of a submission that hangs everywhere")
    parser.add_argument("--no-hang", action="store_true", help="skip the hanging-submission section")
    parser.add_argument("--stability", action="store_true", default=True,
                        help="speed points over regrades, jobs 1 and 2, with and without a CPU hog (default)")
    parser.add_argument("--no-stability", dest="stability", action="store_false", help="skip the stability figure")
    parser.add_argument("--stability-only", action="store_true", help="only the stability figure")
    parser.add_argument("--stability-regrades", type=int, default=5,
                        help="regrades per submission and condition (default 5, about 5 minutes on a quiet "
                             "2-core machine; 10 for the acceptance figure, about twice that)")
    parser.add_argument("--stability-submissions", type=int, default=2, help="submissions graded (default 2)")
    args = parser.parse_args(argv)
    if args.mot:
        out = mot_benchmark(args.repeats)
        return 0 if out["equal_counts"] and out["equal_hota"] else 1
    if args.coco:
        out = coco_benchmark(args.repeats)
        return 0 if out["identical"] and out["speedup"] >= 2.0 else 1
    if args.hang:
        hang_benchmark()
        return 0
    if args.dask:
        out = dask_benchmark(args.assignment, batch=args.dask_batch)
        return 0 if out["dispatch_s"] < 0.2 else 1
    if args.stability_only:
        out = stability_benchmark(args.assignment, regrades=args.stability_regrades,
                                  submissions=args.stability_submissions)
        return 0 if out["max_points_spread"] <= 0.5 else 1

    import torch

    from harness.authoring import load_package_as
    from harness.manifest import find_assignment
    from harness.submissions import SubmissionSource, stage
    from harness.tmp import scratch_dir

    a = find_assignment(args.assignment)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, torch {torch.__version__}, "
          f"cuda {torch.cuda.is_available()}")
    tmp = scratch_dir("bench")
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
    if not args.no_coco:
        coco_benchmark(args.repeats)
    if not args.no_hang:
        hang_benchmark()
    if args.stability:
        stability_benchmark(args.assignment, regrades=args.stability_regrades,
                            submissions=args.stability_submissions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
