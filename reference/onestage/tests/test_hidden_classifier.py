"""Hidden tests of the classifier's entry points [classifier]: a short training run on a few
digits, then well-formed predictions (the accuracy itself is the accuracy check)."""

import pytest
import torch

from accuracy_cases import canvas, split, validate


@pytest.mark.task("classifier")
def test_train_then_predict_is_well_formed(student):
    xtr, ytr, xte, _ = split()
    student.train(canvas(xtr[:96], 1), ytr[:96], seed=1, time_budget_s=0.5)  # stops early
    out = student.predict(canvas(xte[:10], 2))
    logits, theta = validate([out], 10)
    assert logits.shape == (10, 10) and theta.shape == (10, 2, 3)
    # bad inputs are rejected (checked here, beside an informative call: train itself returns None)
    with pytest.raises(ValueError, match="images"):
        student.train(torch.zeros(4, 1, 16, 16), torch.zeros(4, dtype=torch.int64))
    with pytest.raises((ValueError, TypeError), match="labels"):  # a dtype: TypeError is as good
        student.train(torch.zeros(4, 1, 32, 32), torch.zeros(4))

