"""``[[accuracy]]``: a metric on held-out data.

The trusted ``data`` function (hidden tests folder) gives the inputs, sent to the submission's
``entry`` in the sandbox, and the targets, which never enter it; the trusted ``scorer`` turns
outputs and targets into the metric. Points rise linearly from 0 at ``floor`` to full at
``target``. Optionally the grader first runs the submission's ``train`` entry on trusted training
data in the same worker, within ``train_timeout_s``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.checks.base import Check, ParseContext, register
from harness.results import CheckResult, TaskResult
from harness.schema import common_keys, Key, ManifestError, positive, trusted_ref

if TYPE_CHECKING:  # pragma: no cover
    from harness.grading.submission import SubmissionGrading

#: exceptions from submission code that mean "the model failed", reported with their message
MODEL_ERRORS = (ValueError, TypeError, IndexError, KeyError, RuntimeError, NotImplementedError,
                AttributeError, ZeroDivisionError, OverflowError)


def linear_points(points: float, value: float, floor: float, target: float) -> float:
    frac = min(1.0, max(0.0, (value - floor) / (target - floor)))
    return round(points * frac, 2)


@register
@dataclass(frozen=True)
class AccuracyCheck(Check):
    entry: str = ""
    data: str = ""
    scorer: str = ""
    metric: str = ""
    floor: float = 0.0
    target: float = 1.0
    requires: str = ""
    timeout_s: float = 600.0
    train: str = ""
    train_data: str = ""
    train_timeout_s: float = 600.0

    table: ClassVar[str] = "accuracy"
    noun: ClassVar[str] = "accuracy check"
    result_kind: ClassVar[str] = "accuracy"
    order: ClassVar[int] = 20
    template: ClassVar[str] = "metric.html.j2"
    section: ClassVar[str] = "Accuracy on held-out data"
    keys: ClassVar[tuple[Key, ...]] = (
        *common_keys("full points at or above target"),
        Key("entry", str, doc="the public function called on each batch of held-out inputs", ref="api"),
        trusted_ref("data", doc="'module:function' -> (list of (args, kwargs), targets); "
                    "targets never enter the sandbox"),
        trusted_ref("scorer", doc="'module:function'(outputs, targets) -> (metric, details)"),
        Key("metric", str, "", doc="the metric's name in reports, e.g. 'mAP@0.5' (default: the id)"),
        Key("floor", float, doc="0 points at or below"),
        Key("target", float, doc="full points at or above (must be greater than floor)"),
        Key("requires", str, "", doc="optional task id that must score full marks first", ref="task"),
        positive("timeout_s", float, 600.0, "time budget of all the entry's calls"),
        Key("train", str, "", doc="optional training entry point run first, in the same worker", ref="api"),
        trusted_ref("train_data", "", doc="'module:function' -> (args, kwargs) of the training call"),
        positive("train_timeout_s", float, 600.0, "time budget of the training call"),
    )

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Check":
        values = dict(values, metric=values.get("metric") or values["id"])
        return super().from_values(values)

    def validate(self, ctx: ParseContext, where: str) -> None:
        if self.entry not in ctx.api_names:
            raise ManifestError(f"{where}: entry '{self.entry}' is not in any task's api {sorted(ctx.api_names)}")
        super().validate(ctx, where)
        if self.target <= self.floor:
            raise ManifestError(f"{where}: 'target' = {self.target!r} is not allowed; "
                                f"must be greater than floor ({self.floor})")
        if self.train and self.train not in ctx.api_names:
            raise ManifestError(f"{where}: train entry '{self.train}' is not in any task's api "
                                f"{sorted(ctx.api_names)}")
        if self.train and not self.train_data:
            raise ManifestError(f"{where}: 'train' needs 'train_data' (a 'module:function' giving its arguments)")

    @property
    def check_name(self) -> str:
        return f"accuracy:{self.entry}"

    def describe(self) -> str:
        return f"{self.metric} on held-out data, {self.floor:g} -> {self.target:g}"

    def zero(self, message: str, details: dict | None = None) -> TaskResult:
        return super().zero(message, details or {"metric": self.metric, "floor": self.floor, "target": self.target})

    def grade(self, sub: "SubmissionGrading") -> TaskResult:
        why = self.gate(sub)
        if why:
            return self.zero(why)
        ctx = sub.ctx
        # checks that share entry point and data (MOTA and IDF1 of one tracking run) score the
        # same outputs: the submission runs once per submission, not once per metric
        key = (self.entry, self.data, self.train, self.train_data)
        cached = sub.outputs.get(key)
        if cached is None:
            cached = self._run(sub)
            if isinstance(cached, str):
                return self.zero(cached)
            sub.outputs[key] = cached
        outputs, train_s, predict_s = cached
        _calls, targets = ctx.cached(self.data)
        try:
            value, details = ctx.trusted(self.scorer)(outputs, targets)
            value = float(value)
        except ValueError as e:  # the scorer's verdict on malformed outputs
            return self.zero(f"malformed output from {self.entry}: {e}")
        if value != value:  # nan
            return self.zero(f"the metric {self.metric} is not a number")
        points = linear_points(self.points, value, self.floor, self.target)
        details = {**details, "metric": self.metric, "value": value, "floor": self.floor,
                   "target": self.target, "predict_s": round(predict_s, 3), "batches": len(outputs)}
        if self.train:
            details["train_s"] = round(train_s, 3)
        msg = (f"{self.metric} = {value:.4f}: {self.floor:g} or less scores 0, "
               f"{self.target:g} or more scores full points")
        return self.result(points, msg, duration_s=round(predict_s, 3), details=details)

    def _run(self, sub: "SubmissionGrading"):
        """(outputs, train_s, predict_s), or the reason the submission could not be run."""
        from harness.grading.proxy import StudentCrash

        ctx, session = sub.ctx, sub.session
        train_s = 0.0
        if self.train:
            t0 = time.perf_counter()
            try:
                args, kwargs = ctx.cached(self.train_data)
                session.call(self.train, args, kwargs, timeout=self.train_timeout_s)
            except StudentCrash as e:
                return f"{self.train} (training, budget {self.train_timeout_s:g} s) failed: {e}"
            except Exception as e:  # noqa: BLE001 - fail closed
                return f"{self.train} (training) raised {type(e).__name__}: {e}"
            train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            calls, _targets = ctx.cached(self.data)
            deadline = time.monotonic() + self.timeout_s
            outputs = []
            for args, kwargs in calls:
                left = deadline - time.monotonic()
                if left <= 0:
                    return (f"the submission's {self.entry} used up the check's time budget of "
                            f"{self.timeout_s:g} s after {len(outputs)} of {len(calls)} batches")
                outputs.append(session.call(self.entry, args, kwargs, timeout=left))
        except StudentCrash as e:
            return f"{self.entry} failed: {e}"
        except MODEL_ERRORS as e:
            return f"{self.entry} raised {type(e).__name__}: {e}"
        except Exception as e:  # noqa: BLE001 - fail closed
            return f"{self.entry} could not be evaluated: {type(e).__name__}: {e}"
        return outputs, train_s, time.perf_counter() - t0

    @classmethod
    def view(cls, c: CheckResult) -> dict[str, Any] | None:
        return metric_view(c)


def metric_view(c: CheckResult) -> dict[str, Any] | None:
    """The report view shared by metric checks (accuracy, probe): value, band, figures, table."""
    from harness.reports.render import fmt_score, fmt_value, trusted_svg

    d = dict(c.details or {})
    if "value" not in d:
        return None
    figures = [(str(f.get("title", "")), trusted_svg(f.get("svg")))
               for f in d.pop("figures", []) or [] if isinstance(f, dict)]
    table = d.pop("table", None)
    if not (isinstance(table, dict) and isinstance(table.get("columns"), list)
            and isinstance(table.get("rows"), list)):
        table = None
    scalars = [(k, fmt_value(v)) for k, v in d.items()
               if k not in ("metric", "value", "floor", "target") and not isinstance(v, (dict, list))]
    return {
        "name": c.name, "metric": d.get("metric", ""), "value": fmt_value(d.get("value")),
        "floor": fmt_value(d.get("floor")), "target": fmt_value(d.get("target")),
        "score": fmt_score(c.score), "max_score": fmt_score(c.max_score),
        "figures": [(t, svg) for t, svg in figures if svg is not None],
        "table": table, "scalars": scalars,
    }
