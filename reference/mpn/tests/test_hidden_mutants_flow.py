"""Hidden tests for the classes of one-mistake variants that survived `cv3 check mpn --mutants`
(issue 11): degenerate geometry in build_flow_graph (boxes smaller than a pixel, whose union is
below 1, so an IoU that divides by max(union, 1) instead of the union is caught) [flow].

Oracle: mpn_oracles.flow_graph_oracle (build_flow_graph written with Python loops, float64).
"""

import pytest

from harness.testkit import assert_tensor
from mpn_oracles import flow_graph_oracle, synthetic_tracks


@pytest.mark.task("flow")
@pytest.mark.parametrize("scale", [0.01, 0.05])
def test_build_flow_graph_of_sub_pixel_boxes(student, scale):
    # IoU is scale-invariant: the same sequence shrunk below one pixel has the same transitions
    boxes, frames, scores = synthetic_tracks(5)
    small = boxes * scale
    assert float(((small[:, 2] - small[:, 0]) * (small[:, 3] - small[:, 1])).max()) < 1.0
    got = student.build_flow_graph(small, frames, scores)
    expected = flow_graph_oracle(small, frames, scores)
    assert type(got) is dict and got.get("num_nodes") == expected["num_nodes"]
    assert_tensor(got["edge_index"], expected["edge_index"], case=f"scale {scale}: edge_index", check_device=False)
    assert_tensor(got["kind"], expected["kind"], case=f"scale {scale}: kind", check_device=False)
    assert_tensor(got["cost"], expected["cost"].to(small.dtype), atol=1e-9, rtol=1e-7, case=f"scale {scale}: cost",
                  check_device=False)
    full = flow_graph_oracle(boxes, frames, scores)
    assert expected["edge_index"].shape == full["edge_index"].shape, "the oracle itself is scale-invariant"
