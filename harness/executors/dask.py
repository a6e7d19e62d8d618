"""The Dask executor: grade on the nodes of a Dask cluster (``cv3 grade --executor dask``).

    cv3 grade detection submissions/ --executor dask --scheduler tls://sched:8786 \\
        --tls-ca-file ca.pem --tls-cert coordinator.pem --tls-key coordinator.key
    cv3 worker --scheduler tls://sched:8786 [--gpus 1] [--jobs 2] ...     (on each grading node)

This process is the coordinator: it stages and hashes each submission, claims it in the store,
sends a trusted job description to the cluster (:func:`job_for`; the submission's files go with
it as bytes checked against the hash on the node, or stay on shared storage with ``ship="path"``),
and stores each result record as it arrives. The nodes run harness code only
(:func:`harness.executors.node.run_job`), which starts the sandbox there; they never write the
store.

Scheduling: a job asks for one unit of the ``CPU`` resource, or of ``GPU`` when it needs a GPU
(``--gpus``), so GPU jobs land only on nodes started with ``cv3 worker --gpus N`` and CPU jobs
never take a GPU slot. The coordinator keeps as many jobs in flight as the cluster has slots of
that resource (prefetch 1: a node holds the job it grades and no queue), and a node's speed
checks take its speed lane (one measurement at a time per machine).

Faults: a node that dies mid-job has its job rerun elsewhere (by Dask's scheduler up to its
``allowed-failures``, then by this coordinator up to ``max_retries``); the number of reruns is
recorded in the result (``environment.retries``) and a submission is stored once. A submission
that exceeds its limits is graded (zero on what it affects), not retried. A scheduler that goes
away stops the batch with :class:`~harness.executors.base.ExecutorLost`; what was stored stays,
and a rerun resumes.

Dask nodes trust each other (the scheduler runs whatever a client sends): run the scheduler and
workers on the course's own machines, with TLS (:func:`security`).
"""

from __future__ import annotations

import collections
import gc
import json
import queue
import re
import threading
import time
import uuid
from pathlib import Path

from harness.executors.base import Executor, ExecutorLost, job_failure, needs_gpu
from harness.results import SubmissionResult
from harness.submissions import StagedSubmission

_INSTALL = "the dask executor needs the 'dask' extra: pip install 'cv3-harness[dask]'"


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ExecutorLost(_INSTALL) from None
    return distributed


def security(*, ca_file: str | None = None, cert: str | None = None, key: str | None = None):
    """Dask ``Security`` for TLS with these files (all three, or none: Dask's own configuration,
    ``distributed.comm.tls.*``, applies)."""
    given = [x for x in (ca_file, cert, key) if x]
    if not given:
        return None
    if len(given) != 3:
        raise ValueError("TLS needs all of --tls-ca-file, --tls-cert and --tls-key")
    for p in given:
        if not Path(p).is_file():
            raise ValueError(f"TLS file {p} not found")
    from distributed.security import Security

    return Security(tls_ca_file=ca_file, tls_client_cert=cert, tls_client_key=key,
                    tls_worker_cert=cert, tls_worker_key=key, require_encryption=True)


def job_for(assignment, staged: StagedSubmission, *, job_id: str, digest: str, key_id: str | None,
            sandbox_options: dict, speed: bool, gpu: bool, ship: str) -> dict:
    """The trusted description of one grading job (plain values only)."""
    job = {
        "job_id": job_id, "assignment": assignment.name, "root": str(assignment.root.parent.parent),
        "assignment_digest": digest, "course_key_id": key_id,
        "submission_id": staged.id, "sha256": staged.sha256, "path": str(staged.path),
        "limits": {k: getattr(assignment.limits, k) for k in assignment.limits.__dataclass_fields__},
        "needs_gpu": gpu, "speed": speed,
        "sandbox": {k: v for k, v in sandbox_options.items() if k in ("backend", "isolation", "gpu", "image",
                                                                       "accept_no_cgroups", "cpus")},
        "files": None,
    }
    if ship == "bytes":
        job["files"] = [(str(f.relative_to(staged.path)), f.read_bytes())
                        for f in sorted(staged.path.rglob("*")) if f.is_file()]
    return job


class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, *, scheduler: str | None = None, scheduler_file: str | None = None, security=None,
                 client=None, ship: str = "bytes", max_retries: int = 1, connect_timeout_s: float = 30.0,
                 lost_after_s: float = 20.0, gpu: bool | None = None) -> None:
        if client is None and not (scheduler or scheduler_file):
            raise ValueError("the dask executor needs --scheduler ADDRESS or --scheduler-file PATH")
        if ship not in ("bytes", "path"):
            raise ValueError(f"ship={ship!r}: allowed are 'bytes' (sent with the job, checked against the "
                             "hash) and 'path' (shared storage)")
        self.scheduler, self.scheduler_file, self.security = scheduler, scheduler_file, security
        self.client, self._own_client = client, client is None
        self.ship, self.max_retries = ship, max_retries
        self.connect_timeout_s, self.lost_after_s = connect_timeout_s, lost_after_s
        self._futures: dict = {}  # future -> (staged, job, attempt)
        self._done: queue.Queue = queue.Queue()  # futures that finished, as they finish
        self._lock = threading.Lock()
        self._starts: collections.Counter = collections.Counter()  # job id -> times started on a node
        self._node_of: dict[str, str] = {}  # job id -> node it last started on
        self._done_ids: set[str] = set()
        self._lost_since: float | None = None
        self._slots, self._slots_at = 0, -1e9
        self._token = uuid.uuid4().hex[:8]
        self._gpu = gpu  # None: from --gpus or the assignment (harness.executors.base.needs_gpu)

    # -- setup -----------------------------------------------------------------------------------
    def where(self) -> str:
        if self.scheduler or self.scheduler_file:
            return self.scheduler or f"the scheduler in {self.scheduler_file}"
        try:
            return str(self.client.scheduler.address)
        except AttributeError:
            return "the given client's scheduler"

    def describe(self) -> str:
        return f"dask ({self.where()})"

    def start(self, assignment, *, sandbox_options, speed, speed_lock, out=None, many=True) -> None:
        super().start(assignment, sandbox_options=sandbox_options, speed=speed, speed_lock=speed_lock,
                      out=out, many=many)
        from harness.executors.node import TOPIC, assignment_digest, course_key_id

        distributed = _distributed()
        # per batch: a fresh token, so that one executor can grade several batches
        self._futures, self._done, self._starts = {}, queue.Queue(), collections.Counter()
        self._node_of, self._done_ids, self._lost_since = {}, set(), None
        self._sent: dict[str, float] = {}  # job id -> when it was last sent
        self._token = uuid.uuid4().hex[:8]
        if self.client is None:
            failure = None
            try:
                self.client = distributed.Client(self.scheduler, scheduler_file=self.scheduler_file,
                                                 security=self.security, timeout=self.connect_timeout_s,
                                                 set_as_default=False)
            except (OSError, TimeoutError, ValueError) as e:
                failure = f"{type(e).__name__}: {e}"
            if failure is not None:
                # the Client that failed to connect closes itself when collected; collected later,
                # inside one of distributed's own locks, that close deadlocks: collect it here
                gc.collect()
                raise ExecutorLost(f"cannot reach the Dask scheduler at {self.where()} ({failure}); start it "
                                   "(`dask scheduler`) and the grading nodes (`cv3 worker`), then rerun")
        self.gpu = needs_gpu(assignment, sandbox_options) if self._gpu is None else self._gpu
        self.resource = "GPU" if self.gpu else "CPU"
        self.digest = assignment_digest(assignment)
        self.key_id = course_key_id()
        self.client.subscribe_topic(TOPIC, self._on_event)
        slots = self.capacity(refresh=True)
        nodes = self._workers()
        self._say(f"grading on the Dask cluster at {self.where()}: {len(nodes)} node(s), {self._slots} "
                  f"{self.resource} slot(s)" + ("" if self._slots else
                                                f"; waiting for a node with a {self.resource} slot "
                                                f"(cv3 worker{' --gpus N' if self.gpu else ''})"))
        del slots

    def _say(self, line: str) -> None:
        if self.out:
            print(line, file=self.out, flush=True)

    def _workers(self) -> dict:
        try:
            return self.client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # noqa: BLE001 - a lost scheduler is noticed in collect()
            return {}

    def _on_event(self, event) -> None:
        _, msg = event if isinstance(event, tuple) else (None, event)
        if not isinstance(msg, dict) or msg.get("event") != "start":
            return
        with self._lock:
            job = msg.get("job")
            self._starts[job] += 1
            again = self._starts[job] > 1
            self._node_of[job] = msg.get("node", "?")
        if again:
            self._say(f"{msg.get('submission')}: started again on {msg.get('node')} (attempt {self._starts[job]})")

    # -- the executor interface -----------------------------------------------------------------
    def capacity(self, refresh: bool = False) -> int:
        now = time.monotonic()
        if refresh or now - self._slots_at > 2.0:
            workers = self._workers()
            if workers or refresh:
                self._slots = int(sum(float((w.get("resources") or {}).get(self.resource, 0))
                                      for w in workers.values()))
            self._slots_at = now
        return max(1, self._slots)

    def pending(self) -> int:
        return len(self._futures)

    def submit(self, staged: StagedSubmission, attempt: int = 0, job: dict | None = None) -> None:
        from harness.executors.node import run_job

        if job is None:
            job = job_for(self.assignment, staged, job_id=f"{staged.id}@{staged.sha256[:16]}-{self._token}",
                          digest=self.digest, key_id=self.key_id, sandbox_options=self.sandbox_options,
                          speed=self.speed, gpu=self.gpu, ship=self.ship)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", staged.id)[:60]
        key = f"cv3-{self.assignment.name}-{safe}-{self._token}-{attempt}"
        try:
            fut = self.client.submit(run_job, job, key=key, resources={self.resource: 1}, pure=False, retries=0)
        except Exception as e:  # noqa: BLE001 - a closed client: the scheduler is gone
            raise self._lost(e) from None
        self._futures[fut] = (staged, job, attempt)
        self._sent[job["job_id"]] = time.perf_counter()
        fut.add_done_callback(self._done.put)  # called in a thread of its own when it finishes

    def _lost(self, why=None) -> ExecutorLost:
        detail = f" ({type(why).__name__}: {why})" if why is not None else ""
        return ExecutorLost(f"lost the Dask scheduler at {self.where()}{detail}; every result that arrived "
                            "is stored. Restart the scheduler and the grading nodes, then rerun the same "
                            "command: it grades only what is missing")

    def _check_connection(self) -> None:
        status = getattr(self.client, "status", "running")
        if status == "running":
            self._lost_since = None
            return
        if status in ("closed", "closing", "failed") and self._lost_since is not None:
            raise self._lost()
        now = time.monotonic()
        if self._lost_since is None:
            self._lost_since = now
            self._say(f"the connection to the Dask scheduler at {self.where()} is down ({status}); "
                      f"waiting up to {self.lost_after_s:g} s for it")
        elif now - self._lost_since > self.lost_after_s:
            raise self._lost()

    def collect(self, timeout: float | None) -> list[tuple[StagedSubmission, SubmissionResult]]:
        if not self._futures:
            return []
        deadline = None if timeout is None else time.monotonic() + timeout
        done = []
        while not done:
            self._check_connection()
            step = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                done.append(self._done.get(timeout=step))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    return []
        while True:  # whatever else finished meanwhile
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                break
        out = []
        for fut in done:
            if fut not in self._futures:
                continue
            staged, job, attempt = self._futures.pop(fut)
            got = self._outcome(fut, staged, job, attempt)
            if got is not None:
                out.append((staged, got))
        return out

    def _outcome(self, fut, staged, job, attempt) -> SubmissionResult | None:
        """The result of a finished future, or None when it was sent again (a node died)."""
        distributed = _distributed()
        killed = getattr(distributed, "KilledWorker", None) or __import__(
            "distributed.scheduler", fromlist=["KilledWorker"]).KilledWorker
        status = fut.status
        try:
            if status == "cancelled" or getattr(self.client, "status", "running") != "running":
                raise self._lost()
            reply = fut.result()
        except ExecutorLost:
            raise
        except killed as e:  # the node(s) running it died more often than the scheduler retries
            last = getattr(getattr(e, "last_worker", None), "address", None) or "?"
            if attempt < self.max_retries:
                self._say(f"{staged.id}: the grading nodes running it died (last {last}); sending it again "
                          f"(attempt {attempt + 2})")
                self.submit(staged, attempt + 1, job)
                return None
            return self._record(job, job_failure(self.assignment, staged,
                                                 f"the grading nodes died {self._retries(job, attempt) + 1} "
                                                 f"time(s) while grading it (last {last})"), None, attempt)
        except Exception as e:  # noqa: BLE001 - a failure of the machinery: an error result, never a score
            if getattr(self.client, "status", "running") != "running":
                raise self._lost(e) from None
            return self._record(job, job_failure(self.assignment, staged,
                                                 f"the Dask task failed ({type(e).__name__}: {e})"), None, attempt)
        finally:
            fut.release()
        data = json.loads(reply)
        if not data.get("ok"):
            result = job_failure(self.assignment, staged,
                                 f"grading node {data.get('node', '?')} could not grade it: {data.get('error')}")
        else:
            result = SubmissionResult.from_dict(data["result"])
            result.timings["node_s"] = data.get("node_s", 0.0)
            # what the distributed path added to the grading unit: scheduling, shipping the files,
            # the node's checks, a cold grading process on the node's first job
            latency = time.perf_counter() - self._sent.get(job["job_id"], time.perf_counter())
            result.timings["dispatch_s"] = round(max(0.0, latency - result.timings.get("total_s", 0.0)), 3)
        return self._record(job, result, data, attempt)

    def _retries(self, job: dict, attempt: int) -> int:
        with self._lock:
            starts = self._starts.get(job["job_id"], 0)
        return max(attempt, starts - 1)

    def _record(self, job: dict, result: SubmissionResult, data: dict | None, attempt: int = 0) -> SubmissionResult:
        if job["job_id"] in self._done_ids:  # never hand one submission to the store twice
            return None
        self._done_ids.add(job["job_id"])
        env = result.environment
        env["executor"] = "dask"
        env["retries"] = self._retries(job, attempt)
        if data is not None:
            env.setdefault("node", data.get("node"))
        elif job["job_id"] in self._node_of:
            env.setdefault("node", self._node_of[job["job_id"]])
        return result

    def close(self, *, abort: bool = False) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if self._futures:
                try:
                    client.cancel(list(self._futures), force=True)
                except Exception:  # noqa: BLE001 - the scheduler may be gone
                    pass
            self._futures = {}
            try:
                from harness.executors.node import TOPIC

                client.unsubscribe_topic(TOPIC)
            except Exception:  # noqa: BLE001
                pass
        finally:
            if self._own_client:
                try:
                    client.close(timeout=5)
                except Exception:  # noqa: BLE001 - closing a client of a dead scheduler
                    pass
            else:
                self.client = client  # a caller's client stays usable (tests, notebooks)


def worker_command(*, scheduler: str | None, scheduler_file: str | None, gpus: int = 0, jobs: int | None = None,
                   name: str | None = None, backend: str | None = None, image: str | None = None,
                   isolation: str | None = None, accept_no_cgroups: bool | None = None, device: str | None = None,
                   tls: tuple = (None, None, None), extra: list[str] | None = None) -> tuple[list[str], dict]:
    """The ``dask worker`` command line and environment of ``cv3 worker``: one worker process
    with a thread per slot, resources ``CPU=jobs`` and ``GPU=gpus``, the harness preloaded
    (harness.executors.node) and this node's settings in ``CV3_NODE``."""
    import json
    import os
    import platform
    import sys

    if bool(scheduler) == bool(scheduler_file):
        raise ValueError("give exactly one of --scheduler ADDRESS and --scheduler-file PATH")
    if gpus < 0:
        raise ValueError(f"--gpus {gpus}: must be 0 or more")
    jobs = (0 if gpus else 1) if jobs is None else jobs
    if jobs < 0 or jobs + gpus < 1:
        raise ValueError(f"--jobs {jobs} with --gpus {gpus}: a node needs at least one slot")
    ca, cert, key = tls
    if any(tls) and not all(tls):
        raise ValueError("TLS needs all of --tls-ca-file, --tls-cert and --tls-key")
    name = name or platform.node()
    resources = " ".join(f"{k}={v}" for k, v in (("CPU", jobs), ("GPU", gpus)) if v)
    argv = [sys.executable, "-m", "distributed.cli.dask_worker"]
    argv += [scheduler] if scheduler else ["--scheduler-file", scheduler_file]
    argv += ["--nworkers", "1", "--nthreads", str(jobs + gpus), "--resources", resources, "--name", name,
             "--preload", "harness.executors.node", "--memory-limit", "0", "--no-dashboard"]
    if all(tls):
        argv += ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    argv += list(extra or [])
    config = {"name": name, "gpus": gpus, "backend": backend, "image": image, "isolation": isolation,
              "accept_no_cgroups": accept_no_cgroups, "device": device}
    env = dict(os.environ, CV3_NODE=json.dumps({k: v for k, v in config.items() if v is not None}))
    return argv, env
