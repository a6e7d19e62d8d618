"""Public tests of selective search's region measures [proposals] (hand-computed)."""

import pytest
import torch

from harness.testkit import assert_tensor


@pytest.mark.task("proposals")
def test_region_descriptors_sizes_boxes_colour(student):
    labels = torch.tensor([[0, 0, 1], [0, 2, 1]])
    image = torch.zeros(3, 2, 3, dtype=torch.float64)
    image[:, :, 2] = 1.0  # region 1 is white
    d = student.region_descriptors(image, labels)
    assert_tensor(d["sizes"], torch.tensor([3, 2, 1]), case="pixels per region")
    assert_tensor(d["boxes"], torch.tensor([[0.0, 0, 2, 2], [2.0, 0, 3, 2], [1.0, 1, 2, 2]], dtype=torch.float64),
                  case="(min col, min row, max col + 1, max row + 1)")
    white = torch.zeros(75, dtype=torch.float64)
    white[[24, 49, 74]] = 1.0 / 3
    assert_tensor(d["colour"][1], white, atol=1e-12, case="white: the last bin of each channel, L1 over 75")


@pytest.mark.task("proposals")
def test_region_neighbours(student):
    labels = torch.tensor([[0, 0, 1], [2, 3, 1]])
    assert_tensor(student.region_neighbours(labels), torch.tensor([[0, 1], [0, 2], [0, 3], [1, 3], [2, 3]]),
                  case="4-connected pairs (i < j), sorted")


@pytest.mark.task("proposals")
def test_region_similarity_hand_computed(student):
    colour = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]], dtype=torch.float64)
    texture = torch.tensor([[1.0, 0.0], [0.4, 0.6]], dtype=torch.float64)
    got = student.region_similarity(colour, texture, torch.tensor([4, 6]),
                                    torch.tensor([[0.0, 0, 2, 2], [3.0, 1, 5, 4]], dtype=torch.float64),
                                    torch.tensor([[0, 1]]), 100)
    assert_tensor(got, torch.tensor([[0.25, 0.4, 0.9, 0.9]], dtype=torch.float64), atol=1e-12,
                  case="(colour, texture, size, fill)")
