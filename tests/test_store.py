"""The SQLite results store: round trips, regrade history, persistence, concurrency, kills."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import textwrap

import pytest

from harness.results import CheckResult, SubmissionResult, TaskResult
from harness.store import ResultStore


def make(sid: str, score: float = 7.5, *, assignment: str = "detection", sha: str = "",
         error: str = "") -> SubmissionResult:
    return SubmissionResult(
        assignment=assignment,
        submission_id=sid,
        status="error" if error else "graded",
        score=score,
        max_score=12.0,
        tasks=[
            TaskResult(
                id="nms", title="NMS", points=10.0, score=score - 0.5,
                checks=[
                    CheckResult(task="nms", name="test_nms[cpu]", kind="test", passed=True,
                                score=5.0, max_score=5.0, duration_s=0.25),
                    CheckResult(task="nms", name="speed:nms", kind="speed", passed=False,
                                score=1.5, max_score=5.0, message="3.1x the baseline",
                                details={"ratio": 3.1, "repeats": 7, "device": "cpu"}),
                ],
            ),
            TaskResult(id="iou", title="IoU", points=2.0, score=0.5, checks=[]),
        ],
        error=error,
        warnings=["unused import"],
        source_sha256=sha or f"sha-{sid}-{score}",
        started_at="2024-01-01T00:00:00",
        finished_at="2024-01-01T00:01:00",
        environment={"torch": "2.4", "device": "cpu"},
        sandbox={"network": False},
        timings={"total_s": 60.0},
    )


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path / "sub" / "results.sqlite")


def test_put_get_roundtrip_is_exact(store):
    r = make("alice")
    store.put(r)
    got = store.get("detection", "alice")
    assert got == r  # dataclass equality: every field, nested tasks and checks
    assert type(got.tasks[0].checks[1]) is CheckResult
    assert got.tasks[0].checks[1].details == {"ratio": 3.1, "repeats": 7, "device": "cpu"}
    assert got.speed_checks() == [r.tasks[0].checks[1]]
    assert got is not r


def test_get_missing_is_none(store):
    assert store.get("detection", "nobody") is None
    store.put(make("alice"))
    assert store.get("detection", "nobody") is None
    assert store.get("tracking", "alice") is None


def test_finished_maps_ids_to_content_hashes(store):
    store.put(make("alice", sha="aaa"))
    store.put(make("bob", sha="bbb"))
    store.put(make("carol", assignment="tracking", sha="ccc"))
    assert store.finished("detection") == {"alice": "aaa", "bob": "bbb"}
    assert store.finished("tracking") == {"carol": "ccc"}
    assert store.finished("segmentation") == {}


def test_all_filters_by_assignment_and_sorts(store):
    for sid in ("bob", "alice"):
        store.put(make(sid))
    store.put(make("zed", assignment="tracking"))
    assert [r.submission_id for r in store.all("detection")] == ["alice", "bob"]
    assert [r.submission_id for r in store.all("tracking")] == ["zed"]
    assert [(r.assignment, r.submission_id) for r in store.all()] == [
        ("detection", "alice"), ("detection", "bob"), ("tracking", "zed"),
    ]
    assert store.all("nothing") == []


def test_regrade_keeps_previous_records_in_history(store):
    first, second, third = make("alice", 3.0), make("alice", 9.0), make("alice", 1.0, error="crashed")
    store.put(first)
    assert store.history("detection", "alice") == []
    store.put(second)
    store.put(third)
    assert store.get("detection", "alice") == third
    assert store.history("detection", "alice") == [first, second]
    assert store.finished("detection") == {"alice": third.source_sha256}
    assert len(store.all("detection")) == 1
    assert store.history("detection", "bob") == []


def test_same_id_in_two_assignments_are_separate(store):
    a, b = make("alice", 2.0), make("alice", 4.0, assignment="tracking")
    store.put(a)
    store.put(b)
    assert store.get("detection", "alice") == a
    assert store.get("tracking", "alice") == b
    assert store.history("detection", "alice") == [] and store.history("tracking", "alice") == []


def test_reopened_store_keeps_the_data(tmp_path):
    path = tmp_path / "r.sqlite"
    s1 = ResultStore(path)
    s1.put(make("alice", 1.0))
    s1.put(make("alice", 2.0))
    del s1
    s2 = ResultStore(path)
    assert s2.get("detection", "alice") == make("alice", 2.0)
    assert s2.history("detection", "alice") == [make("alice", 1.0)]


def test_two_store_objects_see_each_others_writes(tmp_path):
    path = tmp_path / "r.sqlite"
    s1, s2 = ResultStore(path), ResultStore(path)
    s1.put(make("alice"))
    assert s2.get("detection", "alice") == make("alice")
    s2.put(make("alice", 9.0))
    s2.put(make("bob"))
    assert s1.get("detection", "alice") == make("alice", 9.0)
    assert s1.history("detection", "alice") == [make("alice")]
    assert sorted(s1.finished("detection")) == ["alice", "bob"]


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {tests!r})
    from test_store import make
    from harness.store import ResultStore
    store = ResultStore({path!r})
    for sid in ("s1", "s2", "s3"):
        store.put(make(sid))
    os._exit(1)  # killed before any clean shutdown: no close, no atexit, no flush
    """
)


def test_writer_killed_mid_batch_loses_nothing_already_put(tmp_path):
    path = tmp_path / "r.sqlite"
    code = KILLED_WRITER.format(tests=os.path.dirname(__file__), path=str(path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    store = ResultStore(path)
    assert [r.submission_id for r in store.all("detection")] == ["s1", "s2", "s3"]
    assert store.get("detection", "s2") == make("s2")


def _hammer(path: str, worker: int, n: int) -> None:
    store = ResultStore(path)
    for i in range(n):
        store.put(make("alice", float(i), sha=f"{worker}-{i}"))


def test_concurrent_regrades_of_one_submission_lose_no_record(tmp_path):
    """Each put either creates the record or moves the old one to history: with three
    processes regrading the same submission (and racing to create the store), the current
    record plus history must hold every put."""
    path = str(tmp_path / "r.sqlite")
    n, workers = 25, 3
    ctx = mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context()
    procs = [ctx.Process(target=_hammer, args=(path, w, n)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * workers
    store = ResultStore(path)
    shas = [r.source_sha256 for r in store.history("detection", "alice")]
    shas.append(store.get("detection", "alice").source_sha256)
    assert sorted(shas) == sorted(f"{w}-{i}" for w in range(workers) for i in range(n))
