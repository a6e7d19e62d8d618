"""Static HTML reports rendered from stored :class:`~harness.results.SubmissionResult` records.

Everything here works from the records alone (never by re-running a submission) and writes
self-contained files: inline CSS, inline SVG charts, no fonts or remote resources, so the pages
open from disk on a machine without network access.

Check messages, error text and warnings come from untrusted submissions. The jinja2 environment
autoescapes everything, every page carries a Content-Security-Policy that forbids scripts (the
leaderboards allow exactly one inline script, the column sorter, by its hash) and long messages
are capped.

Two views of one stored result: the **instructor** report (everything) and the **student** report,
which shows only what the assignment's ``[visibility]`` policy allows: no hidden test names, no
messages of hidden checks (unless allowed), no held-out inputs or labels (the scorers' figures and
tables are instructor-only unless they are marked ``"audience": "public"``, or ``"predictions"``
where the policy shows predictions on held-out inputs), no host paths, sandbox internals, grader
warnings or links to other students' pages.

Layout written under ``out_dir``::

    index.html
    <assignment>/leaderboard.html
    <assignment>/<submission_id>.html
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd
from markupsafe import Markup

from harness.results import CheckResult, SubmissionResult

if TYPE_CHECKING:  # pragma: no cover
    from harness.manifest import Visibility

__all__ = [
    "MAX_MESSAGE_CHARS",
    "VIEWS",
    "public_leaderboard_frame",
    "report_filename",
    "safe_name",
    "scrub_paths",
    "write_all",
    "write_index",
    "write_leaderboard",
    "write_public_leaderboard",
    "write_submission_report",
]

#: The two renderings of one stored result.
VIEWS = ("instructor", "student")

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


_ROOTS = "work|tmp|root|home|usr|opt|var|srv|mnt|proc|etc|dev|run|private|Users|Volumes|scratch|data|nix"
# an absolute path of two or more components, or one under a well-known root; also ~/... and C:\...
_PATH_RE = re.compile(
    r"(?<![\w.:/~\\-])(?:~|[A-Za-z]:)?(?:[/\\][^\s/\\'\"<>:,;()\[\]{}|*?]+){2,}[/\\]?"
    rf"|(?<![\w.:/~\\-])/(?:{_ROOTS})\b/?"
    r"|(?<![\w.:/~\\-])~[/\\][^\s'\"<>:,;()\[\]{}|*?]*"
)
_TEST_FILE_RE = re.compile(r"^(test_|conftest)|_test\.py$|cases|oracle|hidden|reference|^tests?$", re.I)


def scrub_paths(text: str) -> str:
    """``text`` without host paths: an absolute path becomes ``…/<package>/<file>.py`` when it
    names a (student's) module, otherwise ``<path>``. Test, case and oracle files are never named."""

    def repl(m: re.Match) -> str:
        parts = re.split(r"[/\\]", m.group(0).rstrip("/\\"))
        base = parts[-1]
        if not base.endswith(".py") or _TEST_FILE_RE.search(base):
            return "<path>"
        if len(parts) >= 3 and parts[-2].isidentifier() and not _TEST_FILE_RE.search(parts[-2]):
            return f"…/{parts[-2]}/{base}"
        return f"…/{base}"

    return _PATH_RE.sub(repl, text)


_SKIP_RE = re.compile(r"^\d+ tests?(?:\(s\))? (?:were )?skipped\b", re.I)


def is_batch_note(warning: str) -> bool:
    """Warnings that describe the grading machine, not the submission ("14 test(s) skipped, not
    counted: no CUDA device"): shown once per batch, and as a note (not a warning) per student."""
    return bool(_SKIP_RE.match(str(warning)))


def batch_notes(results: Iterable[SubmissionResult]) -> list[str]:
    """Each distinct batch note with the number of submissions it applies to, most common first."""
    results = list(results)
    counts = Counter(w for r in results for w in dict.fromkeys(r.warnings) if is_batch_note(w))
    return [f"{clean_text(w, 500)[0]} (on {n} of {len(results)} submission(s))" for w, n in counts.most_common()]


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


def _wbr(text: Any) -> Markup:
    """``text`` escaped, with a line-break opportunity after each ``_`` and ``.`` (column headings)."""
    return Markup(re.sub(r"([_.])", r"\1<wbr>", str(Markup.escape(str(text)))))


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
            score=fmt_score, ratio=fmt_ratio, ms=fmt_ms, spread=fmt_spread, value=fmt_value, wbr=_wbr
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

#: environment keys a student may see (no host names, backends or worker internals)
STUDENT_ENVIRONMENT = ("device", "python", "torch", "torchvision", "harness", "seed")
#: a scorer's figure (or table) shown in the student view: "public" (no held-out inputs or labels);
#: "predictions" (the submission's predictions on held-out inputs, no ground truth) only where the
#: policy's show_heldout_predictions allows it. Anything else (the default) is instructor-only.
PUBLIC_AUDIENCES = ("public",)
_GRADER_NOTE = "an internal grading error occurred; the course staff have the details"


def _policy(policy: "Visibility | None") -> "Visibility":
    if policy is not None:
        return policy
    from harness.manifest import Visibility

    return Visibility()


def _anchor(prefix: str, name: str) -> str:
    return f"{prefix}-{safe_name(name)}"


class _Text:
    """Displayable text for one view: cleaned and cut always; host paths scrubbed and grader
    notes replaced in the student view."""

    def __init__(self, view: str) -> None:
        self.student = view == "student"

    def __call__(self, text: Any, limit: int = MAX_MESSAGE_CHARS) -> tuple[str, int]:
        s = "" if text is None else str(text)
        if self.student:
            if s.lstrip().startswith("(grader)") or s.startswith("internal grading error"):
                s = _GRADER_NOTE
            s = scrub_paths(s)
        return clean_text(s, limit)


def _check_view(c: CheckResult, title: str, text: _Text, level: str = "") -> dict[str, Any]:
    msg, cut = text(c.message)
    return {
        "task": c.task,
        "task_title": title,
        "name": c.name,
        "kind": c.kind,
        "suite": str((c.details or {}).get("suite", "")) if c.kind == "test" else "",
        "level": level,
        "score": fmt_score(c.score),
        "max_score": fmt_score(c.max_score),
        "message": msg,
        "cut": cut,
        "duration": f"{c.duration_s:.2f} s" if _num(c.duration_s) is not None else "—",
    }


def _failure_groups(views: list[dict[str, Any]], *, names: bool) -> list[dict[str, Any]]:
    """Failed checks with the same message collapse into one group with a count (first seen
    first). ``names=False`` drops the check names (hidden checks)."""
    groups: dict[str, dict[str, Any]] = {}
    for v in views:
        g = groups.setdefault(v["message"], {"message": v["message"], "cut": v["cut"], "count": 0,
                                             "names": [], "kinds": [], "lost": 0.0, "suites": [], "levels": []})
        g["count"] += 1
        g["lost"] += float(_num(v["max_score"]) or 0.0) - float(_num(v["score"]) or 0.0)
        if names:
            g["names"].append(v["name"])
        for key, val in (("kinds", v["kind"]), ("suites", v["suite"]), ("levels", v["level"])):
            if val and val not in g[key]:
                g[key].append(val)
    out = list(groups.values())
    for g in out:
        g["lost"] = fmt_score(g["lost"])
    return out


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


_SVG_OPEN_RE = re.compile(r"<svg\b[^>]*>", re.S)
_SVG_SIZE_RE = re.compile(r"""\b(width|height)\s*=\s*["']\s*([0-9.]+)\s*(?:px)?\s*["']""")


def _num_text(text: str | None) -> float | None:
    try:
        return _num(float(text)) if text is not None else None
    except ValueError:
        return None


def _scalable(svg: Markup) -> Markup:
    """An SVG wider than a phone screen with a pixel size but no viewBox gets one, so that it
    scales down to a narrow screen instead of being clipped."""
    svg_text = str(svg)
    m = _SVG_OPEN_RE.search(svg_text)
    if not m or "viewbox" in m.group(0).lower():
        return svg
    size = dict(_SVG_SIZE_RE.findall(m.group(0)))
    width, height = _num_text(size.get("width")), _num_text(size.get("height"))
    if width is None or height is None or width <= 360:
        return svg
    tag = m.group(0)[:-1].rstrip("/") + f' viewBox="0 0 {width:g} {height:g}"' + (
        "/>" if m.group(0).endswith("/>") else ">")
    return Markup(svg_text[:m.start()] + tag + svg_text[m.end():])


def _figure_views(figures: Any, view: str, policy: "Visibility") -> list[dict[str, Any]]:
    """A scorer's figures for one view. A figure is ``{"title", "svg"}`` or ``{"title", "tiles":
    [svg, ...], "legend"}`` (tiles wrap on narrow screens), with an optional ``"audience"``
    (see :data:`PUBLIC_AUDIENCES`) and optional ``"student_svg"``/``"student_tiles"``: a version
    without ground truth for the student view where predictions on held-out inputs are allowed."""
    out = []
    for f in figures if isinstance(figures, list) else []:
        if not isinstance(f, Mapping):
            continue
        svg_key, tiles_key = "svg", "tiles"
        if view == "student":
            audience = f.get("audience", "instructor")
            if audience in PUBLIC_AUDIENCES:
                pass
            elif policy.show_heldout_predictions and ("student_svg" in f or "student_tiles" in f):
                svg_key, tiles_key = "student_svg", "student_tiles"
            elif policy.show_heldout_predictions and audience == "predictions":
                pass
            else:
                continue
        tiles = f.get(tiles_key)
        svgs = [trusted_svg(t) for t in tiles] if isinstance(tiles, list) else [trusted_svg(f.get(svg_key))]
        svgs = [_scalable(x) for x in svgs if x is not None]
        if svgs:
            out.append({"title": str(f.get("title", "")), "svgs": svgs, "strip": isinstance(tiles, list),
                        "legend": str(f.get("legend", "")) if isinstance(tiles, list) else ""})
    return out


def _student_check(c: CheckResult, text: _Text) -> CheckResult:
    """The part of a check's record a student may see: messages scrubbed; for metric checks on
    held-out data, the numbers only (the value, floor, target and numeric scalars), no per-item
    tables, figures or strings, unless the scorer marked a table ``"audience": "public"``."""
    d = dict(c.details or {})
    if c.kind in ("speed", "test"):  # timings and a suite name: no held-out data
        details = {k: (text(v, 300)[0] if isinstance(v, str) else v) for k, v in d.items()
                   if not isinstance(v, (dict, list))}
    else:
        details = {k: v for k, v in d.items()
                   if (isinstance(v, (int, float)) and not isinstance(v, bool) and k != "figures")
                   or (k == "metric" and isinstance(v, str))}
        table = d.get("table")
        if isinstance(table, Mapping) and table.get("audience") in PUBLIC_AUDIENCES:
            details["table"] = table
    return dataclasses.replace(c, message=text(c.message)[0], details=details)


def _kind_sections(checks: list[CheckResult], view: str, policy: "Visibility",
                   text: _Text) -> list[dict[str, Any]]:
    """One report section per check kind that has a view (speed, accuracy, probes, ...)."""
    from harness.checks import kinds_in_order

    sections = []
    for kind in kinds_in_order():
        if not kind.template:
            continue
        items = []
        for c in checks:
            if c.kind != kind.result_kind:
                continue
            shown = _student_check(c, text) if view == "student" else c
            v = kind.view(shown)
            if v is None:
                continue
            if isinstance(v, dict) and "figures" in v:
                v = dict(v, figures=_figure_views((c.details or {}).get("figures"), view, policy))
            items.append(v)
        if items:
            sections.append({"template": kind.template, "title": kind.section, "anchor": kind.table,
                             "items": items})
    return sections


def _task_row(t, shown: list[CheckResult], withheld: list[CheckResult], by_level: dict[str, list]) -> dict:
    if withheld:
        score = sum(float(_num(c.score) or 0.0) for c in shown)
        points = sum(float(_num(c.max_score) or 0.0) for c in shown)
    else:
        score, points = t.score, t.points
    visible = by_level["visible"]
    hidden = by_level["hidden"]
    return {
        "id": t.id,
        "title": t.title,
        "score": fmt_score(score) if shown or not withheld else "—",
        "points": fmt_score(points) if shown or not withheld else "—",
        "passed": sum(c.passed for c in visible),
        "total": len(visible),
        "hidden_passed": sum(c.passed for c in hidden),
        "hidden_total": len(hidden),
        "score_only": len(by_level["score_only"]),
        "withheld": len(withheld),
        "withheld_points": fmt_score(sum(float(_num(c.max_score) or 0.0) for c in withheld)),
        "pct": _pct_value(score, points),
        "pct_text": fmt_pct(score, points),
        "full": _num(score) is not None and _num(points) is not None and points > 0 and score >= points,
        "failures_href": "",
    }


def _submission_context(result: SubmissionResult, view: str = "instructor", policy: "Visibility | None" = None,
                        *, index_href: str | None = "../index.html",
                        leaderboard_href: str | None = "leaderboard.html", pseudonym: str = "") -> dict[str, Any]:
    if view not in VIEWS:
        raise ValueError(f"view={view!r}: allowed values are {', '.join(VIEWS)}")
    student = view == "student"
    if student:
        policy = _policy(policy)
    text = _Text(view)
    tasks, failures, passed_views, shown_checks = [], [], [], []
    n_passed = n_total = 0
    withheld_points = 0.0
    shown_score = shown_max = 0.0
    for t in result.tasks:
        by_level: dict[str, list[CheckResult]] = {"visible": [], "hidden": [], "score_only": [], "after_release": []}
        for c in t.checks:
            level = policy.level(c) if policy is not None else "visible"
            by_level["visible" if not student else level].append(c)
        withheld = by_level["after_release"]
        withheld_ids = {id(c) for c in withheld}
        shown = [c for c in t.checks if id(c) not in withheld_ids]
        row = _task_row(t, shown, withheld, by_level)
        tasks.append(row)
        shown_checks += by_level["visible"]
        withheld_points += sum(float(_num(c.max_score) or 0.0) for c in withheld)
        shown_score += sum(float(_num(c.score) or 0.0) for c in shown)
        shown_max += sum(float(_num(c.max_score) or 0.0) for c in shown)
        n_passed += row["passed"] + row["hidden_passed"]
        n_total += row["total"] + row["hidden_total"]
        levels = {id(c): (policy.level(c) if policy is not None else "") for c in t.checks}
        failed = [_check_view(c, t.title, text, levels[id(c)]) for c in by_level["visible"] if not c.passed]
        passed_views += [_check_view(c, t.title, text, levels[id(c)]) for c in by_level["visible"] if c.passed]
        hidden_failed = [c for c in by_level["hidden"] if not c.passed]
        hidden_groups = []
        if hidden_failed and policy is not None and policy.show_hidden_failures:
            hidden_groups = _failure_groups([_check_view(c, t.title, text) for c in hidden_failed], names=False)
        if failed or hidden_failed:
            anchor = _anchor("fail", t.id)
            row["failures_href"] = "#" + anchor
            failures.append({
                "id": t.id, "title": t.title, "anchor": anchor, "n_failed": len(failed),
                "groups": _failure_groups(failed, names=True),
                "hidden_failed": len(hidden_failed), "hidden_total": row["hidden_total"],
                "hidden_groups": hidden_groups,
            })
    error, error_cut = text(result.error)
    warnings, notes = [], []
    for w in result.warnings:
        w = str(w)
        if student and w.lstrip().startswith("(grader)"):
            continue
        (notes if is_batch_note(w) else warnings).append(text(w)[0])
    sandbox = dict(result.sandbox or {})
    sandbox_notes = sandbox.pop("notes", []) or []
    if isinstance(sandbox_notes, str):
        sandbox_notes = [sandbox_notes]
    environment = dict(result.environment or {})
    if student:
        environment = {k: text(environment[k], 200)[0] for k in STUDENT_ENVIRONMENT if k in environment}
    withheld = withheld_points > 0
    total_score = shown_score if withheld else result.score
    total_max = shown_max if withheld else result.max_score
    return {
        "r": result,
        "view": view,
        "title": f"{result.submission_id} — {result.assignment}",
        "score": fmt_score(total_score),
        "max_score": fmt_score(total_max),
        "pct_text": fmt_pct(total_score, total_max),
        "pct": _pct_value(total_score, total_max),
        "withheld_points": fmt_score(withheld_points) if withheld else "",
        "error": error,
        "error_cut": error_cut,
        "warnings": warnings,
        "notes": notes,
        "tasks": tasks,
        "failures": failures,
        "n_failed": sum(f["n_failed"] + f["hidden_failed"] for f in failures),
        "n_passed": n_passed,
        "n_total": n_total,
        "passed": passed_views,
        "sections": _kind_sections(shown_checks, view, policy if policy is not None else _policy(None), text),
        "environment": _flatten(environment),
        "sandbox": [] if student else _flatten(sandbox),
        "sandbox_notes": [] if student else [clean_text(n)[0] for n in sandbox_notes],
        "sandbox_alerts": [] if student else _sandbox_alerts(result.sandbox or {}),
        "timings": [] if student else [
            (k, f"{v:.2f} s" if k.endswith("_s") and _num(v) is not None else fmt_value(v))
            for k, v in (result.timings or {}).items()],
        "index_href": None if student else index_href,
        "leaderboard_href": leaderboard_href,
        "pseudonym": pseudonym,
        "policy": policy,
        "max_chars": MAX_MESSAGE_CHARS,
    }


def write_submission_report(result: SubmissionResult, out_dir: Path, *, view: str = "instructor",
                            policy: "Visibility | None" = None, path: Path | None = None,
                            leaderboard_href: str | None = None, pseudonym: str = "") -> Path:
    """Write ``out_dir/<assignment>/<submission_id>.html`` (or ``path``) and return its path.

    ``view="instructor"`` shows everything (``policy``, when given, only labels what students
    see); ``view="student"`` shows only what ``policy`` (the assignment's ``[visibility]``;
    default: the hidden suite hidden) allows, without host paths, sandbox details, grader
    warnings or links to other pages (``leaderboard_href``: an anonymised leaderboard shipped
    with it)."""
    if path is None:
        path = Path(out_dir) / safe_name(result.assignment) / report_filename(result.submission_id)
    if view == "instructor" and leaderboard_href is None:
        leaderboard_href = "leaderboard.html"
    context = _submission_context(result, view, policy, leaderboard_href=leaderboard_href, pseudonym=pseudonym)
    return _write(Path(path), "submission.html.j2", **context)


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


def scatter_svg_data(points: list[tuple[str, float, float]], max_score: float,
                     highlight: str | None = None) -> dict[str, Any]:
    """Speed vs. score: ``points`` are ``(student id, geometric-mean ratio > 0, score)``; the x axis
    is logarithmic, with a dashed line at ratio 1 (as fast as the baseline). Labels never overlap
    (a dot without room keeps its tooltip); the ``highlight`` id is marked."""
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
    dots = [
        {"x": sx(x), "y": sy(y), "id": sid, "label": _truncate(sid, 24), "you": sid == highlight,
         "tip": f"{sid}: speed ratio {x:.3g}×, score {fmt_score(y)}"}
        for sid, x, y in points
    ]
    _place_labels(dots, len(points) <= 40)
    return {
        "w": _W, "h": _H, "ml": _ML, "mt": _MT, "pw": pw, "ph": ph,
        "dots": dots, "xticks": xticks, "one_x": sx(1.0),
        "yticks": [{"y": sy(t), "label": fmt_score(t)} for t in _nice_ticks(ytop)],
        "xlabel": "speed ratio, geometric mean over speed checks (student / baseline, log; lower is faster)",
        "ylabel": "score",
    }


def _truncate(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


_LABEL_PX_PER_CHAR, _LABEL_H = 5.9, 11.0  # 10px sans-serif, generous


def _place_labels(dots: list[dict[str, Any]], enabled: bool = True) -> None:
    """Give each dot a label position that overlaps neither another label nor a dot and stays in
    the chart, trying right, left, above and below; a dot without room keeps only its tooltip.
    Sets ``show``, ``lx``, ``ly`` (baseline) and ``anchor`` on each dot."""
    r = 5.5
    taken: list[tuple[float, float, float, float]] = [(d["x"] - r, d["y"] - r, d["x"] + r, d["y"] + r)
                                                      for d in dots]

    def free(box: tuple[float, float, float, float], own: int) -> bool:
        x0, y0, x1, y1 = box
        if x0 < 2 or x1 > _W - 2 or y0 < 2 or y1 > _MT + (_H - _MT - _MB) + 2:
            return False
        for i, (a0, b0, a1, b1) in enumerate(taken):
            if i == own:
                continue
            if x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1:
                return False
        return True

    # dots near the top-left first, so that crowded clusters label their outliers consistently
    for n, d in sorted(enumerate(dots), key=lambda e: (e[1]["y"], e[1]["x"])):
        d["show"], d["lx"], d["ly"], d["anchor"] = False, d["x"], d["y"], "start"
        if not enabled:
            continue
        w = len(d["label"]) * _LABEL_PX_PER_CHAR
        x, y = d["x"], d["y"]
        candidates = [  # (left edge, top edge, anchor, text x)
            (x + 8, y - _LABEL_H / 2 - 1, "start", x + 8),
            (x - 8 - w, y - _LABEL_H / 2 - 1, "end", x - 8),
            (x + 6, y - 7 - _LABEL_H, "start", x + 6),
            (x + 6, y + 7, "start", x + 6),
            (x - 6 - w, y - 7 - _LABEL_H, "end", x - 6),
            (x - 6 - w, y + 7, "end", x - 6),
            (x - w / 2, y - 8 - _LABEL_H, "middle", x),
            (x - w / 2, y + 8, "middle", x),
        ]
        for left, top, anchor, tx in candidates:
            box = (left, top, left + w, top + _LABEL_H)
            if free(box, n):
                taken.append(box)
                d["show"], d["lx"], d["ly"], d["anchor"] = True, tx, top + _LABEL_H - 2, anchor
                break


#: The one script any page carries: makes ``table.sortable`` columns sortable by a click. Without
#: it (or with scripts off) the table stays a static table in rank order. Allowed by its hash in
#: the page's Content-Security-Policy, never by 'unsafe-inline'.
SORT_SCRIPT = """
(function () {
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };
  each(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head || !table.tBodies.length) { return; }
    each(head.cells, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var now = th.getAttribute("aria-sort");
        var asc = now ? now !== "ascending" : th.getAttribute("data-first") !== "desc";
        each(head.cells, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var key = function (row) {
          var cell = row.cells[col], v = cell ? cell.getAttribute("data-v") : null;
          if (v === null) { return cell ? cell.textContent.trim().toLowerCase() : ""; }
          return v === "" ? null : parseFloat(v);
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (x === y) { return 0; }
          if (x === null) { return 1; }
          if (y === null) { return -1; }
          return (x < y ? -1 : 1) * (asc ? 1 : -1);
        });
        each(rows, function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""


def script_hash(script: str) -> str:
    """The CSP source that allows exactly ``script`` as an inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _sortable() -> dict[str, Any]:
    return {"sort_script": Markup(SORT_SCRIPT), "script_src": script_hash(SORT_SCRIPT)}


def _data_v(x: Any) -> str:
    v = _num(x)
    return "" if v is None else repr(round(v, 6))


def _stats(df: pd.DataFrame, column: str, max_score: float) -> list[tuple[str, str]]:
    desc = df[column].agg(["count", "mean", "median", "min", "max"]) if not df.empty else None
    stats = [
        ("submissions", str(len(df))),
        ("graded", str(int((df["status"] == "graded").sum())) if not df.empty else "0"),
        ("errors", str(int((df["status"] == "error").sum())) if not df.empty else "0"),
    ]
    if desc is not None:
        stats += [(k, fmt_score(desc[k])) for k in ("mean", "median", "min", "max")]
    stats.append(("max possible", fmt_score(max_score)))
    return stats


def _leaderboard_context(assignment: str, results: list[SubmissionResult]) -> dict[str, Any]:
    results = [r for r in _latest_per_student(results) if r.assignment == assignment]
    df, task_cols, speed_cols = leaderboard_frame(results)
    max_score = float(df["max_score"].max()) if not df.empty else 0.0
    rows = []
    for rec in df.to_dict("records"):
        rows.append({
            "rank": int(rec["rank"]),
            "student_id": rec["student_id"],
            "href": rec["href"],
            "score": fmt_score(rec["score"]),
            "score_v": _data_v(rec["score"]),
            "max_score": fmt_score(rec["max_score"]),
            "pct": "—" if pd.isna(rec["pct"]) else f"{rec['pct']:.1f}%",
            "pct_v": _data_v(rec["pct"]),
            "tasks": [(fmt_score(rec[c]), _data_v(rec[c])) for c, *_ in task_cols],
            "speed": [(fmt_ratio(rec[c]), _data_v(rec[c])) for c, _ in speed_cols],
            "gmean": fmt_ratio(rec["speed_gmean"]),
            "gmean_v": _data_v(rec["speed_gmean"]),
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
        "stats": _stats(df, "score", max_score),
        "hist": histogram_svg_data([float(s) for s in df["score"]], max_score),
        "scatter": scatter_svg_data(points, max_score) if points else None,
        "n_without_speed": len(df) - len(points),
        "index_href": "../index.html",
        "notes": batch_notes(results),
        **_sortable(),
    }


def write_leaderboard(assignment: str, results: list[SubmissionResult], out_dir: Path) -> Path:
    """Write ``out_dir/<assignment>/leaderboard.html`` from the records of ``assignment`` in
    ``results`` (records of other assignments are ignored) and return its path."""
    path = Path(out_dir) / safe_name(assignment) / "leaderboard.html"
    return _write(path, "leaderboard.html.j2", **_leaderboard_context(assignment, results))


# --------------------------------------------------------------------------------------------
# published leaderboard (for students)
# --------------------------------------------------------------------------------------------


def score_split(result: SubmissionResult, policy: "Visibility | None" = None) -> dict[str, float]:
    """Public and private points of one result (like Codabench's phases): public are the checks a
    student sees as ``visible`` before release; private the rest (hidden tests, held-out checks
    set to ``hidden``, ``score_only`` or ``after_release``)."""
    policy = _policy(policy)
    out = {"public": 0.0, "public_max": 0.0, "private": 0.0, "private_max": 0.0}
    for t in result.tasks:
        for c in t.checks:
            part = "public" if policy.declared_level(c) == "visible" else "private"
            out[part] += float(_num(c.score) or 0.0)
            out[part + "_max"] += float(_num(c.max_score) or 0.0)
    return out


def public_leaderboard_frame(results: list[SubmissionResult], policy: "Visibility | None" = None,
                             names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per submission: ``name`` (from ``names``; the id where missing), public and
    private points, total, the speed geometric mean, status and rank: by the public score until
    the policy is ``released``, then by the total."""
    policy = _policy(policy)
    rows = []
    for r in results:
        split = score_split(r, policy)
        ratios = [(c.details or {}).get("ratio") for c in r.speed_checks() if policy.level(c) == "visible"]
        rows.append({"student_id": r.submission_id, "name": (names or {}).get(r.submission_id, r.submission_id),
                     **split, "total": split["public"] + split["private"],
                     "max_total": split["public_max"] + split["private_max"],
                     "speed_gmean": _geomean(ratios), "status": r.status})
    columns = ["student_id", "name", "public", "public_max", "private", "private_max", "total", "max_total",
               "speed_gmean", "status"]
    df = pd.DataFrame(rows, columns=columns)
    by = "total" if policy.released else "public"
    if df.empty:
        df["rank"] = pd.Series(dtype="int64")
        return df
    df["speed_gmean"] = pd.to_numeric(df["speed_gmean"], errors="coerce").astype("float64")
    df["rank"] = df[by].round(6).rank(method="min", ascending=False).astype("int64")
    return df.sort_values(["rank", "name"], kind="stable").reset_index(drop=True)


def _public_leaderboard_context(assignment: str, results: list[SubmissionResult], policy: "Visibility",
                                names: Mapping[str, str], highlight: str | None, title: str) -> dict[str, Any]:
    results = [r for r in _latest_per_student(results) if r.assignment == assignment]
    df = public_leaderboard_frame(results, policy, names)
    released = policy.released
    by = "total" if released else "public"
    rows = []
    for rec in df.to_dict("records"):
        rows.append({
            "rank": int(rec["rank"]), "name": rec["name"], "you": rec["student_id"] == highlight,
            "public": fmt_score(rec["public"]), "public_v": _data_v(rec["public"]),
            "private": fmt_score(rec["private"]), "private_v": _data_v(rec["private"]),
            "total": fmt_score(rec["total"]), "total_v": _data_v(rec["total"]),
            "gmean": fmt_ratio(rec["speed_gmean"]), "gmean_v": _data_v(rec["speed_gmean"]),
            "status": rec["status"],
        })
    points = [(rec["name"], float(rec["speed_gmean"]), float(rec[by])) for rec in df.to_dict("records")
              if not pd.isna(rec["speed_gmean"])]
    # the public/private maxima of the assignment: a result that could not be graded holds all its
    # points in placeholder checks, so it does not say how they split
    split = df[df["status"] == "graded"] if (df["status"] == "graded").any() else df

    def top(column: str) -> float:
        return float(split[column].max()) if not split.empty else 0.0

    max_by = top("max_total" if released else "public_max")
    has_private = top("private_max") > 0
    return {
        "title": title,
        "assignment": assignment,
        "rows": rows,
        "released": released,
        "has_private": has_private,
        "has_speed": bool(points),
        "public_max": fmt_score(top("public_max")),
        "private_max": fmt_score(top("private_max")),
        "total_max": fmt_score(top("max_total")),
        "stats": _stats(df, by, max_by),
        "hist": histogram_svg_data([float(s) for s in df[by]], max_by),
        "scatter": scatter_svg_data(points, max_by, names.get(highlight) if highlight else None)
        if points else None,
        "you": next((r["name"] for r in rows if r["you"]), ""),
        **_sortable(),
    }


def write_public_leaderboard(assignment: str, results: list[SubmissionResult], path: Path, *,
                             policy: "Visibility | None" = None, names: Mapping[str, str] | None = None,
                             highlight: str | None = None, title: str = "") -> Path:
    """Write a leaderboard students may see to ``path``: names from ``names`` (pseudonyms, ids or
    opt-in names; see :mod:`harness.reports.feedback`), the public score and, once the policy is
    ``released``, the private score and the total; no links, ids or per-check data.
    ``highlight``: the submission id whose row is marked "you"."""
    policy = _policy(policy)
    context = _public_leaderboard_context(assignment, results, policy, names or {}, highlight,
                                          title or f"Leaderboard — {assignment}")
    return _write(Path(path), "public_leaderboard.html.j2", **context)


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
                    "n_warnings": sum(not is_batch_note(w) for w in r.warnings),
                }
                for r in subs
            ],
            "notes": batch_notes(subs),
        })
    path = Path(out_dir) / "index.html"
    return _write(path, "index.html.j2", title="Grading reports", sections=sections,
                  generated=_now_text(generated_at))


def write_all(results: list[SubmissionResult], out_dir: Path, *,
              policies: Mapping[str, "Visibility"] | None = None) -> Path:
    """Write every (instructor) submission report, one leaderboard per assignment and the index;
    return the index path. ``policies`` (assignment -> visibility) label what students see."""
    out_dir = Path(out_dir)
    results = _latest_per_student(results)
    for r in results:
        write_submission_report(r, out_dir, policy=(policies or {}).get(r.assignment))
    for assignment in sorted({r.assignment for r in results}):
        write_leaderboard(assignment, results, out_dir)
    return write_index(results, out_dir)
