"""Where the grading unit runs: ``local`` (a process pool on this machine, the default) or
``dask`` (grading nodes of a Dask cluster). The coordinator keeps the store either way."""

from harness.executors.base import EXECUTORS, Executor, ExecutorLost, make_executor, needs_gpu

__all__ = ["EXECUTORS", "Executor", "ExecutorLost", "make_executor", "needs_gpu"]
