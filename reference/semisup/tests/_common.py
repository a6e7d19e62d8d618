"""Helpers shared by the hidden tests (trusted side)."""

import pytest
import torch

from harness.testkit import devices

DTYPES = [torch.float32, torch.float64]
DEVICES = devices()
TOL = {torch.float32: dict(atol=1e-5, rtol=1e-4), torch.float64: dict(atol=1e-10, rtol=1e-9)}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed: int = 0, dtype=torch.float64, scale: float = 1.0, device="cpu") -> torch.Tensor:
    return (scale * torch.randn(*shape, generator=gen(seed), dtype=torch.float64)).to(dtype=dtype, device=device)


def cuda_or_skip(device: str) -> None:
    if device == "cuda" and not torch.cuda.is_available():  # pragma: no cover - skipped by the mark
        pytest.skip("no GPU")
