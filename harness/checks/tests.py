"""``[[task]]``: a group of public and hidden pytest tests, marked ``@pytest.mark.task(id)``.

All tasks of a submission share one pytest run on the trusted side (the tests receive the
grading proxy as ``student``); each task's points are split evenly over its tests. Skipped tests
(CUDA cases without a GPU) count neither for nor against anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from harness.checks.base import Check, register
from harness.results import CheckResult, TaskResult
from harness.schema import common_keys, Key

if TYPE_CHECKING:  # pragma: no cover
    from harness.grading.submission import SubmissionGrading


def working_api(outcomes: dict[str, list]) -> set[str]:
    """API names that returned an informative result (not empty, not all zeros) in at least one
    passing test, of any task. Tests that a function passes only by raising or by returning
    empty/zero values count once the function is proven this way: a package whose every function
    raises ValueError, or returns zeros of the right shape, scores nothing."""
    return {name for tests in outcomes.values() for o in tests if o.outcome == "passed" for name in o.returned}


@register
@dataclass(frozen=True)
class TestTask(Check):
    api: tuple[str, ...] = ()

    table: ClassVar[str] = "task"
    noun: ClassVar[str] = "task"
    result_kind: ClassVar[str] = "test"
    order: ClassVar[int] = 0
    keys: ClassVar[tuple[Key, ...]] = (
        *common_keys("split evenly over the task's tests"),
        Key("api", list, (), doc="public names of the package this task grades (the stub's API)"),
    )

    __test__ = False  # not a pytest test class

    @property
    def check_name(self) -> str:
        return "task"

    def describe(self) -> str:
        return "tests"

    def grade(self, sub: "SubmissionGrading") -> TaskResult:
        outcomes, errors = sub.test_outcomes()
        counted = [o for o in outcomes.get(self.id, []) if o.outcome != "skipped"]
        if errors or not counted:
            return self.zero("tests could not be collected" if errors else "no tests ran for this task")
        working = working_api(outcomes)
        per_test = round(self.points / len(counted), 4)
        checks, passed = [], 0
        for o in counted:
            ok, message = o.outcome == "passed", o.message
            unproven = sorted(set(o.raised) - working) if ok and o.raised and not o.returned else []
            if unproven:
                ok = False
                message = (f"this test passes with {', '.join(unproven)} only raising exceptions or returning "
                           "empty or all-zero results; such tests (bad input rejected, empty input) earn "
                           "points once the same function passes a test with an informative result")
            passed += ok
            checks.append(CheckResult(task=self.id, name=o.name, kind="test", passed=ok,
                                      score=per_test if ok else 0.0, max_score=per_test,
                                      message="" if ok else message, duration_s=round(o.duration_s, 4),
                                      details={"suite": o.suite}))
        return TaskResult(self.id, self.title, self.points, round(self.points * passed / len(counted), 4), checks)

    def zero(self, message: str, details: dict | None = None) -> TaskResult:
        return TaskResult(self.id, self.title, self.points, 0.0,
                          [CheckResult(self.id, "task", "static", False, 0.0, self.points, message[:4000])])
