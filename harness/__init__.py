"""CV3 grading harness: manifests, sandboxes, grading, results store, reports and the CLI."""

__version__ = "0.1.0"
