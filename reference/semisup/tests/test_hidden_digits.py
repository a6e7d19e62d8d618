import pytest
import torch

from _common import digits_run
from harness.testkit import assert_tensor


def split(seed=0, labeled=3, unlabeled=60, query=40):
    from cv3data.ssl_digits import ssl_digits

    x, y = ssl_digits("probe_test", seed)
    lab = torch.cat([torch.nonzero(y == c).flatten()[:labeled] for c in range(10)])
    keep = torch.ones(y.shape[0], dtype=torch.bool)
    keep[lab] = False
    rest = torch.nonzero(keep).flatten()
    query_idx = rest[unlabeled:unlabeled + query]
    return x[lab], y[lab], x[rest[:unlabeled]], x[query_idx], y[query_idx]


@pytest.mark.task("digits")
def test_outputs_are_well_formed(student):
    xl, yl, xu, xq, _ = split(1)
    out = student.train_fixmatch_digits(xl, yl, xu, xq, seed=0, steps=12, batch=32)
    assert isinstance(out, dict)  # any mapping: the sandbox sends every dict subclass as a plain dict
    for key, dtype, shape in (("predictions", torch.int64, (40,)), ("losses", torch.float32, (12,)),
                              ("mask_rate", torch.float32, (12,))):
        t = out[key]
        assert type(t) is torch.Tensor and t.dtype == dtype and tuple(t.shape) == shape, f"{key}: {t!r:.80}"
    assert set(out["predictions"].tolist()) <= set(range(10))
    assert bool(torch.isfinite(out["losses"]).all())
    assert bool(((out["mask_rate"] >= 0) & (out["mask_rate"] <= 1)).all())
    empty = student.train_fixmatch_digits(xl, yl, xu[:0], xq[:0], seed=0, steps=3)
    assert empty["predictions"].dtype == torch.int64 and tuple(empty["predictions"].shape) == (0,)
    assert_tensor(empty["mask_rate"], torch.zeros(3))


@pytest.mark.task("digits")
def test_deterministic_given_the_seed(student):
    xl, yl, xu, xq, _ = split(2)
    a = student.train_fixmatch_digits(xl, yl, xu, xq, seed=3, steps=8, batch=32)
    b = student.train_fixmatch_digits(xl, yl, xu, xq, seed=3, steps=8, batch=32)
    for key in a:
        assert_tensor(b[key], a[key], case=key)
    c = student.train_fixmatch_digits(xl, yl, xu, xq, seed=4, steps=8, batch=32)
    assert not torch.equal(c["losses"], a["losses"]), "another seed must give another run"


@pytest.mark.task("digits")
def test_supervised_only_ignores_unlabeled_values(student):
    xl, yl, xu, xq, _ = split(3)
    a = student.train_fixmatch_digits(xl, yl, xu, xq, seed=0, steps=10, unlabeled_weight=0.0)
    b = student.train_fixmatch_digits(xl, yl, xu.flip(0) * 0.5, xq, seed=0, steps=10, unlabeled_weight=0.0)
    assert_tensor(b["predictions"], a["predictions"])
    assert_tensor(b["losses"], a["losses"], atol=1e-6)
    assert_tensor(a["mask_rate"], torch.zeros(10))
    w = student.train_fixmatch_digits(xl, yl, xu, xq, seed=0, steps=10, threshold=0.0, batch=32)
    assert not torch.allclose(w["losses"], a["losses"]), "unlabeled_weight > 0 must use the unlabeled digits"
    assert_tensor(w["mask_rate"], torch.ones(10))


@pytest.mark.task("digits")
@pytest.mark.parametrize("kw", [{"batch": 48}, {"threshold": 0.3, "unlabeled_weight": 2.0, "lr": 0.01, "batch": 40}])
def test_reproduces_the_digits_run(student, kw):
    # the accuracy check compares against a supervised-only run: the unlabeled loss must be FixMatch's
    xl, yl, xu, xq, _ = split(7)
    steps = 25
    out = student.train_fixmatch_digits(xl, yl, xu, xq, seed=5, steps=steps, **kw)
    pred, losses, rates = digits_run(xl, yl, xu, xq, 5, steps, kw.get("threshold", 0.95),
                                         kw.get("unlabeled_weight", 1.0), kw.get("lr", 0.003), kw["batch"])
    assert_tensor(out["losses"], losses.float(), atol=1e-4, rtol=1e-3)
    assert_tensor(out["mask_rate"], rates.float(), atol=1e-6)
    assert float((out["predictions"] == pred).double().mean()) >= 0.95
    if "threshold" in kw:
        assert float(rates[-5:].mean()) > 0, "some pseudo-labels pass a threshold of 0.3"


@pytest.mark.task("digits")
def test_bad_inputs(student):
    xl, yl, xu, xq, _ = split(6)
    with pytest.raises(ValueError, match="steps"):
        student.train_fixmatch_digits(xl, yl, xu, xq, steps=0)
    with pytest.raises(ValueError, match="batch"):
        student.train_fixmatch_digits(xl, yl, xu, xq, batch=0)
    with pytest.raises(ValueError, match="x_query"):
        student.train_fixmatch_digits(xl, yl, xu, torch.zeros(4, 1, 8, 8))
    with pytest.raises(TypeError, match="y_labeled"):
        student.train_fixmatch_digits(xl, yl.float(), xu, xq)
    with pytest.raises(ValueError, match="y_labeled|x_labeled"):  # lengths disagree: either may be named
        student.train_fixmatch_digits(xl, yl[:-1], xu, xq)
    with pytest.raises(ValueError, match="lr"):
        student.train_fixmatch_digits(xl, yl, xu, xq, lr=0.0)
    with pytest.raises(ValueError, match="threshold"):
        student.train_fixmatch_digits(xl, yl, xu, xq, steps=1, threshold=1.5)
    with pytest.raises(ValueError, match="unlabeled_weight"):
        student.train_fixmatch_digits(xl, yl, xu, xq, steps=1, unlabeled_weight=-1.0)
