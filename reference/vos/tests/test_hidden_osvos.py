"""Hidden tests of OSVOS [osvos] and OnAVOS [onavos].

Oracles (vos_oracles.py): a functional float64 TinyUNet written from the pinned state-dict
layout; OSVOS' class-balanced loss written per pixel; fine-tuning with torch.optim.Adam on
float64 copies of the parameters; OnAVOS pseudo-labels with scipy.ndimage.distance_transform_edt.

Tolerances: float32 network outputs 1e-4 (absolute, logits of order 1); the loss 1e-6 (float32)
and 1e-12 (float64); a few Adam steps in float32 against float64 1e-4 on the losses; thresholded
masks agree exactly wherever the oracle's probability is at least 0.02 away from 0.5.
"""

import time

import numpy as np
import pytest
import torch
from vos_oracles import balanced_bce, finetune, onavos, probs, pseudo_labels, random_state, unet_forward

from cv3data.vos import make_vos_sequence
from harness.metrics.davis import evaluate_sequence
from harness.testkit import assert_tensor, check_gradient, devices


def f32(sd):
    return {k: v.float() for k, v in sd.items()}


def small_sequence(seed=7, frames=4, size=16):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(frames, 3, size, size, generator=g, dtype=torch.float64)
    mask = torch.zeros(size, size, dtype=torch.int64)
    mask[4:11, 5:12] = 1
    x[:, 0] += 0.6 * mask  # a reddish object
    return x.clamp(0, 1).float(), mask


# ----------------------------------------------------------------------------- TinyUNet
@pytest.mark.task("osvos")
@pytest.mark.parametrize("in_ch,c,shape", [(3, 4, (2, 16, 20)), (4, 3, (1, 8, 12)), (1, 2, (1, 4, 4))])
def test_tiny_unet_matches_functional_oracle(student, in_ch, c, shape):
    sd = random_state(in_ch, c, seed=in_ch * 10 + c)
    net = student.TinyUNet(in_ch, c)
    net.load_weights(f32(sd))
    n, h, w = shape
    x = torch.rand(n, in_ch, h, w, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert_tensor(net(x.float()), unet_forward(sd, x).float(), atol=1e-4, rtol=1e-4, case=f"{in_ch},{c}")


@pytest.mark.task("osvos")
@pytest.mark.parametrize("device", devices())
def test_tiny_unet_on_device_and_shape_errors(student, device):
    sd = random_state(3, 2, seed=3)
    net = student.TinyUNet(3, 2)
    net.load_weights({k: v.float().to(device) for k, v in sd.items()})
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert_tensor(net(x.float().to(device)), unet_forward(sd, x).float().to(device), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match=r"\bx\b|divisible"):
        net(torch.zeros(1, 3, 10, 8, device=device))
    with pytest.raises(ValueError, match="x"):
        net(torch.zeros(1, 4, 8, 8, device=device))
    with pytest.raises(ValueError, match="base_channels"):
        student.TinyUNet(3, 0)
    with pytest.raises(ValueError, match="in_channels"):
        student.TinyUNet(0, 2)


# ----------------------------------------------------------------------------- the loss
LOSS_CASES = {
    "mixed": (0, [0, 1]),
    "mostly background": (1, [0, 0, 0, 1]),
    "with ignored pixels": (2, [0, 1, 255]),
    "foreground only (weight 0)": (3, [1]),
    "background only (weight 0)": (4, [0]),
    "all ignored": (5, [255]),
}


@pytest.mark.task("osvos")
@pytest.mark.parametrize("case", list(LOSS_CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_balanced_bce_matches_per_pixel_oracle(student, case, dtype):
    seed, values = LOSS_CASES[case]
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 5, 6, generator=g, dtype=torch.float64) * 3
    labels = torch.tensor(values)[torch.randint(0, len(values), (2, 5, 6), generator=g)]
    expected = balanced_bce(logits, labels)
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    assert_tensor(student.balanced_bce_loss(logits.to(dtype), labels), expected.to(dtype), atol=tol, rtol=tol,
                  case=case)


@pytest.mark.task("osvos")
def test_balanced_bce_weights_the_rare_class_and_custom_ignore(student):
    # 1 foreground pixel, 3 background: beta = 3/4 on the foreground
    logits = torch.tensor([0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    labels = torch.tensor([1, 0, 0, 0])
    expected = -(0.75 * np.log(0.5) + 0.25 * 3 * np.log(0.5)) / 4
    assert_tensor(student.balanced_bce_loss(logits, labels), torch.tensor(expected, dtype=torch.float64), atol=1e-12)
    # ignore_index passed on: label 7 ignored, 255 is then an error
    labels7 = torch.tensor([1, 0, 7, 7])
    got = student.balanced_bce_loss(logits, labels7, ignore_index=7)
    assert_tensor(got, torch.tensor(-np.log(0.5) / 2, dtype=torch.float64), atol=1e-12)
    with pytest.raises(ValueError, match="labels"):
        student.balanced_bce_loss(logits, torch.tensor([1, 0, 2, 0]))
    with pytest.raises(ValueError, match="labels|logits|shape"):
        student.balanced_bce_loss(logits, torch.tensor([1, 0, 0]))


@pytest.mark.task("osvos")
def test_balanced_bce_is_stable_and_differentiable(student):
    big = torch.tensor([200.0, -200.0], dtype=torch.float64)
    out = student.balanced_bce_loss(big, torch.tensor([0, 1]))
    assert torch.isfinite(out) and float(out) == pytest.approx(100.0, rel=1e-9)  # beta = 1/2, each term -200
    g = torch.Generator().manual_seed(9)
    logits = torch.randn(3, 4, generator=g, dtype=torch.float64)
    labels = torch.tensor([[0, 1, 1, 255], [0, 0, 0, 1], [255, 0, 1, 0]])
    check_gradient(student, "balanced_bce_loss", [logits, labels])


# ----------------------------------------------------------------------------- fine-tuning
@pytest.mark.task("osvos")
def test_finetune_matches_adam_oracle(student):
    x, mask = small_sequence(frames=2)
    sd = random_state(3, 3, seed=11)
    labels = torch.stack([mask, mask.flip(1)])
    labels[1, :2] = 255
    net = student.TinyUNet(3, 3)
    net.load_weights(f32(sd))
    losses = student.finetune(net, x, labels, steps=4, lr=1e-3)
    sd_after, expected = finetune(sd, x, labels, steps=4, lr=1e-3)
    assert type(losses) is list and len(losses) == 4, f"finetune must return 4 losses, got {losses!r}"
    np.testing.assert_allclose(losses, expected, rtol=1e-4, atol=1e-6, err_msg="loss before each Adam step")
    assert_tensor(net(x), unet_forward(sd_after, x.double()).float(), atol=2e-4, rtol=1e-3,
                  case="outputs after 4 Adam steps")
    # zero steps: nothing happens
    net.load_weights(f32(sd))
    assert student.finetune(net, x, labels, steps=0) == []
    assert_tensor(net(x), unet_forward(sd, x.double()).float(), atol=1e-4, rtol=1e-4, case="after 0 steps")
    with pytest.raises(ValueError, match="steps"):
        student.finetune(net, x, labels, steps=-1)
    with pytest.raises(ValueError, match="labels|images"):
        student.finetune(net, x, labels[:1], steps=1)


@pytest.mark.task("osvos")
def test_finetune_respects_time_budget(student):
    x, mask = small_sequence(frames=1)
    net = student.TinyUNet(3, 2)
    start = time.monotonic()
    losses = student.finetune(net, x, mask[None], steps=10 ** 6, lr=1e-3, time_budget_s=0.3)
    took = time.monotonic() - start
    assert 1 <= len(losses) < 10 ** 6 and took < 8.0, f"{len(losses)} steps in {took:.1f} s with a 0.3 s budget"


@pytest.mark.task("osvos")
def test_foreground_probs_is_sigmoid_of_logits(student):
    sd = random_state(3, 2, seed=4)
    net = student.TinyUNet(3, 2)
    net.load_weights(f32(sd))
    x, _ = small_sequence(frames=3, size=8)
    assert_tensor(student.foreground_probs(net, x), probs(sd, x.double()).float(), atol=1e-5, rtol=1e-4)


# ----------------------------------------------------------------------------- OSVOS
@pytest.mark.task("osvos")
def test_osvos_segment_matches_oracle_from_parent(student):
    x, mask = small_sequence(frames=4)
    sd = random_state(3, 3, seed=21)
    got = student.osvos_segment(x, mask, parent=f32(sd), base_channels=3, steps=6, lr=1e-2)
    sd_after, _ = finetune(sd, x[:1], mask[None], 6, 1e-2)
    p = probs(sd_after, x.double())
    assert type(got) is torch.Tensor and got.dtype == torch.int64 and got.shape == (4, 16, 16)
    sure = (p - 0.5).abs() > 0.02
    assert bool(sure.float().mean() > 0.5), "oracle too close to 0.5: bad test case"
    agree = (got == (p > 0.5).long())[sure].float().mean()
    assert float(agree) == 1.0, f"masks differ from the oracle on {1 - float(agree):.2%} of the clear pixels"


@pytest.mark.task("osvos")
def test_osvos_resets_parameters_between_sequences(student):
    x, mask = small_sequence(frames=3, seed=1)
    y, mask_y = small_sequence(frames=3, seed=2)
    mask_y = mask_y.roll(3, 1)
    sd = f32(random_state(3, 2, seed=5))
    a1 = student.osvos_segment(x, mask, parent=sd, base_channels=2, steps=5)
    student.osvos_segment(y, mask_y, parent=sd, base_channels=2, steps=5)
    a2 = student.osvos_segment(x, mask, parent=sd, base_channels=2, steps=5)
    assert torch.equal(a1, a2), "the result on a sequence depends on the sequence segmented before"
    b1 = student.osvos_segment(x, mask, base_channels=2, steps=5, seed=3)
    student.osvos_segment(y, mask_y, base_channels=2, steps=5, seed=3)
    b2 = student.osvos_segment(x, mask, base_channels=2, steps=5, seed=3)
    assert torch.equal(b1, b2), "without a parent the seeded initialisation must be the same for every call"


@pytest.mark.task("osvos")
def test_osvos_learns_the_object_from_the_first_frame(student):
    seq = make_vos_sequence(5, height=32, width=32, frames=6, occluder=False)
    frames = seq["frames"].float() / 255
    masks = student.osvos_segment(frames, seq["masks"][0].long(), steps=80, seed=0)
    score = evaluate_sequence(masks.numpy(), seq["masks"].numpy())
    assert score.j_mean > 0.5, f"J mean {score.j_mean:.3f} after fine-tuning on the first frame"


@pytest.mark.task("osvos")
def test_osvos_contract_and_errors(student):
    x, mask = small_sequence(frames=2, size=8)
    out = student.osvos_segment(x, mask.bool(), base_channels=2, steps=2)
    assert type(out) is torch.Tensor and out.dtype == torch.int64 and out.shape == (2, 8, 8)
    assert set(out.unique().tolist()) <= {0, 1}
    start = time.monotonic()
    student.osvos_segment(x, mask, base_channels=2, steps=10 ** 6, time_budget_s=0.3)
    assert time.monotonic() - start < 8.0, "time_budget_s must stop the fine-tuning"
    with pytest.raises((ValueError, TypeError), match="first_mask|frames"):  # "TypeError / ValueError"
        student.osvos_segment(x, mask[:4], steps=1)
    as64 = student.osvos_segment(x.double(), mask, base_channels=2, steps=2)
    assert torch.equal(as64, out), "float64 frames: the network is float32, convert them"
    one = student.osvos_segment(x[:1], mask, base_channels=2, steps=1)
    assert one.shape == (1, 8, 8), "a one-frame sequence is a sequence"
    with pytest.raises((ValueError, TypeError), match=r"frames|\bx\b"):
        student.osvos_segment(x[:0], mask, steps=1)


# ----------------------------------------------------------------------------- OnAVOS
def pl_case(seed, h=12, w=14):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(h, w, generator=g, dtype=torch.float64)
    prev = torch.zeros(h, w, dtype=torch.int64)
    prev[3:9, 4:11] = 1
    prev[5, 2] = 1
    return p, prev


@pytest.mark.task("onavos")
@pytest.mark.parametrize("alpha,margin,erosion", [(0.5, 2.0, 1.0), (0.3, 0.0, 0.0), (0.2, 3.5, 2.0),
                                                  (0.1, 2.0, 1.5)])
def test_pseudo_labels_match_distance_transform_oracle(student, alpha, margin, erosion):
    p, prev = pl_case(int(alpha * 10))
    expected = pseudo_labels(p.numpy(), prev.numpy(), alpha, margin, erosion)
    got = student.onavos_pseudo_labels(p, prev, alpha=alpha, margin=margin, erosion=erosion)
    assert_tensor(got, torch.from_numpy(expected), case=f"alpha={alpha} margin={margin} erosion={erosion}")
    assert set(np.unique(expected)) == {0, 1, 255}


@pytest.mark.task("onavos")
def test_pseudo_labels_boundaries_are_strict(student):
    prev = torch.zeros(7, 7, dtype=torch.int64)
    prev[3, 3] = 1
    p = torch.full((7, 7), 0.5, dtype=torch.float32)
    # distance exactly 2 is not "farther than margin 2"; exactly alpha is not "above alpha"
    got = student.onavos_pseudo_labels(p, prev, alpha=0.5, margin=2.0, erosion=0.0)
    expected = pseudo_labels(p.numpy(), prev.numpy(), 0.5, 2.0, 0.0)
    assert_tensor(got, torch.from_numpy(expected))
    assert int(got[3, 5]) == 255 and int(got[3, 6]) == 0 and int(got[3, 3]) == 255
    p[3, 3] = 0.51
    got = student.onavos_pseudo_labels(p, prev, alpha=0.5, margin=2.0, erosion=0.0)
    assert int(got[3, 3]) == 1
    got = student.onavos_pseudo_labels(p, prev, alpha=0.5, margin=2.0, erosion=1.0)
    assert int(got[3, 3]) == 255, "a one-pixel mask eroded by 1 has no positive"


@pytest.mark.task("onavos")
def test_pseudo_labels_empty_and_full_previous_masks(student):
    p = torch.linspace(0, 1, 30, dtype=torch.float64).reshape(5, 6)
    empty = torch.zeros(5, 6, dtype=torch.int64)
    assert_tensor(student.onavos_pseudo_labels(p, empty, alpha=0.5, margin=1.0, erosion=0.0),
                  torch.zeros(5, 6, dtype=torch.int64), case="empty previous mask: all background")
    full = torch.ones(5, 6, dtype=torch.int64)
    expected = torch.where(p > 0.5, 1, 255).long()
    assert_tensor(student.onavos_pseudo_labels(p, full, alpha=0.5, margin=1.0, erosion=3.0), expected,
                  case="full previous mask: no background, erosion cannot reach the image border")
    custom = student.onavos_pseudo_labels(p, full, alpha=0.5, ignore_index=9)
    assert int(custom.min()) in (1, 9) and set(custom.unique().tolist()) <= {1, 9}
    with pytest.raises(ValueError, match="alpha"):
        student.onavos_pseudo_labels(p, full, alpha=1.0)
    for bad in (0.0, -0.5):  # "alpha in (0, 1)": both ends open
        with pytest.raises(ValueError, match="alpha"):
            student.onavos_pseudo_labels(p, full, alpha=bad)
    with pytest.raises(ValueError, match="erosion"):
        student.onavos_pseudo_labels(p, full, erosion=-1e-9)
    assert_tensor(student.onavos_pseudo_labels(p, full, alpha=1e-9, margin=0.0, erosion=0.0),
                  torch.where(p > 1e-9, 1, 255).long(), case="alpha a hair above 0, margin and erosion 0")
    with pytest.raises(ValueError, match="margin"):
        student.onavos_pseudo_labels(p, full, margin=-1.0)
    with pytest.raises(ValueError, match="probs|prev_mask|shape"):
        student.onavos_pseudo_labels(p, full[:4])


@pytest.mark.task("onavos")
def test_onavos_segment_matches_oracle(student):
    x, mask = small_sequence(frames=3, seed=4)
    sd = random_state(3, 2, seed=8)
    kw = dict(steps=5, online_steps=2, lr=1e-2, online_lr=3e-3, alpha=0.6, margin=2.0, erosion=1.0)
    got = student.onavos_segment(x, mask, parent=f32(sd), base_channels=2, **kw)
    expected, p = onavos(sd, x, mask, **kw)
    assert type(got) is torch.Tensor and got.dtype == torch.int64 and got.shape == expected.shape
    sure = (p - 0.5).abs() > 0.02
    agree = float((got == expected)[sure].float().mean())
    assert agree >= 0.99, f"OnAVOS masks agree with the oracle on {agree:.2%} of the clear pixels"


@pytest.mark.task("onavos")
def test_onavos_without_online_steps_is_osvos(student):
    x, mask = small_sequence(frames=3, seed=6)
    sd = f32(random_state(3, 2, seed=9))
    a = student.onavos_segment(x, mask, parent=sd, base_channels=2, steps=6, online_steps=0)
    b = student.osvos_segment(x, mask, parent=sd, base_channels=2, steps=6)
    assert torch.equal(a, b), "with online_steps=0 OnAVOS must equal OSVOS"
    c = student.onavos_segment(x, mask, parent=sd, base_channels=2, steps=6, online_steps=3, alpha=0.5)
    assert not torch.equal(c[1:], b[1:]), "online adaptation steps changed nothing"
    # onavos_segment documents no Raises: its own check names online_steps / online_lr, or the one of
    # finetune, which it calls with them, names steps / lr
    with pytest.raises((ValueError, TypeError), match=r"online_steps|\bsteps\b"):
        student.onavos_segment(x, mask, online_steps=-1)
    with pytest.raises((ValueError, TypeError), match=r"online_lr|\blr\b"):
        student.onavos_segment(x, mask, online_lr=0.0)


@pytest.mark.task("osvos")
def test_osvos_input_checks(student):
    x, mask = small_sequence(frames=2, size=8)
    net = student.TinyUNet(3, 2)
    assert student.foreground_probs(net, x).shape == (2, 8, 8)
    with pytest.raises((ValueError, TypeError), match="x"):  # forward documents no dtype error
        net(torch.zeros(1, 3, 8, 8, dtype=torch.int64))
    with pytest.raises(TypeError, match="labels"):
        student.balanced_bce_loss(torch.zeros(3), torch.zeros(3))
    with pytest.raises(TypeError, match="logits"):
        student.balanced_bce_loss(torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="lr"):
        student.finetune(net, x, mask[None].repeat(2, 1, 1), steps=1, lr=0.0)
    # a malformed images / frames tensor is named by the function, or by the error of the
    # documented TinyUNet.forward it passes through (its x)
    with pytest.raises(ValueError, match=r"images|\bx\b"):
        student.finetune(net, x[0], mask[None], steps=1)
    with pytest.raises((ValueError, TypeError), match=r"frames|\bx\b"):
        student.osvos_segment(x[:, :2], mask, steps=1)
    with pytest.raises((ValueError, TypeError), match=r"frames|\bx\b"):
        student.osvos_segment((x * 255).long(), mask, steps=1)
    # foreground_probs documents no Raises: its own check names frames, or the error of the net's
    # documented forward (TinyUNet.forward) names x
    with pytest.raises((ValueError, TypeError), match=r"frames|\bx\b"):
        student.foreground_probs(net, x[0])
    with pytest.raises((ValueError, TypeError), match="probs"):
        student.onavos_pseudo_labels([[0.5]], torch.zeros(1, 1, dtype=torch.int64))
