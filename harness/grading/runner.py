"""Runs the public and hidden tests on the trusted side, in this process, with pytest.

The tests get the grading proxy as their ``student`` (through ``config.cv3_student``); this
plugin records one outcome per test item. Only the exception line of a failure is kept (never
the traceback, which would show hidden test source).
"""

from __future__ import annotations

import io
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from harness import testkit

EMPTY_INI = Path(__file__).with_name("pytest_grading.ini")


@dataclass
class TestOutcome:
    task: str | None
    name: str
    suite: str  # "public" | "hidden"
    outcome: str  # "passed" | "failed" | "skipped"
    message: str
    duration_s: float
    returned: tuple[str, ...] = ()  # API names whose calls returned an informative value
    raised: tuple[str, ...] = ()  # API names that raised, or returned only empty/zero values


class GradingPlugin:
    def __init__(self, student, suites: dict[str, Path], only_tasks: set[str] | None = None) -> None:
        self.student = student
        self.only_tasks = only_tasks
        self.suites = {k: Path(v).resolve() for k, v in suites.items()}
        self.outcomes: dict[str, TestOutcome] = {}
        self.collection_errors: list[str] = []
        self.interrupted = False

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        # pytest turns Ctrl-C into ExitCode.INTERRUPTED; run_tests re-raises it so that an
        # interrupted grading is never stored as a (partial) result. pytest.exit() lands here
        # too, and so does pytest's own Session.Interrupted (a KeyboardInterrupt subclass raised
        # for collection errors): only a real KeyboardInterrupt counts (submission code cannot
        # raise one on this side).
        if isinstance(excinfo.value, KeyboardInterrupt) \
                and not isinstance(excinfo.value, pytest.Session.Interrupted):
            self.interrupted = True

    def pytest_configure(self, config) -> None:
        config.cv3_student = self.student
        config.addinivalue_line("markers", "task(id): the manifest task this test grades")

    def pytest_collection_modifyitems(self, config, items) -> None:
        if self.only_tasks is None:
            return
        keep, drop = [], []
        for item in items:
            marker = item.get_closest_marker("task")
            (keep if marker and marker.args and marker.args[0] in self.only_tasks else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {str(report.longrepr)[-3000:]}")

    def _suite(self, item) -> str:
        path = Path(str(item.path)).resolve()
        for name, root in self.suites.items():
            if path.is_relative_to(root):
                return name
        return "unknown"

    def pytest_runtest_setup(self, item) -> None:
        events = getattr(getattr(self.student, "_session", None), "events", None)
        if events is not None:
            events.clear()  # what the submission did during this test (setup and call)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        result = yield
        report = result.get_result()
        marker = item.get_closest_marker("task")
        task = str(marker.args[0]) if marker and marker.args else None
        name = f"{Path(str(item.path)).stem}::{item.name}"
        if report.skipped:
            outcome = "skipped"
        elif report.failed:
            outcome = "failed"
        elif report.when == "call":
            outcome = "passed"
        else:
            return
        message = ""
        if call.excinfo is not None and outcome != "passed":
            if report.when == "call" or outcome == "skipped":
                message = _exception_text(call.excinfo)
            else:
                message = f"error in test {report.when} (a grader-side fixture failed): " \
                          f"{_exception_text(call.excinfo)}"
        previous = self.outcomes.get(item.nodeid)
        if previous is not None and previous.outcome == "failed":
            return  # a failure in setup/call stays a failure even if teardown passes
        events = getattr(getattr(self.student, "_session", None), "events", None) or []
        returned = tuple(sorted({t for t, what in events if what == "returned"}))
        raised = tuple(sorted({t for t, what in events if what in ("raised", "trivial")}))
        self.outcomes[item.nodeid] = TestOutcome(task, name, self._suite(item), outcome,
                                                 message, report.duration, returned, raised)


def _exception_text(excinfo) -> str:
    """The exception type and message (with notes), never source lines."""
    value = excinfo.value
    if excinfo.type.__name__ == "Skipped":
        return str(value)[:4000]
    try:
        text = f"{excinfo.type.__name__}: {value}"
        notes = getattr(value, "__notes__", None)
        if isinstance(notes, list):
            text += "\n" + "\n".join(str(n) for n in notes)
    except Exception:  # noqa: BLE001
        text = excinfo.type.__name__
    return text[:4000]


def run_tests(student, suites: dict[str, Path], rootdir: Path, extra_args: list[str] = (),
              only_tasks: set[str] | None = None) -> tuple[list[TestOutcome], list[str], float]:
    plugin = GradingPlugin(student, suites, only_tasks)
    args = [str(p) for p in suites.values()] + [
        "-c", str(EMPTY_INI), "--rootdir", str(rootdir), "-p", "no:cacheprovider",
        "-p", "no:randomly", "-p", "no:xdist", "-q", "--import-mode=importlib",
        # the cv3 test-kit plugin is passed in below; blocking its entry point avoids registering
        # it twice, and it stays active when plugin autoloading is disabled
        "-p", "no:cv3",
        "--no-header", "--assert=plain", "--tb=line", "-o", "console_output_style=classic", *extra_args,
    ]
    t0 = time.perf_counter()
    sink = io.StringIO()
    # oracles work on tiny tensors: one thread avoids oversubscribing a machine running --jobs
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = pytest.main(args, plugins=[plugin, testkit])
    finally:
        torch.set_num_threads(threads)
    elapsed = time.perf_counter() - t0
    if plugin.interrupted:
        raise KeyboardInterrupt
    errors = list(plugin.collection_errors)
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        errors.append(f"pytest exited with {code!r}: {sink.getvalue()[-3000:]}")
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        errors.append("no tests were collected")
    return list(plugin.outcomes.values()), errors, elapsed
