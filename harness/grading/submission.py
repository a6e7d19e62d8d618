"""Grading one staged submission: its worker session, one pytest run for all its tasks, and the
check kinds of the manifest in order (tests first, then the checks that require them)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from harness.grading.proxy import RemoteStudent, StudentCrash, StudentSession
from harness.results import SubmissionResult, TaskResult
from harness.static_checks import forbidden_api_uses, unscanned_files
from harness.submissions import StagedSubmission, forbidden_imports, syntax_errors

if TYPE_CHECKING:  # pragma: no cover
    from harness.grading.context import GradingContext


class SubmissionGrading:
    """What a check kind sees while it grades: the context, the session, the result so far."""

    def __init__(self, ctx: "GradingContext", staged: StagedSubmission, result: SubmissionResult) -> None:
        self.ctx = ctx
        self.staged = staged
        self.result = result
        self.outputs: dict[tuple, Any] = {}  # shared model outputs (accuracy checks)
        self._tests: tuple[dict, list[str]] | None = None
        a = ctx.assignment
        self.session = StudentSession(ctx.sandbox, staged.path, package=a.package, api=a.api,
                                      forbidden_modules=a.forbidden_modules, seed=a.seed,
                                      total_timeout_s=a.total_timeout_s, forbidden_apis=a.forbidden_apis)

    def task_full(self, task_id: str) -> bool:
        done = next((t for t in self.result.tasks if t.id == task_id), None)
        return done is not None and done.score >= done.points - 1e-9

    def test_outcomes(self) -> tuple[dict[str, list], list[str]]:
        """Outcomes of the public and hidden tests by task (one pytest run per submission)."""
        if self._tests is None:
            outcomes, errors, tests_s = self.ctx.run_tests(RemoteStudent(self.session))
            self.result.timings["tests_s"] = round(tests_s, 3)
            if errors:
                self.result.status = "error"
                self.result.error = ("grading error: the hidden or public tests could not be collected; "
                                     "nothing was scored. Ask the course staff.")
                self.result.warnings += [f"(grader) {e}" for e in errors]
            by_task: dict[str, list] = defaultdict(list)
            for o in outcomes:
                by_task[o.task or "?"].append(o)
            known = {t.id for t in self.ctx.assignment.tasks}
            stray = [o.name for o in outcomes if o.task not in known]
            if stray:
                self.result.warnings.append(f"(grader) tests without a known task marker were ignored: {stray[:5]}")
            skipped = [o for o in outcomes if o.outcome == "skipped"]
            if skipped:
                reasons = sorted({o.message.removeprefix("Skipped: ") for o in skipped})
                self.result.warnings.append(
                    f"{len(skipped)} test(s) skipped, not counted: {'; '.join(reasons)[:300]}")
            self._tests = (by_task, errors)
        return self._tests

    def run(self) -> None:
        a, result = self.ctx.assignment, self.result
        errors = syntax_errors(self.staged.path)
        if errors:
            result.status = "error"
            result.error = "the package has syntax errors, so it cannot be imported:\n" + "\n".join(errors[:20])
            result.tasks = [c.zero(result.error) for c in self.ctx.checks]
            return
        result.warnings += unscanned_files(self.staged.path)
        result.warnings += forbidden_imports(self.staged.path, a.forbidden_modules)
        result.warnings += forbidden_api_uses(self.staged.path, a.forbidden_apis)  # blocked at run time too
        try:
            try:
                self.session.start()
            except StudentCrash:
                pass  # every check below fails with session.fatal as its message
            for check in self.ctx.checks:
                t0 = time.perf_counter()
                task = self._grade_one(check)
                result.tasks.append(task)
                key = f"{check.table}_s" if check.table != "task" else ""
                if key:
                    result.timings[key] = round(result.timings.get(key, 0.0) + time.perf_counter() - t0, 3)
        finally:
            self.session.close()
        session = self.session
        if session.crashes:
            result.warnings.append(f"the worker crashed or hung {len(session.crashes)} time(s); first: "
                                   f"{session.crashes[0][:500]}")
        if session.hung:
            result.warnings.append(f"{len(session.hung)} function(s) hung and were not called again: "
                                   f"{', '.join(sorted(session.hung))[:500]}")
        if session.import_error is not None:
            result.error = f"importing the package '{a.package}' failed:\n{session.import_error}"
        elif session.fatal:
            result.warnings.append(session.fatal[:3000])
        result.environment.update({f"worker_{k}": v for k, v in session.info.items()})
        result.timings["worker_start_s"] = round(session.start_time_s, 3)
        result.timings["worker_starts"] = session.starts
        result.timings["calls"] = session.calls
        result.timings["call_s"] = round(session.call_time_s, 3)
        result.timings["hang_s"] = round(session.hang_time_s, 3)

    def _grade_one(self, check) -> TaskResult:
        try:
            return check.grade(self)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - a bug in one kind must not cost the others
            return check.zero(f"(grader) internal error while grading this check: {type(e).__name__}: {e}")
