"""Hidden tests of the GOTURN parts [goturn].

Oracles: a float64 bilinear loop over pixel centres (zero padding), the formulas of the paper
written here, scipy.stats.laplace (inverse CDF and a KS test of the seeded draws), and the
reference's regressor with the same weights.
"""

import math

import pytest
import torch
from scipy import stats

from harness.testkit import assert_tensor, devices
from sot_oracles import ZERO_SIZE


def g(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------- context_box
@pytest.mark.task("goturn")
def test_context_box_default_is_two(student):
    boxes = torch.tensor([[10.0, 20.0, 30.0, 60.0], [0.0, 0.0, 1.0, 3.0]], dtype=torch.float64)
    expected = torch.tensor([[0.0, 0.0, 40.0, 80.0], [-0.5, -1.5, 1.5, 4.5]], dtype=torch.float64)
    assert_tensor(student.context_box(boxes), expected, atol=1e-12, case="k = 2")


@pytest.mark.task("goturn")
@pytest.mark.parametrize("k", [1.0, 1.5, 3.0])
def test_context_box_factor(student, k):
    boxes = torch.tensor([[5.0, 7.0, 11.0, 10.0]])
    cx, cy, w, h = 8.0, 8.5, 6.0, 3.0
    expected = torch.tensor([[cx - k * w / 2, cy - k * h / 2, cx + k * w / 2, cy + k * h / 2]])
    assert_tensor(student.context_box(boxes, k), expected, atol=1e-6, case=f"k = {k}")


@pytest.mark.task("goturn")
def test_context_box_rejects_bad_context(student):
    with pytest.raises(ValueError, match="context"):
        student.context_box(torch.zeros(1, 4), 0.0)
    assert_tensor(student.context_box(torch.zeros(0, 4)), torch.zeros(0, 4), case="no boxes")


# ------------------------------------------------------------------------------- crop_and_resize
def crop_oracle(image, regions, oh, ow):
    c, h, w = image.shape
    img = image.double()
    out = torch.zeros(regions.shape[0], c, oh, ow, dtype=torch.float64)
    for n, (x1, y1, x2, y2) in enumerate(regions.double().tolist()):
        for i in range(oh):
            for j in range(ow):
                x = x1 + (j + 0.5) * (x2 - x1) / ow - 0.5
                y = y1 + (i + 0.5) * (y2 - y1) / oh - 0.5
                x0, y0 = math.floor(x), math.floor(y)
                ax, ay = x - x0, y - y0
                for yy, wy in ((y0, 1 - ay), (y0 + 1, ay)):
                    for xx, wx in ((x0, 1 - ax), (x0 + 1, ax)):
                        if 0 <= yy < h and 0 <= xx < w:
                            out[n, :, i, j] += wy * wx * img[:, yy, xx]
    return out


@pytest.mark.task("goturn")
@pytest.mark.parametrize("device", devices())
def test_crop_and_resize_matches_a_bilinear_loop(student, device):
    image = torch.rand(3, 13, 17, generator=g(1), dtype=torch.float64)
    regions = torch.tensor([[2.0, 3.0, 10.0, 11.0], [0.3, 1.7, 5.9, 12.2], [-4.0, -3.0, 6.0, 5.0],
                            [12.0, 8.0, 20.5, 16.0], [4.0, 4.0, 5.0, 5.0]], dtype=torch.float64)
    got = student.crop_and_resize(image.to(device), regions.to(device), 6)
    assert_tensor(got, crop_oracle(image, regions, 6, 6).to(device), atol=1e-10, case="5 regions, 6 x 6")


@pytest.mark.task("goturn")
def test_crop_and_resize_rectangular_output_float32(student):
    image = torch.rand(2, 9, 11, generator=g(2))
    regions = torch.tensor([[1.0, 2.0, 8.0, 6.0], [-1.0, 0.0, 12.0, 9.0]])
    got = student.crop_and_resize(image, regions, (4, 7))
    assert_tensor(got, crop_oracle(image, regions, 4, 7).float(), atol=1e-5, case="(out_h, out_w) = (4, 7)")


@pytest.mark.task("goturn")
def test_crop_and_resize_identity_and_empty(student):
    image = torch.rand(3, 8, 8, generator=g(3), dtype=torch.float64)
    got = student.crop_and_resize(image, torch.tensor([[0.0, 0.0, 8.0, 8.0]], dtype=torch.float64), 8)
    assert_tensor(got, image[None], atol=1e-12, case="the whole image at its own size")
    empty = student.crop_and_resize(image, torch.zeros(0, 4, dtype=torch.float64), 5)
    assert_tensor(empty, torch.zeros(0, 3, 5, 5, dtype=torch.float64), case="no regions")
    with pytest.raises(ValueError, match="size"):
        student.crop_and_resize(image, torch.zeros(1, 4, dtype=torch.float64), 0)


# ------------------------------------------------------------------------------- targets
@pytest.mark.task("goturn")
def test_box_to_target_of_the_previous_box(student):
    box = torch.tensor([[10.0, 20.0, 30.0, 60.0]], dtype=torch.float64)
    region = torch.tensor([[0.0, 0.0, 40.0, 80.0]], dtype=torch.float64)
    assert_tensor(student.box_to_target(box, region), torch.tensor([[2.5, 2.5, 7.5, 7.5]], dtype=torch.float64),
                  atol=1e-12, case="the previous box in its context-2 crop, scale 10")
    assert_tensor(student.box_to_target(box, region, 1.0), torch.tensor([[0.25, 0.25, 0.75, 0.75]],
                                                                         dtype=torch.float64),
                  atol=1e-12, case="scale 1")


def target_oracle(boxes, regions, scale):
    b, r = boxes.double(), regions.double()
    w, h = r[:, 2] - r[:, 0], r[:, 3] - r[:, 1]
    return torch.stack(((b[:, 0] - r[:, 0]) / w, (b[:, 1] - r[:, 1]) / h, (b[:, 2] - r[:, 0]) / w,
                        (b[:, 3] - r[:, 1]) / h), 1) * scale


@pytest.mark.task("goturn")
def test_targets_and_inverse_round_trip(student):
    gen = g(4)
    xy = torch.rand(30, 2, generator=gen, dtype=torch.float64) * 100
    wh = torch.rand(30, 2, generator=gen, dtype=torch.float64) * 40 + 1
    boxes = torch.cat([xy, xy + wh], 1)
    regions = torch.cat([xy - 7.3, xy + 2.1 * wh], 1)
    t = student.box_to_target(boxes, regions)
    assert_tensor(t, target_oracle(boxes, regions, 10.0), atol=1e-12, case="30 boxes")
    assert_tensor(student.target_to_box(t, regions), boxes, atol=1e-10, case="target_to_box(box_to_target(b)) = b")
    raw = torch.randn(30, 4, generator=gen, dtype=torch.float64) * 5
    back = student.box_to_target(student.target_to_box(raw, regions, 4.0), regions, 4.0)
    assert_tensor(back, raw, atol=1e-10, case="box_to_target(target_to_box(t)) = t, scale 4")


@pytest.mark.task("goturn")
def test_targets_promote_and_reject(student):
    t = student.box_to_target(torch.tensor([[1.0, 1.0, 3.0, 3.0]]), torch.tensor([[0.0, 0.0, 4.0, 4.0]],
                                                                                 dtype=torch.float64))
    assert t.dtype == torch.float64, f"expected float64 (promoted), got {t.dtype}"
    with pytest.raises(ValueError):
        student.box_to_target(torch.zeros(2, 4), torch.tensor([[0.0, 0.0, 4.0, 4.0]]))
    with pytest.raises(ValueError, match=ZERO_SIZE):
        student.target_to_box(torch.zeros(1, 4), torch.tensor([[0.0, 0.0, 0.0, 4.0]]))


# ------------------------------------------------------------------------------- Laplace motion
@pytest.mark.task("goturn")
@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (1.0, 1 / 15), (-2.0, 0.2)])
def test_laplace_from_uniform_is_the_inverse_cdf(student, loc, scale):
    u = torch.tensor([1e-6, 0.01, 0.2, 0.5, 0.73, 0.99, 1 - 1e-9], dtype=torch.float64)
    expected = torch.tensor(stats.laplace.ppf(u.numpy(), loc=loc, scale=scale), dtype=torch.float64)
    assert_tensor(student.laplace_from_uniform(u, loc, scale), expected, atol=1e-9, rtol=1e-9,
                  case=f"Laplace({loc}, {scale})")


@pytest.mark.task("goturn")
def test_laplace_from_uniform_rejects(student):
    with pytest.raises(ValueError, match="scale"):
        student.laplace_from_uniform(torch.tensor([0.5]), 0.0, 0.0)
    with pytest.raises(ValueError):
        student.laplace_from_uniform(torch.tensor([0.0, 0.5]), 0.0, 1.0)


def motion_oracle(box, u, bs=0.2, bg=1 / 15, lo=0.6, hi=1.4):
    x1, y1, x2, y2 = box.double().tolist()
    w, h = x2 - x1, y2 - y1
    q = lambda col, loc, b: torch.tensor(stats.laplace.ppf(u[:, col].double().numpy(), loc=loc, scale=b))  # noqa: E731
    dx, dy = q(0, 0.0, bs), q(1, 0.0, bs)
    gw, gh = q(2, 1.0, bg).clamp(lo, hi), q(3, 1.0, bg).clamp(lo, hi)
    cx, cy = (x1 + x2) / 2 + w * dx, (y1 + y2) / 2 + h * dy
    return torch.stack((cx - w * gw / 2, cy - h * gh / 2, cx + w * gw / 2, cy + h * gh / 2), 1)


@pytest.mark.task("goturn")
def test_sample_motion_with_injected_uniforms(student):
    box = torch.tensor([10.0, 20.0, 50.0, 40.0], dtype=torch.float64)
    u = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.9, 0.2, 0.7, 0.4], [0.01, 0.99, 1e-6, 1 - 1e-7],
                      [0.6, 0.3, 0.999, 0.001]], dtype=torch.float64)
    assert_tensor(student.sample_motion(box, 4, uniform=u), motion_oracle(box, u), atol=1e-9,
                  case="shifts scale with the old size; size factors clamped to [0.6, 1.4]")


@pytest.mark.task("goturn")
def test_sample_motion_parameters(student):
    box = torch.tensor([0.0, 0.0, 10.0, 30.0])
    u = torch.rand(6, 4, generator=g(8), dtype=torch.float64) * 0.98 + 0.01
    got = student.sample_motion(box, 6, shift_scale=0.5, size_scale=0.3, size_range=(0.8, 1.1), uniform=u)
    assert_tensor(got, motion_oracle(box, u, 0.5, 0.3, 0.8, 1.1).float(), atol=1e-4, case="custom scales, float32")
    assert_tensor(student.sample_motion(box, 0, uniform=torch.zeros(0, 4)), torch.zeros(0, 4), case="M = 0")
    with pytest.raises(ValueError, match="size_range"):
        student.sample_motion(box, 1, size_range=(1.2, 1.4))


@pytest.mark.task("goturn")
def test_sample_motion_distribution(student):
    box = torch.tensor([100.0, 100.0, 120.0, 140.0], dtype=torch.float64)  # w 20, h 40
    m = student.sample_motion(box, 20000, seed=2016)
    assert type(m) is torch.Tensor and tuple(m.shape) == (20000, 4) and m.dtype == torch.float64
    cx, cy = (m[:, 0] + m[:, 2]) / 2, (m[:, 1] + m[:, 3]) / 2
    dx, dy = (cx - 110.0) / 20.0, (cy - 120.0) / 40.0
    gw, gh = (m[:, 2] - m[:, 0]) / 20.0, (m[:, 3] - m[:, 1]) / 40.0
    for name, v, loc, b in (("dx", dx, 0.0, 0.2), ("dy", dy, 0.0, 0.2), ("gw", gw, 1.0, 1 / 15),
                            ("gh", gh, 1.0, 1 / 15)):
        med = float(v.median())
        mad = float((v - loc).abs().mean())  # the Laplace scale b is the mean absolute deviation
        assert abs(med - loc) < 0.03 * b * 10, f"{name}: median {med:.4f}, expected {loc}"
        assert abs(mad - b) < 0.05 * b, f"{name}: mean |x - loc| {mad:.4f}, expected the Laplace scale {b:.4f}"
    ks = stats.kstest(dx.numpy(), "laplace", args=(0.0, 0.2))
    assert ks.pvalue > 1e-4, f"dx is not Laplace(0, 1/5): KS p = {ks.pvalue:.2g}"
    assert float(gw.min()) >= 0.6 - 1e-12 and float(gw.max()) <= 1.4 + 1e-12, "size factors outside [0.6, 1.4]"


# ------------------------------------------------------------------------------- the regressor
def perturbed_state(module, seed):
    gen = g(seed)
    return {k: (v + 0.05 * torch.randn(v.shape, generator=gen)).clone() for k, v in module.state_dict().items()}


@pytest.mark.task("goturn")
@pytest.mark.parametrize("config", [{"crop_size": 16, "channels": 4, "hidden": 8},
                                    {"crop_size": 32, "channels": 6, "hidden": 16}])
def test_goturn_regressor_matches_the_reference(student, reference, config):
    torch.manual_seed(0)
    ref = reference.GoturnRegressor(**config)
    sd = perturbed_state(ref, 1)
    ref.load_state_dict(sd)
    s = config["crop_size"]
    prev = torch.randn(3, 3, s, s, generator=g(2))
    cur = torch.randn(3, 3, s, s, generator=g(3))
    model = student.GoturnRegressor(**config)
    model.load_weights(sd)
    got = model(prev, cur)
    with torch.no_grad():
        expected = ref(prev, cur)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case=f"{config}")
    swapped = model(cur, prev)
    assert not torch.allclose(swapped, expected, atol=1e-4), "previous and current crops must not commute"


@pytest.mark.task("goturn")
def test_goturn_regressor_is_strict_and_checks_shapes(student, reference):
    ref = reference.GoturnRegressor(16, 4, 8)
    sd = dict(ref.state_dict())
    model = student.GoturnRegressor(16, 4, 8)
    bad = dict(sd)
    del bad["head.4.bias"]
    with pytest.raises(RuntimeError):
        model.load_weights(bad)
    model.load_weights(sd)
    with pytest.raises(ValueError):
        model(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="crop_size"):
        student.GoturnRegressor(20, 4, 8)


# ------------------------------------------------------------------------------- the trained checkpoint
@pytest.mark.task("goturn")
def test_trained_checkpoint_regresses_motion(student, reference):
    """The committed checkpoint (reference/sot/train.py) in the student's regressor: the same
    outputs as the reference's, and a lower L1 error than predicting no motion on fresh pairs."""
    from pathlib import Path

    from cv3data.sot import make_sot_split

    saved = torch.load(Path(__file__).resolve().parents[1] / "goturn.pt", map_location="cpu", weights_only=True)
    sd = {k: v.float() for k, v in saved["state_dict"].items()}
    ref = reference.GoturnRegressor(**saved["config"])
    ref.load_state_dict(sd)
    ref.eval()
    size = saved["config"]["crop_size"]
    gen = g(77)
    prev, cur, targets = [], [], []
    for seq in make_sot_split(4040, num_sequences=4, num_frames=17):
        images = seq["frames"].float() / 255.0 - 0.5
        for t in range(1, 17):
            region = reference.context_box(seq["boxes"][t - 1][None])
            prev.append(reference.crop_and_resize(images[t - 1], region.float(), size)[0])
            moved = reference.sample_motion(seq["boxes"][t], 1, uniform=torch.rand(1, 4, generator=gen,
                                                                                   dtype=torch.float64) * 0.98 + 0.01)
            region_cur = reference.context_box(moved)
            prev[-1] = reference.crop_and_resize(images[t - 1], region.float(), size)[0]
            cur.append(reference.crop_and_resize(images[t], region_cur.float(), size)[0])
            targets.append(reference.box_to_target(seq["boxes"][t][None], region_cur)[0].float())
    prev, cur, targets = torch.stack(prev), torch.stack(cur), torch.stack(targets)
    model = student.GoturnRegressor(**saved["config"])
    model.load_weights(sd)
    got = model(prev, cur)
    with torch.no_grad():
        expected = ref(prev, cur)
    assert_tensor(got, expected, atol=1e-4, rtol=1e-4, case="trained weights, 64 pairs")
    err = float((got - targets).abs().mean())
    still = float((torch.tensor([2.5, 2.5, 7.5, 7.5]) - targets).abs().mean())
    assert err < 0.85 * still, f"L1 {err:.3f} vs {still:.3f} for 'no motion'"
