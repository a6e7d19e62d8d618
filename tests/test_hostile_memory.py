"""What a submission sends cannot blow up the trusted side: replies are size-checked before the
grader allocates them (a reply budget per call, a small cap on the JSON header), and the grader's
peak memory while grading a hostile submission stays within 2x of an honest one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, needs_bwrap

BIG_TENSOR = """
import torch
def box_iou(a, b):
    return torch.ones(400 << 20, dtype=torch.uint8)   # 400 MB, over the 64 MB reply budget
"""

BIG_JSON = """
def box_iou(a, b):
    return list(range(3_000_000))   # a ~20 MB JSON header
"""


@needs_bwrap
@pytest.mark.parametrize("source,why", [(BIG_TENSOR, "exceeds the reply budget of 64 MB"),
                                        (BIG_JSON, "exceeds 1048576 bytes")])
def test_oversized_replies_are_refused_before_they_are_read(grade, source, why):
    r = grade({"detection/__init__.py": source}, tasks=["iou"])
    messages = [c.message for t in r.tasks for c in t.checks]
    assert r.score == 0
    assert any(why in m for m in messages), messages[:3]


PEAK = """
import json, resource, sys, tempfile
from pathlib import Path
from harness.grading.context import GradingContext
from harness.manifest import find_assignment
from harness.submissions import SubmissionSource
a = find_assignment("detection")
src = Path(tempfile.mkdtemp()) / "s" / "detection"
src.mkdir(parents=True)
base = (a.reference_dir / "__init__.py").read_text()
src.joinpath("__init__.py").write_text(sys.argv[1])
if sys.argv[2] == "huge":  # a 3 MB source file the package never imports (parsing 4 MB cost 3.5 GB)
    src.joinpath("unused_data.py").write_text("x = [" + "1, " * (1 << 20) + "]\\n")
import shutil
for f in a.reference_dir.glob("*.py"):
    if f.name != "__init__.py":
        shutil.copy(f, src / f.name)
with GradingContext(a, tasks=["iou"], speed=False) as ctx:
    r = ctx.grade(SubmissionSource("s", src.parent))
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "score": r.score}))
"""


@needs_bwrap
@pytest.mark.slow
def test_grader_peak_memory_with_hostile_replies_stays_within_twice_an_honest_one():
    honest = (ROOT / "reference" / "detection" / "detection" / "__init__.py").read_text()
    peaks = {}
    for name, source, extra in (("honest", honest, ""), ("tensor", honest + BIG_TENSOR, ""),
                                ("json", honest + BIG_JSON, ""), ("source", honest, "huge")):
        out = subprocess.run([sys.executable, "-c", PEAK, source, extra], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        peaks[name] = json.loads(out.stdout.strip().splitlines()[-1])["peak_kb"]
    print(f"grader peak RSS: {peaks}")
    assert all(peaks[k] < 2 * peaks["honest"] for k in ("tensor", "json", "source")), peaks
