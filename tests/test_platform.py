"""Platform properties: a typed sandbox layer (exit reasons, no protocol dictionaries outside the
sandbox package), nothing left in the temp directory, and the bounded cost of a hanging
submission."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from harness.batch import grade_batch
from harness.grading.context import GradingContext
from harness.grading.proxy import StudentCrash, StudentSession
from harness.manifest import Limits, find_assignment
from harness.sandbox import ExitReason, LocalSandbox, WorkerClient, WorkerCrashed
from harness.store import ResultStore
from harness.submissions import SubmissionSource
from harness.tmp import scratch_dir, sweep_stale
from tests.conftest import ROOT, write_package

A = "detection"


def test_no_protocol_dictionaries_outside_the_sandbox_package():
    offenders = []
    for path in (ROOT / "harness").rglob("*.py"):
        if "sandbox" in path.relative_to(ROOT / "harness").parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"""["']op["']\s*:""", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


@pytest.fixture
def own_tmp(tmp_path, monkeypatch):
    """A private temp directory, so that what a grader leaves behind is visible."""
    # torchvision's first import makes torch's process-wide compile cache folder in the temp
    # directory (torch._dynamo, via torchvision.ops); that is torch's, made once per process, not a
    # grader's leftover, so it is made before the redirect.
    import torchvision  # noqa: F401
    base = tmp_path / "tmpdir"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    return base


def _package(tmp_path: Path, source: str) -> Path:
    return write_package(tmp_path / "sub", {f"{A}/__init__.py": source})


@pytest.mark.parametrize("source,reason,text", [
    ("import time\ndef box_iou(a, b):\n    time.sleep(60)\n", ExitReason.TIMEOUT, "timed out after 2 s"),
    ("import os\ndef box_iou(a, b):\n    os._exit(3)\n", ExitReason.EXIT, "exit status 3"),
    ("import os, signal\ndef box_iou(a, b):\n    os.kill(os.getpid(), signal.SIGKILL)\n", ExitReason.SIGNAL,
     "killed by signal SIGKILL"),
])
def test_exit_reasons_are_an_enum(tmp_path, own_tmp, source, reason, text):
    sandbox = LocalSandbox(limits=Limits(call_timeout_s=2))
    try:
        staged = _package(tmp_path, source)
        worker = sandbox.start_worker(staged)
        client = WorkerClient(worker)
        hello = client.hello(package=A, api=["box_iou"])
        assert hello.ok and hello.api == {"box_iou": "function"}
        with pytest.raises(WorkerCrashed) as info:
            client.call("box_iou", [1, 2])
        assert info.value.reason is reason and text in str(info.value)
        worker.close()
    finally:
        sandbox.close()
    assert list(own_tmp.iterdir()) == []


def test_a_hung_function_is_not_called_again_and_the_hang_budget_shortens_later_calls(tmp_path, own_tmp):
    source = ("import time\n"
              "def box_iou(a, b):\n    time.sleep(60)\n"
              "def nms(a, b, c):\n    time.sleep(60)\n"
              "def batched_nms(a, b, c, d):\n    return 'ok'\n")
    limits = Limits(call_timeout_s=3, hang_budget_s=3, call_timeout_after_hangs_s=1)
    sandbox = LocalSandbox(limits=limits)
    session = StudentSession(sandbox, _package(tmp_path, source), package=A, api=["box_iou", "nms", "batched_nms"])
    try:
        t0 = time.monotonic()
        with pytest.raises(StudentCrash, match="timed out after 3 s"):
            session.call("box_iou", [1, 2])
        assert time.monotonic() - t0 < 10
        t0 = time.monotonic()
        with pytest.raises(StudentCrash, match="'box_iou' hung earlier"):
            session.call("box_iou", [1, 2])
        assert time.monotonic() - t0 < 0.5  # no new call, no new timeout
        with pytest.raises(StudentCrash, match="timed out after 1 s"):  # the budget is used up
            session.call("nms", [1, 2, 3])
        assert session.call("batched_nms", [1, 2, 3, 4]) == "ok"  # the rest still works
        assert set(session.hung) == {"box_iou", "nms"} and session.hang_time_s == 4
    finally:
        session.close()
        sandbox.close()


def test_sweep_removes_folders_of_dead_owners_only(tmp_path):
    mine = scratch_dir("grade", tmp_path)
    dead = tmp_path / "cv3_grade_999999999_x"
    dead.mkdir()
    other = tmp_path / "unrelated"
    other.mkdir()
    assert sweep_stale(tmp_path) == [dead]
    assert mine.is_dir() and other.is_dir()


@pytest.mark.slow
def test_a_batch_and_a_context_leave_nothing_in_the_temp_directory(tmp_path, own_tmp):
    a = find_assignment(A)
    subs = tmp_path / "subs"
    shutil.copytree(a.reference_dir, subs / "alice" / A, ignore=shutil.ignore_patterns("__pycache__"))
    (subs / "bob.zip").write_bytes(b"PK\x03\x04 not really a zip")
    store = ResultStore(tmp_path / "results.sqlite")
    summary = grade_batch(a, [SubmissionSource("alice", subs / "alice"), SubmissionSource("bob", subs / "bob.zip")],
                          store, jobs=2, progress=None, speed=True)
    by_id = {r.submission_id: r for r in summary.graded}
    assert by_id["alice"].score == by_id["alice"].max_score
    assert by_id["bob"].status == "error" and "not a readable zip" in by_id["bob"].error
    assert store.get(A, "bob").status == "error"  # a bad file is that submission's error, stored
    assert list(own_tmp.iterdir()) == [], list(own_tmp.iterdir())
    with GradingContext(a, tasks=["iou"], speed=False) as ctx:
        ctx.grade(SubmissionSource("alice", subs / "alice"))
    assert list(own_tmp.iterdir()) == []
    assert os.listdir(own_tmp) == []


@pytest.mark.slow
def test_a_submission_whose_every_function_hangs_costs_at_most_two_minutes(tmp_path, own_tmp):
    a = find_assignment(A)
    source = "import time as _t\n" + "".join(
        f"\ndef {name}(*args, **kwargs):\n    while True:\n        _t.sleep(1)\n" for name in a.api)
    sub = _package(tmp_path, source)
    t0 = time.monotonic()
    with GradingContext(a) as ctx:  # the default limits of the manifest
        r = ctx.grade(SubmissionSource("hangs", sub))
    elapsed = time.monotonic() - t0
    assert elapsed < 120, elapsed
    assert r.score == 0
    messages = [c.message for t in r.tasks for c in t.checks]
    assert all(("timed out" in m or "hung earlier" in m or "graded only once" in m) for m in messages), \
        [m for m in messages if "timed out" not in m and "hung earlier" not in m][:5]
    assert any("hung and were not called again" in w for w in r.warnings), r.warnings


# -- no automatic fallback to an unsandboxed process ------------------------------------------------
def test_without_bubblewrap_grading_refuses_and_names_both_fixes(monkeypatch):
    import harness.sandbox.local as local
    from harness.sandbox import SandboxUnavailable

    monkeypatch.setattr(local, "bubblewrap_available", lambda: False)
    for isolation in ("auto", "bubblewrap"):
        with pytest.raises(SandboxUnavailable, match=r"install bubblewrap.*--backend docker.*none-trusted-code"):
            LocalSandbox(limits=Limits(), isolation=isolation)
    with pytest.raises(ValueError, match="allowed values are auto, bubblewrap, none-trusted-code"):
        LocalSandbox(limits=Limits(), isolation="process")


def test_cli_grade_without_a_sandbox_exits_2_with_the_fixes(tmp_path, monkeypatch):
    import harness.sandbox.local as local
    from harness import cli

    monkeypatch.setattr(local, "bubblewrap_available", lambda: False)
    a = find_assignment(A)
    shutil.copytree(a.reference_dir, tmp_path / "alice" / A, ignore=shutil.ignore_patterns("__pycache__"))
    code = cli.main(["grade", A, str(tmp_path / "alice"), "--store", str(tmp_path / "s.sqlite"),
                     "--reports", str(tmp_path / "r"), "--no-speed"])
    assert code == 2


def test_trusted_code_mode_is_marked_and_hides_secrets(tmp_path, own_tmp):
    sb = LocalSandbox(limits=Limits(call_timeout_s=10), isolation="none-trusted-code")
    try:
        d = sb.describe()
        assert d["trusted_code_only"] is True and d["isolation"] == "none-trusted-code"
        assert any(n.startswith("NOT SANDBOXED") for n in d["notes"])
        sub = _package(tmp_path, "import os\ndef box_iou(p, q):\n"
                                 "    return [sorted(os.listdir(x)) if os.path.isdir(x) else open(x, 'rb').read(4)\n"
                                 "            for x in p]\n")
        worker = sb.start_worker(sub)
        client = WorkerClient(worker)
        assert client.hello(package=A, api=["box_iou"]).ok
        paths = [str(ROOT / "reference" / A / "tests")]
        if sb._netns:  # a mount namespace could be had: the hidden tests are not there
            with pytest.raises(Exception, match="FileNotFoundError|No such file"):
                client.call("box_iou", [paths, None])
        worker.close()
    finally:
        sb.close()


# -- without cgroups ---------------------------------------------------------------------------------
def test_without_cgroups_a_root_grader_refuses_unless_accepted(monkeypatch):
    from harness.sandbox import SandboxUnavailable

    monkeypatch.setenv("CV3_CGROUPS", "off")
    if os.geteuid() != 0:
        sb = LocalSandbox(limits=Limits())  # an ordinary user is bound by RLIMIT_NPROC
        assert sb.describe()["cgroups"] is False
        sb.close()
        return
    with pytest.raises(SandboxUnavailable, match=r"no pids/memory cgroups.*--accept-no-cgroups"):
        LocalSandbox(limits=Limits())
    sb = LocalSandbox(limits=Limits(), accept_no_cgroups=True)
    try:
        d = sb.describe()
        assert d["cgroups"] is False
        assert any("no cgroups" in n and "accepted with --accept-no-cgroups" in n for n in d["notes"])
    finally:
        sb.close()


def test_without_cgroups_a_memory_blow_up_is_still_contained(tmp_path, own_tmp, monkeypatch):
    monkeypatch.setenv("CV3_CGROUPS", "off")
    sb = LocalSandbox(limits=Limits(call_timeout_s=30, memory_mb=512), accept_no_cgroups=True)
    session = StudentSession(sb, _package(tmp_path, "import torch\ndef box_iou(a, b):\n    hog = []\n"
                                                    "    while True:\n        hog.append(torch.ones(64 << 20, "
                                                    "dtype=torch.uint8))\n"), package=A, api=["box_iou"])
    try:
        with pytest.raises(Exception, match="(?i)memory|allocate|killed"):
            session.call("box_iou", [1, 2])
    finally:
        session.close()
        sb.close()


def test_trusted_modules_of_two_assignments_with_the_same_name_do_not_mix(tmp_path):
    """The grader caches trusted modules: two course roots (or two test assignments) named alike
    must each get their own accuracy_cases.py."""
    from harness.manifest import load_manifest

    contexts = []
    for n in (1, 2):
        root = tmp_path / f"course{n}"
        (root / "assignments" / "toy").mkdir(parents=True)
        (root / "assignments" / "toy" / "assignment.toml").write_text(
            '[assignment]\nname = "toy"\npackage = "toy"\n\n[[task]]\nid = "t"\npoints = 1\napi = ["f"]\n')
        (root / "reference" / "toy" / "tests").mkdir(parents=True)
        (root / "reference" / "toy" / "tests" / "accuracy_cases.py").write_text(f"def which():\n    return {n}\n")
        contexts.append(GradingContext(load_manifest(root / "assignments" / "toy" / "assignment.toml"), speed=False))
    try:
        assert [c.trusted("accuracy_cases:which")() for c in contexts] == [1, 2]
    finally:
        for c in contexts:
            c.close()


def test_vjp_differentiates_one_item_of_a_tuple_result_in_the_sandbox(tmp_path, own_tmp):
    # e.g. "no gradient flows into the scores" of a function that returns (boxes, scores)
    import torch

    from harness.grading.proxy import RemoteStudent
    source = "def box_iou(a, b):\n    return a * b, (3 * a).detach()\n"
    sandbox = LocalSandbox(limits=Limits(call_timeout_s=20))
    session = StudentSession(sandbox, _package(tmp_path, source), package=A, api=["box_iou"])
    try:
        student = RemoteStudent(session)
        a, b = torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([5.0, 7.0], dtype=torch.float64)
        out, grads = student.vjp("box_iou", (a, b), wrt=(0, 1), output=0)
        assert torch.equal(out, a * b) and torch.equal(grads[0], b) and torch.equal(grads[1], a)
        out, grads = student.vjp("box_iou", (a, b), wrt=(0,), output=1)
        assert torch.equal(out, 3 * a) and grads == [None]  # detached: no gradient reaches it
        with pytest.raises(TypeError, match="no item 2 .it is a tuple of 2 items"):
            student.vjp("box_iou", (a, b), output=2)
        with pytest.raises(TypeError, match="tensor output"):
            student.vjp("box_iou", (a, b))  # a tuple needs output=
    finally:
        session.close()
        sandbox.close()


def test_vjp_differentiates_the_forward_of_an_object_a_student_class_made(tmp_path, own_tmp):
    # e.g. a gradient-reversal layer: its forward is the identity, so only its gradient tells
    # the layer from an nn.Identity; the same call works locally and through the sandbox
    import torch

    from harness.authoring import load_package_as
    from harness.grading.proxy import RemoteStudent
    from harness.testkit import LocalStudent
    source = ("import torch\n"
              "class box_iou(torch.nn.Module):\n"
              "    def __init__(self, k):\n        super().__init__()\n        self.k = k\n"
              "    def forward(self, x):\n        return x.detach() - self.k * (x - x.detach())\n")
    package = _package(tmp_path, source)
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    v = torch.tensor([0.5, 1.0, -4.0], dtype=torch.float64)
    local = LocalStudent(load_package_as(package / A, "cv3_test_vjp_object"), api=["box_iou"])
    out, (g,) = local.vjp(local.box_iou(0.5), [x], grad_outputs=v)
    assert torch.equal(out, x) and torch.equal(g, -0.5 * v)
    with pytest.raises(TypeError, match="callable"):
        local.vjp(3, [x])
    sandbox = LocalSandbox(limits=Limits(call_timeout_s=20))
    session = StudentSession(sandbox, package, package=A, api=["box_iou"])
    try:
        student = RemoteStudent(session)
        layer = student.box_iou(0.5)
        out, (g,) = student.vjp(layer, [x], grad_outputs=v)
        assert torch.equal(out, x) and torch.equal(g, -0.5 * v)
        assert session.events[-1][0] == "box_iou"  # evidence for the class, as a call of the object is
        with pytest.raises(TypeError, match="API name or an object"):
            student.vjp(3, [x])
    finally:
        session.close()
        sandbox.close()


def test_calls_of_methods_a_library_class_defines_are_no_evidence_a_class_works(tmp_path, own_tmp):
    # nn.Module.state_dict returns real tensors with none of the submission's code run: a test
    # that calls it and then passes because the class's own method raised must stay gated
    import torch

    from harness.grading.proxy import RemoteStudent
    source = ("import torch\n"
              "class Inner(torch.nn.Linear):\n    pass\n"
              "class box_iou(torch.nn.Module):\n"
              "    def __init__(self):\n        super().__init__()\n"
              "        self.lin = torch.nn.Linear(2, 1)\n        self.inner = Inner(2, 1)\n"
              "    def forward(self, x):\n        return x + 1\n"
              "    def load(self, sd):\n        raise RuntimeError('bad keys')\n")
    sandbox = LocalSandbox(limits=Limits(call_timeout_s=20))
    session = StudentSession(sandbox, _package(tmp_path, source), package=A, api=["box_iou"])
    try:
        model = RemoteStudent(session).box_iou()
        session.events.clear()
        assert set(model.state_dict()) == {"lin.weight", "lin.bias", "inner.weight", "inner.bias"}
        assert model.lin(torch.ones(2)).shape == (1,)  # a torch submodule
        assert session.events == []  # library code: neither returned nor raised
        assert model.inner(torch.ones(2)).shape == (1,)  # a submodule of the submission's class
        assert session.events == [("box_iou", "returned")]
        session.events.clear()
        with pytest.raises(Exception, match="bad keys"):
            model.load({})
        assert session.events == [("box_iou", "raised")]
        assert torch.equal(model(torch.ones(2)), torch.full((2,), 2.0))  # __call__ reaches forward
        assert session.events[-1] == ("box_iou", "returned")
    finally:
        session.close()
        sandbox.close()
