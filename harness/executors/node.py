"""The grading node: what runs inside a Dask worker (``cv3 worker`` preloads this module).

A Dask task carries a trusted job description (:func:`harness.executors.dask.job_for`): the
assignment and the digest of its manifest, tests and reference, the course key's id, the
submission's content hash with its files (or a path on shared storage), the limits, whether it
needs a GPU. :func:`run_job` is harness code only: it writes the submission into a private
folder, checks it against the hash, checks that this node holds the same assignment and course
key as the coordinator, and hands it to one of the node's grading processes
(harness/executors/grader.py), which starts the sandbox configured on this node (bubblewrap or
Docker). Student code never runs in the Dask worker's process. The reply is the result record
as JSON; the node never writes a results store.

The node's own settings come from ``cv3 worker`` through the environment (``CV3_NODE``, JSON):
``name``, ``root`` (the course checkout on this node), ``backend``/``image``/``isolation``/
``accept_no_cgroups`` (the sandbox here), ``gpus`` (GPU slots), ``speed_lock`` (the node's speed
lane: one speed measurement at a time on this machine, whichever job it belongs to).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NODE_ENV = "CV3_NODE"
TOPIC = "cv3-jobs"  # worker events the coordinator follows: job started on a node
_DIGEST_TTL_S = 30.0


class JobRefused(Exception):
    """This node cannot grade the job (a different assignment version or course key, files that
    do not match their hash): a failure of the machinery, never the student's."""


def node_config() -> dict:
    try:
        return json.loads(os.environ.get(NODE_ENV, "") or "{}")
    except ValueError:
        return {}


def node_speed_lock(config: dict | None = None) -> str:
    config = node_config() if config is None else config
    return config.get("speed_lock") or str(Path(tempfile.gettempdir()) / f"cv3-speed-lane-{os.getuid()}.lock")


def tree_digest(*roots: Path) -> str:
    """sha256 over every file under ``roots`` (names and contents; caches and dotfiles left out)."""
    h = hashlib.sha256()
    for root in roots:
        root = Path(root)
        if not root.exists():
            h.update(b"missing\0")
            continue
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root)
            if not f.is_file() or "__pycache__" in rel.parts or any(p.startswith(".") for p in rel.parts):
                continue
            data = f.read_bytes()
            h.update(str(rel).encode() + b"\0" + len(data).to_bytes(8, "little"))
            h.update(data)
        h.update(b"\1")
    return h.hexdigest()


def assignment_digest(assignment) -> str:
    """What a node must hold identically to the coordinator: the manifest and public tests
    (assignments/<name>) and the reference with its hidden tests (reference/<name>)."""
    return tree_digest(assignment.root, assignment.reference_root)


def course_key_id() -> str | None:
    """The id of the course key in use here (None: there is none; never creates one)."""
    from harness import secret

    try:
        return secret.key_id(secret.read_key())
    except (FileNotFoundError, secret.CourseKeyError):
        return None


# -- per worker process state --------------------------------------------------------------------

class _Grader:
    """One grading process (harness.executors.grader) and its pipe."""

    def __init__(self, env: dict) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "harness.executors.grader"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
        self.cold = True  # its first job pays for starting it (and its grading context)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def grade(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise JobRefused(f"the grading process on this node died (exit code {code})")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class _Node:
    """This worker process's grading processes (at most one per job slot, reused across jobs),
    its GPU slots and its digest cache."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[tuple, list[_Grader]] = {}
        self.config = node_config()
        self.free_gpus = list(range(int(self.config.get("gpus", 0) or 0)))
        self.digests: dict[tuple, tuple[float, str]] = {}

    def digest(self, assignment) -> str:
        key = (assignment.name, str(assignment.root))
        with self.lock:
            hit = self.digests.get(key)
        if hit and time.monotonic() - hit[0] < _DIGEST_TTL_S:
            return hit[1]
        value = assignment_digest(assignment)
        with self.lock:
            self.digests[key] = (time.monotonic(), value)
        return value

    def acquire(self, key: tuple, gpu: bool) -> tuple[_Grader, int | None]:
        with self.lock:
            gpu_index = None
            if gpu and self.free_gpus:
                gpu_index = self.free_gpus.pop(0)
            pool = self.idle.setdefault((*key, gpu_index), [])
            while pool:
                g = pool.pop()
                if g.alive():
                    g.cold = False
                    return g, gpu_index
        env = dict(os.environ)
        if gpu_index is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(gpu_index)
        return _Grader(env), gpu_index

    def release(self, key: tuple, grader: _Grader, gpu_index: int | None, *, keep: bool) -> None:
        with self.lock:
            if gpu_index is not None:
                self.free_gpus.append(gpu_index)
            if keep and grader.alive():
                self.idle.setdefault((*key, gpu_index), []).append(grader)
                return
        grader.close()

    def close(self) -> None:
        with self.lock:
            graders = [g for pool in self.idle.values() for g in pool]
            self.idle = {}
        for g in graders:
            g.close()


_NODE: _Node | None = None
_NODE_LOCK = threading.Lock()


def _node() -> _Node:
    global _NODE
    with _NODE_LOCK:
        if _NODE is None:
            _NODE = _Node()
        return _NODE


def _worker_identity() -> tuple[str, str, object]:
    """(node name, worker address, the Dask worker or None outside one)."""
    try:
        from distributed import get_worker

        w = get_worker()
        return (node_config().get("name") or str(w.name) or w.address), w.address, w
    except (ImportError, ValueError):
        return platform.node(), "", None


def _event(worker, msg: dict) -> None:
    if worker is not None:
        try:
            worker.log_event(TOPIC, msg)
        except Exception:  # noqa: BLE001 - progress only
            pass


def _materialize(job: dict, dest: Path) -> Path:
    """The submission's files in ``dest/submission`` (from the job's bytes or shared storage),
    checked against the content hash the coordinator computed."""
    from harness.submissions import content_hash

    sub = dest / "submission"
    if job.get("files") is not None:
        for rel, data in job["files"]:
            parts = Path(rel).parts
            if Path(rel).is_absolute() or ".." in parts or not parts:
                raise JobRefused(f"the job's file name {rel!r} points outside the submission")
            target = sub / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    else:
        src = Path(job["path"])
        if not src.is_dir():
            raise JobRefused(f"{src} is not readable on this node (shared storage not mounted?)")
        shutil.copytree(src, sub, symlinks=False)
    got = content_hash(sub)
    if got != job["sha256"]:
        raise JobRefused(f"the submission's files do not match their hash (expected {job['sha256'][:12]}, "
                         f"got {got[:12]})")
    for dirpath, _dirnames, filenames in os.walk(sub):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    return sub


def run_job(job: dict) -> str:
    """Grade one job on this node; returns JSON: ``{"ok": true, "result": {...}, "node": ...}``,
    or ``{"ok": false, "error": ..., "node": ...}`` when the machinery failed (never a score)."""
    from harness.manifest import find_assignment
    from harness.tmp import scratch_dir

    name, address, worker = _worker_identity()
    key = None
    if worker is not None:
        try:
            key = str(worker.get_current_task())
        except Exception:  # noqa: BLE001
            key = None
    _event(worker, {"event": "start", "job": job["job_id"], "key": key, "node": name, "worker": address,
                    "submission": job["submission_id"], "time": time.time()})
    node = _node()
    config = node.config
    t0 = time.perf_counter()
    folder = scratch_dir("node")
    reply: dict = {"node": name, "worker": address, "host": platform.node()}
    try:
        root = config.get("root") or job.get("root")
        if root and not (Path(root) / "assignments" / job["assignment"]).is_dir():
            root = config.get("root")  # the coordinator's path is not on this node
        a = find_assignment(job["assignment"], Path(root) if root else None)
        if node.digest(a) != job["assignment_digest"]:
            raise JobRefused(f"this node's copy of '{a.name}' ({a.root.parent.parent}) differs from the "
                             "coordinator's (manifest, tests or reference): update the course checkout on "
                             "every node to the same version")
        here = course_key_id()
        if job.get("course_key_id") and here != job["course_key_id"]:
            raise JobRefused(f"this node's course key ({here or 'none'}) is not the coordinator's "
                             f"({job['course_key_id']}): give every node the same key file "
                             "(CV3_COURSE_KEY_FILE)")
        sub = _materialize(job, folder)
        options = dict(job["sandbox"])
        for k in ("backend", "image", "isolation", "accept_no_cgroups"):
            if config.get(k) is not None:
                options[k] = config[k]  # the sandbox as configured on this node
        request = {
            "assignment": a.name, "root": str(a.root.parent.parent),
            "options": {"sandbox": options, "speed": job["speed"], "speed_lock": node_speed_lock(config),
                        # a node may pin its device (config "device"; e.g. "cpu" for a simulated GPU slot)
                        "device": config.get("device") or ("cuda" if job["needs_gpu"] else "cpu")},
            "staged": {"id": job["submission_id"], "path": str(sub), "sha256": job["sha256"],
                       "folder": str(folder)},
        }
        grader_key = (a.name, request["root"], json.dumps(request["options"], sort_keys=True))
        grader, gpu_index = node.acquire(grader_key, job["needs_gpu"])
        ok = False
        try:
            answer = grader.grade(request)
            ok = answer.get("ok", False)
        finally:
            node.release(grader_key, grader, gpu_index, keep=ok)
        if not ok:
            raise JobRefused(f"the grading process failed: {answer.get('error')}")
        result = answer["result"]
        result.setdefault("environment", {}).update({"executor": "dask", "node": name, "worker": address})
        result.setdefault("timings", {})["node_cold"] = int(grader.cold)
        if gpu_index is not None:
            result["environment"]["gpu_slot"] = gpu_index
        reply.update(ok=True, result=result)
    except JobRefused as e:
        reply.update(ok=False, error=str(e))
    except Exception as e:  # noqa: BLE001 - a bug of the machinery: an error, never a score
        reply.update(ok=False, error=f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    reply["node_s"] = round(time.perf_counter() - t0, 3)
    _event(worker, {"event": "done", "job": job["job_id"], "key": key, "node": name, "ok": reply.get("ok", False),
                    "time": time.time()})
    return json.dumps(reply)


# -- `dask worker --preload harness.executors.node` ----------------------------------------------

def dask_setup(worker) -> None:
    """Preload hook: sweep what dead graders left here and close the grading processes with the
    worker."""
    from harness.tmp import sweep_stale

    sweep_stale()
    worker.cv3_node = _node()


def dask_teardown(worker) -> None:
    if _NODE is not None:
        _NODE.close()
