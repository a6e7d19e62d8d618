"""Hostile submissions against the speed checks, graded through the real sandbox.

Each one is the reference with a correct but slow NMS (a pure-Python loop over pairs of boxes,
like the demo's slow sample: about 70-80x torchvision's time, zero points; the reference's NMS
checks the inputs first and answers for empty and half-precision ones), so it passes every NMS
test and the speed check is graded. It then tries to be timed on less than its work:

* memoise by input: the result of each input is cached, so that every call after the first
  with the same input is a lookup;
* return early: inside a timed run (it finds the worker's ``run_stashed`` on the stack) it
  hands the work to a background thread and returns an empty tensor that the thread fills in
  (resized in place) once it is done, or it returns the result of the call before.

Without fresh inputs and checked outputs all three scored full speed points. Now memoising
finds nothing to reuse (the check measures the slow NMS: zero points, the usual message) and
the early returns score zero with a message saying what was wrong. The honest slow submission
is measured as before and the reference keeps its full points.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.submissions import SubmissionSource
from tests.conftest import ROOT

REFERENCE = ROOT / "reference" / "detection" / "detection"

SLOW = '''
# --- correct but slow: O(N^2) interpreter work ------------------------------------------------
import torch as _torch

_reference_nms = nms


def _slow_nms(boxes, scores, iou_threshold):
    checked = _reference_nms(boxes, scores, iou_threshold)  # the reference's checks of the inputs
    if checked.numel() == 0 or boxes.dtype not in (_torch.float32, _torch.float64):
        return checked
    b = boxes.tolist()
    order = sorted(range(len(b)), key=lambda i: -float(scores[i]))
    keep = []
    for i in order:
        x1, y1, x2, y2 = b[i]
        ok = True
        for j in keep:
            u1, v1, u2, v2 = b[j]
            iw = max(0.0, min(x2, u2) - max(x1, u1))
            ih = max(0.0, min(y2, v2) - max(y1, v1))
            inter = iw * ih
            union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
            if union > 0 and inter / union > iou_threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return _torch.tensor(keep, dtype=_torch.int64, device=boxes.device)


nms = _slow_nms
'''

MEMOISE = '''
# --- attack: memoise by input ----------------------------------------------------------------
_memo = {}


def nms(boxes, scores, iou_threshold):
    if not (isinstance(boxes, _torch.Tensor) and isinstance(scores, _torch.Tensor)):
        return _slow_nms(boxes, scores, iou_threshold)
    key = repr((boxes.dtype, str(boxes.device), boxes.tolist(), scores.tolist(), float(iou_threshold)))
    if key not in _memo:
        _memo[key] = _slow_nms(boxes, scores, iou_threshold)
    return _memo[key].clone()
'''

_TIMED = '''
import sys as _sys
import threading as _threading
import queue as _queue


def _in_timed_run():
    frame = _sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "run_stashed":
            return True
        frame = frame.f_back
    return False
'''

RETURN_EARLY = _TIMED + '''
# --- attack: return early, finish in a background thread ------------------------------------
_work = _queue.Queue(maxsize=64)


def _background():
    while True:
        out, args = _work.get()
        keep = _slow_nms(*args)
        out.resize_(keep.shape).copy_(keep)  # the returned tensor becomes the right one, later


_threading.Thread(target=_background, daemon=True).start()


def nms(boxes, scores, iou_threshold):
    if not _in_timed_run():
        return _slow_nms(boxes, scores, iou_threshold)
    out = _torch.empty(0, dtype=_torch.int64, device=boxes.device)
    try:
        _work.put_nowait((out, (boxes, scores, iou_threshold)))
    except _queue.Full:
        pass
    return out
'''

RETURN_CACHED = _TIMED + '''
# --- attack: return early with the result of the call before ---------------------------------
_last = {}


def nms(boxes, scores, iou_threshold):
    if _in_timed_run() and "out" in _last:
        return _last["out"].clone()
    _last["out"] = _slow_nms(boxes, scores, iou_threshold)
    return _last["out"].clone()
'''


def _speed(grader, tmp_path, name: str, extra: str | None, tasks=("nms",)):
    """Grade the reference with the slow NMS plus ``extra`` (None: the reference as is); the
    speed checks' results, once the required tasks are at full marks."""
    sub = tmp_path / name
    shutil.copytree(REFERENCE, sub / "detection", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if extra is not None:
        init: Path = sub / "detection" / "__init__.py"
        init.write_text(init.read_text() + "\n" + SLOW + extra)
    grader.only_tasks = set(tasks)
    try:
        r = grader.grade(SubmissionSource(name, sub))
    finally:
        grader.only_tasks = None
    assert r.status == "graded", r.error
    for task in tasks:
        t = next(t for t in r.tasks if t.id == task)
        assert t.score == t.points, f"{name}: task {task} is not at full marks, so no speed check runs"
    return {t.id: t.checks[0] for t in r.tasks if t.id.endswith("_speed")}


def test_an_honest_slow_submission_is_measured_as_before(grader, tmp_path):
    check = _speed(grader, tmp_path, "slow", "")["nms_speed"]
    d = check.details
    assert "rejected" not in d and d["variants"] >= d["repeats"] and d["compare"] == "allclose"
    assert d["ratio"] > d["zero_ratio"] and check.score == 0
    assert "x the baseline's time" in check.message
    assert d["background_cpu_s"] is None or d["background_cpu_s"] < 0.1


def test_memoising_the_input_gains_nothing(grader, tmp_path):
    # before: every timed call was a lookup of the one stashed input (5/5)
    check = _speed(grader, tmp_path, "memoise", MEMOISE)["nms_speed"]
    d = check.details
    assert check.score == 0 and "x the baseline's time" in check.message
    assert d["ratio"] > d["zero_ratio"]  # timed on the slow NMS it memoises
    assert "rejected" not in d


@pytest.mark.parametrize("attack", [RETURN_EARLY, RETURN_CACHED],
                         ids=["background-thread", "result-of-the-call-before"])
def test_returning_early_from_a_timed_call_scores_zero(grader, tmp_path, attack):
    # before: the timed calls returned at once (5/5)
    check = _speed(grader, tmp_path, "early", attack)["nms_speed"]
    assert check.score == 0 and not check.passed
    assert "nms returned a wrong result during timing (variant " in check.message


def test_the_reference_keeps_full_speed_points(grader, tmp_path):
    checks = _speed(grader, tmp_path, "reference", None, tasks=("nms", "roi_align"))
    assert set(checks) == {"nms_speed", "roi_align_speed"}
    for check in checks.values():
        assert check.score == check.max_score, check.message
        assert "rejected" not in check.details and check.details["variants"] >= check.details["repeats"]
