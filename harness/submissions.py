"""Finding, unpacking and staging submissions (folders or zip files), on the trusted side.

Nothing here executes submission code: files are copied, zip members are checked before
extraction, and Python sources are only parsed (for syntax errors and forbidden imports).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

# the static checks and staging rules are shared with the student's pack.py (stdlib only)
from harness.static_checks import (MAX_FILES, MAX_TOTAL_BYTES, SKIP_NAMES, StaticCheckError, forbidden_imports,
                                   no_package_message, package_files, syntax_errors)

__all__ = ["MAX_FILES", "MAX_TOTAL_BYTES", "SKIP_NAMES", "SubmissionError", "SubmissionSource", "StagedSubmission",
           "discover", "stage", "stage_submission", "syntax_errors", "forbidden_imports", "content_hash",
           "raw_fingerprint"]


class SubmissionError(Exception):
    """A malformed submission; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class SubmissionSource:
    id: str  # the student id: folder or zip name without extension, or the LMS's id (below)
    path: Path
    name: str = ""  # the student's name where the download layout holds one
    lms: str = ""  # "moodle" (id: participant id) or "canvas" (id: Canvas user id); "" otherwise


@dataclass(frozen=True)
class StagedSubmission:
    """A submission copied once into a private folder; ``sha256`` is the hash of exactly what is
    graded (``path`` holds ``<package>/``)."""

    id: str
    path: Path
    sha256: str
    folder: Path  # remove() deletes this (it holds path)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _looks_like_submission(path: Path, package: str) -> bool:
    if path.suffix == ".zip" and path.is_file():
        return True
    return path.is_dir() and (
        (path / package / "__init__.py").is_file()
        or (path / "__init__.py").is_file() and path.name == package
    )


# LMS download layouts. Moodle's "Download all submissions" names each student's folder (or, for
# older versions, each file) '<Full Name>_<participant id>_assignsubmission_<plugin>_[<file>]';
# the participant id is what its grading worksheet calls 'Participant <id>'. Canvas's
# submissions zip names each file '<login>_[LATE_]<user id>_<submission id>_<file name>'; the
# user id is the 'ID' column of its gradebook.
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")
_CANVAS = re.compile(r"^(?P<login>.+?)_(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$")


def _visible(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and p.name not in SKIP_NAMES]


def _moodle_payload(folder: Path, package: str) -> Path:
    """What to stage from a Moodle student folder: the single zip in it, else the folder itself
    (which holds the package, or fails staging with a listing of what it holds)."""
    if _looks_like_submission(folder, package) or (folder / "__init__.py").is_file():
        return folder
    entries = _visible(folder)
    if any((p / package / "__init__.py").is_file() for p in entries if p.is_dir()):
        return folder
    zips = [p for p in entries if p.is_file() and p.suffix.lower() == ".zip"]
    return zips[0] if len(zips) == 1 else folder


def _lms_source(path: Path, package: str) -> SubmissionSource | None:
    """The submission ``path`` stands for in an LMS download layout; None when it is not in one.
    (Moodle's online-text folders and files are not submissions: ``SubmissionSource('', ...)``.)"""
    m = _MOODLE.match(path.name)
    if m:
        if m["plugin"] != "file":
            return SubmissionSource("", path)  # e.g. onlinetext: skipped
        if path.is_dir() and not m["file"]:
            return SubmissionSource(m["id"], _moodle_payload(path, package), m["name"], "moodle")
        if path.is_file() and m["file"]:
            return SubmissionSource(m["id"], path, m["name"], "moodle")
        return None
    m = _CANVAS.match(path.name)
    if m and path.is_file():
        return SubmissionSource(m["id"], path, m["login"], "canvas")
    return None


def discover(path: Path, package: str) -> list[SubmissionSource]:
    """One submission (a folder or zip holding the package) or a folder of them, one per
    student, named by student id; LMS downloads (Moodle's assignment download, Canvas's
    submissions zip, unpacked) are recognised and take the LMS's id."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder")
    lms = _lms_source(path, package)
    if lms is not None and lms.id:  # one student's folder or file from an LMS download
        return [lms]
    if _looks_like_submission(path, package):
        if path.name == package and (path / "__init__.py").is_file():
            name = path.parent.name
        else:  # a folder's id is its whole name ('jane.doe'), a zip's its name without '.zip'
            name = path.stem if path.is_file() else path.name
        return [SubmissionSource(name, path)]
    if not path.is_dir():
        raise SubmissionError(f"{path}: expected a folder or a .zip file")
    found: list[SubmissionSource] = []
    canvas: dict[str, list[tuple[int, SubmissionSource]]] = {}
    moodle: dict[str, list[SubmissionSource]] = {}
    for child in _visible(path):
        src = _lms_source(child, package)
        if src is not None:
            if not src.id:
                continue
            if src.lms == "canvas":
                canvas.setdefault(src.id, []).append((int(_CANVAS.match(child.name)["sub"]), src))
            else:
                moodle.setdefault(src.id, []).append(src)
        elif child.is_dir() or child.suffix == ".zip":
            found.append(SubmissionSource(child.stem if child.suffix == ".zip" else child.name, child))
    for entries in moodle.values():
        # a folder per student (or a file per uploaded file): prefer a folder, then a single zip
        folders = [s for s in entries if s.path.is_dir() or s.path.parent != path]
        zips = [s for s in entries if s.path.suffix.lower() == ".zip"]
        found.append(folders[0] if folders else zips[0] if zips else entries[0])
    for entries in canvas.values():
        # Canvas keeps every file of the latest submission: the zip, the newest if several;
        # a student who uploaded no zip gets the file, which staging refuses with a reason
        entries.sort(key=lambda e: e[0])
        zips = [s for _, s in entries if s.path.suffix.lower() == ".zip"]
        found.append(zips[-1] if zips else entries[-1][1])
    found.sort(key=lambda s: (s.id, s.path.name))
    ids = [s.id for s in found]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        kinds = {s.path.suffix == ".zip" for s in found if s.id in dupes}
        if len(kinds) == 2 and not any(s.lms for s in found if s.id in dupes):
            raise SubmissionError(f"{path}: student id(s) {dupes} appear both as a folder and a zip; keep one")
        where = ", ".join(s.path.name for s in found if s.id in dupes)
        raise SubmissionError(f"{path}: student id(s) {dupes} appear more than once ({where}); keep one each")
    return found


def _safe_extract(archive: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise SubmissionError(f"{archive.name}: not a readable zip file ({e}); re-create the archive") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_FILES:
            raise SubmissionError(f"{archive.name}: {len(members)} entries, more than {MAX_FILES}")
        total = 0
        for m in members:
            name = m.filename
            parts = Path(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
                raise SubmissionError(
                    f"{archive.name}: member '{name}' points outside the archive (absolute path "
                    "or '..'); re-create the zip from inside your project folder"
                )
            mode = m.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise SubmissionError(f"{archive.name}: member '{name}' is a symbolic link; links are not accepted")
            total += m.file_size
            if total > MAX_TOTAL_BYTES:
                raise SubmissionError(f"{archive.name}: unpacks to more than {MAX_TOTAL_BYTES >> 20} MB")
        for m in members:
            target = dest / m.filename
            if not target.resolve().is_relative_to(dest.resolve()):
                raise SubmissionError(f"{archive.name}: member '{m.filename}' escapes the archive")
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def _find_package(root: Path, package: str) -> Path:
    candidates = [root / package]
    tops = [p for p in root.iterdir() if p.name not in SKIP_NAMES and not p.name.startswith(".")]
    if len(tops) == 1 and tops[0].is_dir():
        candidates.append(tops[0] / package)
        if tops[0].name == package:
            candidates.insert(0, tops[0])
    if root.name == package:
        candidates.insert(0, root)
    inside, outside = root.resolve(), []
    for c in candidates:
        # a symlink out of the submission (e.g. to ../../reference/<name>) would stage its files
        if not c.resolve().is_relative_to(inside):
            outside.append(c.name)
            continue
        if (c / "__init__.py").is_file():
            return c
    listing = ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in tops)[:12]) or "nothing"
    links = f" ('{outside[0]}' is a link out of the submission; links are not followed)" if outside else ""
    raise SubmissionError(no_package_message(package, listing, links))


def _copy_package(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    try:
        for p, rel in package_files(src):  # the same files pack.py zips
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest / rel)
    except StaticCheckError as e:
        raise SubmissionError(str(e)) from None


def stage(source: SubmissionSource, package: str, dest: Path) -> Path:
    """Copy the submission's package to ``dest/<package>``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    unpacked = dest.parent / (dest.name + "_unpacked")
    try:
        root = source.path
        if root.is_file():
            if root.suffix != ".zip":
                raise SubmissionError(f"{root.name}: only folders and .zip files are accepted")
            unpacked.mkdir()
            _safe_extract(root, unpacked)
            root = unpacked
        pkg = _find_package(root, package)
        _copy_package(pkg, dest / package)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    for dirpath, _dirnames, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    return dest


def content_hash(staged: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(staged.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            # the length makes the stream unambiguous: ('a': 'b\0X') must not hash like ('a': '', 'b': 'X')
            h.update(str(f.relative_to(staged)).encode() + b"\0" + len(data).to_bytes(8, "little"))
            h.update(data)
    return h.hexdigest()


def stage_submission(source: SubmissionSource, package: str, folder: Path) -> StagedSubmission:
    """Stage ``source`` into ``folder`` (which is removed again if staging fails) and hash it.

    Any failure to read the submission (a bad zip, a missing package, an unreadable file) is a
    SubmissionError naming the problem: one bad submission never stops a batch."""
    folder = Path(folder)
    try:
        path = stage(source, package, folder / "submission")
        return StagedSubmission(source.id, path, content_hash(path), folder)
    except SubmissionError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except (OSError, ValueError, EOFError, RuntimeError, zipfile.BadZipFile, NotImplementedError) as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise SubmissionError(f"{source.path.name}: could not be read ({type(e).__name__}: {e}); "
                              "re-create the folder or zip and submit again") from None


def raw_fingerprint(path: Path) -> str:
    """A hash of a submission as handed in (for one that cannot be staged, so that a rerun can
    tell an unchanged broken file from a new one); "" when even that cannot be read."""
    path = Path(path)
    try:
        if path.is_file():
            h = hashlib.sha256(b"raw-file\0")
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            return h.hexdigest()
        if path.is_dir():
            return "raw-dir-" + content_hash(path)
    except OSError:
        pass
    return ""
