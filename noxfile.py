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


@nox.session
def demo(session):
    """Grade the bundled sample submissions and write reports/index.html."""
    install(session)
    samples = os.path.join(session.create_tmp(), "samples")
    session.run("python", "reference/detection/samples.py", "--out", samples)
    session.run("cv3", "grade", "detection", samples, "--regrade",
                "--store", "results/demo.sqlite", "--reports", "reports")
    session.run("cv3", "leaderboard", "detection", "--store", "results/demo.sqlite",
                "--reports", "reports")
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
