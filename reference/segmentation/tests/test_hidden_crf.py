"""Hidden tests of potts_energy, binary_mincut and dense_crf_mean_field [crf].

Oracles: brute force over every labelling of tiny grids, networkx minimum_cut on the s-t graph
(its partition is the set reachable from the source in the residual graph), and a dense
float64 mean-field implementation (seg_oracles.py).
"""

import itertools

import networkx as nx
import pytest
import torch

from seg_oracles import dense_mean_field, potts_energy

from harness.testkit import assert_tensor, devices


def brute_force(unary, weight):
    _, h, w = unary.shape
    best, best_l = None, []
    for bits in itertools.product([0, 1], repeat=h * w):
        lab = torch.tensor(bits).reshape(h, w)
        e = potts_energy(unary, lab, weight)
        if best is None or e < best - 1e-12:
            best, best_l = e, [lab]
        elif abs(e - best) <= 1e-12:
            best_l.append(lab)
    return best, best_l


def networkx_cut(unary, weight):
    _, h, w = unary.shape
    g = nx.DiGraph()
    m = torch.minimum(unary[0], unary[1])
    for r in range(h):
        for c in range(w):
            p = (r, c)
            g.add_edge("s", p, capacity=float(unary[1, r, c] - m[r, c]))
            g.add_edge(p, "t", capacity=float(unary[0, r, c] - m[r, c]))
            for q in ((r, c + 1), (r + 1, c)):
                if q[0] < h and q[1] < w:
                    g.add_edge(p, q, capacity=weight)
                    g.add_edge(q, p, capacity=weight)
    value, (source_side, _) = nx.minimum_cut(g, "s", "t")
    labels = torch.ones(h, w, dtype=torch.int64)
    for p in source_side:
        if p != "s":
            labels[p] = 0
    return value + float(m.sum()), labels


@pytest.mark.task("crf")
def test_potts_energy_matches_loop(student):
    g = torch.Generator().manual_seed(1)
    unary = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 3, (4, 5), generator=g)
    got = student.potts_energy(unary, labels, 0.7)
    assert_tensor(got, torch.tensor(potts_energy(unary, labels, 0.7), dtype=torch.float64), atol=1e-12)
    assert_tensor(student.potts_energy(unary.float(), labels, 0.0),
                  torch.tensor(potts_energy(unary.float(), labels, 0.0), dtype=torch.float64), atol=1e-5)


@pytest.mark.task("crf")
@pytest.mark.parametrize("shape,weight,seed", [((3, 3), 0.5, 0), ((2, 4), 1.0, 1), ((3, 4), 0.3, 2),
                                               ((1, 5), 2.0, 3), ((3, 3), 0.0, 4)])
def test_mincut_reaches_the_brute_force_minimum(student, shape, weight, seed):
    unary = torch.randn(2, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    best, argmins = brute_force(unary, weight)
    got = student.binary_mincut(unary, weight)
    assert type(got) is torch.Tensor and got.dtype == torch.int64 and tuple(got.shape) == shape
    assert abs(potts_energy(unary, got, weight) - best) < 1e-9, "not a minimum-energy labelling"
    if len(argmins) == 1:
        assert_tensor(got, argmins[0])


@pytest.mark.task("crf")
@pytest.mark.parametrize("seed", [0, 1])
def test_mincut_matches_networkx(student, seed):
    g = torch.Generator().manual_seed(10 + seed)
    truth = torch.zeros(10, 12, dtype=torch.int64)
    truth[2:8, 3:9] = 1
    noisy = torch.where(torch.rand(10, 12, generator=g) < 0.2, 1 - truth, truth)
    unary = torch.stack([noisy.double(), 1 - noisy.double()]) + 0.3 * torch.rand(2, 10, 12, generator=g,
                                                                                  dtype=torch.float64)
    value, expected = networkx_cut(unary, 0.6)
    got = student.binary_mincut(unary, 0.6)
    assert abs(potts_energy(unary, got, 0.6) - value) < 1e-9
    assert_tensor(got, expected)
    assert int((got != truth).sum()) < int((noisy != truth).sum()), "smoothing must remove noise"


@pytest.mark.task("crf")
def test_mincut_ties_go_to_label_one(student):
    unary = torch.zeros(2, 3, 3, dtype=torch.float64)
    assert_tensor(student.binary_mincut(unary, 1.0), torch.ones(3, 3, dtype=torch.int64))
    unary[1, 0, 0] = 5.0  # pixel (0, 0) wants label 0; with weight 10 everything follows it
    assert_tensor(student.binary_mincut(unary, 10.0), torch.zeros(3, 3, dtype=torch.int64))


@pytest.mark.task("crf")
@pytest.mark.parametrize("device", devices())
def test_mincut_float32_and_device(student, device):
    unary = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(5)).to(device)
    got = student.binary_mincut(unary, 0.4)
    assert got.device.type == torch.device(device).type
    _, expected = networkx_cut(unary.double().cpu(), 0.4)
    assert_tensor(got.cpu(), expected)


@pytest.mark.task("crf")
def test_crf_rejects(student):
    # the docstrings document "TypeError, ValueError" for all of these: either type is accepted
    with pytest.raises((ValueError, TypeError), match="weight"):
        student.binary_mincut(torch.zeros(2, 2, 2), -1.0)
    with pytest.raises((ValueError, TypeError), match="unary"):
        student.binary_mincut(torch.zeros(3, 2, 2), 1.0)
    with pytest.raises((ValueError, TypeError), match="unary"):
        student.binary_mincut(torch.zeros(2, 2, 0), 1.0)
    with pytest.raises((ValueError, TypeError), match="unary"):
        student.binary_mincut(torch.zeros(2, 0, 3), 1.0)
    with pytest.raises((ValueError, TypeError), match="unary|finite"):
        student.binary_mincut(torch.full((2, 2, 2), float("inf")), 1.0)
    with pytest.raises((ValueError, TypeError), match="labels|unary"):
        student.potts_energy(torch.zeros(2, 2, 2), torch.full((2, 2), 2), 1.0)
    with pytest.raises((TypeError, ValueError), match="unary"):
        student.binary_mincut(torch.zeros(2, 2, 2, dtype=torch.int64), 1.0)
    with pytest.raises((TypeError, ValueError), match="labels"):
        student.potts_energy(torch.zeros(2, 2, 2), torch.zeros(2, 2), 1.0)


MF_CASES = {
    "defaults": ({}, (3, 6, 7)),
    "no smoothness kernel": ({"w_smooth": 0.0, "theta_beta": 0.3}, (2, 5, 5)),
    "strong appearance": ({"w_appearance": 3.0, "theta_alpha": 2.0, "theta_beta": 0.5, "num_iters": 10}, (4, 6, 6)),
    "zero iterations": ({"num_iters": 0}, (3, 4, 4)),
    "one iteration": ({"num_iters": 1, "theta_gamma": 1.0}, (2, 3, 8)),
}


@pytest.mark.task("crf")
@pytest.mark.parametrize("case", list(MF_CASES))
def test_mean_field_matches_dense_float64(student, case):
    kw, (nl, h, w) = MF_CASES[case]
    g = torch.Generator().manual_seed(len(case))
    unary = torch.randn(nl, h, w, generator=g, dtype=torch.float64) * 2
    image = torch.rand(3, h, w, generator=g, dtype=torch.float64)
    full = {"num_iters": 5, "w_appearance": 1.0, "theta_alpha": 8.0, "theta_beta": 0.1, "w_smooth": 1.0,
            "theta_gamma": 3.0, **kw}
    expected = dense_mean_field(unary, image, full["num_iters"], full["w_appearance"], full["theta_alpha"],
                                full["theta_beta"], full["w_smooth"], full["theta_gamma"])
    got = student.dense_crf_mean_field(unary, image, **kw)
    assert_tensor(got, expected, atol=1e-10, rtol=1e-8, case=case)


@pytest.mark.task("crf")
def test_mean_field_float32_smooths_labels(student):
    g = torch.Generator().manual_seed(3)
    truth = torch.zeros(8, 8, dtype=torch.int64)
    truth[:, 4:] = 1
    image = torch.stack([truth.float()] * 3) + 0.05 * torch.randn(3, 8, 8, generator=g)
    noisy = torch.where(torch.rand(8, 8, generator=g) < 0.15, 1 - truth, truth)
    unary = torch.stack([noisy.float(), 1 - noisy.float()]) * 1.5
    q = student.dense_crf_mean_field(unary, image, num_iters=5, w_appearance=2.0, theta_alpha=4.0, theta_beta=0.3,
                                     w_smooth=0.5, theta_gamma=1.0)
    assert q.dtype == torch.float32 and q.shape == (2, 8, 8)
    assert_tensor(q.sum(0), torch.ones(8, 8), atol=1e-5, case="marginals sum to 1")
    expected = dense_mean_field(unary, image, 5, 2.0, 4.0, 0.3, 0.5, 1.0).float()
    assert_tensor(q, expected, atol=1e-5, rtol=1e-4)
    assert int((q.argmax(0) != truth).sum()) < int((noisy != truth).sum())


@pytest.mark.task("crf")
def test_mean_field_rejects(student):
    u = torch.zeros(2, 3, 3)
    # "TypeError, ValueError" in the docstring: either type is accepted
    with pytest.raises((ValueError, TypeError), match="image|unary"):
        student.dense_crf_mean_field(u, torch.zeros(3, 3, 4))
    with pytest.raises((ValueError, TypeError), match="theta_beta"):
        student.dense_crf_mean_field(u, torch.zeros(3, 3, 3), theta_beta=0.0)
    with pytest.raises((ValueError, TypeError), match="num_iters"):
        student.dense_crf_mean_field(u, torch.zeros(3, 3, 3), num_iters=-1)
