import pytest
import torch
import torch.nn.functional as F

from _common import DEVICES, DTYPES, TOL, randn
from harness.testkit import assert_tensor, check_gradient


def oracle_loss(weak, strong, threshold):
    p = torch.softmax(weak, 1)
    conf, labels = p.max(1)
    mask = (conf >= threshold).to(strong.dtype)
    if weak.shape[0] == 0:
        return strong.sum()
    return (F.cross_entropy(strong, labels, reduction="none") * mask).mean()


@pytest.mark.task("fixmatch")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pseudo_labels(student, device, dtype):
    logits = randn(20, 4, seed=1, dtype=dtype, scale=3.0, device=device)
    labels, conf, mask = student.pseudo_labels(logits, 0.7)
    p = torch.softmax(logits, 1)
    assert_tensor(labels, p.argmax(1))
    assert_tensor(conf, p.max(1).values, **TOL[dtype])
    assert_tensor(mask, p.max(1).values >= 0.7)
    assert 0 < int(mask.sum()) < 20


@pytest.mark.task("fixmatch")
def test_threshold_is_inclusive(student):
    logits = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)  # 0.5 exactly first
    labels, conf, mask = student.pseudo_labels(logits, 0.5)
    assert_tensor(mask, torch.tensor([True, True, True]))
    assert_tensor(labels, torch.tensor([0, 0, 1]))
    _, _, mask = student.pseudo_labels(logits, 0.75)
    assert_tensor(mask, torch.tensor([False, False, True]))


@pytest.mark.task("fixmatch")
@pytest.mark.parametrize("threshold", [0.0, 0.6, 0.9, 1.0])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fixmatch_loss_matches_oracle(student, threshold, dtype):
    weak = randn(16, 3, seed=2, dtype=dtype, scale=3.0)
    strong = randn(16, 3, seed=3, dtype=dtype, scale=2.0)
    expected = oracle_loss(weak, strong, threshold)
    assert_tensor(student.fixmatch_loss(weak, strong, threshold), expected, **TOL[dtype])


@pytest.mark.task("fixmatch")
def test_fixmatch_averages_over_all_samples(student):
    # one confident sample out of four: the mean divides by 4, not by 1
    weak = torch.tensor([[10.0, 0.0], [0.1, 0.0], [0.0, 0.2], [0.3, 0.0]], dtype=torch.float64)
    strong = torch.tensor([[0.0, 1.0], [5.0, 0.0], [5.0, 0.0], [0.0, 5.0]], dtype=torch.float64)
    ce = F.cross_entropy(strong[:1], torch.tensor([0]))
    assert_tensor(student.fixmatch_loss(weak, strong, 0.95), ce / 4, atol=1e-12)


@pytest.mark.task("fixmatch")
def test_no_gradient_into_the_weak_view(student):
    weak = randn(12, 3, seed=4, scale=3.0)
    strong = randn(12, 3, seed=5)
    _, grads = student.vjp("fixmatch_loss", [weak, strong, 0.5], wrt=(0, 1))
    assert grads[0] is None or float(grads[0].abs().max()) == 0.0, "no gradient may flow into logits_weak"
    s = strong.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(oracle_loss(weak, s, 0.5), [s])
    assert_tensor(grads[1], expected, atol=1e-12)


@pytest.mark.task("fixmatch")
def test_fixmatch_gradient_check(student):
    check_gradient(student, "fixmatch_loss", [randn(10, 4, seed=6, scale=3.0), randn(10, 4, seed=7)],
                   {"threshold": 0.5}, wrt=(1,))


@pytest.mark.task("fixmatch")
@pytest.mark.parametrize("weight", [0.0, 1.0, 2.5])
def test_semi_supervised_loss(student, weight):
    xl = randn(6, 3, seed=8)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    weak, strong = randn(10, 3, seed=9, scale=3.0), randn(10, 3, seed=10)
    expected = F.cross_entropy(xl, y) + weight * oracle_loss(weak, strong, 0.8)
    assert_tensor(student.semi_supervised_loss(xl, y, weak, strong, threshold=0.8, unlabeled_weight=weight),
                  expected, atol=1e-12)


@pytest.mark.task("fixmatch")
def test_semi_supervised_loss_default_threshold(student):
    xl, y = randn(4, 2, seed=11), torch.tensor([0, 1, 1, 0])
    weak = torch.tensor([[4.0, 0.0], [2.9, 0.0], [0.0, 3.0], [0.0, 1.0]], dtype=torch.float64)
    strong = randn(4, 2, seed=12)
    expected = F.cross_entropy(xl, y) + oracle_loss(weak, strong, 0.95)
    assert_tensor(student.semi_supervised_loss(xl, y, weak, strong), expected, atol=1e-12)


@pytest.mark.task("fixmatch")
def test_semi_supervised_gradients(student):
    xl, y = randn(5, 3, seed=13), torch.tensor([0, 1, 2, 1, 0])
    weak, strong = randn(8, 3, seed=14, scale=3.0), randn(8, 3, seed=15)
    _, grads = student.vjp("semi_supervised_loss", [xl, y, weak, strong, 0.6, 2.0], wrt=(0, 2, 3))
    a, s = xl.clone().requires_grad_(True), strong.clone().requires_grad_(True)
    ga, gs = torch.autograd.grad(F.cross_entropy(a, y) + 2.0 * oracle_loss(weak, s, 0.6), [a, s])
    assert_tensor(grads[0], ga, atol=1e-12)
    assert grads[1] is None or float(grads[1].abs().max()) == 0.0
    assert_tensor(grads[2], gs, atol=1e-12)


@pytest.mark.task("fixmatch")
def test_empty_unlabeled_batch(student):
    xl, y = randn(3, 2, seed=16), torch.tensor([0, 1, 0])
    empty = torch.zeros(0, 2, dtype=torch.float64)
    assert_tensor(student.fixmatch_loss(empty, empty), torch.tensor(0.0, dtype=torch.float64))
    assert_tensor(student.semi_supervised_loss(xl, y, empty, empty), F.cross_entropy(xl, y), atol=1e-12)
    labels, conf, mask = student.pseudo_labels(empty)
    assert_tensor(labels, torch.zeros(0, dtype=torch.int64))
    assert_tensor(conf, torch.zeros(0, dtype=torch.float64))
    assert_tensor(mask, torch.zeros(0, dtype=torch.bool))


@pytest.mark.task("fixmatch")
def test_bad_inputs(student):
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="threshold"):
        student.pseudo_labels(x, 1.5)
    with pytest.raises(ValueError, match="threshold"):
        student.fixmatch_loss(x, x, -0.1)
    with pytest.raises(TypeError, match="threshold"):
        student.pseudo_labels(x, "0.5")
    with pytest.raises(ValueError, match="logits"):
        student.pseudo_labels(torch.zeros(3))
    with pytest.raises(ValueError, match="logits_strong|logits_weak"):  # shapes disagree: either may be named
        student.fixmatch_loss(x, torch.zeros(3, 3))
    with pytest.raises(TypeError, match="labels"):
        student.semi_supervised_loss(x, torch.tensor([0.0, 1.0, 0.0]), x, x)
    with pytest.raises(ValueError, match="labels"):
        student.semi_supervised_loss(x, torch.tensor([0, 2, 0]), x, x)
    with pytest.raises(ValueError, match="labels|logits_labeled"):
        student.semi_supervised_loss(torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64), x, x)
    with pytest.raises(ValueError, match="unlabeled_weight"):
        student.semi_supervised_loss(x, torch.tensor([0, 1, 0]), x, x, unlabeled_weight=-1.0)
    # the class counts disagree: naming either side of the disagreement is fair
    with pytest.raises(ValueError, match="logits_weak|logits_strong|logits_labeled"):
        student.semi_supervised_loss(x, torch.tensor([0, 1, 0]), torch.zeros(3, 3), torch.zeros(3, 3))
