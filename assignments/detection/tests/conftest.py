from pathlib import Path

import pytest

from harness.testkit import student_fixture


def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): the manifest task this test grades")


@pytest.fixture(scope="session")
def student(request):
    return student_fixture(request, "detection", Path(__file__).resolve().parents[1])
