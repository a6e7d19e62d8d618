"""Helpers shared by the hidden tests (trusted side)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

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


# -- the documented runs and the VAT power iteration, written out (oracles of several test files) --
def shift(x, gen, m):
    """The documented translation, as a loop of slice copies over the images (the test's oracle)."""
    n, c, h, w = x.shape
    s = torch.randint(-m, m + 1, (n, 2), generator=gen)
    out = torch.zeros_like(x)
    for i in range(n):
        sy, sx = int(s[i, 0]), int(s[i, 1])
        ys, yd = (slice(0, h - sy), slice(sy, h)) if sy >= 0 else (slice(-sy, h), slice(0, h + sy))
        xs, xd = (slice(0, w - sx), slice(sx, w)) if sx >= 0 else (slice(-sx, w), slice(0, w + sx))
        out[i, :, yd, xd] = x[i, :, ys, xs]
    return out


def strong(x, gen):
    n = x.shape[0]
    x = shift(x, gen, 3)
    c = torch.empty(n, 1, 1, 1).uniform_(0.35, 1.0, generator=gen)
    b = torch.empty(n, 1, 1, 1).uniform_(0.0, 0.35, generator=gen)
    return (x * c + b + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0.0, 1.0)


def digits_run(xl, yl, xu, xq, seed, steps, threshold=0.95, weight=1.0, lr=0.003, batch=256):
    """The docstring's run written out with torch.nn.functional (the test's oracle)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(400, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, rates = [], []
    for _ in range(steps):
        a = shift(xl, gen, 1)
        loss = F.cross_entropy(model(a), yl)
        rate = 0.0
        if xu.shape[0] > 0 and weight != 0:
            u = xu[torch.randint(0, xu.shape[0], (batch,), generator=gen)]
            w, s = shift(u, gen, 1), strong(u, gen)
            with torch.no_grad():
                conf, pseudo = torch.softmax(model(w), 1).max(1)
            ce = F.cross_entropy(model(s), pseudo, reduction="none")
            loss = loss + weight * (ce * (conf >= threshold).float()).mean()
            rate = float((conf >= threshold).float().mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        rates.append(rate)
    with torch.no_grad():
        return model(xq).argmax(1), torch.tensor(losses), torch.tensor(rates)


def moons_run(xl, yl, xu, xq, seed, steps, threshold=0.95, weight=1.0, weak=0.05, strong=0.25, lr=0.01):
    """The docstring's run written out with torch.nn.functional (the test's oracle)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        a = xl + weak * torch.randn(xl.shape, generator=gen)
        w = xu + weak * torch.randn(xu.shape, generator=gen)
        s = xu + strong * torch.randn(xu.shape, generator=gen)
        with torch.no_grad():
            conf, pseudo = torch.softmax(model(w), 1).max(1)
        loss = F.cross_entropy(model(a), yl)
        if xu.shape[0]:
            ce = F.cross_entropy(model(s), pseudo, reduction="none")
            loss = loss + weight * (ce * (conf >= threshold).float()).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        conf, pseudo = torch.softmax(model(xu), 1).max(1)
        return model(xq).argmax(1), pseudo, conf >= threshold, torch.tensor(losses)


def mlp(x, w):
    h = x.flatten(1)
    for i in range(0, len(w), 2):
        h = h @ w[i].T + w[i + 1]
        if i + 2 < len(w):
            h = torch.tanh(h)
    return h


def kl(lp, lq):
    return F.kl_div(torch.log_softmax(lq, 1), torch.log_softmax(lp, 1), log_target=True, reduction="batchmean")


def unit(d):
    return d / d.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, *([1] * (d.dim() - 1)))


def oracle_direction(x, w, d, xi, k):
    clean = mlp(x, w).detach()
    for _ in range(k):
        r = (xi * unit(d)).requires_grad_(True)
        (d,) = torch.autograd.grad(kl(clean, mlp(x + r, w)), [r])
    return unit(d)
