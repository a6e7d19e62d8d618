"""Sessions for students, instructors and this project's CI.

    nox -s demo                      grade the bundled sample submissions, write reports/
    nox -s tests                     this project's own test suite
    nox -s test -- detection         public tests against the package in assignments/detection
    nox -s grade -- detection DIR    grade submissions (any `cv3 grade` options after DIR)
    nox -s bench                     harness overhead and throughput figures
    nox -s gpu                       on a machine with a GPU: CUDA tests and GPU speed checks
    nox -s lint                      ruff

torch and torchvision come from TORCH_SPEC (default: the versions this project is tested with).
The assignments (the demo list, their extra requirements) come from their manifests: adding an
assignment needs no edit here.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.14.1 torchvision==0.29.1").split()
# TrackEval, the HOTA oracle of the tests and the bench; --no-deps: its metrics need only numpy and scipy
TRACKEVAL = "trackeval==1.3.0"
ROOT = Path(__file__).resolve().parent


def manifests() -> dict[str, dict]:
    """assignment name -> its [assignment] table (read with tomllib: nox runs outside the venv)."""
    out = {}
    for path in sorted((ROOT / "assignments").glob("*/assignment.toml")):
        out[path.parent.name] = tomllib.loads(path.read_text(encoding="utf-8")).get("assignment", {})
    return out


def requirements(names=None) -> list[str]:
    reqs = []
    for name, head in manifests().items():
        if names is None or name in names:
            reqs += [r for r in head.get("requirements", []) if r not in reqs]
    return reqs


def install(session, assignments=None):
    session.install(*TORCH_SPEC)
    session.install("-e", ".")
    extra = requirements(assignments)
    if extra:
        session.install(*extra)


@nox.session
def tests(session):
    """The project's own tests (CI runs this)."""
    install(session)
    session.install("-e", ".[dask]")  # the Dask executor's tests (tests/test_dask_executor.py)
    # TrackEval: the HOTA oracle of this project's own tests (its metric classes need only numpy
    # and scipy; --no-deps keeps opencv and matplotlib out); never in the grading image
    session.install("--no-deps", TRACKEVAL)
    session.run("python", "-m", "pytest", "tests", "-n", "2", "-q", "-rs", *session.posargs)


def _demo_samples(assignment: str, out: str) -> str | None:
    """reference/<a>/samples.py when the assignment has one; else the reference and the stub."""
    script = os.path.join("reference", assignment, "samples.py")
    if os.path.exists(script):
        return script
    shutil.rmtree(out, ignore_errors=True)
    for student, root in (("reference", "reference"), ("stub", "assignments")):
        shutil.copytree(os.path.join(root, assignment, assignment), os.path.join(out, student, assignment),
                        ignore=shutil.ignore_patterns("__pycache__"))
    return None


@nox.session
def demo(session):
    """Grade the bundled sample submissions of every assignment and write reports/index.html.

    detection: reference, stub, partly correct, correct but slow, crashing, syntax error, zip
    escaping its folder, zipped reference; detectors: reference, stub, random boxes, malformed,
    partial; tracking and mpn: reference and stub. Set DEMO_ASSIGNMENTS to grade fewer."""
    install(session)
    # the samples are the course's own code: bubblewrap when it is here, else Docker when an
    # engine and the grading image answer, else explicitly without a sandbox (said on screen
    # and in every report)
    sandbox = []
    if not shutil.which("bwrap"):
        docker_ok = bool(shutil.which("docker")) and subprocess.run(
            ["docker", "image", "inspect", "cv3-grader:latest"], capture_output=True).returncode == 0
        if docker_ok and os.environ.get("CV3_DEMO_DOCKER", "1") == "1":
            sandbox = ["--backend", "docker"]
        else:
            session.warn("bubblewrap is not installed: grading the bundled (trusted) samples WITHOUT a "
                         "sandbox (--isolation none-trusted-code); every report says so. Install "
                         "bubblewrap or build the Docker image to grade student work.")
            sandbox = ["--isolation", "none-trusted-code"]
    store = "results/demo.sqlite"
    if os.path.exists(store):
        os.remove(store)
    wanted = os.environ.get("DEMO_ASSIGNMENTS", ",".join(manifests())).split(",")
    for assignment in [a for a in wanted if os.path.isdir(os.path.join("reference", a))]:
        out = os.path.join(session.create_tmp(), f"samples-{assignment}")
        script = _demo_samples(assignment, out)
        if script:
            session.run("python", script, "--out", out)
        session.run("cv3", "grade", assignment, out, "--regrade", "--store", store, "--reports", "reports",
                    *sandbox)
        session.run("cv3", "leaderboard", assignment, "--store", store, "--reports", "reports")
    session.log("open reports/index.html in a browser")


@nox.session
def test(session):
    """Public tests for one assignment: nox -s test -- detection [pytest args]."""
    if not session.posargs:
        session.error("name the assignment: nox -s test -- detection")
    install(session, [a for a in session.posargs if a in manifests()])
    session.run("cv3", "test", *session.posargs)


@nox.session
def grade(session):
    """Grade submissions: nox -s grade -- detection path/to/submissions [cv3 grade options]."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s grade -- <assignment> <submission or folder> [options]")
    install(session)
    session.run("cv3", "grade", *session.posargs)


@nox.session
def bench(session):
    """Harness overhead per submission and grading throughput (prints figures); without arguments
    also the Dask executor's throughput for 1, 2 and 3 workers next to the local pool's."""
    install(session)
    session.install("-e", ".[dask]")
    session.install("--no-deps", TRACKEVAL)  # the --mot section times HOTA against it
    session.run("python", "-m", "harness.bench", *session.posargs)
    if not session.posargs:
        session.run("python", "-m", "harness.bench", "--dask")


@nox.session(python=False)
def gpu(session):
    """On a machine with a GPU: every CUDA test and the GPU speed checks of every assignment,
    with the machine's own torch (no download). Wheels the machine lacks (pycocotools,
    motmetrics) are installed from .whl/ when that folder exists. Writes gpu-figures.md."""
    wheels = ROOT / ".whl"
    if wheels.is_dir() and any(wheels.glob("*.whl")):
        session.run(sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    "--target", "/tmp/cv3-site", *map(str, sorted(wheels.glob("*.whl"))))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in ("/tmp/cv3-site", str(ROOT), str(ROOT / "datasets"), os.environ.get("PYTHONPATH")) if p)
    else:
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), str(ROOT / "datasets"), os.environ.get("PYTHONPATH")) if p)
    out = os.environ.get("OUT", str(ROOT))
    session.run(sys.executable, "-m", "harness.gpu", "--out", os.path.join(out, "gpu-figures.md"),
                *session.posargs)


@nox.session
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "harness", "datasets", "reference", "assignments", "tests")
