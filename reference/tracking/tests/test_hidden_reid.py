"""Hidden tests of pairwise_distances, batch_hard_triplet_loss, contrastive_loss and
appearance_cost [reid].

Oracles: torch.cdist; the losses written out anchor by anchor / pair by pair below; finite
differences in float64 (harness.testkit.check_gradient) for the gradients.
"""

import pytest
import torch
import torchvision

from harness.testkit import assert_tensor, check_gradient, devices


def embeddings(n, e, seed, dtype=torch.float64):
    return torch.randn(n, e, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def triplet_oracle(x, labels, margin, squared=False):
    d = torch.cdist(x, x) ** (2 if squared else 1)
    losses = []
    for i in range(len(x)):
        pos = [d[i, j] for j in range(len(x)) if j != i and labels[j] == labels[i]]
        neg = [d[i, k] for k in range(len(x)) if labels[k] != labels[i]]
        if not pos or not neg:
            continue
        gap = max(pos) - min(neg)
        losses.append(torch.nn.functional.softplus(gap) if margin is None else torch.clamp(gap + margin, min=0))
    return torch.stack(losses).mean() if losses else torch.zeros((), dtype=x.dtype)


# ================================================================ pairwise_distances


@pytest.mark.task("reid")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_pairwise_distances_match_cdist(student, dtype):
    a, b = embeddings(9, 16, 1, dtype), embeddings(7, 16, 2, dtype)
    atol = 1e-4 if dtype == torch.float32 else 1e-9
    assert_tensor(student.pairwise_distances(a, b), torch.cdist(a, b), atol=atol, case=f"9 x 7, {dtype}")
    assert_tensor(student.pairwise_distances(a, b, squared=True), torch.cdist(a, b) ** 2, atol=atol * 10,
                  rtol=1e-5, case=f"squared, {dtype}")


@pytest.mark.task("reid")
@pytest.mark.parametrize("device", devices())
def test_pairwise_distances_on_device(student, device):
    a, b = embeddings(4, 8, 3).to(device), embeddings(5, 8, 4).to(device)
    assert_tensor(student.pairwise_distances(a, b), torch.cdist(a, b), atol=1e-9, case=f"on {device}")


@pytest.mark.task("reid")
def test_pairwise_distances_of_identical_rows_are_zero_with_finite_gradients(student):
    a = embeddings(4, 6, 5)
    d = student.pairwise_distances(a, a)
    assert_tensor(torch.diagonal(d), torch.zeros(4, dtype=torch.float64), atol=1e-6, case="diagonal")
    _, grads = student.vjp("pairwise_distances", [a, a.clone()], wrt=(0, 1))
    for g in grads:
        assert g is not None and bool(torch.isfinite(g).all()), "gradients must be finite at zero distances"


@pytest.mark.task("reid")
def test_pairwise_distances_gradient(student):
    a, b = embeddings(5, 4, 6), embeddings(3, 4, 7)
    check_gradient(student, "pairwise_distances", [a, b], wrt=(0, 1))
    check_gradient(student, "pairwise_distances", [a, b], {"squared": True}, wrt=(0, 1))


@pytest.mark.task("reid")
def test_pairwise_distances_empty_and_errors(student):
    assert student.pairwise_distances(torch.zeros(0, 3), embeddings(2, 3, 8)).shape == (0, 2)
    with pytest.raises(ValueError):
        student.pairwise_distances(embeddings(2, 3, 9), embeddings(2, 4, 9))
    with pytest.raises(ValueError):
        student.pairwise_distances(torch.zeros(3), torch.zeros(3))


# ================================================================ batch-hard triplet loss


def batch(seed, ids=4, per_id=4, e=8):
    labels = torch.arange(ids).repeat_interleave(per_id)
    x = embeddings(ids * per_id, e, seed) + torch.randn(ids, e, generator=torch.Generator().manual_seed(seed + 1),
                                                        dtype=torch.float64).repeat_interleave(per_id, 0)
    return x, labels


@pytest.mark.task("reid")
@pytest.mark.parametrize("margin", [0.3, 1.0, None], ids=["margin0.3", "margin1", "soft"])
@pytest.mark.parametrize("squared", [False, True], ids=["dist", "squared"])
def test_batch_hard_triplet_loss_matches_oracle(student, margin, squared):
    x, labels = batch(10)
    expected = triplet_oracle(x, labels, margin, squared)
    got = student.batch_hard_triplet_loss(x, labels, margin, squared)
    assert_tensor(got, expected, atol=1e-8, rtol=1e-8, case=f"16 embeddings of 4 ids, margin {margin}")


@pytest.mark.task("reid")
def test_batch_hard_triplet_loss_skips_anchors_without_positives(student):
    x = embeddings(6, 5, 11)
    labels = torch.tensor([0, 0, 1, 2, 2, 3])  # ids 1 and 3 have no positive
    assert_tensor(student.batch_hard_triplet_loss(x, labels, 0.5), triplet_oracle(x, labels, 0.5), atol=1e-9,
                  case="anchors without positives are left out")


@pytest.mark.task("reid")
def test_batch_hard_triplet_loss_without_valid_anchors_is_zero(student):
    x = embeddings(4, 5, 12)
    assert_tensor(student.batch_hard_triplet_loss(x, torch.tensor([0, 1, 2, 3]), 0.3),
                  torch.zeros((), dtype=torch.float64), case="all ids distinct")
    assert_tensor(student.batch_hard_triplet_loss(x, torch.tensor([5, 5, 5, 5]), 0.3),
                  torch.zeros((), dtype=torch.float64), case="a single id")
    _, grads = student.vjp("batch_hard_triplet_loss", [x, torch.tensor([0, 1, 2, 3]), 0.3])
    assert grads[0] is None or bool((grads[0] == 0).all()), "no valid anchor: zero gradient"


@pytest.mark.task("reid")
def test_batch_hard_triplet_loss_gradient(student):
    x, labels = batch(13, ids=3, per_id=3, e=4)
    check_gradient(student, "batch_hard_triplet_loss", [x, labels, 5.0])  # every anchor active
    check_gradient(student, "batch_hard_triplet_loss", [x, labels, None])


@pytest.mark.task("reid")
def test_batch_hard_triplet_loss_rejects_bad_input(student):
    x = embeddings(4, 3, 14)
    with pytest.raises(ValueError):
        student.batch_hard_triplet_loss(x, torch.tensor([0, 1, 0]), 0.3)
    with pytest.raises(ValueError):
        student.batch_hard_triplet_loss(x, torch.tensor([0.0, 1.0, 0.0, 1.0]), 0.3)
    with pytest.raises(ValueError):
        student.batch_hard_triplet_loss(x, torch.tensor([0, 1, 0, 1]), -0.1)


# ================================================================ contrastive loss


@pytest.mark.task("reid")
@pytest.mark.parametrize("margin", [0.5, 2.0])
def test_contrastive_loss_matches_formula(student, margin):
    a, b = embeddings(10, 6, 15) * 0.4, embeddings(10, 6, 16) * 0.4
    same = torch.tensor([True, False] * 5)
    d = (a - b).norm(dim=1)
    expected = torch.where(same, d ** 2, torch.clamp(margin - d, min=0) ** 2).mean()
    assert_tensor(student.contrastive_loss(a, b, same, margin), expected, atol=1e-10, case=f"margin {margin}")


@pytest.mark.task("reid")
def test_contrastive_loss_gradient_and_identical_pairs(student):
    a, b = embeddings(6, 3, 17) * 0.3, embeddings(6, 3, 18) * 0.3
    same = torch.tensor([True, True, False, False, True, False])
    check_gradient(student, "contrastive_loss", [a, b, same, 1.5], wrt=(0, 1))
    # identical negative pair: d = 0, loss margin^2, and a finite gradient
    _, grads = student.vjp("contrastive_loss", [a, a.clone(), torch.zeros(6, dtype=torch.bool), 1.0], wrt=(0, 1))
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads), "gradient at d = 0 must be finite"


@pytest.mark.task("reid")
def test_contrastive_loss_empty_and_errors(student):
    assert float(student.contrastive_loss(torch.zeros(0, 3), torch.zeros(0, 3), torch.zeros(0, dtype=torch.bool))) == 0
    with pytest.raises(ValueError):
        student.contrastive_loss(embeddings(3, 2, 19), embeddings(3, 2, 20), torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError):
        student.contrastive_loss(embeddings(3, 2, 19), embeddings(3, 2, 20), torch.ones(3, dtype=torch.bool), 0.0)


# ================================================================ appearance cost


def appearance_boxes(n, seed):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 40
    return torch.cat([xy, xy + torch.rand(n, 2, generator=gen, dtype=torch.float64) * 20 + 5], 1)


@pytest.mark.task("reid")
@pytest.mark.parametrize("weight, min_iou", [(0.5, 0.0), (0.0, 0.0), (1.0, 0.0), (0.3, 0.2)])
def test_appearance_cost_matches_formula(student, weight, min_iou):
    tb, db = appearance_boxes(6, 21), appearance_boxes(5, 22)
    te, de = embeddings(6, 8, 23), embeddings(5, 8, 24)
    iou = torchvision.ops.box_iou(tb, db)
    expected = (1 - weight) * (1 - iou) + weight * torch.cdist(te, de)
    expected[iou < min_iou] = float("inf")
    got = student.appearance_cost(tb, db, te, de, weight, min_iou)
    assert_tensor(got, expected, atol=1e-9, case=f"weight {weight}, min_iou {min_iou}")


@pytest.mark.task("reid")
def test_appearance_cost_rejects_bad_input(student):
    tb, db = appearance_boxes(3, 25), appearance_boxes(2, 26)
    with pytest.raises(ValueError):
        student.appearance_cost(tb, db, embeddings(2, 4, 27), embeddings(2, 4, 28))
    with pytest.raises(ValueError):
        student.appearance_cost(tb, db, embeddings(3, 4, 27), embeddings(2, 4, 28), weight=1.5)


# ================================================================ classes of one-mistake variants
# (found by `cv3 check tracking --mutants`): every embedding and box argument of every re-ID
# function is checked with a message naming it; rounding below zero never reaches the square root.


def _bad_embeddings():
    # four rows, as many as the other arguments, so that only the named argument is wrong
    return [([[0.0, 1.0]], TypeError), (torch.zeros(4), ValueError), (torch.zeros(4, 3, 1), ValueError),
            (torch.zeros(4, 3, dtype=torch.int64), (ValueError, TypeError))]  # "not floating": a value or a type


@pytest.mark.task("reid")
def test_reid_functions_check_every_embedding_argument(student):
    e = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0]] * 4)
    labels = torch.tensor([0, 0, 1, 1])
    same = torch.tensor([True, False, True, False])
    calls = {
        "a": [lambda v: student.pairwise_distances(v, e), lambda v: student.contrastive_loss(v, e, same)],
        "b": [lambda v: student.pairwise_distances(e, v), lambda v: student.contrastive_loss(e, v, same)],
        # one label per row of v, so that only the embeddings are wrong
        "embeddings": [lambda v: student.batch_hard_triplet_loss(v, labels[:len(v)])],
        "track_embeddings": [lambda v: student.appearance_cost(boxes, boxes, v, e)],
        "det_embeddings": [lambda v: student.appearance_cost(boxes, boxes, e, v)],
    }
    for name, fns in calls.items():
        for fn in fns:
            for value, error in _bad_embeddings():
                with pytest.raises(error, match=name):
                    fn(value)
    for name in ["track_boxes", "det_boxes"]:
        for value, error in [([[0.0, 0.0, 1.0, 1.0]], TypeError), (torch.zeros(4, 3), ValueError),
                             (torch.zeros(4), ValueError)]:
            args = [boxes, boxes, e, e]
            args[0 if name == "track_boxes" else 1] = value
            with pytest.raises(error, match=name):
                student.appearance_cost(*args)


@pytest.mark.task("reid")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pairwise_distances_of_equal_rows_are_zero_not_nan(student, dtype):
    # |a|^2 + |b|^2 - 2 a.b rounds below zero for equal rows of large norm: clamp at 0 before the root
    gen = torch.Generator().manual_seed(5)
    a = (torch.randn(24, 16, generator=gen, dtype=torch.float64) * 100 + 37).to(dtype)
    for squared in (False, True):
        got = student.pairwise_distances(a, a.clone(), squared=squared)
        assert type(got) is torch.Tensor and got.dtype == dtype
        assert bool((got >= 0).all()) and not bool(got.isnan().any()), f"squared={squared}: {got.diagonal()}"
        expected = torch.cdist(a.double(), a.double()) ** (2 if squared else 1)
        # the formula loses about eps * |a|^2 to cancellation (its square root without squaring)
        tol_sq = 16 * torch.finfo(dtype).eps * float((a.double() ** 2).sum(1).max())
        tol = tol_sq if squared else 2 * tol_sq ** 0.5
        assert_tensor(got.double(), expected, atol=tol, case=f"equal rows, squared={squared}, {dtype}")


@pytest.mark.task("reid")
@pytest.mark.parametrize("name", ["weight", "min_iou"])
def test_appearance_cost_unit_interval_parameters_at_both_ends(student, name):
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 5.0, 5.0]])
    e = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    for ok in (0.0, 1.0):
        got = student.appearance_cost(boxes, boxes, e, e, **{name: ok})
        assert got.shape == (2, 2)
    for bad in (-1e-9, 1.0 + 1e-9):
        with pytest.raises(ValueError, match=name):
            student.appearance_cost(boxes, boxes, e, e, **{name: bad})
