import warnings

import numpy as np
import pytest
import torch

from _common import randn
from harness.testkit import assert_tensor


def blobs(seed, classes=2, n_per_class=40, labeled_per_class=3, spread=1.2):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [3.0, 1.0], [0.5, 3.0]])[:classes]
    x = np.concatenate([c + spread * rng.standard_normal((n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(classes), n_per_class)
    y_masked = np.full_like(y, -1)
    for c in range(classes):
        idx = np.flatnonzero(y == c)[:labeled_per_class]
        y_masked[idx] = c
    return x, y_masked


def sklearn_self_training(x, y, threshold, max_iter, C=1.0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import SelfTrainingClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SelfTrainingClassifier(LogisticRegression(C=C, tol=1e-12, max_iter=100000), threshold=threshold,
                                       max_iter=max_iter).fit(x, y)
    return model


def compare(student, x, y, threshold, max_iter, C=1.0):
    model = sklearn_self_training(x, y, threshold, max_iter, C)
    out = student.self_training_linear(torch.tensor(x), torch.tensor(y), threshold=threshold, max_iter=max_iter, C=C)
    assert isinstance(out, dict)  # any mapping: the sandbox sends every dict subclass as a plain dict
    assert_tensor(out["labels"], torch.tensor(model.transduction_, dtype=torch.int64), case="labels (transduction_)")
    assert_tensor(out["labeled_iter"], torch.tensor(model.labeled_iter_, dtype=torch.int64), case="labeled_iter")
    assert out["n_iter"] == model.n_iter_, f"n_iter: expected {model.n_iter_}, got {out['n_iter']}"
    test = np.random.default_rng(99).uniform(-2, 5, size=(200, 2))
    proba = torch.softmax(torch.tensor(test) @ out["weight"].double().T + out["bias"].double(), 1)
    assert_tensor(proba, torch.tensor(model.predict_proba(test)), atol=2e-5, case="final model's probabilities")
    return model


@pytest.mark.task("self_training")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_matches_sklearn(student, seed):
    x, y = blobs(seed)
    model = compare(student, x, y, threshold=0.75, max_iter=10)
    assert (model.labeled_iter_ > 0).any()


@pytest.mark.task("self_training")
def test_three_classes_match_sklearn(student):
    x, y = blobs(3, classes=3, n_per_class=30)
    compare(student, x, y, threshold=0.6, max_iter=10, C=0.5)


@pytest.mark.task("self_training")
def test_max_iter_limits_the_rounds(student):
    x, y = blobs(4)
    model = compare(student, x, y, threshold=0.9, max_iter=1)
    assert model.n_iter_ == 1


@pytest.mark.task("self_training")
def test_no_limit_runs_until_no_change(student):
    x, y = blobs(5)
    model = compare(student, x, y, threshold=0.99, max_iter=None)
    assert model.termination_condition_ in ("no_change", "all_labeled")


@pytest.mark.task("self_training")
def test_max_iter_zero_fits_once_on_the_labels(student):
    x, y = blobs(6)
    compare(student, x, y, threshold=0.75, max_iter=0)


@pytest.mark.task("self_training")
def test_non_contiguous_class_ids(student):
    x, y = blobs(7)
    y = np.where(y == 1, 3, y)  # classes {0, 3}
    compare(student, x, y, threshold=0.75, max_iter=5)


@pytest.mark.task("self_training")
def test_bad_inputs(student):
    x = randn(6, 2, seed=1)
    y = torch.tensor([0, 1, -1, -1, -1, -1])
    with pytest.raises(ValueError, match="threshold"):
        student.self_training_linear(x, y, threshold=1.0)
    with pytest.raises(ValueError, match="max_iter"):
        student.self_training_linear(x, y, max_iter=-1)
    with pytest.raises(ValueError, match="y"):
        student.self_training_linear(x, torch.tensor([0, 0, -1, -1, -1, -1]))
    with pytest.raises(ValueError, match="y"):
        student.self_training_linear(x, torch.tensor([0, 1, -2, -1, -1, -1]))
    with pytest.raises(ValueError, match="y"):
        student.self_training_linear(x, y[:4])
    with pytest.raises(TypeError, match="y"):
        student.self_training_linear(x, y.double())
    with pytest.raises(ValueError, match="C"):
        student.self_training_linear(x, y, C=0.0)


@pytest.mark.task("self_training")
def test_a_probability_equal_to_the_threshold_is_not_selected(student):
    # mirror-symmetric labeled points: the given logistic regression puts the two middle points
    # at probability 0.5 exactly; "strictly greater" (sklearn's `>`) leaves them unlabeled
    x = torch.tensor([[-1.0, 0.5], [1.0, 0.5], [0.0, 0.5], [-2.0, 0.5], [2.0, 0.5], [0.0, 0.5]], dtype=torch.float64)
    y = torch.tensor([0, 1, -1, 0, 1, -1])
    out = student.self_training_linear(x, y, threshold=0.5)
    assert out["labels"].tolist() == [0, 1, -1, 0, 1, -1]
    assert out["labeled_iter"].tolist() == [0, 0, -1, 0, 0, -1]
    assert out["n_iter"] == 1
    low = student.self_training_linear(x, y, threshold=0.4)
    assert low["labeled_iter"].tolist() == [0, 0, 1, 0, 0, 1] and set(low["labels"][[2, 5]].tolist()) <= {0, 1}
