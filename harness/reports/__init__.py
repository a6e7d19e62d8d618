"""HTML reports, leaderboards and gradebook export, rendered from stored result records only."""

from harness.reports.gradebook import gradebook_frame, write_gradebook_csv
from harness.reports.render import (
    write_all,
    write_index,
    write_leaderboard,
    write_public_leaderboard,
    write_submission_report,
)

__all__ = [
    "gradebook_frame",
    "write_all",
    "write_gradebook_csv",
    "write_index",
    "write_leaderboard",
    "write_public_leaderboard",
    "write_submission_report",
]
