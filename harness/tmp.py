"""Scratch folders of the grader: one per owner, named with the owner's pid, removed by their
owner; those of an owner that died (SIGKILL) are swept by the next grader."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "cv3_"
_OWNED = re.compile(r"^cv3_[a-z]+_(\d+)_")


def scratch_dir(kind: str, parent: Path | None = None) -> Path:
    """A new private folder ``cv3_<kind>_<pid>_*`` (in ``parent`` or the temp directory)."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}_{os.getpid()}_", dir=parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove scratch folders whose owner process is gone; returns what was removed."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _OWNED.match(p.name)
        if m and not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
