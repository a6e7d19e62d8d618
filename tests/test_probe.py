"""The [[probe]] check kind: the grader trains the submission's encoder on unlabeled data inside
the sandbox, asks for frozen features of labeled data, and scores k-NN and linear probes on the
trusted side, as the gain over a randomly initialised encoder measured in the same run. Also the
trusted probe evaluators against scikit-learn-free float64 oracles."""

from __future__ import annotations

import textwrap

import pytest
import torch

from harness.grading.context import GradingContext
from harness.manifest import ManifestError, load_manifest
from harness.metrics.probe import knn_accuracy, linear_probe_accuracy
from harness.reports import write_submission_report
from harness.submissions import SubmissionSource

MANIFEST = """
[assignment]
name = "toy"
package = "toy"

[limits]
call_timeout_s = 20

[[task]]
id = "basics"
points = 2
api = ["pretrain", "features"]

[[probe]]
id = "probe"
title = "k-NN gain after pre-training"
points = 10
train = "pretrain"
train_data = "probe_cases:unlabeled"
features = "features"
data = "probe_cases:labeled"
metric = "knn"
floor = 0.05
target = 0.25
k = 10
train_timeout_s = 10
"""

# Four classes in two signal dimensions (cluster centres at +-2), buried among 30 noise
# dimensions: the top principal components find the signal, a random projection mixes it away.
CASES = '''
import torch

def _points(n, seed):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=gen)
    centres = torch.tensor([[2.0, 2.0], [2.0, -2.0], [-2.0, 2.0], [-2.0, -2.0]])
    x = torch.randn(n, 32, generator=gen)
    x[:, :2] = centres[labels] + 0.3 * torch.randn(n, 2, generator=gen)
    return x, labels

def unlabeled(device="cpu"):
    x, _ = _points(400, 1)
    return [x.to(device)], {}

def labeled():
    x, y = _points(200, 2)
    xt, yt = _points(200, 3)
    batches = lambda v: [([v[i:i + 50]], {}) for i in range(0, len(v), 50)]
    return batches(x), y, batches(xt), yt
'''

REFERENCE = '''
import torch

_W = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))

def pretrain(x):
    global _W
    x = x - x.mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    _W = v[:4].T.contiguous()

def features(x):
    return x @ _W
'''

HIDDEN_TEST = '''
import pytest
import torch

@pytest.mark.task("basics")
def test_features_shape(student):
    assert student.features(torch.zeros(3, 32)).shape == (3, 4)
'''


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "course"
    a = root / "assignments" / "toy"
    (a / "toy").mkdir(parents=True)
    (a / "assignment.toml").write_text(MANIFEST)
    (a / "toy" / "__init__.py").write_text("def pretrain(x):\n    raise NotImplementedError\n"
                                           "def features(x):\n    raise NotImplementedError\n")
    (root / "reference" / "toy" / "toy").mkdir(parents=True)
    (root / "reference" / "toy" / "toy" / "__init__.py").write_text(REFERENCE)
    tests = root / "reference" / "toy" / "tests"
    tests.mkdir(parents=True)
    (tests / "test_hidden.py").write_text(HIDDEN_TEST)
    (tests / "probe_cases.py").write_text(CASES)
    return load_manifest(a / "assignment.toml")


def _submit(tmp_path, source: str, name: str = "s") -> SubmissionSource:
    pkg = tmp_path / name / "toy"
    pkg.mkdir(parents=True)
    pkg.joinpath("__init__.py").write_text(textwrap.dedent(source))
    return SubmissionSource(name, tmp_path / name)


def _probe(result):
    return next(t for t in result.tasks if t.id == "probe")


NEVER_TRAINS = REFERENCE.replace("    _W = v[:4].T.contiguous()", "    pass")


def test_trained_encoder_scores_untrained_scores_zero_and_baseline_is_reported(toy, tmp_path):
    with GradingContext(toy, speed=False) as ctx:
        good = ctx.grade(_submit(tmp_path, REFERENCE, "good"))
        lazy = ctx.grade(_submit(tmp_path, NEVER_TRAINS, "lazy"))
    g, z = _probe(good), _probe(lazy)
    assert g.score == 10, g.checks[0].message
    details = g.checks[0].details
    trained, random_ = details["table"]["rows"][0], details["table"]["rows"][1]
    assert trained[1] > 0.9 and random_[1] < 0.75, details["table"]  # k-NN: trained vs random init
    assert details["value"] == pytest.approx(trained[1] - random_[1], abs=1e-3)
    assert details["train_s"] >= 0
    # an encoder that never learns gains nothing over the random one: zero, with the reason
    assert z.score == 0
    assert "gain over random init" in z.checks[0].message and "0.05 or less scores 0" in z.checks[0].message
    # the report shows both encoders
    html = write_submission_report(good, tmp_path / "reports").read_text()
    assert "Probes on frozen features" in html and "random init (reference architecture)" in html


@pytest.mark.parametrize("body,why", [
    ("def features(x):\n    return x[:, :4] * float('nan')\n", "NaN or inf"),
    ("def features(x):\n    return (x[:, :4] > 0).tolist()\n", "expected a torch.Tensor"),
    ("def features(x):\n    return x[:5, :4]\n", "feature rows for 200 training samples"),
    ("def features(x):\n    return x.sum(1)\n", "expected a float Tensor [N, D]"),
])
def test_malformed_features_score_zero_with_a_message(toy, tmp_path, body, why):
    source = "import torch\n\ndef pretrain(x):\n    pass\n\n" + body
    with GradingContext(toy, speed=False) as ctx:
        r = ctx.grade(_submit(tmp_path, source))
    check = _probe(r).checks[0]
    assert _probe(r).score == 0 and why in check.message, check.message


def test_training_that_overruns_its_budget_scores_zero(toy, tmp_path):
    source = "import time\n\ndef pretrain(x):\n    time.sleep(60)\n\ndef features(x):\n    return x[:, :4]\n"
    with GradingContext(toy, speed=False) as ctx:
        r = ctx.grade(_submit(tmp_path, source))
    check = _probe(r).checks[0]
    assert _probe(r).score == 0
    assert "pretrain (training, budget 10 s) failed" in check.message and "timed out" in check.message


def test_manifest_checks_the_probe_table(tmp_path):
    a = tmp_path / "assignments" / "toy"
    a.mkdir(parents=True)
    for old, new, msg in [('metric = "knn"', 'metric = "svm"', r"'metric' = 'svm' is not allowed; 'knn' or 'linear'"),
                          ('features = "features"', 'features = "embed"', r"features entry 'embed' is not in any"),
                          ("target = 0.25", "target = 0.01", r"must be greater than floor")]:
        (a / "assignment.toml").write_text(MANIFEST.replace(old, new))
        with pytest.raises(ManifestError, match=msg):
            load_manifest(a / "assignment.toml")


# -- the trusted evaluators ------------------------------------------------------------------------
def _knn_oracle(train, train_labels, test, k, t):
    """Straightforward float64 loop: cosine similarity, top k, exp(sim / T) votes."""
    import math

    preds = []
    for q in test.tolist():
        qn = math.sqrt(sum(v * v for v in q))
        sims = []
        for i, row in enumerate(train.tolist()):
            rn = math.sqrt(sum(v * v for v in row))
            sims.append((sum(a * b for a, b in zip(q, row)) / (qn * rn), -i, int(train_labels[i])))
        votes: dict[int, float] = {}
        for s, _, label in sorted(sims, reverse=True)[:k]:
            votes[label] = votes.get(label, 0.0) + math.exp(s / t)
        preds.append(max(votes, key=votes.get))
    return preds


def test_knn_matches_a_float64_loop():
    gen = torch.Generator().manual_seed(5)
    train, test = torch.randn(60, 5, generator=gen), torch.randn(25, 5, generator=gen)
    labels, test_labels = torch.randint(0, 3, (60,), generator=gen), torch.randint(0, 3, (25,), generator=gen)
    for k, t in ((1, 0.07), (5, 0.1), (20, 1.0)):
        expected = sum(p == int(y) for p, y in zip(_knn_oracle(train, labels, test, k, t), test_labels)) / 25
        assert knn_accuracy(train, labels, test, test_labels, k=k, temperature=t) == pytest.approx(expected)


def test_knn_ties_in_similarity_go_to_the_lower_index():
    # the bank is 300 exact copies of two directions, the query one of them: its copies tie, so
    # the first k of them vote (torch.topk picked copies 170-176 here: its order among ties is
    # implementation-defined)
    gen = torch.Generator().manual_seed(7)
    v, w = torch.randn(1, 6, generator=gen), torch.randn(1, 6, generator=gen)
    is_v = torch.randint(0, 2, (300,), generator=gen).bool()
    train = torch.where(is_v[:, None], v, w)
    labels = torch.randint(0, 3, (300,), generator=gen)
    labels[is_v.nonzero()[:5, 0]] = torch.tensor([2, 2, 2, 0, 1])
    for test_label, want in ((2, 1.0), (0, 0.0)):
        got = knn_accuracy(train, labels, v, torch.tensor([test_label]), k=5, temperature=0.07)
        assert got == want, f"the first 5 bank rows (labels 2, 2, 2, 0, 1) vote 2; accuracy for label {test_label}"
    assert _knn_oracle(train, labels, v, 5, 0.07) == [2]


def test_linear_probe_separates_separable_data_and_is_deterministic():
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(200, 3, generator=gen)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    xt = torch.randn(100, 3, generator=gen)
    yt = (xt[:, 0] + 0.5 * xt[:, 1] > 0).long()
    acc = linear_probe_accuracy(x, y, xt, yt)
    assert acc >= 0.95 and linear_probe_accuracy(x, y, xt, yt) == acc
    # labels that no linear function of the features predicts stay near chance
    noise = torch.randint(0, 2, (100,), generator=gen)
    assert linear_probe_accuracy(x, y, xt, noise) < 0.7


def test_evaluators_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="features must be"):
        knn_accuracy(torch.zeros(4, 2), torch.zeros(3, dtype=torch.long), torch.zeros(2, 2),
                     torch.zeros(2, dtype=torch.long))


FIGURES = '''
def figures(train_features, train_labels, test_features, test_labels):
    assert train_features.dtype == test_features.dtype
    return [{"title": f"{train_features.shape[0]}+{test_features.shape[0]} rows of {test_features.shape[1]} "
                      f"features, {int(test_labels.max()) + 1} classes", "svg": "<svg xmlns='http://www.w3.org/2000/svg'/>"}]


def broken(train_features, train_labels, test_features, test_labels):
    raise RuntimeError("no picture")
'''


@pytest.mark.parametrize("ref,expected", [("figures", "200+200 rows of 4 features, 4 classes"), ("broken", None)])
def test_probe_figures_come_from_the_submissions_features(toy, tmp_path, ref, expected):
    # optional `figures`: a trusted function draws report figures from the submission's features;
    # a failing figure function costs no points
    toml = toy.root / "assignment.toml"
    toml.write_text(MANIFEST.replace('metric = "knn"', f'metric = "knn"\nfigures = "probe_cases:{ref}"'))
    cases = toy.hidden_tests_dir / "probe_cases.py"
    cases.write_text(CASES + FIGURES)
    with GradingContext(load_manifest(toml), speed=False) as ctx:
        good = ctx.grade(_submit(tmp_path, REFERENCE, "good"))
    g = _probe(good)
    assert g.score == 10, g.checks[0].message
    if expected:
        assert [f["title"] for f in g.checks[0].details["figures"]] == [expected]
    else:
        assert "figures" not in g.checks[0].details
        assert g.checks[0].details["figures_error"] == "RuntimeError: no picture"
