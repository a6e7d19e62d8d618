"""Mask R-CNN's mask head: mask targets, the mask loss and pasting masks into the image.

Conventions (torchvision's Mask R-CNN, see README.md, section `mask_targets`):

* boxes are ``(x1, y1, x2, y2)`` floats in image pixels, no +1;
* mask targets are RoI Align with ``aligned=False`` (no half-pixel shift, RoI sides at least 1
  pixel), adaptive sampling (``ceil(roi_side / M)`` samples per bin and axis) and *soft* values
  (the average of bilinear samples of the 0/1 mask, not thresholded);
* the loss is binary cross-entropy with logits on the ground-truth class's channel only;
* pasting expands each box and mask by ``padding`` cells, rounds the box to integers (towards 0)
  and resizes the mask bilinearly (``align_corners=False``) to ``x2 - x1 + 1`` by ``y2 - y1 + 1``
  pixels.
"""

from __future__ import annotations


import torch

# BEGIN SOLUTION
import math
import torch.nn.functional as F
from ._checks import check_shape, check_tensor
# END SOLUTION

__all__ = ["mask_targets", "maskrcnn_mask_loss", "paste_masks"]


# BEGIN SOLUTION
def _axis_weights(starts: torch.Tensor, bin_size: float, bins: int, grid: int, size: int) -> torch.Tensor:
    """Bilinear weights ``[bins, size]`` of one axis: bin ``b`` averages ``grid`` samples at
    ``start + b * bin + (g + 0.5) * bin / grid``; torchvision's border rules (a sample below -1
    or above ``size`` contributes 0; samples in [-1, 0] read pixel 0; beyond size-1 read size-1)."""
    dtype, device = starts.dtype, starts.device
    b = torch.arange(bins, dtype=dtype, device=device)[:, None]  # [bins, 1]
    g = torch.arange(grid, dtype=dtype, device=device)[None, :]  # [1, grid]
    pos = (starts + b * bin_size + (g + 0.5) * bin_size / grid).reshape(-1)  # [bins * grid]
    valid = (pos >= -1.0) & (pos <= size)
    pos = pos.clamp(min=0.0)
    low = pos.floor().long().clamp(max=size - 1)
    at_end = low >= size - 1
    high = torch.where(at_end, low, low + 1)
    pos = torch.where(at_end, low.to(dtype), pos)
    frac = pos - low.to(dtype)
    weights = torch.zeros(pos.shape[0], size, dtype=dtype, device=device)  # [bins * grid, size]
    rows = torch.arange(pos.shape[0], device=device)
    weights.index_put_((rows, low), (1.0 - frac) * valid, accumulate=True)
    weights.index_put_((rows, high), frac * valid, accumulate=True)
    return weights.view(bins, grid, size).mean(dim=1)  # [bins, size]
# END SOLUTION


def mask_targets(
    gt_masks: torch.Tensor, boxes: torch.Tensor, matched_idxs: torch.Tensor, mask_size: int
) -> torch.Tensor:
    """Mask R-CNN mask targets: each box's matched ground-truth mask cropped and resized to
    ``mask_size x mask_size`` by RoI Align (``aligned=False``, adaptive sampling, soft values).

    Equal to torchvision's ``project_masks_on_boxes(gt_masks, boxes, matched_idxs, M)``.

    Args:
        gt_masks (Tensor[G, H, W]): ground-truth masks (bool, uint8 or float 0/1).
        boxes (Tensor[N, 4]): float ``(x1, y1, x2, y2)`` proposals in image pixels.
        matched_idxs (Tensor[N]): int64, index into ``gt_masks`` of each box's ground truth.
        mask_size (int): M >= 1.

    Returns:
        Tensor[N, M, M]: soft targets in [0, 1], dtype of ``boxes``; ``[0, M, M]`` for no boxes.

    Raises:
        TypeError: ``boxes`` not floating-point, ``matched_idxs`` not integer.
        ValueError: wrong shapes, ``mask_size < 1``, an index out of range (outside ``[0, G)``:
            a negative index is out of range, not counted from the end).
    """
    # BEGIN SOLUTION
    check_tensor("gt_masks", gt_masks, dims=3)
    check_tensor("boxes", boxes, floating=True)
    check_shape("boxes", boxes, (None, 4))
    check_tensor("matched_idxs", matched_idxs)
    if matched_idxs.is_floating_point():
        raise TypeError(f"matched_idxs must be an integer tensor, got dtype {matched_idxs.dtype}")
    check_shape("matched_idxs", matched_idxs, (boxes.shape[0],))
    if type(mask_size) is not int or mask_size < 1:
        raise ValueError(f"mask_size must be an int >= 1, got {mask_size!r}")
    n = boxes.shape[0]
    if n and (int(matched_idxs.min()) < 0 or int(matched_idxs.max()) >= gt_masks.shape[0]):
        raise ValueError(f"matched_idxs must lie in [0, {gt_masks.shape[0]}), got values "
                         f"{int(matched_idxs.min())}..{int(matched_idxs.max())}")
    dtype, height, width = boxes.dtype, gt_masks.shape[1], gt_masks.shape[2]
    out = boxes.new_zeros(n, mask_size, mask_size)  # [N, M, M]
    masks = gt_masks.to(dtype)
    for i in range(n):
        x1, y1, x2, y2 = boxes[i].tolist()
        roi_w, roi_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        grid_w, grid_h = math.ceil(roi_w / mask_size), math.ceil(roi_h / mask_size)
        wy = _axis_weights(boxes[i, 1], roi_h / mask_size, mask_size, grid_h, height)  # [M, H]
        wx = _axis_weights(boxes[i, 0], roi_w / mask_size, mask_size, grid_w, width)  # [M, W]
        out[i] = wy @ masks[matched_idxs[i]] @ wx.T
    return out
    # END SOLUTION


def maskrcnn_mask_loss(
    mask_logits: torch.Tensor,
    proposals: list[torch.Tensor],
    gt_masks: list[torch.Tensor],
    gt_labels: list[torch.Tensor],
    matched_idxs: list[torch.Tensor],
) -> torch.Tensor:
    """The Mask R-CNN mask loss: mean binary cross-entropy with logits between the logits of
    each positive proposal's *ground-truth class* channel and its mask target.

    Equal to torchvision's ``maskrcnn_loss``. Proposals of all images are concatenated in image
    order (the rows of ``mask_logits``). With no proposal at all the loss is
    ``mask_logits.sum() * 0`` (a zero that keeps the graph).

    Args:
        mask_logits (Tensor[P, C, M, M]): per-class mask logits of the P positive proposals.
        proposals (list[Tensor[P_i, 4]]): per image, the boxes ``(x1, y1, x2, y2)``.
        gt_masks (list[Tensor[G_i, H_i, W_i]]): per image, the ground-truth masks.
        gt_labels (list[Tensor[G_i]]): per image, int64 classes in [0, C).
        matched_idxs (list[Tensor[P_i]]): per image, the ground truth of each proposal.

    Returns:
        Tensor[]: the scalar loss, dtype of ``mask_logits``.

    Raises:
        TypeError / ValueError: as :func:`mask_targets` for each image (``matched_idxs`` values
            in ``[0, G_i)``), or ``mask_logits`` not ``[P, C, M, M]``.
    """
    # BEGIN SOLUTION
    check_tensor("mask_logits", mask_logits, dims=4, floating=True)
    if not (len(proposals) == len(gt_masks) == len(gt_labels) == len(matched_idxs)):
        raise ValueError(f"proposals, gt_masks, gt_labels and matched_idxs must have one entry per image, got "
                         f"{len(proposals)}, {len(gt_masks)}, {len(gt_labels)} and {len(matched_idxs)}")
    total = sum(int(p.shape[0]) for p in proposals)
    if total != mask_logits.shape[0]:
        raise ValueError(f"mask_logits must have one row per proposal ({total}), got {list(mask_logits.shape)}")
    m = mask_logits.shape[-1]
    if total == 0:
        return mask_logits.sum() * 0
    labels = torch.cat([lab[idx] for lab, idx in zip(gt_labels, matched_idxs)])  # [P]
    targets = torch.cat([mask_targets(gm, p.to(mask_logits.dtype), idx, m)
                         for gm, p, idx in zip(gt_masks, proposals, matched_idxs)])  # [P, M, M]
    chosen = mask_logits[torch.arange(total, device=mask_logits.device), labels]  # [P, M, M]
    return F.binary_cross_entropy_with_logits(chosen, targets)
    # END SOLUTION


def paste_masks(
    masks: torch.Tensor, boxes: torch.Tensor, image_size: tuple[int, int], padding: int = 1
) -> torch.Tensor:
    """Paste ``M x M`` masks (probabilities) back into the image, inside their boxes.

    Equal to torchvision's ``paste_masks_in_image(masks[:, None], boxes, image_size,
    padding)[:, 0]``: each mask is padded by ``padding`` zero cells and its box scaled about
    its centre by ``(M + 2 padding) / M``; the scaled box is cast to int64 (truncation towards
    0); the padded mask is resized bilinearly (``align_corners=False``) to
    ``max(x2 - x1 + 1, 1)`` by ``max(y2 - y1 + 1, 1)`` pixels and written at ``(x1, y1)``,
    clipped to the image. Pixels outside every box are 0.

    Args:
        masks (Tensor[N, M, M]): float mask probabilities.
        boxes (Tensor[N, 4]): float ``(x1, y1, x2, y2)`` in image pixels.
        image_size (tuple[int, int]): ``(H, W)``, ints >= 1.
        padding (int): cells of zero padding, >= 0.

    Returns:
        Tensor[N, H, W]: dtype of ``masks``; ``[0, H, W]`` for no masks.

    Raises:
        TypeError: ``masks`` or ``boxes`` not floating point. ValueError: ``masks`` not 3-d, ``boxes`` not ``[N, 4]``,
            ``image_size`` not two ints >= 1 (an empty image too), ``padding`` not an int >= 0.
    """
    # BEGIN SOLUTION
    check_tensor("masks", masks, dims=3, floating=True)
    check_tensor("boxes", boxes, floating=True)
    check_shape("boxes", boxes, (masks.shape[0], 4))
    if len(image_size) != 2 or any(type(s) is not int or s < 1 for s in image_size):
        raise ValueError(f"image_size must be (H, W) with positive ints, got {image_size!r}")
    if type(padding) is not int or padding < 0:
        raise ValueError(f"padding must be an int >= 0, got {padding!r}")
    im_h, im_w = image_size
    n, m = masks.shape[0], masks.shape[-1]
    out = masks.new_zeros(n, im_h, im_w)  # [N, H, W]
    if n == 0:
        return out
    scale = (m + 2 * padding) / m
    padded = F.pad(masks, (padding,) * 4)  # [N, M + 2p, M + 2p]
    centre = (boxes[:, :2] + boxes[:, 2:]) * 0.5  # [N, 2]
    half = (boxes[:, 2:] - boxes[:, :2]) * 0.5 * scale  # [N, 2]
    ints = torch.cat([centre - half, centre + half], dim=1).to(torch.int64)  # [N, 4]
    for i, (x1, y1, x2, y2) in enumerate(ints.tolist()):
        w, h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
        resized = F.interpolate(padded[i][None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
        xa, xb = max(x1, 0), min(x2 + 1, im_w)
        ya, yb = max(y1, 0), min(y2 + 1, im_h)
        if xa < xb and ya < yb:
            out[i, ya:yb, xa:xb] = resized[ya - y1:yb - y1, xa - x1:xb - x1]
    return out
    # END SOLUTION
