import os
from pathlib import Path

import pytest
import torch

from harness.testkit import student_fixture


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
    # CV3_STUDENT_DIR (set by `cv3 test --student-dir`) points at the folder holding your package
    package_dir = os.environ.get("CV3_STUDENT_DIR", str(Path(__file__).resolve().parents[1]))
    return student_fixture(request, "tracking", package_dir)
