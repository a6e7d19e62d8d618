"""The results store: one embedded SQLite database (WAL).

Each finished submission is written in one transaction (atomic), so a killed run loses nothing
already finished. A regrade replaces the current result but the previous one is kept in
``history``: no stored result is ever lost.

Abuse it survives:

- a damaged or non-SQLite file: opening runs ``PRAGMA quick_check`` and raises
  :class:`StoreCorrupt`, one line naming the file and the fix (the newest automatic backup, or a
  new store); :meth:`ResultStore.backup` writes those backups (``<dir>/backups/``);
- a lock held by another process: every operation waits (calling ``on_wait`` so the grader can
  say so) instead of failing; a result that still cannot be written (a damaged store, a full
  disk, Ctrl-C while waiting) is spooled to ``<store>.unsaved/`` and imported by the next batch;
- two graders on one store: a grader :meth:`claims <ResultStore.claim>` a submission before it
  grades it; a claim carries the owner (host, pid, a token) and a lease renewed by a heartbeat,
  so the claims of a grader that died expire (at once on the same host, where its pid is gone).

Reading commands open with :meth:`ResultStore.open_existing`, which never creates a store.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TypeVar

from harness.results import SubmissionResult

__all__ = ["ClaimOwner", "ResultStore", "StoreCorrupt", "StoreError", "StoreLocked", "StoreMissing"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    assignment TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    finished_at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (assignment, submission_id)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    replaced_at TEXT NOT NULL DEFAULT (datetime('now')),
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    assignment TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    expires_at REAL,
    done_at REAL,
    PRIMARY KEY (assignment, submission_id)
);
CREATE TABLE IF NOT EXISTS identities (
    assignment TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    name TEXT NOT NULL,
    lms TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (assignment, submission_id)
);
"""

T = TypeVar("T")
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
ATTEMPT_S = 2.0  # SQLite's own busy wait per attempt; between attempts the caller is told


class StoreError(Exception):
    """The store cannot be used; the message is one line naming the file and what to do."""


class StoreMissing(StoreError):
    pass


class StoreCorrupt(StoreError):
    pass


class StoreLocked(StoreError):
    pass


def _is_locked(e: sqlite3.Error) -> bool:
    msg = str(e).lower()
    return isinstance(e, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg)


def _is_corrupt(e: sqlite3.Error) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    msg = str(e).lower()
    return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in msg or "not a database" in msg


@dataclass(frozen=True)
class ClaimOwner:
    """Who holds a claim: a grader process (``token`` tells two batches of one process apart)."""

    host: str
    pid: int
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def current(cls) -> "ClaimOwner":
        return cls(socket.gethostname(), os.getpid())

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}"


def _pid_alive(host: str, pid: int) -> bool:
    """False only when the owner is certainly gone: on this host and its pid does not exist."""
    if host != socket.gethostname():
        return True  # another machine: only the lease tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


class ResultStore:
    BACKUPS_KEPT = 10

    def __init__(self, path: Path | str, *, on_wait: Callable[[float], None] | None = None,
                 max_wait_s: float | None = 300.0, _create: bool = True) -> None:
        """Open ``path``, creating the store (and its folder) when it does not exist.

        ``on_wait(waited_s)`` is called while another process holds the lock; after
        ``max_wait_s`` (None: forever) an operation raises :class:`StoreLocked`."""
        self.path = Path(path)
        self.on_wait, self.max_wait_s = on_wait, max_wait_s
        self.readonly = not _create
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a results store; pass --store FILE.sqlite")
        if _create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"{self.path}: cannot create its folder ({e.strerror or e})") from None
            # two processes creating the same new store race on switching it to WAL, and that
            # switch fails at once with 'database is locked' (no busy wait): _run retries
            self._run(lambda db: db.executescript(SCHEMA))
        else:
            if not self.path.is_file():
                raise StoreMissing(f"{self.path}: no results store there (no such file); check --store, "
                                   "or run `cv3 grade` first to create it")
            tables = self._run(lambda db: {r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")})
            if not {"results", "history"} <= tables:
                raise StoreCorrupt(self._corrupt_message("an SQLite file without the results tables"))
        self._run(self._quick_check)

    @classmethod
    def open_existing(cls, path: Path | str, **kwargs) -> "ResultStore":
        """Open a store that must exist (for reading commands: export, leaderboard, feedback);
        never creates a file. Raises :class:`StoreMissing` (naming the path) when there is none
        and :class:`StoreCorrupt` when it is damaged or not a results store."""
        return cls(path, _create=False, **kwargs)

    # -- plumbing ------------------------------------------------------------------------------

    def _connect(self, timeout: float = ATTEMPT_S) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=timeout)
        try:
            if not self.readonly:
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
        except BaseException:
            db.close()
            raise
        return db

    def _run(self, fn: Callable[[sqlite3.Connection], T], *, max_wait_s: float | None | str = "default",
             on_wait: Callable[[float], None] | None | str = "default") -> T:
        """``fn(db)`` on a fresh connection; waits while the store is locked (retrying the whole
        of ``fn``, whose transaction was rolled back), turns SQLite's errors into StoreErrors."""
        max_wait = self.max_wait_s if max_wait_s == "default" else max_wait_s
        notify = self.on_wait if on_wait == "default" else on_wait
        t0 = time.monotonic()
        while True:
            try:
                with closing(self._connect()) as db:
                    return fn(db)
            except sqlite3.Error as e:
                if _is_locked(e):
                    waited = time.monotonic() - t0
                    if max_wait is not None and waited >= max_wait:
                        raise StoreLocked(
                            f"{self.path} is locked by another process (waited {waited:.0f} s); "
                            "try again when it has finished") from None
                    if notify is not None:
                        notify(waited)
                    time.sleep(0.1)  # some lock failures come at once, without the busy wait
                    continue
                if _is_corrupt(e):
                    raise StoreCorrupt(self._corrupt_message(str(e))) from None
                raise StoreError(f"{self.path}: {e}") from None

    def _quick_check(self, db: sqlite3.Connection) -> None:
        rows = db.execute("PRAGMA quick_check").fetchall()
        if rows != [("ok",)]:
            raise StoreCorrupt(self._corrupt_message(f"integrity check: {rows[0][0]}"))

    def _corrupt_message(self, reason: str) -> str:
        backups = self.backups()
        fix = (f"restore the newest automatic backup ({backups[-1]}) with `cv3 store restore --store "
               f"{self.path}`" if backups else f"restore it from a backup of your own (none in {self.backup_dir})")
        return (f"{self.path} is not a readable results store ({reason}); {fix}, or start a new "
                f"store (move {self.path} away, or pass --store NEW.sqlite)")

    # -- results -------------------------------------------------------------------------------

    def put(self, result: SubmissionResult, *, owner: ClaimOwner | None = None,
            on_wait: Callable[[float], None] | None | str = "default",
            max_wait_s: float | None | str = "default") -> None:
        """Store ``result`` (the previous one moves to history) and mark its claim done."""
        record = json.dumps(result.to_dict(), sort_keys=True)

        def write(db: sqlite3.Connection) -> None:
            with db:
                # take the write lock before reading the old record: two writers putting the
                # same submission must not both see the same 'old' (a replaced record lost)
                db.execute("BEGIN IMMEDIATE")
                old = db.execute(
                    "SELECT record FROM results WHERE assignment=? AND submission_id=?",
                    (result.assignment, result.submission_id),
                ).fetchone()
                if old is not None:
                    db.execute(
                        "INSERT INTO history (assignment, submission_id, record) VALUES (?, ?, ?)",
                        (result.assignment, result.submission_id, old[0]),
                    )
                db.execute(
                    "INSERT OR REPLACE INTO results (assignment, submission_id, source_sha256, status, "
                    "score, max_score, finished_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (result.assignment, result.submission_id, result.source_sha256, result.status,
                     result.score, result.max_score, result.finished_at, record),
                )
                who = owner or ClaimOwner("", 0, "")
                now = time.time()
                db.execute(
                    "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                    (result.assignment, result.submission_id, who.token, who.host, who.pid,
                     result.source_sha256, now, now),
                )

        self._run(write, on_wait=on_wait, max_wait_s=max_wait_s)

    def _read(self, query: str, params: tuple = ()) -> list[tuple]:
        return self._run(lambda db: db.execute(query, params).fetchall())

    def get(self, assignment: str, submission_id: str) -> SubmissionResult | None:
        rows = self._read("SELECT record FROM results WHERE assignment=? AND submission_id=?",
                          (assignment, submission_id))
        return SubmissionResult.from_dict(json.loads(rows[0][0])) if rows else None

    def finished(self, assignment: str) -> dict[str, str]:
        """submission id -> content hash of what was graded."""
        return dict(self._read("SELECT submission_id, source_sha256 FROM results WHERE assignment=?",
                               (assignment,)))

    def all(self, assignment: str | None = None) -> list[SubmissionResult]:
        query = "SELECT record FROM results"
        params: tuple = ()
        if assignment is not None:
            query += " WHERE assignment=?"
            params = (assignment,)
        rows = self._read(query + " ORDER BY assignment, submission_id", params)
        return [SubmissionResult.from_dict(json.loads(r[0])) for r in rows]

    def history(self, assignment: str, submission_id: str) -> list[SubmissionResult]:
        rows = self._read("SELECT record FROM history WHERE assignment=? AND submission_id=? ORDER BY id",
                          (assignment, submission_id))
        return [SubmissionResult.from_dict(json.loads(r[0])) for r in rows]

    def _has_table(self, name: str) -> bool:
        return bool(self._read("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)))

    # -- who the submissions are (LMS ids and names, from the download layout) ---------------

    def set_identities(self, assignment: str, rows: list[tuple[str, str, str, str]]) -> None:
        """``rows``: (submission id, name, lms, source file name)."""
        if not rows:
            return

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.executemany("INSERT OR REPLACE INTO identities VALUES (?, ?, ?, ?, ?)",
                               [(assignment, *r) for r in rows])

        self._run(write)

    def identities(self, assignment: str) -> dict[str, tuple[str, str]]:
        """submission id -> (name, lms) for submissions found in an LMS download layout."""
        if not self._has_table("identities"):  # a store written before identities existed
            return {}
        rows = self._read("SELECT submission_id, name, lms FROM identities WHERE assignment=?", (assignment,))
        return {sid: (name, lms) for sid, name, lms in rows}

    # -- claims: two graders on one store share the work -------------------------------------

    def claim(self, assignment: str, submission_id: str, sha256: str, *, owner: ClaimOwner,
              lease_s: float, since: float, regrade: bool = False) -> tuple[str, str]:
        """Claim a submission before grading it. Returns ``("claimed", "")``, ``("done", who)``
        when it needs no grading (already stored with this hash and not a regrade, or stored
        by another grader with this hash since ``since``, the batch's start), or
        ``("busy", who)`` while another live grader holds an unexpired claim."""

        def txn(db: sqlite3.Connection) -> tuple[str, str]:
            with db:
                db.execute("BEGIN IMMEDIATE")
                now = time.time()
                row = db.execute("SELECT owner, host, pid, sha256, expires_at, done_at FROM claims "
                                 "WHERE assignment=? AND submission_id=?", (assignment, submission_id)).fetchone()
                who = f"{row[1]}:{row[2]}" if row and row[1] else "an earlier run"
                if not regrade:
                    stored = db.execute("SELECT source_sha256 FROM results WHERE assignment=? AND "
                                        "submission_id=?", (assignment, submission_id)).fetchone()
                    if stored is not None and stored[0] == sha256:
                        return "done", who
                if row is not None:
                    c_owner, c_host, c_pid, c_sha, expires, done = row
                    if done is not None:
                        if done >= since and c_sha == sha256 and c_owner != owner.token:
                            return "done", who
                    elif (c_owner != owner.token and expires is not None and expires > now
                          and _pid_alive(c_host, c_pid)):
                        return "busy", who
                db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                           (assignment, submission_id, owner.token, owner.host, owner.pid, sha256, now,
                            now + lease_s))
                return "claimed", ""

        return self._run(txn)

    def renew_claims(self, owner: ClaimOwner, lease_s: float) -> None:
        """The heartbeat: push the expiry of ``owner``'s open claims ``lease_s`` ahead."""
        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute("UPDATE claims SET expires_at=? WHERE owner=? AND done_at IS NULL",
                           (time.time() + lease_s, owner.token))

        self._run(write, on_wait=None, max_wait_s=lease_s / 3)

    def release_claims(self, owner: ClaimOwner) -> None:
        """Drop ``owner``'s claims that never finished (end of a batch, or an interrupt)."""
        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute("DELETE FROM claims WHERE owner=? AND done_at IS NULL", (owner.token,))

        self._run(write, on_wait=None, max_wait_s=10.0)

    def open_claims(self, assignment: str | None = None) -> list[dict]:
        """Claims not finished yet: who holds them and until when (``expired`` included)."""
        if not self._has_table("claims"):
            return []
        query = ("SELECT assignment, submission_id, host, pid, claimed_at, expires_at FROM claims "
                 "WHERE done_at IS NULL")
        params: tuple = ()
        if assignment is not None:
            query, params = query + " AND assignment=?", (assignment,)
        now = time.time()
        return [{"assignment": a, "submission_id": s, "owner": f"{h}:{p}", "claimed_at": c,
                 "expires_at": e, "expired": e is None or e <= now or not _pid_alive(h, p)}
                for a, s, h, p, c, e in self._read(query, params)]

    # -- unsaved results: spooled when the store cannot take them -----------------------------

    @property
    def spool_dir(self) -> Path:
        return self.path.parent / f"{self.path.name}.unsaved"

    def spool(self, result: SubmissionResult) -> Path:
        """Keep a finished result that could not be stored, as JSON beside the store."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in result.submission_id)
        path = self.spool_dir / f"{result.assignment}-{safe}-{stamp}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result.to_dict(), sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def import_spooled(self) -> list[SubmissionResult]:
        """Store the results spooled by an earlier run (a newer stored result stays current:
        the spooled one goes to history). Returns what was imported."""
        done = []
        for path in sorted(self.spool_dir.glob("*.json")) if self.spool_dir.is_dir() else []:
            try:
                result = SubmissionResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue  # not ours or damaged: left for a person to look at
            current = self.get(result.assignment, result.submission_id)
            if current is not None and current.to_dict() == result.to_dict():
                pass  # it was stored after all (the interrupt came after the commit)
            elif current is not None and current.finished_at > result.finished_at:
                self._add_history(result)
            else:
                self.put(result)
            path.unlink()
            done.append(result)
        return done

    def _add_history(self, result: SubmissionResult) -> None:
        record = json.dumps(result.to_dict(), sort_keys=True)

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute("INSERT INTO history (assignment, submission_id, record) VALUES (?, ?, ?)",
                           (result.assignment, result.submission_id, record))

        self._run(write)

    # -- backups and checks --------------------------------------------------------------------

    @property
    def backup_dir(self) -> Path:
        return self.path.parent / "backups"

    def backups(self) -> list[Path]:
        """This store's automatic backups, oldest first."""
        if not self.backup_dir.is_dir():
            return []
        return sorted(self.backup_dir.glob(f"{self.path.stem}-*.sqlite"))

    def backup(self, dest: Path | str | None = None) -> Path:
        """A consistent copy (SQLite's online backup; writers may go on), checked before and
        after; the automatic ones (``dest`` None) go to ``backups/`` beside the store, the newest
        :attr:`BACKUPS_KEPT` kept."""
        self._run(self._quick_check)  # never back up a damaged store over a good backup
        auto = dest is None
        if auto:
            self.backup_dir.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")  # sorts by time
            dest = self.backup_dir / f"{self.path.stem}-{stamp}.sqlite"
            n = 1
            while dest.exists():
                dest = self.backup_dir / f"{self.path.stem}-{stamp}-{n:02d}.sqlite"
                n += 1
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.unlink(missing_ok=True)

        def copy(db: sqlite3.Connection) -> None:
            with closing(sqlite3.connect(tmp)) as out:
                db.backup(out)
                rows = out.execute("PRAGMA quick_check").fetchall()
                if rows != [("ok",)]:
                    raise StoreError(f"the backup {dest} failed its check ({rows[0][0]})")
                out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file

        try:
            self._run(copy)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        if auto:
            for old in self.backups()[:-self.BACKUPS_KEPT]:
                old.unlink(missing_ok=True)
        return dest

    @classmethod
    def restore(cls, path: Path | str, backup: Path | str | None = None) -> tuple[Path, Path | None]:
        """Put ``backup`` (default: the newest automatic one) in place of the store at ``path``,
        which need not open. The file it replaces is kept as ``<name>.damaged-<time>`` (with its
        ``-wal``/``-shm`` files, which must not meet the restored copy). Returns (the backup used,
        where the replaced file went or None)."""
        path = Path(path)
        if backup is None:
            found = sorted((path.parent / "backups").glob(f"{path.stem}-*.sqlite"))
            if not found:
                raise StoreMissing(f"no automatic backup of {path} in {path.parent / 'backups'}; "
                                   "pass one with --from, or start a new store")
            backup = found[-1]
        backup = Path(backup)
        cls.open_existing(backup)  # a sound results store, or StoreMissing/StoreCorrupt naming it
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        moved = None
        if path.exists():
            moved = path.with_name(f"{path.name}.damaged-{stamp}")
            os.replace(path, moved)
        for suffix in ("-wal", "-shm", "-journal"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{moved or path.with_name(path.name + '.damaged-' + stamp)}{suffix}"))
        tmp = path.with_name(path.name + ".restoring")
        shutil.copyfile(backup, tmp)
        os.replace(tmp, path)
        return backup, moved

    def check(self) -> dict:
        """The full ``PRAGMA integrity_check`` and what the store holds; raises StoreCorrupt."""
        def run(db: sqlite3.Connection) -> dict:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            if rows != [("ok",)]:
                raise StoreCorrupt(self._corrupt_message(f"integrity check: {rows[0][0]}"))
            count = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("results", "history")}
            assignments = [r[0] for r in db.execute("SELECT DISTINCT assignment FROM results ORDER BY 1")]
            return {"results": count["results"], "history": count["history"], "assignments": assignments}

        info = self._run(run)
        info["open_claims"] = self.open_claims()
        info["backups"] = self.backups()
        info["unsaved"] = sorted(self.spool_dir.glob("*.json")) if self.spool_dir.is_dir() else []
        return info
