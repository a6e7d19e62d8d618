"""Gradebook export: one row per student, built with pandas from stored result records."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from harness.results import SubmissionResult

__all__ = ["gradebook_frame", "write_gradebook_csv"]

_FIXED = ("student_id", "name", "total", "max_total", "status")


def _task_ids(results: list[SubmissionResult]) -> list[str]:
    """Task ids in the order of the first result's task list, then any others in order seen."""
    ids: list[str] = []
    for r in results:
        for t in r.tasks:
            if t.id not in ids:
                ids.append(t.id)
    return ids


def gradebook_frame(
    results: list[SubmissionResult], roster: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per student (``submission_id``) of one assignment.

    Columns: ``student_id``, ``name`` (from ``roster``, else empty), one column per task id with
    the task score, ``total``, ``max_total``, ``status``. Tasks are ordered as in the first
    result's task list. A graded or errored submission scores 0 on a task it has no result for
    (grading fails closed). Students in ``roster`` without a submission get empty task scores,
    ``total`` 0 and status ``"missing"``. When a student has several records, the last one in
    ``results`` wins (a regrade). Rows are sorted by student id.
    """
    roster = dict(roster or {})
    assignments = {r.assignment for r in results}
    if len(assignments) > 1:
        raise ValueError(
            f"gradebook_frame expects results of one assignment, got {sorted(assignments)}"
        )
    latest: dict[str, SubmissionResult] = {}
    for r in results:
        latest[r.submission_id] = r
    tasks = _task_ids([*results[:1], *latest.values()])
    clash = sorted(set(tasks) & set(_FIXED))
    if clash:
        raise ValueError(f"task ids {clash} clash with gradebook columns {list(_FIXED)}")
    max_total = max((float(r.max_score) for r in latest.values()), default=math.nan)

    rows = []
    for sid, r in latest.items():
        scores = {t.id: float(t.score) for t in r.tasks}
        rows.append({
            "student_id": sid,
            "name": roster.get(sid, ""),
            **{tid: scores.get(tid, 0.0) for tid in tasks},
            "total": float(r.score),
            "max_total": float(r.max_score),
            "status": r.status,
        })
    for sid, name in roster.items():
        if sid not in latest:
            rows.append({
                "student_id": sid,
                "name": name,
                **{tid: math.nan for tid in tasks},
                "total": 0.0,
                "max_total": max_total,
                "status": "missing",
            })
    columns = ["student_id", "name", *tasks, "total", "max_total", "status"]
    df = pd.DataFrame(rows, columns=columns)
    for col in [*tasks, "total", "max_total"]:
        df[col] = pd.to_numeric(df[col]).astype("float64")
    for col in ("student_id", "name", "status"):
        df[col] = df[col].astype(object).fillna("").astype(str)
    return df.sort_values("student_id", kind="stable").reset_index(drop=True)


def write_gradebook_csv(
    results: list[SubmissionResult], path: Path, roster: Mapping[str, str] | None = None
) -> Path:
    """Write :func:`gradebook_frame` as plain UTF-8 CSV (no index, empty cells for missing
    scores) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gradebook_frame(results, roster).to_csv(path, index=False, encoding="utf-8", na_rep="")
    return path


# LMS import layouts. Moodle's "Import grades > CSV file" maps one identifier column to a user
# field (here "ID number") and each other column to a grade item; Canvas's gradebook import
# matches rows on "SIS User ID" and takes the columns after "Section" as assignments.
LMS_FORMATS = ("plain", "moodle", "canvas")


def lms_frame(results: list[SubmissionResult], *, fmt: str, item: str,
              roster: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The gradebook in an LMS's import layout: one row per student, the total under ``item``
    (the grade item / assignment name as it appears in the LMS). Missing students score 0."""
    if fmt not in LMS_FORMATS:
        raise ValueError(f"format {fmt!r}: allowed formats are {', '.join(LMS_FORMATS)}")
    book = gradebook_frame(results, roster)
    if fmt == "plain":
        return book
    if fmt == "moodle":
        return pd.DataFrame({"ID number": book["student_id"], "Full name": book["name"],
                             item: book["total"]})
    return pd.DataFrame({"Student": book["name"], "ID": "", "SIS User ID": book["student_id"],
                         "SIS Login ID": "", "Section": "", item: book["total"]})


def write_lms_csv(results: list[SubmissionResult], path: Path, *, fmt: str, item: str,
                  roster: Mapping[str, str] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lms_frame(results, fmt=fmt, item=item, roster=roster).to_csv(path, index=False, encoding="utf-8",
                                                                  na_rep="")
    return path
