import os
from pathlib import Path

import pytest

from harness.testkit import student_fixture


def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): the manifest task this test grades")


@pytest.fixture(scope="session")
def student(request):
    # CV3_STUDENT_DIR (set by `cv3 test --student-dir`) points at the folder holding your package
    package_dir = os.environ.get("CV3_STUDENT_DIR", str(Path(__file__).resolve().parents[1]))
    return student_fixture(request, "detectors", package_dir)
