"""Assignment manifests (``assignments/<name>/assignment.toml``) validated into typed objects.

Every problem is reported with the file, the place in it, the bad value and what is allowed.
Tables are declared once (``harness/schema.py``): ``[assignment]``, ``[limits]`` and
``[visibility]`` here, and one table per check kind in ``harness/checks/`` (``[[task]]``,
``[[speed]]``, ``[[accuracy]]``, ``[[probe]]``). Standard library only, so ``cv3 list`` answers without importing torch.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checks import KINDS, ParseContext, kinds_in_order
from harness.checks.accuracy import AccuracyCheck
from harness.checks.probe import ProbeCheck
from harness.checks.speed import SpeedCheck
from harness.checks.tests import TestTask
from harness.schema import ID_RE, Key, ManifestError, parse_table, positive

Task = TestTask  # the name of a [[task]] before check kinds became plugins

__all__ = ["ASSIGNMENT_KEYS", "AccuracyCheck", "Assignment", "LEVELS", "LIMIT_KEYS", "Limits", "ManifestError",
           "ProbeCheck", "SpeedCheck", "Task", "TestTask", "VISIBILITY_KEYS", "Visibility", "assignments_dir",
           "find_assignment", "list_assignments", "load_manifest", "repo_root"]


@dataclass(frozen=True)
class Limits:
    """What one worker may use. ``call_timeout_s`` bounds one call; ``hang_budget_s`` bounds the
    time a submission may spend in calls that time out before its remaining calls get
    ``call_timeout_after_hangs_s`` (so a submission that hangs everywhere costs minutes, not an
    hour)."""

    call_timeout_s: float = 30.0
    start_timeout_s: float = 60.0
    memory_mb: int = 2048
    cpu_time_s: int = 600
    max_processes: int = 64
    max_file_size_mb: int = 64
    tmp_size_mb: int = 64
    threads: int = 1
    hang_budget_s: float = 30.0
    call_timeout_after_hangs_s: float = 2.0
    max_reply_mb: int = 64


def _dotted_api(name: str) -> bool:
    """``module.attribute`` (at least two parts), every part a Python identifier."""
    parts = name.split(".")
    return len(parts) >= 2 and all(p.isidentifier() for p in parts)


ASSIGNMENT_KEYS: tuple[Key, ...] = (
    Key("name", str, doc="the assignment's name; equals its folder name", rule=ID_RE.match,
        allowed="lower_snake_case"),
    Key("title", str, "", doc="one line shown in reports and `cv3 list` (default: the name)"),
    Key("package", str, doc="the Python package students write", rule=str.isidentifier,
        allowed="a Python identifier"),
    Key("summary", str, "", doc="what it covers, for the assignments table in README.md"),
    Key("forbidden_modules", list, (), doc="modules blocked inside the sandbox (and reported by the static scan)"),
    Key("forbidden_apis", list, (), doc="dotted names of functions or classes inside allowed modules (e.g. "
        "torch.nn.functional.scaled_dot_product_attention) that the worker replaces by a function raising an "
        "error before the package is imported, and that the static scan reports (names, aliases, getattr "
        "strings) to the instructor", rule=lambda v: all(_dotted_api(n) for n in v),
        allowed="each a dotted name module.attribute of Python identifiers, e.g. torch.nn.MultiheadAttention"),
    Key("requirements", list, (), doc="extra pip requirements of this assignment's tests and oracles, "
        "installed by the nox sessions and the grading image"),
    Key("seed", int, 0, doc="seed of torch's generator in the worker"),
    Key("public_tests", str, "tests", doc="folder of public tests under assignments/<name>/"),
    Key("hidden_tests", str, "tests", doc="folder of hidden tests under reference/<name>/"),
)

LIMIT_KEYS: tuple[Key, ...] = (
    positive("call_timeout_s", float, 30.0, "wall-clock limit of one call into the submission"),
    positive("total_timeout_s", float, 900.0, "wall-clock limit of the whole submission"),
    positive("memory_mb", int, 2048, "memory of one worker"),
    positive("cpu_time_s", int, 600, "CPU time of one worker (RLIMIT_CPU)"),
    Key("max_processes", int, 64, "processes and threads of one worker", lambda v: v >= 4, "must be >= 4"),
    positive("max_file_size_mb", int, 64, "largest file a worker may write"),
    positive("tmp_size_mb", int, 64, "size of the worker's private /tmp and home"),
    positive("hang_budget_s", float, 30.0, "time a submission may lose to timed-out calls before its "
             "remaining calls get call_timeout_after_hangs_s"),
    positive("call_timeout_after_hangs_s", float, 2.0, "call limit once the hang budget is used up"),
    positive("max_reply_mb", int, 64, "largest reply of one call (tensors included); a larger one is "
             "refused before it is read, so a submission cannot blow up the grader's memory"),
)


#: What a student's report shows of a check, from most to least open (Gradescope's levels):
#: ``visible`` (name, points, failure message), ``after_release`` (withheld, points included, until
#: ``released = true``, then visible), ``hidden`` (counted, shown only as "n of m hidden checks
#: passed") and ``score_only`` (its points only).
LEVELS = ("visible", "after_release", "hidden", "score_only")


def _overrides_ok(value: dict) -> bool:
    return all(type(k) is str and k.strip() == k and k and type(v) is str and v in LEVELS
               for k, v in value.items())


VISIBILITY_KEYS: tuple[Key, ...] = (
    Key("default", str, "visible", doc="level of every check that nothing below names", rule=LEVELS.__contains__,
        allowed=f"one of {', '.join(LEVELS)}"),
    Key("hidden_tests", str, "hidden", doc="level of the tests of the hidden suite (the stricter of this and "
        "their task's level applies)", rule=LEVELS.__contains__, allowed=f"one of {', '.join(LEVELS)}"),
    Key("show_hidden_failures", bool, False, doc="students see the failure messages (never the names) of "
        "hidden checks; messages may quote expected values"),
    Key("released", bool, False, doc="results are released: after_release checks become visible and the "
        "published leaderboard shows the private scores"),
    Key("show_heldout_predictions", bool, False, doc="students see the figures a scorer marks as the "
        "submission's predictions on held-out inputs (never ground truth)"),
    Key("leaderboard", str, "pseudonyms", doc="the leaderboard in `cv3 feedback` bundles and `cv3 leaderboard "
        "--publish`: student ids, pseudonyms (opt-in names from the roster shown instead) or none",
        rule=("none", "pseudonyms", "ids").__contains__, allowed="one of none, pseudonyms, ids"),
    Key("overrides", dict, {}, doc="level per task or check id, test file stem ('test_hidden_ap') or test "
        "('test_hidden_ap::test_ap' or with its parameters); the most specific wins. The manifest ships in "
        "the handout: name hidden tests by file or task", rule=_overrides_ok,
        allowed=f"a table of id = level, levels: {', '.join(LEVELS)}"),
)

_STRICTNESS = {level: i for i, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class Visibility:
    """The ``[visibility]`` table: what a student's report shows of each check.

    A check's level is the override of its most specific name (the test with its parameters, the
    test, its file stem), else the stricter of its task's level (override or ``default``) and,
    for tests of the hidden suite, ``hidden_tests``. ``after_release`` reads as ``visible`` once
    ``released``."""

    default: str = "visible"
    hidden_tests: str = "hidden"
    show_hidden_failures: bool = False
    released: bool = False
    show_heldout_predictions: bool = False
    leaderboard: str = "pseudonyms"
    overrides: tuple[tuple[str, str], ...] = ()  # (name, level), hashable

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Visibility":
        values = dict(values)
        values["overrides"] = tuple(sorted(dict(values.get("overrides") or {}).items()))
        return cls(**values)

    def replace(self, **changes: Any) -> "Visibility":
        return dataclasses.replace(self, **changes)

    def level(self, check: Any) -> str:
        """The level of a :class:`~harness.results.CheckResult`, ``after_release`` resolved."""
        level = self.declared_level(check)
        return "visible" if level == "after_release" and self.released else level

    def declared_level(self, check: Any) -> str:
        overrides = dict(self.overrides)
        name = str(getattr(check, "name", ""))
        if getattr(check, "kind", "") == "test" and "::" in name:
            stem, test = name.split("::", 1)
            for key in (name, f"{stem}::{test.split('[', 1)[0]}", stem):
                if key in overrides:
                    return overrides[key]
        elif name in overrides:
            return overrides[name]
        level = overrides.get(str(getattr(check, "task", "")), self.default)
        suite = (getattr(check, "details", None) or {}).get("suite")
        if getattr(check, "kind", "") == "test" and suite != "public":  # hidden, or unknown: fail closed
            level = max(level, self.hidden_tests, key=_STRICTNESS.__getitem__)
        return level


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    package: str
    root: Path  # assignments/<name>
    reference_root: Path  # reference/<name>
    checks: tuple = ()  # every graded item, in manifest order (harness.checks kinds)
    forbidden_modules: tuple[str, ...] = ()
    forbidden_apis: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    total_timeout_s: float = 900.0
    seed: int = 0
    public_tests: str = "tests"
    hidden_tests: str = "tests"
    summary: str = ""
    visibility: Visibility = field(default_factory=Visibility)

    def of_kind(self, table: str) -> tuple:
        return tuple(c for c in self.checks if c.table == table)

    @property
    def tasks(self) -> tuple:
        return self.of_kind("task")

    @property
    def speed(self) -> tuple:
        return self.of_kind("speed")

    @property
    def accuracy(self) -> tuple:
        return self.of_kind("accuracy")

    @property
    def probes(self) -> tuple:
        return self.of_kind("probe")

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def api(self) -> tuple[str, ...]:
        names: list[str] = []
        for t in self.tasks:
            names += [n for n in t.api if n not in names]
        return tuple(names)

    @property
    def stub_dir(self) -> Path:
        return self.root / self.package

    @property
    def reference_dir(self) -> Path:
        return self.reference_root / self.package

    @property
    def public_tests_dir(self) -> Path:
        return self.root / self.public_tests

    @property
    def hidden_tests_dir(self) -> Path:
        return self.reference_root / self.hidden_tests

    def task(self, task_id: str):
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    def replace(self, **changes: Any) -> "Assignment":
        return dataclasses.replace(self, **changes)


def load_manifest(path: Path, reference_root: Path | None = None) -> Assignment:
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found (expected assignments/<name>/assignment.toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path}: not valid TOML: {e}") from None
    known = {"assignment", "limits", "visibility", *KINDS}
    unknown = set(data) - known
    if unknown:
        raise ManifestError(f"{path}: unknown section(s) {sorted(unknown)}; allowed: {sorted(known)}")
    if type(data.get("assignment")) is not dict:
        raise ManifestError(f"{path}: missing [assignment] table")
    head = parse_table(data["assignment"], ASSIGNMENT_KEYS, f"{path} [assignment]")
    if head["name"] != path.parent.name:
        raise ManifestError(f"{path} [assignment]: name '{head['name']}' must equal the folder name "
                            f"'{path.parent.name}'")
    lim = parse_table(data.get("limits", {}), LIMIT_KEYS, f"{path} [limits]", label="[limits]")
    total_timeout = lim.pop("total_timeout_s")
    limits = Limits(**lim)
    visibility = Visibility.from_values(parse_table(data.get("visibility", {}), VISIBILITY_KEYS,
                                                    f"{path} [visibility]", label="[visibility]"))

    raw_tasks = data.get("task")
    if type(raw_tasks) is not list or not raw_tasks or not all(type(t) is dict for t in raw_tasks):
        raise ManifestError(f"{path}: needs at least one [[task]] table (write [[task]], not [task])")
    checks: list = []
    seen: set[str] = set()
    ctx = None
    for kind in kinds_in_order():
        raw = data.get(kind.table, [])
        if type(raw) is not list or not all(type(t) is dict for t in raw):
            raise ManifestError(f"{path}: {kind.noun}s must be [[{kind.table}]] tables "
                                f"(write [[{kind.table}]], not [{kind.table}])")
        for i, table in enumerate(raw):
            first = f"{path} [[{kind.table}]] #{i + 1}"
            id_key = next(k for k in kind.keys if k.name == "id")
            check_id = parse_table({"id": table["id"]} if "id" in table else {}, (id_key,), first)["id"]
            where = f"{path} {kind.noun} '{check_id}'"
            values = parse_table(table, kind.keys, where)
            if check_id in seen:
                raise ManifestError(f"{where}: duplicate task id" if kind.table == "task" else
                                    f"{where}: id already used by a task or another check")
            seen.add(check_id)
            check = kind.from_values(values)
            if kind.table != "task":
                ctx = ctx or _context(path, checks)
                check.validate(ctx, where)
            checks.append(check)
    return Assignment(
        name=head["name"], title=head["title"] or head["name"], package=head["package"], root=path.parent,
        reference_root=reference_root or path.parent.parent.parent / "reference" / head["name"],
        checks=tuple(checks), forbidden_modules=head["forbidden_modules"], forbidden_apis=head["forbidden_apis"],
        requirements=head["requirements"], limits=limits, total_timeout_s=total_timeout,
        seed=head["seed"], public_tests=head["public_tests"], hidden_tests=head["hidden_tests"],
        summary=head["summary"], visibility=visibility,
    )


def _context(path: Path, tasks: list) -> ParseContext:
    return ParseContext(str(path), frozenset(n for t in tasks for n in t.api), frozenset(t.id for t in tasks))


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def assignments_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "assignments"


def list_assignments(root: Path | None = None) -> list[Assignment]:
    base = assignments_dir(root)
    return [load_manifest(p) for p in sorted(base.glob("*/assignment.toml"))]


def find_assignment(name: str, root: Path | None = None) -> Assignment:
    path = assignments_dir(root) / name / "assignment.toml"
    if not path.is_file():
        known = [a.name for a in list_assignments(root)]
        raise ManifestError(f"unknown assignment '{name}'; known assignments: {', '.join(known) or 'none'}")
    return load_manifest(path)
