"""The grading process of a grading node: ``python -m harness.executors.grader``.

A Dask worker never grades in its own process: for each of its job slots it keeps one of these
processes, which holds a warm grading context (the sandbox backend configured on the node,
baseline workers, trusted test data built once) exactly like a process of the local pool, and
starts the sandboxed workers that run student code. Requests and replies are JSON lines: the
request on stdin, the reply on a private copy of stdout (the process's own stdout goes to stderr,
so nothing printed by trusted code can corrupt a reply).

    {"assignment": NAME, "root": DIR|null, "options": {...}, "staged": {"id", "path", "sha256", "folder"}}
    -> {"ok": true, "result": {...}} | {"ok": false, "error": "..."}

The process ends when its stdin closes or its parent (the Dask worker) is gone.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the Dask worker died (SIGKILL included): so do we and our workers
            os._exit(3)


def main() -> int:
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # stray prints (pytest, trusted code) go to stderr, never into a reply
    sys.stdout = sys.stderr
    replies = os.fdopen(reply_fd, "w", buffering=1)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="cv3-parent-watch").start()

    from harness.executors.local import _close_grader, init_grader
    from harness.executors import local
    from harness.submissions import StagedSubmission

    current = None
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            key = (req["assignment"], req.get("root"), json.dumps(req["options"], sort_keys=True))
            try:
                if key != current:
                    if local._GRADER is not None:
                        _close_grader(local._GRADER, local._GRADER.sandbox)
                        local._GRADER = None
                    current = None
                    init_grader(req["assignment"], req.get("root"), req["options"])
                    current = key
                s = req["staged"]
                staged = StagedSubmission(s["id"], Path(s["path"]), s["sha256"], Path(s["folder"]))
                reply = {"ok": True, "result": local._GRADER.grade_staged(staged).to_dict()}
            except Exception as e:  # noqa: BLE001 - the machinery failed, not the submission
                reply = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]}
            replies.write(json.dumps(reply) + "\n")
    finally:
        if local._GRADER is not None:
            _close_grader(local._GRADER, local._GRADER.sandbox)
    return 0


if __name__ == "__main__":
    sys.exit(main())
