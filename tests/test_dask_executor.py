"""The Dask executor (harness/executors/): a LocalCluster-style cluster of three worker processes
on this machine (two CPU nodes, one node tagged with a simulated GPU slot), the coordinator in
the test process or as `cv3 grade` subprocesses, and `cv3 worker` started for real."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

distributed = pytest.importorskip("distributed")

from harness.batch import grade_batch  # noqa: E402
from harness.executors import ExecutorLost, make_executor  # noqa: E402
from harness.executors.dask import DaskExecutor, job_for, worker_command  # noqa: E402
from harness.executors.node import JobRefused, _materialize  # noqa: E402
from harness.manifest import find_assignment, load_manifest, repo_root  # noqa: E402
from harness.store import ResultStore  # noqa: E402
from harness.submissions import SubmissionSource, discover, stage_submission  # noqa: E402

ROOT = repo_root()
# what `cv3 grade` passes: the nodes' grading processes of the first test serve the CLI test too
CLI_OPTIONS = {"backend": "local", "isolation": "auto", "gpu": False, "accept_no_cgroups": False}
MANIFEST = """
[assignment]
name = "dtoy"
package = "dtoy"

[limits]
call_timeout_s = 4
hang_budget_s = 4

[[task]]
id = "basics"
points = 2
api = ["double"]
"""
HIDDEN = '''
import pytest
import torch

@pytest.mark.task("basics")
def test_double(student):
    assert torch.equal(student.double(torch.tensor([1.0, 2.0])), torch.tensor([2.0, 4.0]))
'''
CONFTEST = '''
import pytest

def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): task")

@pytest.fixture(scope="session")
def student(request):
    return request.config.cv3_student
'''
BODIES = {
    "ok": "return x * 2",
    "slow": "import time; time.sleep(3); return x * 2",
    "wrong": "return x",
    "hang": "import time; time.sleep(60); return x * 2",  # past the call limit: the student's failure
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    a = root / "assignments" / "dtoy"
    (a / "dtoy").mkdir(parents=True)
    (a / "assignment.toml").write_text(MANIFEST)
    (a / "dtoy" / "__init__.py").write_text("def double(x):\n    raise NotImplementedError\n")
    tests = root / "reference" / "dtoy" / "tests"
    tests.mkdir(parents=True)
    (tests / "conftest.py").write_text(CONFTEST)
    (tests / "test_hidden.py").write_text(HIDDEN)
    return load_manifest(a / "assignment.toml")


def _toy_subs(folder: Path, kinds: list[str]) -> list[SubmissionSource]:
    out = []
    for i, kind in enumerate(kinds):
        pkg = folder / f"{chr(97 + i)}_{kind}" / "dtoy"
        pkg.mkdir(parents=True)
        pkg.joinpath("__init__.py").write_text(f"def double(x):\n    {BODIES[kind]}\n")
        out.append(SubmissionSource(pkg.parent.name, pkg.parent))
    return out


def _node(name: str, resources: dict, **config) -> dict:
    return {"cls": distributed.Nanny, "options": {
        "nthreads": 1, "resources": resources, "name": name, "memory_limit": 0,
        "env": {"CV3_NODE": json.dumps({"name": name, **config})}}}


@pytest.fixture(scope="module")
def cluster():
    """Three grading nodes: cpu0, cpu1 (CPU=1) and gpu0 (GPU=1, simulated: grades on the CPU)."""
    workers = {"cpu0": _node("cpu0", {"CPU": 1}), "cpu1": _node("cpu1", {"CPU": 1}),
               "gpu0": _node("gpu0", {"GPU": 1}, gpus=1, device="cpu")}
    c = distributed.SpecCluster(scheduler={"cls": distributed.Scheduler, "options": {"dashboard_address": ":0"}},
                                workers=workers, silence_logs=40)
    client = distributed.Client(c, set_as_default=False)
    client.wait_for_workers(3, timeout=120)
    yield c, client
    client.close()
    c.close()


def _names(client) -> dict[str, str]:
    return {addr: w["name"] for addr, w in client.scheduler_info(n_workers=-1)["workers"].items()}


def test_a_batch_grades_to_the_same_scores_as_the_local_executor(cluster, tmp_path):
    _, client = cluster
    a = find_assignment("detection")
    subprocess.run([sys.executable, str(ROOT / "reference" / "detection" / "samples.py"), "--out",
                    str(tmp_path / "samples")], check=True, capture_output=True)
    sources = [s for s in discover(tmp_path / "samples", a.package)
               if s.id in ("s01_reference", "s03_partial")]
    assert len(sources) == 2
    local = grade_batch(a, sources, ResultStore(tmp_path / "local.sqlite"), speed=False, progress=None,
                        sandbox_options=CLI_OPTIONS)
    store = ResultStore(tmp_path / "dask.sqlite")
    remote = grade_batch(a, sources, store, speed=False, progress=None, sandbox_options=CLI_OPTIONS,
                         executor=DaskExecutor(client=client))
    want = {r.submission_id: (r.score, [(t.id, t.score) for t in r.tasks]) for r in local.graded}
    got = {r.submission_id: (r.score, [(t.id, t.score) for t in r.tasks]) for r in remote.graded}
    assert got == want
    assert want["s01_reference"][0] == pytest.approx(90)
    assert 0 < want["s03_partial"][0] < 90
    for r in store.all("detection"):
        assert r.environment["executor"] == "dask" and r.environment["retries"] == 0
        assert r.environment["node"] in ("cpu0", "cpu1")  # CPU work never takes the GPU slot
        assert store.history("detection", r.submission_id) == []
    assert {r.submission_id: r.source_sha256 for r in store.all("detection")} == \
        {r.submission_id: r.source_sha256 for r in local.graded}


def _cv3(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *args]


def test_a_killed_coordinator_resumes_where_it_stopped(cluster, tmp_path):
    c, _ = cluster
    a = find_assignment("detection")
    subs = tmp_path / "subs"
    for i in range(3):
        shutil.copytree(a.root / a.package, subs / f"stub{i}" / a.package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    store_path = tmp_path / "s.sqlite"
    cmd = _cv3("grade", "detection", str(subs), "--executor", "dask", "--scheduler", c.scheduler_address,
               "--store", str(store_path), "--reports", str(tmp_path / "r"), "--no-speed")
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    store = ResultStore(store_path)
    deadline = time.monotonic() + 150
    while not store.all("detection") and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.3)
    first.kill()
    first.communicate()
    stored = {r.submission_id for r in store.all("detection")}
    assert 1 <= len(stored) < 3
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"skipping {len(stored)} submission(s) already graded" in again.stderr
    results = store.all("detection")
    assert sorted(r.submission_id for r in results) == [f"stub{i}" for i in range(3)]
    assert all(r.score == 0 and r.environment["executor"] == "dask" for r in results)
    assert all(store.history("detection", sid) == [] for sid in stored)
    assert "node cpu" in again.stdout  # the summary lists which node graded what


def test_gpu_jobs_land_only_on_gpu_nodes_and_cpu_jobs_never_there(cluster, toy, tmp_path):
    _, client = cluster
    sources = _toy_subs(tmp_path / "subs", ["ok", "wrong"])
    store = ResultStore(tmp_path / "s.sqlite")
    gpu = grade_batch(toy, sources, store, speed=False, progress=None,
                      executor=DaskExecutor(client=client, gpu=True))
    assert [r.environment["node"] for r in gpu.graded] == ["gpu0"] * 2
    assert sorted(r.score for r in gpu.graded) == [0, 2]
    cpu = grade_batch(toy, sources, store, speed=False, progress=None, regrade=True,
                      executor=DaskExecutor(client=client))
    assert {r.environment["node"] for r in cpu.graded} <= {"cpu0", "cpu1"}
    assert sorted(r.score for r in cpu.graded) == [0, 2]


def test_a_node_killed_mid_job_is_retried_elsewhere_nothing_lost_or_stored_twice(cluster, toy, tmp_path):
    _, client = cluster
    sources = _toy_subs(tmp_path / "subs", ["slow", "ok", "hang", "slow", "wrong"])
    store = ResultStore(tmp_path / "s.sqlite")
    killed: list[str] = []
    stop = threading.Event()

    def killer():
        seen: dict[str, float] = {}
        while not stop.is_set() and not killed:
            names = _names(client)
            for addr, keys in client.processing().items():
                for key in keys:
                    if "_slow-" in str(key) and names.get(addr, "").startswith("cpu"):
                        seen.setdefault(key, time.monotonic())
                        if time.monotonic() - seen[key] > 1.0:  # its grading process has it
                            pid = client.run(os.getpid, workers=[addr])[addr]
                            os.kill(pid, signal.SIGKILL)
                            killed.append(str(key))
                            return
            time.sleep(0.2)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        summary = grade_batch(toy, sources, store, speed=False, progress=None, executor=DaskExecutor(client=client))
    finally:
        stop.set()
        t.join(10)
    assert killed, "no slow job was seen running on a CPU node"
    victim = killed[0].split("-")[2]  # cv3-dtoy-<id>-<token>-<attempt>
    ids = [r.submission_id for r in summary.graded]
    assert sorted(ids) == sorted(s.id for s in sources)  # nothing lost, nothing twice
    results = {r.submission_id: r for r in store.all("dtoy")}
    assert {k: r.score for k, r in results.items()} == {"a_slow": 2, "b_ok": 2, "c_hang": 0, "d_slow": 2,
                                                        "e_wrong": 0}
    assert results[victim].environment["retries"] >= 1 and results[victim].status == "graded"
    for sid, r in results.items():
        assert store.history("dtoy", sid) == []
        if sid != victim:
            assert r.environment["retries"] == 0
    hang = results["c_hang"]  # over its limits: graded zero, not retried
    assert hang.status == "graded" and "timed out" in json.dumps(hang.to_dict()).lower()


def _certificates(folder: Path) -> tuple[str, str, str]:
    """A course CA and one node certificate signed by it (openssl, as the README's recipe)."""
    folder.mkdir()
    run = lambda *a: subprocess.run(["openssl", *a], cwd=folder, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=cv3-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=cv3-node")
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "node.pem", "-days", "2")
    return str(folder / "ca.pem"), str(folder / "node.pem"), str(folder / "node.key")


@pytest.fixture(autouse=True)
def _no_hang():
    """A Dask test that hangs (a lost message, a cluster that does not close) fails after 6
    minutes with a traceback instead of stalling the whole suite."""
    def expire(signum, frame):
        raise TimeoutError("this Dask test ran for more than 360 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(360)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _tls_scheduler(folder: Path, ca: str, cert: str, key: str) -> tuple[subprocess.Popen, str]:
    """A TLS scheduler in a process of its own (`dask scheduler`, as a course runs it), so that
    losing it is a real kill, not a close called from another thread of the test process."""
    info = folder / "scheduler.json"
    argv = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--protocol", "tls", "--host", "127.0.0.1",
            "--port", "0", "--no-dashboard", "--scheduler-file", str(info), "--tls-ca-file", ca, "--tls-cert", cert,
            "--tls-key", key]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            return proc, json.loads(info.read_text(encoding="utf-8"))["address"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"the TLS scheduler did not start (exit code {proc.poll()})")


def _refused(address: str) -> str:
    """Why a plain client cannot connect to ``address`` (fails the test if it can)."""
    failure = ""
    try:
        distributed.Client(address, timeout=3, set_as_default=False).close()
    except Exception as e:  # noqa: BLE001 - any refusal will do
        failure = f"{type(e).__name__}: {e}"
    # the failed Client closes itself when collected; collected later inside distributed's own
    # lock, that close deadlocks (seen in CI as a 360 s stall): collect it now
    gc.collect()
    return failure


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make the TLS certificates")
def test_cv3_worker_over_tls_grades_and_a_lost_scheduler_stops_the_batch_clearly(toy, tmp_path):
    """`cv3 worker` on a TLS scheduler: it registers its slots and grades a job; clients without
    the course certificate are refused; then the scheduler process is killed mid-batch and the
    coordinator stops with a clear message, having stored what arrived."""
    from harness.executors.dask import security

    ca, cert, key = _certificates(tmp_path / "tls")
    sched, address = _tls_scheduler(tmp_path, ca, cert, key)
    assert address.startswith("tls://")
    tls = ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    argv = _cv3("worker", "--scheduler", address, "--gpus", "1", "--jobs", "1", "--name", "node-x",
                "--device", "cpu", *tls)
    node = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sec = security(ca_file=ca, cert=cert, key=key)
    client = None
    try:
        client = distributed.Client(address, security=sec, set_as_default=False, timeout=60)
        assert _refused(address)  # no certificate, no connection
        assert _refused(address.replace("tls://", "tcp://"))
        client.wait_for_workers(1, timeout=90)
        (info,) = client.scheduler_info(n_workers=-1)["workers"].values()
        assert info["name"] == "node-x" and info["resources"] == {"CPU": 1, "GPU": 1}
        store = ResultStore(tmp_path / "s.sqlite")
        ex = DaskExecutor(scheduler=address, security=sec, lost_after_s=3)
        done = grade_batch(toy, _toy_subs(tmp_path / "one", ["ok"]), store, speed=False, progress=None,
                           executor=ex)
        assert [(r.score, r.environment["node"]) for r in done.graded] == [(2, "node-x")]
        client.close()
        client = None
        threading.Timer(2.0, os.killpg, (sched.pid, signal.SIGKILL)).start()
        ex = DaskExecutor(scheduler=address, security=sec, lost_after_s=3)
        with pytest.raises(ExecutorLost, match="lost the Dask scheduler .*rerun the same command"):
            grade_batch(toy, _toy_subs(tmp_path / "two", ["slow", "slow", "slow"]), store, speed=False,
                        progress=None, executor=ex)
        assert len(store.all("dtoy")) == 1  # only what arrived; the rest is for the rerun
    finally:
        if client is not None:
            client.close()
        for proc in (node, sched):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def test_job_files_are_checked_against_their_hash(toy, tmp_path):
    (src,) = _toy_subs(tmp_path / "subs", ["ok"])
    staged = stage_submission(src, "dtoy", tmp_path / "staged")
    job = job_for(toy, staged, job_id="j", digest="d", key_id=None, sandbox_options={}, speed=False, gpu=False,
                  ship="bytes")
    assert _materialize(job, tmp_path / "n1").joinpath("dtoy", "__init__.py").is_file()
    job["files"][0] = (job["files"][0][0], b"def double(x):\n    return 2 * x\n")
    with pytest.raises(JobRefused, match="do not match their hash"):
        _materialize(job, tmp_path / "n2")
    job["files"][0] = ("../escape.py", b"")
    with pytest.raises(JobRefused, match="outside the submission"):
        _materialize(job, tmp_path / "n3")


class _FakeFuture:
    def __init__(self, outcome):
        self.outcome, self.status = outcome, "error" if isinstance(outcome, BaseException) else "finished"

    def result(self):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def release(self):
        pass

    def add_done_callback(self, fn):
        fn(self)


class _FakeClient:
    """Answers each submit with the next planned outcome (a KilledWorker or a reply)."""

    status = "running"

    def __init__(self, outcomes):
        self.outcomes, self.keys = list(outcomes), []

    def submit(self, fn, job, *, key, resources, pure, retries):
        assert resources == {"CPU": 1} and retries == 0
        self.keys.append(key)
        return _FakeFuture(self.outcomes.pop(0))

    def scheduler_info(self, n_workers=-1):
        return {"workers": {"w": {"resources": {"CPU": 1}}}}

    def subscribe_topic(self, topic, handler):
        pass


def _run_fake(toy, tmp_path, outcomes):
    from distributed.scheduler import KilledWorker  # noqa: F401 - the exception the scheduler raises

    (src,) = _toy_subs(tmp_path / "subs", ["ok"])
    staged = stage_submission(src, "dtoy", tmp_path / "staged")
    client = _FakeClient(outcomes)
    ex = DaskExecutor(client=client)
    ex.start(toy, sandbox_options={}, speed=False, speed_lock=None)
    ex.submit(staged)
    got = []
    while ex.pending():
        got += ex.collect(1.0)
    return client, staged, got


def test_a_job_whose_nodes_keep_dying_is_sent_again_once_then_recorded_for_a_rerun(toy, tmp_path):
    from distributed.scheduler import KilledWorker

    dead = KilledWorker("k", SimpleNamespace(address="tcp://w:1"), 3)
    client, staged, [(_, r)] = _run_fake(toy, tmp_path, [dead, dead])
    assert [k.rsplit("-", 1)[1] for k in client.keys] == ["0", "1"]  # sent again once (max_retries=1)
    assert r.status == "error" and r.score == 0 and r.source_sha256 == f"retry:{staged.sha256}"
    assert "died 2 time(s)" in r.error and r.environment["retries"] == 1


def test_a_job_sent_again_after_its_node_died_records_the_retry(toy, tmp_path):
    from distributed.scheduler import KilledWorker

    reply = json.dumps({"ok": True, "node": "n2", "node_s": 0.5, "result": {
        "assignment": "dtoy", "submission_id": "a_ok", "status": "graded", "score": 2.0, "max_score": 2.0,
        "source_sha256": "x", "environment": {"node": "n2"}}})
    dead = KilledWorker("k", SimpleNamespace(address="tcp://w:1"), 3)
    client, staged, [(_, r)] = _run_fake(toy, tmp_path, [dead, reply])
    assert r.score == 2 and r.environment["retries"] == 1 and r.environment["node"] == "n2"


def test_an_unreachable_scheduler_is_a_clear_error(toy):
    ex = DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout_s=2)
    with pytest.raises(ExecutorLost, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9 .*cv3 worker"):
        ex.start(toy, sandbox_options={}, speed=False, speed_lock=None)


def test_worker_command_and_executor_arguments():
    argv, env = worker_command(scheduler="tls://s:8786", scheduler_file=None, gpus=2, name="g",
                               tls=("ca.pem", "c.pem", "k.pem"))
    assert argv[argv.index("--resources") + 1] == "GPU=2" and argv[argv.index("--nthreads") + 1] == "2"
    assert "harness.executors.node" in argv and "--tls-ca-file" in argv
    assert json.loads(env["CV3_NODE"]) == {"name": "g", "gpus": 2}
    argv, _ = worker_command(scheduler=None, scheduler_file="f.json", gpus=1, jobs=2)
    assert argv[argv.index("--resources") + 1] == "CPU=2 GPU=1" and argv[argv.index("--nthreads") + 1] == "3"
    with pytest.raises(ValueError, match="exactly one of"):
        worker_command(scheduler="tcp://a:1", scheduler_file="f", gpus=0)
    with pytest.raises(ValueError, match="at least one slot"):
        worker_command(scheduler="tcp://a:1", scheduler_file=None, gpus=0, jobs=0)
    with pytest.raises(ValueError, match="needs --scheduler"):
        make_executor("dask")
    with pytest.raises(ValueError, match="allowed executors are local, dask"):
        make_executor("ray")


def test_cli_options(tmp_path, capsys):
    from harness.cli import main

    a = find_assignment("detection")
    shutil.copytree(a.root / a.package, tmp_path / "subs" / "s1" / a.package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = main(["grade", "detection", str(tmp_path / "subs"), "--scheduler", "tcp://127.0.0.1:9",
                 "--store", str(tmp_path / "s.sqlite"), "--reports", str(tmp_path / "r")])
    assert code == 2 and "--scheduler/--scheduler-file need --executor dask" in capsys.readouterr().err
    code = main(["grade", "detection", str(tmp_path / "subs"), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9",
                 "--tls-cert", "c.pem", "--store", str(tmp_path / "s.sqlite"), "--reports", str(tmp_path / "r")])
    assert code == 2 and "TLS needs all of" in capsys.readouterr().err
    assert main(["worker", "--scheduler", "tcp://s:8786", "--gpus", "1", "--name", "g1", "--print-command"]) == 0
    out = capsys.readouterr().out
    assert "distributed.cli.dask_worker tcp://s:8786" in out and "--resources GPU=1" in out and '"name": "g1"' in out
