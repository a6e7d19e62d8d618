"""Public tests of the selfsup assignment: small hand-computed cases and identities.

Run them with ``nox -s test -- selfsup``. Your package is reached only through the ``student``
fixture, exactly as in grading: modules are built with ``student.Name(...)``, weights go in with
``load_weights`` and only tensors and plain values come back. Passing these tests does not
guarantee full marks: the hidden tests compare with library oracles (lightly, scikit-image,
scikit-learn) and float64 loops on many more inputs.
"""

import math

import pytest
import torch

from harness.testkit import assert_tensor


# ---------------------------------------------------------------- pretext


@pytest.mark.task("pretext")
def test_rotate_batch_small(student):
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    got, labels = student.rotate_batch(x)
    assert_tensor(got, torch.cat([torch.rot90(x, k, dims=(-2, -1)) for k in range(4)]), case="rot90")
    assert_tensor(labels, torch.tensor([0, 1, 2, 3]), case="labels")


@pytest.mark.task("pretext")
def test_hamming_permutations_of_three_tiles(student):
    got = student.hamming_permutations(3, 3)
    # identity first; then the first permutation at distance 3 from it; then the first at distance 3 from both
    assert_tensor(got, torch.tensor([[0, 1, 2], [1, 2, 0], [2, 0, 1]]), case="3 tiles")


@pytest.mark.task("pretext")
def test_jigsaw_tiles_reverse_order(student):
    images = torch.arange(16.0).reshape(1, 1, 4, 4)
    perms = torch.tensor([[3, 2, 1, 0]])
    got = student.jigsaw_tiles(images, torch.tensor([0]), perms, grid=2)
    assert_tensor(got[0, 0, 0], torch.tensor([[10.0, 11.0], [14.0, 15.0]]), case="position 0 holds tile 3")


@pytest.mark.task("pretext")
def test_rgb_to_lab_of_black_white_and_red(student):
    rgb = torch.tensor([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)[:, None, :]
    lab = student.rgb_to_lab(rgb)[:, 0]
    assert_tensor(lab[:, 0], torch.zeros(3, dtype=torch.float64), atol=1e-9, case="black")
    assert_tensor(lab[:, 1], torch.tensor([100.0, -0.0025, 0.0047], dtype=torch.float64), atol=1e-3,
                  case="white (scikit-image)")
    assert_tensor(lab[:, 2], torch.tensor([53.2408, 80.0925, 67.2032], dtype=torch.float64), atol=1e-3, case="red")


@pytest.mark.task("pretext")
def test_quantize_ab_corners(student):
    ab = torch.tensor([[-110.0, 109.9], [-110.0, 0.0]])[:, None, :]  # a, b of two pixels
    assert_tensor(student.quantize_ab(ab), torch.tensor([[0, 21 * 22 + 11]]), case="(-110,-110) and (109.9, 0)")


# ---------------------------------------------------------------- contrastive


@pytest.mark.task("contrastive")
def test_nt_xent_of_two_pairs_by_hand(student):
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # each view: positive cos 1, negatives cos 0 and 0 -> -log(e^2 / (e^2 + 2))
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert abs(float(student.nt_xent_loss(z1, z2)) - expected) < 1e-5


@pytest.mark.task("contrastive")
def test_contrastive_scores_diagonal_and_range(student):
    s = student.contrastive_scores(torch.randn(3, 4), torch.randn(3, 4), 0.25)
    assert s.shape == (6, 6) and bool(torch.isinf(s.diagonal()).all())
    off = s[~torch.eye(6, dtype=torch.bool)]
    assert float(off.abs().max()) <= 4 + 1e-5
    lo, hi = student.nt_xent_bounds(3, 0.25)
    assert lo < hi


# ---------------------------------------------------------------- momentum


@pytest.mark.task("moco_byol")
def test_dequeue_and_enqueue_small(student):
    queue, ptr = student.dequeue_and_enqueue(torch.zeros(4, 2), 2, torch.ones(2, 2))
    assert_tensor(queue, torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]), case="queue")
    assert ptr == 0


@pytest.mark.task("moco_byol")
def test_moco_logits_positive_first(student):
    q = torch.tensor([[2.0, 0.0]])
    k = torch.tensor([[3.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    assert_tensor(student.moco_logits(q, k, queue, 0.5), torch.tensor([[2.0, 0.0, -2.0]]), atol=1e-6, case="logits")


@pytest.mark.task("moco_byol")
def test_byol_loss_and_schedule(student):
    p = torch.tensor([[1.0, 0.0]])
    z = torch.tensor([[0.0, 5.0]])
    assert abs(float(student.byol_loss(p, p, z, z)) - 4.0) < 1e-6  # cos 0: 2 + 2
    assert student.cosine_momentum(0, 10) == pytest.approx(0.996)
    assert student.cosine_momentum(10, 10) == pytest.approx(1.0)


@pytest.mark.task("moco_byol")
def test_momentum_update_copies_at_zero(student):
    a, b = student.ProjectionHead(3, 4, 2), student.ProjectionHead(3, 4, 2)
    student.momentum_update(a, b, 0.0)
    wa, wb = a.weights(), b.weights()
    assert_tensor(wb["0.weight"], wa["0.weight"], case="m = 0 copies the online parameters")


# ---------------------------------------------------------------- dino


@pytest.mark.task("dino")
def test_dino_loss_with_uniform_teacher(student):
    teacher = torch.zeros(2, 1, 4)
    stud = torch.zeros(3, 1, 4)
    # uniform teacher and student: each term is log(4)
    loss = student.dino_loss(teacher, stud, torch.zeros(4))
    assert abs(float(loss) - math.log(4)) < 1e-6


@pytest.mark.task("dino")
def test_update_center_and_temperature(student):
    c = student.update_center(torch.zeros(2), torch.ones(2, 3, 2), 0.9)
    assert_tensor(c, torch.full((2,), 0.1), atol=1e-6, case="centre")
    assert student.teacher_temperature(0, 10, 0.04, 0.07) == pytest.approx(0.04)
    assert student.teacher_temperature(20, 10, 0.04, 0.07) == pytest.approx(0.07)


@pytest.mark.task("dino")
def test_multi_crop_shapes(student):
    g, loc, boxes = student.multi_crop(torch.rand(3, 20, 20), seed=0)
    assert g.shape == (2, 3, 16, 16) and loc.shape == (6, 3, 8, 8) and boxes.shape == (8, 4)


# ---------------------------------------------------------------- mae


@pytest.mark.task("mae")
def test_patchify_channel_last(student):
    imgs = torch.arange(2 * 4 * 4.0).reshape(1, 2, 4, 4)
    p = student.patchify(imgs, 2)
    assert p.shape == (1, 4, 8)
    # first patch: pixel (0,0) ch 0, ch 1, pixel (0,1) ch 0, ch 1, ...
    assert_tensor(p[0, 0], torch.tensor([0.0, 16.0, 1.0, 17.0, 4.0, 20.0, 5.0, 21.0]), case="patch 0")
    assert_tensor(student.unpatchify(p, 2), imgs, case="round trip")


@pytest.mark.task("mae")
def test_random_masking_small(student):
    x = torch.arange(4.0).reshape(1, 4, 1)
    kept, mask, ids_restore = student.random_masking(x, 0.5, torch.tensor([[0.4, 0.3, 0.2, 0.1]]))
    assert_tensor(kept, torch.tensor([[[3.0], [2.0]]]), case="kept")
    assert_tensor(mask, torch.tensor([[1.0, 1.0, 0.0, 0.0]]), case="mask")
    full = student.restore_with_mask_tokens(torch.cat([torch.zeros(1, 1, 1), kept], 1), torch.tensor([-1.0]),
                                            ids_restore)
    assert_tensor(full, torch.tensor([[[0.0], [-1.0], [-1.0], [2.0], [3.0]]]), case="decoder input")


@pytest.mark.task("mae")
def test_mae_loss_masked_only(student):
    imgs = torch.zeros(1, 1, 2, 4)
    pred = torch.tensor([[[1.0] * 4, [3.0] * 4]])
    assert abs(float(student.mae_loss(imgs, pred, torch.tensor([[0.0, 1.0]]), 2)) - 9.0) < 1e-6


# ---------------------------------------------------------------- evaluation


@pytest.mark.task("evaluation")
def test_knn_classify_small(student):
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    labels = torch.tensor([0, 1, 0])
    pred, votes = student.knn_classify(bank, labels, torch.tensor([[1.0, 0.05]]), k=2, temperature=1.0)
    assert_tensor(pred, torch.tensor([0]), case="prediction")
    assert votes.dtype == torch.float64 and votes.shape == (1, 2) and float(votes[0, 1]) == 0.0


@pytest.mark.task("evaluation")
def test_linear_probe_separable(student):
    x = torch.tensor([[-2.0], [-1.0], [1.0], [2.0]])
    probs = student.linear_probe(x, torch.tensor([0, 0, 1, 1]), torch.tensor([[-3.0], [3.0]]))
    assert probs.shape == (2, 2) and int(probs[0].argmax()) == 0 and int(probs[1].argmax()) == 1


# ---------------------------------------------------------------- pretraining


@pytest.mark.task("pretraining")
def test_features_shape(student):
    f = student.features(torch.rand(5, 1, 20, 20))
    assert f.dim() == 2 and f.shape[0] == 5 and f.is_floating_point()
    v = student.augment(torch.rand(5, 1, 20, 20), 0)
    assert v.shape == (5, 1, 20, 20)
