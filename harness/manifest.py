"""Assignment manifests (``assignments/<name>/assignment.toml``) validated into typed objects.

Every problem is reported with the file, the place in it, the bad value and what is allowed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sandbox.local import Limits

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    points: float
    api: tuple[str, ...]


@dataclass(frozen=True)
class SpeedCheck:
    id: str
    title: str
    points: float
    target: str  # a public function of the assignment
    baseline: str  # dotted path of the trusted baseline, e.g. torchvision.ops.nms
    case: str  # "module:function" in the hidden tests folder returning (args, kwargs)
    requires: str  # task id that must score full marks first
    full_ratio: float
    zero_ratio: float
    repeats: int = 7
    warmup: int = 2
    min_time_s: float = 0.05


@dataclass(frozen=True)
class AccuracyCheck:
    """A metric on held-out data: the trusted ``data`` function gives the inputs (sent to the
    submission's ``entry``) and the targets (never sent); ``scorer`` turns outputs and targets
    into the metric. Points rise linearly from 0 at ``floor`` to full at ``target``."""

    id: str
    title: str
    points: float
    entry: str  # a public function of the assignment
    data: str  # "module:function" in the hidden tests folder -> (list of (args, kwargs), targets)
    scorer: str  # "module:function"(outputs, targets) -> (metric: float, details: dict)
    metric: str  # its name in reports, e.g. "mAP@0.5"
    floor: float
    target: float
    requires: str = ""  # optional task id that must score full marks first
    timeout_s: float = 600.0  # the whole check (all calls)
    # optional: the grader first runs the submission's ``train`` entry on trusted training data
    # (``train_data``: "module:function" -> (args, kwargs)) in the same worker, within a budget
    train: str = ""
    train_data: str = ""
    train_timeout_s: float = 600.0


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    package: str
    root: Path  # assignments/<name>
    reference_root: Path  # reference/<name>
    tasks: tuple[Task, ...]
    speed: tuple[SpeedCheck, ...] = ()
    accuracy: tuple[AccuracyCheck, ...] = ()
    forbidden_modules: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    total_timeout_s: float = 900.0
    seed: int = 0
    public_tests: str = "tests"
    hidden_tests: str = "tests"
    data_packages: tuple[str, ...] = ()

    @property
    def max_score(self) -> float:
        return (sum(t.points for t in self.tasks) + sum(s.points for s in self.speed)
                + sum(c.points for c in self.accuracy))

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

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)


def _get(table: dict, key: str, kind, where: str, default: Any = ..., check=None, allowed=""):
    if key not in table:
        if default is ...:
            raise ManifestError(f"{where}: missing key '{key}'" + (f" ({allowed})" if allowed else ""))
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if type(value) not in kinds or (float in kinds and type(value) is bool):
        names = " or ".join(k.__name__ for k in kinds)
        raise ManifestError(f"{where}: '{key}' must be {names}, got {value!r}")
    if check is not None and not check(value):
        raise ManifestError(f"{where}: '{key}' = {value!r} is not allowed" + (f"; {allowed}" if allowed else ""))
    return value


KNOWN_KEYS = {
    "assignment": {"name", "title", "package", "forbidden_modules", "seed", "public_tests",
                   "hidden_tests", "data_packages"},
    "limits": {"call_timeout_s", "total_timeout_s", "memory_mb", "cpu_time_s", "max_processes",
               "max_file_size_mb", "tmp_size_mb"},
    "task": {"id", "title", "points", "api"},
    "speed": {"id", "title", "points", "target", "baseline", "case", "requires", "full_ratio",
              "zero_ratio", "repeats", "warmup", "min_time_s"},
    "accuracy": {"id", "title", "points", "entry", "data", "scorer", "metric", "floor", "target",
                 "requires", "timeout_s", "train", "train_data", "train_timeout_s"},
}


def _no_unknown_keys(table: dict, section: str, where: str) -> None:
    """A misspelt optional key (``forbiden_modules``) would otherwise silently get its default."""
    unknown = sorted(set(table) - KNOWN_KEYS[section])
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(KNOWN_KEYS[section])}")


def _str_list(table: dict, key: str, where: str, default=()) -> tuple[str, ...]:
    value = table.get(key, list(default))
    if type(value) is not list or not all(type(v) is str and v for v in value):
        raise ManifestError(f"{where}: '{key}' must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def load_manifest(path: Path, reference_root: Path | None = None) -> Assignment:
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found (expected assignments/<name>/assignment.toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path}: not valid TOML: {e}") from None
    known = {"assignment", "limits", "task", "speed", "accuracy"}
    unknown = set(data) - known
    if unknown:
        raise ManifestError(f"{path}: unknown section(s) {sorted(unknown)}; allowed: {sorted(known)}")
    head = data.get("assignment")
    if type(head) is not dict:
        raise ManifestError(f"{path}: missing [assignment] table")
    where = f"{path} [assignment]"
    _no_unknown_keys(head, "assignment", where)
    name = _get(head, "name", str, where, check=ID_RE.match, allowed="lower_snake_case")
    if name != path.parent.name:
        raise ManifestError(f"{where}: name '{name}' must equal the folder name '{path.parent.name}'")
    package = _get(head, "package", str, where, check=str.isidentifier, allowed="a Python identifier")
    root = path.parent
    reference_root = reference_root or root.parent.parent / "reference" / name

    lim = data.get("limits", {})
    if type(lim) is not dict:
        raise ManifestError(f"{path}: [limits] must be a table")
    lw = f"{path} [limits]"
    _no_unknown_keys(lim, "limits", lw)
    pos = lambda v: v > 0  # noqa: E731
    limits = Limits(
        call_timeout_s=float(_get(lim, "call_timeout_s", (int, float), lw, 30.0, pos, "must be > 0")),
        memory_mb=_get(lim, "memory_mb", int, lw, 2048, pos, "must be > 0"),
        cpu_time_s=_get(lim, "cpu_time_s", int, lw, 600, pos, "must be > 0"),
        max_processes=_get(lim, "max_processes", int, lw, 64, lambda v: v >= 4, "must be >= 4"),
        max_file_size_mb=_get(lim, "max_file_size_mb", int, lw, 64, pos, "must be > 0"),
        tmp_size_mb=_get(lim, "tmp_size_mb", int, lw, 64, pos, "must be > 0"),
    )
    total_timeout = float(_get(lim, "total_timeout_s", (int, float), lw, 900.0, pos, "must be > 0"))

    raw_tasks = data.get("task")
    if type(raw_tasks) is not list or not raw_tasks or not all(type(t) is dict for t in raw_tasks):
        raise ManifestError(f"{path}: needs at least one [[task]] table (write [[task]], not [task])")
    tasks, seen = [], set()
    for i, t in enumerate(raw_tasks):
        tw = f"{path} [[task]] #{i + 1}"
        tid = _get(t, "id", str, tw, check=ID_RE.match, allowed="lower_snake_case")
        tw = f"{path} task '{tid}'"
        _no_unknown_keys(t, "task", tw)
        if tid in seen:
            raise ManifestError(f"{tw}: duplicate task id")
        seen.add(tid)
        tasks.append(Task(
            id=tid,
            title=_get(t, "title", str, tw, tid),
            points=float(_get(t, "points", (int, float), tw, check=pos, allowed="must be > 0")),
            api=_str_list(t, "api", tw),
        ))
    api_names = {n for t in tasks for n in t.api}

    speed = []
    raw_speed = data.get("speed", [])
    if type(raw_speed) is not list or not all(type(s) is dict for s in raw_speed):
        raise ManifestError(f"{path}: speed checks must be [[speed]] tables (write [[speed]], not [speed])")
    for i, s in enumerate(raw_speed):
        sw = f"{path} [[speed]] #{i + 1}"
        sid = _get(s, "id", str, sw, check=ID_RE.match, allowed="lower_snake_case")
        sw = f"{path} speed check '{sid}'"
        _no_unknown_keys(s, "speed", sw)
        if sid in seen:
            raise ManifestError(f"{sw}: id already used by a task or speed check")
        seen.add(sid)
        target = _get(s, "target", str, sw)
        if target not in api_names:
            raise ManifestError(f"{sw}: target '{target}' is not in any task's api {sorted(api_names)}")
        requires = _get(s, "requires", str, sw)
        if requires not in {t.id for t in tasks}:
            raise ManifestError(f"{sw}: requires '{requires}' is not a task id")
        case = _get(s, "case", str, sw, check=lambda v: ":" in v, allowed="write it as 'module:function'")
        full = float(_get(s, "full_ratio", (int, float), sw, check=pos, allowed="must be > 0"))
        zero = float(_get(s, "zero_ratio", (int, float), sw, check=lambda v, full=full: v > full,
                          allowed=f"must be greater than full_ratio ({full})"))
        speed.append(SpeedCheck(
            id=sid, title=_get(s, "title", str, sw, sid),
            points=float(_get(s, "points", (int, float), sw, check=pos, allowed="must be > 0")),
            target=target, baseline=_baseline(s, sw, api_names), case=case, requires=requires,
            full_ratio=full, zero_ratio=zero,
            repeats=_get(s, "repeats", int, sw, 7, lambda v: v >= 3, "must be >= 3"),
            warmup=_get(s, "warmup", int, sw, 2, lambda v: v >= 0, "must be >= 0"),
            min_time_s=float(_get(s, "min_time_s", (int, float), sw, 0.05, pos, "must be > 0")),
        ))

    accuracy = []
    raw_acc = data.get("accuracy", [])
    if type(raw_acc) is not list or not all(type(c) is dict for c in raw_acc):
        raise ManifestError(f"{path}: accuracy checks must be [[accuracy]] tables")
    for i, c in enumerate(raw_acc):
        cw = f"{path} [[accuracy]] #{i + 1}"
        cid = _get(c, "id", str, cw, check=ID_RE.match, allowed="lower_snake_case")
        cw = f"{path} accuracy check '{cid}'"
        _no_unknown_keys(c, "accuracy", cw)
        if cid in seen:
            raise ManifestError(f"{cw}: id already used by a task or another check")
        seen.add(cid)
        entry = _get(c, "entry", str, cw)
        if entry not in api_names:
            raise ManifestError(f"{cw}: entry '{entry}' is not in any task's api {sorted(api_names)}")
        requires = _get(c, "requires", str, cw, "")
        if requires and requires not in {t.id for t in tasks}:
            raise ManifestError(f"{cw}: requires '{requires}' is not a task id")
        colon = dict(check=lambda v: ":" in v, allowed="write it as 'module:function'")
        floor = float(_get(c, "floor", (int, float), cw))
        accuracy.append(AccuracyCheck(
            id=cid, title=_get(c, "title", str, cw, cid),
            points=float(_get(c, "points", (int, float), cw, check=pos, allowed="must be > 0")),
            entry=entry, data=_get(c, "data", str, cw, **colon), scorer=_get(c, "scorer", str, cw, **colon),
            metric=_get(c, "metric", str, cw, cid), floor=floor,
            target=float(_get(c, "target", (int, float), cw, check=lambda v, floor=floor: v > floor,
                              allowed=f"must be greater than floor ({floor})")),
            requires=requires,
            timeout_s=float(_get(c, "timeout_s", (int, float), cw, 600.0, pos, "must be > 0")),
            train=_train_entry(c, cw, api_names),
            train_data=_get(c, "train_data", str, cw, "", check=lambda v: v == "" or ":" in v,
                            allowed="write it as 'module:function'"),
            train_timeout_s=float(_get(c, "train_timeout_s", (int, float), cw, 600.0, pos, "must be > 0")),
        ))

    return Assignment(
        name=name,
        title=_get(head, "title", str, where, name),
        package=package,
        root=root,
        reference_root=reference_root,
        tasks=tuple(tasks),
        speed=tuple(speed),
        accuracy=tuple(accuracy),
        forbidden_modules=_str_list(head, "forbidden_modules", where),
        limits=limits,
        total_timeout_s=total_timeout,
        seed=_get(head, "seed", int, where, 0),
        public_tests=_get(head, "public_tests", str, where, "tests"),
        hidden_tests=_get(head, "hidden_tests", str, where, "tests"),
        data_packages=_str_list(head, "data_packages", where),
    )


def _train_entry(table: dict, where: str, api_names: set[str]) -> str:
    train = _get(table, "train", str, where, "")
    if train and train not in api_names:
        raise ManifestError(f"{where}: train entry '{train}' is not in any task's api {sorted(api_names)}")
    if train and not table.get("train_data"):
        raise ManifestError(f"{where}: 'train' needs 'train_data' (a 'module:function' giving its arguments)")
    return train


def _baseline(table: dict, where: str, api_names: set[str]) -> str:
    """A dotted library path (``torchvision.ops.nms``) or ``reference:<api name>``."""
    value = _get(table, "baseline", str, where)
    if value.startswith("reference:"):
        if value.removeprefix("reference:") not in api_names:
            raise ManifestError(f"{where}: baseline '{value}' names no function of the assignment's api")
    elif "." not in value:
        raise ManifestError(f"{where}: baseline '{value}' must be a dotted path (torchvision.ops.nms) "
                            "or 'reference:<api name>'")
    return value


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
