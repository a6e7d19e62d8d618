"""Result records: what grading produces, what the store keeps and what reports render.

Reports are rendered from these records only, never by re-running anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class CheckResult:
    """One graded check: a test case, a speed check or a static rule."""

    task: str
    name: str  # e.g. "test_nms_matches_torchvision[cpu-dense]" or "speed:nms"
    kind: str  # "test" | "speed" | "static" | "accuracy"
    passed: bool
    score: float
    max_score: float
    message: str = ""  # why it failed: exception text, expected vs. got (never test source)
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)  # e.g. speed figures


@dataclass
class TaskResult:
    id: str
    title: str
    points: float
    score: float
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)


@dataclass
class SubmissionResult:
    assignment: str
    submission_id: str  # the student id (folder or zip name)
    status: str  # "graded" | "error" (the submission could not be graded at all)
    score: float
    max_score: float
    tasks: list[TaskResult] = field(default_factory=list)
    error: str = ""  # set when status == "error" or the submission is malformed
    warnings: list[str] = field(default_factory=list)
    source_sha256: str = ""
    started_at: str = ""
    finished_at: str = ""
    # device, torch/torchvision/python/harness versions, seed, backend
    environment: dict[str, Any] = field(default_factory=dict)
    # which protections the sandbox had: filesystem/network isolation, limits
    sandbox: dict[str, Any] = field(default_factory=dict)
    # harness overhead vs. test compute, in seconds
    timings: dict[str, float] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SubmissionResult":
        data = dict(data)
        tasks = []
        for t in data.pop("tasks", []):
            t = dict(t)
            checks = [CheckResult(**c) for c in t.pop("checks", [])]
            tasks.append(TaskResult(**t, checks=checks))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}, tasks=tasks)

    def speed_checks(self) -> list[CheckResult]:
        return [c for t in self.tasks for c in t.checks if c.kind == "speed"]
