"""Black-box tests of the `cv3` command line.

Each test writes submissions under a temporary folder, runs ``python -m harness.cli ...`` in a
subprocess with ``--store``/``--reports`` under that folder, and asserts on the exit code, the
printed output, the results store (read back with ``ResultStore``) and the written reports.
Grading one submission costs ~5 s, so one batch (alice = reference, bob = stub, carol = no
package) is graded once per module and copied by the tests that change it; ``--no-speed``
everywhere (speed is tested in test_speed.py).
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.manifest import find_assignment, list_assignments
from harness.store import ResultStore
from tests.conftest import ROOT

A = "detection"
ASSIGNMENT = find_assignment(A)
# full marks when graded with --no-speed: tests and accuracy checks, no speed checks
NO_SPEED_ITEMS = (*ASSIGNMENT.tasks, *getattr(ASSIGNMENT, "accuracy", ()))
M = sum(t.points for t in NO_SPEED_ITEMS)
REFERENCE_PKG = ROOT / "reference" / A / A
STUB_PKG = ROOT / "assignments" / A / A
TIMEOUT = 300


def cv3(*args: str, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, as a user would (`cv3 ...`)."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def storage(base: Path) -> list[str]:
    return ["--store", str(base / "results" / "cv3.sqlite"), "--reports", str(base / "reports")]


def copy_package(src: Path, student_dir: Path) -> Path:
    shutil.copytree(src, student_dir / A, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return student_dir


def html_text(path: Path) -> str:
    """The visible text of an HTML page: no style blocks, no tags, entities decoded, one space."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<(style|script)\b.*?</\1>", " ", raw, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return re.sub(r"\s+", " ", text)


def summary_counts(stdout: str) -> tuple[int, int]:
    m = re.search(r"^graded (\d+), skipped (\d+) already graded", stdout, flags=re.M)
    assert m, f"no 'graded N, skipped M' line in:\n{stdout}"
    return int(m.group(1)), int(m.group(2))


@dataclass
class Batch:
    base: Path  # holds subs/, results/, reports/
    proc: subprocess.CompletedProcess

    @property
    def subs(self) -> Path:
        return self.base / "subs"

    @property
    def store_path(self) -> Path:
        return self.base / "results" / "cv3.sqlite"

    @property
    def store(self) -> ResultStore:
        return ResultStore(self.store_path)

    @property
    def reports(self) -> Path:
        return self.base / "reports"

    def grade(self, *extra: str) -> subprocess.CompletedProcess:
        return cv3("grade", A, str(self.subs), "--no-speed", *storage(self.base), *extra, cwd=self.base)

    def copy(self, dest: Path) -> "Batch":
        """The same submissions and store in ``dest`` (for tests that change them)."""
        shutil.copytree(self.subs, dest / "subs")
        shutil.copytree(self.base / "results", dest / "results")
        return Batch(dest, self.proc)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    """alice: a copy of the reference; bob: the stub; carol: a folder without the package."""
    base = tmp_path_factory.mktemp("cli_batch")
    subs = base / "subs"
    copy_package(REFERENCE_PKG, subs / "alice")
    copy_package(STUB_PKG, subs / "bob")
    (subs / "carol").mkdir(parents=True)
    (subs / "carol" / "solution.py").write_text("def nms(boxes, scores, t):\n    return boxes\n")
    b = Batch(base, None)
    b.proc = b.grade()
    assert b.proc.returncode == 0, b.proc.stdout + b.proc.stderr
    return b


# --------------------------------------------------------------------------------- cv3 list


def test_list_shows_every_assignment_task_and_points(tmp_path):
    done = cv3("list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    a = ASSIGNMENT
    assert re.search(rf"^{A}: .*\({a.max_score:g} points\)$", done.stdout, flags=re.M), done.stdout
    for t in a.tasks:
        assert re.search(rf"^\s+{t.id}\s+{t.points:g}\s+{re.escape(t.title)} \(tests\)$", done.stdout, flags=re.M), \
            f"task {t.id} missing from:\n{done.stdout}"
    for s in a.speed:
        assert re.search(rf"^\s+{s.id}\s+{s.points:g}\s+.*\(speed", done.stdout, flags=re.M)
    assert len(list_assignments()) >= 1


# --------------------------------------------------------------------------------- cv3 grade


def test_grade_batch_stores_one_result_per_student(batch):
    store = batch.store
    results = {r.submission_id: r for r in store.all(A)}
    assert sorted(results) == ["alice", "bob", "carol"]

    alice = results["alice"]
    assert alice.status == "graded", alice.error
    assert alice.max_score == M
    assert alice.score == alice.max_score
    assert all(t.score == t.points for t in alice.tasks), [(t.id, t.score) for t in alice.tasks]
    assert [t.id for t in alice.tasks] == [t.id for t in NO_SPEED_ITEMS], "--no-speed still ran speed checks"

    bob = results["bob"]
    assert bob.status == "graded", bob.error
    assert bob.score == 0 and bob.max_score == M
    assert len(bob.tasks) == len(NO_SPEED_ITEMS)

    carol = results["carol"]
    assert carol.status == "error"
    assert carol.score == 0
    assert "no package 'detection'" in carol.error and "detection/__init__.py" in carol.error
    assert "solution.py" in carol.error  # says what it found instead

    assert store.history(A, "alice") == []
    assert summary_counts(batch.proc.stdout) == (3, 0)


def test_grade_prints_a_summary_table(batch):
    out = batch.proc.stdout
    assert re.search(rf"^alice\s+{M:.2f}/{M:g}\s+graded", out, flags=re.M), out
    assert re.search(rf"^bob\s+0\.00/{M:g}\s+graded", out, flags=re.M), out
    carol = rf"^carol\s+0\.00/{M:g}\s+error\s+malformed submission: no package"
    assert re.search(carol, out, flags=re.M), out
    assert "grading 3 submission(s) of 'detection'" in batch.proc.stderr


def test_grade_writes_reports_from_the_store(batch):
    index = batch.reports / "index.html"
    board = batch.reports / A / "leaderboard.html"
    for p in (index, board, *(batch.reports / A / f"{s}.html" for s in ("alice", "bob", "carol"))):
        assert p.is_file(), f"{p} was not written"

    text = html_text(index)
    assert re.search(rf"alice {M:g} / {M:g} 100\.0% graded", text), text[:2000]
    assert re.search(rf"bob 0 / {M:g} 0\.0% graded", text), text[:2000]
    assert re.search(rf"carol 0 / {M:g} 0\.0% error", text), text[:2000]

    text = html_text(board)
    assert re.search(rf"\b1 alice {M:g} 100\.0%", text), text[:3000]
    assert re.search(r"\b2 bob 0 0\.0%", text), text[:3000]

    alice = html_text(batch.reports / A / "alice.html")
    assert f"Score {M:g} / {M:g}" in alice and "Status graded" in alice
    carol = html_text(batch.reports / A / "carol.html")
    assert "Status error" in carol and "no package 'detection' found" in carol


def test_grade_writes_a_gradebook_row_per_student(batch):
    path = batch.reports / A / "gradebook.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["student_id"] for r in rows] == ["alice", "bob", "carol"]
    by_id = {r["student_id"]: r for r in rows}
    assert float(by_id["alice"]["total"]) == M and by_id["alice"]["status"] == "graded"
    assert float(by_id["alice"]["nms"]) == ASSIGNMENT.task("nms").points
    assert float(by_id["bob"]["total"]) == 0.0 and by_id["bob"]["status"] == "graded"
    assert by_id["carol"]["total"] == "" and by_id["carol"]["status"] == "error"
    assert {float(r["max_total"]) for r in rows} == {M}


def test_rerun_skips_what_is_already_graded(batch):
    before = {r.submission_id: r.finished_at for r in batch.store.all(A)}
    done = batch.grade()
    assert done.returncode == 0, done.stderr
    assert summary_counts(done.stdout) == (0, 3)
    assert "skipping 3 submission(s) already graded" in done.stderr
    assert not re.search(r"^(alice|bob|carol)\s", done.stdout, flags=re.M), done.stdout  # no rows
    after = {r.submission_id: r.finished_at for r in batch.store.all(A)}
    assert after == before
    assert all(batch.store.history(A, s) == [] for s in before)


def test_regrade_keeps_the_previous_result_in_history(batch, tmp_path):
    b = batch.copy(tmp_path)
    # bob's folder is gone (to save a grading): --regrade redoes what is in the folder and
    # leaves bob's stored result alone
    shutil.rmtree(b.subs / "bob")
    old = b.store.get(A, "alice")
    done = b.grade()
    assert summary_counts(done.stdout) == (0, 2)
    done = b.grade("--regrade")
    assert done.returncode == 0, done.stderr
    assert summary_counts(done.stdout) == (2, 0)
    new = b.store.get(A, "alice")
    assert new.score == new.max_score == M
    history = b.store.history(A, "alice")
    assert len(history) == 1
    assert history[0].finished_at == old.finished_at and history[0].score == old.score
    assert history[0].to_dict() == old.to_dict()
    assert new.finished_at >= old.finished_at
    assert len(b.store.history(A, "carol")) == 1
    assert b.store.history(A, "bob") == [] and b.store.get(A, "bob").score == 0
    assert sorted(r.submission_id for r in b.store.all(A)) == ["alice", "bob", "carol"]


def test_a_changed_submission_is_regraded_alone(batch, tmp_path):
    b = batch.copy(tmp_path)
    old = b.store.get(A, "alice")
    boxes = b.subs / "alice" / A / "boxes.py"
    boxes.write_text(boxes.read_text() + "\n# resubmitted after the deadline\n")
    done = b.grade()
    assert done.returncode == 0, done.stderr
    assert summary_counts(done.stdout) == (1, 2)
    assert re.search(rf"^alice\s+{M:.2f}/{M:g}\s+graded", done.stdout, flags=re.M), done.stdout
    assert not re.search(r"^(bob|carol)\s", done.stdout, flags=re.M), done.stdout
    new = b.store.get(A, "alice")
    assert new.source_sha256 != old.source_sha256
    assert len(b.store.history(A, "alice")) == 1
    assert b.store.history(A, "bob") == [] and b.store.history(A, "carol") == []


def test_roster_flags_missing_students_and_export_lists_them(batch, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\nalice,Alice Liddell\nbob,Bob Builder\ncarol,Carol Danvers\n"
                      "dave,Dave Bowman\n")
    done = batch.grade("--roster", str(roster))
    assert done.returncode == 0, done.stderr
    assert re.search(r"^missing submissions .*: dave$", done.stdout, flags=re.M), done.stdout
    assert "not in the roster" not in done.stdout

    out = tmp_path / "x.csv"
    exported = cv3("export", A, "--out", str(out), "--roster", str(roster),
                   "--store", str(batch.store_path), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "graded 2, error 1, missing 1" in exported.stdout
    with open(out, newline="", encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["alice", "bob", "carol", "dave"]
    assert rows["dave"]["status"] == "missing" and rows["dave"]["name"] == "Dave Bowman"
    assert rows["dave"]["total"] == "" and rows["dave"]["nms"] == ""
    assert rows["alice"]["name"] == "Alice Liddell" and float(rows["alice"]["total"]) == M


def test_roster_without_student_id_column_is_a_clear_error(batch, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nalice,Alice\n")
    done = batch.grade("--roster", str(roster))
    assert done.returncode != 0
    assert "needs a 'student_id' column" in done.stderr


def test_grade_missing_path_exits_2(tmp_path):
    done = cv3("grade", A, "/nonexistent", *storage(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "error: /nonexistent: no such file or folder" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists(), "a failed command should not create a store"


def test_grade_empty_folder_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    done = cv3("grade", A, str(tmp_path / "empty"), *storage(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "no submissions found" in done.stderr


def test_grade_unknown_assignment_exits_2_naming_the_known_ones(tmp_path):
    done = cv3("grade", "nosuch", "x", *storage(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown assignment 'nosuch'" in done.stderr
    assert f"known assignments: {', '.join(a.name for a in list_assignments())}" in done.stderr
    assert "Traceback" not in done.stderr


def test_zip_member_escaping_the_archive_is_an_error_result(tmp_path):
    escaped = f"cv3_zip_slip_{uuid.uuid4().hex}.py"
    evil = tmp_path / "mallory.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("detection/__init__.py", "")
        zf.writestr(f"../../{escaped}", "print('escaped')\n")
    done = cv3("grade", A, str(evil), "--no-speed", *storage(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    r = ResultStore(tmp_path / "results" / "cv3.sqlite").get(A, "mallory")
    assert r is not None and r.status == "error" and r.score == 0
    assert "points outside the archive" in r.error and f"../../{escaped}" in r.error
    assert all(t.score == 0 for t in r.tasks)
    # nothing was extracted anywhere: not next to the zip, nor above the staging folders
    assert not list(tmp_path.rglob(escaped))
    assert not (Path(tempfile.gettempdir()) / escaped).exists()
    assert not (tmp_path.parent / escaped).exists()


# --------------------------------------------------------------------------------- interrupting


def test_pytest_interrupt_during_grading_is_not_swallowed(tmp_path):
    """pytest turns Ctrl-C into an exit code; the runner must re-raise it, or an interrupted
    submission would be stored as graded from the tests that happened to run (and skipped by a
    rerun), and the batch would go on."""
    from harness.grading.runner import run_tests

    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.fixture
        def student(request):
            return request.config.cv3_student
    """))
    (suite / "test_x.py").write_text(textwrap.dedent("""
        def test_one(student):
            assert student.ok() == 1

        def test_two(student):
            student.interrupt()

        def test_three(student):
            assert student.ok() == 1
    """))

    class Student:
        def ok(self):
            return 1

        def interrupt(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tests(Student(), {"hidden": suite}, tmp_path)

    # pytest stops a session with collection errors by raising its own KeyboardInterrupt
    # subclass: that is a grading error to report, not an interrupt
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "test_broken.py").write_text("import no_such_module_cv3\n\ndef test_one():\n    pass\n")
    try:
        outcomes, errors, _ = run_tests(Student(), {"hidden": broken}, tmp_path)
    except KeyboardInterrupt:
        pytest.fail("a collection error was turned into an interrupt")
    assert outcomes == []
    assert len(errors) == 1 and "no_such_module_cv3" in errors[0], errors


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_swallowed_inside_grading_still_stops_the_batch(tmp_path, monkeypatch):
    """A KeyboardInterrupt raised inside a weakref callback (pytest's gc.collect at the end of a
    session) is printed and dropped by Python. The batch must still stop, without storing the
    result of the interrupted grading."""
    import weakref

    import harness.grading.context
    import harness.sandbox
    from harness.batch import grade_batch
    from harness.results import SubmissionResult
    from harness.submissions import SubmissionSource

    class Sandbox:
        def close(self):
            pass

    class FakeGrader:
        def __init__(self, assignment, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def grade_staged(self, staged):
            if staged.id == "s2":  # Ctrl-C lands where Python cannot raise it
                class Garbage:
                    pass

                g = Garbage()
                ref = weakref.ref(g, lambda r: os.kill(os.getpid(), signal.SIGINT))
                del g
                assert ref() is None
            return SubmissionResult(assignment=A, submission_id=staged.id, status="graded",
                                    score=M, max_score=M)

    monkeypatch.setattr(harness.grading.context, "GradingContext", FakeGrader)
    monkeypatch.setattr(harness.sandbox, "make_sandbox", lambda *a, **k: Sandbox())
    store = ResultStore(tmp_path / "cv3.sqlite")
    for s_ in ("s1", "s2", "s3"):
        (tmp_path / s_ / A).mkdir(parents=True)
        (tmp_path / s_ / A / "__init__.py").write_text("")
    sources = [SubmissionSource(s, tmp_path / s) for s in ("s1", "s2", "s3")]
    # what a terminal gives: a run started in the background of a non-interactive shell (or under
    # nohup) inherits SIGINT ignored, and the batch then keeps that meaning
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(KeyboardInterrupt):
            grade_batch(ASSIGNMENT, sources, store, progress=None)
        assert signal.getsignal(signal.SIGINT) is before  # the batch's handler is removed again
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert [r.submission_id for r in store.all(A)] == ["s1"]


def test_sigint_keeps_finished_results_and_a_rerun_grades_the_rest(tmp_path):
    subs = tmp_path / "subs"
    for sid in ("s1", "s2", "s3"):
        copy_package(REFERENCE_PKG, subs / sid)
    store_path = tmp_path / "results" / "cv3.sqlite"
    args = [sys.executable, "-m", "harness.cli", "grade", A, str(subs), "--no-speed", *storage(tmp_path)]
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        # its own process group, signalled as a whole: what Ctrl-C in a terminal does
        # SIGINT at its default in the child, as in a terminal (a suite started in the background
        # of a non-interactive shell passes it on ignored)
        proc = subprocess.Popen(args, cwd=tmp_path, stdout=out, stderr=err, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            store = ResultStore(store_path)
            t0 = time.monotonic()
            while not store.finished(A):
                assert proc.poll() is None, (tmp_path / "err.txt").read_text()
                assert time.monotonic() - t0 < 120, "no result after 120 s"
                time.sleep(0.1)
            # into the next submission's tests (about a quarter of the first one's time)
            time.sleep(min(2.0, 0.25 * (time.monotonic() - t0)))
            os.killpg(proc.pid, signal.SIGINT)
            rc = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    stderr = (tmp_path / "err.txt").read_text()
    assert rc == 130, stderr
    assert "interrupted: finished submissions are saved" in stderr
    assert "Traceback" not in stderr

    saved = store.all(A)
    assert 1 <= len(saved) < 3, [r.submission_id for r in saved]
    for r in saved:  # intact: complete, full-marks records of whole gradings
        assert r.status == "graded" and r.score == r.max_score == M, (r.submission_id, r.score, r.error)
        assert len(r.tasks) == len(NO_SPEED_ITEMS)
    n = len(saved)

    done = cv3("grade", A, str(subs), "--no-speed", *storage(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert summary_counts(done.stdout) == (3 - n, n)
    results = store.all(A)
    assert [r.submission_id for r in results] == ["s1", "s2", "s3"]
    assert all(r.status == "graded" and r.score == M for r in results)
    assert all(store.history(A, r.submission_id) == [] for r in results)


# --------------------------------------------------------------------------------- leaderboard


def test_leaderboard_prints_the_ranking(batch, tmp_path):
    reports = tmp_path / "reports"
    done = cv3("leaderboard", A, "--store", str(batch.store_path), "--reports", str(reports), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [ln.split() for ln in done.stdout.splitlines() if ln.strip()]
    assert lines[0][:3] == ["rank", "student_id", "score"], done.stdout
    assert lines[1][:5] == ["1", "alice", f"{M:.1f}", f"{M:.1f}", "graded"], done.stdout
    assert lines[2][:5] == ["2", "bob", "0.0", f"{M:.1f}", "graded"], done.stdout
    assert lines[3][:5] == ["2", "carol", "0.0", f"{M:.1f}", "error"], done.stdout
    assert (reports / A / "leaderboard.html").is_file()
    assert f"leaderboard: {reports / A / 'leaderboard.html'}" in done.stdout

    top = cv3("leaderboard", A, "--top", "1", "--store", str(batch.store_path), "--reports",
              str(reports), cwd=tmp_path)
    assert top.returncode == 0 and "alice" in top.stdout and "bob" not in top.stdout


def test_leaderboard_on_an_empty_store_exits_1(tmp_path):
    store = tmp_path / "empty.sqlite"
    done = cv3("leaderboard", A, "--store", str(store), "--reports", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 1
    assert f"no results for '{A}'" in done.stderr and "cv3 grade" in done.stderr
    assert not (tmp_path / "r" / A / "leaderboard.html").exists()
