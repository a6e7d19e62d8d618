"""The accuracy check of the instance assignment (trusted side; never enters the sandbox).

What is graded is the student's *inference code* (``predict_panoptic``: sigmoid, pasting,
thresholding, semantic argmax, the merging heuristic), not a trained model. ``holdout()`` makes
held-out synthetic panoptic scenes (cv3data.panoptic, seed from the course key) and, from their
ground truth, the raw outputs a Mask R-CNN + semantic head would give, by a fixed noisy "oracle
detector": for each object a detection with a jittered box and 28 x 28 mask logits (the RoI
Align target of its mask, scaled, plus Gaussian noise), some duplicates with lower scores, some
missed objects, false positives with low scores, and semantic logits (one-hot plus smoothed
noise). Only these raw outputs enter the sandbox. ``score`` validates what ``predict_panoptic``
returned and computes PQ (harness/metrics/panoptic.py, COCO panopticapi convention) and, for
the details, mask AP (pycocotools ``COCOeval`` with ``iouType="segm"`` on RLE masks).

Every malformed output raises ``ValueError`` naming the image and the problem.
"""

from __future__ import annotations

import base64
import contextlib
import io
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.detection.roi_heads import project_masks_on_boxes

from cv3data.panoptic import PANOPTIC_CATEGORIES, STUFF_IDS, THING_IDS, instance_targets, make_panoptic_scenes, \
    panoptic_pairs
from harness.metrics.panoptic import panoptic_quality
from harness.secret import heldout_seed
from harness.reports.png import png_rgb

__all__ = ["HOLDOUT_IMAGES", "BATCH_SIZE", "PREDICT_KWARGS", "holdout_scenes", "oracle_outputs", "holdout",
           "score", "validate", "evaluate"]

HOLDOUT_NAME = "instance"
HOLDOUT_IMAGES = 64
BATCH_SIZE = 8
MASK_SIZE = 28
# Panoptic FPN's defaults except the stuff area: 4096 pixels is for ~800 x 1333 COCO images;
# these are 64 x 64, so 32 pixels (the same fraction of the image would be ~16).
PREDICT_KWARGS = {"mask_threshold": 0.5, "overlap_threshold": 0.5, "stuff_area_threshold": 32,
                  "score_threshold": 0.5}
EXAMPLES = 4
_CATEGORY_IDS = {c["id"] for c in PANOPTIC_CATEGORIES}


def holdout_scenes(seed: int | None = None) -> list[dict]:
    """The held-out scenes (course key's seed for ``HOLDOUT_NAME`` unless ``seed`` is given)."""
    return make_panoptic_scenes(HOLDOUT_IMAGES, seed=heldout_seed(HOLDOUT_NAME) if seed is None else seed)


def oracle_outputs(scene: dict, gen: torch.Generator) -> dict:
    """The noisy raw head outputs of one scene (see the module's docstring)."""
    ids, segments = scene["segment_ids"], scene["segments"]
    t = instance_targets(ids, segments)
    h, w = ids.shape
    boxes, labels, scores, logits = [], [], [], []

    def rnd(*shape):
        return torch.rand(*shape, generator=gen)

    def add(box, g, label, score, jitter):
        box = (box + torch.randn(4, generator=gen) * jitter).clamp(min=0)
        box[0::2] = box[0::2].clamp(max=w - 1)
        box[1::2] = box[1::2].clamp(max=h - 1)
        box[2:] = torch.maximum(box[2:], box[:2] + 1)
        target = project_masks_on_boxes(t["masks"], box[None], torch.tensor([g]), MASK_SIZE)[0]
        boxes.append(box)
        labels.append(label)
        scores.append(score)
        logits.append(8.0 * (target - 0.5) + torch.randn(MASK_SIZE, MASK_SIZE, generator=gen) * 1.5)

    for g in range(t["masks"].shape[0]):
        label = int(t["labels"][g])
        if float(rnd(1)) < 0.05:
            label = int(THING_IDS[int(torch.randint(0, len(THING_IDS), (1,), generator=gen))])
        if float(rnd(1)) < 0.92:
            s = 0.6 + 0.38 * float(rnd(1))
            add(t["boxes"][g].clone(), g, label, s, 0.8)
            if float(rnd(1)) < 0.35:  # a duplicate, lower score
                add(t["boxes"][g].clone(), g, label, s * (0.6 + 0.35 * float(rnd(1))), 2.5)
    for _ in range(int(torch.randint(0, 3, (1,), generator=gen))):  # false positives
        xy = rnd(2) * torch.tensor([w - 16.0, h - 16.0])
        box = torch.cat([xy, xy + 6 + rnd(2) * 10])
        blob = F.interpolate(torch.randn(1, 1, 4, 4, generator=gen), size=(MASK_SIZE, MASK_SIZE), mode="bilinear",
                             align_corners=False)[0, 0]
        boxes.append(box)
        labels.append(int(THING_IDS[int(torch.randint(0, len(THING_IDS), (1,), generator=gen))]))
        scores.append(0.05 + 0.6 * float(rnd(1)))
        logits.append(blob * 4)
    # semantic logits: channel 0 = things / other, 1.. = STUFF_IDS
    sem = t["semantic"]
    channel = torch.zeros_like(sem)
    for k, s in enumerate(STUFF_IDS):
        channel[sem == s] = k + 1
    onehot = F.one_hot(channel, 1 + len(STUFF_IDS)).permute(2, 0, 1).float() * 3.0
    noise = F.avg_pool2d(torch.randn(1, 1 + len(STUFF_IDS), h, w, generator=gen) * 4.0, 3, 1, 1)[0]
    n = len(boxes)
    return {"mask_logits": torch.stack(logits) if n else torch.zeros(0, MASK_SIZE, MASK_SIZE),
            "boxes": torch.stack(boxes) if n else torch.zeros(0, 4),
            "scores": torch.tensor(scores, dtype=torch.float32),
            "labels": torch.tensor(labels, dtype=torch.int64),
            "semantic_logits": (onehot + noise).contiguous(),
            "stuff_ids": torch.tensor(STUFF_IDS, dtype=torch.int64)}


def holdout(seed: int | None = None) -> tuple[list[tuple[list, dict]], dict]:
    """``calls``: batches of ``BATCH_SIZE`` raw outputs for ``predict_panoptic(outputs,
    **PREDICT_KWARGS)``; ``targets``: the scenes (ground truth and pixels, trusted)."""
    scenes = holdout_scenes(seed)
    gen = torch.Generator().manual_seed((heldout_seed(HOLDOUT_NAME) if seed is None else seed) % (2 ** 63) + 1)
    outs = [oracle_outputs(s, gen) for s in scenes]
    calls = [([outs[i:i + BATCH_SIZE]], dict(PREDICT_KWARGS)) for i in range(0, len(outs), BATCH_SIZE)]
    return calls, {"scenes": scenes, "num_instances": [int(o["scores"].numel()) for o in outs]}


# ---------------------------------------------------------------------------------- validation
def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"a Tensor{list(x.shape)} of {str(x.dtype).removeprefix('torch.')}"
    return f"a {type(x).__name__}"


def _tensor(where: str, d: dict, key: str, dtype: torch.dtype, shape: tuple) -> torch.Tensor:
    if key not in d:
        raise ValueError(f"{where}: the dict lacks '{key}'")
    t = d[key]
    if type(t) is not torch.Tensor:
        raise ValueError(f"{where}: '{key}' must be a plain torch.Tensor, got {_describe(t)}")
    if t.dtype != dtype:
        raise ValueError(f"{where}: '{key}' must have dtype {str(dtype).removeprefix('torch.')}, got {_describe(t)}")
    if t.dim() != len(shape) or any(s is not None and s != d_ for s, d_ in zip(shape, t.shape)):
        raise ValueError(f"{where}: '{key}' must have shape {[('*' if s is None else s) for s in shape]}, "
                         f"got {list(t.shape)}")
    return t.detach().cpu()


def _check_image(i: int, res: Any, h: int, w: int, n: int) -> dict:
    where = f"image {i}"
    if type(res) is not dict:
        raise ValueError(f"{where}: expected a dict, got {_describe(res)}")
    masks = _tensor(where, res, "masks", torch.bool, (n, h, w))
    scores = _tensor(where, res, "scores", torch.float32, (n,))
    labels = _tensor(where, res, "labels", torch.int64, (n,))
    pan = _tensor(where, res, "panoptic", torch.int64, (h, w))
    cats = _tensor(where, res, "segment_categories", torch.int64, (None,))
    isthing = _tensor(where, res, "segment_isthing", torch.bool, (cats.shape[0],))
    if not bool(torch.isfinite(scores).all()):
        raise ValueError(f"{where}: 'scores' holds nan or inf")
    if n and not set(labels.tolist()) <= set(THING_IDS):
        raise ValueError(f"{where}: 'labels' must be thing category ids {list(THING_IDS)}")
    s = cats.shape[0]
    if int(pan.min()) < 0 or int(pan.max()) > s:
        raise ValueError(f"{where}: 'panoptic' must hold segment ids in [0, {s}], got "
                         f"{int(pan.min())}..{int(pan.max())}")
    for j, (c, th) in enumerate(zip(cats.tolist(), isthing.tolist())):
        if c not in _CATEGORY_IDS or (c in THING_IDS) != th:
            raise ValueError(f"{where}: segment {j + 1} has category {c} and isthing {th}; allowed: things "
                             f"{list(THING_IDS)} (isthing True), stuff {list(STUFF_IDS)} (isthing False)")
    return {"masks": masks, "scores": scores, "labels": labels, "panoptic": pan, "cats": cats, "isthing": isthing}


def validate(outputs: Any, targets: dict) -> list[dict]:
    """Per-image results (CPU tensors) from the raw outputs of the ``predict_panoptic`` calls, or
    ``ValueError`` naming the image and the problem."""
    scenes, counts = targets["scenes"], targets["num_instances"]
    if type(outputs) is not list:
        raise ValueError(f"expected one result per call, got {_describe(outputs)}")
    flat: list[Any] = []
    try:
        for b, batch in enumerate(outputs):
            expected = min(BATCH_SIZE, len(scenes) - len(flat))
            if type(batch) is not list or len(batch) != expected:
                raise ValueError(f"call {b}: predict_panoptic must return a list of {expected} dicts, got "
                                 f"{_describe(batch)}" + (f" of length {len(batch)}" if type(batch) is list else ""))
            flat.extend(batch)
        if len(flat) != len(scenes):
            raise ValueError(f"predict_panoptic returned {len(flat)} results for {len(scenes)} images")
        return [_check_image(i, r, *scenes[i]["segment_ids"].shape, counts[i]) for i, r in enumerate(flat)]
    except ValueError:
        raise
    except Exception as e:  # noqa: BLE001 - hostile objects must not crash the scorer
        raise ValueError(f"the output of predict_panoptic could not be read: {type(e).__name__}: "
                         f"{str(e)[:200]}") from None


# ---------------------------------------------------------------------------------- metrics
def _pred_pairs(r: dict) -> torch.Tensor:
    pan, cats, isthing = r["panoptic"], r["cats"], r["isthing"]
    lookup_c = torch.cat([torch.zeros(1, dtype=torch.int64), cats])
    lookup_t = torch.cat([torch.zeros(1, dtype=torch.bool), isthing])
    cat = lookup_c[pan]
    inst = torch.where(lookup_t[pan], pan, torch.zeros_like(pan))
    return torch.stack([cat, inst], dim=-1)


def _mask_ap(results: list[dict], scenes: list[dict]) -> dict:
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def rle(m: torch.Tensor) -> dict:
        r = mask_utils.encode(np.asfortranarray(m.numpy().astype(np.uint8)))
        r["counts"] = r["counts"].decode("ascii")
        return r

    images, anns, dets = [], [], []
    for i, (res, scene) in enumerate(zip(results, scenes)):
        h, w = scene["segment_ids"].shape
        images.append({"id": i + 1, "height": int(h), "width": int(w)})
        for seg in scene["segments"]:
            if seg["category_id"] in THING_IDS:
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": seg["category_id"],
                             "segmentation": rle(scene["segment_ids"] == seg["id"]), "area": seg["area"],
                             "bbox": seg["bbox"], "iscrowd": 0})
        for m, s, c in zip(res["masks"], res["scores"].tolist(), res["labels"].tolist()):
            dets.append({"image_id": i + 1, "category_id": int(c), "segmentation": rle(m), "score": float(s)})
    if not dets:
        return {"mask_AP": 0.0, "mask_AP50": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [c for c in PANOPTIC_CATEGORIES if c["id"] in THING_IDS]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), iouType="segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"mask_AP": float(ev.stats[0]), "mask_AP50": float(ev.stats[1])}


def evaluate(results: list[dict], scenes: list[dict]) -> dict:
    """PQ (panopticapi convention), per-class PQ and mask AP of validated per-image results."""
    preds = torch.stack([_pred_pairs(r) for r in results])
    target_pairs, crowd = zip(*(panoptic_pairs(s["segment_ids"], s["segments"]) for s in scenes))
    pq = panoptic_quality(preds, torch.stack(target_pairs), THING_IDS, STUFF_IDS, crowd=torch.stack(crowd))
    return {**pq, **_mask_ap(results, scenes)}


def score(outputs: list, targets: dict) -> tuple[float, dict]:
    """``(PQ, details)`` of the outputs of the ``predict_panoptic`` calls of :func:`holdout`.

    Raises:
        ValueError: the outputs are malformed (the message names the image and the problem).
    """
    scenes = targets["scenes"]
    results = validate(outputs, targets)
    m = evaluate(results, scenes)
    names = {c["id"]: c["name"] for c in PANOPTIC_CATEGORIES}
    rows = [[names[c], "thing" if c in THING_IDS else "stuff", round(v["pq"], 4), round(v["sq"], 4),
             round(v["rq"], 4), v["tp"], v["fp"], v["fn"]] for c, v in m["per_class"].items()]
    details = {"PQ": round(m["PQ"], 6), "SQ": round(m["SQ"], 6), "RQ": round(m["RQ"], 6),
               "PQ_things": round(m["PQ_th"], 6), "PQ_stuff": round(m["PQ_st"], 6),
               "mask_AP": round(m["mask_AP"], 6), "mask_AP50": round(m["mask_AP50"], 6), "images": len(results),
               "table": {"columns": ["category", "kind", "PQ", "SQ", "RQ", "TP", "FP", "FN"], "rows": rows},
               "figures": [_overlays(scenes[:EXAMPLES], results[:EXAMPLES])]}
    return m["PQ"], details


# ---------------------------------------------------------------------------------- figures
def _png(rgb: np.ndarray) -> bytes:
    """A PNG file of uint8 ``[H, W, 3]``."""
    return png_rgb(rgb)


def _overlay(image: torch.Tensor, seg: torch.Tensor, cats: list[int]) -> np.ndarray:
    """The image blended with one colour per segment (category colour, shaded per instance)."""
    colours = {c["id"]: np.array(c["color"], dtype=np.float64) for c in PANOPTIC_CATEGORIES}
    img = image.permute(1, 2, 0).numpy().astype(np.float64)
    out = img * 0.35
    seg = seg.numpy()
    for j, c in enumerate(cats, start=1):
        m = seg == j
        shade = 0.65 + 0.35 * ((j * 37) % 7) / 6
        out[m] += 0.65 * colours.get(c, np.array([128.0, 128.0, 128.0])) * shade
    out[seg == 0] = img[seg == 0] * 0.35  # void: dark
    return np.clip(out, 0, 255).astype(np.uint8)


def _tile(rgbs: list[tuple[str, np.ndarray]], title: str) -> str:
    zoom, pad = 3, 4
    h, w = rgbs[0][1].shape[:2]
    width = len(rgbs) * (w * zoom + pad) + pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h * zoom + 36}" '
             f'font-family="sans-serif"><text x="{pad}" y="12" font-size="11">{title}</text>']
    for k, (label, rgb) in enumerate(rgbs):
        x = pad + k * (w * zoom + pad)
        png = base64.b64encode(_png(rgb)).decode("ascii")
        parts.append(f'<text x="{x}" y="28" font-size="10">{label}</text>'
                     f'<image x="{x}" y="32" width="{w * zoom}" height="{h * zoom}" style="image-rendering:pixelated" '
                     f'href="data:image/png;base64,{png}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _overlays(scenes: list[dict], results: list[dict]) -> dict:
    """Panoptic overlays: image, ground truth and prediction for the instructor; image and
    prediction only (``student_tiles``) where the policy shows held-out predictions."""
    tiles, student_tiles = [], []
    for i, (scene, r) in enumerate(zip(scenes, results)):
        image = scene["image"]
        gt_ids = torch.zeros_like(scene["segment_ids"])
        gt_cats = []
        for seg in scene["segments"]:
            gt_cats.append(seg["category_id"])
            gt_ids[scene["segment_ids"] == seg["id"]] = len(gt_cats)
        raw = image.permute(1, 2, 0).numpy().astype(np.uint8)
        pred = _overlay(image, r["panoptic"], r["cats"].tolist())
        tiles.append(_tile([("image", raw), ("ground truth", _overlay(image, gt_ids, gt_cats)), ("prediction", pred)],
                           f"held-out image {i + 1}"))
        student_tiles.append(_tile([("image", raw), ("prediction", pred)], f"held-out image {i + 1}"))
    legend = ("colours by category (" + ", ".join(f"{c['name']}" for c in PANOPTIC_CATEGORIES)
              + "), shaded per instance; void is dark")
    return {"title": f"{len(tiles)} held-out images: panoptic segmentation", "tiles": tiles,
            "student_tiles": student_tiles, "legend": legend}
