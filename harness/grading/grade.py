"""Grading one submission end to end (kept for its import path; the work is in context.py and
submission.py).

Fails closed: anything that goes wrong scores zero on what it affects and says why; an error
is never a pass, and one submission can never stop the batch.
"""

from harness.grading.context import GradingContext, Grader, data_packages_importable

__all__ = ["Grader", "GradingContext", "data_packages_importable"]
