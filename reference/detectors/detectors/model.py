# BEGIN SOLUTION
# STUB: """Your whole detector: ``predict`` (graded by COCO mAP on held-out scenes) and ``train``.
# STUB:
# STUB: Build it from your parts (a backbone, your FPN, RetinaNet heads or an RPN with RoI heads),
# STUB: train it from scratch and save its weights inside this package; see README.md, section
# STUB: `model`, for the rules of the accuracy check and what a CPU can train in minutes.
# STUB: """
"""The whole detector: ``predict`` (graded by COCO mAP on held-out scenes) and ``train``.

The reference is a small RetinaNet trained from scratch on the synthetic cv3data scenes
(about 0.3 M parameters): a CNN backbone with batch norm (a stride-2 stem, then three stages
of two 3x3 convs at strides 4, 8 and 16; 16, 32, 64 and 96 channels), a feature pyramid on
the stride 8 and 16 maps (32 channels), one conv + batch norm + ReLU before each of the
RetinaNet classification and regression heads (shared by the levels), 9 anchors per position
(base sizes 8 and 20 px times 1, 1.26, 1.59; aspect ratios 1/2, 1, 2), RetinaNet matching
(IoU 0.5 / 0.4), the focal loss and the L1 box loss, AdamW with a cosine schedule and
horizontal flips. 8000 steps of 16 images on one CPU thread take about 8 minutes. Its weights
ship inside the package as ``checkpoint.pt`` (float16, loaded with
``torch.load(..., weights_only=True)``).
"""
# END SOLUTION

from __future__ import annotations

# BEGIN SOLUTION
import math
import time
from pathlib import Path
# END SOLUTION
from typing import Callable

# BEGIN SOLUTION
# STUB: from torch import Tensor
import torch
from torch import Tensor, nn

from .boxes import encode_boxes
from .fpn import FeaturePyramidNetwork
from .retinanet import (
    RetinaNetClassificationHead,
    RetinaNetRegressionHead,
    retinanet_classification_loss,
    retinanet_postprocess,
    retinanet_regression_loss,
)
# END SOLUTION

__all__ = ["predict", "train"]

# BEGIN SOLUTION
CHECKPOINT = Path(__file__).with_name("checkpoint.pt")
NUM_CLASSES = 4  # category ids 1..4: rectangle, ellipse, triangle, diamond (cv3data.SHAPE_NAMES)
IMAGE_SIZE = (64, 64)
MAX_DETECTIONS = 100
_NUM_TRAIN = 12000  # training scenes (generated once, about 30 s)
_BATCH_SIZE = 16
_LR = 3e-3

_CONFIG = {
    "num_classes": NUM_CLASSES,
    "widths": [16, 32, 64, 96],  # backbone stages at strides 2, 4, 8, 16
    "fpn_channels": 32,
    "head_convs": 1,  # conv + batch norm + ReLU before each head (shared by the levels)
    "strides": [8, 16],  # pyramid levels P3, P4
    "sizes": [8.0, 20.0],  # anchor base size per level
    "scales": [1.0, 1.26, 1.59],
    "ratios": [0.5, 1.0, 2.0],
}


def _conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class _TinyRetinaNet(nn.Module):
    """Backbone (strides 2, 4, 8, 16) + FPN on the configured strides + RetinaNet heads."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        w = config["widths"]
        self.stem = _conv_bn(3, w[0], 2)  # stride 2
        self.stages = nn.ModuleList(
            nn.Sequential(_conv_bn(w[i], w[i + 1], 2), _conv_bn(w[i + 1], w[i + 1], 1)) for i in range(3)
        )  # strides 4, 8, 16
        self.levels = [{4: 0, 8: 1, 16: 2}[s] for s in config["strides"]]
        c = config["fpn_channels"]
        self.fpn = FeaturePyramidNetwork([w[i + 1] for i in self.levels], c)
        num_anchors = len(config["scales"]) * len(config["ratios"])
        depth = config["head_convs"]
        self.cls_tower = nn.Sequential(*(_conv_bn(c, c, 1) for _ in range(depth)))
        self.reg_tower = nn.Sequential(*(_conv_bn(c, c, 1) for _ in range(depth)))
        self.cls_head = RetinaNetClassificationHead(c, num_anchors, config["num_classes"], num_convs=0)
        self.reg_head = RetinaNetRegressionHead(c, num_anchors, num_convs=0)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor, list[tuple[int, int]]]:
        x = self.stem((images - 0.4) / 0.25)  # [N, w0, H/2, W/2]
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        feats = list(self.fpn({str(i): maps[i] for i in self.levels}).values())
        logits = self.cls_head([self.cls_tower(f) for f in feats])
        codes = self.reg_head([self.reg_tower(f) for f in feats])
        return logits, codes, [tuple(f.shape[-2:]) for f in feats]


def _anchors(config: dict, grid_sizes: list[tuple[int, int]], device: torch.device) -> list[Tensor]:
    """Anchors per level, position-major (row, column) then anchor (scale-major, ratio-minor)."""
    out = []
    for stride, size, (h, w) in zip(config["strides"], config["sizes"], grid_sizes, strict=True):
        cell = []
        for s in config["scales"]:
            for r in config["ratios"]:  # r = height / width
                aw, ah = size * s / math.sqrt(r), size * s * math.sqrt(r)
                cell.append([-aw / 2, -ah / 2, aw / 2, ah / 2])
        cell_t = torch.tensor(cell, device=device)  # [A, 4]
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * stride
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * stride
        cy, cx = torch.meshgrid(ys, xs, indexing="ij")
        centres = torch.stack((cx, cy, cx, cy), dim=-1).reshape(-1, 1, 4)  # [H*W, 1, 4]
        out.append((centres + cell_t[None]).reshape(-1, 4))  # [H*W*A, 4]
    return out


def _load_model(device: torch.device) -> tuple[_TinyRetinaNet, dict]:
    if not CHECKPOINT.is_file():
        raise FileNotFoundError(f"no checkpoint at {CHECKPOINT}: run the training command first")
    saved = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    config = saved["config"]
    model = _TinyRetinaNet(config)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    return model.to(device).eval(), config


_LOADED: dict[str, tuple[_TinyRetinaNet, dict]] = {}
# END SOLUTION


def predict(images: list[Tensor]) -> list[dict[str, Tensor]]:
    """Detect objects in a batch of images with the trained model stored in the package.

    The model and its weights are loaded from a file inside the package (e.g.
    ``Path(__file__).with_name("checkpoint.pt")`` loaded with ``torch.load(path,
    weights_only=True)``); the grader calls ``predict`` on held-out scenes of the synthetic
    dataset and scores the detections by COCO mAP@0.5 with pycocotools. Labels never reach the
    submission. The grader rejects (and scores 0) output that breaks any rule below.

    Args:
        images (list[Tensor[3, H, W]]): float32 RGB images in [0, 1], e.g. 64 x 64 scenes of
            ``cv3data.detection_splits`` (``image.float() / 255``). The images of one call may
            differ in size (any ``H, W``, not only 64 x 64); an empty list returns an empty list.

    Returns:
        list[dict[str, Tensor]]: one dict per image, in order, with (other keys are ignored)

        - ``boxes``: float32 ``Tensor[D, 4]``, (x1, y1, x2, y2) in pixels, inside the image's
          own size (``0 <= x1 <= x2 <= W``, ``0 <= y1 <= y2 <= H``), finite;
        - ``scores``: float32 ``Tensor[D]``, finite, higher is more confident;
        - ``labels``: int64 ``Tensor[D]``, category ids 1 to 4 (rectangle, ellipse, triangle,
          diamond);

        with ``D <= 100``, plain ``torch.Tensor`` objects on the CPU.

    Raises:
        ValueError: if ``images`` is not a list of [3, H, W] float tensors.
    """
    # BEGIN SOLUTION
    if not isinstance(images, (list, tuple)) or not all(
        isinstance(im, Tensor) and im.dim() == 3 and im.shape[0] == 3 and im.is_floating_point() for im in images
    ):
        raise ValueError("images must be a list of float Tensor[3, H, W] in [0, 1]")
    if len(images) == 0:
        return []
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type not in _LOADED:
        _LOADED[device.type] = _load_model(device)
    model, config = _LOADED[device.type]
    # pad to a common size, a multiple of the coarsest stride
    height = max(im.shape[1] for im in images)
    width = max(im.shape[2] for im in images)
    stride = config["strides"][-1]
    ph, pw = -(-height // stride) * stride, -(-width // stride) * stride
    batch = torch.zeros(len(images), 3, ph, pw, device=device)
    for i, im in enumerate(images):
        batch[i, :, : im.shape[1], : im.shape[2]] = im.to(device=device, dtype=torch.float32)
    with torch.inference_mode():
        logits, codes, grids = model(batch)
        anchors = _anchors(config, grids, device)
        counts = [a.shape[0] for a in anchors]
        out = []
        for i, im in enumerate(images):
            boxes, scores, labels = retinanet_postprocess(
                list(logits[i].split(counts)), list(codes[i].split(counts)), anchors,
                (int(im.shape[1]), int(im.shape[2])), score_thresh=0.05, nms_thresh=0.5,
                detections_per_img=MAX_DETECTIONS, topk_candidates=100,
            )
            out.append({
                "boxes": boxes.float().cpu().contiguous(),
                "scores": scores.float().cpu().contiguous(),
                "labels": (labels + 1).long().cpu().contiguous(),
            })
    return out
    # END SOLUTION


# BEGIN SOLUTION
def _match(anchors: Tensor, boxes: list[Tensor], labels: list[Tensor]) -> tuple[Tensor, Tensor]:
    """RetinaNet matching of a batch (IoU >= 0.5 foreground, < 0.4 background, else ignored;
    every ground truth also keeps its best anchors): matched class [N, A] (-1 background, -2
    ignored) and regression targets [N, A, 4]."""
    n, a = len(boxes), anchors.shape[0]
    g = max(max((b.shape[0] for b in boxes), default=0), 1)
    gt = anchors.new_zeros((n, g, 4))  # [N, G, 4] padded
    gt[..., 2:] = 1.0
    lab = torch.zeros((n, g), dtype=torch.int64)  # [N, G]
    valid = torch.zeros((n, g), dtype=torch.bool)  # [N, G]
    for i, (b, lb) in enumerate(zip(boxes, labels, strict=True)):
        gt[i, : b.shape[0]] = b
        lab[i, : b.shape[0]] = lb
        valid[i, : b.shape[0]] = True
    lt = torch.max(gt[:, :, None, :2], anchors[None, None, :, :2])  # [N, G, A, 2]
    rb = torch.min(gt[:, :, None, 2:], anchors[None, None, :, 2:])  # [N, G, A, 2]
    inter = (rb - lt).clamp(min=0).prod(-1)  # [N, G, A]
    area_g = (gt[..., 2] - gt[..., 0]) * (gt[..., 3] - gt[..., 1])  # [N, G]
    area_a = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])  # [A]
    iou = inter / (area_g[..., None] + area_a - inter)  # [N, G, A]
    iou = torch.where(valid[..., None], iou, torch.full_like(iou, -1.0))
    best, idx = iou.max(dim=1)  # [N, A]
    cls = lab.gather(1, idx) - 1  # [N, A] class index of the best ground truth
    matched = torch.where(best >= 0.5, cls, torch.full_like(cls, -1))
    matched = torch.where((best >= 0.4) & (best < 0.5), torch.full_like(cls, -2), matched)
    best_per_gt = iou.max(dim=2, keepdim=True).values  # [N, G, 1]
    low_quality = ((iou == best_per_gt) & valid[..., None] & (best_per_gt > 0)).any(dim=1)  # [N, A]
    matched = torch.where(low_quality, cls, matched)
    matched_boxes = gt.gather(1, idx[..., None].expand(n, a, 4))  # [N, A, 4]
    targets = encode_boxes(matched_boxes.reshape(-1, 4), anchors.repeat(n, 1)).reshape(n, a, 4)
    return matched, targets
# END SOLUTION


def train(  # pragma: no cover - never called by the grader (README.md, "Coverage exclusions")
    out: str, minutes: float = 8.0, seed: int = 0, steps: int | None = None, log: Callable[[str], None] = print
) -> dict:
    """Train the detector from scratch on the synthetic training split and save its checkpoint.

    Not called by the grader (it grades the checkpoint inside your package); it documents how
    that checkpoint was made. Uses the ``train`` split of ``cv3data.detection_splits(seed)``,
    never the held-out splits.

    Args:
        out (str): path of the checkpoint to write (e.g. ``detectors/checkpoint.pt``).
        minutes (float): wall-clock training budget; training stops when it is used up.
        seed (int): seed of the data split, the initialisation and the batches.
        steps (int | None): a fixed number of optimizer steps (the learning-rate schedule then
            follows steps instead of time, so the run is reproducible); ``None``: train until
            ``minutes`` are used up.
        log (callable): receives progress lines.

    Returns:
        dict: training figures (``steps``, ``images_seen``, ``seconds``, ``final_loss``).
    """
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("train: implement me (see README.md, section `model`)")
    import cv3data  # the trusted data generator: only needed to train

    torch.manual_seed(seed)
    t_start = time.perf_counter()
    config = dict(_CONFIG)
    scenes = cv3data.detection_splits(seed, num_train=_NUM_TRAIN, num_val=0, num_test=0)["train"]
    images = torch.stack([s["image"] for s in scenes])  # [T, 3, 64, 64] uint8
    gt_boxes = [s["boxes"] for s in scenes]
    gt_labels = [s["labels"] for s in scenes]
    log(f"generated {len(scenes)} training scenes in {time.perf_counter() - t_start:.1f} s")

    model = _TinyRetinaNet(config)
    with torch.no_grad():
        _, _, grids = model(torch.zeros(1, 3, *IMAGE_SIZE))
    anchors = torch.cat(_anchors(config, grids, torch.device("cpu")))  # [A, 4]
    optimizer = torch.optim.AdamW(model.parameters(), lr=_LR, weight_decay=1e-4)
    budget = minutes * 60.0
    gen = torch.Generator().manual_seed(seed)
    step, loss_ema = 0, None
    t_train = time.perf_counter()
    model.train()
    while True:
        elapsed = time.perf_counter() - t_train
        if elapsed >= budget or (steps is not None and step >= steps):
            break
        progress = step / steps if steps is not None else elapsed / budget
        lr = _LR * min(1.0, (step + 1) / 30) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, len(scenes), (_BATCH_SIZE,), generator=gen)
        flip = torch.rand(_BATCH_SIZE, generator=gen) < 0.5
        batch = images[idx].float() / 255.0  # [B, 3, 64, 64]
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
        boxes, labels = [], []
        for j, i in enumerate(idx.tolist()):
            b = gt_boxes[i]
            if flip[j]:
                b = torch.stack((IMAGE_SIZE[1] - b[:, 2], b[:, 1], IMAGE_SIZE[1] - b[:, 0], b[:, 3]), dim=1)
            boxes.append(b)
            labels.append(gt_labels[i])
        matched, targets = _match(anchors, boxes, labels)
        logits, codes, _ = model(batch)
        loss_cls = retinanet_classification_loss(logits, matched)
        loss_box = retinanet_regression_loss(codes, targets, matched)
        loss = loss_cls + loss_box
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        value = float(loss.detach())
        loss_ema = value if loss_ema is None else 0.99 * loss_ema + 0.01 * value
        if step % 500 == 0:
            log(f"step {step}  {time.perf_counter() - t_train:6.0f} s  lr {lr:.5f}  loss {loss_ema:.4f}")
    model.eval()
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": config, "state_dict": state, "steps": step, "seed": seed}, out)
    _LOADED.clear()
    figures = {"steps": step, "images_seen": step * _BATCH_SIZE,
               "seconds": round(time.perf_counter() - t_start, 1), "final_loss": round(loss_ema or 0.0, 4)}
    log(f"saved {out}: {figures}")
    return figures
    # END SOLUTION
