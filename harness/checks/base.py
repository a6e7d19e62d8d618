"""The interface every check kind implements, and the registry keyed by manifest table name.

A kind is one frozen dataclass: its fields are its manifest keys (declared once in ``keys``),
and it knows how to grade itself into a :class:`~harness.results.TaskResult`, how to score
zero with a message, and how its results look in a report. The grader, ``max_score``,
``cv3 list``, the gradebook and the reports iterate the registry, so a new kind is one new
file in this folder.

Importing a kind must stay cheap (no torch): ``cv3 list`` parses manifests with them. Grading
code imports what it needs inside ``grade``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.results import CheckResult, TaskResult
from harness.schema import Key, ManifestError

if TYPE_CHECKING:  # pragma: no cover
    from harness.grading.submission import SubmissionGrading

KINDS: dict[str, type["Check"]] = {}


def register(cls: type["Check"]) -> type["Check"]:
    if cls.table in KINDS and KINDS[cls.table] is not cls:
        raise ValueError(f"two check kinds claim the manifest table [[{cls.table}]]")
    KINDS[cls.table] = cls
    return cls


@dataclass(frozen=True)
class ParseContext:
    """What cross-references are checked against while a manifest loads."""

    path: str
    api_names: frozenset[str]
    task_ids: frozenset[str]


@dataclass(frozen=True)
class Check:
    """Base of every check kind. Subclasses are frozen dataclasses adding their own keys."""

    id: str
    title: str
    points: float

    table: ClassVar[str] = ""  # manifest table name: [[task]], [[speed]], ...
    noun: ClassVar[str] = ""  # in error messages: "task", "speed check", ...
    result_kind: ClassVar[str] = ""  # CheckResult.kind of what it grades
    order: ClassVar[int] = 0  # grading order: tests first, then checks that require them
    keys: ClassVar[tuple[Key, ...]] = ()
    template: ClassVar[str] = ""  # report partial under harness/reports/templates/kinds/
    section: ClassVar[str] = ""  # heading of its report section

    # -- manifest ------------------------------------------------------------------------------
    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Check":
        values = dict(values)
        values["title"] = values.get("title") or values["id"]
        return cls(**values)

    def validate(self, ctx: ParseContext, where: str) -> None:
        """Cross-field and cross-table rules; raise ManifestError naming ``where``."""
        requires = getattr(self, "requires", "")
        if requires and requires not in ctx.task_ids:
            raise ManifestError(f"{where}: requires '{requires}' is not a task id")

    def references(self) -> dict[str, str]:
        """key -> 'module:function' of trusted code this check calls (resolved by cv3 check)."""
        return {k.name: getattr(self, k.name) for k in self.keys
                if k.ref == "trusted" and getattr(self, k.name)}

    @property
    def requires_task(self) -> str:
        return getattr(self, "requires", "")

    def describe(self) -> str:
        """What ``cv3 list`` shows after the title."""
        return self.noun

    # -- grading -------------------------------------------------------------------------------
    @property
    def check_name(self) -> str:
        return self.id

    def grade(self, sub: "SubmissionGrading") -> TaskResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def zero(self, message: str, details: dict | None = None) -> TaskResult:
        return TaskResult(self.id, self.title, self.points, 0.0,
                          [CheckResult(self.id, self.check_name, self.result_kind, False, 0.0,
                                       self.points, message[:4000], details=details or {})])

    def result(self, points: float, message: str, *, duration_s: float = 0.0,
               details: dict | None = None) -> TaskResult:
        passed = points >= self.points - 1e-9
        return TaskResult(self.id, self.title, self.points, points,
                          [CheckResult(self.id, self.check_name, self.result_kind, passed, points,
                                       self.points, "" if passed else message, duration_s,
                                       details or {})])

    def gate(self, sub: "SubmissionGrading") -> str:
        """Why this check may not run yet (its required task is not at full marks), or ''."""
        requires = self.requires_task
        if requires and not sub.task_full(requires):
            return (f"{self.noun} '{self.id}' is graded only once every test of task "
                    f"'{requires}' passes (correctness first)")
        return ""

    # -- reports -------------------------------------------------------------------------------
    @classmethod
    def view(cls, check: CheckResult) -> dict[str, Any] | None:
        """What the kind's report partial shows for one of its results (None: nothing)."""
        return None


def kind_of_result(result_kind: str) -> type[Check] | None:
    for cls in KINDS.values():
        if cls.result_kind == result_kind:
            return cls
    return None
