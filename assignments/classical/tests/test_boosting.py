"""Public tests of Viola-Jones [stumps, adaboost, cascade, vj_detect]: small hand-checked cases.
The hidden tests compare with float64 loops and torchvision.ops.nms."""

import math

import pytest
import torch

from harness.testkit import assert_tensor

X = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
Y = torch.tensor([1, 1, 0, 0])


@pytest.mark.task("stumps")
def test_stump_separates(student):
    feature, threshold, polarity, error = student.fit_stump(X, Y, torch.full((4,), 0.25, dtype=torch.float64))
    assert (feature, threshold, polarity, error) == (0, 1.5, 1, 0.0)
    assert_tensor(student.stump_predict(X, 0, 1.5, 1), Y)


@pytest.mark.task("adaboost")
def test_adaboost_one_round(student):
    y = torch.tensor([1, 0, 1, 0])
    model = student.adaboost(X, y, 1)  # best stump misses one sample of weight 1/4
    assert abs(float(model["error"][0]) - 0.25) < 1e-12
    assert abs(float(model["alpha"][0]) - math.log(3.0)) < 1e-12


@pytest.mark.task("cascade")
def test_stage_threshold(student):
    scores = torch.tensor([0.9, 0.5, 0.1, 0.7], dtype=torch.float64)
    labels = torch.tensor([1, 1, 1, 0])
    assert student.stage_threshold(scores, labels, 1.0) == 0.1
    assert student.stage_threshold(scores, labels, 0.6) == 0.5


@pytest.mark.task("vj_detect")
def test_nms(student):
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    scores = torch.tensor([0.9, 0.95, 0.5])
    assert_tensor(student.nms(boxes, scores, 0.5), torch.tensor([1, 2]))
