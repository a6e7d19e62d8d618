"""Hidden tests of the probes on frozen features [evaluation].

Oracles: a float64 loop for the weighted k-NN votes, the grader's own trusted evaluators
(harness/metrics/probe.py) and scikit-learn's LogisticRegression (the same strictly convex
objective: mean cross-entropy + wd ||W||^2 equals sklearn's with C = 1 / (2 N wd)).
"""

import math

import pytest
import torch
from sklearn.linear_model import LogisticRegression

from harness.metrics.probe import knn_accuracy, linear_probe_accuracy
from harness.testkit import assert_tensor, devices


def clusters(n, d, classes, seed, spread=1.0):
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, d, generator=gen, dtype=torch.float64) * 2
    labels = torch.randint(0, classes, (n,), generator=gen)
    x = centres[labels] + spread * torch.randn(n, d, generator=gen, dtype=torch.float64)
    return x, labels


def votes_oracle(train, labels, test, k, t, c):
    out = torch.zeros(test.shape[0], c, dtype=torch.float64)
    for m, q in enumerate(test.tolist()):
        qn = math.sqrt(sum(v * v for v in q))
        sims = []
        for i, row in enumerate(train.tolist()):
            rn = math.sqrt(sum(v * v for v in row))
            sims.append((sum(a * b for a, b in zip(q, row)) / (qn * rn), -i, int(labels[i])))
        for s, _, y in sorted(sims, reverse=True)[:k]:
            out[m, y] += math.exp(s / t)
    return out


@pytest.mark.task("evaluation")
@pytest.mark.parametrize("k, t", [(1, 0.07), (5, 0.1), (20, 0.07), (7, 1.0)])
def test_knn_classify_matches_a_loop(student, k, t):
    train, labels = clusters(60, 5, 4, seed=k)
    test, _ = clusters(25, 5, 4, seed=k + 100)
    train = train * torch.linspace(0.5, 3.0, 60, dtype=torch.float64)[:, None]  # norms differ: normalise first
    pred, votes = student.knn_classify(train, labels, test, k, t)
    expected = votes_oracle(train, labels, test, k, t, 4)
    assert_tensor(votes, expected, atol=1e-9, rtol=1e-9, case=f"votes, k={k}, T={t}")
    assert_tensor(pred, expected.argmax(1), case="predictions")


@pytest.mark.task("evaluation")
def test_knn_classify_ties_go_to_the_lower_bank_index(student):
    # the bank is 300 exact copies of two directions and the query one of them: its copies tie,
    # and the docstring sends ties to the lower bank index, so the first 5 copies vote
    gen = torch.Generator().manual_seed(7)
    v, w = torch.randn(1, 6, generator=gen, dtype=torch.float64), torch.randn(1, 6, generator=gen, dtype=torch.float64)
    is_v = torch.randint(0, 2, (300,), generator=gen).bool()
    train = torch.where(is_v[:, None], v, w)
    labels = torch.randint(0, 3, (300,), generator=gen)
    labels[is_v.nonzero()[:5, 0]] = torch.tensor([2, 0, 2, 1, 2])
    pred, votes = student.knn_classify(train, labels, v, 5, 0.5, 3)
    expected = votes_oracle(train, labels, v, 5, 0.5, 3)
    assert_tensor(votes, expected, atol=1e-9, rtol=1e-9, case="300 tied bank rows, k = 5")
    assert pred.tolist() == [2]


@pytest.mark.task("evaluation")
def test_knn_classify_accuracy_equals_the_graders(student):
    train, labels = clusters(120, 8, 5, seed=3, spread=2.0)
    test, test_labels = clusters(60, 8, 5, seed=4, spread=2.0)
    pred, _ = student.knn_classify(train.float(), labels, test.float())
    acc = float((pred == test_labels).double().mean())
    assert acc == pytest.approx(knn_accuracy(train, labels, test, test_labels, k=20, temperature=0.07), abs=1e-12)


@pytest.mark.task("evaluation")
@pytest.mark.parametrize("device", devices())
def test_knn_classify_more_neighbours_than_bank_and_extra_classes(student, device):
    train, labels = clusters(6, 3, 2, seed=5)
    test, _ = clusters(4, 3, 2, seed=6)
    pred, votes = student.knn_classify(train.to(device), labels.to(device), test.to(device), 50, 0.5, num_classes=5)
    expected = votes_oracle(train, labels, test, 6, 0.5, 5)
    assert_tensor(votes.cpu(), expected, atol=1e-9, rtol=1e-9, case=f"k > N, C = 5, {device}")
    assert_tensor(pred.cpu(), expected.argmax(1), case="predictions")


@pytest.mark.task("evaluation")
def test_knn_classify_rejects_bad_inputs(student):
    x, y = clusters(5, 3, 2, seed=7)
    with pytest.raises(ValueError, match=r"\bk\b|k must"):
        student.knn_classify(x, y, x, 0)
    with pytest.raises(ValueError, match="temperature"):
        student.knn_classify(x, y, x, 3, 0.0)
    with pytest.raises(ValueError, match="labels|train_features"):
        student.knn_classify(x, y[:4], x)
    with pytest.raises(ValueError, match="train_features|train_labels|empty"):
        student.knn_classify(x[:0], y[:0], x)
    with pytest.raises(ValueError, match="train_features|test_features|dimensions"):
        student.knn_classify(x, y, x[:, :2])
    with pytest.raises(ValueError, match="train_labels|num_classes"):
        student.knn_classify(x, y + 5, x, num_classes=3)
    with pytest.raises(ValueError, match="test_features"):
        student.knn_classify(x, y, x[0])


def sklearn_probabilities(x, y, xt, wd):
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    clf = LogisticRegression(C=1.0 / (2 * x.shape[0] * wd), tol=1e-12, max_iter=10000)
    clf.fit(((x - mean) / std).numpy(), y.numpy())
    return torch.from_numpy(clf.predict_proba(((xt - mean) / std).numpy()))


@pytest.mark.task("evaluation")
@pytest.mark.parametrize("wd", [1e-2, 1e-3])
def test_linear_probe_matches_sklearn(student, wd):
    x, y = clusters(150, 4, 3, seed=8, spread=2.5)
    xt, _ = clusters(40, 4, 3, seed=9, spread=2.5)
    x = x * torch.tensor([1.0, 10.0, 0.1, 3.0], dtype=torch.float64) + 5  # standardisation matters
    xt = xt * torch.tensor([1.0, 10.0, 0.1, 3.0], dtype=torch.float64) + 5
    got = student.linear_probe(x, y, xt, wd, 200)
    assert_tensor(got, sklearn_probabilities(x, y, xt, wd), atol=2e-3, case=f"probabilities, wd={wd}")


@pytest.mark.task("evaluation")
def test_linear_probe_defaults_agree_with_the_graders_probe(student):
    x, y = clusters(200, 6, 4, seed=10, spread=2.5)
    xt, yt = clusters(80, 6, 4, seed=11, spread=2.5)
    got = student.linear_probe(x.float(), y, xt.float())
    assert got.dtype == torch.float64 and got.shape == (80, 4)
    assert_tensor(got.sum(1), torch.ones(80, dtype=torch.float64), atol=1e-9, case="rows sum to 1")
    acc = float((got.argmax(1) == yt).double().mean())
    assert acc == pytest.approx(linear_probe_accuracy(x, y, xt, yt), abs=0.0126)  # one test sample in 80
    assert_tensor(got, sklearn_probabilities(x, y, xt, 1e-4), atol=0.05, case="default weight decay 1e-4")


@pytest.mark.task("evaluation")
def test_linear_probe_rejects_bad_inputs(student):
    x, y = clusters(10, 3, 2, seed=12)
    with pytest.raises(ValueError, match="weight_decay"):
        student.linear_probe(x, y, x, -1.0)
    with pytest.raises(ValueError, match="steps"):
        student.linear_probe(x, y, x, 1e-4, 0)
    with pytest.raises(ValueError, match="train_features|test_features|dimensions"):
        student.linear_probe(x, y, x[:, :2])
    with pytest.raises(ValueError, match="train_features|train_labels|N = 0"):
        student.linear_probe(x[:0], y[:0], x)


@pytest.mark.task("evaluation")
def test_linear_probe_of_one_training_sample(student):
    x, y = clusters(10, 3, 2, seed=13)
    got = student.linear_probe(x[:1], y[:1].clamp(max=0), x)  # one class: probability 1
    assert_tensor(got, torch.ones(10, 1, dtype=torch.float64), atol=1e-12, case="N = 1, C = 1")


@pytest.mark.task("evaluation")
@pytest.mark.parametrize("bad", [-1, -2, 5], ids=["minus-one", "minus-two", "C"])
def test_knn_classify_refuses_each_label_outside_the_classes(student, bad):
    # "a label outside 0..C-1": the first value below and the first above, with C given
    train, labels = clusters(40, 4, 5, seed=5, spread=2.0)
    test, _ = clusters(10, 4, 5, seed=6, spread=2.0)
    pred, _ = student.knn_classify(train, labels, test, 5, 0.1, num_classes=5)
    assert pred.shape == (10,) and bool(((pred >= 0) & (pred < 5)).all())
    wrong = labels.clone()
    wrong[3] = bad
    # a label past C disagrees with num_classes: either may be named; a negative one is wrong alone
    with pytest.raises(ValueError, match="label|num_classes" if bad >= 0 else "label"):
        student.knn_classify(train, wrong, test, 5, 0.1, num_classes=5)
