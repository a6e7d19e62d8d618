"""Public tests of the linear SVM [svm] and the sliding-window pieces [sliding].

Oracles: scikit-learn's ``LinearSVC`` (same objective: squared hinge, intercept regularised) and
``F.interpolate``. The hidden tests compare ``detect_windows`` with a trusted detector.
"""

import pytest
import torch
import torch.nn.functional as F
from sklearn.svm import LinearSVC

from harness.testkit import assert_tensor


def blobs(n, d, seed):
    gen = torch.Generator().manual_seed(seed)
    y = torch.where(torch.rand(n, generator=gen) < 0.5, 1, -1)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) + y[:, None].double()
    return x, y


@pytest.mark.task("svm")
def test_svm_objective_hand_computed(student):
    x = torch.tensor([[1.0], [0.5], [-2.0]], dtype=torch.float64)
    y = torch.tensor([1, 1, -1])
    w, b = torch.tensor([1.0], dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)
    got = student.svm_objective(w, b, x, y, C=2.0)
    assert_tensor(got, torch.tensor(0.5 + 2.0 * 0.25, dtype=torch.float64), atol=1e-12,
                  case="margins 1, 0.5, 2: 1/2 |w|^2 + C (1 - 0.5)^2")


@pytest.mark.task("svm")
def test_train_linear_svm_matches_linearsvc(student):
    x, y = blobs(100, 5, seed=0)
    w, b = student.train_linear_svm(x, y, C=0.5)
    ref = LinearSVC(C=0.5, dual=False, tol=1e-12).fit(x.numpy(), y.numpy())
    assert_tensor(x @ w + b, torch.from_numpy(ref.decision_function(x.numpy())), atol=1e-4, check_dtype=False,
                  case="decision function vs LinearSVC")


@pytest.mark.task("sliding")
def test_image_pyramid(student):
    image = torch.rand(50, 40, generator=torch.Generator().manual_seed(0))
    got = student.image_pyramid(image, scale=1.5, min_size=(20, 10))
    assert len(got) == 3, f"levels 50x40, 33x26, 22x17 (the next, 14x11, is below 20 rows): got {len(got)}"
    assert_tensor(got[0], image, case="level 0 is the image")
    assert_tensor(got[2], F.interpolate(image[None, None], size=(22, 17), mode="bilinear", align_corners=False)[0, 0],
                  atol=1e-6, case="level 2: floor(50 / 1.5^2) x floor(40 / 1.5^2)")


@pytest.mark.task("sliding")
def test_window_features_layout(student):
    blocks = torch.rand(4, 3, 2, 2, 9, generator=torch.Generator().manual_seed(1))
    got = student.window_features(blocks, (2, 2))
    assert got.shape == (3, 2, 144), f"expected [3, 2, 144], got {list(got.shape)}"
    assert_tensor(got[2, 1], blocks[2:4, 1:3].reshape(-1), case="window (2, 1)")


@pytest.mark.task("sliding")
def test_detect_windows_single_window(student):
    image = torch.rand(32, 16, generator=torch.Generator().manual_seed(3))
    boxes, scores = student.detect_windows(image, torch.zeros(756), torch.tensor(0.5))
    assert_tensor(boxes, torch.tensor([[0.0, 0.0, 16.0, 32.0]]), atol=1e-6, case="the only window of a 32 x 16 image")
    assert_tensor(scores, torch.tensor([0.5]), atol=1e-6, case="its score is the bias")
