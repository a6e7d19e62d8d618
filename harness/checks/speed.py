"""``[[speed]]``: the submission's time over a trusted baseline's on the same inputs.

The baseline is a library function (``torchvision.ops.nms``) or ``reference:<api name>``, run
in a clean worker that holds no student code. Graded only once the required task is at full
marks. Measurement: harness/grading/speed.py. A case that accepts ``variant`` gives every timed
call a fresh input; the outputs of the timed calls are checked (``compare``), and a wrong one, or
work done outside the timed calls, scores zero with a message.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from harness.checks.base import Check, ParseContext, register
from harness.results import CheckResult, TaskResult
from harness.schema import common_keys, Key, ManifestError, positive, trusted_ref

if TYPE_CHECKING:  # pragma: no cover
    from harness.grading.submission import SubmissionGrading


@register
@dataclass(frozen=True)
class SpeedCheck(Check):
    target: str = ""
    baseline: str = ""
    case: str = ""
    requires: str = ""
    full_ratio: float = 10.0
    zero_ratio: float = 60.0
    repeats: int = 7
    warmup: int = 2
    min_time_s: float = 0.05
    alternatives: str = ""
    flush_l2: bool = False
    compare: str = ""

    table: ClassVar[str] = "speed"
    noun: ClassVar[str] = "speed check"
    result_kind: ClassVar[str] = "speed"
    order: ClassVar[int] = 10
    template: ClassVar[str] = "speed.html.j2"
    section: ClassVar[str] = "Speed"
    keys: ClassVar[tuple[Key, ...]] = (
        *common_keys("full points at or below full_ratio"),
        Key("target", str, doc="the public function that is timed", ref="api"),
        Key("baseline", str, doc="a dotted library path (torchvision.ops.nms) or 'reference:<api name>'",
            ref="baseline"),
        trusted_ref("case", doc="'module:function' in the hidden tests folder returning (args, kwargs); "
                    "called with device=... and, if it accepts it, variant=0, 1, ... (a different input per "
                    "variant, e.g. another seed: every timed call gets a fresh one, so memoising gains "
                    "nothing; a case without variant is warned about by `cv3 check`)"),
        Key("requires", str, doc="task id that must score full marks first", ref="task"),
        positive("full_ratio", float, doc="full points at or below this ratio of times"),
        positive("zero_ratio", float, doc="zero points at or above this ratio (log-linear between)"),
        Key("repeats", int, 7, doc="timed repeats per side", rule=lambda v: v >= 3, allowed="must be >= 3"),
        Key("warmup", int, 2, doc="untimed repeats first", rule=lambda v: v >= 0, allowed="must be >= 0"),
        positive("min_time_s", float, 0.05, "at least this much work per repeat"),
        trusted_ref("alternatives", "", doc="'module:function' giving the documented alternative "
                    "solutions that `cv3 calibrate` times"),
        Key("flush_l2", bool, False, doc="on CUDA, flush the L2 cache before each timed call"),
        Key("compare", str, "", doc="how the outputs of the timed calls are checked: 'allclose' (floats "
            "allclose, integers exact, as the hidden tests), 'exact', 'same_elements' (the same values in any "
            "order, e.g. indices whose order may tie) against the baseline's for the same input, or 'self' "
            "(against the submission's own untimed call: a trained model's outputs differ from the "
            "reference's); '' = 'self' for a reference: baseline, else 'allclose'. A wrong output during "
            "timing scores zero",
            rule=lambda v: v in ("", "allclose", "exact", "same_elements", "self"),
            allowed="one of '', 'allclose', 'exact', 'same_elements', 'self'"),
    )

    def validate(self, ctx: ParseContext, where: str) -> None:
        if self.target not in ctx.api_names:
            raise ManifestError(f"{where}: target '{self.target}' is not in any task's api {sorted(ctx.api_names)}")
        super().validate(ctx, where)
        if self.zero_ratio <= self.full_ratio:
            raise ManifestError(f"{where}: 'zero_ratio' = {self.zero_ratio!r} is not allowed; "
                                f"must be greater than full_ratio ({self.full_ratio})")
        if self.baseline.startswith("reference:"):
            if self.baseline.removeprefix("reference:") not in ctx.api_names:
                raise ManifestError(f"{where}: baseline '{self.baseline}' names no function of the assignment's api")
        elif "." not in self.baseline:
            raise ManifestError(f"{where}: baseline '{self.baseline}' must be a dotted path "
                                "(torchvision.ops.nms) or 'reference:<api name>'")

    @property
    def check_name(self) -> str:
        return f"speed:{self.target}"

    def describe(self) -> str:
        return f"speed vs. {self.baseline}, full <= {self.full_ratio:g}x, zero >= {self.zero_ratio:g}x"

    def grade(self, sub: "SubmissionGrading") -> TaskResult:
        from harness.grading.speed import Rejected, measure, speed_points

        why = self.gate(sub)
        if why:
            return self.zero(why)
        ctx = sub.ctx
        try:
            args, kwargs = ctx.cached(self.case, device=ctx.device)
            variant = self.variants(ctx)
            baseline = ctx.baseline_session(self.baseline)
            with ctx.speed_lane():
                figures = measure(self, sub.session, baseline, args, kwargs,
                                  call_timeout_s=ctx.assignment.limits.call_timeout_s, device=ctx.device,
                                  variant=variant)
        except Rejected as e:
            return self.zero(str(e)[:3000])
        except Exception as e:  # noqa: BLE001 - fail closed: a crash or hang scores zero
            return self.zero(f"the speed check could not be completed: {type(e).__name__}: {e}"[:3000])
        if figures.get("rejected"):
            return self.zero(str(figures["rejected"])[:3000], details=figures)
        points = speed_points(figures["ratio"], self)
        msg = (f"{figures['ratio']:.1f}x the baseline's time ({self.baseline}, {figures['clock']}); "
               f"full points at <= {self.full_ratio:g}x, zero at >= {self.zero_ratio:g}x")
        return self.result(points, msg, duration_s=round(figures["student_median_s"] * figures["repeats"], 4),
                           details=figures)

    def variants(self, ctx) -> Callable[[int], tuple] | None:
        """``variant -> (args, kwargs)`` where the case accepts ``variant``; else None (every timed
        call gets the one input: a submission may memoise it) and a warning, once per check."""
        if not accepts_variant(ctx.trusted(self.case)):
            warn_memoisable(self)
            return None
        return lambda v: ctx.cached(self.case, device=ctx.device, variant=v)

    @classmethod
    def view(cls, c: CheckResult) -> dict[str, Any]:
        from harness.reports.render import fmt_ms, fmt_ratio, fmt_score, fmt_spread, _num

        d = c.details or {}
        repeats, number = d.get("repeats"), d.get("number")
        full, zero = _num(d.get("full_ratio")), _num(d.get("zero_ratio"))
        return {
            "task": c.task, "name": c.name,
            "ratio": fmt_ratio(d.get("ratio")), "ratio_value": _num(d.get("ratio")),
            "clock": str(d.get("clock", "wall")),
            "student_median": fmt_ms(d.get("student_median_s")),
            "baseline_median": fmt_ms(d.get("baseline_median_s")),
            "student_spread": fmt_spread(d.get("student_spread")),
            "baseline_spread": fmt_spread(d.get("baseline_spread")),
            "repeats": f"{repeats} × {number}" if repeats is not None and number is not None else "—",
            "device": str(d.get("device", "—")),
            "band": f"full ≤ {full:g}×, zero ≥ {zero:g}×" if full is not None and zero is not None else "—",
            "baseline": str(d.get("baseline", "—")),
            "score": fmt_score(c.score), "max_score": fmt_score(c.max_score), "passed": bool(c.passed),
        }


def accepts_variant(case: Callable) -> bool:
    """Whether a speed case takes ``variant`` (by name, or through ``**kwargs``)."""
    try:
        params = inspect.signature(case).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "variant" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


_WARNED: set[tuple[str, str]] = set()


def memoisable_message(check: SpeedCheck) -> str:
    return (f"speed check '{check.id}': case '{check.case}' does not accept variant=..., so every timed "
            "call gets the same input and a submission that memoises its input is timed on lookups; "
            "give the case a variant argument (another seed per variant)")


def warn_memoisable(check: SpeedCheck) -> None:
    if (check.id, check.case) not in _WARNED:
        _WARNED.add((check.id, check.case))
        warnings.warn(memoisable_message(check), UserWarning, stacklevel=2)
