"""Calibrates the `cam_iou` accuracy check: the reference and one-mistake variants of
`cam_masks` over random course keys (held-out positions), through the trusted scorer.

    python reference/semisup/calibrate_cam.py --keys 5
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tests"))
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent.parent / "datasets"))

import cam_cases  # noqa: E402
from accuracy_cases import reference_module  # noqa: E402


def _minmax(cams):
    flat = cams.flatten(1)
    low, high = flat.min(1).values.view(-1, 1, 1), flat.max(1).values.view(-1, 1, 1)
    return (cams - low) / (high - low).clamp(min=1e-12)


def variant(ref, name: str):
    def run(features, fc_weight, class_idx, size, threshold=0.5):
        w = fc_weight[class_idx]
        if name == "reference":
            return ref.cam_masks(features, fc_weight, class_idx, size)
        if name == "no_normalize":
            return ref.cam_to_mask(ref.class_activation_map(features, fc_weight, class_idx, normalize=False), size)
        if name == "negated_weight":
            return ref.cam_masks(features, -fc_weight, class_idx, size)
        if name == "wrong_class":
            return ref.cam_masks(features, fc_weight, (class_idx + 1) % fc_weight.shape[0], size)
        if name == "class_mean_weight":  # the weight averaged over classes (a wrong axis)
            cams = _minmax(torch.einsum("k,nkhw->nhw", fc_weight.mean(0), features))
            return ref.cam_to_mask(cams, size)
        if name == "channel_mean":  # no FC weight: the mean feature map
            return ref.cam_to_mask(_minmax(features.mean(1)), size)
        if name == "relu_max":  # ReLU, then divided by the max (a common alternative)
            cams = torch.relu(torch.einsum("nk,nkhw->nhw", w, features))
            return ref.cam_to_mask(cams / cams.flatten(1).max(1).values.clamp(min=1e-12).view(-1, 1, 1), size)
        if name == "nearest":
            cams = ref.class_activation_map(features, fc_weight, class_idx)
            return F.interpolate(cams[:, None], size=size, mode="nearest")[:, 0] >= threshold
        if name == "align_corners":
            cams = ref.class_activation_map(features, fc_weight, class_idx)
            return F.interpolate(cams[:, None], size=size, mode="bilinear", align_corners=True)[:, 0] >= threshold
        if name == "top_left_crop":  # no upsampling: the 8x8 map pasted in the corner
            cams = ref.class_activation_map(features, fc_weight, class_idx)
            out = torch.zeros(cams.shape[0], *size, dtype=torch.bool)
            out[:, :cams.shape[1], :cams.shape[2]] = cams >= threshold
            return out
        if name == "centre_square":  # ignores the features
            out = torch.zeros(features.shape[0], *size, dtype=torch.bool)
            lo = (size[0] - 16) // 2
            out[:, lo:lo + 16, lo:lo + 16] = True
            return out
        if name.startswith("threshold_"):
            return ref.cam_masks(features, fc_weight, class_idx, size, float(name.split("_")[1]))
        raise ValueError(name)
    return run


VARIANTS = ["reference", "no_normalize", "negated_weight", "wrong_class", "class_mean_weight", "channel_mean",
            "relu_max", "nearest", "align_corners", "top_left_crop", "centre_square", "threshold_0.3",
            "threshold_0.7"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--keys", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(1)
    ref = reference_module()
    results = {v: [] for v in VARIANTS}
    for _ in range(a.keys):
        calls, targets = cam_cases.holdout(secrets.randbits(128))
        for v in VARIANTS:
            fn = variant(ref, v)
            value, _ = cam_cases.score([fn(*args, **kwargs) for args, kwargs in calls], targets)
            results[v].append(value)
        print(" ".join(f"{v}={results[v][-1]:.4f}" for v in VARIANTS), flush=True)
    for v, vals in results.items():
        print(f"{v:18s} min={min(vals):.4f} max={max(vals):.4f} mean={statistics.mean(vals):.4f} "
              f"sd={statistics.pstdev(vals):.4f}")


if __name__ == "__main__":
    main()
