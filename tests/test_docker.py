"""The Docker backend, end to end: real containers from the grading image.

Skipped as a whole when no Docker engine answers. The grading image ``cv3-grader:latest`` is
built (offline: debootstrap + docker import, ~4 minutes) only when it is missing and this runs as
root with debootstrap; a file lock keeps two pytest-xdist workers from building it twice.

What is checked: the reference scores full marks and the stub zero in containers; the container
flags hold from the inside (non-root, read-only root, no network, no capabilities,
no-new-privileges, the manifest's memory and process limits, no host files); hostile submissions
score zero and leave the next one graded normally; no container outlives its grader, also after
SIGTERM; leftovers of a dead grader are swept; ``--gpus`` without a GPU is refused clearly.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.grading.grade import Grader
from harness.sandbox.docker_backend import LABEL, DockerSandbox, DockerUnavailable, docker_client
from harness.store import ResultStore
from harness.submissions import SubmissionSource
from tests.conftest import ROOT, write_package
from tests.test_hostile import attack, earned

try:
    CLIENT = docker_client()
except DockerUnavailable as _e:
    print(f"\ntests/test_docker.py skipped: {_e}", file=sys.stderr)
    pytest.skip(f"no Docker engine: {_e}", allow_module_level=True)

IMAGE = os.environ.get("CV3_TEST_IMAGE", "cv3-grader:latest")
LOCK = Path("/tmp/cv3-grader-image.build.lock")
A = "detection"
REFERENCE = ROOT / "reference" / A / A
STUB = ROOT / "assignments" / A / A
ME = str(os.getpid())


# -- fixtures ---------------------------------------------------------------------------------
def _image_exists() -> bool:
    from harness.sandbox.image import image_exists

    return image_exists(IMAGE)


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The grading image; built once per session (under a lock shared by xdist workers)."""
    if _image_exists():
        return IMAGE
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        pytest.skip(f"the grading image {IMAGE} is missing and cannot be built here: offline builds "
                    "need root and debootstrap (run `cv3 image build --offline` first)")
    from harness.sandbox.image import ImageBuildError, build_image

    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits here while one builds
        try:
            if not _image_exists():  # built by another worker while we waited?
                lock.write(f"{time.time():.0f} pid {os.getpid()} builds {IMAGE}\n")
                lock.flush()
                try:
                    build_image(tag=IMAGE, offline=True, log=lambda line: print(line, file=sys.stderr))
                except ImageBuildError as e:
                    pytest.fail(f"building {IMAGE} failed: {e}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return IMAGE


@pytest.fixture(scope="module")
def docker_sandbox(assignment, docker_image):
    sb = DockerSandbox(limits=assignment.limits, image=docker_image)
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def docker_grader(assignment, docker_sandbox):
    g = Grader(assignment, sandbox=docker_sandbox)
    yield g
    g.close()


@pytest.fixture
def dgrade(docker_grader, tmp_path):
    """dgrade(files, base=None, tasks=('iou',), speed=False, name=...) -> SubmissionResult"""

    def run(files: dict[str, str], *, base: Path | None = None, tasks=("iou",), speed: bool = False,
            name: str = "student"):
        sub = write_package(tmp_path / name, files, base)
        docker_grader.only_tasks = set(tasks) if tasks else None
        docker_grader.speed_enabled = speed
        try:
            return docker_grader.grade(SubmissionSource(name, sub))
        finally:
            docker_grader.only_tasks = None
            docker_grader.speed_enabled = True

    return run


def messages(result) -> str:
    return "\n".join(c.message for t in result.tasks for c in t.checks)


def own_containers(pid: str = ME) -> list:
    # ignore_removed: the reaper may remove a container between the list and its inspect
    return [c for c in CLIENT.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True)
            if c.labels.get("cv3.owner_pid") == pid]


def cv3(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


# -- 1. full marks and zero ---------------------------------------------------------------------
def test_reference_full_marks_in_a_container(dgrade):
    r = dgrade({}, base=REFERENCE, tasks=None, speed=True, name="reference")
    assert r.status == "graded", r.error
    assert r.score == pytest.approx(r.max_score), messages(r)[:2000]
    assert any(t.id.startswith("speed") or any(c.kind == "speed" for c in t.checks) for t in r.tasks)
    assert r.sandbox["backend"] == "docker"
    assert r.sandbox["image"] == IMAGE
    assert r.sandbox["image_digest"].startswith("sha256:")
    assert r.sandbox["network_isolated"] and r.sandbox["filesystem_isolated"]


def test_stub_scores_zero_in_a_container(dgrade):
    r = dgrade({}, base=STUB, tasks=None, name="stub")
    assert r.score == 0
    assert sum(len(t.checks) for t in r.tasks) > 20  # every test ran and failed


# -- 2. the container's flags, seen from inside -----------------------------------------------------
PROBE = '''
import os, socket


def _fails(fn):
    try:
        fn()
        return False
    except OSError:
        return True


def _write(path):
    with open(path, "w") as f:
        f.write("x")


def _status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return None


def _first(*paths):
    for p in paths:
        try:
            return open(p).read().strip()
        except OSError:
            pass
    return None


def _connect():
    s = socket.create_connection(("1.1.1.1", 80), timeout=2)
    s.close()


def facts():
    return {
        "uid": os.getuid(), "gid": os.getgid(), "euid": os.geteuid(),
        "root_write_fails": _fails(lambda: _write("/x")),
        "submission_write_fails": _fails(lambda: _write("/submission/x")),
        "home_write_fails": _fails(lambda: _write("x")),
        "connect_fails": _fails(_connect),
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "cap_eff": _status("CapEff"), "cap_prm": _status("CapPrm"), "cap_bnd": _status("CapBnd"),
        "no_new_privs": _status("NoNewPrivs"),
        "memory_limit": _first("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"),
        "swap_limit": _first("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
                             "/sys/fs/cgroup/memory.swap.max"),
        "pids_limit": _first("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"),
        "repo_visible": os.path.exists("/work/main") or os.path.exists("/work"),
        "reference_visible": os.path.exists("/work/main/reference"),
        "docker_socket_visible": os.path.exists("/var/run/docker.sock"),
        "cwd": os.getcwd(),
        "env_keys": sorted(os.environ),
    }
'''


def test_container_flags_from_inside(assignment, docker_sandbox, tmp_path):
    staged = write_package(tmp_path / "probe_sub", {"probe/__init__.py": PROBE})
    for dirpath, _, files in os.walk(staged):  # readable by the container's user
        os.chmod(dirpath, 0o755)
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o644)
    worker = docker_sandbox.start_worker(staged)
    cid = worker.container.id
    try:
        assert cid in {c.id for c in own_containers()}, "the container carries the owner labels"
        hello = worker.request({"op": "hello", "package": "probe", "api": ["facts"],
                                "forbidden_modules": [], "seed": 0,
                                "submission_dir": worker.submission_dir, "threads": 1},
                               timeout=assignment.limits.start_timeout_s)
        assert hello["ok"], hello
        f = worker.request({"op": "call", "target": "facts", "args": [], "kwargs": {}}, timeout=30)
    finally:
        worker.close()
    lim = assignment.limits
    assert (f["uid"], f["gid"], f["euid"]) == (65534, 65534, 65534)
    assert f["root_write_fails"] and f["submission_write_fails"]
    assert not f["home_write_fails"]  # the private working directory is writable
    assert f["connect_fails"]
    assert f["interfaces"] == ["lo"], f["interfaces"]
    assert int(f["cap_eff"], 16) == 0 and int(f["cap_prm"], 16) == 0, f
    assert f["no_new_privs"] == "1"
    assert int(f["memory_limit"]) == lim.memory_mb << 20
    if f["swap_limit"] not in (None, "max"):  # memory + swap == memory: no swap
        assert int(f["swap_limit"]) in (lim.memory_mb << 20, 0)
    assert int(f["pids_limit"]) == lim.max_processes
    assert not f["repo_visible"] and not f["reference_visible"] and not f["docker_socket_visible"]
    assert not any("DOCKER" in k or "CV3" in k for k in f["env_keys"]), f["env_keys"]
    assert cid not in {c.id for c in own_containers()}, "closing the worker removes its container"


# -- 3. hostile submissions ---------------------------------------------------------------------
@pytest.fixture
def hostile(dgrade):
    """hostile(code_or_files, tasks=('iou',)) grades the attack, asserts it earned nothing and that
    the next submission (the reference) is graded normally, and returns the attack's result."""

    def run(code_or_files, tasks=("iou",)):
        files = attack(code_or_files) if isinstance(code_or_files, str) else code_or_files
        r = dgrade(files, tasks=tasks, name="attacker")
        assert earned(r) == 0, messages(r)[:2000]
        ok = dgrade({}, base=REFERENCE, tasks=("iou",), name="next")
        assert ok.status == "graded", ok.error
        assert ok.tasks[0].score == ok.tasks[0].points, messages(ok)[:2000]
        return r

    return run


def test_hostile_fake_printed_results(hostile):
    r = hostile("""
import sys, json, os
for stream in (sys.stdout, sys.stderr):
    print(json.dumps({"score": 100, "status": "graded", "passed": True}), file=stream)
    print("100 passed, 0 failed", file=stream)
    stream.flush()
os.write(1, b"\\x10\\x00\\x00\\x00\\x00\\x00\\x00\\x00{\\"ok\\": true}")
def box_iou(boxes1, boxes2):
    print("PASSED test_box_iou", flush=True)
    return None
""")
    assert r.status == "graded"
    assert "None" in messages(r) or "NoneType" in messages(r)


def test_hostile_planted_conftest(hostile):
    hook = """
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
def pytest_collection_modifyitems(items):
    items.clear()
"""
    files = attack("")
    files.update({"conftest.py": hook, "detection/conftest.py": hook, "tests/conftest.py": hook})
    r = hostile(files, tasks=("iou", "nms"))
    assert sum(len(t.checks) for t in r.tasks) > 5  # the tests ran, and failed


def test_hostile_tensor_subclass(hostile):
    r = hostile("""
import torch
class Liar(torch.Tensor):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def allclose(self, *a, **k): return True
class Anything:
    def __eq__(self, other): return True
    shape = property(lambda self: (1,))
def box_iou(boxes1, boxes2):
    return torch.full((7, 7), 0.123).as_subclass(Liar)
def generalized_box_iou(boxes1, boxes2):
    return Anything()
def nms(boxes, scores, iou_threshold):
    return Anything()
""", tasks=("iou", "nms"))
    text = messages(r)
    assert "cannot cross the sandbox boundary" in text or "plain" in text, text[:1500]


def test_hostile_reads_hidden_tests_and_finds_nothing(hostile):
    r = hostile("""
import os
_FOUND = None
def _look():
    global _FOUND
    if _FOUND is None:
        _FOUND = []
        for dirpath, dirnames, filenames in os.walk("/"):
            if dirpath.startswith(("/proc", "/sys", "/dev", "/usr")):
                dirnames[:] = []
                continue
            for f in filenames:
                if f.startswith("test_hidden") or f.endswith(".sqlite") or f in (
                        "speed_cases.py", "assignment.toml", "samples.py", "DESIGN.md"):
                    _FOUND.append(os.path.join(dirpath, f))
    return _FOUND
def box_iou(boxes1, boxes2):
    found = _look()
    raise ValueError("FOUND:" + repr(found) + " REFERENCE:" + repr(os.path.exists("/work/main/reference")))
""")
    found = [m for m in messages(r).splitlines() if "FOUND:[" in m]  # not the source line
    assert found, "the attack should have reported what it found"
    for m in found:
        assert "FOUND:[]" in m and "REFERENCE:False" in m, m


def _bridge_gateway() -> str:
    try:
        cfg = CLIENT.networks.get("bridge").attrs["IPAM"]["Config"][0]
        if cfg.get("Gateway"):
            return cfg["Gateway"]
        return str(next(ipaddress.ip_network(cfg["Subnet"]).hosts()))
    except Exception:  # noqa: BLE001 - the default bridge
        return "172.17.0.1"


def test_hostile_network_connection(hostile):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))  # reachable from an ordinary container through the bridge
    server.listen(4)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connected, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                connected.append(conn)
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        r = hostile(f"""
import socket
def box_iou(boxes1, boxes2):
    errors = []
    for host in ({_bridge_gateway()!r}, "1.1.1.1", "127.0.0.1"):
        try:
            s = socket.create_connection((host, {port} if host != "1.1.1.1" else 80), timeout=2)
            s.sendall(b"score=100")
            raise ValueError("CONNECTED to " + host)
        except OSError as e:
            errors.append(host + ": " + type(e).__name__)
    raise ValueError("NET:" + "; ".join(errors))
""")
    finally:
        stop.set()
        thread.join()
        server.close()
    assert not connected
    text = messages(r)
    assert "CONNECTED" not in text
    assert re.search(r"NET:\d", text) or re.search(r"NET:[0-9a-f.:]+: ", text), text[:1500]


def test_hostile_fills_the_disk(hostile, assignment):
    r = hostile("""
import os, torch
_WROTE = None
def _fill():
    global _WROTE
    if _WROTE is None:
        _WROTE = {}
        chunk = b"x" * (1 << 20)
        for where in ("/tmp", os.getcwd()):
            n = 0
            try:
                while n < 100000:
                    with open(os.path.join(where, f"fill_{n}"), "wb") as f:
                        f.write(chunk)
                    n += 1
            except OSError as e:
                _WROTE[where] = (n, type(e).__name__)
    return _WROTE
def box_iou(boxes1, boxes2):
    _fill()
    return torch.full((boxes1.shape[0] + 1, boxes2.shape[0]), -7.0)  # wrong shape and values
def generalized_box_iou(boxes1, boxes2):
    raise ValueError("DISK:" + repr(_fill()))
""")
    assert r.status == "graded"
    disk = [m for m in messages(r).splitlines() if "DISK:{" in m]
    assert disk, messages(r)[:1500]
    import ast

    wrote = ast.literal_eval(disk[0].split("DISK:", 1)[1].strip())
    assert len(wrote) == 2, wrote  # both writes stopped with an OSError
    for where, (n, err) in wrote.items():
        assert n <= assignment.limits.tmp_size_mb, (where, n, err)


def test_hostile_fork_bomb(hostile, assignment):
    r = hostile("""
import os, time
def box_iou(boxes1, boxes2):
    n = 0
    while True:
        try:
            pid = os.fork()
        except OSError as e:
            raise ValueError(f"FORKED {n} then {type(e).__name__}: {e}")
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        n += 1
        if n > 10000:
            raise ValueError("FORKED without limit")
""")
    forked = [m for m in messages(r).splitlines() if re.search(r"FORKED \d", m)]
    assert forked, messages(r)[:1500]
    first = forked[0].split("FORKED ", 1)[1]
    assert first.split()[0].isdigit(), first
    assert int(first.split()[0]) < assignment.limits.max_processes, first
    assert "Resource temporarily unavailable" in first or "BlockingIOError" in first, first


def test_hostile_memory_blow_up(hostile, assignment):
    r = hostile("""
import torch
def box_iou(boxes1, boxes2):
    hog = []
    while True:
        hog.append(torch.ones(256, 1024, 1024, dtype=torch.uint8))
""")
    assert f"memory limit of {assignment.limits.memory_mb} MB exceeded" in messages(r), messages(r)[:1500]


def test_hostile_sleeps_forever(hostile, assignment):
    r = hostile("""
import time
def box_iou(boxes1, boxes2):
    time.sleep(10 ** 6)
""")
    assert f"timed out after {assignment.limits.call_timeout_s:g} s" in messages(r), messages(r)[:1500]


def test_hostile_writes_outside_its_mount(hostile):
    r = hostile("""
import os
def box_iou(boxes1, boxes2):
    wrote = []
    for path in ("/etc/x", "/x", "/submission/x", "/submission/detection/boxes.py",
                 "/cv3_worker/worker.py", "/opt/cv3/x"):
        try:
            with open(path, "w") as f:
                f.write("score = 100")
            wrote.append(path)
        except OSError:
            pass
    raise ValueError("WROTE:" + repr(wrote))
""")
    lines = [m for m in messages(r).splitlines() if "WROTE:[" in m]
    assert lines and all("WROTE:[]" in m for m in lines), lines[:3]


def test_hostile_kills_its_parent(hostile):
    r = hostile("""
import os, signal
def box_iou(boxes1, boxes2):
    for pid in (os.getppid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    raise ValueError("still here")
""")
    assert r.status == "graded"
    assert "still here" in messages(r)  # the worker is pid 1 of its container: it survives too


# -- 4. no container outlives its grader --------------------------------------------------------
def test_no_leftover_containers(docker_grader):
    docker_grader.close()  # the baseline worker of the speed checks (restarted on demand)
    deadline = time.monotonic() + 10
    while own_containers() and time.monotonic() < deadline:
        time.sleep(0.5)
    left = own_containers()
    assert not left, [(c.name, c.status) for c in left]


# -- 5. SIGTERM in the middle of a batch --------------------------------------------------------
def test_sigterm_removes_containers_and_keeps_results(tmp_path, docker_image):
    subs = tmp_path / "subs"
    for name in ("s1", "s2", "s3"):
        shutil.copytree(REFERENCE, subs / name / A, ignore=shutil.ignore_patterns("__pycache__"))
    store_path = tmp_path / "results" / "cv3.sqlite"
    args = [A, str(subs), "--backend", "docker", "--image", docker_image, "--no-speed",
            "--store", str(store_path), "--reports", str(tmp_path / "reports")]
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "grade", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    first = threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line)
            if " 1/3 " in line:
                first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first.wait(180), "".join(lines)[-3000:]
        deadline = time.monotonic() + 10  # the second submission's container (each takes ~5 s)
        while not own_containers(str(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert own_containers(str(proc.pid)), "the second submission's container should be running"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    assert rc == 130, "".join(lines)[-3000:]
    assert "interrupted" in "".join(lines)
    deadline = time.monotonic() + 5
    while own_containers(str(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = own_containers(str(proc.pid))
    assert not left, [(c.name, c.status) for c in left]

    stored = ResultStore(store_path).all(A)
    assert [r.submission_id for r in stored] == ["s1"]
    first_result = stored[0]
    assert first_result.status == "graded" and first_result.score == first_result.max_score

    again = cv3("grade", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "graded 2, skipped 1" in again.stdout, again.stdout
    after = {r.submission_id: r for r in ResultStore(store_path).all(A)}
    assert sorted(after) == ["s1", "s2", "s3"]
    assert after["s1"].finished_at == first_result.finished_at  # not regraded
    assert all(r.score == r.max_score for r in after.values())


def _descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(16):
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])  # field 4: ppid
        except (OSError, ValueError, IndexError):
            return False
        if pid <= 1:
            return False
    return False


def test_sigterm_with_jobs_removes_the_pool_containers(tmp_path, docker_image):
    """--jobs 2: the containers belong to pool processes; SIGTERM kills those and sweeps."""
    subs = tmp_path / "subs"
    for name in ("s1", "s2", "s3", "s4"):
        shutil.copytree(REFERENCE, subs / name / A, ignore=shutil.ignore_patterns("__pycache__"))
    store_path = tmp_path / "results" / "cv3.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "grade", A, str(subs), "--backend", "docker",
                             "--image", docker_image, "--no-speed", "--jobs", "2", "--store", str(store_path),
                             "--reports", str(tmp_path / "reports")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        owners: set[str] = set()
        deadline = time.monotonic() + 120
        while len(owners) < 2 and time.monotonic() < deadline and proc.poll() is None:
            owners = {c.labels.get("cv3.owner_pid", "") for c in
                      CLIENT.containers.list(filters={"label": LABEL}, ignore_removed=True)
                      if c.labels.get("cv3.owner_pid", "").isdigit()
                      and _descends_from(int(c.labels["cv3.owner_pid"]), proc.pid)}
            time.sleep(0.2)
        assert len(owners) == 2, "two pool processes should each run a container"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [c for o in owners for c in own_containers(o)]
        if not left:
            break
        time.sleep(0.5)
    assert not left, [(c.name, c.status, c.labels) for c in left]
    stored = ResultStore(store_path).all(A) if store_path.exists() else []
    assert all(r.status == "graded" and r.score == r.max_score for r in stored)  # nothing partial


# -- 6. sweeping leftovers of a dead grader ------------------------------------------------------
def _dead_pid() -> int:
    pid = 999999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


def test_remove_leftovers_keeps_live_owners(docker_sandbox, docker_image):
    from harness.sandbox.docker_backend import remove_leftovers

    host = os.uname().nodename
    cmd = [docker_sandbox.image_python, "-c", "import time; time.sleep(60)"]
    made = []
    try:
        for owner in (str(_dead_pid()), ME):
            c = CLIENT.containers.create(docker_image, command=cmd, network_mode="none",
                                         labels={LABEL: "1", "cv3.owner_pid": owner, "cv3.owner_host": host})
            c.start()
            made.append(c)
        dead, live = made
        removed = remove_leftovers(CLIENT)
        assert live.name not in removed
        live.reload()
        assert live.status == "running"
        with pytest.raises(Exception, match="(?i)no such container|not found|404"):
            CLIENT.containers.get(dead.id)
    finally:
        for c in made:
            try:
                c.remove(force=True)
            except Exception:  # noqa: BLE001 - already removed
                pass


# -- 7. --gpus on a machine without a GPU ------------------------------------------------------------
def test_gpus_without_a_gpu_is_refused(tmp_path, docker_image):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    sub = tmp_path / "subs" / "s1"
    shutil.copytree(REFERENCE, sub / A, ignore=shutil.ignore_patterns("__pycache__"))
    store_path = tmp_path / "results" / "cv3.sqlite"
    p = cv3("grade", A, str(sub), "--backend", "docker", "--image", docker_image, "--gpus", "--no-speed",
            "--store", str(store_path), "--reports", str(tmp_path / "reports"), cwd=tmp_path)
    assert p.returncode == 2, (p.stdout + p.stderr)[-3000:]
    assert "GPU" in p.stderr and "--gpus" in p.stderr, p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    assert not store_path.exists() or not ResultStore(store_path).all(A)  # nothing graded on the CPU


def test_sigkill_of_the_grader_leaves_no_container_running(tmp_path, docker_image):
    """SIGKILL runs no cleanup in the grader: a watchdog outside its process group removes the
    containers labelled with its pid, within seconds."""
    subs = tmp_path / "subs"
    for name in ("s1", "s2"):
        shutil.copytree(REFERENCE, subs / name / A, ignore=shutil.ignore_patterns("__pycache__"))
    args = [A, str(subs), "--backend", "docker", "--image", docker_image, "--no-speed",
            "--store", str(tmp_path / "results" / "cv3.sqlite"), "--reports", str(tmp_path / "reports")]
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "grade", *args], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not own_containers(str(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert own_containers(str(proc.pid)), "a container should be running"
        proc.kill()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 10
    while own_containers(str(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = own_containers(str(proc.pid))
    assert not left, [(c.name, c.status) for c in left]
