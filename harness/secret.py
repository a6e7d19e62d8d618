"""The course key: the secret from which the held-out data of accuracy checks is generated.

The data generators ship to students (``cv3data`` is in every handout), so a held-out split
made from a constant seed written in the repository can be found by trying seeds, and a split
made from the repository's seed is known to anyone who reads it. Held-out seeds therefore come
from a 128-bit key that exists only where the instructor grades:

    heldout_seed("detectors") = HMAC-SHA256(course key, "cv3 held-out seed\\0detectors")[:16]

(a 128-bit integer; ``bits=64`` for consumers such as ``torch.Generator.manual_seed``).

The key file is ``$CV3_COURSE_KEY_FILE`` or, by default, ``results/course.key`` beside the
default results store ``results/cv3.sqlite`` (``results/`` is git-ignored, so the key is never
committed; ``cv3 release`` refuses a handout holding it). It is created with 128 random bits and mode
0600 on first use (the first grade on a fresh clone), or explicitly with ``cv3 init``;
``cv3 init --rotate`` replaces it (keeping the old one beside it) between terms.

Trusted side only: nothing here is imported by the sandbox worker or shipped in a handout.
Standard library only.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

__all__ = ["KEY_ENV", "KEY_BITS", "CourseKeyError", "default_key_file", "key_file", "read_key",
           "ensure_key", "create_key", "rotate_key", "key_id", "heldout_seed"]

KEY_ENV = "CV3_COURSE_KEY_FILE"
KEY_BITS = 128
_HEADER = "# CV3 course key: the secret behind the held-out data of accuracy checks. Keep it private:\n" \
          "# never commit it, never put it in a handout. Rotate between terms with `cv3 init --rotate`.\n"
_SEED_LABEL = b"cv3 held-out seed\0"


class CourseKeyError(RuntimeError):
    """The key file exists but cannot be used; the message says why and how to fix it."""


def default_key_file() -> Path:
    """``results/course.key`` beside the default results store (``results/cv3.sqlite``; both
    relative to the folder cv3 runs in, the repository's root in the nox sessions)."""
    return Path.cwd() / "results" / "course.key"


def key_file() -> Path:
    """The key file in use: ``$CV3_COURSE_KEY_FILE`` if set, else :func:`default_key_file`."""
    env = os.environ.get(KEY_ENV, "").strip()
    return Path(env).expanduser() if env else default_key_file()


def _parse(text: str, path: Path) -> bytes:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) != 1:
        raise CourseKeyError(f"course key file {path}: expected one line of hex digits, found {len(lines)} "
                             f"non-comment lines; recreate it with `cv3 init --rotate`")
    try:
        key = bytes.fromhex(lines[0])
    except ValueError:
        raise CourseKeyError(f"course key file {path}: the key is not hexadecimal; recreate it with "
                             "`cv3 init --rotate`") from None
    if len(key) * 8 < KEY_BITS:
        raise CourseKeyError(f"course key file {path}: the key has {len(key) * 8} bits, at least {KEY_BITS} "
                             "are needed; recreate it with `cv3 init --rotate`")
    return key


def read_key(path: Path | None = None) -> bytes:
    """The key in ``path`` (default :func:`key_file`); FileNotFoundError when there is none."""
    path = Path(path) if path is not None else key_file()
    return _parse(path.read_text(encoding="ascii", errors="replace"), path)


def _write_new(path: Path, *, replace: bool, value: str | None = None) -> None:
    """Write a fresh key (or the hex ``value``) to ``path`` atomically with mode 0600. Without
    ``replace``, an existing key wins (several grading processes may create it at once):
    FileExistsError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".course-key-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(_HEADER + (value if value is not None else secrets.token_hex(KEY_BITS // 8)) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic, and fails if another process created the key first
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: exclusive create instead
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as f, open(tmp, encoding="ascii") as src:
                    f.write(src.read())
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def create_key(path: Path | None = None, *, value: str | None = None) -> Path:
    """Create the key file (128 random bits, or the given hex ``value`` for a reproducible key,
    mode 0600); FileExistsError if it exists."""
    path = Path(path) if path is not None else key_file()
    if path.exists():
        raise FileExistsError(f"course key {path} exists; `cv3 init --rotate` replaces it")
    _write_new(path, replace=False, value=value)
    return path


def ensure_key(path: Path | None = None) -> bytes:
    """The key, created on first use."""
    path = Path(path) if path is not None else key_file()
    try:
        return read_key(path)
    except FileNotFoundError:
        pass
    try:
        _write_new(path, replace=False)
    except FileExistsError:
        pass  # another process was first: use its key
    return read_key(path)


def rotate_key(path: Path | None = None) -> tuple[Path, Path | None]:
    """Replace the key with a fresh one; the old key is kept beside it as
    ``course.key.retired-<UTC time>`` (to reproduce earlier grades). Returns (key, old copy)."""
    path = Path(path) if path is not None else key_file()
    old = None
    if path.exists():
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        old = path.with_name(f"{path.name}.retired-{stamp}")
        try:
            os.link(path, old)  # keeps the old key's mode (0600)
        except OSError:
            fd = os.open(old, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(path.read_bytes())
    _write_new(path, replace=True)
    return path, old


def key_id(key: bytes | None = None) -> str:
    """A short public fingerprint of the key (to tell keys apart in logs; reveals nothing)."""
    key = ensure_key() if key is None else key
    return hmac.new(key, b"cv3 key id", hashlib.sha256).hexdigest()[:12]


def heldout_seed(name: str, *, bits: int = KEY_BITS, key: bytes | None = None) -> int:
    """The seed of the held-out data called ``name`` (e.g. the assignment's name), derived from
    the course key with HMAC-SHA256: ``bits`` (8 to 256, a multiple of 8) wide, so that no one
    without the key can find it by trying seeds. The key is created on first use."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not (8 <= bits <= 256 and bits % 8 == 0):
        raise ValueError(f"bits must be a multiple of 8 in [8, 256], got {bits!r}")
    key = ensure_key() if key is None else key
    digest = hmac.new(key, _SEED_LABEL + name.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[: bits // 8], "big")
