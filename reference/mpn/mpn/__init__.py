"""Learning a neural solver for multiple object tracking (course assignment ``mpn``).

Min-cost flow tracking as the baseline, then the message-passing network of Braso &
Leal-Taixe (CVPR 2020) that learns to classify the edges of the same graph.
Boxes are ``(x1, y1, x2, y2)`` float tensors with no ``+1`` in widths (torchvision's convention).
"""

from .flow import build_flow_graph, flow_to_trajectories, solve_min_cost_flow
from .graph import build_graph, edge_features
from .model import MessagePassingNetwork
from .tracker import postprocess, track_sequence

__all__ = [
    "build_flow_graph",
    "solve_min_cost_flow",
    "flow_to_trajectories",
    "build_graph",
    "edge_features",
    "MessagePassingNetwork",
    "postprocess",
    "track_sequence",
]
