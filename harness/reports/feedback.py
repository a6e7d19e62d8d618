"""Feedback for students: one self-contained folder (or zip) per student, and published leaderboards.

``cv3 feedback ASSIGNMENT --out DIR`` writes, for every graded student, ``DIR/<id>/feedback.html``
(the student view of their report: only what the assignment's ``[visibility]`` allows) and, when
the policy's ``leaderboard`` is not ``none``, ``DIR/<id>/leaderboard.html``: the anonymised
leaderboard with the student's own row marked. With ``--zip`` each folder becomes ``DIR/<id>.zip``
(ready to upload to an LMS or attach to a mail). ``DIR/leaderboard.html`` is the same leaderboard
without a marked row, for the course page.

Names on a published leaderboard are pseudonyms, student ids, or names students opted in to (a
roster column). A pseudonym is an HMAC of the student id under a secret key kept next to the
results store (``results/pseudonyms.key``, created on first use): stable for a student across
assignments and regrades, and not reversible without the key. Delete the key to issue new ones.

Everything here is rendered from stored results only.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import secrets
import shutil
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.reports.render import (
    _latest_per_student,
    safe_name,
    write_public_leaderboard,
    write_submission_report,
)
from harness.results import SubmissionResult

if TYPE_CHECKING:  # pragma: no cover
    from harness.manifest import Assignment, Visibility

__all__ = ["FeedbackItem", "NAME_MODES", "display_names", "load_key", "pseudonym", "publish_leaderboard",
           "read_optin_names", "write_feedback"]

#: how students are named on a published leaderboard (``none``: no leaderboard at all)
NAME_MODES = ("pseudonyms", "ids", "none")
KEY_FILE = "pseudonyms.key"

_ADJECTIVES = (
    "amber", "brave", "bright", "calm", "clever", "cosmic", "crisp", "curious", "daring", "deft", "eager",
    "early", "fancy", "fast", "fearless", "gentle", "glad", "golden", "grand", "happy", "hardy", "honest",
    "humble", "jolly", "keen", "kind", "lively", "lucky", "mellow", "merry", "mighty", "misty", "modest",
    "nimble", "noble", "patient", "plucky", "polite", "proud", "quick", "quiet", "rapid", "ready", "robust",
    "rosy", "rustic", "sharp", "shiny", "silent", "silver", "sly", "smart", "snowy", "solar", "steady",
    "sunny", "swift", "tidy", "upbeat", "valiant", "vivid", "warm", "witty", "zesty",
)
_ANIMALS = (
    "albatross", "badger", "beaver", "bison", "crane", "dingo", "dolphin", "eagle", "falcon", "ferret",
    "finch", "fox", "gazelle", "gecko", "heron", "hedgehog", "ibis", "jackal", "jaguar", "koala", "lemur",
    "lynx", "marmot", "marten", "meerkat", "mink", "moose", "narwhal", "newt", "ocelot", "orca", "osprey",
    "otter", "owl", "panda", "panther", "pelican", "penguin", "puffin", "quail", "rabbit", "raven",
    "salmon", "seal", "shrike", "sparrow", "squid", "stoat", "swan", "tapir", "tern", "tiger", "toucan",
    "turtle", "urchin", "viper", "vole", "walrus", "weasel", "whale", "wombat", "wren", "yak", "zebra",
)


def load_key(path: Path, *, create: bool = True) -> bytes:
    """The pseudonym key in ``path`` (32 random bytes, hex), created readable by its owner only
    when missing and ``create``."""
    path = Path(path)
    if not path.is_file():
        if not create:
            raise FileNotFoundError(f"pseudonym key {path} not found")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return load_key(path, create=False)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"pseudonym key {path} is not hex; delete it to create a new one") from None
    if len(key) < 16:
        raise ValueError(f"pseudonym key {path} is shorter than 16 bytes; delete it to create a new one")
    return key


def pseudonym(student_id: str, key: bytes) -> str:
    """A readable pseudonym (``brave-otter-3f2a``) for ``student_id``: an HMAC-SHA256 under ``key``,
    so it is stable and cannot be traced back to the id without the key."""
    digest = hmac.new(key, str(student_id).encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return f"{_ADJECTIVES[digest[0] % len(_ADJECTIVES)]}-{_ANIMALS[digest[1] % len(_ANIMALS)]}-{digest[2:4].hex()}"


_YES = {"1", "y", "yes", "true", "x"}


def read_optin_names(path: Path) -> dict[str, str]:
    """Names students agreed to show on the leaderboard, from a roster CSV with ``student_id`` and
    either ``leaderboard_name`` (shown when not empty) or ``opt_in`` (yes/true/1) with ``name``."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = {(c or "").strip().lower() for c in reader.fieldnames or []}
        if "student_id" not in fields:
            raise ValueError(f"roster {path} needs a 'student_id' column; found {reader.fieldnames}")
        out = {}
        for row in reader:
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
            sid = row.get("student_id", "")
            if not sid:
                continue
            name = row.get("leaderboard_name", "")
            if not name and row.get("opt_in", "").lower() in _YES:
                name = row.get("name", "")
            if name:
                out[sid] = name[:60]
    return out


def display_names(ids: Iterable[str], *, names: str = "pseudonyms", key: bytes | None = None,
                  optin: Mapping[str, str] | None = None) -> dict[str, str]:
    """id -> the name shown on a published leaderboard: the id (``names="ids"``), else the
    student's opt-in name or their pseudonym (which needs ``key``)."""
    if names not in NAME_MODES or names == "none":
        raise ValueError(f"names={names!r}: allowed values are 'pseudonyms', 'ids'")
    out = {}
    for sid in ids:
        if names == "ids":
            out[sid] = sid
        elif optin and optin.get(sid):
            out[sid] = optin[sid]
        else:
            if key is None:
                raise ValueError("pseudonyms need a key (see load_key)")
            out[sid] = pseudonym(sid, key)
    return out


@dataclass
class FeedbackItem:
    student_id: str
    path: Path  # the student's folder, or their zip
    shown_as: str  # their name on the bundled leaderboard ('' without one)


def _results(assignment: str, results: Iterable[SubmissionResult]) -> list[SubmissionResult]:
    return sorted((r for r in _latest_per_student(results) if r.assignment == assignment),
                  key=lambda r: r.submission_id)


def _zip_folder(folder: Path, dest: Path) -> Path:
    """``folder``'s files in a zip (flat, fixed timestamps: the same feedback gives the same bytes)."""
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.iterdir()):
            info = zipfile.ZipInfo(f.name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, f.read_bytes())
    tmp.replace(dest)
    shutil.rmtree(folder)
    return dest


def write_feedback(assignment: "Assignment", results: Iterable[SubmissionResult], out_dir: Path, *,
                   policy: "Visibility | None" = None, leaderboard: str | None = None, key: bytes | None = None,
                   optin: Mapping[str, str] | None = None, as_zip: bool = False) -> list[FeedbackItem]:
    """Write one feedback bundle per student of ``assignment`` (latest result each) under
    ``out_dir`` and return them. ``policy``: the visibility policy (default: the assignment's);
    ``leaderboard``: one of :data:`NAME_MODES` (default: the policy's)."""
    policy = policy or assignment.visibility
    mode = leaderboard or policy.leaderboard
    if mode not in NAME_MODES:
        raise ValueError(f"leaderboard={mode!r}: allowed values are {', '.join(NAME_MODES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = _results(assignment.name, results)
    names = {} if mode == "none" else display_names([r.submission_id for r in records], names=mode,
                                                     key=key, optin=optin)
    title = f"Leaderboard — {assignment.title or assignment.name}"
    items = []
    for r in records:
        stem = safe_name(r.submission_id)
        folder = out_dir / stem
        if folder.exists():
            shutil.rmtree(folder)
        shown = names.get(r.submission_id, "")
        write_submission_report(r, out_dir, view="student", policy=policy, path=folder / "feedback.html",
                                leaderboard_href="leaderboard.html" if names else None,
                                pseudonym=shown if mode == "pseudonyms" else "")
        if names:
            write_public_leaderboard(assignment.name, records, folder / "leaderboard.html", policy=policy,
                                     names=names, highlight=r.submission_id, title=title)
        path = _zip_folder(folder, out_dir / f"{stem}.zip") if as_zip else folder
        items.append(FeedbackItem(r.submission_id, path, shown))
    if names:
        write_public_leaderboard(assignment.name, records, out_dir / "leaderboard.html", policy=policy,
                                 names=names, title=title)
    return items


def publish_leaderboard(assignment: "Assignment", results: Iterable[SubmissionResult], path: Path, *,
                        policy: "Visibility | None" = None, names: str = "pseudonyms", key: bytes | None = None,
                        optin: Mapping[str, str] | None = None) -> Path:
    """Write the leaderboard students may see (no links, no ids unless ``names="ids"``) to ``path``."""
    policy = policy or assignment.visibility
    records = _results(assignment.name, results)
    shown = display_names([r.submission_id for r in records], names=names, key=key, optin=optin)
    return write_public_leaderboard(assignment.name, records, Path(path), policy=policy, names=shown,
                                    title=f"Leaderboard — {assignment.title or assignment.name}")
