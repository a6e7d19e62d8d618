"""Hidden tests of the box conversions, the constant position/velocity models and the Kalman
filter [motion].

Oracles: torchvision.ops.box_convert; the Kalman equations written out in numpy below from the
matrices derived by hand (F, H, Q, R, P0 of the class docstring).
"""

import numpy as np
import pytest
import torch
import torchvision

from harness.testkit import assert_tensor, devices


def random_boxes(n, seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 300
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 80 + 10
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


def hand_matrices(dt, qp, qv, r, sv):
    F = np.eye(8)
    F[:4, 4:] = dt * np.eye(4)
    H = np.hstack([np.eye(4), np.zeros((4, 4))])
    Q = np.diag([qp ** 2] * 4 + [qv ** 2] * 4)
    R = r ** 2 * np.eye(4)
    P0 = np.diag([r ** 2] * 4 + [sv ** 2] * 4)
    return F, H, Q, R, P0


def cxcywh(boxes):
    b = np.asarray(boxes, dtype=np.float64)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)


def random_states(n, seed):
    rng = np.random.default_rng(seed)
    mean = np.concatenate([rng.uniform(50, 300, (n, 2)), rng.uniform(20, 80, (n, 2)), rng.normal(0, 2, (n, 4))], 1)
    a = rng.normal(size=(n, 8, 8))
    cov = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(8)  # symmetric positive definite
    return torch.from_numpy(mean), torch.from_numpy(cov)


PARAMS = {"dt": 0.5, "std_position": 1.5, "std_velocity": 0.25, "std_measurement": 3.0, "std_initial_velocity": 8.0}


def numpy_args():
    p = PARAMS
    return hand_matrices(p["dt"], p["std_position"], p["std_velocity"], p["std_measurement"], p["std_initial_velocity"])


# ================================================================ conversions and simple models


@pytest.mark.task("motion")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_box_conversions_match_torchvision(student, dtype):
    boxes = random_boxes(11, 1, dtype)
    expected = torchvision.ops.box_convert(boxes, "xyxy", "cxcywh")
    assert_tensor(student.box_to_cxcywh(boxes), expected, atol=1e-4, case=f"xyxy -> cxcywh, {dtype}")
    assert_tensor(student.cxcywh_to_box(expected), torchvision.ops.box_convert(expected, "cxcywh", "xyxy"),
                  atol=1e-4, case=f"cxcywh -> xyxy, {dtype}")


@pytest.mark.task("motion")
@pytest.mark.parametrize("device", devices())
def test_box_conversions_round_trip(student, device):
    boxes = random_boxes(6, 2).to(device)
    back = student.cxcywh_to_box(student.box_to_cxcywh(boxes))
    assert_tensor(back, boxes, atol=1e-9, case=f"round trip on {device}")


@pytest.mark.task("motion")
def test_box_conversions_of_no_boxes(student):
    assert_tensor(student.box_to_cxcywh(torch.zeros(0, 4)), torch.zeros(0, 4), case="N = 0")
    assert_tensor(student.cxcywh_to_box(torch.zeros(0, 4)), torch.zeros(0, 4), case="N = 0")


@pytest.mark.task("motion")
def test_constant_position(student):
    boxes = random_boxes(4, 3, torch.float32)
    for steps in (0, 1, 7):
        assert_tensor(student.constant_position(boxes, steps), boxes, case=f"steps = {steps}")
    with pytest.raises(ValueError):
        student.constant_position(boxes, -1)
    with pytest.raises(ValueError):
        student.constant_position(torch.zeros(3, 5), 1)


@pytest.mark.task("motion")
def test_constant_velocity_hand_computed(student):
    prev = torch.tensor([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 7.0, 9.0]])
    now = torch.tensor([[2.0, 1.0, 12.0, 21.0], [5.0, 5.0, 6.0, 8.0]])
    assert_tensor(student.constant_velocity(now, prev), torch.tensor([[4.0, 2.0, 14.0, 22.0], [5.0, 5.0, 5.0, 7.0]]),
                  case="one step")
    assert_tensor(student.constant_velocity(now, prev, 3),
                  torch.tensor([[8.0, 4.0, 18.0, 24.0], [5.0, 5.0, 3.0, 5.0]]), case="three steps")
    assert_tensor(student.constant_velocity(now, prev, 0), now, case="zero steps")


@pytest.mark.task("motion")
def test_constant_velocity_may_invert_boxes_without_clamping(student):
    prev = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    now = torch.tensor([[2.0, 2.0, 8.0, 8.0]])
    assert_tensor(student.constant_velocity(now, prev, 4), torch.tensor([[10.0, 10.0, 0.0, 0.0]]),
                  case="shrinking box, 4 steps")


@pytest.mark.task("motion")
def test_constant_velocity_rejects_bad_input(student):
    with pytest.raises(ValueError):
        student.constant_velocity(torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError):
        student.constant_velocity(torch.zeros(3, 4), torch.zeros(3, 4), -2)


# ================================================================ Kalman filter


@pytest.mark.task("motion")
def test_kalman_matrices_are_the_hand_derived_ones(student):
    kf = student.KalmanBoxFilter(**PARAMS)
    got = kf.matrices()
    assert isinstance(got, dict) and set(got) >= {"F", "H", "Q", "R"}, f"expected keys F, H, Q, R, got {got!r:.80}"
    F, H, Q, R, _ = numpy_args()
    for name, expected in (("F", F), ("H", H), ("Q", Q), ("R", R)):
        assert_tensor(got[name], torch.from_numpy(expected), atol=1e-12, case=f"matrix {name}")
    f32 = kf.matrices(torch.float32)
    assert_tensor(f32["F"], torch.from_numpy(F).float(), atol=1e-7, case="F in float32")


@pytest.mark.task("motion")
def test_kalman_default_parameters(student):
    got = student.KalmanBoxFilter().matrices()
    F, H, Q, R, _ = hand_matrices(1.0, 1.0, 0.5, 2.0, 10.0)
    for name, expected in (("F", F), ("Q", Q), ("R", R)):
        assert_tensor(got[name], torch.from_numpy(expected), atol=1e-12, case=f"default {name}")


@pytest.mark.task("motion")
def test_kalman_initiate(student):
    boxes = random_boxes(5, 4)
    mean, cov = student.KalmanBoxFilter(**PARAMS).initiate(boxes)
    expected_mean = np.concatenate([cxcywh(boxes), np.zeros((5, 4))], 1)
    P0 = numpy_args()[4]
    assert_tensor(mean, torch.from_numpy(expected_mean), atol=1e-9, case="initial means")
    assert_tensor(cov, torch.from_numpy(np.broadcast_to(P0, (5, 8, 8)).copy()), atol=1e-9, case="initial covariances")


@pytest.mark.task("motion")
def test_kalman_predict_matches_numpy(student):
    mean, cov = random_states(6, 5)
    F, H, Q, R, _ = numpy_args()
    m, c = mean.numpy(), cov.numpy()
    expected_mean = m @ F.T
    expected_cov = F @ c @ F.T + Q
    got_mean, got_cov = student.KalmanBoxFilter(**PARAMS).predict(mean, cov)
    assert_tensor(got_mean, torch.from_numpy(expected_mean), atol=1e-9, rtol=1e-9, case="predicted means")
    assert_tensor(got_cov, torch.from_numpy(expected_cov), atol=1e-9, rtol=1e-9, case="predicted covariances")


@pytest.mark.task("motion")
def test_kalman_project_matches_numpy(student):
    mean, cov = random_states(4, 6)
    F, H, Q, R, _ = numpy_args()
    got_z, got_s = student.KalmanBoxFilter(**PARAMS).project(mean, cov)
    assert_tensor(got_z, torch.from_numpy(mean.numpy() @ H.T), atol=1e-9, case="projected means")
    assert_tensor(got_s, torch.from_numpy(H @ cov.numpy() @ H.T + R), atol=1e-9, rtol=1e-9,
                  case="innovation covariances")


@pytest.mark.task("motion")
def test_kalman_update_matches_numpy(student):
    mean, cov = random_states(5, 7)
    boxes = random_boxes(5, 8)
    F, H, Q, R, _ = numpy_args()
    exp_m, exp_c = [], []
    for x, P, z in zip(mean.numpy(), cov.numpy(), cxcywh(boxes)):
        S = H @ P @ H.T + R
        K = P @ H.T @ np.linalg.inv(S)
        exp_m.append(x + K @ (z - H @ x))
        exp_c.append((np.eye(8) - K @ H) @ P)
    got_m, got_c = student.KalmanBoxFilter(**PARAMS).update(mean, cov, boxes)
    assert_tensor(got_m, torch.from_numpy(np.array(exp_m)), atol=1e-7, rtol=1e-7, case="corrected means")
    assert_tensor(got_c, torch.from_numpy(np.array(exp_c)), atol=1e-7, rtol=1e-7, case="corrected covariances")


@pytest.mark.task("motion")
def test_kalman_mahalanobis_matches_numpy(student):
    mean, cov = random_states(3, 9)
    boxes = random_boxes(7, 10)
    F, H, Q, R, _ = numpy_args()
    z = cxcywh(boxes)
    expected = np.zeros((3, 7))
    for n, (x, P) in enumerate(zip(mean.numpy(), cov.numpy())):
        S_inv = np.linalg.inv(H @ P @ H.T + R)
        diff = z - H @ x
        expected[n] = np.einsum("mi,ij,mj->m", diff, S_inv, diff)
    got = student.KalmanBoxFilter(**PARAMS).mahalanobis(mean, cov, boxes)
    assert_tensor(got, torch.from_numpy(expected), atol=1e-6, rtol=1e-7, case="3 tracks x 7 boxes")


@pytest.mark.task("motion")
def test_kalman_to_boxes(student):
    mean, _ = random_states(4, 11)
    expected = torchvision.ops.box_convert(mean[:, :4], "cxcywh", "xyxy")
    assert_tensor(student.KalmanBoxFilter().to_boxes(mean), expected, atol=1e-9, case="means to boxes")


@pytest.mark.task("motion")
def test_kalman_learns_a_constant_velocity(student):
    # a box moving by (+3, -2) per frame, measured exactly: the velocity estimate converges
    kf = student.KalmanBoxFilter()
    box = torch.tensor([[100.0, 200.0, 140.0, 300.0]], dtype=torch.float64)
    step = torch.tensor([[3.0, -2.0, 3.0, -2.0]], dtype=torch.float64)
    mean, cov = kf.initiate(box)
    for _ in range(30):
        box = box + step
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, box)
    assert_tensor(mean[:, 4:], torch.tensor([[3.0, -2.0, 0.0, 0.0]], dtype=torch.float64), atol=0.05,
                  case="velocity after 30 exact measurements")
    predicted, _ = kf.predict(mean, cov)
    assert_tensor(kf.to_boxes(predicted), box + step, atol=0.2, case="one-step prediction")


@pytest.mark.task("motion")
def test_kalman_keeps_the_dtype(student):
    boxes = random_boxes(3, 12, torch.float32)
    kf = student.KalmanBoxFilter()
    mean, cov = kf.initiate(boxes)
    assert mean.dtype == torch.float32 and cov.dtype == torch.float32 and cov.shape == (3, 8, 8)
    mean, cov = kf.predict(mean, cov)
    mean, cov = kf.update(mean, cov, boxes)
    assert mean.dtype == torch.float32 and cov.dtype == torch.float32


@pytest.mark.task("motion")
def test_kalman_with_no_tracks(student):
    kf = student.KalmanBoxFilter()
    mean, cov = kf.initiate(torch.zeros(0, 4, dtype=torch.float64))
    assert mean.shape == (0, 8) and cov.shape == (0, 8, 8)
    mean, cov = kf.predict(mean, cov)
    assert mean.shape == (0, 8) and cov.shape == (0, 8, 8)
    d2 = kf.mahalanobis(mean, cov, random_boxes(3, 13))
    assert d2.shape == (0, 3)


@pytest.mark.task("motion")
def test_kalman_rejects_bad_parameters(student):
    with pytest.raises(ValueError):
        student.KalmanBoxFilter(dt=0.0)
    with pytest.raises(ValueError):
        student.KalmanBoxFilter(std_measurement=-1.0)
    kf = student.KalmanBoxFilter()
    with pytest.raises(ValueError):
        kf.predict(torch.zeros(2, 7), torch.zeros(2, 8, 8))
    with pytest.raises(ValueError):
        kf.update(torch.zeros(2, 8), torch.eye(8).expand(2, 8, 8).clone(), torch.zeros(3, 4))


# ================================================================ classes of one-mistake variants
# (found by `cv3 check tracking --mutants`): every argument of every motion function and filter
# method is checked, with the documented exception and a message naming it.


def _bad_boxes(name, cols=4):
    return [([[0.0] * cols], TypeError, name), (torch.zeros(2, cols - 1), ValueError, name),
            (torch.zeros(2, cols + 1), ValueError, name), (torch.zeros(cols), ValueError, name),
            (torch.zeros(1, 2, cols), ValueError, name)]


@pytest.mark.task("motion")
def test_motion_functions_check_every_box_argument(student):
    good = torch.tensor([[0.0, 0.0, 4.0, 2.0]])
    calls = {
        "box_to_cxcywh": lambda v: student.box_to_cxcywh(v),
        "cxcywh_to_box": lambda v: student.cxcywh_to_box(v),
        "constant_position": lambda v: student.constant_position(v, 1),
        "constant_velocity/boxes": lambda v: student.constant_velocity(v, good, 1),
        "constant_velocity/prev_boxes": lambda v: student.constant_velocity(good, v, 1),
    }
    names = {"box_to_cxcywh": "boxes", "cxcywh_to_box": "cxcywh", "constant_position": "boxes",
             "constant_velocity/boxes": "boxes", "constant_velocity/prev_boxes": "prev_boxes"}
    for what, call in calls.items():
        for value, error, match in _bad_boxes(names[what]):
            with pytest.raises(error, match=match):
                call(value)


@pytest.mark.task("motion")
def test_kalman_filter_methods_check_every_argument(student):
    kf = student.KalmanBoxFilter()
    boxes = torch.tensor([[0.0, 0.0, 4.0, 2.0], [1.0, 1.0, 3.0, 5.0]], dtype=torch.float64)
    mean, cov = kf.initiate(boxes)
    for value, error, match in _bad_boxes("boxes"):
        with pytest.raises(error, match=match):
            kf.initiate(value)
        with pytest.raises(error, match=match):
            kf.update(mean, cov, value if not isinstance(value, torch.Tensor) else value.double())
        with pytest.raises(error, match=match):
            kf.mahalanobis(mean, cov, value if not isinstance(value, torch.Tensor) else value.double())
    bad_states = [(mean[:, :7], cov, ValueError, "mean"), (mean[0], cov, ValueError, "mean"),
                  (mean, cov[:1], ValueError, "mean|covariance"), (mean, cov[:, :7, :7], ValueError, "covariance"),
                  (mean.tolist(), cov, TypeError, "mean"),
                  (mean, cov.tolist(), TypeError, "covariance")]
    for m, c, error, match in bad_states:
        for method, extra in [("predict", ()), ("project", ()), ("update", (boxes,)), ("mahalanobis", (boxes,))]:
            with pytest.raises(error, match=match):
                getattr(kf, method)(m, c, *extra)
    for value, error, match in _bad_boxes("mean", cols=8):
        with pytest.raises(error, match=match):
            kf.to_boxes(value if not isinstance(value, torch.Tensor) else value.double())
