"""The message-passing network of Braso & Leal-Taixe (CVPR 2020), in a small form.

Nodes are detections, edges join detections of different frames and point forward in time
(``edge_index[0]`` past, ``edge_index[1]`` future). The network refines node and edge
embeddings for ``num_steps`` rounds and classifies every edge as "same object" or not.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["MessagePassingNetwork"]


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
        raise NotImplementedError("MessagePassingNetwork.__init__: implement me (see README.md, section `mpn`)")

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
        raise NotImplementedError("MessagePassingNetwork.forward: implement me (see README.md, section `mpn`)")

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
        raise NotImplementedError("MessagePassingNetwork.load_weights: implement me (see README.md, section `mpn`)")

    def edge_probabilities(self, node_features: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        """Sigmoid of the final step's logits, computed without gradients.

        Args:
            node_features (Tensor[N, F] float): as in :meth:`forward`.
            edge_index (Tensor[2, E] int64): as in :meth:`forward`.
            edge_attr (Tensor[E, edge_in_dim] float): as in :meth:`forward`.

        Returns:
            Tensor[E]: probability that each edge joins two detections of the same object.
        """
        raise NotImplementedError(
            "MessagePassingNetwork.edge_probabilities: implement me (see README.md, section `mpn`)"
        )
