import os
from pathlib import Path

import pytest

from harness.authoring import reference_package
from harness.testkit import student_fixture

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "detection"
REFERENCE_ALIAS = "cv3_reference_detection"
# Where the package under test lives when no grading proxy is attached: the student stub by
# default; point CV3_STUDENT_DIR at reference/detection to run the hidden tests on the reference.
STUDENT_DIR = os.environ.get(
    "CV3_STUDENT_DIR", str(Path(__file__).resolve().parents[3] / "assignments" / "detection")
)


def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): the manifest task this test grades")


@pytest.fixture(scope="session")
def student(request):
    return student_fixture(request, "detection", STUDENT_DIR)


@pytest.fixture(scope="session")
def reference():
    """The reference package, loaded under a private alias so that it never clashes with (or
    stands in for) a student package named ``detection``. Trusted side only."""
    return reference_package(REFERENCE_DIR, REFERENCE_ALIAS)
