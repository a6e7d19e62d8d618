"""Hidden tests of the classifier's entry points [classifier]: a short training run on a few
digits, then well-formed predictions (the accuracy itself is the accuracy check)."""

import pytest
import torch

from accuracy_cases import split, validate


@pytest.mark.task("classifier")
def test_train_then_predict_is_well_formed(student):
    xtr, ytr, xte, _ = split()
    student.train(xtr[:96], ytr[:96], seed=1, time_budget_s=5.0)
    out = student.predict(xte[:10])
    logits, maps = validate([out], 10)
    assert logits.shape == (10, 10) and maps.shape[0] == 10
    # every map holds the class token's attention on patches: non-negative, sums to at most 1
    assert bool((maps.sum(dim=(1, 2)) <= 1 + 1e-5).all()), "attention over the patches sums to more than 1"
    # bad inputs are rejected (checked here, beside an informative call: train itself returns None)
    with pytest.raises(ValueError, match="images"):
        student.train(torch.zeros(4, 3, 16, 16), torch.zeros(4, dtype=torch.int64))
    with pytest.raises((ValueError, TypeError), match="labels"):  # a dtype: the README says TypeError
        student.train(torch.zeros(4, 1, 16, 16), torch.zeros(4))
