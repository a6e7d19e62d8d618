import math

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from _common import DTYPES, TOL, randn
from harness.testkit import assert_tensor, check_gradient


def net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype))
        model.train()
        model(torch.randn(8, 3, generator=g, dtype=torch.float64))  # moves the BatchNorm statistics


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def buffer_names(model):
    return [k for k, _ in model.named_buffers()]


@pytest.mark.task("mean_teacher")
@pytest.mark.parametrize("average_buffers", [False, True])
def test_ema_matches_averaged_model(student, average_buffers):
    model = net(1)
    avg = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=average_buffers)
    teacher = None
    for step in range(4):
        perturb(model, 100 + step)
        avg.update_parameters(model)
        teacher = student.ema_update(teacher, state(model), 0.9, buffer_names(model), average_buffers)
    assert isinstance(teacher, dict) and set(teacher) == set(model.state_dict())
    expected = avg.module.state_dict()
    for name, _ in model.named_parameters():
        assert_tensor(teacher[name], expected[name], atol=1e-12, case=name)
    for name in ("1.running_mean", "1.running_var"):
        # floating buffers: averaged (use_buffers=True) or copied (use_buffers=False) like AveragedModel
        assert_tensor(teacher[name], expected[name], atol=1e-12, case=name)
    # integer buffers are copied from the student in both modes
    assert_tensor(teacher["1.num_batches_tracked"], model.state_dict()["1.num_batches_tracked"])


@pytest.mark.task("mean_teacher")
def test_first_update_copies(student):
    model = net(2)
    s = state(model)
    teacher = student.ema_update(None, s, 0.999)
    for k, v in s.items():
        assert_tensor(teacher[k], v, case=k)
    # a copy, not the student's tensors: the student's later change does not leak in
    s2 = {k: v + 1 if v.is_floating_point() else v for k, v in s.items()}
    t2 = student.ema_update(teacher, s2, 0.5)
    assert_tensor(t2["0.weight"], s["0.weight"] + 0.5, atol=1e-12)


@pytest.mark.task("mean_teacher")
@pytest.mark.parametrize("decay", [0.0, 1.0])
def test_decay_extremes(student, decay):
    a, b = state(net(3)), state(net(4))
    out = student.ema_update(a, b, decay, buffers=["1.running_mean", "1.running_var", "1.num_batches_tracked"])
    src = a if decay == 1.0 else b
    assert_tensor(out["3.weight"], src["3.weight"], atol=1e-15)
    assert_tensor(out["1.running_mean"], b["1.running_mean"])


@pytest.mark.task("mean_teacher")
@pytest.mark.parametrize("dtype", DTYPES)
def test_ema_formula(student, dtype):
    t = {"w": randn(3, 2, seed=1, dtype=dtype)}
    s = {"w": randn(3, 2, seed=2, dtype=dtype)}
    assert_tensor(student.ema_update(t, s, 0.99)["w"], 0.99 * t["w"] + 0.01 * s["w"], **TOL[dtype])


@pytest.mark.task("mean_teacher")
def test_ema_bad_inputs(student):
    s = {"w": torch.zeros(2)}
    with pytest.raises(ValueError, match="decay"):
        student.ema_update(None, s, 1.5)
    with pytest.raises(ValueError, match="teacher|student|names"):
        student.ema_update({"v": torch.zeros(2)}, s, 0.5)
    with pytest.raises(ValueError, match="buffer"):  # "buffers", or "buffer 'running_mean'"
        student.ema_update(None, s, 0.5, buffers=["running_mean"])
    with pytest.raises(ValueError, match="teacher|student"):  # the two disagree: either may be named
        student.ema_update({"w": torch.zeros(3)}, s, 0.5)
    with pytest.raises(TypeError, match="student"):
        student.ema_update(None, {"w": [1.0, 2.0]}, 0.5)
    with pytest.raises(TypeError, match="teacher"):
        student.ema_update({"w": [0.0, 0.0]}, s, 0.5)


@pytest.mark.task("mean_teacher")
def test_decay_warmup(student):
    assert student.ema_decay_warmup(0, 0.99) == 0.0
    assert student.ema_decay_warmup(1, 0.99) == pytest.approx(0.5, abs=1e-12)
    assert student.ema_decay_warmup(2, 0.99) == pytest.approx(2 / 3, abs=1e-12)
    assert student.ema_decay_warmup(99, 0.99) == pytest.approx(0.99, abs=1e-12)
    assert student.ema_decay_warmup(1000, 0.99) == pytest.approx(0.99, abs=1e-12)
    assert student.ema_decay_warmup(10) == pytest.approx(1 - 1 / 11, abs=1e-12)
    with pytest.raises(ValueError, match="step"):
        student.ema_decay_warmup(-1, 0.9)
    with pytest.raises(ValueError, match="decay"):
        student.ema_decay_warmup(3, -0.1)


@pytest.mark.task("mean_teacher")
def test_warmup_ema_is_the_running_mean(student):
    # with the warm-up decay, the teacher after k + 1 updates is the mean of the k + 1 students
    students = [{"w": randn(4, seed=s)} for s in range(5)]
    teacher = None
    for step, s in enumerate(students):
        teacher = student.ema_update(teacher, s, student.ema_decay_warmup(step, 0.999))
    assert_tensor(teacher["w"], torch.stack([s["w"] for s in students]).mean(0), atol=1e-12)


@pytest.mark.task("mean_teacher")
@pytest.mark.parametrize("step,length", [(0, 10), (3, 10), (5, 10), (10, 10), (25, 10), (-2, 10), (2.5, 7.5)])
def test_sigmoid_rampup(student, step, length):
    t = min(max(step, 0), length) / length
    assert student.sigmoid_rampup(step, length) == pytest.approx(math.exp(-5 * (1 - t) ** 2), rel=1e-12)


@pytest.mark.task("mean_teacher")
def test_sigmoid_rampup_zero_length(student):
    assert student.sigmoid_rampup(0, 0) == 1.0
    assert student.sigmoid_rampup(7, 0) == 1.0
    assert student.sigmoid_rampup(0, 5) == pytest.approx(math.exp(-5), rel=1e-12)
    with pytest.raises(ValueError, match="rampup_length"):
        student.sigmoid_rampup(1, -1)


@pytest.mark.task("mean_teacher")
@pytest.mark.parametrize("shape", [(6, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_consistency_loss(student, shape, dtype):
    s, t = randn(*shape, seed=1, dtype=dtype, scale=2.0), randn(*shape, seed=2, dtype=dtype, scale=2.0)
    expected = torch.nn.functional.mse_loss(s.softmax(1), t.softmax(1))
    assert_tensor(student.consistency_loss(s, t), expected, **TOL[dtype])


@pytest.mark.task("mean_teacher")
def test_consistency_gradient_only_into_the_student(student):
    s, t = randn(5, 3, seed=3), randn(5, 3, seed=4)
    _, grads = student.vjp("consistency_loss", [s, t], wrt=(0, 1))
    ss = s.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(torch.nn.functional.mse_loss(ss.softmax(1), t.softmax(1)), [ss])
    assert_tensor(grads[0], expected, atol=1e-12)
    assert grads[1] is None or float(grads[1].abs().max()) == 0.0, "the teacher is a target: no gradient"
    check_gradient(student, "consistency_loss", [s, t], wrt=(0,))


@pytest.mark.task("mean_teacher")
def test_consistency_empty_and_bad(student):
    assert_tensor(student.consistency_loss(torch.zeros(0, 3), torch.zeros(0, 3)), torch.tensor(0.0))
    with pytest.raises(ValueError, match="teacher_logits|student_logits"):  # shapes disagree: either
        student.consistency_loss(torch.zeros(2, 3), torch.zeros(2, 4))


@pytest.mark.task("mean_teacher")
def test_temporal_ensemble(student):
    alpha = 0.6
    z_acc = torch.zeros(4, 3, dtype=torch.float64)
    preds = [randn(4, 3, seed=s).softmax(1) for s in range(4)]
    for epoch, z in enumerate(preds):
        expected_acc = alpha * z_acc + (1 - alpha) * z
        z_acc, target = student.temporal_ensemble(z_acc, z, alpha, epoch)
        assert_tensor(z_acc, expected_acc, atol=1e-12, case=f"epoch {epoch}: accumulated")
        assert_tensor(target, expected_acc / (1 - alpha ** (epoch + 1)), atol=1e-12, case=f"epoch {epoch}: target")
    # after the first epoch the target is the prediction itself
    _, first = student.temporal_ensemble(torch.zeros(4, 3, dtype=torch.float64), preds[0], 0.9, 0)
    assert_tensor(first, preds[0], atol=1e-12)


@pytest.mark.task("mean_teacher")
def test_temporal_ensemble_bad_inputs(student):
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="alpha"):
        student.temporal_ensemble(z, z, 1.0, 0)
    with pytest.raises(ValueError, match="epoch"):
        student.temporal_ensemble(z, z, 0.5, -1)
    with pytest.raises(ValueError, match="predictions|accumulated"):  # shapes disagree: either
        student.temporal_ensemble(z, torch.zeros(2, 4), 0.5, 0)
