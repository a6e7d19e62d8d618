"""Hidden tests of ASPP [aspp].

Oracle: torchvision.models.segmentation.deeplabv3.ASPP with perturbed weights and BatchNorm
statistics copied into the student's module, both in eval mode.
"""

import pytest
import torch
from torchvision.models.segmentation.deeplabv3 import ASPP as TorchvisionASPP

from harness.testkit import assert_tensor, devices


def perturbed(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point:
                if name.endswith("running_var"):
                    t.copy_(torch.rand(t.shape, generator=g) + 0.5)
                else:
                    t.copy_(torch.randn(t.shape, generator=g) * 0.3)
    return module.eval()


def pair(student, c_in, rates, c_out, seed):
    ref = perturbed(TorchvisionASPP(c_in, rates, c_out), seed)
    mine = student.ASPP(c_in, rates, c_out)
    mine.load_weights({k: v.clone() for k, v in ref.state_dict().items()})
    mine.set_training(False)
    return ref, mine


CASES = {
    "three rates": (6, [2, 4, 6], 8, (2, 6, 13, 11)),
    "one rate": (4, [3], 5, (1, 4, 9, 9)),
    "large rates on a small map": (3, [6, 12, 18], 4, (2, 3, 7, 8)),
}


@pytest.mark.task("aspp")
@pytest.mark.parametrize("case", list(CASES))
def test_aspp_matches_torchvision_in_eval_mode(student, case):
    c_in, rates, c_out, shape = CASES[case]
    ref, mine = pair(student, c_in, rates, c_out, seed=len(rates))
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ref(x)
    assert_tensor(mine(x), expected, atol=1e-5, rtol=1e-5, case=case)


@pytest.mark.task("aspp")
@pytest.mark.parametrize("device", devices())
def test_aspp_on_device(student, device):
    ref, mine = pair(student, 4, [2, 3], 6, seed=9)
    mine.load_weights({k: v.to(device) for k, v in ref.state_dict().items()})
    x = torch.randn(1, 4, 8, 10, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = ref(x)
    assert_tensor(mine(x.to(device)), expected.to(device), atol=1e-5, rtol=1e-5, case=device)


@pytest.mark.task("aspp")
def test_aspp_state_dict_layout_is_strict(student):
    ref = TorchvisionASPP(4, [2, 3], 6)
    mine = student.ASPP(4, [2, 3], 6)
    sd = {k: v.clone() for k, v in ref.state_dict().items()}
    del sd["project.1.running_mean"]
    with pytest.raises(RuntimeError):
        mine.load_weights(sd)
    sd = {k: v.clone() for k, v in ref.state_dict().items()}
    sd["convs.1.0.weight"] = torch.zeros(6, 4, 1, 1)
    with pytest.raises(RuntimeError):
        mine.load_weights(sd)


@pytest.mark.task("aspp")
def test_aspp_training_step_updates_running_statistics(student):
    """One forward pass in training mode updates every BatchNorm's running statistics (momentum
    0.1, unbiased variance) exactly as torchvision's; back in eval mode both agree again."""
    ref, mine = pair(student, 3, [2], 4, seed=4)
    x = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    mine.set_training(True)
    ref.train()
    with torch.no_grad():
        ref(x)
    out = mine(x)
    assert type(out) is torch.Tensor and out.shape == (4, 4, 6, 6)
    mine.set_training(False)
    ref.eval()
    y = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = ref(y)
    assert_tensor(mine(y), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.task("aspp")
def test_aspp_rejects(student):
    with pytest.raises(ValueError, match="atrous_rates"):
        student.ASPP(4, [], 8)
    with pytest.raises(ValueError, match="atrous_rates"):
        student.ASPP(4, [0, 2], 8)
    with pytest.raises(ValueError, match="channels"):
        student.ASPP(0, [2], 8)
    m = student.ASPP(4, [2], 8)
    with pytest.raises(ValueError, match=r"\bx\b|in_channels|shape"):
        m(torch.randn(1, 3, 5, 5))
