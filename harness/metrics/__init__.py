"""Trusted metric implementations used by accuracy-check scorers (never student code)."""

from harness.metrics.mot import benchmark_mot, evaluate_mot, evaluate_mot_many

__all__ = ["benchmark_mot", "evaluate_mot", "evaluate_mot_many"]
