import numpy as np
import pytest
import torch

from _common import moons_run
from harness.testkit import assert_tensor


def split(seed=0, labeled=3, unlabeled=200, query=100):
    from sklearn.datasets import make_moons

    x, y = make_moons(labeled * 2 + unlabeled + query, noise=0.1, random_state=seed)
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.int64)
    lab = torch.cat([torch.nonzero(y == c).flatten()[:labeled] for c in (0, 1)])
    rest = torch.tensor(np.setdiff1d(np.arange(len(y)), lab.numpy()))
    return x[lab], y[lab], x[rest[:unlabeled]], x[rest[unlabeled:]], y[rest[unlabeled:]]


@pytest.mark.task("moons")
def test_outputs_are_well_formed(student):
    xl, yl, xu, xq, yq = split(1)
    out = student.train_self_training(xl, yl, xu, xq, seed=0, steps=60)
    assert isinstance(out, dict)  # any mapping: the sandbox sends every dict subclass as a plain dict
    for key, dtype, shape in (("predictions", torch.int64, (100,)), ("pseudo_labels", torch.int64, (200,)),
                              ("mask", torch.bool, (200,)), ("losses", torch.float32, (60,))):
        t = out[key]
        assert type(t) is torch.Tensor and t.dtype == dtype and tuple(t.shape) == shape, f"{key}: {t!r:.80}"
    assert set(out["predictions"].tolist()) <= {0, 1}
    assert bool(torch.isfinite(out["losses"]).all())
    assert float(out["losses"][-10:].mean()) < float(out["losses"][:10].mean()), "the loss must go down"


@pytest.mark.task("moons")
def test_deterministic_given_the_seed(student):
    xl, yl, xu, xq, _ = split(2)
    a = student.train_self_training(xl, yl, xu, xq, seed=3, steps=40)
    b = student.train_self_training(xl, yl, xu, xq, seed=3, steps=40)
    for key in a:
        assert_tensor(b[key], a[key], case=key)
    c = student.train_self_training(xl, yl, xu, xq, seed=4, steps=40)
    assert not torch.equal(c["losses"], a["losses"]), "another seed must give another run"


@pytest.mark.task("moons")
def test_supervised_only_ignores_unlabeled_values(student):
    xl, yl, xu, xq, _ = split(3)
    a = student.train_self_training(xl, yl, xu, xq, seed=0, steps=40, unlabeled_weight=0.0)
    b = student.train_self_training(xl, yl, xu.flip(0) + 3.0, xq, seed=0, steps=40, unlabeled_weight=0.0)
    assert_tensor(b["predictions"], a["predictions"])
    assert_tensor(b["losses"], a["losses"], atol=1e-6)
    w = student.train_self_training(xl, yl, xu, xq, seed=0, steps=40, unlabeled_weight=1.0, threshold=0.0)
    assert not torch.allclose(w["losses"], a["losses"]), "unlabeled_weight > 0 must use the unlabeled points"


@pytest.mark.task("moons")
def test_threshold_zero_keeps_every_pseudo_label(student):
    xl, yl, xu, xq, _ = split(4)
    out = student.train_self_training(xl, yl, xu, xq, seed=0, steps=20, threshold=0.0)
    assert bool(out["mask"].all())
    out = student.train_self_training(xl, yl, xu, xq, seed=0, steps=20, threshold=1.0)
    assert not bool(out["mask"].all())


@pytest.mark.task("moons")
def test_learns_the_moons(student):
    xl, yl, xu, xq, yq = split(5, labeled=10)
    out = student.train_self_training(xl, yl, xu, xq, seed=0, steps=300)
    acc = float((out["predictions"] == yq).double().mean())
    assert acc >= 0.85, f"accuracy {acc:.3f} on held-out moons with 10 labels per class (reference: about 0.99)"


@pytest.mark.task("moons")
def test_bad_inputs(student):
    xl, yl, xu, xq, _ = split(6)
    with pytest.raises(ValueError, match="steps"):
        student.train_self_training(xl, yl, xu, xq, steps=0)
    with pytest.raises(ValueError, match="x_query"):
        student.train_self_training(xl, yl, xu, torch.zeros(4, 3))
    with pytest.raises(TypeError, match="y_labeled"):
        student.train_self_training(xl, yl.float(), xu, xq)
    with pytest.raises(ValueError, match="lr"):
        student.train_self_training(xl, yl, xu, xq, lr=0.0)


@pytest.mark.task("moons")
@pytest.mark.parametrize("kw", [{}, {"threshold": 0.6, "unlabeled_weight": 2.0, "strong_noise": 0.4, "lr": 0.02}])
def test_reproduces_the_moons_run(student, kw):
    # the accuracy check moons_paired relies on this: same seed, same draws, same classifier
    xl, yl, xu, xq, _ = split(7, unlabeled=120, query=80)
    steps = 100
    out = student.train_self_training(xl, yl, xu, xq, seed=5, steps=steps, **kw)
    pred, pseudo, mask, losses = moons_run(xl, yl, xu, xq, 5, steps, kw.get("threshold", 0.95),
                                                kw.get("unlabeled_weight", 1.0), 0.05, kw.get("strong_noise", 0.25),
                                                kw.get("lr", 0.01))
    assert_tensor(out["losses"], losses.float(), atol=1e-4, rtol=1e-3)
    assert float((out["predictions"] == pred).double().mean()) >= 0.98
    assert float((out["pseudo_labels"] == pseudo).double().mean()) >= 0.98
    assert float((out["mask"] == mask).double().mean()) >= 0.95
    assert 0 < int(mask.sum()), "the trained model is confident somewhere"
