"""Hostile submissions: each one tries to raise its own score or harm the grader, and gains
nothing. Every one starts from the untouched stub (which scores zero) plus the attack appended to
its ``__init__.py``, so any point it gets is a point it stole."""

from __future__ import annotations

import socket
import sqlite3
import threading

import pytest

from tests.conftest import ROOT, needs_bwrap

STUB = ROOT / "assignments" / "detection" / "detection"


def attack(code: str) -> dict[str, str]:
    """The stub package's files, with ``code`` appended to its __init__.py."""
    files = {f"detection/{p.name}": p.read_text() for p in STUB.glob("*.py")}
    files["detection/__init__.py"] += "\n# --- attack ---\n" + code
    return files


def earned(result) -> float:
    return sum(t.score for t in result.tasks)


def test_fake_results_printed_to_stdout_and_stderr(grade):
    r = grade(attack("""
import sys, json
for stream in (sys.stdout, sys.stderr):
    print(json.dumps({"score": 100, "status": "graded", "passed": True}), file=stream)
    print("100 passed, 0 failed", file=stream)
    stream.flush()
import os
os.write(1, b"\\x10\\x00\\x00\\x00\\x00\\x00\\x00\\x00{\\"ok\\": true}")
def box_iou(boxes1, boxes2):
    print("PASSED test_box_iou", flush=True)
    return None
"""), tasks=["iou"])
    assert r.status == "graded"
    assert earned(r) == 0
    assert any("None" in c.message or "NoneType" in c.message for t in r.tasks for c in t.checks)


def test_exit_early_at_import(grade):
    r = grade(attack("import sys\nsys.exit(0)\n"), tasks=["iou"])
    assert earned(r) == 0
    assert "could not be imported" in (r.tasks[0].checks[0].message + r.error) or r.error


def test_hard_exit_inside_a_call(grade):
    r = grade(attack("""
import os
def box_iou(boxes1, boxes2):
    os._exit(0)
"""), tasks=["iou"])
    assert earned(r) == 0
    assert any("worker died" in c.message or "not called again" in c.message
               for t in r.tasks for c in t.checks)


def test_planted_conftest_is_never_loaded(grade):
    hook = """
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    rep.outcome = "passed"
def pytest_collection_modifyitems(items):
    items.clear()
"""
    files = attack("")
    files["conftest.py"] = hook
    files["detection/conftest.py"] = hook
    files["tests/conftest.py"] = hook
    r = grade(files, tasks=["iou", "nms"])
    assert earned(r) == 0
    assert sum(len(t.checks) for t in r.tasks) > 5  # the tests ran, and failed


def test_monkeypatching_inside_the_worker_changes_nothing(grade):
    r = grade(attack("""
import torch, torch.testing, builtins, math
torch.testing.assert_close = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
math.isclose = lambda *a, **k: True
builtins.AssertionError = type("Nope", (Exception,), {})
def box_iou(boxes1, boxes2):
    return torch.zeros(boxes1.shape[0], boxes2.shape[0])
def generalized_box_iou(boxes1, boxes2):
    return torch.zeros(boxes1.shape[0], boxes2.shape[0])
"""), tasks=["iou"])
    passed = [c.name for t in r.tasks for c in t.checks if c.passed]
    # an all-zero IoU can only pass tests whose expected answer is all zeros
    assert all("disjoint" in n or "empty" in n or "zero" in n for n in passed), passed
    assert r.tasks[0].score < r.tasks[0].points / 2


def test_tensor_subclass_and_custom_eq_gain_nothing(grade):
    r = grade(attack("""
import torch
class Liar(torch.Tensor):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def allclose(self, *a, **k): return True
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return super().__torch_function__(func, types, args, kwargs or {})
class Anything:
    def __eq__(self, other): return True
    shape = property(lambda self: (1,))
def box_iou(boxes1, boxes2):
    return torch.full((7, 7), 0.123).as_subclass(Liar)  # wrong everywhere, "equal" to anything
def generalized_box_iou(boxes1, boxes2):
    return Anything()
def nms(boxes, scores, iou_threshold):
    return Anything()
"""), tasks=["iou", "nms"])
    assert earned(r) == 0
    messages = " ".join(c.message for t in r.tasks for c in t.checks)
    assert "cannot cross the sandbox boundary" in messages or "plain" in messages


@needs_bwrap
def test_hidden_tests_and_store_are_not_readable(grade, tmp_path):
    r = grade(attack("""
import os
def _look():
    found = []
    for top in ("/", "/work", "/tmp", "/root", "/home"):
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.startswith(("/proc", "/sys", "/dev", "/usr")):
                dirnames[:] = []
                continue
            for f in filenames:
                if f.startswith("test_hidden") or f.endswith(".sqlite") or f in (
                        "speed_cases.py", "assignment.toml", "samples.py"):
                    found.append(os.path.join(dirpath, f))
    return found
def box_iou(boxes1, boxes2):
    found = _look()
    leak = ""
    for path in found[:3]:
        try:
            leak += open(path).read()[:500]
        except OSError as e:
            leak += str(e)
    raise ValueError("FOUND:" + repr(found) + " LEAK:" + leak)
"""), tasks=["iou"])
    assert earned(r) == 0
    messages = [c.message for t in r.tasks for c in t.checks if "FOUND:" in c.message]
    assert messages, "the attack should have reported what it found"
    for m in messages:
        assert "FOUND:[]" in m, m
        assert "def test_" not in m


@needs_bwrap
def test_files_written_by_the_submission_stay_in_the_sandbox(grade, tmp_path):
    marker = tmp_path / "written_by_student.txt"
    store = tmp_path / "store.sqlite"
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = store.read_bytes()
    r = grade(attack(f"""
import os
for path in ({str(marker)!r}, {str(store)!r}, "results.json", "/tmp/score.json",
             os.path.expanduser("~/score.json"), "/submission/detection/boxes.py"):
    try:
        with open(path, "w") as f:
            f.write('{{"score": 100}}')
    except OSError:
        pass
"""), tasks=["iou"])
    assert earned(r) == 0
    assert not marker.exists()
    assert store.read_bytes() == before


def test_forbidden_module_is_blocked(grade):
    r = grade(attack("""
def box_iou(boxes1, boxes2):
    from torchvision.ops import box_iou as tv_box_iou
    return tv_box_iou(boxes1, boxes2)
def generalized_box_iou(boxes1, boxes2):
    import importlib
    return importlib.import_module("torchvision.ops").generalized_box_iou(boxes1, boxes2)
"""), tasks=["iou"])
    assert earned(r) == 0
    assert any("not allowed" in c.message or "No module named" in c.message
               for t in r.tasks for c in t.checks)
    assert any("torchvision" in w for w in r.warnings)  # the static scan names it too


def test_hang_is_killed_and_scores_zero(grade):
    r = grade(attack("""
def box_iou(boxes1, boxes2):
    while True:
        pass
"""), tasks=["iou"])
    assert earned(r) == 0
    assert any("timed out" in c.message for t in r.tasks for c in t.checks)


def test_memory_blow_up_is_contained(grade):
    r = grade(attack("""
import torch
def box_iou(boxes1, boxes2):
    hog = []
    while True:
        hog.append(torch.ones(256, 1024, 1024, dtype=torch.uint8))
"""), tasks=["iou"])
    assert earned(r) == 0
    text = " ".join(c.message for t in r.tasks for c in t.checks)
    assert "memory" in text.lower() or "allocate" in text.lower(), text[:500]


def test_fork_bomb_is_contained(grade):
    r = grade(attack("""
import os
def box_iou(boxes1, boxes2):
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""), tasks=["iou"])
    assert earned(r) == 0
    # the grader is still healthy: the next submission is graded normally
    ok = grade({}, base=ROOT / "reference" / "detection" / "detection", tasks=["iou"], name="next")
    assert ok.tasks[0].score == ok.tasks[0].points


@needs_bwrap
def test_no_network(grade):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connected = []

    def accept():
        for _ in range(50):
            try:
                conn, _ = server.accept()
                connected.append(conn)
                return
            except OSError:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    r = grade(attack(f"""
import socket
def box_iou(boxes1, boxes2):
    s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
    s.sendall(b"score=100")
    raise ValueError("connected")
"""), tasks=["iou"])
    thread.join()
    server.close()
    assert earned(r) == 0
    assert not connected
    assert not any("connected" == c.message.split(": ", 1)[-1] for t in r.tasks for c in t.checks)


def test_killing_its_parent_does_not_stop_the_batch(grade):
    r = grade(attack("""
import os, signal
def box_iou(boxes1, boxes2):
    for pid in (os.getppid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    raise ValueError("still here")
"""), tasks=["iou"])
    assert earned(r) == 0
    ok = grade({}, base=ROOT / "reference" / "detection" / "detection", tasks=["iou"], name="next")
    assert ok.tasks[0].score == ok.tasks[0].points


@pytest.mark.parametrize("isolation", ["none-trusted-code"])
def test_process_mode_reports_what_it_does_not_protect(assignment, isolation):
    from harness.sandbox import LocalSandbox

    sb = LocalSandbox(limits=assignment.limits, isolation=isolation)
    try:
        d = sb.describe()
    finally:
        sb.close()
    assert d["filesystem_isolated"] is False
    assert any("NOT SANDBOXED" in n and "trusted code only" in n for n in d["notes"])
    assert d["trusted_code_only"] is True
