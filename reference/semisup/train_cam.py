"""Trains the CAM check's classifier (trusted side) and writes tests/cam_classifier.pt.

    python reference/semisup/train_cam.py            # about 2 minutes of CPU (6 on a loaded machine), deterministic

Training data: digits of the `unlabeled` and `probe_train` splits pasted at new random positions
every epoch (cv3data.ssl_digits.pasted_digits, seeds 1000 + epoch); the check's held-out images
are the `probe_test` digits, at positions drawn from the course key.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tests"))
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent.parent / "datasets"))

import cam_cases  # noqa: E402
from cv3data.ssl_digits import pasted_digits  # noqa: E402


def main(epochs: int = 30) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = cam_cases.CamNet()
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        xa, ya, _ = pasted_digits("unlabeled", 1000 + epoch, cam_cases.SIZE)
        xb, yb, _ = pasted_digits("probe_train", 1000 + epoch, cam_cases.SIZE)
        x, y = torch.cat([xa, xb]), torch.cat([ya, yb])
        order = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        for i in range(0, x.shape[0], 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        print(f"epoch {epoch}: loss {total / x.shape[0]:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    net.eval()
    xt, yt, _ = pasted_digits("probe_test", 0, cam_cases.SIZE)
    with torch.no_grad():
        acc = float((net(xt).argmax(1) == yt).double().mean())
    print(f"held-out accuracy (probe_test, seed 0): {acc:.4f}")
    torch.save(net.state_dict(), cam_cases.WEIGHTS)
    print(f"wrote {cam_cases.WEIGHTS}")


if __name__ == "__main__":
    main()
