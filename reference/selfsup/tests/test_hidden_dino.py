"""Hidden tests of DINO [dino]: centring and sharpening, the cross-view loss, the centre EMA
(after the loss), the teacher temperature schedule and multi-crop.

Oracles: ``lightly.loss.DINOLoss`` (loss, gradients, centre update, temperature schedule),
float64 loops written here, and invariants of random resized crops re-computed here from the
returned boxes.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from lightly.loss import DINOLoss as LightlyDINOLoss

from harness.testkit import assert_tensor, check_gradient, devices


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def lightly_loss(teacher, student, center, tt, st):
    fn = LightlyDINOLoss(output_dim=teacher.shape[-1], teacher_temp=tt, student_temp=st,
                         warmup_teacher_temp=tt).double()
    fn.center.copy_(center.reshape(1, 1, -1))
    return fn(list(teacher), list(student))


def loss_oracle(teacher, student, center, tt, st):
    total, terms = 0.0, 0
    for t in range(teacher.shape[0]):
        for s in range(student.shape[0]):
            if s == t:
                continue
            for b in range(teacher.shape[1]):
                tl = [(float(v) - float(c)) / tt for v, c in zip(teacher[t, b], center)]
                mx = max(tl)
                z = sum(math.exp(v - mx) for v in tl)
                p = [math.exp(v - mx) / z for v in tl]
                sl = [float(v) / st for v in student[s, b]]
                ms = max(sl)
                lse = ms + math.log(sum(math.exp(v - ms) for v in sl))
                total += -sum(pk * (v - lse) for pk, v in zip(p, sl)) / teacher.shape[1]
            terms += 1
    return total / terms


@pytest.mark.task("dino")
@pytest.mark.parametrize("tt, st", [(0.04, 0.1), (0.07, 0.2)])
def test_teacher_probabilities_centre_and_sharpen(student, tt, st):
    t, c = randn(2, 3, 5, seed=1), randn(5, seed=2) * 0.1
    got = student.teacher_probabilities(t, c, tt)
    assert_tensor(got, F.softmax((t - c) / tt, dim=-1), atol=1e-12, case=f"tau_t = {tt}")
    _, grads = student.vjp("teacher_probabilities", [t, c, tt], wrt=(0,), grad_outputs=randn(2, 3, 5, seed=3))
    assert grads[0] is None or not bool(grads[0].ne(0).any()), "the teacher output must be detached"


@pytest.mark.task("dino")
def test_teacher_probabilities_default_temperature_and_bad_inputs(student):
    t, c = randn(4, 6, seed=4), randn(6, seed=5)
    assert_tensor(student.teacher_probabilities(t, c), F.softmax((t - c) / 0.04, dim=-1), atol=1e-12,
                  case="default tau_t = 0.04")
    with pytest.raises(ValueError, match="teacher_temp"):
        student.teacher_probabilities(t, c, 0.0)
    with pytest.raises(ValueError, match="center|teacher_out"):
        student.teacher_probabilities(t, randn(5), 0.04)


@pytest.mark.task("dino")
@pytest.mark.parametrize("vt, vs, tt, st", [(2, 2, 0.04, 0.1), (2, 8, 0.04, 0.1), (2, 5, 0.07, 0.3), (1, 3, 0.05, 0.1)])
def test_dino_loss_matches_lightly_and_a_loop(student, vt, vs, tt, st):
    teacher, stud, center = randn(vt, 3, 6, seed=vs), randn(vs, 3, 6, seed=vs + 1), randn(6, seed=vs + 2) * 0.3
    got = student.dino_loss(teacher, stud, center, tt, st)
    expected = lightly_loss(teacher, stud, center, tt, st)
    # lightly divides by a float32 tensor of the temperature: agreement to ~1e-8 relative
    assert_tensor(got, expected.detach(), atol=1e-10, rtol=1e-7, case=f"lightly, Vt={vt}, Vs={vs}")
    assert abs(float(got) - loss_oracle(teacher, stud, center, tt, st)) < 1e-9, "float64 loop"


@pytest.mark.task("dino")
def test_dino_loss_defaults_and_float32(student):
    teacher, stud, center = randn(2, 4, 5, seed=7), randn(4, 4, 5, seed=8), randn(5, seed=9) * 0.1
    got = student.dino_loss(teacher, stud, center)
    assert_tensor(got, lightly_loss(teacher, stud, center, 0.04, 0.1).detach(), atol=1e-10, rtol=1e-7,
                  case="defaults")
    got32 = student.dino_loss(teacher.float(), stud.float(), center.float())
    assert got32.dtype == torch.float32 and abs(float(got32) - float(got)) < 1e-4


@pytest.mark.task("dino")
def test_dino_loss_gradients_flow_into_the_student_only(student):
    teacher, stud, center = randn(2, 3, 4, seed=10), randn(4, 3, 4, seed=11), randn(4, seed=12) * 0.1
    g = randn(1, seed=13).reshape(())
    _, grads = student.vjp("dino_loss", [teacher, stud, center, 0.04, 0.1], wrt=(0, 1, 2), grad_outputs=g)
    s = stud.clone().requires_grad_()
    (lightly_loss(teacher, s, center, 0.04, 0.1) * g).backward()
    assert_tensor(grads[1], s.grad, atol=1e-10, rtol=1e-8, case="d/d student_out")
    for name, grad in (("teacher_out", grads[0]), ("center", grads[2])):
        assert grad is None or not bool(grad.ne(0).any()), f"gradient flowed into {name}"
    check_gradient(student, "dino_loss", [teacher, stud, center, 0.1, 0.2], wrt=(1,))


@pytest.mark.task("dino")
def test_dino_loss_rejects_bad_inputs(student):
    with pytest.raises(ValueError, match="student_out|teacher_out|pair"):
        student.dino_loss(randn(1, 2, 3), randn(1, 2, 3), torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="student_out|teacher_out"):
        student.dino_loss(randn(2, 2, 3), randn(2, 3, 3), torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="student_temp"):
        student.dino_loss(randn(2, 2, 3), randn(2, 2, 3), torch.zeros(3, dtype=torch.float64), 0.04, 0.0)


@pytest.mark.task("dino")
@pytest.mark.parametrize("m", [0.9, 0.5, 0.0])
def test_update_center_matches_lightly(student, m):
    center, teacher = randn(5, seed=14), randn(2, 4, 5, seed=15)
    fn = LightlyDINOLoss(output_dim=5, center_momentum=m).double()
    fn.center.copy_(center.reshape(1, 1, 5))
    fn.update_center(teacher)
    before = center.clone()
    got = student.update_center(center, teacher, m)
    assert_tensor(got, fn.center.reshape(5), atol=1e-12, case=f"m = {m}")
    assert torch.equal(center, before)


@pytest.mark.task("dino")
def test_update_center_default_momentum_and_bad_inputs(student):
    center, teacher = torch.zeros(3, dtype=torch.float64), randn(3, 2, 3, seed=16)
    assert_tensor(student.update_center(center, teacher), 0.1 * teacher.mean(dim=(0, 1)), atol=1e-12,
                  case="default m = 0.9")
    with pytest.raises(ValueError, match="momentum"):
        student.update_center(center, teacher, 1.5)
    with pytest.raises(ValueError, match="center|teacher_out"):
        student.update_center(torch.zeros(4), teacher, 0.9)


@pytest.mark.task("dino")
@pytest.mark.parametrize("tt, st, m", [(0.04, 0.1, 0.9), (0.06, 0.2, 0.7)])
def test_dino_loss_module_updates_the_centre_after_the_loss(student, tt, st, m):
    ref = LightlyDINOLoss(output_dim=6, teacher_temp=tt, warmup_teacher_temp=tt, student_temp=st,
                          center_momentum=m).double()
    mine = student.DINOLoss(6, tt, st, m)
    for step in range(3):  # no process group exists here: the centre must not all_reduce
        teacher = randn(2, 5, 6, seed=20 + step) + 2.0 * step
        stud = randn(6, 5, 6, seed=30 + step)
        expected = ref(list(teacher), list(stud))
        got = mine(teacher, stud)
        # the centre may be kept in float32 (a buffer): agreement to float32 precision
        assert_tensor(got, expected.detach(), atol=1e-6, rtol=1e-6, case=f"loss at step {step}")
        assert_tensor(mine.get_center(), ref.center.reshape(6), atol=1e-6, rtol=1e-6, check_dtype=False,
                      case=f"centre after step {step}")


@pytest.mark.task("dino")
def test_dino_loss_module_defaults_start_at_zero_centre(student):
    mine = student.DINOLoss(4)
    assert_tensor(mine.get_center(), torch.zeros(4), case="initial centre")
    teacher, stud = randn(2, 3, 4, seed=40, dtype=torch.float32), randn(3, 3, 4, seed=41, dtype=torch.float32)
    ref = LightlyDINOLoss(output_dim=4, warmup_teacher_temp=0.04)
    assert_tensor(mine(teacher, stud), ref(list(teacher), list(stud)).detach(), atol=1e-5, rtol=1e-5, case="defaults")
    with pytest.raises(ValueError, match="out_dim"):
        student.DINOLoss(0)
    with pytest.raises(ValueError, match="center_momentum"):
        student.DINOLoss(3, center_momentum=2.0)
    with pytest.raises(ValueError, match="temp"):
        student.DINOLoss(3, teacher_temp=0.0)


@pytest.mark.task("dino")
@pytest.mark.parametrize("warmup, start, end", [(30, 0.04, 0.07), (5, 0.02, 0.04), (1, 0.03, 0.05), (0, 0.03, 0.05)])
def test_teacher_temperature_matches_lightlys_warmup(student, warmup, start, end):
    schedule = torch.linspace(start, end, warmup, dtype=torch.float64)
    for epoch in range(warmup + 3):
        expected = float(schedule[epoch]) if epoch < warmup else end
        got = student.teacher_temperature(epoch, warmup, start, end)
        assert got == pytest.approx(expected, abs=1e-9), f"epoch {epoch}, warm-up {warmup}"


@pytest.mark.task("dino")
def test_teacher_temperature_defaults_and_bad_epoch(student):
    assert student.teacher_temperature(3) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="epoch"):
        student.teacher_temperature(-1)


# ---------------------------------------------------------------- multi-crop


def image(seed, c=3, h=20, w=24):
    return torch.rand(c, h, w, generator=torch.Generator().manual_seed(seed))


def check_crops(img, out, n_global, n_local, gsize, lsize, gscale, lscale, ratio):
    glob, loc, boxes = out
    c, h, w = img.shape
    assert_tensor(glob, torch.zeros(n_global, c, gsize, gsize, dtype=img.dtype), atol=math.inf,
                  case="global crops shape")
    assert_tensor(loc, torch.zeros(n_local, c, lsize, lsize, dtype=img.dtype), atol=math.inf, case="local crops shape")
    assert boxes.dtype == torch.int64 and boxes.shape == (n_global + n_local, 4), \
        f"boxes {boxes.dtype} {list(boxes.shape)}"
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h, f"crop {i}: box {(x1, y1, x2, y2)} outside {w}x{h}"
        bw, bh = x2 - x1, y2 - y1
        lo, hi = gscale if i < n_global else lscale
        slack = 0.5 * (bw + bh) + 0.75  # rounding w and h to integers
        full = (bw, bh) == (w, h) or (bw == w and y1 == (h - bh) // 2) or (bh == h and x1 == (w - bw) // 2)
        if not full:  # not the central fallback
            assert lo * h * w - slack <= bw * bh <= hi * h * w + slack, \
                f"crop {i}: area {bw * bh} outside the scale range {lo, hi} of {h * w} pixels"
            assert (bw + 0.5) / max(bh - 0.5, 0.5) >= ratio[0] and (bw - 0.5) / (bh + 0.5) <= ratio[1], \
                f"crop {i}: aspect ratio {bw}/{bh} outside {ratio}"
        size = gsize if i < n_global else lsize
        expected = F.interpolate(img[None, :, y1:y2, x1:x2], size=(size, size), mode="bilinear", align_corners=False)[0]
        got = glob[i] if i < n_global else loc[i - n_global]
        assert_tensor(got, expected, atol=1e-6, case=f"crop {i} resampled from its box")


@pytest.mark.task("dino")
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_multi_crop_defaults_satisfy_the_invariants(student, seed):
    img = image(seed)
    out = student.multi_crop(img, seed)
    check_crops(img, out, 2, 6, 16, 8, (0.4, 1.0), (0.05, 0.4), (3 / 4, 4 / 3))


@pytest.mark.task("dino")
@pytest.mark.parametrize("device", devices())
def test_multi_crop_custom_ranges(student, device):
    img = image(3, c=1, h=32, w=32).double()
    kw = dict(n_global=3, n_local=4, global_size=12, local_size=5, global_scale=(0.6, 0.9),
              local_scale=(0.1, 0.2), ratio=(0.5, 2.0))
    out = student.multi_crop(img.to(device), 11, **kw)
    assert out[0].dtype == torch.float64 and out[0].device.type == device
    check_crops(img, [o.cpu() for o in out], 3, 4, 12, 5, (0.6, 0.9), (0.1, 0.2), (0.5, 2.0))


@pytest.mark.task("dino")
def test_multi_crop_is_seeded_and_scales_differ(student):
    img = image(5, h=40, w=40)
    a, b = student.multi_crop(img, 123), student.multi_crop(img, 123)
    for x, y in zip(a, b):
        assert torch.equal(x, y), "the same seed must give the same crops"
    boxes = [student.multi_crop(img, s, n_global=2, n_local=6)[2] for s in range(12)]
    assert len({tuple(bx.flatten().tolist()) for bx in boxes}) == 12, "different seeds give different crops"
    areas = torch.stack([(bx[:, 2] - bx[:, 0]) * (bx[:, 3] - bx[:, 1]) for bx in boxes]).double() / 1600
    assert float(areas[:, :2].mean()) > 0.5 and float(areas[:, 2:].mean()) < 0.3, \
        "global crops (first) are large, local crops small"
    assert float(areas[:, :2].std()) > 0.05, "crop scales are drawn at random"


@pytest.mark.task("dino")
def test_multi_crop_without_local_crops_and_bad_arguments(student):
    glob, loc, boxes = student.multi_crop(image(1), 0, n_local=0)
    assert glob.shape == (2, 3, 16, 16) and loc.shape == (0, 3, 8, 8) and boxes.shape == (2, 4)
    with pytest.raises(ValueError, match="local_scale"):
        student.multi_crop(image(1), 0, local_scale=(0.5, 0.2))
    with pytest.raises(ValueError, match="n_global"):
        student.multi_crop(image(1), 0, n_global=0)
    with pytest.raises(ValueError, match="image|C, H, W"):
        student.multi_crop(torch.zeros(1, 3, 8, 8), 0)
    with pytest.raises(ValueError, match="local_size|sizes"):
        student.multi_crop(image(1), 0, local_size=0)
    with pytest.raises(ValueError, match="ratio"):
        student.multi_crop(image(1), 0, ratio=(2.0, 1.0))


@pytest.mark.task("dino")
def test_multi_crop_falls_back_to_the_central_crop(student):
    # a 4 x 40 strip cannot hold a 3/4..4/3 crop of half its area: after 10 draws, the centre
    img = image(2, c=1, h=4, w=40)
    glob, _, boxes = student.multi_crop(img, 0, n_global=1, n_local=0, global_scale=(0.5, 0.5))
    x1, y1, x2, y2 = boxes[0].tolist()
    assert (y1, y2) == (0, 4) and x2 - x1 == round(4 * 4 / 3) and x1 == (40 - (x2 - x1)) // 2, boxes[0].tolist()
    tall = image(2, c=1, h=40, w=4)
    _, _, boxes = student.multi_crop(tall, 0, n_global=1, n_local=0, global_scale=(0.5, 0.5))
    x1, y1, x2, y2 = boxes[0].tolist()
    assert (x1, x2) == (0, 4) and y2 - y1 == round(4 / (3 / 4)) and y1 == (40 - (y2 - y1)) // 2, boxes[0].tolist()
    # the whole area at a ratio of 2..3 never fits a square: the central crop of ratio 2 (6 x 3)
    _, _, boxes = student.multi_crop(image(3, c=1, h=6, w=6), 0, n_global=1, n_local=0, global_scale=(1.0, 1.0),
                                     ratio=(2.0, 3.0))
    assert boxes[0].tolist() == [0, 1, 6, 4], boxes[0].tolist()
