"""Hidden tests of the momentum encoders [moco_byol]: the EMA update, MoCo's queue and logits,
BYOL's projector/predictor, loss and momentum schedule.

Oracles: ``lightly.models.utils.update_momentum``, ``lightly.utils.scheduler.cosine_schedule``,
``nn.Sequential(Linear, BatchNorm1d, ReLU, Linear)`` and float64 loops written here.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from lightly.models.utils import update_momentum
from lightly.utils.scheduler import cosine_schedule
from torch import nn

from harness.testkit import assert_tensor, check_gradient


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def mlp(in_dim, hidden, out, seed):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out))
    with torch.no_grad():  # non-trivial BatchNorm parameters and buffers
        m[1].weight.uniform_(0.5, 1.5)
        m[1].bias.normal_()
        m[1].running_mean.normal_()
        m[1].running_var.uniform_(0.5, 2.0)
        m[1].num_batches_tracked.fill_(seed)
    return m


def sd(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_weights(got, expected, case, atol=1e-6):
    # a dict (the sandbox sends every mapping as a plain dict; state_dict() copies are OrderedDicts)
    assert isinstance(got, dict) and sorted(got) == sorted(expected), f"[{case}] names {sorted(got)}"
    for k in expected:
        assert_tensor(got[k], expected[k], atol=atol, rtol=1e-6, case=f"{case}: {k}")


# ---------------------------------------------------------------- ProjectionHead


@pytest.mark.task("moco_byol")
def test_projection_head_matches_sequential_and_updates_bn_statistics(student):
    ref = mlp(5, 7, 3, seed=1)
    head = student.ProjectionHead(5, 7, 3)
    head.load_weights(sd(ref))
    x = randn(6, 5, seed=2, dtype=torch.float32)
    expected = ref(x)  # training mode: batch statistics, running statistics updated
    assert_tensor(head(x), expected.detach(), atol=1e-5, rtol=1e-5, case="forward, training mode")
    assert_weights(head.weights(), sd(ref), "running statistics after one forward")


@pytest.mark.task("moco_byol")
def test_projection_head_weights_use_sequential_names_and_load_strictly(student):
    head = student.ProjectionHead(4, 6, 2)
    names = sorted(head.weights())
    assert names == sorted(sd(mlp(4, 6, 2, seed=0))), f"got names {names}"
    wrong = sd(mlp(4, 6, 2, seed=0))
    del wrong["3.bias"]
    with pytest.raises(RuntimeError):
        head.load_weights(wrong)
    with pytest.raises(RuntimeError):  # every name missing: still load_state_dict's error
        head.load_weights({})
    with pytest.raises(ValueError, match="hidden_dim"):
        student.ProjectionHead(4, 0, 2)


# ---------------------------------------------------------------- momentum_update


@pytest.mark.task("moco_byol")
@pytest.mark.parametrize("m", [0.99, 0.5, 0.0, 1.0])
def test_momentum_update_matches_lightly_on_parameters_only(student, m):
    online_ref, target_ref = mlp(4, 6, 3, seed=3), mlp(4, 6, 3, seed=4)
    online, target = student.ProjectionHead(4, 6, 3), student.ProjectionHead(4, 6, 3)
    online.load_weights(sd(online_ref))
    target.load_weights(sd(target_ref))
    expected = copy.deepcopy(target_ref)
    update_momentum(online_ref, expected, m)
    assert student.momentum_update(online, target, m) is None
    # the parameters move; BatchNorm running statistics (buffers) keep the target's own values
    assert_weights(target.weights(), sd(expected), f"target after m = {m}")
    assert_weights(online.weights(), sd(online_ref), "online is not modified", atol=0)


@pytest.mark.task("moco_byol")
def test_momentum_update_rejects_bad_arguments(student):
    a, b = student.ProjectionHead(4, 6, 3), student.ProjectionHead(4, 5, 3)
    with pytest.raises(ValueError, match="momentum"):
        student.momentum_update(a, a, 1.5)
    with pytest.raises(ValueError, match="online|target|shape"):
        student.momentum_update(a, b, 0.9)
    # the refused calls left the target as it was
    before = b.weights()
    c = student.ProjectionHead(4, 5, 3)
    student.momentum_update(c, b, 1.0)
    assert_weights(b.weights(), before, "m = 1 keeps the target", atol=0)


# ---------------------------------------------------------------- MoCo queue


def enqueue_oracle(queue, ptr, keys):
    q = queue.clone()
    for i in range(keys.shape[0]):
        q[ptr + i] = keys[i]
    return q, (ptr + keys.shape[0]) % queue.shape[0]


@pytest.mark.task("moco_byol")
def test_dequeue_and_enqueue_cycles_through_the_queue(student):
    queue, ptr = randn(12, 3, seed=1), 0
    for step in range(7):  # wraps around twice
        keys = randn(4, 3, seed=10 + step)
        expected, expected_ptr = enqueue_oracle(queue, ptr, keys)
        before = queue.clone()
        queue, ptr = student.dequeue_and_enqueue(queue, ptr, keys)
        assert_tensor(queue, expected, case=f"step {step}")
        assert ptr == expected_ptr and type(ptr) is int, f"step {step}: ptr {ptr}, expected {expected_ptr}"
        assert torch.equal(before, before.clone())
    assert ptr == 4


@pytest.mark.task("moco_byol")
def test_dequeue_and_enqueue_keeps_the_queue_dtype_and_input(student):
    queue = torch.zeros(4, 2, dtype=torch.float64)
    keys = torch.tensor([[1.5, 2.5], [3.5, 4.5]], dtype=torch.float32)
    new, ptr = student.dequeue_and_enqueue(queue, 2, keys)
    assert_tensor(new, torch.tensor([[0, 0], [0, 0], [1.5, 2.5], [3.5, 4.5]], dtype=torch.float64),
                  case="float64 queue")
    assert ptr == 0
    assert not queue.any(), "the input queue must not be modified"


@pytest.mark.task("moco_byol")
@pytest.mark.parametrize("k, ptr, b, match", [(10, 0, 4, "queue|keys|multiple"), (8, 2, 4, "ptr|keys"),
                                               (8, 8, 4, "ptr|queue"), (8, 0, 0, "keys|B = 0")])
def test_dequeue_and_enqueue_rejects_bad_sizes(student, k, ptr, b, match):
    with pytest.raises(ValueError, match=match):
        student.dequeue_and_enqueue(torch.zeros(k, 3), ptr, torch.ones(b, 3))


@pytest.mark.task("moco_byol")
def test_dequeue_and_enqueue_rejects_a_dimension_mismatch(student):
    with pytest.raises(ValueError, match="queue|keys|K, D"):
        student.dequeue_and_enqueue(torch.zeros(8, 3), 0, torch.ones(4, 2))


# ---------------------------------------------------------------- MoCo logits


def logits_oracle(q, k, queue, t):
    out = torch.empty(q.shape[0], 1 + queue.shape[0], dtype=torch.float64)
    for i in range(q.shape[0]):
        qi = q[i] / q[i].norm()
        ki = k[i] / k[i].norm()
        out[i, 0] = float((qi * ki).sum()) / t
        for j in range(queue.shape[0]):
            out[i, 1 + j] = float((qi * queue[j]).sum()) / t
    return out


@pytest.mark.task("moco_byol")
@pytest.mark.parametrize("t", [0.07, 0.2])
def test_moco_logits_positive_first(student, t):
    q, k = randn(4, 5, seed=1) * 3, randn(4, 5, seed=2) * 0.5
    queue = F.normalize(randn(8, 5, seed=3), dim=1)
    got = student.moco_logits(q, k, queue, t)
    assert_tensor(got, logits_oracle(q, k, queue, t), atol=1e-10, rtol=1e-10, case=f"T = {t}")


@pytest.mark.task("moco_byol")
def test_moco_logits_default_temperature_and_float32(student):
    q, k, queue = randn(3, 4, seed=4), randn(3, 4, seed=5), F.normalize(randn(6, 4, seed=6), dim=1)
    assert_tensor(student.moco_logits(q, k, queue), logits_oracle(q, k, queue, 0.07), atol=1e-9, rtol=1e-10,
                  case="default T = 0.07")
    got = student.moco_logits(q.float(), k.float(), queue.float())
    assert_tensor(got, logits_oracle(q, k, queue, 0.07).float(), atol=1e-4, rtol=1e-5, case="float32")


def logits_autograd(q, k, queue, t):
    qn, kn = F.normalize(q, dim=1), F.normalize(k, dim=1)
    return torch.cat([(qn * kn).sum(1, keepdim=True), qn @ queue.T], 1) / t


@pytest.mark.task("moco_byol")
def test_moco_logits_gradient_flows_into_queries_only(student):
    q, k, queue = randn(3, 4, seed=7), randn(3, 4, seed=8), F.normalize(randn(6, 4, seed=9), dim=1)
    g = randn(3, 7, seed=10)
    _, grads = student.vjp("moco_logits", [q, k, queue, 0.1], wrt=(0, 1, 2), grad_outputs=g)
    a = q.clone().requires_grad_()
    expected = torch.autograd.grad((logits_autograd(a, k, queue, 0.1) * g).sum(), a)[0]
    assert_tensor(grads[0], expected, atol=1e-10, rtol=1e-8, case="d/dq")
    for name, grad in (("k", grads[1]), ("queue", grads[2])):
        assert grad is None or not bool(grad.ne(0).any()), f"gradient flowed into {name} (use detach)"


@pytest.mark.task("moco_byol")
def test_moco_logits_rejects_bad_inputs(student):
    with pytest.raises(ValueError, match="temperature"):
        student.moco_logits(randn(2, 3), randn(2, 3), randn(4, 3), 0.0)
    with pytest.raises(ValueError, match=r"queue|\bq\b|\bk\b"):
        student.moco_logits(randn(2, 3), randn(2, 3), randn(4, 5))


# ---------------------------------------------------------------- BYOL


def byol_oracle(p1, p2, z1, z2):
    total = 0.0
    for i in range(p1.shape[0]):
        for p, z in ((p1[i], z2[i]), (p2[i], z1[i])):
            cos = float((p * z).sum()) / (float(p.norm()) * float(z.norm()))
            total += 2 - 2 * cos
    return total / p1.shape[0]


@pytest.mark.task("moco_byol")
def test_byol_loss_is_symmetrised_across_views(student):
    p1, p2, z1, z2 = (randn(5, 4, seed=s) for s in (1, 2, 3, 4))
    got = student.byol_loss(p1, p2, z1, z2)
    assert type(got) is torch.Tensor and got.shape == () and got.dtype == torch.float64
    assert abs(float(got) - byol_oracle(p1, p2, z1, z2)) < 1e-10
    # the extremes: 0 for aligned, 8 for opposite predictions
    assert abs(float(student.byol_loss(3 * z2, 2 * z1, z1, z2))) < 1e-10
    assert abs(float(student.byol_loss(-z2, -z1, z1, z2)) - 8.0) < 1e-10


@pytest.mark.task("moco_byol")
def test_byol_loss_stops_gradients_into_the_targets(student):
    p1, p2, z1, z2 = (randn(4, 3, seed=s) for s in (5, 6, 7, 8))
    _, grads = student.vjp("byol_loss", [p1, p2, z1, z2], wrt=(0, 1, 2, 3))
    for i, g in enumerate(grads[2:]):
        assert g is None or not bool(g.ne(0).any()), f"gradient flowed into target z{i + 1}"
    a, b = p1.clone().requires_grad_(), p2.clone().requires_grad_()
    loss = ((2 - 2 * F.cosine_similarity(a, z2, dim=1)) + (2 - 2 * F.cosine_similarity(b, z1, dim=1))).mean()
    ga, gb = torch.autograd.grad(loss, [a, b])
    assert_tensor(grads[0], ga, atol=1e-10, rtol=1e-8, case="d/dp1")
    assert_tensor(grads[1], gb, atol=1e-10, rtol=1e-8, case="d/dp2")


@pytest.mark.task("moco_byol")
def test_byol_loss_gradcheck_in_predictions(student):
    args = [randn(3, 4, seed=s) for s in (9, 10, 11, 12)]
    check_gradient(student, "byol_loss", args, wrt=(0, 1))


@pytest.mark.task("moco_byol")
def test_byol_loss_float32_and_bad_inputs(student):
    p = [randn(3, 4, seed=s, dtype=torch.float32) for s in range(4)]
    got = student.byol_loss(*p)
    assert got.dtype == torch.float32 and abs(float(got) - byol_oracle(*[x.double() for x in p])) < 1e-5
    with pytest.raises(ValueError, match="p1|p2|z1|z2|one shape"):
        student.byol_loss(p[0], p[1], p[2], torch.zeros(3, 5))
    with pytest.raises(ValueError, match="p1|p2|z1|z2|N = 0"):
        student.byol_loss(*[torch.zeros(0, 4)] * 4)


@pytest.mark.task("moco_byol")
@pytest.mark.parametrize("total, base", [(10, 0.996), (1, 0.9), (37, 0.99)])
def test_cosine_momentum_matches_lightlys_schedule(student, total, base):
    for step in range(total + 1):
        # lightly's schedule counts max_steps - 1 intervals: BYOL's K steps are max_steps = K + 1
        expected = cosine_schedule(step, total + 1, base, 1.0)
        got = student.cosine_momentum(step, total, base)
        assert got == pytest.approx(expected, abs=1e-12), f"step {step} of {total}"
    assert student.cosine_momentum(0, total, base) == pytest.approx(base)


@pytest.mark.task("moco_byol")
def test_cosine_momentum_defaults_and_final_value(student):
    assert student.cosine_momentum(5, 10) == pytest.approx(1 - 0.004 * (math.cos(math.pi / 2) + 1) / 2)
    assert student.cosine_momentum(3, 12, 0.9, 0.95) == pytest.approx(0.95 - 0.05 * (math.cos(math.pi / 4) + 1) / 2)
    with pytest.raises(ValueError, match="step"):
        student.cosine_momentum(11, 10)
    with pytest.raises(ValueError, match="total_steps"):
        student.cosine_momentum(0, 0)
