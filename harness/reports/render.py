"""Static HTML reports rendered from stored :class:`~harness.results.SubmissionResult` records.

Everything here works from the records alone (never by re-running a submission) and writes
self-contained files: inline CSS, inline SVG charts, no scripts, fonts or remote resources, so the
pages open from disk on a machine without network access.

Check messages, error text and warnings come from untrusted submissions. The jinja2 environment
autoescapes everything, every page carries a Content-Security-Policy that forbids scripts, and
long messages are capped.

Layout written under ``out_dir``::

    index.html
    <assignment>/leaderboard.html
    <assignment>/<submission_id>.html
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from harness.results import CheckResult, SubmissionResult

__all__ = [
    "MAX_MESSAGE_CHARS",
    "report_filename",
    "safe_name",
    "write_all",
    "write_index",
    "write_leaderboard",
    "write_submission_report",
]

#: Check messages and error text longer than this are cut, with a note saying so.
MAX_MESSAGE_CHARS = 4000

_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
_RESERVED_STEMS = {"index", "leaderboard"}
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------------------------
# names and small formatting helpers
# --------------------------------------------------------------------------------------------


def safe_name(name: str) -> str:
    """A file-system-safe, collision-free stem for ``name`` (a submission id or assignment).

    Characters outside ``[A-Za-z0-9._-]`` become ``_``; leading dots are dropped. Whenever the
    result differs from ``name`` (or would be a reserved page name such as ``index``), a short
    hash of the original is appended so that two different ids never share a file.
    """
    name = str(name)
    stem = _UNSAFE_NAME_RE.sub("_", name).lstrip(".")[:80] or "_"
    if stem != name or stem.lower() in _RESERVED_STEMS:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem = f"{stem}-{digest}"
    return stem


def report_filename(submission_id: str) -> str:
    """File name (inside the assignment folder) of a submission's report."""
    return safe_name(submission_id) + ".html"


def _num(x: Any) -> float | None:
    """``x`` as a finite float, else None."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt_score(x: Any) -> str:
    v = _num(x)
    if v is None:
        return "—"
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fmt_pct(part: Any, whole: Any) -> str:
    p, w = _num(part), _num(whole)
    if p is None or not w:
        return "—"
    return f"{100.0 * p / w:.1f}%"


def _pct_value(part: Any, whole: Any) -> float:
    p, w = _num(part), _num(whole)
    if p is None or not w:
        return 0.0
    return max(0.0, min(100.0, 100.0 * p / w))


def fmt_ratio(x: Any) -> str:
    v = _num(x)
    if v is None:
        return "—"
    return f"{v:.3g}×"


def fmt_ms(seconds: Any) -> str:
    v = _num(seconds)
    if v is None:
        return "—"
    ms = v * 1000.0
    return f"{ms:.3g} ms" if abs(ms) < 1000 else f"{ms:,.0f} ms"


def fmt_spread(x: Any) -> str:
    v = _num(x)
    return "—" if v is None else f"{100.0 * v:.1f}%"


def fmt_value(v: Any) -> str:
    """A dict value from environment/sandbox/timings as short text."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return fmt_score(v) if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt_value(x) for x in v) or "—"
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={fmt_value(x)}" for k, x in v.items()) or "—"
    return str(v)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            rows.extend(_flatten(v, key + "."))
        else:
            rows.append((key, fmt_value(v)))
    return rows


def clean_text(text: Any, limit: int = MAX_MESSAGE_CHARS) -> tuple[str, int]:
    """Untrusted text made displayable: ANSI colour codes and control characters removed, cut at
    ``limit`` characters. Returns ``(text, number_of_characters_cut)``. HTML escaping is left to
    jinja2's autoescape."""
    s = "" if text is None else str(text)
    s = _ANSI_RE.sub("", s)
    s = _CONTROL_RE.sub("\ufffd", s)
    s = s.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
    if len(s) > limit:
        return s[:limit], len(s) - limit
    return s, 0


def _latest_per_student(results: Iterable[SubmissionResult]) -> list[SubmissionResult]:
    """One record per (assignment, submission_id); a later record in the list replaces an earlier
    one (a regrade), keeping the position of the first."""
    latest: dict[tuple[str, str], SubmissionResult] = {}
    for r in results:
        latest[(r.assignment, r.submission_id)] = r
    return list(latest.values())


# --------------------------------------------------------------------------------------------
# jinja2 environment
# --------------------------------------------------------------------------------------------

_ENV: jinja2.Environment | None = None


def _env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(_TEMPLATE_DIR)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters.update(
            score=fmt_score, ratio=fmt_ratio, ms=fmt_ms, spread=fmt_spread, value=fmt_value
        )
        _ENV = env
    return _ENV


def _write(path: Path, template: str, **context: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    html = _env().get_template(template).render(**context)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def _now_text(now: datetime | None) -> str:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# --------------------------------------------------------------------------------------------
# submission report
# --------------------------------------------------------------------------------------------


def _check_view(c: CheckResult, title: str) -> dict[str, Any]:
    msg, cut = clean_text(c.message)
    return {
        "task": c.task,
        "task_title": title,
        "name": c.name,
        "kind": c.kind,
        "score": fmt_score(c.score),
        "max_score": fmt_score(c.max_score),
        "message": msg,
        "cut": cut,
        "duration": f"{c.duration_s:.2f} s" if _num(c.duration_s) is not None else "—",
    }


def _sandbox_alerts(sandbox: Mapping[str, Any]) -> list[str]:
    """Missing protections, stated plainly, so a reader cannot miss them."""
    alerts = []
    if not sandbox:
        return ["No sandbox information was recorded for this grading."]
    for key, label in (("filesystem_isolated", "filesystem"), ("network_isolated", "network")):
        if key in sandbox and not sandbox[key]:
            alerts.append(f"{label} not isolated")
        elif key not in sandbox:
            alerts.append(f"{label} isolation not recorded")
    if str(sandbox.get("isolation", "")).lower() in {"none", "", "off"} and "isolation" in sandbox:
        alerts.append("no process isolation")
    return alerts


def trusted_svg(svg: Any) -> Markup | None:
    """Figures are drawn by the trusted scorer from numbers; keep only well-formed SVG."""
    if not isinstance(svg, str) or not svg.lstrip().startswith("<svg") or "<script" in svg.lower():
        return None
    return Markup(svg)


def _kind_sections(result: SubmissionResult) -> list[dict[str, Any]]:
    """One report section per check kind that has a view (speed, accuracy, probes, ...)."""
    from harness.checks import kinds_in_order

    sections = []
    for kind in kinds_in_order():
        if not kind.template:
            continue
        items = [v for t in result.tasks for c in t.checks
                 if c.kind == kind.result_kind and (v := kind.view(c)) is not None]
        if items:
            sections.append({"template": kind.template, "title": kind.section, "anchor": kind.table,
                             "items": items})
    return sections


def _submission_context(result: SubmissionResult) -> dict[str, Any]:
    titles = {t.id: t.title for t in result.tasks}
    tasks, failed, passed = [], [], []
    for t in result.tasks:
        tasks.append(
            {
                "id": t.id,
                "title": t.title,
                "score": fmt_score(t.score),
                "points": fmt_score(t.points),
                "passed": t.passed,
                "total": len(t.checks),
                "pct": _pct_value(t.score, t.points),
                "pct_text": fmt_pct(t.score, t.points),
                "full": _num(t.score) is not None and _num(t.points) is not None
                and t.score >= t.points,
            }
        )
        for c in t.checks:
            (passed if c.passed else failed).append(_check_view(c, titles.get(c.task, t.title)))
    error, error_cut = clean_text(result.error)
    sandbox = dict(result.sandbox or {})
    notes = sandbox.pop("notes", []) or []
    if isinstance(notes, str):
        notes = [notes]
    return {
        "r": result,
        "title": f"{result.submission_id} — {result.assignment}",
        "score": fmt_score(result.score),
        "max_score": fmt_score(result.max_score),
        "pct_text": fmt_pct(result.score, result.max_score),
        "pct": _pct_value(result.score, result.max_score),
        "error": error,
        "error_cut": error_cut,
        "warnings": [clean_text(w)[0] for w in result.warnings],
        "tasks": tasks,
        "failed": failed,
        "passed": passed,
        "sections": _kind_sections(result),
        "environment": _flatten(result.environment or {}),
        "sandbox": _flatten(sandbox),
        "sandbox_notes": [clean_text(n)[0] for n in notes],
        "sandbox_alerts": _sandbox_alerts(result.sandbox or {}),
        "timings": [(k, f"{v:.2f} s" if k.endswith("_s") and _num(v) is not None else fmt_value(v))
                    for k, v in (result.timings or {}).items()],
        "index_href": "../index.html",
        "leaderboard_href": "leaderboard.html",
        "max_chars": MAX_MESSAGE_CHARS,
    }


def write_submission_report(result: SubmissionResult, out_dir: Path) -> Path:
    """Write ``out_dir/<assignment>/<submission_id>.html`` and return its path."""
    path = Path(out_dir) / safe_name(result.assignment) / report_filename(result.submission_id)
    return _write(path, "submission.html.j2", **_submission_context(result))


# --------------------------------------------------------------------------------------------
# leaderboard
# --------------------------------------------------------------------------------------------


def _geomean(values: Iterable[Any]) -> float | None:
    logs = [math.log(v) for v in (_num(x) for x in values) if v is not None and v > 0]
    return math.exp(sum(logs) / len(logs)) if logs else None


def leaderboard_frame(results: list[SubmissionResult]) -> tuple[pd.DataFrame, list, list]:
    """One row per submission: rank (ties share the best rank), score, percentage, per-task scores
    (``task:<id>``), speed ratios (``speed:<check name>``, the name kept when it already
    starts with ``speed:``), their geometric mean and status.

    Returns the frame sorted by rank, the task columns ``[(column, id, title, points)]`` and the
    speed columns ``[(column, check name)]``.
    """
    task_cols: dict[str, tuple[str, str, str, float]] = {}
    speed_cols: dict[str, tuple[str, str]] = {}
    speed_names: dict[str, str] = {}  # check name -> column
    rows = []
    for r in results:
        row: dict[str, Any] = {
            "student_id": r.submission_id,
            "href": report_filename(r.submission_id),
            "score": float(_num(r.score) or 0.0),
            "max_score": float(_num(r.max_score) or 0.0),
            "status": r.status,
        }
        for t in r.tasks:
            col = f"task:{t.id}"
            task_cols.setdefault(col, (col, t.id, t.title, t.points))
            row[col] = _num(t.score)
        ratios = []
        for c in r.speed_checks():
            col = speed_names.get(c.name)
            if col is None:
                col = c.name if c.name.startswith("speed:") else f"speed:{c.name}"
                while col in speed_cols:
                    col += "'"
                speed_names[c.name] = col
                speed_cols[col] = (col, c.name)
            ratio = _num((c.details or {}).get("ratio"))
            row[col] = ratio
            ratios.append(ratio)
        row["speed_gmean"] = _geomean(ratios)
        rows.append(row)
    columns = ["student_id", "href", "score", "max_score", "status",
               *task_cols, *speed_cols, "speed_gmean"]
    df = pd.DataFrame(rows, columns=columns)
    if df.empty:
        df["rank"] = pd.Series(dtype="int64")
        df["pct"] = pd.Series(dtype="float64")
        return df, list(task_cols.values()), list(speed_cols.values())
    for col in [*task_cols, *speed_cols, "speed_gmean"]:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    # round so that 0.1 + 0.2 and 0.3 tie
    df["rank"] = df["score"].round(6).rank(method="min", ascending=False).astype("int64")
    df["pct"] = (100.0 * df["score"] / df["max_score"].where(df["max_score"] > 0)).astype("float64")
    df = df.sort_values(["rank", "student_id"], kind="stable").reset_index(drop=True)
    return df, list(task_cols.values()), list(speed_cols.values())


def _nice_ticks(vmax: float, n: int = 5) -> list[float]:
    if vmax <= 0:
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    ticks, v = [], 0.0
    while v <= vmax * (1 + 1e-9):
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < vmax:
        ticks.append(round(v, 10))
    return ticks


# chart geometry (SVG user units)
_W, _H = 600, 280
_ML, _MR, _MT, _MB = 56, 16, 16, 52


def histogram_svg_data(scores: list[float], max_score: float, bins: int = 10) -> dict[str, Any]:
    """Bars of a score histogram with ``bins`` equal bins from 0 to ``max_score``. The last bin
    includes ``max_score``; scores outside the range are counted in the nearest end bin."""
    top = max_score if max_score > 0 else max([*scores, 1.0])
    counts = [0] * bins
    for s in scores:
        i = int(math.floor(s / top * bins)) if top > 0 else 0
        counts[min(max(i, 0), bins - 1)] += 1
    pw, ph = _W - _ML - _MR, _H - _MT - _MB
    ymax = max(counts + [1])
    yticks = _nice_ticks(ymax, min(5, ymax))
    ytop = yticks[-1]
    bw = pw / bins
    bars = []
    for i, n in enumerate(counts):
        lo, hi = top * i / bins, top * (i + 1) / bins
        h = ph * n / ytop
        bars.append({
            "x": _ML + i * bw + 1, "y": _MT + ph - h, "w": bw - 2, "h": h, "n": n,
            "label": f"{fmt_score(lo)}–{fmt_score(hi)}{']' if i == bins - 1 else ')'}: {n}",
            "tx": _ML + i * bw + bw / 2, "ty": _MT + ph - h - 4,
        })
    xticks = [{"x": _ML + i * bw, "label": fmt_score(top * i / bins)} for i in range(bins + 1)]
    return {
        "w": _W, "h": _H, "ml": _ML, "mt": _MT, "pw": pw, "ph": ph,
        "bars": bars, "xticks": xticks,
        "yticks": [{"y": _MT + ph - ph * t / ytop, "label": fmt_score(t)} for t in yticks],
        "xlabel": f"score (0 to {fmt_score(top)}, {bins} bins)",
        "ylabel": "submissions",
    }


def scatter_svg_data(points: list[tuple[str, float, float]], max_score: float) -> dict[str, Any]:
    """Speed vs. score: ``points`` are ``(student id, geometric-mean ratio > 0, score)``; the x axis
    is logarithmic, with a dashed line at ratio 1 (as fast as the baseline)."""
    pw, ph = _W - _ML - _MR, _H - _MT - _MB
    xs = [p[1] for p in points] or [1.0]
    lo, hi = min([*xs, 1.0]), max([*xs, 1.0])
    # half-decade bounds with a little room so no dot sits on the frame
    lo_e = math.floor((math.log10(lo) - 0.05) * 2) / 2
    hi_e = math.ceil((math.log10(hi) + 0.05) * 2) / 2
    if hi_e - lo_e < 1:
        lo_e, hi_e = lo_e - 0.5, hi_e + 0.5
    ytop = _nice_ticks(max_score if max_score > 0 else max([p[2] for p in points] + [1.0]))[-1]

    def sx(v: float) -> float:
        return _ML + pw * (math.log10(v) - lo_e) / (hi_e - lo_e)

    def sy(v: float) -> float:
        return _MT + ph - ph * max(0.0, min(v, ytop)) / ytop

    xticks = []
    for e in range(math.floor(lo_e), math.ceil(hi_e) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** e
            if lo_e - 1e-9 <= math.log10(v) <= hi_e + 1e-9:
                xticks.append({"x": sx(v), "label": f"{v:g}×", "major": m == 1})
    label_points = len(points) <= 25
    dots = [
        {"x": sx(x), "y": sy(y), "id": sid, "show": label_points, "left": sx(x) > _ML + 0.8 * pw,
         "tip": f"{sid}: speed ratio {x:.3g}×, score {fmt_score(y)}"}
        for sid, x, y in points
    ]
    return {
        "w": _W, "h": _H, "ml": _ML, "mt": _MT, "pw": pw, "ph": ph,
        "dots": dots, "xticks": xticks, "one_x": sx(1.0),
        "yticks": [{"y": sy(t), "label": fmt_score(t)} for t in _nice_ticks(ytop)],
        "xlabel": "speed ratio, geometric mean over speed checks (student / baseline, log; lower is faster)",
        "ylabel": "score",
    }


def _leaderboard_context(assignment: str, results: list[SubmissionResult]) -> dict[str, Any]:
    results = [r for r in _latest_per_student(results) if r.assignment == assignment]
    df, task_cols, speed_cols = leaderboard_frame(results)
    max_score = float(df["max_score"].max()) if not df.empty else 0.0
    desc = df["score"].agg(["count", "mean", "median", "min", "max"]) if not df.empty else None
    stats = [
        ("submissions", str(len(df))),
        ("graded", str(int((df["status"] == "graded").sum())) if not df.empty else "0"),
        ("errors", str(int((df["status"] == "error").sum())) if not df.empty else "0"),
    ]
    if desc is not None:
        stats += [(k, fmt_score(desc[k])) for k in ("mean", "median", "min", "max")]
    stats.append(("max possible", fmt_score(max_score)))
    rows = []
    for rec in df.to_dict("records"):
        rows.append({
            "rank": int(rec["rank"]),
            "student_id": rec["student_id"],
            "href": rec["href"],
            "score": fmt_score(rec["score"]),
            "max_score": fmt_score(rec["max_score"]),
            "pct": "—" if pd.isna(rec["pct"]) else f"{rec['pct']:.1f}%",
            "tasks": [fmt_score(rec[c]) for c, *_ in task_cols],
            "speed": [fmt_ratio(rec[c]) for c, _ in speed_cols],
            "gmean": fmt_ratio(rec["speed_gmean"]),
            "status": rec["status"],
        })
    points = [
        (rec["student_id"], float(rec["speed_gmean"]), float(rec["score"]))
        for rec in df.to_dict("records")
        if not pd.isna(rec["speed_gmean"])
    ]
    return {
        "title": f"Leaderboard — {assignment}",
        "assignment": assignment,
        "rows": rows,
        "task_cols": [{"id": tid, "title": title, "points": fmt_score(pts)}
                      for _, tid, title, pts in task_cols],
        "speed_cols": [
            {"name": name, "label": name.removeprefix("speed:") or name} for _, name in speed_cols
        ],
        "stats_max": fmt_score(max_score),
        "stats": stats,
        "hist": histogram_svg_data([float(s) for s in df["score"]], max_score),
        "scatter": scatter_svg_data(points, max_score) if points else None,
        "n_without_speed": len(df) - len(points),
        "index_href": "../index.html",
    }


def write_leaderboard(assignment: str, results: list[SubmissionResult], out_dir: Path) -> Path:
    """Write ``out_dir/<assignment>/leaderboard.html`` from the records of ``assignment`` in
    ``results`` (records of other assignments are ignored) and return its path."""
    path = Path(out_dir) / safe_name(assignment) / "leaderboard.html"
    return _write(path, "leaderboard.html.j2", **_leaderboard_context(assignment, results))


# --------------------------------------------------------------------------------------------
# index and everything
# --------------------------------------------------------------------------------------------


def write_index(
    results: list[SubmissionResult], out_dir: Path, *, generated_at: datetime | None = None
) -> Path:
    """Write ``out_dir/index.html``: per assignment, its leaderboard and every report."""
    by_assignment: dict[str, list[SubmissionResult]] = {}
    for r in _latest_per_student(results):
        by_assignment.setdefault(r.assignment, []).append(r)
    sections = []
    for name in sorted(by_assignment):
        subs = sorted(by_assignment[name], key=lambda r: r.submission_id)
        folder = safe_name(name)
        sections.append({
            "name": name,
            "leaderboard_href": f"{folder}/leaderboard.html",
            "n_error": sum(r.status != "graded" for r in subs),
            "submissions": [
                {
                    "id": r.submission_id,
                    "href": f"{folder}/{report_filename(r.submission_id)}",
                    "score": fmt_score(r.score),
                    "max_score": fmt_score(r.max_score),
                    "pct": fmt_pct(r.score, r.max_score),
                    "status": r.status,
                    "n_warnings": len(r.warnings),
                }
                for r in subs
            ],
        })
    path = Path(out_dir) / "index.html"
    return _write(path, "index.html.j2", title="Grading reports", sections=sections,
                  generated=_now_text(generated_at))


def write_all(results: list[SubmissionResult], out_dir: Path) -> Path:
    """Write every submission report, one leaderboard per assignment and the index; return the
    index path."""
    out_dir = Path(out_dir)
    results = _latest_per_student(results)
    for r in results:
        write_submission_report(r, out_dir)
    for assignment in sorted({r.assignment for r in results}):
        write_leaderboard(assignment, results, out_dir)
    return write_index(results, out_dir)
