"""A store that survives abuse: damaged and foreign files, locks held by other processes, two
graders on one store, results that cannot be written.

Unit tests use the store directly and a fake grader (no sandbox); the command-line tests grade
small reference submissions with ``--no-speed`` through ``cv3 grade`` in subprocesses.
"""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from harness.manifest import find_assignment
from harness.results import SubmissionResult
from harness.store import ClaimOwner, ResultStore, StoreCorrupt, StoreError, StoreLocked, StoreMissing
from harness.submissions import SubmissionSource, stage_submission
from tests.conftest import ROOT

A = "detection"
ASSIGNMENT = find_assignment(A)
REFERENCE_PKG = ROOT / "reference" / A / A


def make(sid: str, score: float = 5.0, sha: str = "") -> SubmissionResult:
    return SubmissionResult(A, sid, "graded", score, 10.0, source_sha256=sha or f"sha-{sid}",
                            finished_at=f"2025-01-01T00:00:{int(score):02d}+00:00")


def cv3(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def filled_store(path: Path, n: int = 40) -> ResultStore:
    """A store of ``n`` results of about 4 kB each (so spread over many pages)."""
    store = ResultStore(path)
    for i in range(n):
        store.put(make(f"s{i:03d}", sha=f"sha-{i}-" + "x" * 2000))
    return store


def damage(path: Path) -> None:
    """Overwrite two pages in the middle of the database file (after a checkpoint)."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as f:
        for page in (3, 10):
            f.seek(4096 * page)
            f.write(b"\xff" * 300)


# ------------------------------------------------------------------ damaged and foreign files


def test_a_file_that_is_not_sqlite_is_one_clear_line(tmp_path):
    path = tmp_path / "cv3.sqlite"
    path.write_bytes(b"grades, as a spreadsheet saved over the store\n" * 50)
    for opener in (ResultStore, ResultStore.open_existing):
        with pytest.raises(StoreCorrupt) as e:
            opener(path)
        msg = str(e.value)
        assert "\n" not in msg and str(path) in msg and "not a database" in msg
        assert "start a new store" in msg and "--store NEW.sqlite" in msg
    assert path.read_bytes().startswith(b"grades")  # left as it was


def test_damaged_pages_are_found_by_the_check_on_opening_and_the_backup_is_named(tmp_path):
    path = tmp_path / "cv3.sqlite"
    backup = filled_store(path).backup()
    assert backup.parent == tmp_path / "backups" and backup.name.startswith("cv3-")
    damage(path)
    with pytest.raises(StoreCorrupt) as e:
        ResultStore(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    assert str(backup) in msg and f"cv3 store restore --store {path}" in msg


def test_open_existing_never_creates_a_store(tmp_path):
    path = tmp_path / "typo" / "cv3.sqlite"
    with pytest.raises(StoreMissing, match=re.escape(str(path)) + r": no results store there \(no such file\)"):
        ResultStore.open_existing(path)
    assert not path.parent.exists()


def test_an_sqlite_file_of_something_else_is_not_a_results_store(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreCorrupt, match="without the results tables"):
        ResultStore.open_existing(path)


def test_backups_are_consistent_and_only_the_newest_are_kept(tmp_path, monkeypatch):
    store = filled_store(tmp_path / "cv3.sqlite", n=3)
    monkeypatch.setattr(ResultStore, "BACKUPS_KEPT", 2)
    made = [store.backup() for _ in range(4)]
    assert store.backups() == made[-2:]
    copy = ResultStore.open_existing(made[-1])
    assert [r.submission_id for r in copy.all(A)] == ["s000", "s001", "s002"]


def test_a_damaged_store_is_never_backed_up(tmp_path):
    path = tmp_path / "cv3.sqlite"
    store = filled_store(path)
    good = store.backup()
    damage(path)
    with pytest.raises(StoreCorrupt):
        store.backup()
    assert store.backups() == [good]


def test_cli_on_a_damaged_store_one_line_no_traceback(tmp_path):
    path = tmp_path / "results" / "cv3.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"\x00garbage" * 1000)
    sub = tmp_path / "subs" / "alice"
    shutil.copytree(REFERENCE_PKG, sub / A)
    for args, code in ((["export", A], 1), (["leaderboard", A], 1), (["grade", A, str(sub), "--no-speed"], 2),
                       (["store", "check"], 1), (["store", "backup"], 1)):
        done = cv3(*args, "--store", str(path), cwd=tmp_path)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and "not a readable results store" in lines[0], (args, lines)
        assert "Traceback" not in done.stderr


def test_store_backup_check_restore_round_trip(tmp_path):
    path = tmp_path / "cv3.sqlite"
    filled_store(path, n=15)
    done = cv3("store", "backup", "--store", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    backup = Path(re.search(r"backed up .* to (\S+)", done.stdout).group(1))
    assert backup.is_file()
    done = cv3("store", "check", "--store", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ok (full integrity check); 15 result(s) (detection)" in done.stdout
    assert f"newest {backup}" in done.stdout

    damage(path)
    done = cv3("store", "check", "--store", str(path), cwd=tmp_path)
    assert done.returncode == 1 and "cv3 store restore" in done.stderr and "Traceback" not in done.stderr
    done = cv3("store", "restore", "--store", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"from {backup}" in done.stdout and ".damaged-" in done.stdout
    assert len(ResultStore.open_existing(path).all(A)) == 15
    assert list(tmp_path.glob("cv3.sqlite.damaged-*"))  # the damaged file is kept


def test_store_check_of_a_missing_store_exits_2(tmp_path):
    done = cv3("store", "check", "--store", str(tmp_path / "none.sqlite"), cwd=tmp_path)
    assert done.returncode == 2 and "no such file" in done.stderr
    assert not (tmp_path / "none.sqlite").exists()


# ------------------------------------------------------------------ locks

HOLD_LOCK = textwrap.dedent(
    """
    import os, sqlite3, sys, time
    path, release, claims = sys.argv[1], sys.argv[2], int(sys.argv[3])
    while claims:  # wait until the grader holds this many claims (its results are on the way)
        try:
            with sqlite3.connect(path, timeout=1) as db:
                n = db.execute("SELECT COUNT(*) FROM claims WHERE done_at IS NULL").fetchone()[0]
            if n >= claims:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    t0 = time.time()
    while not os.path.exists(release) and time.time() - t0 < 240:
        time.sleep(0.05)
    db.execute("COMMIT")
    """
)


def hold_lock(path: Path, release: Path, claims: int = 0) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), str(release), str(claims)],
                            stdout=subprocess.PIPE, text=True)
    if not claims:
        assert proc.stdout.readline().strip() == "locked"
    return proc


def test_put_waits_for_a_lock_saying_so_and_stores_the_result(tmp_path):
    path, release = tmp_path / "cv3.sqlite", tmp_path / "release"
    waits: list[float] = []
    store = ResultStore(path, on_wait=waits.append)
    holder = hold_lock(path, release)
    threading.Timer(4.0, release.touch).start()
    t0 = time.monotonic()
    store.put(make("alice"))
    assert time.monotonic() - t0 >= 3.5
    assert waits and waits == sorted(waits)  # told while waiting, with the time waited so far
    assert store.get(A, "alice") == make("alice")
    holder.wait(10)


def test_a_lock_held_too_long_is_a_clear_error_not_a_result(tmp_path):
    path, release = tmp_path / "cv3.sqlite", tmp_path / "release"
    store = ResultStore(path, max_wait_s=1.0)
    holder = hold_lock(path, release)
    try:
        with pytest.raises(StoreLocked, match=re.escape(str(path)) + " is locked by another process"):
            store.put(make("alice"))
    finally:
        release.touch()
        holder.wait(10)
    assert store.get(A, "alice") is None


def test_cli_grader_waits_for_a_locked_store_and_keeps_every_result(tmp_path):
    """The lock is taken while both submissions are being graded (--jobs 2, the pool path that
    used to store 'database is locked' as a 0/100 error): the grader says it waits, stores both
    full-marks results when the lock goes, and exits 0."""
    subs = tmp_path / "subs"
    for sid in ("s1", "s2"):
        shutil.copytree(REFERENCE_PKG, subs / sid / A, ignore=shutil.ignore_patterns("__pycache__"))
    store_path, release = tmp_path / "results" / "cv3.sqlite", tmp_path / "release"
    ResultStore(store_path)
    holder = hold_lock(store_path, release, claims=2)
    args = [sys.executable, "-m", "harness.cli", "grade", A, str(subs), "--no-speed", "--jobs", "2",
            "--store", str(store_path), "--reports", str(tmp_path / "reports")]
    with open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            t0 = time.monotonic()
            while "waiting for the results store" not in (tmp_path / "err.txt").read_text():
                assert proc.poll() is None, (tmp_path / "err.txt").read_text()
                assert time.monotonic() - t0 < 200, "the grader never said it was waiting"
                time.sleep(0.2)
            time.sleep(1.0)
            release.touch()
            out, _ = proc.communicate(timeout=120)
        finally:
            release.touch()
            if proc.poll() is None:
                proc.kill()
            holder.wait(10)
    stderr = (tmp_path / "err.txt").read_text()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and str(store_path) in stderr
    results = ResultStore.open_existing(store_path).all(A)
    assert [(r.submission_id, r.status) for r in results] == [("s1", "graded"), ("s2", "graded")], \
        [(r.submission_id, r.error) for r in results]
    assert all(r.score == r.max_score > 0 and not r.error for r in results)
    assert re.search(r"^graded 2, skipped 0 already graded", out, flags=re.M), out


# ------------------------------------------------------------------ unsaved results


def test_a_result_the_store_cannot_take_is_spooled_and_stored_next_time(tmp_path):
    store = ResultStore(tmp_path / "cv3.sqlite")
    older, newer = make("bob", 3.0), make("bob", 9.0)
    spooled = [store.spool(make("alice")), store.spool(older)]
    assert all(p.parent == tmp_path / "cv3.sqlite.unsaved" for p in spooled)
    store.put(newer)  # graded again meanwhile: the spooled one is older and goes to history
    assert [r.submission_id for r in store.import_spooled()] == ["alice", "bob"]
    assert store.get(A, "alice") == make("alice")
    assert store.get(A, "bob") == newer and store.history(A, "bob") == [older]
    assert not list((tmp_path / "cv3.sqlite.unsaved").glob("*.json"))
    assert store.import_spooled() == []


# ------------------------------------------------------------------ claims


def test_claims_busy_done_and_regrade(tmp_path):
    store = ResultStore(tmp_path / "cv3.sqlite")
    me, other = ClaimOwner.current(), ClaimOwner("grader-2.example", 4242)
    start = time.time()
    assert store.claim(A, "s1", "h1", owner=other, lease_s=60, since=start) == ("claimed", "")
    assert store.claim(A, "s1", "h1", owner=me, lease_s=60, since=start) == ("busy", "grader-2.example:4242")
    assert store.claim(A, "s1", "h1", owner=other, lease_s=60, since=start) == ("claimed", "")  # its own
    store.put(make("s1", sha="h1"), owner=other)
    assert store.claim(A, "s1", "h1", owner=me, lease_s=60, since=start) == ("done", "grader-2.example:4242")
    # a regrade redoes what was graded before the batch started, not what another grader did since
    assert store.claim(A, "s1", "h1", owner=me, lease_s=60, since=start, regrade=True)[0] == "done"
    assert store.claim(A, "s1", "h1", owner=me, lease_s=60, since=time.time() + 1, regrade=True)[0] == "claimed"
    # a changed submission is graded again
    assert store.claim(A, "s2", "h2", owner=other, lease_s=60, since=start)[0] == "claimed"
    store.put(make("s2", sha="h2"), owner=other)
    assert store.claim(A, "s2", "h2-changed", owner=me, lease_s=60, since=start)[0] == "claimed"


def test_claims_of_a_dead_grader_expire(tmp_path):
    store = ResultStore(tmp_path / "cv3.sqlite")
    me = ClaimOwner.current()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here_dead = ClaimOwner(socket.gethostname(), dead.pid)
    assert store.claim(A, "s1", "h", owner=here_dead, lease_s=3600, since=0)[0] == "claimed"
    assert store.claim(A, "s1", "h", owner=me, lease_s=60, since=0)[0] == "claimed"  # its pid is gone
    remote = ClaimOwner("grader-2.example", 1)  # another machine: only the lease tells
    assert store.claim(A, "s2", "h", owner=remote, lease_s=0.5, since=0)[0] == "claimed"
    assert store.claim(A, "s2", "h", owner=me, lease_s=60, since=0)[0] == "busy"
    time.sleep(0.6)
    assert store.claim(A, "s2", "h", owner=me, lease_s=60, since=0)[0] == "claimed"
    open_claims = {c["submission_id"]: c for c in store.open_claims(A)}
    assert open_claims["s1"]["owner"] == str(me) and not open_claims["s1"]["expired"]


def test_heartbeat_renews_and_release_drops_unfinished_claims(tmp_path):
    store = ResultStore(tmp_path / "cv3.sqlite")
    me, other = ClaimOwner.current(), ClaimOwner("grader-2.example", 1)
    store.claim(A, "s1", "h", owner=me, lease_s=0.5, since=0)
    store.claim(A, "s2", "h", owner=me, lease_s=0.5, since=0)
    store.put(make("s2", sha="h"), owner=me)
    store.renew_claims(me, 60)
    time.sleep(0.6)
    assert store.claim(A, "s1", "h", owner=other, lease_s=60, since=0)[0] == "busy"  # renewed
    store.release_claims(me)
    assert store.open_claims(A) == []
    assert store.claim(A, "s1", "h", owner=other, lease_s=60, since=0)[0] == "claimed"


# ------------------------------------------------------------------ the batch (fake grader)


@pytest.fixture
def fake_grading(monkeypatch):
    """GradingContext and the sandbox replaced: each grading takes 0.2 s and scores full."""
    import harness.grading.context
    import harness.sandbox

    graded: list[str] = []

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
            time.sleep(0.2)
            graded.append(staged.id)
            return SubmissionResult(A, staged.id, "graded", 10.0, 10.0, source_sha256=staged.sha256,
                                    finished_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))

        def error_result(self, sid, message, **fields):
            graded.append(sid)
            return SubmissionResult(A, sid, "error", 0.0, 10.0, error=message, **fields)

    monkeypatch.setattr(harness.grading.context, "GradingContext", FakeGrader)
    monkeypatch.setattr(harness.sandbox, "make_sandbox", lambda *a, **k: Sandbox())
    return graded


def sources(root: Path, ids=("s1", "s2", "s3")) -> list[SubmissionSource]:
    for sid in ids:
        (root / sid / A).mkdir(parents=True, exist_ok=True)
        (root / sid / A / "__init__.py").write_text(f"# {sid}\n")
    return [SubmissionSource(sid, root / sid) for sid in ids]


def test_a_regrade_backs_the_store_up_first(tmp_path, fake_grading):
    from harness.batch import grade_batch

    store = ResultStore(tmp_path / "results" / "cv3.sqlite")
    srcs = sources(tmp_path / "subs")
    first = grade_batch(ASSIGNMENT, srcs, store, progress=None)
    assert first.backup is None and len(first.graded) == 3
    again = grade_batch(ASSIGNMENT, srcs, store, regrade=True, progress=None)
    assert again.backup is not None and again.backup.parent == tmp_path / "results" / "backups"
    before = ResultStore.open_existing(again.backup).all(A)
    assert [r.to_dict() for r in before] == [r.to_dict() for r in first.graded]
    assert all(len(store.history(A, s.id)) == 1 for s in srcs)


def test_the_batch_skips_what_another_grader_holds_then_takes_over_an_expired_claim(tmp_path, fake_grading):
    from harness.batch import grade_batch

    store = ResultStore(tmp_path / "cv3.sqlite")
    srcs = sources(tmp_path / "subs")
    sha2 = stage_submission(srcs[1], A, tmp_path / "stage").sha256
    other = ClaimOwner("grader-2.example", 1)
    assert store.claim(A, "s2", sha2, owner=other, lease_s=2.0, since=0)[0] == "claimed"  # never renewed
    summary = grade_batch(ASSIGNMENT, srcs, store, progress=None)
    assert fake_grading == ["s1", "s3", "s2"]  # s2 after its claim expired
    assert sorted(r.submission_id for r in summary.graded) == ["s1", "s2", "s3"]
    assert store.open_claims(A) == []


def test_the_batch_drops_what_another_grader_finishes_meanwhile(tmp_path, fake_grading):
    from harness.batch import grade_batch

    store = ResultStore(tmp_path / "cv3.sqlite")
    srcs = sources(tmp_path / "subs")
    sha2 = stage_submission(srcs[1], A, tmp_path / "stage").sha256
    other = ClaimOwner("grader-2.example", 1)
    store.claim(A, "s2", sha2, owner=other, lease_s=60, since=0)
    done_elsewhere = make("s2", 10.0, sha=sha2)
    threading.Timer(1.5, lambda: store.put(done_elsewhere, owner=other)).start()
    summary = grade_batch(ASSIGNMENT, srcs, store, progress=None)
    assert fake_grading == ["s1", "s3"] and summary.elsewhere == ["s2"]
    assert store.get(A, "s2") == done_elsewhere and store.history(A, "s2") == []


def test_a_store_failure_is_not_a_students_grade(tmp_path, fake_grading, monkeypatch):
    """The store refusing a result (here: a full disk) stops the batch with a StoreError; the
    finished result is spooled, nothing is stored as an 'error' grade, and the next batch
    stores the spooled result without grading it again."""
    from harness.batch import grade_batch

    store = ResultStore(tmp_path / "cv3.sqlite")
    srcs = sources(tmp_path / "subs")
    real_put = ResultStore.put

    def full_disk(self, result, **kw):
        if result.submission_id == "s2":
            raise StoreError(f"{self.path}: database or disk is full")
        return real_put(self, result, **kw)

    monkeypatch.setattr(ResultStore, "put", full_disk)
    with pytest.raises(StoreError, match=r"disk is full \(the finished result of s2 is kept in .*unsaved"):
        grade_batch(ASSIGNMENT, srcs, store, progress=None)
    assert [r.submission_id for r in store.all(A)] == ["s1"]
    monkeypatch.setattr(ResultStore, "put", real_put)
    fake_grading.clear()
    again = grade_batch(ASSIGNMENT, srcs, store, progress=None)
    assert fake_grading == ["s3"] and sorted(again.skipped) == ["s1", "s2"]
    assert [r.status for r in store.all(A)] == ["graded"] * 3


# ------------------------------------------------------------------ two graders, one store


def test_two_concurrent_graders_share_the_work(tmp_path):
    subs = tmp_path / "subs"
    for sid in ("s1", "s2", "s3", "s4"):
        shutil.copytree(REFERENCE_PKG, subs / sid / A, ignore=shutil.ignore_patterns("__pycache__"))
    store_path = tmp_path / "results" / "cv3.sqlite"
    procs = []
    for k in (1, 2):
        args = [sys.executable, "-m", "harness.cli", "grade", A, str(subs), "--no-speed", "--store",
                str(store_path), "--reports", str(tmp_path / f"reports{k}")]
        procs.append(subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=400) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
        assert "Traceback" not in err
    graded = [int(re.search(r"^graded (\d+), skipped (\d+) already graded", out, flags=re.M).group(1))
              for out, _ in outs]
    assert sum(graded) == 4, [o for o, _ in outs]  # each submission graded exactly once
    store = ResultStore.open_existing(store_path)
    results = store.all(A)
    assert [r.submission_id for r in results] == ["s1", "s2", "s3", "s4"]
    assert all(r.status == "graded" and r.score == r.max_score for r in results)
    assert all(store.history(A, r.submission_id) == [] for r in results)
    assert store.open_claims(A) == []
