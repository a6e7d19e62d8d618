"""Gradebook exports never turn an error into a zero.

A submission that could not be graded and a roster student without a submission are left blank
(and listed on stderr with the reason) unless the instructor asks for 0 (``--errors zero``,
``--missing zero``); the plain CSV has a status column; a summary line counts graded, error and
missing; text cells are formula-safe; reading commands refuse a store that does not exist.
Stores are written directly (no grading), so these tests are fast.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reports.gradebook import (gradebook_counts, gradebook_frame, gradebook_notes, lms_frame,
                                       safe_cell, write_gradebook_csv, write_lms_csv)
from harness.results import SubmissionResult, TaskResult
from harness.store import ResultStore

A = "detection"


def result(sid: str, status: str = "graded", score: float = 7.0, error: str = "") -> SubmissionResult:
    tasks = [TaskResult("iou", "IoU", 4.0, min(score, 4.0)), TaskResult("nms", "NMS", 6.0, max(score - 4.0, 0.0))]
    if status == "error":
        tasks = [TaskResult("iou", "IoU", 4.0, 0.0), TaskResult("nms", "NMS", 6.0, 0.0)]
        score = 0.0
    return SubmissionResult(A, sid, status, score, 10.0, tasks=tasks, error=error, source_sha256=f"sha-{sid}")


RESULTS = [
    result("alice", score=9.5),
    result("bob", score=0.0),  # graded, and scored zero: a real zero
    result("carol", "error", error="malformed submission: no package 'detection' found (found: hw1.zip)\nmore"),
]
ROSTER = {"alice": "Alice Liddell", "bob": "Bob Builder", "carol": "Carol Danvers", "dave": "Dave Bowman"}


def cv3(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def store_path(tmp_path) -> Path:
    path = tmp_path / "results" / "cv3.sqlite"
    store = ResultStore(path)
    for r in RESULTS:
        store.put(r)
    return path


@pytest.fixture
def roster(tmp_path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("student_id,name\n" + "".join(f"{k},{v}\n" for k, v in ROSTER.items()))
    return path


# ------------------------------------------------------------------ frames


def test_errors_and_missing_are_blank_by_default_a_graded_zero_is_a_zero():
    df = gradebook_frame(RESULTS, ROSTER).set_index("student_id")
    assert list(df["status"]) == ["graded", "graded", "error", "missing"]
    assert df.loc["bob", "total"] == 0.0 and df.loc["bob", "nms"] == 0.0
    for sid in ("carol", "dave"):
        assert math.isnan(df.loc[sid, "total"]) and math.isnan(df.loc[sid, "iou"]) and math.isnan(df.loc[sid, "nms"])
    assert df.loc["carol", "max_total"] == 10.0 and df.loc["dave", "max_total"] == 10.0
    assert gradebook_counts(df.reset_index()) == {"graded": 2, "error": 1, "missing": 1}


def test_zero_only_when_asked():
    df = gradebook_frame(RESULTS, ROSTER, errors="zero").set_index("student_id")
    assert df.loc["carol", "total"] == 0.0 and df.loc["carol", "iou"] == 0.0
    assert math.isnan(df.loc["dave", "total"])
    df = gradebook_frame(RESULTS, ROSTER, missing="zero").set_index("student_id")
    assert math.isnan(df.loc["carol", "total"]) and df.loc["dave", "total"] == 0.0
    with pytest.raises(ValueError, match="errors='none': allowed values are blank, zero"):
        gradebook_frame(RESULTS, errors="none")


def test_notes_list_every_row_without_a_grade_with_its_reason():
    assert gradebook_notes(RESULTS, ROSTER) == [
        ("carol", "error", "malformed submission: no package 'detection' found (found: hw1.zip)"),
        ("dave", "missing", "on the roster, no submission graded"),
    ]


@pytest.mark.parametrize("fmt", ["moodle", "canvas"])
def test_lms_layouts_leave_errors_and_missing_blank(fmt, tmp_path):
    path = write_lms_csv(RESULTS, tmp_path / "g.csv", fmt=fmt, item="HW1", roster=ROSTER)
    rows = read_csv(path)
    key = "ID number" if fmt == "moodle" else "SIS User ID"
    grades = {r[key]: r["HW1"] for r in rows}
    assert grades == {"alice": "9.5", "bob": "0.0", "carol": "", "dave": ""}
    zero = read_csv(write_lms_csv(RESULTS, tmp_path / "z.csv", fmt=fmt, item="HW1", roster=ROSTER,
                                  errors="zero", missing="zero"))
    assert {r[key]: r["HW1"] for r in zero} == {"alice": "9.5", "bob": "0.0", "carol": "0.0", "dave": "0.0"}


def test_canvas_puts_canvas_user_ids_under_id_and_others_under_sis_user_id():
    frame = lms_frame([result("4711"), result("s123")], fmt="canvas", item="HW1",
                      identities={"4711": ("lovelaceada", "canvas")})
    rows = frame.set_index("Student", drop=False).to_dict("records")
    assert [(r["Student"], r["ID"], r["SIS User ID"]) for r in rows] == [("lovelaceada", "4711", ""), ("", "", "s123")]


def test_moodle_participant_ids_give_the_grading_worksheet():
    frame = lms_frame([result("12345", score=8.0), result("24680", "error", error="x")], fmt="moodle",
                      item="HW1", identities={"12345": ("Ada Lovelace", "moodle"), "24680": ("Alan Turing", "moodle")},
                      now=0.0)
    assert list(frame.columns) == ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)"]
    rows = frame.to_dict("records")
    assert rows[0]["Identifier"] == "Participant 12345" and rows[0]["Grade"] == 8.0
    assert rows[0]["Full name"] == "Ada Lovelace" and rows[0]["Last modified (grade)"] == "1970-01-01 00:00:00 UTC"
    assert rows[1]["Identifier"] == "Participant 24680" and math.isnan(rows[1]["Grade"])


# ------------------------------------------------------------------ formula-safe cells


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")'])
def test_formula_like_text_is_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["alice", "12345", "", "Zoë 'quoted'", 1.5, -2.0, None])
def test_other_cells_are_unchanged(value):
    assert safe_cell(value) == value


def test_every_text_cell_of_every_layout_is_formula_safe(tmp_path):
    evil = [result("=cmd|' /C calc'!A0", score=5.0), result("@alice", "error", error="-boom")]
    roster = {"=cmd|' /C calc'!A0": "+Mallory", "@alice": "-Alice", "\tdave": "=Dave"}
    plain = read_csv(write_gradebook_csv(evil, tmp_path / "p.csv", roster=roster))
    assert [(r["student_id"], r["name"]) for r in plain] == [  # sorted by the raw id
        ("'\tdave", "'=Dave"), ("'=cmd|' /C calc'!A0", "'+Mallory"), ("'@alice", "'-Alice")]
    moodle = read_csv(write_lms_csv(evil, tmp_path / "m.csv", fmt="moodle", item="=HW1", roster=roster))
    assert list(moodle[0]) == ["ID number", "Full name", "'=HW1"]
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in moodle for v in r.values())
    canvas = read_csv(write_lms_csv(evil, tmp_path / "c.csv", fmt="canvas", item="HW1", roster=roster))
    assert [r["SIS User ID"] for r in canvas] == ["'\tdave", "'=cmd|' /C calc'!A0", "'@alice"]
    assert [r["Student"] for r in canvas] == ["'=Dave", "'+Mallory", "'-Alice"]


# ------------------------------------------------------------------ cv3 export


def test_export_default_leaves_blanks_lists_them_on_stderr_and_counts(store_path, roster, tmp_path):
    out = tmp_path / "plain.csv"
    done = cv3("export", A, "--store", str(store_path), "--roster", str(roster), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {r["student_id"]: r for r in read_csv(out)}
    assert (rows["carol"]["total"], rows["carol"]["status"]) == ("", "error")
    assert (rows["dave"]["total"], rows["dave"]["status"]) == ("", "missing")
    assert (rows["bob"]["total"], rows["bob"]["status"]) == ("0.0", "graded")
    assert "graded 2, error 1, missing 1" in done.stdout
    assert "2 row(s) without a grade" in done.stderr
    lines = {ln.split()[0]: ln for ln in done.stderr.splitlines()[1:]}
    assert "written as blank" in lines["carol"] and "no package 'detection' found" in lines["carol"]
    assert "written as blank" in lines["dave"] and "no submission" in lines["dave"]


@pytest.mark.parametrize("fmt, key", [("moodle", "ID number"), ("canvas", "SIS User ID")])
def test_export_lms_formats_blank_by_default_zero_when_asked(fmt, key, store_path, roster, tmp_path):
    out = tmp_path / f"{fmt}.csv"
    done = cv3("export", A, "--format", fmt, "--item", "HW1", "--store", str(store_path), "--roster", str(roster),
               "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {r[key]: r["HW1"] for r in read_csv(out)} == {"alice": "9.5", "bob": "0.0", "carol": "", "dave": ""}
    done = cv3("export", A, "--format", fmt, "--item", "HW1", "--store", str(store_path), "--roster", str(roster),
               "--out", str(out), "--errors", "zero", "--missing", "zero", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {r[key]: r["HW1"] for r in read_csv(out)} == {"alice": "9.5", "bob": "0.0", "carol": "0.0", "dave": "0.0"}
    assert "written as 0" in done.stderr


@pytest.mark.parametrize("command", [["export", A], ["leaderboard", A]])
def test_reading_commands_refuse_a_store_that_does_not_exist(command, tmp_path):
    missing = tmp_path / "resutls" / "cv3.sqlite"  # a typo
    done = cv3(*command, "--store", str(missing), cwd=tmp_path)
    assert done.returncode == 1
    assert str(missing) in done.stderr and "no such file" in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists() and not missing.parent.exists()  # nothing created


def test_export_of_an_assignment_with_no_results_says_so(store_path, tmp_path):
    done = cv3("export", "tracking", "--store", str(store_path), "--out", str(tmp_path / "t.csv"), cwd=tmp_path)
    assert done.returncode == 1 and "no results for 'tracking'" in done.stderr
    assert not (tmp_path / "t.csv").exists()
