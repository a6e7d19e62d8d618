"""Public tests of the instance assignment (also graded). Run them with `nox -s test -- instance`.

They check small hand-computed cases and shapes; the hidden tests compare against oracles on
many more inputs (torchvision's mask head functions, torchmetrics' PanopticQuality, float64
loops).
"""

import math

import pytest
import torch

from harness.testkit import assert_tensor


@pytest.mark.task("mask_targets")
def test_mask_targets_full_mask(student):
    gt = torch.ones(1, 10, 10, dtype=torch.bool)
    got = student.mask_targets(gt, torch.tensor([[2.0, 2.0, 8.0, 8.0]]), torch.tensor([0]), 4)
    assert_tensor(got, torch.ones(1, 4, 4), atol=1e-6, case="box inside a full mask")


@pytest.mark.task("mask_targets")
def test_mask_targets_empty(student):
    got = student.mask_targets(torch.ones(1, 5, 5, dtype=torch.bool), torch.zeros(0, 4),
                               torch.zeros(0, dtype=torch.int64), 7)
    assert_tensor(got, torch.zeros(0, 7, 7), case="no boxes")


@pytest.mark.task("mask_loss")
def test_mask_loss_of_a_constant_target(student):
    gt = torch.ones(1, 10, 10, dtype=torch.bool)
    logits = torch.zeros(1, 3, 4, 4)
    logits[0, 2] = 2.0  # the ground-truth class is 2
    loss = student.maskrcnn_mask_loss(logits, [torch.tensor([[2.0, 2.0, 8.0, 8.0]])], [gt], [torch.tensor([2])],
                                      [torch.tensor([0])])
    assert_tensor(loss, torch.tensor(math.log1p(math.exp(-2.0))), atol=1e-6, case="BCE(2, 1)")


@pytest.mark.task("paste_masks")
def test_paste_constant_mask(student):
    got = student.paste_masks(torch.ones(1, 8, 8), torch.tensor([[4.0, 6.0, 20.0, 14.0]]), (24, 30), 0)
    expected = torch.zeros(1, 24, 30)
    expected[0, 6:15, 4:21] = 1.0
    assert_tensor(got, expected, atol=1e-6, case="ones, padding 0")


@pytest.mark.task("point_sample")
def test_point_sample_reads_pixel_centres(student):
    x = torch.arange(12.0).view(1, 1, 3, 4)
    pts = torch.tensor([[[0.5 / 4, 0.5 / 3], [3.5 / 4, 2.5 / 3]]])
    assert_tensor(student.point_sample(x, pts), torch.tensor([[[0.0, 11.0]]]), atol=1e-6, case="pixel centres")


@pytest.mark.task("point_sample")
def test_uncertainty_binary(student):
    assert_tensor(student.uncertainty(torch.tensor([[[-3.0, 0.0, 2.0]]])), torch.tensor([[[-3.0, 0.0, -2.0]]]),
                  case="-|logit|")


@pytest.mark.task("point_selection")
def test_training_points_counts(student):
    logits = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    pts = student.sample_training_points(logits, 16, 3.0, 0.75, seed=0)
    assert pts.shape == (2, 16, 2) and pts.dtype == torch.float32
    assert float(pts.min()) >= 0 and float(pts.max()) <= 1


@pytest.mark.task("subdivision")
def test_subdivision_output_size(student):
    coarse, fine = torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 16, 16)
    out = student.subdivision_inference(coarse, fine, torch.zeros(1, 3), torch.zeros(1), 2, 10)
    assert out.shape == (1, 1, 16, 16)


@pytest.mark.task("dynamic_conv")
def test_dynamic_conv_1x1(student):
    feats = torch.arange(8.0).view(2, 2, 2)
    got = student.dynamic_conv(feats, torch.tensor([[1.0, 0.0], [1.0, -1.0]]))
    assert_tensor(got, torch.stack([feats[0], feats[0] - feats[1]]), case="1 x 1 kernels")


@pytest.mark.task("matrix_nms")
def test_matrix_nms_two_masks(student):
    masks = torch.zeros(2, 1, 4, dtype=torch.bool)
    masks[0, 0, :3] = True
    masks[1, 0, 1:] = True  # IoU 0.5
    scores = torch.tensor([0.6, 0.9], dtype=torch.float64)
    got = student.matrix_nms(masks, torch.tensor([1, 1]), scores, "linear")
    assert_tensor(got, torch.tensor([0.3, 0.9], dtype=torch.float64), atol=1e-12, case="linear decay")


@pytest.mark.task("panoptic_merge")
def test_merge_thing_over_stuff(student):
    masks = torch.zeros(1, 4, 4, dtype=torch.bool)
    masks[0, :2, :2] = True
    sem = torch.full((4, 4), 5, dtype=torch.int64)
    pan, cats, isthing = student.panoptic_merge(masks, torch.tensor([0.9]), torch.tensor([2]), sem,
                                                stuff_area_threshold=1)
    expected = torch.full((4, 4), 2, dtype=torch.int64)
    expected[:2, :2] = 1
    assert_tensor(pan, expected, case="segment ids")
    assert cats.tolist() == [2, 5] and isthing.tolist() == [True, False]


@pytest.mark.task("pq")
def test_pq_perfect(student):
    t = torch.zeros(1, 4, 4, 2, dtype=torch.int64)
    t[..., 0] = 4
    t[0, :2, :2] = torch.tensor([1, 3])
    assert_tensor(student.panoptic_quality(t, t, [1], [4]), torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64),
                  atol=1e-12, case="perfect prediction")


@pytest.mark.task("predict")
def test_predict_returns_one_dict_per_image(student):
    out = {"mask_logits": torch.full((1, 4, 4), 5.0), "boxes": torch.tensor([[2.0, 2.0, 9.0, 9.0]]),
           "scores": torch.tensor([0.9]), "labels": torch.tensor([1]), "semantic_logits": torch.zeros(2, 16, 16),
           "stuff_ids": torch.tensor([4])}
    res = student.predict_panoptic([out], stuff_area_threshold=1)
    assert len(res) == 1 and set(res[0]) >= {"masks", "scores", "labels", "panoptic", "segment_categories",
                                             "segment_isthing"}
    assert res[0]["panoptic"].shape == (16, 16) and res[0]["masks"].dtype == torch.bool
