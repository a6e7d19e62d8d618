"""``[[probe]]``: representation learning graded by probes on frozen features.

1. The grader runs the submission's ``train`` entry on trusted *unlabeled* data inside the
   sandbox, within ``train_timeout_s`` and the worker's memory limit (on the GPU when graded with
   ``--gpus``: the data function receives ``device``).
2. It asks the submission's ``features`` entry for frozen features of trusted labeled data, batch
   by batch; the labels never enter the sandbox.
3. The trusted side fits a weighted k-NN classifier and a linear probe (harness/metrics/probe.py)
   on the training split's features and scores the test split. The graded ``metric`` maps to
   points from ``floor`` to ``target``.
4. A randomly initialised encoder, measured in the same run, is the yardstick: the reference's
   ``features`` before any training, in a clean worker (a submission cannot choose its own
   baseline). With ``relative = true`` (the default) the graded value is the gain over it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.checks.accuracy import MODEL_ERRORS, linear_points, metric_view
from harness.checks.base import Check, ParseContext, register
from harness.results import CheckResult, TaskResult
from harness.schema import common_keys, Key, ManifestError, positive, trusted_ref

if TYPE_CHECKING:  # pragma: no cover
    from harness.grading.submission import SubmissionGrading

MAX_FEATURE_DIM = 8192


@register
@dataclass(frozen=True)
class ProbeCheck(Check):
    train: str = ""
    train_data: str = ""
    features: str = ""
    data: str = ""
    metric: str = "knn"
    floor: float = 0.0
    target: float = 1.0
    relative: bool = True
    k: int = 20
    temperature: float = 0.07
    requires: str = ""
    train_timeout_s: float = 600.0
    timeout_s: float = 300.0
    figures: str = ""

    table: ClassVar[str] = "probe"
    noun: ClassVar[str] = "probe check"
    result_kind: ClassVar[str] = "probe"
    order: ClassVar[int] = 30
    template: ClassVar[str] = "metric.html.j2"
    section: ClassVar[str] = "Probes on frozen features"
    keys: ClassVar[tuple[Key, ...]] = (
        *common_keys("full points at or above target"),
        Key("train", str, doc="the training entry point, run on unlabeled data in the sandbox", ref="api"),
        trusted_ref("train_data", doc="'module:function'(device=...) -> (args, kwargs) of the training call "
                    "(unlabeled data only)"),
        Key("features", str, doc="entry point returning frozen features Tensor[N, D] for a batch", ref="api"),
        trusted_ref("data", doc="'module:function' -> (train_calls, train_labels, test_calls, test_labels); "
                    "calls are lists of (args, kwargs), labels int64 tensors that stay on the trusted side"),
        Key("metric", str, "knn", doc="the graded probe", rule=lambda v: v in ("knn", "linear"),
            allowed="'knn' or 'linear'"),
        Key("floor", float, doc="0 points at or below"),
        Key("target", float, doc="full points at or above (must be greater than floor)"),
        Key("relative", bool, True, doc="grade the gain over a randomly initialised encoder measured "
            "in the same run (the reference's features before training)"),
        Key("k", int, 20, doc="neighbours of the k-NN probe", rule=lambda v: v >= 1, allowed="must be >= 1"),
        positive("temperature", float, 0.07, "temperature of the k-NN vote weights exp(sim / T)"),
        Key("requires", str, "", doc="optional task id that must score full marks first", ref="task"),
        positive("train_timeout_s", float, 600.0, "time budget of the training call"),
        positive("timeout_s", float, 300.0, "time budget of all feature calls"),
        trusted_ref("figures", "", doc="optional 'module:function'(train_features, train_labels, test_features, "
                    "test_labels) -> list of report figures drawn from the submission's features"),
    )

    def validate(self, ctx: ParseContext, where: str) -> None:
        for key in ("train", "features"):
            if getattr(self, key) not in ctx.api_names:
                raise ManifestError(f"{where}: {key} entry '{getattr(self, key)}' is not in any task's api "
                                    f"{sorted(ctx.api_names)}")
        super().validate(ctx, where)
        if self.target <= self.floor:
            raise ManifestError(f"{where}: 'target' = {self.target!r} is not allowed; "
                                f"must be greater than floor ({self.floor})")

    @property
    def check_name(self) -> str:
        return f"probe:{self.features}"

    def describe(self) -> str:
        gain = "gain over a random encoder" if self.relative else "accuracy"
        return f"{self.metric} probe {gain} after {self.train}, {self.floor:g} -> {self.target:g}"

    def _label(self) -> str:
        return f"{self.metric} accuracy" + (" gain over random init" if self.relative else "")

    def zero(self, message: str, details: dict | None = None) -> TaskResult:
        return super().zero(message, details or {"metric": self._label(), "floor": self.floor,
                                                 "target": self.target})

    # -- grading -------------------------------------------------------------------------------
    def grade(self, sub: "SubmissionGrading") -> TaskResult:
        from harness.grading.proxy import StudentCrash

        why = self.gate(sub)
        if why:
            return self.zero(why)
        ctx = sub.ctx
        try:
            random_scores = ctx.cached_value(("probe-random", self.id), lambda: self._random_baseline(ctx))
        except Exception as e:  # noqa: BLE001 - a grader-side failure: nobody gets the points
            return self.zero(f"(grader) the random-encoder baseline could not be measured: {type(e).__name__}: {e}")
        t0 = time.perf_counter()
        try:
            args, kwargs = ctx.cached(self.train_data, device=ctx.device)
            sub.session.call(self.train, args, kwargs, timeout=self.train_timeout_s)
        except StudentCrash as e:
            return self.zero(f"{self.train} (training, budget {self.train_timeout_s:g} s) failed: {e}")
        except Exception as e:  # noqa: BLE001 - fail closed
            return self.zero(f"{self.train} (training) raised {type(e).__name__}: {e}")
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            feats = self._features(ctx, sub.session.call)
            scores = self._probe(ctx, feats)
        except StudentCrash as e:
            return self.zero(f"{self.features} failed: {e}")
        except MalformedFeatures as e:
            return self.zero(f"malformed output from {self.features}: {e}")
        except MODEL_ERRORS as e:
            return self.zero(f"{self.features} raised {type(e).__name__}: {e}")
        except Exception as e:  # noqa: BLE001 - fail closed
            return self.zero(f"{self.features} could not be evaluated: {type(e).__name__}: {e}")
        features_s = time.perf_counter() - t0
        graded = scores[self.metric] - (random_scores[self.metric] if self.relative else 0.0)
        details = {
            "metric": self._label(), "value": round(graded, 4), "floor": self.floor, "target": self.target,
            "train_s": round(train_s, 3), "features_s": round(features_s, 3),
            # aggregate accuracies over the held-out split: no input or label in them
            "table": {"audience": "public", "columns": ["encoder", "k-NN accuracy", "linear probe accuracy"],
                      "rows": [["yours, after training", round(scores["knn"], 4), round(scores["linear"], 4)],
                               ["random init (reference architecture)", round(random_scores["knn"], 4),
                                round(random_scores["linear"], 4)]]},
        }
        if self.figures:
            _train_calls, train_labels, _test_calls, test_labels = ctx.cached(self.data)
            try:
                details["figures"] = ctx.trusted(self.figures)(feats[0], train_labels, feats[1], test_labels)
            except Exception as e:  # noqa: BLE001 - a figure is no grade: report and go on
                details["figures_error"] = f"{type(e).__name__}: {e}"
        msg = (f"{self._label()} = {graded:.4f}: {self.floor:g} or less scores 0, "
               f"{self.target:g} or more scores full points")
        return self.result(linear_points(self.points, graded, self.floor, self.target), msg,
                           duration_s=round(train_s + features_s, 3), details=details)

    def _scores(self, ctx, call) -> dict[str, float]:
        return self._probe(ctx, self._features(ctx, call))

    def _features(self, ctx, call) -> list:
        """[train features, test features] (float64, CPU) from the ``features`` entry."""
        import torch

        train_calls, train_labels, test_calls, test_labels = ctx.cached(self.data)
        deadline = time.monotonic() + self.timeout_s
        feats = []
        for calls in (train_calls, test_calls):
            parts = []
            for i, (args, kwargs) in enumerate(calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise MalformedFeatures(f"the feature calls used up their budget of {self.timeout_s:g} s")
                out = call(self.features, args, kwargs, timeout=left)
                parts.append(_validated(out, i))
            if len({p.shape[1] for p in parts}) != 1:
                raise MalformedFeatures("batches have different feature dimensions")
            feats.append(torch.cat(parts))
        for f, labels, split in ((feats[0], train_labels, "training"), (feats[1], test_labels, "test")):
            if f.shape[0] != labels.shape[0]:
                raise MalformedFeatures(f"{f.shape[0]} feature rows for {labels.shape[0]} {split} samples")
        return feats

    def _probe(self, ctx, feats: list) -> dict[str, float]:
        from harness.metrics.probe import knn_accuracy, linear_probe_accuracy

        _train_calls, train_labels, _test_calls, test_labels = ctx.cached(self.data)
        return {"knn": knn_accuracy(feats[0], train_labels, feats[1], test_labels, k=self.k,
                                    temperature=self.temperature),
                "linear": linear_probe_accuracy(feats[0], train_labels, feats[1], test_labels)}

    def _random_baseline(self, ctx) -> dict[str, float]:
        session = ctx.baseline_session(f"reference:{self.features}")
        session.restart()  # a fresh, untrained reference encoder (seeded)
        return self._scores(ctx, session.call)

    @classmethod
    def view(cls, c: CheckResult) -> dict[str, Any] | None:
        return metric_view(c)


class MalformedFeatures(ValueError):
    pass


def _validated(out: Any, batch: int):
    import torch

    if type(out) is not torch.Tensor:
        raise MalformedFeatures(f"batch {batch}: expected a torch.Tensor [N, D], got {type(out).__name__}")
    if out.dim() != 2 or not out.is_floating_point():
        raise MalformedFeatures(f"batch {batch}: expected a float Tensor [N, D], got {out.dtype} {list(out.shape)}")
    if out.shape[1] > MAX_FEATURE_DIM or out.shape[1] < 1:
        raise MalformedFeatures(f"batch {batch}: feature dimension {out.shape[1]} outside 1..{MAX_FEATURE_DIM}")
    out = out.detach().cpu().double()
    if not bool(torch.isfinite(out).all()):
        raise MalformedFeatures(f"batch {batch}: features contain NaN or inf")
    return out
