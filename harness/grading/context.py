"""The grading context: what grading one assignment needs across many submissions.

It owns the sandbox (unless given one), the clean baseline workers of speed and probe checks,
the trusted test data (built once per batch) and a private scratch folder. Use it with ``with``:
everything it started or wrote is gone afterwards.

    with GradingContext(assignment) as ctx:
        result = ctx.grade(SubmissionSource("alice", Path("submissions/alice")))

Each submission is staged once into the scratch folder; what is hashed is what is graded.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import importlib.util
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from harness import __version__
from harness.checks import kinds_in_order
from harness.grading.proxy import StudentSession
from harness.manifest import Assignment, repo_root
from harness.results import SubmissionResult
from harness.submissions import StagedSubmission, SubmissionError, SubmissionSource, stage_submission
from harness.testkit import sibling_helpers
from harness.tmp import scratch_dir, sweep_stale


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def gpu_description() -> dict[str, str]:
    """Device name and driver of the first GPU (empty without one)."""
    import torch

    if not torch.cuda.is_available():
        return {}
    info = {"gpu": torch.cuda.get_device_name(0), "cuda_runtime": str(torch.version.cuda)}
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            info["driver"] = out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return info


@contextlib.contextmanager
def data_packages_importable():
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


def trusted_module(assignment: Assignment, module_name: str):
    """The module ``module_name`` of ``assignment``'s hidden tests folder (trusted code), imported
    once per process with its sibling helpers and the data packages importable."""
    path = assignment.hidden_tests_dir / f"{module_name}.py"
    # keyed by the file's path: two courses (or test assignments) may share a name and a module
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    key = f"cv3_trusted_{assignment.name}_{module_name}_{digest}"
    module = sys.modules.get(key)
    if module is None:
        if not path.is_file():
            raise FileNotFoundError(f"trusted module {path} not found")
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        with data_packages_importable(), sibling_helpers(assignment.hidden_tests_dir):
            spec.loader.exec_module(module)
        sys.modules[key] = module
    return module


def trusted_function(assignment: Assignment, ref: str) -> Callable:
    """A function of ``assignment``'s hidden tests folder, given as 'module:function'."""
    module_name, func = ref.split(":")
    module = trusted_module(assignment, module_name)
    try:
        return getattr(module, func)
    except AttributeError:
        raise AttributeError(f"trusted module {module.__file__} has no function '{func}'") from None


class GradingContext:
    """Grades submissions of one assignment. ``sandbox`` is any backend with
    ``start_worker(staged, hide_modules=...)``, ``describe()`` and ``close()``."""

    def __init__(self, assignment: Assignment, *, sandbox=None, tasks: list[str] | None = None,
                 speed: bool = True, device: str | None = None, speed_lock: Path | None = None) -> None:
        import torch

        from harness.sandbox.local import LocalSandbox

        sweep_stale()
        self.assignment = assignment
        self._own_sandbox = sandbox is None
        self.sandbox = sandbox or LocalSandbox(limits=assignment.limits)
        self.only_tasks = set(tasks) if tasks else None
        self.speed_enabled = speed
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.scratch = scratch_dir("grade")
        self.speed_lock = Path(speed_lock) if speed_lock else self.scratch / "speed.lock"
        self._baselines: dict[str, StudentSession] = {}
        self._cache: dict[Any, Any] = {}
        self._closed = False

    # -- lifetime --------------------------------------------------------------------------------
    def __enter__(self) -> "GradingContext":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for session in self._baselines.values():
            session.close()
        self._baselines = {}
        if self._own_sandbox:
            self.sandbox.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- what is graded --------------------------------------------------------------------------
    @property
    def checks(self) -> list:
        """The manifest's checks this context grades, in grading order."""
        order = {kind.table: i for i, kind in enumerate(kinds_in_order())}
        only = self.only_tasks
        picked = [c for c in self.assignment.checks
                  if (self.speed_enabled or c.table != "speed")
                  and (only is None or c.id in only or c.requires_task in only)]
        return sorted(picked, key=lambda c: order[c.table])

    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    # -- grading ---------------------------------------------------------------------------------
    def stage(self, source: SubmissionSource) -> StagedSubmission:
        return stage_submission(source, self.assignment.package, scratch_dir("stage", self.scratch))

    def grade(self, source: SubmissionSource) -> SubmissionResult:
        """Stage, grade and clean up one submission; never raises for a bad submission."""
        try:
            staged = self.stage(source)
        except SubmissionError as e:
            return self.error_result(source.id, f"malformed submission: {e}")
        try:
            return self.grade_staged(staged)
        finally:
            staged.remove()

    def error_result(self, submission_id: str, message: str, **fields: Any) -> SubmissionResult:
        result = self._new_result(submission_id)
        result.status, result.error = "error", message
        result.tasks = [c.zero(message) for c in self.checks]
        for k, v in fields.items():
            setattr(result, k, v)
        result.finished_at = _now()
        return result

    def _new_result(self, submission_id: str) -> SubmissionResult:
        import torch
        import torchvision

        describe = self.sandbox.describe()
        environment = {
            "device": self.device if self.device == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})",
            "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "harness": __version__, "seed": self.assignment.seed,
            "backend": describe["backend"], "host": platform.node(),
        }
        if self.device != "cpu":
            environment.update(gpu_description())
        return SubmissionResult(assignment=self.assignment.name, submission_id=submission_id,
                                status="graded", score=0.0, max_score=self.max_score(), started_at=_now(),
                                environment=environment, sandbox=describe)

    def grade_staged(self, staged: StagedSubmission) -> SubmissionResult:
        from harness.grading.submission import SubmissionGrading

        t0 = time.perf_counter()
        result = self._new_result(staged.id)
        result.source_sha256 = staged.sha256
        grading = SubmissionGrading(self, staged, result)
        try:
            grading.run()
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - a harness bug must not stop the batch
            result.status = "error"
            result.error = f"internal grading error ({type(e).__name__}: {e}); nothing was scored"
            result.warnings.append(traceback.format_exc()[-3000:])
            result.tasks = [c.zero(result.error) for c in self.checks]
        result.score = round(sum(t.score for t in result.tasks), 4)
        result.finished_at = _now()
        result.timings["total_s"] = round(time.perf_counter() - t0, 3)
        return result

    def run_tests(self, student):
        from harness.grading.runner import run_tests

        a = self.assignment
        suites = {k: v for k, v in {"public": a.public_tests_dir, "hidden": a.hidden_tests_dir}.items()
                  if v.is_dir()}
        with data_packages_importable():
            return run_tests(student, suites, repo_root(), only_tasks=self.only_tasks)

    # -- trusted code and data -------------------------------------------------------------------
    def trusted(self, ref: str) -> Callable:
        """A function of the hidden tests folder, given as 'module:function' (trusted code)."""
        return trusted_function(self.assignment, ref)

    def cached(self, ref: str, **kwargs: Any) -> Any:
        """``trusted(ref)(**kwargs)``, computed once per context (test data of a whole batch)."""
        return self.cached_value((ref, tuple(sorted(kwargs.items()))), lambda: self.trusted(ref)(**kwargs))

    def cached_value(self, key: Any, factory: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    @contextlib.contextmanager
    def speed_lane(self):
        """One speed measurement at a time across every process sharing ``speed_lock`` (the
        processes of one batch): a measurement never shares the machine with another."""
        self.speed_lock.parent.mkdir(parents=True, exist_ok=True)
        with open(self.speed_lock, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def baseline_session(self, baseline: str = "") -> StudentSession:
        """A clean worker for a baseline: a library (``torchvision.ops.nms``) or, for
        ``reference:<name>``, a worker holding the reference package, never the submission.
        Kept for the whole batch."""
        key = "reference" if baseline.startswith("reference:") else "library"
        session = self._baselines.get(key)
        if session is not None and session.client is not None:
            return session
        a = self.assignment
        if key == "reference":
            staged = stage_submission(SubmissionSource("reference", a.reference_dir), a.package,
                                      scratch_dir("baseline", self.scratch))
            session = StudentSession(self.sandbox, staged.path, package=a.package, api=a.api,
                                     forbidden_modules=a.forbidden_modules, seed=a.seed,
                                     total_timeout_s=float("inf"))
        else:
            session = StudentSession(self.sandbox, None, package="", api=[], seed=a.seed,
                                     total_timeout_s=float("inf"), baseline=True)
        session.start()
        self._baselines[key] = session
        return session


#: the name the rest of the harness and the tests have used
Grader = GradingContext
