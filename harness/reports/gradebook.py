"""Gradebook export: one row per student, built with pandas from stored result records.

An error (a submission that could not be graded) or a missing submission (a roster student
without one) is never written as a number unless asked (``errors="zero"``, ``missing="zero"``):
by default its cells are left blank, so an LMS import leaves that grade alone and the
instructor sees it. Every text cell that a spreadsheet would read as a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading single quote
(OWASP's advice on CSV injection).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from harness.results import SubmissionResult

__all__ = ["LMS_FORMATS", "POLICIES", "gradebook_counts", "gradebook_frame", "gradebook_notes", "lms_frame",
           "safe_cell", "write_gradebook_csv", "write_lms_csv"]

_FIXED = ("student_id", "name", "total", "max_total", "status")
POLICIES = ("blank", "zero")  # what an error / a missing submission is written as
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].astype(object).map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def _check_policy(errors: str, missing: str) -> None:
    for what, value in (("errors", errors), ("missing", missing)):
        if value not in POLICIES:
            raise ValueError(f"{what}={value!r}: allowed values are {', '.join(POLICIES)}")


def _task_ids(results: list[SubmissionResult]) -> list[str]:
    """Task ids in the order of the first result's task list, then any others in order seen."""
    ids: list[str] = []
    for r in results:
        for t in r.tasks:
            if t.id not in ids:
                ids.append(t.id)
    return ids


def _latest(results: list[SubmissionResult]) -> dict[str, SubmissionResult]:
    assignments = {r.assignment for r in results}
    if len(assignments) > 1:
        raise ValueError(
            f"gradebook_frame expects results of one assignment, got {sorted(assignments)}"
        )
    latest: dict[str, SubmissionResult] = {}
    for r in results:
        latest[r.submission_id] = r
    return latest


def gradebook_frame(
    results: list[SubmissionResult], roster: Mapping[str, str] | None = None, *,
    errors: str = "blank", missing: str = "blank", names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per student (``submission_id``) of one assignment.

    Columns: ``student_id``, ``name`` (from ``roster``, else ``names``, else empty), one column
    per task id with the task score, ``total``, ``max_total``, ``status`` (``graded``, ``error``
    or ``missing``). Tasks are ordered as in the first result's task list. A graded submission
    scores 0 on a task it has no result for (grading fails closed). A submission that could not
    be graded (status ``error``) and a roster student without a submission (``missing``) get
    empty task scores and total (NaN), or 0 with ``errors="zero"`` / ``missing="zero"``. When a
    student has several records, the last one in ``results`` wins (a regrade). Rows are sorted
    by student id.
    """
    _check_policy(errors, missing)
    roster = dict(roster or {})
    names = dict(names or {})
    latest = _latest(results)
    tasks = _task_ids([*results[:1], *latest.values()])
    clash = sorted(set(tasks) & set(_FIXED))
    if clash:
        raise ValueError(f"task ids {clash} clash with gradebook columns {list(_FIXED)}")
    max_total = max((float(r.max_score) for r in latest.values()), default=math.nan)

    rows = []
    for sid, r in latest.items():
        name = roster.get(sid) or names.get(sid, "")
        if r.status == "graded":
            scores = {t.id: float(t.score) for t in r.tasks}
            cells = {**{tid: scores.get(tid, 0.0) for tid in tasks}, "total": float(r.score)}
        else:
            blank = math.nan if errors == "blank" else 0.0
            cells = {**{tid: blank for tid in tasks}, "total": blank}
        rows.append({"student_id": sid, "name": name, **cells, "max_total": float(r.max_score),
                     "status": r.status})
    for sid, name in roster.items():
        if sid not in latest:
            blank = math.nan if missing == "blank" else 0.0
            rows.append({"student_id": sid, "name": name or names.get(sid, ""),
                         **{tid: blank for tid in tasks}, "total": blank, "max_total": max_total,
                         "status": "missing"})
    columns = ["student_id", "name", *tasks, "total", "max_total", "status"]
    df = pd.DataFrame(rows, columns=columns)
    for col in [*tasks, "total", "max_total"]:
        df[col] = pd.to_numeric(df[col]).astype("float64")
    for col in ("student_id", "name", "status"):
        df[col] = df[col].astype(object).fillna("").astype(str)
    return df.sort_values("student_id", kind="stable").reset_index(drop=True)


def gradebook_notes(results: list[SubmissionResult],
                    roster: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(student id, status, reason) of every row that is not a graded submission, sorted."""
    latest = _latest(results)
    notes = []
    for sid, r in latest.items():
        if r.status != "graded":
            reason = (r.error or "no reason stored").strip().splitlines() or ["no reason stored"]
            notes.append((sid, r.status, reason[0][:160]))
    for sid in roster or {}:
        if sid not in latest:
            notes.append((sid, "missing", "on the roster, no submission graded"))
    return sorted(notes)


def gradebook_counts(book: pd.DataFrame) -> dict[str, int]:
    """Rows per status: ``graded``, ``error``, ``missing`` (and any other status seen)."""
    counts = {"graded": 0, "error": 0, "missing": 0}
    for status in book["status"]:
        counts[status] = counts.get(status, 0) + 1
    return counts


def write_gradebook_csv(
    results: list[SubmissionResult], path: Path, roster: Mapping[str, str] | None = None, *,
    errors: str = "blank", missing: str = "blank", names: Mapping[str, str] | None = None,
) -> Path:
    """Write :func:`gradebook_frame` as plain UTF-8 CSV (no index, empty cells for blank
    scores, formula-safe text cells) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = gradebook_frame(results, roster, errors=errors, missing=missing, names=names)
    _safe_frame(book).to_csv(path, index=False, encoding="utf-8", na_rep="")
    return path


# LMS import layouts. Moodle's "Import grades > CSV file" maps one identifier column to a user
# field (here "ID number") and each other column to a grade item. Submissions from Moodle's
# assignment download carry participant ids, which only the assignment's grading worksheet
# import understands ("Upload grading worksheet": Identifier "Participant <id>", Grade, and
# "Last modified (grade)", all three required). Canvas's gradebook import matches rows on "ID"
# (the Canvas user id, which its submissions download carries) or "SIS User ID" and takes the
# columns after "Section" as assignments.
LMS_FORMATS = ("plain", "moodle", "canvas")
MOODLE_WORKSHEET = ("Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)")


def lms_frame(results: list[SubmissionResult], *, fmt: str, item: str,
              roster: Mapping[str, str] | None = None, errors: str = "blank", missing: str = "blank",
              identities: Mapping[str, tuple[str, str]] | None = None,
              now: float | None = None) -> pd.DataFrame:
    """The gradebook in an LMS's import layout: one row per student, the total under ``item``
    (the grade item / assignment name as it appears in the LMS). ``identities`` maps a
    submission id to (name, lms) for submissions found in an LMS download layout: their ids
    are the LMS's own and go where that LMS's import looks for them. Errors and missing
    submissions are blank unless ``errors``/``missing`` is ``"zero"``."""
    if fmt not in LMS_FORMATS:
        raise ValueError(f"format {fmt!r}: allowed formats are {', '.join(LMS_FORMATS)}")
    identities = dict(identities or {})
    names = {sid: name for sid, (name, _lms) in identities.items() if name}
    book = gradebook_frame(results, roster, errors=errors, missing=missing, names=names)
    if fmt == "plain":
        return book
    lms_of = [identities.get(sid, ("", ""))[1] for sid in book["student_id"]]
    if fmt == "moodle":
        submitted = {lms for lms, status in zip(lms_of, book["status"]) if status != "missing"}
        if "moodle" in submitted:
            if submitted != {"moodle"}:
                others = sorted(sid for sid, lms, status in zip(book["student_id"], lms_of, book["status"])
                                if lms != "moodle" and status != "missing")
                raise ValueError(
                    "the store mixes Moodle participant ids (from Moodle's assignment download) with "
                    f"other student ids ({', '.join(others[:5])}); one Moodle import cannot match both: "
                    "grade them into separate stores (--store) and export each")
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
            return pd.DataFrame({
                "Identifier": [f"Participant {sid}" for sid in book["student_id"]],
                "Full name": book["name"], "Grade": book["total"], "Maximum Grade": book["max_total"],
                "Last modified (grade)": stamp,
            }, columns=list(MOODLE_WORKSHEET))
        return pd.DataFrame({"ID number": book["student_id"], "Full name": book["name"],
                             item: book["total"]})
    canvas = [lms == "canvas" for lms in lms_of]
    return pd.DataFrame({
        "Student": book["name"],
        "ID": [sid if c else "" for sid, c in zip(book["student_id"], canvas)],
        "SIS User ID": [sid if not c else "" for sid, c in zip(book["student_id"], canvas)],
        "SIS Login ID": "", "Section": "", item: book["total"],
    })


def write_lms_csv(results: list[SubmissionResult], path: Path, *, fmt: str, item: str,
                  roster: Mapping[str, str] | None = None, errors: str = "blank", missing: str = "blank",
                  identities: Mapping[str, tuple[str, str]] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = lms_frame(results, fmt=fmt, item=item, roster=roster, errors=errors, missing=missing,
                      identities=identities)
    _safe_frame(frame).to_csv(path, index=False, encoding="utf-8", na_rep="")
    return path
