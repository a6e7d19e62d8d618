"""Data of the probe check: unlabeled digits for ``pretrain`` (sandbox), labeled batches for
``features`` whose labels stay here (trusted side).

The digits are scikit-learn's (public), so the nuisances (shift, contrast, brightness, noise) of
the graded splits are drawn from the course key (harness/secret.py): a submission cannot
regenerate the held-out images exactly. The reference is calibrated over several keys.
"""

from __future__ import annotations

from cv3data.ssl_digits import ssl_digits
from harness.secret import heldout_seed

BATCH_SIZE = 200
HOLDOUT_NAME = "selfsup-probe"


def _seed() -> int:
    return heldout_seed(HOLDOUT_NAME, bits=56)


def unlabeled(device: str = "cpu"):
    """``pretrain(images)``: float32 [1000, 1, 20, 20] in [0, 1], no labels."""
    images, _ = ssl_digits("unlabeled", seed=_seed())
    return [images.to(device)], {}


def _batches(images):
    return [([images[i:i + BATCH_SIZE]], {}) for i in range(0, images.shape[0], BATCH_SIZE)]


def labeled():
    """(train_calls, train_labels, test_calls, test_labels): 400 and 397 digits."""
    seed = _seed()
    train, train_labels = ssl_digits("probe_train", seed=seed)
    test, test_labels = ssl_digits("probe_test", seed=seed)
    return _batches(train), train_labels, _batches(test), test_labels
