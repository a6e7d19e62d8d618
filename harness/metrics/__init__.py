"""Trusted metric implementations used by accuracy-check scorers (never student code)."""

from harness.metrics.coco import benchmark_coco
from harness.metrics.coco import evaluate as evaluate_coco
from harness.metrics.mot import benchmark_mot, evaluate_mot, evaluate_mot_many

__all__ = ["benchmark_coco", "benchmark_mot", "evaluate_coco", "evaluate_mot", "evaluate_mot_many"]
