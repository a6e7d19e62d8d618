"""Hidden tests of pixel-wise retrieval [retrieval].

Oracles: float64 Python loops over anchors / queries written here (nearest positive, nearest
negative, hinge, mean over valid anchors; k-NN vote with stable ties). Tolerances 1e-10 in
float64, 1e-5 in float32.
"""

import math

import pytest
import torch

from vos_oracles import dist, knn_oracle

from harness.testkit import assert_tensor, check_gradient, devices


def triplet_oracle(e, labels, margin):
    n = e.shape[0]
    lab = labels.tolist()
    terms = []
    for a in range(n):
        pos = [dist(e[a], e[p]) for p in range(n) if p != a and lab[p] == lab[a]]
        neg = [dist(e[a], e[q]) for q in range(n) if lab[q] != lab[a]]
        if pos and neg:
            terms.append(max(0.0, min(pos) - min(neg) + margin))
    return sum(terms) / len(terms) if terms else 0.0


@pytest.mark.task("retrieval")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pairwise_distances(student, dtype):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, generator=g, dtype=torch.float64)
    b = torch.randn(4, 3, generator=g, dtype=torch.float64)
    b[0] = a[1]  # a zero distance: sqrt(1e-12) = 1e-6
    expected = torch.tensor([[dist(x, y) for y in b] for x in a], dtype=torch.float64)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert_tensor(student.pairwise_distances(a.to(dtype), b.to(dtype)), expected.to(dtype), atol=tol, rtol=tol)
    big = torch.tensor([[1e4, 1e4 + 1.0]], dtype=dtype)
    d = student.pairwise_distances(big, torch.tensor([[1e4, 1e4]], dtype=dtype))
    assert abs(float(d) - 1.0) < 1e-3, "cancellation: compute the squared distance from differences"
    with pytest.raises((ValueError, TypeError), match=r"\ba\b|\bb\b|dimension"):  # "TypeError / ValueError"
        student.pairwise_distances(a, torch.zeros(2, 4, dtype=torch.float64))


CASES = {"two classes": (0, 12, 4, [0, 1], 1.0), "three classes": (1, 15, 3, [0, 1, 2], 0.5),
         "zero margin": (2, 10, 2, [0, 1], 0.0), "one class (no negatives)": (3, 6, 3, [1], 1.0)}


@pytest.mark.task("retrieval")
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_triplet_loss_matches_loop(student, case, dtype):
    seed, n, d, classes, margin = CASES[case]
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(n, d, generator=g, dtype=torch.float64)
    labels = torch.tensor(classes)[torch.randint(0, len(classes), (n,), generator=g)]
    expected = torch.tensor(triplet_oracle(e, labels, margin), dtype=dtype)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert_tensor(student.pixel_triplet_loss(e.to(dtype), labels, margin=margin), expected, atol=tol, rtol=tol,
                  case=case)


@pytest.mark.task("retrieval")
def test_triplet_loss_uses_nearest_positive_and_skips_lonely_anchors(student):
    # anchor 0 (label 1) has positives at distance 1 and 5, negative at distance 2
    e = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    labels = torch.tensor([1, 1, 1, 0])
    # anchors: 0 -> max(0, 1 - 2 + 1) = 0; 1 -> max(0, 1 - sqrt(5) + 1); 2 -> max(0, 4 - sqrt(29) + 1)
    # anchor 3 has no positive: skipped
    terms = [0.0, max(0.0, 2 - math.sqrt(5)), max(0.0, 5 - math.sqrt(29))]
    expected = torch.tensor(sum(terms) / 3, dtype=torch.float64)
    assert_tensor(student.pixel_triplet_loss(e, labels, margin=1.0), expected, atol=1e-12)
    # nobody valid: zero
    out = student.pixel_triplet_loss(e[:1], labels[:1])
    assert_tensor(out, torch.tensor(0.0, dtype=torch.float64))
    out = student.pixel_triplet_loss(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64))
    assert_tensor(out, torch.tensor(0.0))
    with pytest.raises((ValueError, TypeError), match="margin"):
        student.pixel_triplet_loss(e, labels, margin=-0.1)
    with pytest.raises((ValueError, TypeError), match="labels|embeddings"):
        student.pixel_triplet_loss(e, labels[:3])


@pytest.mark.task("retrieval")
def test_triplet_loss_gradient(student):
    g = torch.Generator().manual_seed(5)
    e = torch.randn(9, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1, 1, 0, 0, 1, 0])
    check_gradient(student, "pixel_triplet_loss", [e, labels], {"margin": 2.0})
    check_gradient(student, "pairwise_distances", [e[:4], e[4:]], wrt=(0, 1))


@pytest.mark.task("retrieval")
@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("device", devices())
def test_nearest_neighbour_labels_match_loop(student, k, device):
    g = torch.Generator().manual_seed(k)
    ref = torch.randn(20, 4, generator=g, dtype=torch.float64)
    ref_labels = torch.randint(0, 3, (20,), generator=g)
    query = torch.randn(15, 4, generator=g, dtype=torch.float64)
    expected = knn_oracle(ref, ref_labels, query, k)
    got = student.nearest_neighbour_labels(ref.to(device), ref_labels.to(device), query.to(device), k=k)
    assert_tensor(got, expected.to(device), case=f"k={k}")


@pytest.mark.task("retrieval")
def test_nearest_neighbour_ties_and_edges(student):
    ref = torch.tensor([[0.0], [2.0], [2.0], [4.0]], dtype=torch.float64)
    labels = torch.tensor([3, 1, 2, 1])
    query = torch.tensor([[2.0], [1.0], [3.0]], dtype=torch.float64)
    # k=1: query 2.0 ties between refs 1 and 2 -> index 1 (label 1); 1.0 ties refs 0 and 1/2 -> ref 0
    assert_tensor(student.nearest_neighbour_labels(ref, labels, query, k=1), torch.tensor([1, 3, 1]))
    # k=2 at query 1.0: refs 0 (label 3) and 1 (label 1): a vote tie -> the smaller label 1
    assert_tensor(student.nearest_neighbour_labels(ref, labels, query, k=2), torch.tensor([1, 1, 1]))
    assert_tensor(student.nearest_neighbour_labels(ref, labels, query.float(), k=4), torch.tensor([1, 1, 1]))
    single = student.nearest_neighbour_labels(ref, labels, query[1:2], k=1)
    assert_tensor(single, torch.tensor([3]), case="one query pixel")
    empty = student.nearest_neighbour_labels(ref, labels, torch.zeros(0, 1, dtype=torch.float64))
    assert_tensor(empty, torch.zeros(0, dtype=torch.int64))
    with pytest.raises((ValueError, TypeError), match="k|ref_embeddings|ref_labels"):
        student.nearest_neighbour_labels(ref, labels, query, k=5)
    with pytest.raises((ValueError, TypeError), match="ref_labels"):
        student.nearest_neighbour_labels(ref, torch.tensor([0, -1, 0, 0]), query)


@pytest.mark.task("retrieval")
def test_retrieval_segments_a_frame(student):
    # pixel colours as embeddings: labelling a second frame by its nearest annotated pixels
    g = torch.Generator().manual_seed(3)
    ref_mask = torch.zeros(12, 12, dtype=torch.int64)
    ref_mask[3:8, 2:9] = 1
    colours = torch.tensor([[0.2, 0.3, 0.6], [0.8, 0.3, 0.2]], dtype=torch.float64)
    ref = colours[ref_mask].reshape(-1, 3) + 0.05 * torch.randn(144, 3, generator=g, dtype=torch.float64)
    test_mask = ref_mask.roll(2, 1)
    query = colours[test_mask].reshape(-1, 3) + 0.05 * torch.randn(144, 3, generator=g, dtype=torch.float64)
    got = student.nearest_neighbour_labels(ref, ref_mask.reshape(-1), query, k=5)
    assert float((got == test_mask.reshape(-1)).float().mean()) > 0.98


@pytest.mark.task("retrieval")
def test_retrieval_input_checks(student):
    e = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    assert student.pixel_triplet_loss(e, torch.tensor([0, 0, 1, 1])).shape == ()
    with pytest.raises((ValueError, TypeError), match="embeddings"):
        student.pixel_triplet_loss(e.long(), torch.tensor([0, 0, 1, 1]))
    with pytest.raises((ValueError, TypeError), match="embeddings"):
        student.pixel_triplet_loss(e[0], torch.tensor([0, 0]))
    with pytest.raises((ValueError, TypeError), match="labels"):
        student.pixel_triplet_loss(e, torch.tensor([0.0, 0.0, 1.0, 1.0]))
    with pytest.raises((ValueError, TypeError), match="ref_embeddings|query_embeddings|dimension"):
        student.nearest_neighbour_labels(e, torch.tensor([0, 0, 1, 1]), torch.zeros(2, 3))
    with pytest.raises((ValueError, TypeError), match="embeddings"):
        student.pixel_triplet_loss([[0.0, 1.0]], torch.tensor([0]))
    with pytest.raises((ValueError, TypeError), match="labels"):
        student.pixel_triplet_loss(e, [0, 0, 1, 1])
