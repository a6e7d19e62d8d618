"""Hidden tests of UNet [unet].

Oracle: a functional float64 U-Net (seg_oracles.py) from the pinned state-dict layout (padded 3x3
convolutions, max pooling, transposed 2x2 convolutions, skip first in the concatenation).
"""

import pytest
import torch

from seg_oracles import unet_layout, unet_oracle

from harness.testkit import assert_tensor, devices


def random_state(shapes, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.randn(s, generator=g, dtype=torch.float64) * (0.5 / max(1, (s[1] if len(s) > 1 else 1)) ** 0.5)
                ).to(dtype) for k, s in shapes.items()}


CASES = {"depth 1": (3, 2, 4, 1, (2, 6, 10)), "depth 2": (3, 4, 4, 2, (1, 8, 12)),
         "depth 3": (1, 3, 2, 3, (1, 16, 8)), "depth 2, wide": (2, 5, 6, 2, (1, 4, 20))}


@pytest.mark.task("unet")
@pytest.mark.parametrize("case", list(CASES))
def test_unet_matches_functional_oracle(student, case):
    in_ch, nc, base, depth, (n, h, w) = CASES[case]
    sd = random_state(unet_layout(in_ch, nc, base, depth), seed=depth)
    net = student.UNet(in_ch, nc, base, depth)
    net.load_weights({k: v.float() for k, v in sd.items()})
    x = torch.randn(n, in_ch, h, w, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = unet_oracle(sd, x, depth)
    assert_tensor(net(x.float()), expected.float(), atol=1e-4, rtol=1e-4, case=case)


@pytest.mark.task("unet")
@pytest.mark.parametrize("device", devices())
def test_unet_on_device(student, device):
    sd = random_state(unet_layout(3, 2, 4, 2), seed=5, dtype=torch.float32)
    net = student.UNet(3, 2, 4, 2)
    net.load_weights({k: v.to(device) for k, v in sd.items()})
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    expected = unet_oracle({k: v.double() for k, v in sd.items()}, x.double(), 2).float()
    assert_tensor(net(x.to(device)), expected.to(device), atol=1e-4, rtol=1e-4, case=device)


@pytest.mark.task("unet")
@pytest.mark.parametrize("size", [(8, 8), (16, 24), (40, 8)])
def test_unet_keeps_the_input_size(student, size):
    net = student.UNet(3, 7, 2, 3)
    out = net(torch.rand(2, 3, *size))
    assert type(out) is torch.Tensor and tuple(out.shape) == (2, 7, *size)


@pytest.mark.task("unet")
def test_unet_default_layout(student):
    sd = random_state(unet_layout(3, 4, 16, 3), seed=3, dtype=torch.float32)
    net = student.UNet(3, 4)
    net.load_weights(sd)  # strict: base_channels=16, depth=3 by default
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    expected = unet_oracle({k: v.double() for k, v in sd.items()}, x.double(), 3).float()
    assert_tensor(net(x), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.task("unet")
def test_unet_rejects(student):
    net = student.UNet(3, 2, 2, 2)
    with pytest.raises(ValueError, match=r"\bx\b|depth|divisible|multiple"):
        net(torch.rand(1, 3, 8, 6))
    with pytest.raises(ValueError, match=r"\bx\b|in_channels|shape"):
        net(torch.rand(1, 2, 8, 8))
    with pytest.raises(ValueError, match="depth"):
        student.UNet(3, 2, 2, 0)
    sd = random_state(unet_layout(3, 2, 2, 2), seed=1, dtype=torch.float32)
    del sd["decoders.0.2.bias"]
    with pytest.raises(RuntimeError):
        net.load_weights(sd)
