"""Builds sample submissions of the vos assignment for demos and the project's tests.

Each sample is the reference or the stub plus a few overriding definitions appended to the
package's ``__init__.py``. They live on the trusted side (reference/) because they contain
solution code.

    python reference/vos/samples.py --out /tmp/vos_samples
"""

from __future__ import annotations

from pathlib import Path

from harness.authoring import fresh_folder, sample_package, samples_main

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "vos"
STUB = HERE.parent.parent / "assignments" / "vos" / "vos"

# Three classic one-line mistakes of the flow part: grid_sample's default align_corners=False
# (a half-pixel shift of every warp, so dense LK and the occlusion mask drift too), the
# forward-backward check reading the backward flow at x instead of x + w_f(x), and the
# correlation normalised by the channels only (not by the patch area).
PARTIAL = '''
# --- a partly correct submission -----------------------------------------------------------------
import sys as _sys
import torch.nn.functional as _F
from . import flow as _flow

_warp_mod = _sys.modules[__name__ + ".warp"]  # the package's `warp` attribute is the function
_corr_mod = _sys.modules[__name__ + ".correlation"]


def warp(image, flow):
    b, _, h, w = image.shape
    ys = torch.arange(h, dtype=image.dtype)
    xs = torch.arange(w, dtype=image.dtype)
    x = xs.view(1, 1, w) + flow[:, 0].to(image.dtype)
    y = ys.view(1, h, 1) + flow[:, 1].to(image.dtype)
    grid = torch.stack([2.0 * x / max(w - 1, 1) - 1.0, 2.0 * y / max(h - 1, 1) - 1.0], dim=-1)
    return _F.grid_sample(image, grid, mode="bilinear", padding_mode="border")


_flow.warp = warp
_warp_mod.warp = warp


def fb_occlusion(flow_fw, flow_bw, alpha=0.01, beta=0.5):
    lhs = ((flow_fw + flow_bw) ** 2).sum(1)
    return lhs > alpha * ((flow_fw ** 2).sum(1) + (flow_bw ** 2).sum(1)) + beta


_correct_correlation = _corr_mod.correlation


def correlation(f1, f2, patch_size=1, max_displacement=4, stride1=1, stride2=1):
    out = _correct_correlation(f1, f2, patch_size, max_displacement, stride1, stride2)
    return out * patch_size * patch_size
'''

# The typical mistakes: a "pyramidal" LK that never builds the pyramid (one level: large motion
# is lost, the accuracy check scores 0) and a correlation written as a Python loop over output
# pixels (correct, but the speed check scores 0).
TYPICAL = '''
# --- a submission with the typical mistakes -------------------------------------------------------
import torch.nn.functional as _F
from . import flow as _flow
from .correlation import _check_inputs


def lk_dense_pyramid(img0, img1, radius=7, num_warp=10, levels=3):
    return _flow.lk_dense(img0, img1, radius, num_warp)


def correlation(f1, f2, patch_size=1, max_displacement=4, stride1=1, stride2=1):
    _check_inputs(f1, f2, patch_size, max_displacement, stride1, stride2)
    b, c, h, w = f1.shape
    rad = max_displacement // stride2
    md = rad * stride2
    d = 2 * rad + 1
    f2p = _F.pad(f2, (md, md, md, md))
    rows = []
    for y in range(h):
        cols = []
        for x in range(w):
            win = f2p[:, :, y:y + 2 * md + 1:stride2, x:x + 2 * md + 1:stride2]
            cols.append((win * f1[:, :, y, x, None, None]).sum(1).reshape(b, d * d))
        rows.append(torch.stack(cols, dim=-1))
    out = torch.stack(rows, dim=-2)
    return _F.avg_pool2d(out, kernel_size=patch_size, stride=stride1) / c
'''


# --- part B (segmentation) samples ---
# Partly correct: the triplet loss takes the FARTHEST positive (batch-hard, the usual re-id
# choice, not the pixel-wise retrieval paper's nearest), and the palindrome walk goes back with
# the transpose of the forward transition matrices instead of their own softmax.
PARTIAL_SEG = '''
import torch
# --- part B, partly correct: farthest positive in the triplet loss; transposed backward walk ---
def pixel_triplet_loss(embeddings, labels, margin=1.0):
    d = pairwise_distances(embeddings, embeddings)
    n = embeddings.shape[0]
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(n, dtype=torch.bool)
    pos, neg = same & ~eye, ~same
    valid = pos.any(1) & neg.any(1)
    if n == 0 or not bool(valid.any()):
        return embeddings.sum() * 0.0
    d_ap = torch.where(pos, d, torch.zeros_like(d)).max(1).values[valid]
    d_an = torch.where(neg, d, torch.full_like(d, float("inf"))).min(1).values[valid]
    return torch.relu(d_ap - d_an + margin).mean()


def palindrome_walk(feats, temperature=0.07):
    mats = [transition_matrix(feats[:, s], feats[:, s + 1], temperature) for s in range(feats.shape[1] - 1)]
    walk = mats[0]
    for a in mats[1:]:
        walk = walk @ a
    for a in reversed(mats):
        walk = walk @ a.transpose(1, 2)
    return walk
'''

# Typical mistakes: OSVOS keeps ONE network across sequences (fine-tuning leaks from one video
# into the next), and the class-balanced loss weighs each class by its OWN share.
TYPICAL_SEG = '''
import torch
# --- part B, typical mistakes: no reset between sequences; class weights swapped ----------------
from . import osvos as _osvos

_kept = {}


def osvos_segment(frames, first_mask, *, parent=None, base_channels=8, steps=120, lr=1e-2, seed=0,
                  time_budget_s=None):
    key = base_channels
    if key not in _kept:
        _kept[key] = _osvos._fresh_net(parent, base_channels, seed)
    net = _kept[key]
    finetune(net, frames[:1].float(), (first_mask != 0).long()[None], steps=steps, lr=lr,
             time_budget_s=time_budget_s)
    return (foreground_probs(net, frames.float()) > 0.5).long()


def balanced_bce_loss(logits, labels, ignore_index=255):
    pos, neg = labels == 1, labels == 0
    total = int(pos.sum() + neg.sum())
    if total == 0:
        return logits.sum() * 0.0
    beta = int(pos.sum()) / total
    return -(beta * torch.nn.functional.logsigmoid(logits[pos]).sum()
             + (1 - beta) * torch.nn.functional.logsigmoid(-logits[neg]).sum()) / total
'''



def build(out: Path) -> list[Path]:
    """Write the samples, one folder per student id, into ``out``."""
    out = fresh_folder(out)
    return [
        sample_package(out / "s01_reference", REFERENCE),
        sample_package(out / "s02_stub", STUB),
        sample_package(out / "s03_partial_flow", REFERENCE, PARTIAL),
        sample_package(out / "s04_typical_flow", REFERENCE, TYPICAL),
        sample_package(out / "s05_partial_segment", REFERENCE, PARTIAL_SEG),
        sample_package(out / "s06_typical_segment", REFERENCE, TYPICAL_SEG),
    ]



if __name__ == "__main__":
    samples_main(__doc__, build)
