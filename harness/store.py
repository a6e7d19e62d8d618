"""The results store: one embedded SQLite database.

Each finished submission is written in one transaction (atomic), so a killed run loses nothing
already finished. A regrade replaces the current result but the previous one is kept in
``history``: no stored result is ever lost.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from harness.results import SubmissionResult

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
"""


class ResultStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # two processes creating the same new store race on switching it to WAL, and that
        # switch fails at once with 'database is locked' (no busy wait): retry for a while
        for attempt in range(300):
            try:
                with closing(self._connect()) as db:
                    db.executescript(SCHEMA)
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or attempt == 299:
                    raise
                time.sleep(0.1)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def put(self, result: SubmissionResult) -> None:
        record = json.dumps(result.to_dict(), sort_keys=True)
        with closing(self._connect()) as db, db:
            # take the write lock before reading the old record: two writers putting the same
            # submission must not both see the same 'old' (one replaced record would be lost)
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
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (result.assignment, result.submission_id, result.source_sha256, result.status,
                 result.score, result.max_score, result.finished_at, record),
            )

    def get(self, assignment: str, submission_id: str) -> SubmissionResult | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT record FROM results WHERE assignment=? AND submission_id=?",
                (assignment, submission_id),
            ).fetchone()
        return SubmissionResult.from_dict(json.loads(row[0])) if row else None

    def finished(self, assignment: str) -> dict[str, str]:
        """submission id -> content hash of what was graded."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT submission_id, source_sha256 FROM results WHERE assignment=?", (assignment,)
            ).fetchall()
        return dict(rows)

    def all(self, assignment: str | None = None) -> list[SubmissionResult]:
        query = "SELECT record FROM results"
        params: tuple = ()
        if assignment is not None:
            query += " WHERE assignment=?"
            params = (assignment,)
        with closing(self._connect()) as db:
            rows = db.execute(query + " ORDER BY assignment, submission_id", params).fetchall()
        return [SubmissionResult.from_dict(json.loads(r[0])) for r in rows]

    def history(self, assignment: str, submission_id: str) -> list[SubmissionResult]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT record FROM history WHERE assignment=? AND submission_id=? ORDER BY id",
                (assignment, submission_id),
            ).fetchall()
        return [SubmissionResult.from_dict(json.loads(r[0])) for r in rows]
