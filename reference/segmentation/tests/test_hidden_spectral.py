"""Hidden tests of the graph Laplacians, spectral embedding and normalized cuts [spectral].

Oracles: scipy.sparse.csgraph.laplacian, scipy.linalg.eigh(L, D) (generalized problem),
sklearn.manifold.spectral_embedding (up to sign and scale), sklearn SpectralClustering with a
precomputed affinity (labels up to permutation), networkx connected components, and a float64
recursive Ncut written here.
"""

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.csgraph as csgraph
import torch
from sklearn.cluster import SpectralClustering
from sklearn.manifold import spectral_embedding
from sklearn.metrics import adjusted_rand_score

from harness.testkit import assert_tensor


def block_graph(sizes, seed, inside=(0.5, 1.0), between=(0.0, 0.05), dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    n = sum(sizes)
    block = torch.cat([torch.full((s,), i) for i, s in enumerate(sizes)])
    same = block[:, None] == block[None, :]
    lo = torch.where(same, torch.full((n, n), inside[0]), torch.full((n, n), between[0]))
    hi = torch.where(same, torch.full((n, n), inside[1]), torch.full((n, n), between[1]))
    w = lo + (hi - lo) * torch.rand(n, n, generator=g)
    w = torch.triu(w, 1)
    w = (w + w.t()).to(dtype)
    return w, block


def random_graph(n, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.triu(torch.rand(n, n, generator=g, dtype=torch.float64), 1)
    return w + w.t()


@pytest.mark.task("spectral")
def test_affinity_matrix(student):
    g = torch.Generator().manual_seed(1)
    f = torch.randn(7, 3, generator=g, dtype=torch.float64)
    pos = torch.randint(0, 4, (7, 2), generator=g).double()
    got = student.affinity_matrix(f, 0.8)
    expected = torch.zeros(7, 7, dtype=torch.float64)
    for i in range(7):
        for j in range(7):
            if i != j:
                expected[i, j] = np.exp(-float(((f[i] - f[j]) ** 2).sum()) / (2 * 0.8 ** 2))
    assert_tensor(got, expected, atol=1e-12, rtol=1e-10)
    local = student.affinity_matrix(f, 0.8, positions=pos, radius=2.0)
    far = torch.cdist(pos, pos) > 2.0
    assert_tensor(local, torch.where(far, torch.zeros_like(expected), expected), atol=1e-12, rtol=1e-10,
                  case="radius (distance exactly 2 is kept)")
    assert bool((torch.cdist(pos, pos) == 2.0).any()), "the case must hold a pair at exactly the radius"
    assert student.affinity_matrix(f.float(), 1.0).dtype == torch.float32


@pytest.mark.task("spectral")
def test_affinity_rejects(student):
    f = torch.randn(4, 2)
    with pytest.raises(ValueError, match="sigma"):
        student.affinity_matrix(f, 0.0)
    with pytest.raises(ValueError, match="positions|radius"):
        student.affinity_matrix(f, 1.0, radius=2.0)
    with pytest.raises(ValueError, match="radius"):
        student.affinity_matrix(f, 1.0, positions=torch.zeros(4, 2), radius=-1.0)


@pytest.mark.task("spectral")
@pytest.mark.parametrize("normalized", [False, True])
def test_laplacians_match_scipy(student, normalized):
    w = random_graph(6, 3)
    w[5, :] = 0
    w[:, 5] = 0  # an isolated node
    expected = torch.from_numpy(csgraph.laplacian(w.numpy(), normed=normalized))
    assert_tensor(student.laplacian(w, normalized=normalized), expected, atol=1e-12)
    assert_tensor(student.degree_matrix(w), torch.diag(w.sum(1)), atol=1e-12)
    assert_tensor(student.laplacian(w.float()), expected.float() if not normalized else
                  torch.from_numpy(csgraph.laplacian(w.numpy(), normed=False)).float(), atol=1e-5)


@pytest.mark.task("spectral")
@pytest.mark.parametrize("sizes", [[5], [3, 4], [2, 2, 3], [1, 4, 1, 2]])
def test_zero_eigenvalues_count_components(student, sizes):
    w, _ = block_graph(sizes, seed=len(sizes), between=(0.0, 0.0))
    w[w < 0.6] = 0.0  # sparser, still connected inside a block (checked with networkx)
    expected = nx.number_connected_components(nx.from_numpy_array(w.numpy()))
    assert student.count_components(w) == expected


@pytest.mark.task("spectral")
def test_count_components_path_and_rejects(student):
    w = torch.zeros(6, 6, dtype=torch.float64)
    for i in range(5):
        if i != 2:
            w[i, i + 1] = w[i + 1, i] = 0.01  # weak but present edges: two paths
    assert student.count_components(w) == 2
    # "TypeError, ValueError" in the docstrings: either type is accepted
    with pytest.raises((ValueError, TypeError), match=r"\bW\b|square"):
        student.count_components(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises((ValueError, TypeError), match=r"\bW\b|negative"):
        student.laplacian(-torch.ones(2, 2, dtype=torch.float64))
    # one negative entry among non-negative ones is as bad as all of them
    with pytest.raises((ValueError, TypeError), match=r"\bW\b|negative"):
        student.laplacian(torch.tensor([[1.0, -0.5], [-0.5, 1.0]], dtype=torch.float64))


@pytest.mark.task("spectral")
@pytest.mark.parametrize("seed", [0, 1])
def test_ncut_embedding_matches_generalized_eigh(student, seed):
    w = random_graph(9, 10 + seed)
    d = torch.diag(w.sum(1))
    ev, vec = scipy.linalg.eigh((d - w).numpy(), d.numpy())  # v^T D v = 1
    got_ev, got_vec = student.ncut_embedding(w, 4)
    assert_tensor(got_ev, torch.from_numpy(ev[:4]), atol=1e-10)
    for i in range(4):
        e = torch.from_numpy(vec[:, i])
        sign = 1.0 if float(got_vec[:, i] @ e) >= 0 else -1.0
        assert_tensor(got_vec[:, i] * sign, e, atol=1e-8, case=f"eigenvector {i} (up to sign)")


@pytest.mark.task("spectral")
def test_ncut_embedding_matches_sklearn_up_to_sign_and_scale(student):
    w, _ = block_graph([6, 5, 7], seed=3)
    _, got = student.ncut_embedding(w, 3)
    emb = spectral_embedding(w.numpy(), n_components=3, norm_laplacian=True, drop_first=False, random_state=0,
                             eigen_solver="arpack")
    for i in range(3):
        a, b = got[:, i].numpy(), emb[:, i]
        scale = float(a @ b / (b @ b))
        assert np.allclose(a, scale * b, atol=1e-6), f"column {i} is not a multiple of sklearn's"


@pytest.mark.task("spectral")
def test_ncut_embedding_rejects_isolated_nodes(student):
    w = random_graph(4, 1)
    w[0, :] = 0
    w[:, 0] = 0
    with pytest.raises(ValueError, match=r"\bW\b|degree"):
        student.ncut_embedding(w, 2)
    with pytest.raises(ValueError, match="k"):
        student.ncut_embedding(random_graph(4, 1), 5)


def oracle_bipartition(w):
    n = w.shape[0]
    graph = nx.from_numpy_array(w.numpy())
    comps = list(nx.connected_components(graph))
    if len(comps) > 1:
        first = next(c for c in comps if 0 in c)
        return torch.tensor([0 if i in first else 1 for i in range(n)])
    d = torch.diag(w.sum(1))
    _, vec = scipy.linalg.eigh((d - w).numpy(), d.numpy())
    side = torch.from_numpy((vec[:, 1] > 0).astype(np.int64))
    return 1 - side if int(side[0]) == 1 else side


def oracle_ncut(w, labels):
    total, d = 0.0, w.sum(1)
    for s in set(labels.tolist()):
        a = labels == s
        if float(d[a].sum()) > 0:
            total += float(w[a][:, ~a].sum()) / float(d[a].sum())
    return total


@pytest.mark.task("spectral")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ncut_bipartition_matches_the_eigenvector_threshold(student, seed):
    w = random_graph(10, 30 + seed) ** 3
    got = student.ncut_bipartition(w)
    assert_tensor(got, oracle_bipartition(w))


@pytest.mark.task("spectral")
def test_ncut_bipartition_finds_blocks_like_sklearn(student):
    w, block = block_graph([7, 5], seed=4)
    got = student.ncut_bipartition(w)
    sc = SpectralClustering(2, affinity="precomputed", random_state=0).fit(w.numpy())
    assert adjusted_rand_score(sc.labels_, got.numpy()) == 1.0
    assert_tensor(got, block)
    disconnected, block2 = block_graph([3, 4], seed=5, between=(0.0, 0.0))
    perm = torch.tensor([3, 0, 4, 1, 5, 2, 6])
    got2 = student.ncut_bipartition(disconnected[perm][:, perm])
    assert_tensor(got2, (block2[perm] != block2[perm][0]).long(), case="disconnected: component of node 0")


@pytest.mark.task("spectral")
def test_ncut_value(student):
    w = random_graph(8, 6)
    labels = torch.tensor([0, 1, 1, 0, 2, 2, 0, 1])
    assert_tensor(student.ncut_value(w, labels), torch.tensor(oracle_ncut(w, labels), dtype=torch.float64),
                  atol=1e-12)
    two = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1])
    d = w.sum(1)
    cut = float(w[:3][:, 3:].sum())
    shi_malik = cut / float(d[:3].sum()) + cut / float(d[3:].sum())
    assert abs(float(student.ncut_value(w, two)) - shi_malik) < 1e-12


def oracle_recursive(w, max_segments, max_ncut, min_size):
    queue, final = [torch.arange(w.shape[0])], []
    while queue:
        s = queue.pop(0)
        if len(final) + len(queue) + 1 >= max_segments or len(s) < 2 * min_size:
            final.append(s)
            continue
        sub = w[s][:, s]
        side = oracle_bipartition(sub)
        a, b = s[side == 0], s[side == 1]
        if len(a) < min_size or len(b) < min_size or oracle_ncut(sub, side) >= max_ncut:
            final.append(s)
            continue
        queue += [a, b]
    final.sort(key=lambda t: int(t.min()))
    labels = torch.empty(w.shape[0], dtype=torch.int64)
    for i, s in enumerate(final):
        labels[s] = i
    return labels


@pytest.mark.task("spectral")
@pytest.mark.parametrize("params", [(8, 0.5, 2), (3, 0.5, 1), (8, 0.2, 3), (8, 1.5, 1)])
def test_recursive_ncut_matches_oracle(student, params):
    w, _ = block_graph([5, 6, 4, 5], seed=8, between=(0.0, 0.15))
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(2))
    w = w[perm][:, perm]
    max_segments, max_ncut, min_size = params
    got = student.recursive_ncut(w, max_segments=max_segments, max_ncut=max_ncut, min_size=min_size)
    assert_tensor(got, oracle_recursive(w, max_segments, max_ncut, min_size), case=str(params))


@pytest.mark.task("spectral")
def test_recursive_ncut_recovers_blocks(student):
    w, block = block_graph([6, 4, 5], seed=9)
    got = student.recursive_ncut(w, max_segments=8, max_ncut=0.3)
    assert adjusted_rand_score(block.numpy(), got.numpy()) == 1.0
    assert_tensor(got, block, case="labels numbered by first node")
    with pytest.raises(ValueError, match="max_segments"):
        student.recursive_ncut(w, max_segments=0)
