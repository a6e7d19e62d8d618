import os
from pathlib import Path

import pytest
import torch

from harness.authoring import reference_package
from harness.testkit import student_fixture

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "tracking"
REFERENCE_ALIAS = "cv3_reference_tracking"
# Where the package under test lives when no grading proxy is attached: the student stub by
# default; point CV3_STUDENT_DIR at reference/tracking to run the hidden tests on the reference.
STUDENT_DIR = os.environ.get(
    "CV3_STUDENT_DIR", str(Path(__file__).resolve().parents[3] / "assignments" / "tracking")
)


def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): the manifest task this test grades")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Trackers work on tiny tensors, where intra-op threads only add overhead (and stall on a
    busy machine); the grading worker runs with one thread too. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def student(request):
    return student_fixture(request, "tracking", STUDENT_DIR)


@pytest.fixture(scope="session")
def reference():
    """The reference package, loaded under a private alias so that it never clashes with (or
    stands in for) a student package named ``tracking``. Trusted side only."""
    return reference_package(REFERENCE_DIR, REFERENCE_ALIAS)
