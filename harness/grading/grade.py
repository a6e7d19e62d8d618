"""Grading one submission end to end: stage, sandbox, tests, speed checks, score.

Fails closed: anything that goes wrong scores zero on what it affects and says why; an error
is never a pass, and one submission can never stop the batch.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.util
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

from harness import __version__
from harness.grading.proxy import RemoteStudent, StudentCrash, StudentSession
from harness.grading.runner import TestOutcome, run_tests
from harness.grading.speed import measure, speed_points
from harness.manifest import Assignment, repo_root
from harness.results import CheckResult, SubmissionResult, TaskResult
from harness.sandbox.local import LocalSandbox
from harness.submissions import (SubmissionError, SubmissionSource, content_hash,
                                 forbidden_imports, stage, syntax_errors)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _environment(assignment: Assignment, backend: str, device: str) -> dict[str, Any]:
    import torchvision

    return {
        "device": device if device == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "harness": __version__,
        "seed": assignment.seed,
        "backend": backend,
        "host": platform.node(),
    }


@contextlib.contextmanager
def _data_packages_importable():
    """Trusted test code imports cv3data; from a source checkout that is not installed it lives
    in datasets/."""
    root = repo_root() / "datasets"
    added = root.is_dir() and importlib.util.find_spec("cv3data") is None and str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        yield
    finally:
        if added and str(root) in sys.path:
            sys.path.remove(str(root))


class Grader:
    """Grades submissions of one assignment; keeps one clean baseline worker for speed checks.

    ``sandbox`` is any backend with ``start_worker(staged, hide_modules=...)`` and ``describe()``.
    """

    def __init__(self, assignment: Assignment, *, sandbox=None, tasks: list[str] | None = None,
                 speed: bool = True, device: str | None = None) -> None:
        self.assignment = assignment
        self.sandbox = sandbox or LocalSandbox(limits=assignment.limits)
        self.only_tasks = set(tasks) if tasks else None
        self.speed_enabled = speed
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._baselines: dict[str, StudentSession] = {}
        self._cases: dict[str, Any] = {}

    # -- public -----------------------------------------------------------------------------
    def grade(self, source: SubmissionSource) -> SubmissionResult:
        started, t_start = _now(), time.perf_counter()
        result = SubmissionResult(
            assignment=self.assignment.name, submission_id=source.id, status="graded",
            score=0.0, max_score=self._max_score(), started_at=started,
            environment=_environment(self.assignment, self.sandbox.describe()["backend"], self.device),
            sandbox=self.sandbox.describe(),
        )
        self._outputs: dict[tuple, tuple] = {}  # accuracy outputs of this submission
        workdir = Path(tempfile.mkdtemp(prefix="cv3_stage_"))
        try:
            self._grade_into(result, source, workdir)
        except Exception as e:  # noqa: BLE001 - a harness bug must not stop the batch
            result.status = "error"
            result.error = f"internal grading error ({type(e).__name__}: {e}); nothing was scored"
            result.warnings.append(traceback.format_exc()[-3000:])
            self._zero_everything(result, result.error)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        result.score = round(sum(t.score for t in result.tasks), 4)
        result.finished_at = _now()
        result.timings["total_s"] = round(time.perf_counter() - t_start, 3)
        return result

    def close(self) -> None:
        for session in self._baselines.values():
            session.close()
            if session.staged is not None:
                shutil.rmtree(session.staged.parent, ignore_errors=True)
        self._baselines = {}

    # -- steps ------------------------------------------------------------------------------
    def _max_score(self) -> float:
        return (sum(t.points for t in self._tasks()) + sum(s.points for s in self._speed_checks())
                + sum(c.points for c in self._accuracy_checks()))

    def _tasks(self):
        return [t for t in self.assignment.tasks if self.only_tasks is None or t.id in self.only_tasks]

    def _speed_checks(self):
        if not self.speed_enabled:
            return []
        return [s for s in self.assignment.speed
                if self.only_tasks is None or s.id in self.only_tasks or s.requires in self.only_tasks]

    def _accuracy_checks(self):
        return [c for c in self.assignment.accuracy
                if self.only_tasks is None or c.id in self.only_tasks or c.requires in self.only_tasks]

    def _zero_everything(self, result: SubmissionResult, message: str) -> None:
        result.tasks = [
            TaskResult(t.id, t.title, t.points, 0.0,
                       [CheckResult(t.id, "submission", "static", False, 0.0, t.points, message)])
            for t in self._tasks()
        ] + [
            TaskResult(s.id, s.title, s.points, 0.0,
                       [CheckResult(s.id, f"speed:{s.target}", "speed", False, 0.0, s.points, message)])
            for s in self._speed_checks()
        ] + [
            TaskResult(c.id, c.title, c.points, 0.0,
                       [CheckResult(c.id, f"accuracy:{c.entry}", "accuracy", False, 0.0, c.points, message)])
            for c in self._accuracy_checks()
        ]

    def _grade_into(self, result: SubmissionResult, source: SubmissionSource, workdir: Path) -> None:
        a = self.assignment
        try:
            staged = stage(source, a.package, workdir / "submission")
        except SubmissionError as e:
            result.status = "error"
            result.error = f"malformed submission: {e}"
            self._zero_everything(result, result.error)
            return
        result.source_sha256 = content_hash(staged)
        errors = syntax_errors(staged)
        if errors:
            result.status = "error"
            result.error = "the package has syntax errors, so it cannot be imported:\n" + "\n".join(errors[:20])
            self._zero_everything(result, result.error)
            return
        result.warnings += forbidden_imports(staged, a.forbidden_modules)

        outcomes: list[TestOutcome] = []
        session = StudentSession(self.sandbox, staged, package=a.package, api=a.api,
                                 forbidden_modules=a.forbidden_modules, seed=a.seed,
                                 total_timeout_s=a.total_timeout_s)
        try:
            try:
                session.start()
            except StudentCrash:
                pass  # every check below fails with session.fatal as its message
            outcomes, errors, tests_s = self._run_tests(session)
            if errors:
                result.status = "error"
                result.error = ("grading error: the hidden or public tests could not be collected; "
                                "nothing was scored. Ask the course staff.")
                result.warnings += [f"(grader) {e}" for e in errors]
            by_task: dict[str, list[TestOutcome]] = defaultdict(list)
            for o in outcomes:
                by_task[o.task or "?"].append(o)
            stray = [o.name for o in outcomes if o.task not in {t.id for t in a.tasks}]
            if stray:
                result.warnings.append(f"(grader) tests without a known task marker were ignored: {stray[:5]}")
            for task in self._tasks():
                result.tasks.append(self._score_task(task, by_task.get(task.id, []), errors))

            t_speed = time.perf_counter()
            for check in self._speed_checks():
                result.tasks.append(self._speed_task(check, session, result))
            result.timings["speed_s"] = round(time.perf_counter() - t_speed, 3)
            t_acc = time.perf_counter()
            for check in self._accuracy_checks():
                result.tasks.append(self._accuracy_task(check, session, result))
            result.timings["accuracy_s"] = round(time.perf_counter() - t_acc, 3)
            result.timings["tests_s"] = round(tests_s, 3)
        finally:
            session.close()
        if session.crashes:
            result.warnings.append(f"the worker crashed {len(session.crashes)} time(s); first: "
                                   f"{session.crashes[0][:500]}")
        if session.import_error is not None:
            result.error = f"importing the package '{a.package}' failed:\n{session.import_error}"
        elif session.fatal:
            result.warnings.append(session.fatal[:3000])
        skipped = [o for o in outcomes if o.outcome == "skipped"]
        if skipped:
            reasons = sorted({o.message.removeprefix("Skipped: ") for o in skipped})
            result.warnings.append(f"{len(skipped)} test(s) skipped, not counted: {'; '.join(reasons)[:300]}")
        result.environment.update({f"worker_{k}": v for k, v in session.info.items()})
        result.timings["worker_start_s"] = round(session.start_time_s, 3)
        result.timings["worker_starts"] = session.starts
        result.timings["calls"] = session.calls
        result.timings["call_s"] = round(session.call_time_s, 3)

    def _run_tests(self, session: StudentSession):
        a = self.assignment
        suites = {"public": a.public_tests_dir, "hidden": a.hidden_tests_dir}
        suites = {k: v for k, v in suites.items() if v.is_dir()}
        with _data_packages_importable():
            return run_tests(RemoteStudent(session), suites, repo_root(), only_tasks=self.only_tasks)

    def _score_task(self, task, outcomes: list[TestOutcome], errors: list[str]) -> TaskResult:
        # skipped tests (CUDA cases without a GPU) count neither for nor against anyone
        counted = [o for o in outcomes if o.outcome != "skipped"]
        if errors or not counted:
            msg = "no tests ran for this task" if not errors else "tests could not be collected"
            return TaskResult(task.id, task.title, task.points, 0.0,
                              [CheckResult(task.id, "task", "static", False, 0.0, task.points, msg)])
        per_test = round(task.points / len(counted), 4)
        checks = [
            CheckResult(task=task.id, name=o.name, kind="test", passed=o.outcome == "passed",
                        score=per_test if o.outcome == "passed" else 0.0, max_score=per_test,
                        message=o.message if o.outcome != "passed" else "",
                        duration_s=round(o.duration_s, 4), details={"suite": o.suite})
            for o in counted
        ]
        passed = sum(o.outcome == "passed" for o in counted)
        score = round(task.points * passed / len(counted), 4)
        return TaskResult(task.id, task.title, task.points, score, checks)

    def _speed_task(self, check, session: StudentSession, result: SubmissionResult) -> TaskResult:
        name = f"speed:{check.target}"
        required = next((t for t in result.tasks if t.id == check.requires), None)
        if required is None or required.score < required.points - 1e-9:
            msg = (f"speed is graded only once every test of task '{check.requires}' passes "
                   "(correctness first)")
            return TaskResult(check.id, check.title, check.points, 0.0,
                              [CheckResult(check.id, name, "speed", False, 0.0, check.points, msg)])
        try:
            args, kwargs = self._case(check)
            baseline = self._baseline_session(check.baseline)
            figures = measure(check, session.request, baseline.request, args, kwargs,
                              call_timeout_s=self.assignment.limits.call_timeout_s,
                              device=self.device)
        except (StudentCrash, Exception) as e:  # noqa: BLE001 - fail closed
            msg = f"the speed check could not be completed: {type(e).__name__}: {e}"
            return TaskResult(check.id, check.title, check.points, 0.0,
                              [CheckResult(check.id, name, "speed", False, 0.0, check.points, msg[:3000])])
        points = speed_points(figures["ratio"], check)
        passed = points >= check.points - 1e-9
        msg = "" if passed else (
            f"{figures['ratio']:.1f}x the baseline's time ({check.baseline}); full points at "
            f"<= {check.full_ratio:g}x, zero at >= {check.zero_ratio:g}x")
        return TaskResult(check.id, check.title, check.points, points,
                          [CheckResult(check.id, name, "speed", passed, points, check.points, msg,
                                       round(figures["student_median_s"] * figures["repeats"], 4),
                                       figures)])

    def _trusted(self, ref: str):
        """A function of the hidden tests folder, given as 'module:function' (trusted code)."""
        module_name, func = ref.split(":")
        path = self.assignment.hidden_tests_dir / f"{module_name}.py"
        key = f"cv3_trusted_{self.assignment.name}_{module_name}"
        module = sys.modules.get(key)
        if module is None:
            if not path.is_file():
                raise FileNotFoundError(f"trusted module {path} not found")
            spec = importlib.util.spec_from_file_location(key, path)
            module = importlib.util.module_from_spec(spec)
            with _data_packages_importable():
                spec.loader.exec_module(module)
            sys.modules[key] = module
        return getattr(module, func)

    def _case(self, check):
        if check.case not in self._cases:
            self._cases[check.case] = self._trusted(check.case)(device=self.device)
        return self._cases[check.case]

    def _accuracy_task(self, check, session: StudentSession, result: SubmissionResult) -> TaskResult:
        name = f"accuracy:{check.entry}"

        def zero(msg: str, details: dict | None = None) -> TaskResult:
            return TaskResult(check.id, check.title, check.points, 0.0,
                              [CheckResult(check.id, name, "accuracy", False, 0.0, check.points, msg[:4000],
                                           details=details or {"metric": check.metric, "floor": check.floor,
                                                               "target": check.target})])

        if check.requires:
            required = next((t for t in result.tasks if t.id == check.requires), None)
            if required is None or required.score < required.points - 1e-9:
                return zero(f"accuracy is graded only once every test of task '{check.requires}' passes")
        # checks that share entry point and data (MOTA and IDF1 of one tracking run) score the
        # same outputs: the submission runs once per submission, not once per metric
        key = (check.entry, check.data, check.train, check.train_data)
        cached = self._outputs.get(key)
        if cached is not None:
            outputs, train_s, predict_s, calls = cached
            return self._score_accuracy(check, name, zero, outputs, train_s, predict_s, len(calls))
        train_s = 0.0
        if check.train:
            t0 = time.perf_counter()
            try:
                if check.train_data not in self._cases:
                    self._cases[check.train_data] = self._trusted(check.train_data)()
                args, kwargs = self._cases[check.train_data]
                session.request({"op": "call", "target": check.train, "args": list(args),
                                 "kwargs": dict(kwargs)}, timeout=check.train_timeout_s)
            except StudentCrash as e:
                return zero(f"{check.train} (training, budget {check.train_timeout_s:g} s) failed: {e}")
            except Exception as e:  # noqa: BLE001 - fail closed
                return zero(f"{check.train} (training) raised {type(e).__name__}: {e}")
            train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            if check.data not in self._cases:
                self._cases[check.data] = self._trusted(check.data)()
            calls, targets = self._cases[check.data]
            deadline = time.monotonic() + check.timeout_s
            outputs = []
            for args, kwargs in calls:
                left = deadline - time.monotonic()
                if left <= 0:
                    return zero(f"the submission's {check.entry} used up the check's time budget of "
                                f"{check.timeout_s:g} s after {len(outputs)} of {len(calls)} batches")
                outputs.append(session.request({"op": "call", "target": check.entry, "args": list(args),
                                                "kwargs": dict(kwargs)}, timeout=left))
        except StudentCrash as e:
            return zero(f"{check.entry} failed: {e}")
        except (ValueError, TypeError, IndexError, KeyError, RuntimeError, NotImplementedError,
                AttributeError, ZeroDivisionError, OverflowError) as e:
            return zero(f"{check.entry} raised {type(e).__name__}: {e}")
        except Exception as e:  # noqa: BLE001 - fail closed
            return zero(f"{check.entry} could not be evaluated: {type(e).__name__}: {e}")
        predict_s = time.perf_counter() - t0
        self._outputs[key] = (outputs, train_s, predict_s, calls)
        return self._score_accuracy(check, name, zero, outputs, train_s, predict_s, len(calls))

    def _score_accuracy(self, check, name, zero, outputs, train_s, predict_s, batches) -> TaskResult:
        targets = self._cases[check.data][1]
        try:
            value, details = self._trusted(check.scorer)(outputs, targets)
            value = float(value)
        except ValueError as e:  # the scorer's verdict on malformed outputs
            return zero(f"malformed output from {check.entry}: {e}")
        if value != value:  # nan
            return zero(f"the metric {check.metric} is not a number")
        frac = min(1.0, max(0.0, (value - check.floor) / (check.target - check.floor)))
        points = round(check.points * frac, 2)
        details = {**details, "metric": check.metric, "value": value, "floor": check.floor,
                   "target": check.target, "predict_s": round(predict_s, 3), "batches": batches}
        if check.train:
            details["train_s"] = round(train_s, 3)
        passed = points >= check.points - 1e-9
        msg = "" if passed else (f"{check.metric} = {value:.4f}: {check.floor:g} or less scores 0, "
                                 f"{check.target:g} or more scores full points")
        return TaskResult(check.id, check.title, check.points, points,
                          [CheckResult(check.id, name, "accuracy", passed, points, check.points, msg,
                                       round(predict_s, 3), details)])

    def _baseline_session(self, baseline: str = "") -> StudentSession:
        """A clean worker for the speed baseline: a library (``torchvision.ops.nms``) or, for
        ``reference:<name>``, a worker holding the reference package (e.g. a model's predict),
        never the submission. Kept for the whole batch."""
        key = "reference" if baseline.startswith("reference:") else "library"
        session = self._baselines.get(key)
        if session is not None and session.worker is not None:
            return session
        a = self.assignment
        if key == "reference":
            staged = stage(SubmissionSource("reference", a.reference_dir), a.package,
                           Path(tempfile.mkdtemp(prefix="cv3_baseline_")) / "reference")
            session = StudentSession(self.sandbox, staged, package=a.package, api=a.api,
                                     forbidden_modules=a.forbidden_modules, seed=a.seed,
                                     total_timeout_s=float("inf"))
            session.start()
        else:
            session = StudentSession(self.sandbox, None, package="", api=[], seed=a.seed,
                                     total_timeout_s=float("inf"))
            session.worker = self.sandbox.start_worker(None)
            reply = session.worker.request({"op": "hello", "baseline": True, "threads": 1},
                                           timeout=a.limits.start_timeout_s)
            if not reply.get("ok"):
                raise RuntimeError("the baseline worker did not start")
        self._baselines[key] = session
        return session
