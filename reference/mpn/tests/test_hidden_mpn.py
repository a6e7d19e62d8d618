"""Hidden tests of MessagePassingNetwork [mpn].

The reference network, initialised with a fixed seed, gives the weights; the submission loads
them with load_weights and must produce the same logits on the same graph (float32,
atol 1e-5, rtol 1e-4). Identities: permuting nodes and edges permutes the logits.
"""

import pytest
import torch

from harness.testkit import assert_tensor
from mpn_oracles import build_graph_oracle, edge_features_oracle


def graph_case(n, num_frames, dim, seed, top_k=3, max_gap=3):
    gen = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, num_frames, (n,), generator=gen)
    feats = torch.randn(n, dim, generator=gen)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 100
    boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=gen, dtype=torch.float64) * 30 + 5], 1)
    ei = build_graph_oracle(frames, feats, top_k, max_gap)
    attr = edge_features_oracle(boxes, frames, feats, ei).float()
    return feats, ei, attr


def reference_net(reference, seed, *sizes):
    torch.manual_seed(seed)
    net = reference.MessagePassingNetwork(*sizes)
    return net, {k: v.detach().clone() for k, v in net.state_dict().items()}


def reference_logits(net, feats, ei, attr):
    with torch.no_grad():
        return net(feats, ei, attr)


SIZES = [(5, 6, 8, 6, 3), (16, 6, 32, 16, 4), (3, 6, 4, 4, 1)]


@pytest.mark.task("mpn")
@pytest.mark.parametrize("sizes", SIZES, ids=["small", "defaults", "one-step"])
def test_mpn_matches_reference(student, reference, sizes):
    net, weights = reference_net(reference, 0, *sizes)
    feats, ei, attr = graph_case(30, 6, sizes[0], seed=1)
    model = student.MessagePassingNetwork(*sizes)
    model.load_weights(weights)
    got = model(feats, ei, attr)
    assert_tensor(got, reference_logits(net, feats, ei, attr), atol=1e-5, rtol=1e-4,
                  case=f"sizes {sizes}, {ei.shape[1]} edges")


@pytest.mark.task("mpn")
def test_mpn_isolated_nodes_and_any_edge_order(student, reference):
    sizes = (4, 6, 8, 8, 3)
    net, weights = reference_net(reference, 1, *sizes)
    feats, ei, attr = graph_case(25, 10, 4, seed=2, top_k=1, max_gap=1)
    perm = torch.randperm(ei.shape[1], generator=torch.Generator().manual_seed(0))
    ei, attr = ei[:, perm], attr[perm]
    feats = torch.cat([feats, torch.randn(3, 4)])  # three nodes without any edge
    model = student.MessagePassingNetwork(*sizes)
    model.load_weights(weights)
    assert_tensor(model(feats, ei, attr), reference_logits(net, feats, ei, attr), atol=1e-5, rtol=1e-4,
                  case="shuffled edges, isolated nodes")


@pytest.mark.task("mpn")
def test_mpn_is_time_aware(student, reference):
    # the same pairs with past and future swapped: different messages, different logits
    sizes = (4, 6, 8, 8, 2)
    net, weights = reference_net(reference, 2, *sizes)
    feats, ei, attr = graph_case(20, 5, 4, seed=3)
    model = student.MessagePassingNetwork(*sizes)
    model.load_weights(weights)
    flipped = ei.flip(0).contiguous()
    got = model(feats, flipped, attr)
    expected = reference_logits(net, feats, flipped, attr)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-4, case="edges reversed")
    assert not torch.allclose(expected, reference_logits(net, feats, ei, attr), atol=1e-3)


@pytest.mark.task("mpn")
def test_mpn_is_permutation_equivariant(student, reference):
    sizes = (5, 6, 8, 6, 3)
    _, weights = reference_net(reference, 3, *sizes)
    feats, ei, attr = graph_case(20, 5, 5, seed=4)
    gen = torch.Generator().manual_seed(1)
    node_perm = torch.randperm(20, generator=gen)  # new node k is old node node_perm[k]
    inverse = torch.argsort(node_perm)
    edge_perm = torch.randperm(ei.shape[1], generator=gen)
    model = student.MessagePassingNetwork(*sizes)
    model.load_weights(weights)
    base = model(feats, ei, attr)
    moved = model(feats[node_perm], inverse[ei][:, edge_perm], attr[edge_perm])
    assert_tensor(moved, base[:, edge_perm], atol=1e-5, rtol=1e-4, case="nodes and edges permuted")


@pytest.mark.task("mpn")
def test_mpn_without_edges(student, reference):
    sizes = (3, 6, 4, 4, 2)
    net, weights = reference_net(reference, 4, *sizes)
    model = student.MessagePassingNetwork(*sizes)
    model.load_weights(weights)
    got = model(torch.randn(4, 3), torch.zeros(2, 0, dtype=torch.int64), torch.zeros(0, 6))
    assert_tensor(got, torch.zeros(2, 0), case="no edges: Tensor[num_steps, 0]")


@pytest.mark.task("mpn")
def test_mpn_edge_probabilities(student, reference):
    sizes = (5, 6, 8, 6, 3)
    net, weights = reference_net(reference, 5, *sizes)
    feats, ei, attr = graph_case(15, 4, 5, seed=6)
    model = student.MessagePassingNetwork(*sizes)
    model.load_weights(weights)
    expected = torch.sigmoid(reference_logits(net, feats, ei, attr)[-1])
    assert_tensor(model.edge_probabilities(feats, ei, attr), expected, atol=1e-6, rtol=1e-4,
                  case="sigmoid of the last step")


@pytest.mark.task("mpn")
def test_mpn_load_weights_is_strict(student, reference):
    sizes = (5, 6, 8, 6, 3)
    _, weights = reference_net(reference, 0, *sizes)
    model = student.MessagePassingNetwork(*sizes)
    missing = {k: v for k, v in weights.items() if k != "classifier.2.bias"}
    with pytest.raises((KeyError, ValueError, RuntimeError)):
        model.load_weights(missing)
    wrong = dict(weights)
    wrong["node_encoder.0.weight"] = torch.zeros(3, 3)
    with pytest.raises((KeyError, ValueError, RuntimeError)):
        model.load_weights(wrong)


@pytest.mark.task("mpn")
def test_mpn_rejects_bad_sizes_and_inputs(student, reference):
    with pytest.raises(ValueError, match="num_steps"):
        student.MessagePassingNetwork(5, 6, 8, 6, 0)
    with pytest.raises(ValueError, match="feature_dim"):
        student.MessagePassingNetwork(0)
    sizes = (5, 6, 8, 6, 2)
    _, weights = reference_net(reference, 0, *sizes)
    model = student.MessagePassingNetwork(*sizes)
    model.load_weights(weights)
    feats, ei, attr = graph_case(10, 3, 5, seed=7)
    with pytest.raises(ValueError, match="node_features"):
        model(feats[:, :4], ei, attr)
    with pytest.raises(ValueError, match="edge_attr"):
        model(feats, ei, attr[:, :5])
