"""The Lucas-Kanade accuracy check of the vos assignment (reference/vos/tests/accuracy_flow.py):
only the two grey images enter the sandbox, the ground-truth flow has the verified sign
(left -> right is -disparity), the metric is minus the mean end-point error over the valid
pixels, malformed outputs are refused with a message naming the pair, and the student version
of the figures holds no ground truth."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from tests.conftest import ROOT, load_module

HIDDEN = ROOT / "reference" / "vos" / "tests"


@pytest.fixture(scope="module")
def af():
    alias = "cv3_test_vos_accuracy_flow"
    return load_module(HIDDEN / "accuracy_flow.py", alias)  # it imports flow_oracles, as in grading


@pytest.fixture(scope="module")
def data(af):
    return af.holdout()


def test_only_the_images_enter_the_sandbox(af, data):
    calls, targets = data
    assert len(calls) == len(targets) == 2
    for (args, kwargs), t in zip(calls, targets):
        assert len(args) == 2 and all(type(a) is torch.Tensor and a.dtype == torch.float32 for a in args)
        assert args[0].shape == args[1].shape == (125, 185) == t["valid"].shape
        assert kwargs == {"radius": 7, "num_warp": 10, "levels": 3}
        assert 0.0 <= float(args[0].min()) and float(args[0].max()) <= 1.0
    # the mirrored call is the first one flipped left-right
    assert torch.equal(calls[1][0][0], calls[0][0][0].flip(-1))


def test_the_ground_truth_sign_is_verified_by_warping(af, data):
    calls, targets = data
    for (args, _), t in zip(calls, targets):
        left, right = args[0].double().numpy(), args[1].double().numpy()
        u = t["flow"][0]
        h, w = left.shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)

        def err(sign, left=left, right=right, yy=yy, xx=xx, u=u, valid=t["valid"]):
            warped = ndi.map_coordinates(right, [yy, xx + sign * u], order=1, mode="nearest")
            return np.abs(warped - left)[valid].mean()

        assert err(+1) < 0.5 * err(-1), f"{t['name']}: I0(x) = I1(x + u) must hold with the stored sign"
        assert np.all(t["flow"][1] == 0)
    assert (targets[0]["flow"][0][targets[0]["valid"]] < 0).all(), "left -> right moves to the left"
    assert 0.7 < targets[0]["valid"].mean() < 0.8  # 17451 of the 23125 blocks are fully known


def test_score_is_minus_the_mean_epe(af, data):
    _, targets = data
    perfect = [torch.from_numpy(t["flow"]).float() for t in targets]
    value, details = af.score(perfect, targets)
    assert abs(value) < 1e-6 and details["within_1px"] == 1.0
    zero = [torch.zeros(2, 125, 185) for _ in targets]
    value, details = af.score(zero, targets)
    expected = np.concatenate([np.abs(t["flow"][0])[t["valid"]] for t in targets]).mean()
    assert value == pytest.approx(-expected, rel=1e-9) and details["epe"] == pytest.approx(expected, abs=1e-6)
    # invalid pixels do not count: garbage there changes nothing
    noisy = [torch.from_numpy(np.where(t["valid"][None], t["flow"], 50.0)).float() for t in targets]
    assert abs(af.score(noisy, targets)[0]) < 1e-6


@pytest.mark.parametrize("mutate,match", [
    (lambda o: o[:1], "one flow per image pair"),
    (lambda o: [o[0].numpy(), o[1]], "plain torch.Tensor"),
    (lambda o: [o[0].long(), o[1]], "float32"),
    (lambda o: [o[0][:, :-1], o[1]], "expected shape"),
    (lambda o: [o[0] * float("nan"), o[1]], "nan"),
    (lambda o: [o[0] + 1e6, o[1]], "beyond"),
    (lambda o: tuple(o), "one flow per image pair"),
])
def test_malformed_outputs_are_refused(af, data, mutate, match):
    _, targets = data
    outputs = [torch.from_numpy(t["flow"]).float() for t in targets]
    with pytest.raises(ValueError, match=match):
        af.score(mutate(outputs), targets)


def test_figures_hide_the_ground_truth_from_students(af, data):
    _, targets = data
    _, details = af.score([torch.from_numpy(t["flow"]).float() for t in targets], targets)
    fig = details["figures"][0]
    assert len(fig["tiles"]) == 8 and len(fig["student_tiles"]) == 2
    assert all("ground truth" not in t and "EPE" not in t for t in fig["student_tiles"])
    assert any("ground truth" in t for t in fig["tiles"])
