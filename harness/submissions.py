"""Finding, unpacking and staging submissions (folders or zip files), on the trusted side.

Nothing here executes submission code: files are copied, zip members are checked before
extraction, and Python sources are only parsed (for syntax errors and forbidden imports).
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_TOTAL_BYTES = 100 << 20
MAX_FILES = 2000
SKIP_NAMES = {"__pycache__", ".git", ".ipynb_checkpoints", ".DS_Store", "__MACOSX"}


class SubmissionError(Exception):
    """A malformed submission; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class SubmissionSource:
    id: str  # the student id: folder or zip name without extension
    path: Path


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


def discover(path: Path, package: str) -> list[SubmissionSource]:
    """One submission (a folder or zip holding the package) or a folder of them, one per
    student, named by student id."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder")
    if _looks_like_submission(path, package):
        if path.name == package and (path / "__init__.py").is_file():
            name = path.parent.name
        else:  # a folder's id is its whole name ('jane.doe'), a zip's its name without '.zip'
            name = path.stem if path.is_file() else path.name
        return [SubmissionSource(name, path)]
    if not path.is_dir():
        raise SubmissionError(f"{path}: expected a folder or a .zip file")
    found = []
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or child.name in SKIP_NAMES:
            continue
        if child.is_dir() or child.suffix == ".zip":
            found.append(SubmissionSource(child.stem if child.suffix == ".zip" else child.name, child))
    ids = [s.id for s in found]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SubmissionError(
            f"{path}: student id(s) {sorted(dupes)} appear both as a folder and a zip; keep one"
        )
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
    raise SubmissionError(
        f"no package '{package}' found: expected '{package}/__init__.py' at the top of the "
        f"submission (found: {listing}){links}. Submit the folder that contains '{package}/'."
    )


def _copy_package(src: Path, dest: Path) -> None:
    count, total = 0, 0
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in SKIP_NAMES]
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for f in filenames:
            p = Path(dirpath) / f
            if p.is_symlink() or not p.is_file() or f.endswith((".pyc", ".pyo")):
                continue
            count += 1
            total += p.stat().st_size
            if count > MAX_FILES or total > MAX_TOTAL_BYTES:
                raise SubmissionError(
                    f"the package holds more than {MAX_FILES} files or {MAX_TOTAL_BYTES >> 20} MB; "
                    "remove data, checkpoints and virtual environments from it"
                )
            shutil.copyfile(p, dest / rel / f)


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


def syntax_errors(staged: Path) -> list[str]:
    errors = []
    for f in sorted(staged.rglob("*.py")):
        try:
            ast.parse(f.read_bytes(), filename=str(f))
        except SyntaxError as e:
            rel = f.relative_to(staged)
            errors.append(f"{rel}:{e.lineno}: SyntaxError: {e.msg}")
        except ValueError as e:  # e.g. null bytes
            errors.append(f"{f.relative_to(staged)}: cannot be parsed: {e}")
    return errors


def forbidden_imports(staged: Path, forbidden: tuple[str, ...]) -> list[str]:
    """Imports of forbidden modules found by reading the source (the sandbox blocks them too)."""
    def hit(name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in forbidden)

    found = []
    for f in sorted(staged.rglob("*.py")):
        try:
            tree = ast.parse(f.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                fn = node.func
                fname = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
                if fname in ("__import__", "import_module"):
                    names = [node.args[0].value]
            for n in names:
                if hit(n):
                    found.append(f"{f.relative_to(staged)}:{node.lineno}: imports '{n}', which this assignment forbids")
    return found


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
