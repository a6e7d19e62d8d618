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

__all__ = ["mask_targets", "maskrcnn_mask_loss", "paste_masks"]


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
    raise NotImplementedError("mask_targets: implement me (see README.md, section `mask_targets`)")


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
    raise NotImplementedError("maskrcnn_mask_loss: implement me (see README.md, section `mask_loss`)")


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
    raise NotImplementedError("paste_masks: implement me (see README.md, section `paste_masks`)")
