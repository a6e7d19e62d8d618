"""The selfsup assignment's data and samples: ``cv3data.ssl_digits`` is deterministic, its splits
are disjoint and carry the promised nuisances; the probe check's data keeps labels on the trusted
side; the bundled sample with a typical mistake (NT-Xent ignoring its temperature) loses the
contrastive points in the hidden tests while the reference passes them."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from cv3data.ssl_digits import SPLITS, add_nuisances, digits, ssl_digits
from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "selfsup" / "tests"


def test_splits_are_deterministic_disjoint_and_in_range():
    a, ya = ssl_digits("unlabeled", seed=3)
    b, yb = ssl_digits("unlabeled", seed=3)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    assert a.shape == (1000, 1, 20, 20) and a.dtype == torch.float32 and ya.dtype == torch.int64
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    c, yc = ssl_digits("unlabeled", seed=4)
    assert torch.equal(ya, yc) and not torch.equal(a, c), "the seed draws the nuisances, not the digits"
    sizes = {name: ssl_digits(name, seed=0)[0].shape[0] for name in SPLITS}
    assert sizes == {"unlabeled": 1000, "probe_train": 400, "probe_test": 397}
    # disjoint digits: no clean digit appears in two splits
    images, _ = digits()
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(0))
    parts = [set(order[lo:hi].tolist()) for lo, hi in SPLITS.values()]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    with pytest.raises(ValueError, match="split"):
        ssl_digits("test")


def test_nuisances_shift_and_rescale_the_digit():
    one = torch.zeros(1, 8, 8)
    one[0, 2:6, 3:5] = 1.0
    clean = add_nuisances(one, 0, max_shift=0, contrast=(1.0, 1.0), brightness=(0.0, 0.0), noise=0.0)
    shifted = [add_nuisances(one, s, contrast=(1.0, 1.0), brightness=(0.0, 0.0), noise=0.0) for s in range(12)]
    centres = {tuple((x[0, 0] > 0.5).nonzero().float().mean(0).round().tolist()) for x in shifted}
    assert len(centres) > 3, "random shifts move the digit"
    dim = add_nuisances(one, 0, max_shift=0, contrast=(0.5, 0.5), brightness=(0.1, 0.1), noise=0.0)
    assert torch.allclose(dim, clean * 0.5 + 0.1)
    with pytest.raises(ValueError, match="8, 8"):
        add_nuisances(torch.zeros(1, 1, 8, 8), 0)


def _load(name):
    return load_module(HIDDEN / f"{name}.py", f"cv3_test_selfsup_{name}")


def test_probe_data_sends_no_labels_into_the_sandbox():
    cases = _load("probe_cases")
    args, kwargs = cases.unlabeled()
    assert len(args) == 1 and not kwargs and args[0].shape == (1000, 1, 20, 20)
    train_calls, train_labels, test_calls, test_labels = cases.labeled()
    for calls in (train_calls, test_calls):
        for call_args, call_kwargs in calls:
            assert not call_kwargs and len(call_args) == 1 and call_args[0].is_floating_point()
    assert sum(c[0][0].shape[0] for c in train_calls) == train_labels.shape[0] == 400
    assert sum(c[0][0].shape[0] for c in test_calls) == test_labels.shape[0] == 397


def _hidden_contrastive(student_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["CV3_STUDENT_DIR"] = str(student_dir)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0",
                           str(HIDDEN / "test_hidden_contrastive.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_typical_mistake_sample_loses_the_contrastive_tests(tmp_path):
    samples = _load_samples()
    paths = {p.name: p for p in samples.build(tmp_path / "samples")}
    assert set(paths) == {"s01_reference", "s02_stub", "s03_partial", "s04_no_temperature", "s05_conventions"}
    bad = _hidden_contrastive(paths["s04_no_temperature"])
    assert bad.returncode != 0 and " failed" in bad.stdout, bad.stdout[-2000:]


def _load_samples():
    spec = importlib.util.spec_from_file_location("cv3_test_selfsup_samples",
                                                  ROOT / "reference" / "selfsup" / "samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
