"""Public tests of the sot assignment (also graded). The hidden tests check much more."""

import pytest
import torch

from harness.testkit import assert_tensor


@pytest.mark.task("bayes")
def test_hmm_forward_two_states(student):
    trans = torch.tensor([[0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    initial = torch.tensor([0.5, 0.5], dtype=torch.float64)
    liks = torch.tensor([[0.9, 0.1], [0.9, 0.1]], dtype=torch.float64)
    beliefs, log_z = student.hmm_forward(initial, trans, liks)
    b0 = torch.tensor([0.9, 0.1], dtype=torch.float64)
    prior = torch.tensor([0.9 * 0.9 + 0.1 * 0.2, 0.9 * 0.1 + 0.1 * 0.8], dtype=torch.float64)
    b1 = prior * liks[1] / (prior * liks[1]).sum()
    assert_tensor(beliefs, torch.stack([b0, b1]), atol=1e-12, case="two frames")
    expected_z = torch.log(torch.tensor(0.5, dtype=torch.float64)) + torch.log((prior * liks[1]).sum())
    assert_tensor(log_z, expected_z, atol=1e-12, case="log evidence")


@pytest.mark.task("bayes")
def test_systematic_resample_small(student):
    w = torch.tensor([0.1, 0.6, 0.3])
    assert_tensor(student.systematic_resample(w, u=0.5), torch.tensor([1, 1, 2]), case="u = 0.5")
    assert_tensor(student.effective_sample_size(torch.full((5,), 0.2)), torch.tensor(5.0), atol=1e-5, case="ESS")


@pytest.mark.task("goturn")
def test_goturn_targets_round_trip(student):
    box = torch.tensor([[10.0, 20.0, 30.0, 60.0]], dtype=torch.float64)
    region = student.context_box(box)
    assert_tensor(region, torch.tensor([[0.0, 0.0, 40.0, 80.0]], dtype=torch.float64), atol=1e-12, case="k = 2")
    t = student.box_to_target(box, region)
    assert_tensor(t, torch.tensor([[2.5, 2.5, 7.5, 7.5]], dtype=torch.float64), atol=1e-12, case="targets")
    assert_tensor(student.target_to_box(t, region), box, atol=1e-12, case="inverse")


@pytest.mark.task("goturn")
def test_crop_of_the_whole_image(student):
    image = torch.arange(2 * 4 * 4, dtype=torch.float64).reshape(2, 4, 4)
    got = student.crop_and_resize(image, torch.tensor([[0.0, 0.0, 4.0, 4.0]], dtype=torch.float64), 4)
    assert_tensor(got, image[None], atol=1e-12, case="identity crop")


@pytest.mark.task("mdnet")
def test_label_by_iou_small(student):
    box = torch.tensor([0.0, 0.0, 10.0, 10.0])
    samples = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 6.0, 10.0], [50.0, 50.0, 60.0, 60.0]])
    assert_tensor(student.label_by_iou(samples, box), torch.tensor([1, -1, 0]), case="IoU 1, 0.6, 0")


@pytest.mark.task("mdnet")
def test_hard_negatives_small(student):
    assert_tensor(student.hard_negative_mining(torch.tensor([0.2, 0.9, 0.5]), 2), torch.tensor([1, 2]),
                  case="top 2")


@pytest.mark.task("mdnet")
def test_online_updater_first_steps(student):
    updater = student.OnlineUpdater(short_term=20, long_term=100, long_interval=10)
    assert updater.observe(1, 2.0) == "none"
    assert updater.observe(2, -1.0) == "short"
    assert updater.memory() == {"positive": [0, 1], "negative": [0, 1]}


@pytest.mark.task("ope")
def test_success_and_precision_small(student):
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    pred = torch.tensor([[0.0, 0.0, 10.0, 10.0], [30.0, 0.0, 40.0, 10.0]], dtype=torch.float64)
    curve = student.success_curve(pred, gt)
    assert_tensor(curve, torch.tensor([0.5] * 20 + [0.0], dtype=torch.float64), case="IoU 1 and 0")
    assert_tensor(student.success_auc(pred, gt), torch.tensor(10 / 21, dtype=torch.float64), atol=1e-12, case="AUC")
    assert_tensor(student.precision_at(pred, gt), torch.tensor(0.5, dtype=torch.float64), case="errors 0 and 30")


@pytest.mark.task("tracker")
def test_track_shape(student):
    from cv3data.sot import make_sot_sequence

    seq = make_sot_sequence(1, num_frames=5)
    out = student.track(seq["frames"], seq["boxes"][0])
    assert type(out) is torch.Tensor and out.dtype == torch.float32 and tuple(out.shape) == (5, 4)
