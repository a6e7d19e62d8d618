"""HTML reports, leaderboard, index and gradebook, rendered from hand-built result records."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.reports import (
    gradebook_frame,
    write_all,
    write_gradebook_csv,
    write_index,
    write_leaderboard,
    write_submission_report,
)
from harness.reports.render import MAX_MESSAGE_CHARS, leaderboard_frame
from harness.results import CheckResult, SubmissionResult, TaskResult

XSS = "<script>alert(1)</script>"
ASSIGNMENT = "detection"


def speed_check(task: str, ratio: float, score: float = 2.0) -> CheckResult:
    return CheckResult(
        task=task,
        name=f"speed:{task}",
        kind="speed",
        passed=score >= 2.0,
        score=score,
        max_score=2.0,
        message="" if score >= 2.0 else f"median {ratio}x the baseline",
        duration_s=3.0,
        details={
            "ratio": ratio,
            "student_median_s": 0.002 * ratio,
            "baseline_median_s": 0.002,
            "student_spread": 0.031,
            "baseline_spread": 0.012,
            "repeats": 15,
            "number": 20,
            "device": "cpu",
            "full_ratio": 1.5,
            "zero_ratio": 4.0,
            "baseline": "torchvision.ops.nms",
        },
    )


def make_result(
    sid: str,
    iou: float,
    nms: float,
    *,
    ratio: float | None = 1.25,
    message: str = "expected 3 boxes, got 2",
    assignment: str = ASSIGNMENT,
    **kwargs,
) -> SubmissionResult:
    """Two tasks: iou (4 points, two test checks) and nms (6 points, a test and a speed check)."""
    iou_checks = [
        CheckResult("iou", "test_box_iou[cpu-float32]", "test", iou >= 2, min(iou, 2), 2.0),
        CheckResult(
            "iou", "test_box_iou[cpu-float64]", "test", iou >= 4, max(iou - 2, 0), 2.0,
            message="" if iou >= 4 else message,
        ),
    ]
    nms_checks = [
        CheckResult(
            "nms", "test_nms_matches_torchvision[cpu-float32]", "test", nms >= 4, min(nms, 4), 4.0,
            message="" if nms >= 4 else message,
        )
    ]
    if ratio is not None:
        nms_checks.append(speed_check("nms", ratio, score=max(nms - 4, 0)))
    tasks = [
        TaskResult("iou", "Box IoU", 4.0, iou, iou_checks),
        TaskResult("nms", "Non-maximum suppression", 6.0, nms, nms_checks),
    ]
    defaults = dict(
        environment={"device": "cpu", "python": "3.11.9", "torch": "2.14.1", "seed": 0,
                      "backend": "local"},
        sandbox={"backend": "local", "isolation": "bubblewrap", "filesystem_isolated": True,
                 "network_isolated": True, "limits": {"memory_mb": 2048}, "notes": []},
        timings={"worker_start_s": 0.8, "tests_s": 5.5, "overhead_s": 0.4, "total_s": 6.7},
    )
    defaults.update(kwargs)
    return SubmissionResult(assignment, sid, "graded", iou + nms, 10.0, tasks, **defaults)


def text_of(path: Path) -> str:
    assert path.is_file(), path
    return path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ submission report


def test_submission_report_shows_id_score_failures_and_speed(tmp_path):
    result = make_result("s1234", 2.0, 5.5, ratio=1.25, message=f"boxes {XSS} & more")
    path = write_submission_report(result, tmp_path)
    assert path == tmp_path / ASSIGNMENT / "s1234.html"
    html = text_of(path)

    assert "s1234" in html
    assert "7.5 / 10" in html  # total score
    assert "75.0%" in html
    # the failed check, with its parametrised case, and its message escaped, never raw
    assert "test_box_iou[cpu-float64]" in html
    assert "test_nms_matches_torchvision[cpu-float32]" in html
    assert "boxes &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert XSS not in html
    assert "<script" not in html.lower()
    # passed checks are collapsed
    details = html[html.index('<details id="passed"'):]
    details = details[:details.index("</details>")]
    assert "test_box_iou[cpu-float32]" in details
    assert "test_box_iou[cpu-float64]" not in details
    # speed figures: ratio, medians in ms, spreads in %, repeats x number, band, points
    speed = html[html.index('id="speed"'):html.index('id="environment"')]
    assert "1.25×" in speed
    assert "2.5 ms / 2 ms" in speed
    assert "3.1% / 1.2%" in speed
    assert "15 × 20" in speed
    assert "full ≤ 1.5×, zero ≥ 4×" in speed
    assert "1.5 / 2" in speed
    assert "torchvision.ops.nms" in speed
    # environment, sandbox, timings and navigation
    assert "bubblewrap" in html and "2.14.1" in html and "limits.memory_mb" in html
    assert "6.70 s" in html
    assert 'href="../index.html"' in html and 'href="leaderboard.html"' in html


def test_report_caps_long_messages_and_escapes_error_and_warnings(tmp_path):
    long_message = "A" * (MAX_MESSAGE_CHARS + 5000)
    result = make_result("s1", 0.0, 0.0, message=long_message, warnings=[f"warn {XSS}"])
    result.status = "error"
    result.error = f"worker crashed: {XSS}"
    html = text_of(write_submission_report(result, tmp_path))
    assert "A" * MAX_MESSAGE_CHARS in html
    assert "A" * (MAX_MESSAGE_CHARS + 1) not in html
    assert "5000 more characters not shown" in html
    assert "could not be graded" in html
    assert "worker crashed: &lt;script&gt;" in html
    assert "warn &lt;script&gt;" in html
    assert XSS not in html


def test_report_shows_missing_sandbox_protections(tmp_path):
    result = make_result(
        "s1", 4.0, 6.0,
        sandbox={"backend": "local", "isolation": "none", "filesystem_isolated": True,
                 "network_isolated": False, "notes": ["unshare --net unavailable"]},
    )
    html = text_of(write_submission_report(result, tmp_path))
    box = html[html.index('id="sandbox-notes"'):html.index('id="tasks"')]
    assert "network not isolated" in box
    assert "unshare --net unavailable" in box
    assert "filesystem not isolated" not in box

    ok = make_result("s2", 4.0, 6.0)
    assert 'id="sandbox-notes"' not in text_of(write_submission_report(ok, tmp_path))


def test_report_file_names_are_safe_and_distinct(tmp_path):
    ids = ["../../evil", "a/b", "a_b", "leaderboard", "index", "Ünï cödé"]
    paths = [write_submission_report(make_result(i, 4.0, 6.0), tmp_path) for i in ids]
    assert len(set(paths)) == len(ids)
    for p in paths:
        assert p.parent == tmp_path / ASSIGNMENT
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.html", p.name), p.name
    write_leaderboard(ASSIGNMENT, [make_result("x", 1.0, 1.0)], tmp_path)
    assert "Leaderboard" in text_of(tmp_path / ASSIGNMENT / "leaderboard.html")
    assert "../../evil" in text_of(paths[0])  # the real id is still shown
    assert not (tmp_path / "evil.html").exists()


# ------------------------------------------------------------------ leaderboard


def leaderboard_results() -> list[SubmissionResult]:
    return [
        make_result("carol", 2.0, 5.0, ratio=2.0),  # 7
        make_result("alice", 4.0, 5.0, ratio=1.2),  # 9
        make_result("dave", 1.0, 2.0, ratio=None),  # 3, no speed figures
        make_result("bob", 3.0, 4.0, ratio=0.8),  # 7, ties with carol
    ]


def test_leaderboard_frame_ranks_ties_with_min():
    df, task_cols, speed_cols = leaderboard_frame(leaderboard_results())
    assert list(df["student_id"]) == ["alice", "bob", "carol", "dave"]
    assert list(df["rank"]) == [1, 2, 2, 4]
    assert [c[1] for c in task_cols] == ["iou", "nms"]
    assert [c[1] for c in speed_cols] == ["speed:nms"]
    assert df.loc[df["student_id"] == "bob", "speed:nms"].item() == pytest.approx(0.8)
    assert pd.isna(df.loc[df["student_id"] == "dave", "speed_gmean"].item())


def test_leaderboard_html_ranks_links_stats_and_charts(tmp_path):
    path = write_leaderboard(ASSIGNMENT, leaderboard_results(), tmp_path)
    assert path == tmp_path / ASSIGNMENT / "leaderboard.html"
    html = text_of(path)

    rows = re.findall(r'<td class="num rank"[^>]*>(\d+)</td>\s*<td[^>]*><a href="([^"]+)">([^<]+)</a>', html)
    assert rows == [
        ("1", "alice.html", "alice"),
        ("2", "bob.html", "bob"),
        ("2", "carol.html", "carol"),
        ("4", "dave.html", "dave"),
    ]
    # per-task and speed columns
    assert "<span class=\"mono\">iou</span>" in html and "<span class=\"mono\">nms</span>" in html
    assert "0.8×" in html and "2×" in html
    # summary stats: count 4, mean 6.5, median 7, min 3, max 9
    stats = dict(re.findall(r'<div class="label">([^<]+)</div><div class="value">([^<]+)</div>', html))
    assert stats["submissions"] == "4"
    assert (stats["mean"], stats["median"], stats["min"], stats["max"]) == ("6.5", "7", "3", "9")

    # two inline SVG charts
    assert html.count("<svg") == 2
    hist = html[html.index('class="histogram"'):]
    hist = hist[:hist.index("</svg>")]
    assert len(re.findall(r"<rect ", hist)) == 10
    counts = [int(n) for n in re.findall(r"<title>[^<]*: (\d+)</title>", hist)]
    assert counts == [0, 0, 0, 1, 0, 0, 0, 2, 0, 1]
    scatter = html[html.index('class="scatter"'):]
    scatter = scatter[:scatter.index("</svg>")]
    assert scatter.count("<circle") == 3  # dave has no speed figures
    assert "dave" not in scatter and "bob" in scatter
    assert "log" in scatter and ">score<" in scatter
    assert "1 submission(s) without speed figures" in html
    assert 'href="../index.html"' in html


def test_leaderboard_ignores_other_assignments_and_without_speed(tmp_path):
    results = [make_result("a", 4.0, 6.0, ratio=None),
               make_result("b", 1.0, 1.0, ratio=None, assignment="tracking")]
    html = text_of(write_leaderboard(ASSIGNMENT, results, tmp_path))
    assert ">a</a>" in html and ">b</a>" not in html
    assert html.count("<svg") == 1
    assert "No submission has speed figures" in html


# ------------------------------------------------------------------ index and write_all


def test_write_all_index_links_every_report_and_leaderboard(tmp_path):
    results = [*leaderboard_results(), make_result("zed/../x", 1.0, 1.0, assignment="tracking")]
    index = write_all(results, tmp_path)
    assert index == tmp_path / "index.html"
    html = text_of(index)
    hrefs = re.findall(r'href="([^"#]+)"', html)
    assert "detection/leaderboard.html" in hrefs and "tracking/leaderboard.html" in hrefs
    report_hrefs = [h for h in hrefs if not h.endswith("leaderboard.html")]
    assert len(report_hrefs) == 5
    for href in hrefs:
        assert (tmp_path / href).is_file(), href
    for r in results:
        assert r.submission_id in html
    assert "tracking/zed" in " ".join(report_hrefs)
    assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", html)


def test_write_index_alone_lists_status_and_score(tmp_path):
    bad = SubmissionResult(ASSIGNMENT, "broken", "error", 0.0, 10.0, error="ImportError")
    html = text_of(write_index([make_result("ok", 4.0, 5.5), bad], tmp_path))
    assert 'href="detection/ok.html"' in html and 'href="detection/broken.html"' in html
    assert "9.5 / 10" in html and "0 / 10" in html
    assert ">error<" in html and ">graded<" in html


# ------------------------------------------------------------------ gradebook


def test_gradebook_frame_rows_columns_totals_and_missing():
    results = [make_result("s2", 4.0, 5.0), make_result("s1", 1.5, 6.0)]
    bad = SubmissionResult(ASSIGNMENT, "s3", "error", 0.0, 10.0, error="timeout")
    roster = {"s1": "Ada Lovelace", "s9": "Zoë Quinn"}
    df = gradebook_frame([*results, bad], roster)
    assert list(df.columns) == ["student_id", "name", "iou", "nms", "total", "max_total", "status"]
    assert list(df["student_id"]) == ["s1", "s2", "s3", "s9"]
    row = df.set_index("student_id")
    assert row.loc["s1", "name"] == "Ada Lovelace" and row.loc["s2", "name"] == ""
    assert row.loc["s1", "iou"] == 1.5 and row.loc["s1", "nms"] == 6.0
    assert row.loc["s1", "total"] == 7.5 and row.loc["s2", "total"] == 9.0
    assert row.loc["s2", "max_total"] == 10.0
    # an error scores zero on every task (fails closed)
    assert row.loc["s3", "status"] == "error"
    # an error is never written as a grade: blank (NaN), with its status
    assert pd.isna(row.loc["s3", "iou"]) and pd.isna(row.loc["s3", "total"])
    # roster-only student
    assert row.loc["s9", "status"] == "missing" and pd.isna(row.loc["s9", "total"])
    assert row.loc["s9", "name"] == "Zoë Quinn"
    assert pd.isna(row.loc["s9", "iou"]) and pd.isna(row.loc["s9", "nms"])


def test_gradebook_task_order_follows_first_result_and_latest_record_wins():
    first = make_result("s1", 1.0, 1.0)
    first.tasks.reverse()  # nms before iou
    regrade = make_result("s1", 4.0, 6.0)
    df = gradebook_frame([first, make_result("s2", 2.0, 2.0), regrade])
    assert list(df.columns[2:4]) == ["nms", "iou"]
    assert len(df) == 2
    assert df.set_index("student_id").loc["s1", "total"] == 10.0


def test_gradebook_rejects_mixed_assignments():
    with pytest.raises(ValueError, match="one assignment"):
        gradebook_frame([make_result("a", 1, 1), make_result("b", 1, 1, assignment="tracking")])


def test_write_gradebook_csv(tmp_path):
    path = write_gradebook_csv(
        [make_result("007", 4.0, 5.0)], tmp_path / "out" / "grades.csv", roster={"012": "Émile"}
    )
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["student_id", "name", "iou", "nms", "total", "max_total", "status"]
    assert rows[1] == ["007", "", "4.0", "5.0", "9.0", "10.0", "graded"]
    assert rows[2] == ["012", "Émile", "", "", "", "10.0", "missing"]
    assert len(rows) == 3
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")  # plain UTF-8, no BOM


# ------------------------------------------------------------------ readability (grouping, charts, sorting)


def test_failures_are_grouped_by_task_and_identical_messages_collapse(tmp_path):
    same = "NotImplementedError: box_iou: implement me"
    checks = [CheckResult("iou", f"test_public::test_iou_{i}", "test", False, 0.0, 1.0, same,
                          details={"suite": "public" if i % 2 else "hidden"}) for i in range(12)]
    checks.append(CheckResult("iou", "test_public::test_other", "test", False, 0.0, 1.0, "other failure"))
    nms = [CheckResult("nms", "test_public::test_nms", "test", False, 0.0, 1.0, same.replace("box_iou", "nms"))]
    result = SubmissionResult(ASSIGNMENT, "s1", "graded", 0.0, 14.0, [
        TaskResult("iou", "Box IoU", 13.0, 0.0, checks), TaskResult("nms", "NMS", 1.0, 0.0, nms)])
    html = text_of(write_submission_report(result, tmp_path))
    assert html.count('class="failed-check"') == 3  # 13 + 1 failures, 3 distinct (task, message)
    assert html.count(same) == 1 and "× 12" in html and "and 11 more with the same message" in html
    # the task table links to its failures, which sit under one heading per task
    assert 'href="#fail-iou"' in html and 'id="fail-iou"' in html and 'href="#fail-nms"' in html
    section = html[html.index('id="fail-iou"'):html.index('id="fail-nms"')]
    assert "test_public::test_iou_11" in section and "NMS" not in section
    # passed checks stay collapsed in their own <details>
    assert 'details id="passed"' in html


def test_chart_text_keeps_its_colours(tmp_path):
    """Only the harness's own charts set a text fill: a scorer's figure (a PR-curve legend drawn
    in the colours of its curves) keeps the colours it was drawn with."""
    path = write_leaderboard(ASSIGNMENT, leaderboard_results(), tmp_path)
    style = text_of(path).split("<style>")[1].split("</style>")[0]
    fills = re.findall(r"([^{}]+)\{[^}]*\bfill:", style)
    assert fills and all(re.search(r"svg\.(histogram|scatter)|\.(hbar|dot)\b", sel) for sel in fills), fills
    assert not re.search(r"(^|[\s,}])svg text\s*\{", style)


def test_metric_figures_scale_to_narrow_screens(tmp_path):
    figure = "<svg xmlns='http://www.w3.org/2000/svg' width=\"1074\" height=\"308\"><text fill='#ef4444'>x</text></svg>"
    acc = CheckResult("map", "accuracy:predict", "accuracy", True, 5.0, 5.0, details={
        "metric": "mAP", "value": 0.8, "floor": 0.1, "target": 0.7,
        "figures": [{"title": "strip", "svg": figure},
                    {"title": "tiles", "tiles": ["<svg width='10' height='10'></svg>"] * 3, "legend": "green: gt"}]})
    result = make_result("s1", 4.0, 6.0)
    result.tasks.append(TaskResult("map", "mAP", 5.0, 5.0, [acc]))
    html = text_of(write_submission_report(result, tmp_path))
    assert 'viewBox="0 0 1074 308"' in html and "fill='#ef4444'" in html
    strip = html[html.index('class="strip"'):]
    assert strip[:strip.index("</div>")].count("<svg") == 3 and "green: gt" in html


def test_scatter_labels_never_overlap():
    from harness.reports.render import _LABEL_H, _LABEL_PX_PER_CHAR, scatter_svg_data

    # a crowded cluster: 20 submissions with nearly the same ratio and score, plus outliers
    points = [(f"student_{i:02d}", 1.0 + 0.01 * i, 90.0 + 0.1 * i) for i in range(20)]
    points += [("fast_one", 0.3, 40.0), ("slow_one", 30.0, 95.0)]
    dots = scatter_svg_data(points, 100.0)["dots"]
    boxes = []
    for d in dots:
        if not d["show"]:
            continue
        w = len(d["label"]) * _LABEL_PX_PER_CHAR
        left = {"start": d["lx"], "end": d["lx"] - w, "middle": d["lx"] - w / 2}[d["anchor"]]
        boxes.append((left, d["ly"] - _LABEL_H + 2, left + w, d["ly"] + 2))
    assert len(boxes) >= 4 and {"fast_one", "slow_one"} <= {d["label"] for d in dots if d["show"]}
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
        for d in dots:  # no label covers a dot
            assert not (a[0] < d["x"] + 5 and d["x"] - 5 < a[2] and a[1] < d["y"] + 5 and d["y"] - 5 < a[3])


def _csp(html: str) -> str:
    return re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)


def test_leaderboard_is_sortable_by_a_script_allowed_by_its_hash_only(tmp_path):
    import base64
    import hashlib

    html = text_of(write_leaderboard(ASSIGNMENT, leaderboard_results(), tmp_path))
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = _csp(html)
    assert f"script-src 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1] and "default-src 'none'" in csp
    assert 'class="ranking compact sortable"' in html
    # numeric sort keys on every numeric cell; the status is a column of the table, before the tasks
    assert re.search(r'<td class="num" data-v="9\.0"><strong>9</strong></td>', html)
    header = html[html.index("<thead>"):html.index("</thead>")]
    assert header.index("Status") < header.index(">iou<")
    # report pages carry no script at all
    page = text_of(write_submission_report(make_result("s1", 4.0, 6.0), tmp_path))
    assert "<script" not in page and "script-src" not in _csp(page)


def test_skip_notes_are_shown_once_per_batch(tmp_path):
    note = "14 test(s) skipped, not counted: no CUDA device"
    results = [make_result(s, 4.0, 6.0, warnings=[note]) for s in ("a", "b", "c")]
    results[0].warnings.append("forbidden import: os")
    write_all(results, tmp_path)
    index = text_of(tmp_path / "index.html")
    assert index.count("no CUDA device") == 1 and "(on 3 of 3 submission(s))" in index
    counts = re.findall(r'<td class="num">(\d*)</td>\s*</tr>', index)
    assert counts == ["1", "", ""]  # only the real warning is counted
    board = text_of(tmp_path / ASSIGNMENT / "leaderboard.html")
    assert board.count("no CUDA device") == 1
    report = text_of(tmp_path / ASSIGNMENT / "b.html")
    assert 'id="warnings"' not in report and "no CUDA device" in report  # a note, not a warning
