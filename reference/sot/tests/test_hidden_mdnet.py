"""Hidden tests of the MDNet parts [mdnet].

Oracles: torchvision.ops.box_iou for every sample's label, a stable sort for hard negatives,
a state machine written here for the online updates, numpy float64 closed-form ridge regression
for the box regressor, and the reference's network with the same weights.
"""

import numpy as np
import pytest
import torch
from sot_oracles import iou_labels

from harness.testkit import assert_tensor


def g(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------- the network
@pytest.mark.task("mdnet")
def test_mdnet_heads_match_the_reference(student, reference):
    torch.manual_seed(0)
    ref = reference.MDNet(3, 16, 4, 12)
    gen = g(1)
    sd = {k: v + 0.05 * torch.randn(v.shape, generator=gen) for k, v in ref.state_dict().items()}
    ref.load_state_dict(sd)
    x = torch.randn(5, 3, 16, 16, generator=g(2))
    model = student.MDNet(3, 16, 4, 12)
    model.load_weights(sd)
    with torch.no_grad():
        for d in range(3):
            assert_tensor(model(x, d), ref(x, d), atol=1e-5, rtol=1e-5, case=f"domain {d}")
        assert_tensor(model.features(x), ref.features(x), atol=1e-5, rtol=1e-5, case="shared features")
    assert not torch.allclose(model(x, 0), model(x, 2)), "the domains must have their own heads"


@pytest.mark.task("mdnet")
def test_mdnet_rejects_unknown_domains(student):
    model = student.MDNet(2, 8, 2, 4)
    with pytest.raises(ValueError, match="domain"):
        model(torch.zeros(1, 3, 8, 8), 2)
    with pytest.raises(ValueError):
        model(torch.zeros(1, 3, 12, 12), 0)


# ------------------------------------------------------------------------------- samples
def samples_oracle(box, noise, trans, sf):
    x1, y1, x2, y2 = box.double().tolist()
    w, h = x2 - x1, y2 - y1
    m = (w + h) / 2
    n = (0.5 * noise.double()).clamp(-1, 1)
    cx = (x1 + x2) / 2 + trans * m * n[:, 0]
    cy = (y1 + y2) / 2 + trans * m * n[:, 1]
    f = sf ** n[:, 2]
    return torch.stack((cx - w * f / 2, cy - h * f / 2, cx + w * f / 2, cy + h * f / 2), 1)


@pytest.mark.task("mdnet")
@pytest.mark.parametrize("trans, sf", [(0.1, 1.3), (0.6, 1.05), (1.0, 1.6)])
def test_gaussian_samples_with_injected_noise(student, trans, sf):
    box = torch.tensor([20.0, 30.0, 44.0, 46.0], dtype=torch.float64)
    noise = torch.randn(40, 3, generator=g(5), dtype=torch.float64) * 1.5  # some beyond the clamp
    got = student.gaussian_samples(box, 40, trans=trans, scale_factor=sf, noise=noise)
    assert_tensor(got, samples_oracle(box, noise, trans, sf), atol=1e-10, case=f"trans {trans}, scale {sf}")


@pytest.mark.task("mdnet")
def test_gaussian_samples_with_a_generator(student):
    box = torch.tensor([20.0, 30.0, 44.0, 46.0])
    got = student.gaussian_samples(box, 500, trans=0.3, scale_factor=1.2, seed=9)
    noise = torch.randn(500, 3, generator=g(9), dtype=torch.float64)
    assert_tensor(got, samples_oracle(box, noise, 0.3, 1.2).float(), atol=1e-4,
                  case="draws torch.randn(M, 3, generator=..., dtype=float64)")
    w, h = got[:, 2] - got[:, 0], got[:, 3] - got[:, 1]
    assert_tensor(w / h, torch.full((500,), 1.5), atol=1e-4, case="the aspect ratio is kept")
    with pytest.raises(ValueError):
        student.gaussian_samples(box, 3, noise=torch.zeros(2, 3))


@pytest.mark.task("mdnet")
def test_label_by_iou_matches_torchvision(student):
    box = torch.tensor([30.0, 30.0, 60.0, 50.0], dtype=torch.float64)
    noise = torch.randn(300, 3, generator=g(3), dtype=torch.float64) * 2
    samples = samples_oracle(box, noise, 0.7, 1.5)
    labels = student.label_by_iou(samples, box)
    expected = iou_labels(samples, box)
    assert_tensor(labels, expected, case="300 samples, thresholds 0.7 / 0.5")
    assert {0, 1, -1} <= set(labels.tolist()), "the case should hold all three labels"


@pytest.mark.task("mdnet")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_label_by_iou_boundaries_are_inclusive(student, dtype):
    box = torch.tensor([0.0, 0.0, 10.0, 10.0], dtype=dtype)
    samples = torch.tensor([[0.0, 0.0, 7.0, 10.0],   # IoU 0.7 -> positive
                            [0.0, 0.0, 5.0, 10.0],   # IoU 0.5 -> negative
                            [0.0, 0.0, 6.0, 10.0],   # IoU 0.6 -> unused
                            [20.0, 20.0, 30.0, 30.0]], dtype=dtype)
    assert_tensor(student.label_by_iou(samples, box), torch.tensor([1, 0, -1, 0]), case=f"{dtype}")
    assert_tensor(student.label_by_iou(samples, box, 0.6, 0.4), torch.tensor([1, -1, 1, 0]), case="0.6 / 0.4")
    with pytest.raises(ValueError):
        student.label_by_iou(samples, box, 0.5, 0.5)


# ------------------------------------------------------------------------------- hard negatives
@pytest.mark.task("mdnet")
def test_hard_negative_mining_picks_the_highest_scores(student):
    scores = torch.tensor([0.1, 2.0, -1.0, 2.0, 0.7, 5.0, 0.7])
    assert_tensor(student.hard_negative_mining(scores, 4), torch.tensor([5, 1, 3, 4]),
                  case="top 4, ties by lower index")
    assert_tensor(student.hard_negative_mining(scores, 10), torch.tensor([5, 1, 3, 4, 6, 0, 2]), case="k > N")
    assert_tensor(student.hard_negative_mining(scores, 0), torch.zeros(0, dtype=torch.int64), case="k = 0")


@pytest.mark.task("mdnet")
def test_hard_negative_mining_random(student):
    scores = torch.randn(1000, generator=g(4), dtype=torch.float64)
    got = student.hard_negative_mining(scores, 96)
    assert_tensor(got, torch.argsort(scores, descending=True, stable=True)[:96], case="96 of 1000")
    with pytest.raises(ValueError, match="k"):
        student.hard_negative_mining(scores, -1)


# ------------------------------------------------------------------------------- online updates
class UpdaterOracle:
    def __init__(self, short_term=20, long_term=100, long_interval=10, thr=0.0, first=0):
        self.s, self.l, self.i, self.thr = short_term, long_term, long_interval, thr
        self.pos, self.neg = [first], [first]

    def observe(self, frame, score):
        if score > self.thr:
            self.pos = (self.pos + [frame])[-self.l:]
            self.neg = (self.neg + [frame])[-self.s:]
            return "long" if frame % self.i == 0 else "none"
        return "short"

    def frames(self, kind):
        return {"short": (self.pos[-self.s:], self.neg), "long": (self.pos, self.neg), "none": ([], [])}[kind]


@pytest.mark.task("mdnet")
@pytest.mark.parametrize("params", [(20, 100, 10, 0.0), (3, 7, 4, 0.5), (2, 2, 1, -1.0), (1, 1, 1, 0.0),
                                    (1, 4, 3, 0.2)])
def test_online_updater_state_machine(student, params):
    s, lt, li, thr = params
    updater = student.OnlineUpdater(s, lt, li, thr)
    oracle = UpdaterOracle(s, lt, li, thr)
    scores = torch.randn(60, generator=g(sum(params).__hash__() % 1000), dtype=torch.float64).tolist()
    scores[9] = thr  # exactly at the threshold: a failure
    for frame, score in enumerate(scores, start=1):
        action = updater.observe(frame, score)
        expected = oracle.observe(frame, score)
        assert action == expected, f"frame {frame}, score {score:.3f}: expected {expected!r}, got {action!r}"
        if action != "none" or frame % 7 == 0:
            pos, neg = updater.update_frames(action)
            epos, eneg = oracle.frames(action)
            assert list(pos) == epos and list(neg) == eneg, \
                f"frame {frame}, {action} update: expected frames {epos} / {eneg}, got {list(pos)} / {list(neg)}"
    mem = updater.memory()
    assert list(mem["positive"]) == oracle.pos and list(mem["negative"]) == oracle.neg


@pytest.mark.task("mdnet")
def test_online_updater_rules(student):
    updater = student.OnlineUpdater(first_frame=5)
    assert updater.memory() == {"positive": [5], "negative": [5]}
    assert updater.observe(10, 0.3) == "long"
    assert updater.observe(11, 0.0) == "short"
    assert updater.update_frames("short") == ([5, 10], [5, 10]) or \
        tuple(map(list, updater.update_frames("short"))) == ([5, 10], [5, 10])
    with pytest.raises(ValueError, match="frame"):
        updater.observe(11, 1.0)
    with pytest.raises(ValueError, match="kind"):
        updater.update_frames("medium")


# ------------------------------------------------------------------------------- box regression
def ridge_oracle(features, boxes, target, lam):
    f = features.double().numpy()
    x = np.concatenate([f, np.ones((f.shape[0], 1))], 1)
    b = boxes.double().numpy()
    t = target.double().numpy()
    pw, ph = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    px, py = b[:, 0] + pw / 2, b[:, 1] + ph / 2
    gw, gh = t[2] - t[0], t[3] - t[1]
    gx, gy = t[0] + gw / 2, t[1] + gh / 2
    y = np.stack([(gx - px) / pw, (gy - py) / ph, np.log(gw / pw), np.log(gh / ph)], 1)
    pen = np.full(x.shape[1], lam)
    pen[-1] = 0.0
    return torch.from_numpy(np.linalg.solve(x.T @ x + np.diag(pen), x.T @ y))


def regression_case(n, d, seed):
    gen = g(seed)
    target = torch.tensor([40.0, 30.0, 70.0, 50.0], dtype=torch.float64)
    noise = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    boxes = samples_oracle(target, noise, 0.3, 1.3)
    feats = torch.randn(n, d, generator=gen, dtype=torch.float64)
    return feats, boxes, target


@pytest.mark.task("mdnet")
@pytest.mark.parametrize("lam", [0.0, 1.0, 1000.0])
def test_fit_bbox_regressor_closed_form(student, lam):
    feats, boxes, target = regression_case(80, 6, int(lam))
    assert_tensor(student.fit_bbox_regressor(feats, boxes, target, lam), ridge_oracle(feats, boxes, target, lam),
                  atol=1e-9, rtol=1e-7, case=f"lambda = {lam}")


@pytest.mark.task("mdnet")
def test_fit_bbox_regressor_float32_and_bias(student):
    feats, boxes, target = regression_case(50, 4, 7)
    got = student.fit_bbox_regressor(feats.float(), boxes.float(), target.float(), 1e9)
    assert got.dtype == torch.float32, f"expected the features' dtype float32, got {got.dtype}"
    expected = ridge_oracle(feats.float(), boxes.float(), target.float(), 1e9)
    assert_tensor(got, expected.float(), atol=1e-4, case="a huge penalty leaves the (unpenalised) bias")
    with pytest.raises(ValueError, match="lam"):
        student.fit_bbox_regressor(feats, boxes, target, -1.0)


@pytest.mark.task("mdnet")
def test_apply_bbox_regressor(student):
    feats, boxes, target = regression_case(30, 5, 3)
    w = torch.randn(6, 4, generator=g(1), dtype=torch.float64) * 0.1
    d = torch.cat([feats, torch.ones(30, 1, dtype=torch.float64)], 1) @ w
    pw, ph = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = boxes[:, 0] + pw / 2 + pw * d[:, 0], boxes[:, 1] + ph / 2 + ph * d[:, 1]
    nw, nh = pw * torch.exp(d[:, 2]), ph * torch.exp(d[:, 3])
    expected = torch.stack([cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2], 1)
    assert_tensor(student.apply_bbox_regressor(w, feats, boxes), expected, atol=1e-10, case="30 boxes")


@pytest.mark.task("mdnet")
def test_bbox_regression_recovers_the_target(student):
    # features that determine the offsets exactly: an unpenalised fit maps every sample onto the target
    target = torch.tensor([40.0, 30.0, 70.0, 50.0], dtype=torch.float64)
    boxes = samples_oracle(target, torch.randn(40, 3, generator=g(12), dtype=torch.float64), 0.3, 1.3)
    pw, ph = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    feats = torch.stack([(55.0 - boxes[:, 0] - pw / 2) / pw, (40.0 - boxes[:, 1] - ph / 2) / ph,
                         torch.log(30.0 / pw), torch.log(20.0 / ph)], 1)
    w = student.fit_bbox_regressor(feats, boxes, target, 0.0)
    refined = student.apply_bbox_regressor(w, feats, boxes)
    assert_tensor(refined, target.expand(40, 4), atol=1e-8, case="exact features, lambda 0")
