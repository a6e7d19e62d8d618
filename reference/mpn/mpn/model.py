"""The message-passing network of Braso & Leal-Taixe (CVPR 2020), in a small form.

Nodes are detections, edges join detections of different frames and point forward in time
(``edge_index[0]`` past, ``edge_index[1]`` future). The network refines node and edge
embeddings for ``num_steps`` rounds and classifies every edge as "same object" or not.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
# END SOLUTION
from torch import Tensor, nn

__all__ = ["MessagePassingNetwork"]


# BEGIN SOLUTION
def _mlp(*sizes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)
# END SOLUTION


class MessagePassingNetwork(nn.Module):
    """Time-aware message-passing network with an edge classifier.

    Write ``mlp(a, b, ...)`` for ``nn.Sequential(nn.Linear(a, b), nn.ReLU(), ...)``: a
    ``Linear`` followed by a ``ReLU`` for each consecutive pair of sizes. With
    ``F = feature_dim``, ``n = node_dim``, ``e = edge_dim``, the submodules (attribute names
    and layer order fix the keys of the ``state_dict``) are::

        node_encoder   = mlp(F, n)
        edge_encoder   = mlp(edge_in_dim, e, e)
        edge_update    = mlp(2 n + 2 e, e, e)
        message_past   = mlp(2 n + e, n)
        message_future = mlp(2 n + e, n)
        node_update    = mlp(2 n, n)
        classifier     = nn.Sequential(nn.Linear(e, e), nn.ReLU(), nn.Linear(e, 1))

    ``nn.Linear`` layers keep PyTorch's default initialisation. The forward pass (README.md,
    task ``mpn``), for an edge ``(i, j)`` with ``i`` the past and ``j`` the future node::

        h_v0 = node_encoder(x_v);  h_e0 = edge_encoder(a_e);  h_v = h_v0;  h_e = h_e0
        repeat num_steps times:
            h_e  = edge_update([h_i, h_j, h_e, h_e0])                     for every edge
            past_v   = sum over edges (i, v) of message_past([h_v, h_e, h_v0])
            future_v = sum over edges (v, j) of message_future([h_v, h_e, h_v0])
            h_v  = node_update([past_v, future_v])                       for every node
            logits of this step = classifier(h_e)[:, 0]

    where ``[...]`` concatenates along the feature dimension in the order written and all
    edge updates of a step use the node embeddings of the previous step. A node with no
    past (future) edge gets a zero past (future) sum.

    Args:
        feature_dim (int): size ``F`` of the node (appearance) features.
        edge_in_dim (int): size of the initial edge features (6 for :func:`edge_features`).
        node_dim (int): size ``n`` of the node embeddings.
        edge_dim (int): size ``e`` of the edge embeddings.
        num_steps (int): rounds of message passing, ``>= 1``.

    Raises:
        ValueError: if a size or ``num_steps`` is not a positive int.
    """

    def __init__(self, feature_dim: int, edge_in_dim: int = 6, node_dim: int = 32, edge_dim: int = 16,
                 num_steps: int = 4) -> None:
        super().__init__()
        # BEGIN SOLUTION
        for name, value in (("feature_dim", feature_dim), ("edge_in_dim", edge_in_dim),
                            ("node_dim", node_dim), ("edge_dim", edge_dim), ("num_steps", num_steps)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        n, e = node_dim, edge_dim
        self.num_steps = num_steps
        self.node_encoder = _mlp(feature_dim, n)
        self.edge_encoder = _mlp(edge_in_dim, e, e)
        self.edge_update = _mlp(2 * n + 2 * e, e, e)
        self.message_past = _mlp(2 * n + e, n)
        self.message_future = _mlp(2 * n + e, n)
        self.node_update = _mlp(2 * n, n)
        self.classifier = nn.Sequential(nn.Linear(e, e), nn.ReLU(), nn.Linear(e, 1))
        # END SOLUTION

    def forward(self, node_features: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        """Edge logits after every message-passing step.

        Args:
            node_features (Tensor[N, F] float): appearance features of the detections.
            edge_index (Tensor[2, E] int64): ``(past, future)`` node indices of every edge, in
                ``[0, N)``.
            edge_attr (Tensor[E, edge_in_dim] float): initial edge features.

        Returns:
            Tensor[num_steps, E]: the classifier's logit of every edge after each step (row
            ``num_steps - 1`` is the final prediction); differentiable in the parameters.

        Raises:
            TypeError: if an argument is not a tensor or ``edge_index`` is not int64.
            ValueError: on shapes that do not fit each other or the network's sizes, or a node
                index outside ``[0, N)``.
        """
        # BEGIN SOLUTION
        for name, x in (("node_features", node_features), ("edge_index", edge_index),
                        ("edge_attr", edge_attr)):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if edge_index.dtype != torch.int64:
            raise TypeError(f"edge_index must be int64, got {edge_index.dtype}")
        num_nodes = node_features.shape[0]
        if node_features.dim() != 2 or node_features.shape[1] != self.node_encoder[0].in_features:
            raise ValueError(f"node_features must have shape [N, {self.node_encoder[0].in_features}], "
                             f"got {list(node_features.shape)}")
        if edge_index.dim() != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
        num_edges = edge_index.shape[1]
        if edge_attr.shape != (num_edges, self.edge_encoder[0].in_features):
            raise ValueError(f"edge_attr must have shape [{num_edges}, {self.edge_encoder[0].in_features}], "
                             f"got {list(edge_attr.shape)}")
        if num_edges and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
            raise ValueError(f"edge_index holds node indices outside [0, {num_nodes})")
        past, future = edge_index.unbind(0)  # [E], [E]
        h_v0 = self.node_encoder(node_features)  # [N, n]
        h_e0 = self.edge_encoder(edge_attr)  # [E, e]
        h_v, h_e = h_v0, h_e0
        logits = []
        for _ in range(self.num_steps):
            h_e = self.edge_update(torch.cat([h_v[past], h_v[future], h_e, h_e0], dim=1))  # [E, e]
            # messages to the future end (it hears from its past) and to the past end
            m_past = self.message_past(torch.cat([h_v[future], h_e, h_v0[future]], dim=1))  # [E, n]
            m_future = self.message_future(torch.cat([h_v[past], h_e, h_v0[past]], dim=1))  # [E, n]
            agg_past = h_v.new_zeros(num_nodes, m_past.shape[1]).index_add(0, future, m_past)  # [N, n]
            agg_future = h_v.new_zeros(num_nodes, m_future.shape[1]).index_add(0, past, m_future)  # [N, n]
            h_v = self.node_update(torch.cat([agg_past, agg_future], dim=1))  # [N, n]
            logits.append(self.classifier(h_e)[:, 0])  # [E]
        return torch.stack(logits)  # [num_steps, E]
        # END SOLUTION

    def load_weights(self, state_dict: dict) -> None:
        """Copy weights into the network (``load_state_dict`` with ``strict=True``).

        Args:
            state_dict (dict[str, Tensor]): one tensor per parameter, keyed as in
                ``self.state_dict()``; shapes must match.

        Raises:
            TypeError: if ``state_dict`` is not a dict.
            KeyError: if a key is missing or unexpected.
            ValueError: if a shape does not match; the message names the offending key.
        """
        # BEGIN SOLUTION
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict of tensors, got {type(state_dict).__name__}")
        own = self.state_dict()
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(own))
        if missing or unexpected:
            raise KeyError(f"state_dict keys do not match the network: missing {missing}, "
                           f"unexpected {unexpected}")
        for k, v in state_dict.items():
            if not isinstance(v, Tensor) or v.shape != own[k].shape:
                raise ValueError(f"state_dict['{k}'] must be a tensor of shape {list(own[k].shape)}, "
                                 f"got {getattr(v, 'shape', type(v).__name__)}")
        self.load_state_dict(state_dict, strict=True)
        # END SOLUTION

    def edge_probabilities(self, node_features: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        """Sigmoid of the final step's logits, computed without gradients.

        Args:
            node_features (Tensor[N, F] float): as in :meth:`forward`.
            edge_index (Tensor[2, E] int64): as in :meth:`forward`.
            edge_attr (Tensor[E, edge_in_dim] float): as in :meth:`forward`.

        Returns:
            Tensor[E]: probability that each edge joins two detections of the same object.
        """
        # BEGIN SOLUTION
        with torch.no_grad():
            return torch.sigmoid(self.forward(node_features, edge_index, edge_attr)[-1])
        # END SOLUTION
