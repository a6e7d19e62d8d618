"""The student view: a visibility policy from the manifest, and proof by canaries that the student
report never shows hidden test source, hidden test ids, expected values from hidden tests,
held-out labels, host paths or sandbox internals (while the instructor report shows what it
should, so that every scan here could fail)."""

from __future__ import annotations

import html
import platform
import re
from pathlib import Path

import pytest

from harness.grading.grade import Grader
from harness.manifest import LEVELS, ManifestError, Visibility, load_manifest
from harness.reports import write_submission_report
from harness.results import CheckResult, SubmissionResult, TaskResult
from harness.submissions import SubmissionSource

# ------------------------------------------------------------------------------------ canaries

SRC = "CANARY-SRC-r8t2"  # in a hidden test's source line, and so in its assertion message
EXPECTED = "0.8907735942218701"  # an expected value of a hidden test
EXPECTED_2 = "CANARY-EXPECTED-v5x3"
PARAM = "CANARY-PARAM-k2m8"  # a parametrised hidden id
PARAM_VALUE = "0.5454545454545454"  # an id that is the expected answer
HIDDEN_FN = "test_hidden_canary_fn_w4r7"  # a hidden test's name
FIG_LABEL = "CANARY-GT-LABEL-p0q1"  # held-out ground truth drawn by the scorer
TABLE_LABEL = "CANARY-SEQ-z7y6"  # a held-out sequence in the scorer's table
STRING_DETAIL = "CANARY-DETAIL-h3j4"  # a string in the scorer's details
PRED_LABEL = "CANARY-PRED-n5b6"  # predictions on held-out inputs (no ground truth)
SKIP_REASON = "no CUDA device"

MANIFEST = """
[assignment]
name = "toy"
package = "toy"

[limits]
call_timeout_s = 10

[visibility]
default = "visible"
hidden_tests = "hidden"
show_hidden_failures = false

[[task]]
id = "basics"
title = "Basics"
points = 6
api = ["double", "classify"]

[[accuracy]]
id = "acc"
title = "Accuracy on held-out points"
points = 10
entry = "classify"
data = "accuracy_cases:holdout"
scorer = "accuracy_cases:score"
metric = "accuracy"
floor = 0.5
target = 0.9
"""

PUBLIC_TEST = '''
import pytest
import torch

@pytest.mark.task("basics")
def test_public_double(student):
    out = student.double(torch.tensor([1.0, 2.0]))
    assert torch.equal(out, torch.tensor([2.0, 4.0])), f"public: double([1, 2]) gave {out.tolist()}"
'''

HIDDEN_TEST = f'''
import pytest
import torch

MESSAGE = "{SRC} hidden source line"


@pytest.mark.task("basics")
@pytest.mark.parametrize("case", [1.0, 2.0], ids=["{PARAM}", "{PARAM_VALUE}"])
def {HIDDEN_FN}(student, case):
    out = float(student.double(torch.tensor([case]))[0])
    assert out == case * 2, f"expected {EXPECTED} and {EXPECTED_2}, got {{out}}; {{MESSAGE}}"


@pytest.mark.task("basics")
def test_hidden_passes(student):
    assert student.classify(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])).tolist() == [1, 0]


@pytest.mark.task("basics")
def test_hidden_cuda_only(student):
    pytest.skip("{SKIP_REASON}")
'''

CASES = f'''
import torch

def holdout():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=gen)
    labels = (x[:, 0] > 0).to(torch.int64)
    return [([x[i:i + 10]], {{}}) for i in range(0, 40, 10)], labels

def score(outputs, labels):
    preds = torch.cat(outputs)
    acc = float((preds == labels).double().mean())
    gt = "".join(f"<text>{FIG_LABEL} {{int(v)}}</text>" for v in labels[:5])
    return acc, {{
        "figures": [
            {{"title": "held-out ground truth", "svg": f"<svg width='10' height='10'>{{gt}}</svg>"}},
            {{"title": "predictions", "audience": "predictions",
              "svg": "<svg width='10' height='10'><text>{PRED_LABEL}</text></svg>"}},
            {{"title": "public chart", "audience": "public",
              "svg": "<svg width='10' height='10'><text>CANARY-PUBLIC-ok</text></svg>"}},
        ],
        "table": {{"columns": ["sequence", "accuracy"], "rows": [["{TABLE_LABEL}", acc]]}},
        "note": "{STRING_DETAIL}",
        "num_correct": int((preds == labels).sum()),
    }}
'''

CONFTEST = '''
import pytest

def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): task")

@pytest.fixture(scope="session")
def student(request):
    return request.config.cv3_student
'''

# a wrong submission: double is off by one (public and hidden tests fail), classify is mostly right
WRONG = '''
import torch

def double(x):
    return x * 2 + 1

def classify(x):
    return (x[:, 0] > 0.5).to(torch.int64)
'''


def make_toy(root: Path, manifest: str = MANIFEST):
    a = root / "assignments" / "toy"
    (a / "toy").mkdir(parents=True)
    (a / "assignment.toml").write_text(manifest)
    (a / "toy" / "__init__.py").write_text("def double(x):\n    raise NotImplementedError\n"
                                           "def classify(x):\n    raise NotImplementedError\n")
    (a / "tests").mkdir()
    (a / "tests" / "test_public.py").write_text(PUBLIC_TEST)
    tests = root / "reference" / "toy" / "tests"
    tests.mkdir(parents=True)
    (tests / "conftest.py").write_text(CONFTEST)
    (tests / "test_hidden_canary.py").write_text(HIDDEN_TEST)
    (tests / "accuracy_cases.py").write_text(CASES)
    return load_manifest(a / "assignment.toml")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The toy assignment and the stored result of a wrong submission, graded in the sandbox."""
    root = tmp_path_factory.mktemp("canary")
    toy = make_toy(root / "course")
    sub = root / "sub" / "toy"
    sub.mkdir(parents=True)
    (sub / "__init__.py").write_text(WRONG)
    grader = Grader(toy, speed=False)
    try:
        result = grader.grade(SubmissionSource("s1", root / "sub"))
    finally:
        grader.close()
    # what grading adds on a badly set-up machine: grader notes, host paths, sandbox notes
    result.warnings.append(f"(grader) tests could not be collected: {toy.hidden_tests_dir}/test_hidden_canary.py")
    result.sandbox.setdefault("notes", []).append(
        "filesystem not isolated: could read any file (hidden tests included)")
    return toy, result


def hidden_secrets(toy, result) -> dict[str, list[str]]:
    """Every string that must never reach a student, by kind."""
    source_lines = [ln.strip() for p in sorted(toy.hidden_tests_dir.glob("*.py"))
                    for ln in p.read_text().splitlines() if len(ln.strip()) >= 12]
    hidden_names = [c.name for t in result.tasks for c in t.checks
                    if c.kind == "test" and c.details.get("suite") == "hidden"]
    return {
        "hidden test source line": source_lines,
        "hidden test id": hidden_names + [HIDDEN_FN, "test_hidden_passes", "test_hidden_canary"],
        "parametrised hidden id": [PARAM, PARAM_VALUE],
        "expected value of a hidden test": [EXPECTED, EXPECTED_2, SRC],
        "held-out label": [FIG_LABEL, TABLE_LABEL, STRING_DETAIL, PRED_LABEL],
        "host path": [str(toy.hidden_tests_dir), str(toy.reference_root), "/tmp/", "/work/", "/root/"],
        "sandbox internals": ["filesystem not isolated", "(grader)", "bubblewrap", "could read any file"],
    }


def leaks(page: str, secrets: dict[str, list[str]]) -> list[str]:
    """The secrets found in a page, in its source or in its text (entities decoded)."""
    text = html.unescape(page)
    return [f"{kind}: {s!r}" for kind, items in secrets.items() for s in items
            if s and (s in page or s in text or html.escape(s) in page)]


def test_the_toy_grading_exercises_every_canary(graded):
    toy, result = graded
    checks = {c.name: c for t in result.tasks for c in t.checks}
    assert result.status == "graded", result.error
    assert not checks["test_public::test_public_double"].passed
    assert not checks[f"test_hidden_canary::{HIDDEN_FN}[{PARAM}]"].passed
    assert EXPECTED in checks[f"test_hidden_canary::{HIDDEN_FN}[{PARAM_VALUE}]"].message
    assert checks["test_hidden_canary::test_hidden_passes"].passed
    assert any(SKIP_REASON in w for w in result.warnings)
    acc = checks["accuracy:classify"]
    assert acc.details["table"]["rows"][0][0] == TABLE_LABEL and acc.details["figures"]


def test_instructor_report_shows_the_canaries(graded, tmp_path):
    """The scans below can fail: the instructor view of the same result holds every canary that a
    report can hold (hidden source appears only through an assertion message)."""
    toy, result = graded
    page = write_submission_report(result, tmp_path, policy=toy.visibility).read_text()
    secrets = hidden_secrets(toy, result)
    found = set(leaks(page, {k: v for k, v in secrets.items() if k != "hidden test source line"}))
    for kind in ("hidden test id", "parametrised hidden id", "expected value of a hidden test"):
        for s in secrets[kind]:
            assert f"{kind}: {s!r}" in found, f"instructor report lacks {kind} {s!r}"
    for s in (FIG_LABEL, TABLE_LABEL, STRING_DETAIL, PRED_LABEL):
        assert s in page
    assert "filesystem not isolated" in page and "(grader)" in page
    assert f'MESSAGE = "{SRC} hidden source line"' in secrets["hidden test source line"]


@pytest.mark.parametrize("show_predictions", [False, True])
def test_student_report_leaks_no_canary(graded, tmp_path, show_predictions):
    toy, result = graded
    policy = toy.visibility.replace(show_heldout_predictions=show_predictions)
    page = write_submission_report(result, tmp_path, view="student", policy=policy).read_text()
    secrets = hidden_secrets(toy, result)
    if show_predictions:  # allowed: the submission's predictions on held-out inputs, no ground truth
        secrets["held-out label"].remove(PRED_LABEL)
        assert PRED_LABEL in page
    assert leaks(page, secrets) == []
    node = platform.node()
    if len(node) >= 4:
        assert node not in page, "host name in the student report"
    # no links to other pages (index, leaderboard, other students)
    assert re.findall(r'href="(?!#)[^"]*"', page) == []
    # what the student does get
    assert "test_public::test_public_double" in page and "public: double([1, 2]) gave" in page
    assert "1 of 3 hidden checks passed" in page  # the skipped test counts neither way
    assert "accuracy = " in page and "floor 0.5" in page and "CANARY-PUBLIC-ok" in page
    assert SKIP_REASON in page  # a note, not a warning


def test_student_report_can_show_hidden_failure_messages_without_names(graded, tmp_path):
    toy, result = graded
    policy = toy.visibility.replace(show_hidden_failures=True)
    page = write_submission_report(result, tmp_path, view="student", policy=policy).read_text()
    assert EXPECTED in html.unescape(page)  # the instructor allowed the messages...
    secrets = hidden_secrets(toy, result)
    assert leaks(page, {k: secrets[k] for k in ("hidden test id", "parametrised hidden id", "held-out label")}) == []
    # ...and the two failures with different messages stay two, without names
    assert page.count("hidden check") >= 2


# ------------------------------------------------------------------- levels, from hand-built results


def check(task, name, passed=True, suite="public", kind="test", message="", score=None, max_score=1.0, **details):
    return CheckResult(task, name, kind, passed, max_score if score is None and passed else (score or 0.0),
                       max_score, message, details={"suite": suite, **details} if kind == "test" else details)


def result_of(*tasks) -> SubmissionResult:
    ts = [TaskResult(tid, tid.title(), sum(c.max_score for c in cs), sum(c.score for c in cs), list(cs))
          for tid, cs in tasks]
    return SubmissionResult("toy", "s1", "graded", sum(t.score for t in ts), sum(t.points for t in ts), ts)


def student_page(result, tmp_path, **policy) -> str:
    return write_submission_report(result, tmp_path, view="student", policy=Visibility(**policy)).read_text()


def test_levels_most_specific_wins():
    v = Visibility.from_values({
        "default": "visible", "hidden_tests": "hidden", "show_hidden_failures": False, "released": False,
        "show_heldout_predictions": False, "leaderboard": "pseudonyms",
        "overrides": {"nms": "score_only", "test_hidden_ap": "visible",
                      "test_hidden_ap::test_voc": "after_release", "test_hidden_ap::test_voc[a-0.5]": "hidden"}})
    assert v.level(check("iou", "test_public::test_iou")) == "visible"
    assert v.level(check("iou", "test_hidden_iou::test_iou", suite="hidden")) == "hidden"
    assert v.level(check("nms", "test_public::test_nms")) == "score_only"  # task override
    assert v.level(check("nms", "test_hidden_nms::test_x", suite="hidden")) == "score_only"  # stricter of both
    assert v.level(check("ap", "test_hidden_ap::test_coco", suite="hidden")) == "visible"  # file stem
    assert v.level(check("ap", "test_hidden_ap::test_voc[b-0.7]", suite="hidden")) == "after_release"  # test
    assert v.level(check("ap", "test_hidden_ap::test_voc[a-0.5]", suite="hidden")) == "hidden"  # with params
    assert v.replace(released=True).level(check("ap", "test_hidden_ap::test_voc[b]", suite="hidden")) == "visible"
    # a test whose suite is unknown counts as hidden (fail closed)
    assert v.level(check("iou", "test_x::test_y", suite="unknown")) == "hidden"
    # checks of other kinds: by their task (= check id)
    assert v.level(check("nms", "speed:nms", kind="speed")) == "score_only"
    assert Visibility().level(check("map", "accuracy:predict", kind="accuracy")) == "visible"


def test_score_only_and_withheld_checks(tmp_path):
    r = result_of(
        ("iou", [check("iou", "test_public::test_a"), check("iou", "test_public::test_b", passed=False,
                                                            message="wrong a")]),
        ("nms", [check("nms", "test_public::test_n1"), check("nms", "test_public::test_n2", passed=False,
                                                             message="SECRET-NMS-MSG")]),
        ("ap", [check("ap", "test_public::test_ap_secret_name", passed=False, message="SECRET-AP-MSG",
                      max_score=3.0)]),
    )
    page = student_page(r, tmp_path, overrides=(("nms", "score_only"), ("ap", "after_release")))
    assert "test_public::test_b" in page and "wrong a" in page
    for secret in ("SECRET-NMS-MSG", "test_public::test_n1", "test_public::test_n2", "SECRET-AP-MSG",
                   "test_ap_secret_name"):
        assert secret not in page, secret
    assert "2 score only" in page
    assert "Checks worth 3 more points are graded but withheld" in page
    assert "2 / 4" in page  # the score shown leaves the withheld points out (1 + 1 of 2 + 2)
    released = student_page(r, tmp_path, overrides=(("nms", "score_only"), ("ap", "after_release")),
                            released=True)
    assert "SECRET-AP-MSG" in released and "withheld" not in released and "2 / 7" in released


def test_student_view_scrubs_paths_grader_notes_and_environment(tmp_path):
    r = result_of(("iou", [check("iou", "test_public::test_a", passed=False, message=(
        'Traceback: File "/tmp/cv3-sandbox-1/sub/toy/boxes.py", line 3\n'
        "oracle at /work/main/reference/toy/tests/_oracles.py:12"))]),
        ("acc", [check("acc", "accuracy:f", kind="accuracy", passed=False,
                       message="(grader) internal error while grading this check: /root/x.py")]))
    r.status, r.error = "error", "importing the package 'toy' failed:\n  File \"/home/me/toy/__init__.py\""
    r.warnings = ["(grader) pytest exited: /work/main/reference", "the worker crashed: memory",
                  "3 test(s) skipped, not counted: no CUDA device"]
    r.environment = {"device": "cpu", "torch": "2.14", "host": "gradebox-7.example.edu", "backend": "docker"}
    r.sandbox = {"isolation": "process", "filesystem_isolated": False, "notes": ["could read any file"]}
    r.timings = {"total_s": 1.0}
    page = student_page(r, tmp_path)
    for secret in ("/tmp/", "/work/", "/root/", "/home/", "_oracles", "gradebox-7", "docker", "could read",
                   "(grader)", "filesystem", "total_s", "pytest exited"):
        assert secret not in page, secret
    assert "…/toy/boxes.py" in page and "…/toy/__init__.py" in page
    assert "internal grading error occurred" in page
    assert "the worker crashed: memory" in page
    warnings = page[page.index('id="warnings"'):page.index('id="tasks"')]
    assert "skipped" not in warnings  # a note for the batch, not a warning


# ------------------------------------------------------------------------------------ manifest


def manifest_with(tmp_path: Path, table: str) -> Path:
    a = tmp_path / "assignments" / "toy"
    a.mkdir(parents=True, exist_ok=True)
    (a / "assignment.toml").write_text(MANIFEST.replace(
        '[visibility]\ndefault = "visible"\nhidden_tests = "hidden"\nshow_hidden_failures = false\n', table))
    return a / "assignment.toml"


def test_manifest_visibility_table(tmp_path):
    path = manifest_with(tmp_path, '[visibility]\ndefault = "score_only"\nreleased = true\n'
                                   'overrides = { basics = "visible", "test_hidden_canary" = "after_release" }\n')
    v = load_manifest(path).visibility
    assert v.default == "score_only" and v.released and v.hidden_tests == "hidden"
    assert dict(v.overrides) == {"basics": "visible", "test_hidden_canary": "after_release"}
    hash(load_manifest(path))  # the model stays hashable
    assert load_manifest(manifest_with(tmp_path, "")).visibility == Visibility()


@pytest.mark.parametrize("table,match", [
    ('[visibility]\ndefault = "secret"\n', r"'default' = 'secret' is not allowed; one of visible"),
    ('[visibility]\nhiden_tests = "hidden"\n', r"unknown key\(s\) \['hiden_tests'\]"),
    ('[visibility]\noverrides = { basics = "nope" }\n', r"'overrides'.*is not allowed"),
    ('[visibility]\nshow_hidden_failures = "yes"\n', r"'show_hidden_failures' must be bool"),
    ('[visibility]\nleaderboard = "names"\n', r"'leaderboard' = 'names' is not allowed"),
])
def test_manifest_refuses_bad_visibility(tmp_path, table, match):
    with pytest.raises(ManifestError, match=match):
        load_manifest(manifest_with(tmp_path, table))


def test_every_shipped_assignment_hides_its_hidden_suite():
    from harness.manifest import list_assignments

    for a in list_assignments():
        assert a.visibility.hidden_tests in ("hidden", "score_only"), a.name
        assert a.visibility.level(check("x", "test_hidden_x::test_y[1-2]", suite="hidden")) in LEVELS[2:]
