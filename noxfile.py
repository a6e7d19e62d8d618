"""Sessions for students, instructors and this project's CI.

    nox -s demo                      grade the bundled sample submissions, write reports/
    nox -s tests                     this project's own test suite
    nox -s test -- detection         public tests against the package in assignments/detection
    nox -s grade -- detection DIR    grade submissions (any `cv3 grade` options after DIR)
    nox -s bench                     harness overhead and throughput figures
    nox -s lint                      ruff

torch and torchvision come from TORCH_SPEC (default: the versions this project is tested with).
"""

import os
import shutil

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.14.1 torchvision==0.29.1").split()


def install(session):
    session.install(*TORCH_SPEC)
    session.install("-e", ".")


@nox.session
def tests(session):
    """The project's own tests (CI runs this)."""
    install(session)
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
    store = "results/demo.sqlite"
    if os.path.exists(store):
        os.remove(store)
    wanted = os.environ.get("DEMO_ASSIGNMENTS", "detection,detectors,tracking,mpn").split(",")
    for assignment in [a for a in wanted if os.path.isdir(os.path.join("reference", a))]:
        out = os.path.join(session.create_tmp(), f"samples-{assignment}")
        script = _demo_samples(assignment, out)
        if script:
            session.run("python", script, "--out", out)
        session.run("cv3", "grade", assignment, out, "--regrade", "--store", store, "--reports", "reports")
        session.run("cv3", "leaderboard", assignment, "--store", store, "--reports", "reports")
    session.log("open reports/index.html in a browser")


@nox.session
def test(session):
    """Public tests for one assignment: nox -s test -- detection [pytest args]."""
    if not session.posargs:
        session.error("name the assignment: nox -s test -- detection")
    install(session)
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
    """Harness overhead per submission and grading throughput (prints figures)."""
    install(session)
    session.run("python", "-m", "harness.bench", *session.posargs)


@nox.session
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", "harness", "datasets", "reference", "assignments", "tests")
