"""`cv3 feedback` and published leaderboards: one self-contained student-view bundle per student,
pseudonyms that are stable and keyed, opt-in names, and a public/private score split."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.manifest import Visibility, find_assignment
from harness.reports.feedback import (
    display_names,
    load_key,
    pseudonym,
    publish_leaderboard,
    read_optin_names,
    write_feedback,
)
from harness.reports.render import public_leaderboard_frame
from harness.results import CheckResult, SubmissionResult, TaskResult
from harness.store import ResultStore

A = "detection"
IDS = ("stu-alice-4711", "stu-bob-0815", "stu-carol-2342")
HIDDEN_NAME = "test_hidden_boxes::test_iou_secret[voc-0.54545]"


def result(sid: str, public: float, hidden: float) -> SubmissionResult:
    """4 points of public tests (two checks), 6 of hidden tests (one check)."""
    checks = [
        CheckResult("iou", "test_public::test_a", "test", public >= 2, min(public, 2.0), 2.0,
                    "" if public >= 2 else "public failure", details={"suite": "public"}),
        CheckResult("iou", "test_public::test_b", "test", public >= 4, max(public - 2, 0.0), 2.0,
                    "" if public >= 4 else "public failure b", details={"suite": "public"}),
        CheckResult("iou", HIDDEN_NAME, "test", hidden >= 6, hidden, 6.0,
                    "" if hidden >= 6 else "expected 0.8907735942218701", details={"suite": "hidden"}),
    ]
    return SubmissionResult(A, sid, "graded", public + hidden, 10.0,
                            [TaskResult("iou", "Box IoU", 10.0, public + hidden, checks)],
                            environment={"host": "gradebox-9", "device": "cpu"},
                            sandbox={"notes": ["could read any file"]})


RESULTS = [result(IDS[0], 4.0, 0.0), result(IDS[1], 2.0, 6.0), result(IDS[2], 0.0, 6.0)]
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def assignment():
    return find_assignment(A)


def test_pseudonyms_are_stable_keyed_and_not_the_id(tmp_path):
    p = pseudonym(IDS[0], KEY)
    assert p == pseudonym(IDS[0], KEY) and re.fullmatch(r"[a-z]+-[a-z]+-[0-9a-f]{4}", p)
    assert p != pseudonym(IDS[1], KEY) and p != pseudonym(IDS[0], bytes(32))
    assert "alice" not in p and "4711" not in p
    assert len({pseudonym(f"s{i}", KEY) for i in range(500)}) == 500
    key_file = tmp_path / "results" / "pseudonyms.key"
    key = load_key(key_file)
    assert load_key(key_file) == key and len(key) == 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_optin_names_from_the_roster(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,opt_in,leaderboard_name\n"
                      f"{IDS[0]},Alice A,yes,\n{IDS[1]},Bob B,no,\n{IDS[2]},Carol C,no,Team Rocket\n")
    optin = read_optin_names(roster)
    assert optin == {IDS[0]: "Alice A", IDS[2]: "Team Rocket"}
    names = display_names(IDS, key=KEY, optin=optin)
    assert names[IDS[0]] == "Alice A" and names[IDS[1]] == pseudonym(IDS[1], KEY)
    assert display_names(IDS, names="ids") == {i: i for i in IDS}


def test_public_private_split_ranks_by_public_until_released():
    df = public_leaderboard_frame(RESULTS, Visibility())
    # before release: the public tests only (alice 4, bob 2, carol 0)
    assert list(df["student_id"]) == list(IDS) and list(df["public"]) == [4.0, 2.0, 0.0]
    assert list(df["private"]) == [0.0, 6.0, 6.0]
    final = public_leaderboard_frame(RESULTS, Visibility(released=True))
    assert list(final["student_id"]) == [IDS[1], IDS[2], IDS[0]] and list(final["rank"]) == [1, 2, 3]


def test_feedback_bundles_are_self_contained_student_views(assignment, tmp_path):
    items = write_feedback(assignment, RESULTS, tmp_path / "fb", key=KEY)
    assert [i.student_id for i in items] == sorted(IDS)
    for item in items:
        files = sorted(p.name for p in item.path.iterdir())
        assert files == ["feedback.html", "leaderboard.html"]
        report = (item.path / "feedback.html").read_text()
        board = (item.path / "leaderboard.html").read_text()
        others = [i for i in IDS if i != item.student_id]
        for page in (report, board):
            for secret in (*others, HIDDEN_NAME, "voc-0.54545", "0.8907735942218701", "gradebox-9",
                           "could read any file", "index.html"):
                assert secret not in page, (item.student_id, secret)
            # links only inside the bundle
            assert set(re.findall(r'href="([^"#]+)"', page)) <= {"leaderboard.html"}
        assert item.student_id in report and item.shown_as in report and item.shown_as in board
        assert re.search(r'<tr class="you">.*?' + re.escape(item.shown_as), board, flags=re.S)
        assert item.student_id not in board
        # before release: no private scores on the leaderboard
        assert "Private<br>" not in board and "Ranked by the public score" in board
    top = (tmp_path / "fb" / "leaderboard.html").read_text()
    assert 'class="you"' not in top and not any(i in top for i in IDS)
    assert all(pseudonym(i, KEY) in top for i in IDS)


def test_feedback_zips_and_released_results(assignment, tmp_path):
    policy = assignment.visibility.replace(released=True)
    items = write_feedback(assignment, RESULTS, tmp_path / "fb", policy=policy, leaderboard="ids", as_zip=True)
    for item in items:
        assert item.path.suffix == ".zip" and item.path.parent == tmp_path / "fb"
        with zipfile.ZipFile(item.path) as z:
            assert sorted(z.namelist()) == ["feedback.html", "leaderboard.html"]
            board = z.read("leaderboard.html").decode()
        assert "Private<br>" in board and "Total<br>" in board and all(i in board for i in IDS)
    assert not any(p.is_dir() for p in (tmp_path / "fb").iterdir())
    none = write_feedback(assignment, RESULTS, tmp_path / "fb2", leaderboard="none")
    assert all(sorted(p.name for p in i.path.iterdir()) == ["feedback.html"] for i in none)
    page = (none[0].path / "feedback.html").read_text()
    assert "href=" not in page.replace('href="#', "") and "pseudonym" not in page


def test_publish_leaderboard_names(assignment, tmp_path):
    path = publish_leaderboard(assignment, RESULTS, tmp_path / "board.html", key=KEY)
    page = path.read_text()
    assert not any(i in page for i in IDS) and all(pseudonym(i, KEY) in page for i in IDS)
    assert "<a " not in page


def cv3(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_feedback_and_leaderboard_publish(tmp_path):
    store_path = tmp_path / "results" / "cv3.sqlite"
    store = ResultStore(store_path)
    for r in RESULTS:
        store.put(r)
    done = cv3("feedback", A, "--out", str(tmp_path / "fb"), "--store", str(store_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 3 student feedback folder(s)" in done.stdout
    assert (tmp_path / "results" / "pseudonyms.key").is_file()
    key = load_key(tmp_path / "results" / "pseudonyms.key")
    board = (tmp_path / "fb" / "stu-alice-4711" / "leaderboard.html").read_text()
    assert pseudonym(IDS[0], key) in board and IDS[1] not in board

    done = cv3("feedback", A, "--out", str(tmp_path / "z"), "--zip", "--leaderboard", "none",
               "--store", str(store_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "z").iterdir()) == sorted(f"{i}.zip" for i in IDS)

    done = cv3("leaderboard", A, "--store", str(store_path), "--reports", str(tmp_path / "reports"),
               "--publish", str(tmp_path / "public.html"), "--names", "ids", "--released", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "public.html").read_text()
    assert all(i in page for i in IDS) and "Total<br>" in page and "published leaderboard (ids, final)" in done.stdout

    empty = cv3("feedback", A, "--out", str(tmp_path / "e"), "--store", str(tmp_path / "none.sqlite"), cwd=tmp_path)
    assert empty.returncode == 1 and "no results" in empty.stderr
