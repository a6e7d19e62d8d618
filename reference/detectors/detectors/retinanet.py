"""RetinaNet (Lin et al., 2017): a one-stage detector with dense anchors and the focal loss.

Two small convolutional heads run on every pyramid level: one predicts ``K`` class logits
per anchor (a sigmoid per class, no background class), the other a box regression per anchor.
The focal loss keeps the ~10^4 easy background anchors from swamping the few positives.
"""

from __future__ import annotations

# BEGIN SOLUTION
import math

import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor, nn

# BEGIN SOLUTION
from .boxes import batched_nms, clip_boxes_to_image, decode_boxes
# END SOLUTION

__all__ = [
    "RetinaNetClassificationHead",
    "RetinaNetRegressionHead",
    "retinanet_classification_loss",
    "retinanet_regression_loss",
    "retinanet_postprocess",
]


# BEGIN SOLUTION
def _conv_tower(channels: int, num_convs: int) -> nn.Sequential:
    return nn.Sequential(
        *(
            nn.Sequential(nn.Conv2d(channels, channels, kernel_size=3, padding=1), nn.ReLU(inplace=True))
            for _ in range(num_convs)
        )
    )


def _flatten_level(out: Tensor, per_anchor: int) -> Tensor:
    """[N, A * per_anchor, H, W] -> [N, H * W * A, per_anchor], position-major, anchor-minor."""
    n, _, h, w = out.shape
    return out.view(n, -1, per_anchor, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, per_anchor)
# END SOLUTION


class RetinaNetClassificationHead(nn.Module):
    """The classification subnet, shared by all pyramid levels.

    ``num_convs`` times ``relu(conv3x3)`` with ``in_channels`` channels, then ``cls_logits``, a
    3x3 conv with ``num_anchors * num_classes`` outputs (anchor ``a``, class ``k`` at channel
    ``a * num_classes + k``). Parameters as torchvision's ``RetinaNetClassificationHead``
    (``conv.{i}.0.weight`` / ``.bias``, ``cls_logits.weight`` / ``.bias``; torchvision has
    ``num_convs = 4``). Initialisation: every weight ``normal_(std=0.01)``, conv biases 0 and
    the ``cls_logits`` bias ``-log((1 - prior_probability) / prior_probability)`` so that every
    anchor starts with probability ``prior_probability`` for every class.

    Args:
        in_channels (int): channels of the feature maps.
        num_anchors (int): anchors per position ``A``.
        num_classes (int): ``K``, the number of object classes (no background).
        prior_probability (float): initial foreground probability.
        num_convs (int): depth of the conv tower.
    """

    def __init__(
        self,
        in_channels: int,
        num_anchors: int,
        num_classes: int,
        prior_probability: float = 0.01,
        num_convs: int = 4,
    ) -> None:
        super().__init__()
        # BEGIN SOLUTION
        self.conv = _conv_tower(in_channels, num_convs)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability) / prior_probability))
        self.num_classes = num_classes
        # END SOLUTION

    def forward(self, x: list[Tensor]) -> Tensor:
        """Class logits of every anchor of every level.

        Args:
            x (list[Tensor[N, in_channels, H_l, W_l]]): the feature maps.

        Returns:
            Tensor[N, sum_l H_l W_l A, num_classes]: logits, level after level; within a
            level position-major (row, then column), anchor-minor.
        """
        # BEGIN SOLUTION
        return torch.cat([_flatten_level(self.cls_logits(self.conv(f)), self.num_classes) for f in x], dim=1)
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict); returns nothing.

        The module first moves to the device of the state dict's tensors (CUDA tensors give a
        module on the GPU).

        Args:
            state_dict (dict[str, Tensor]): e.g. torchvision's ``RetinaNetClassificationHead(...).state_dict()``.

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


class RetinaNetRegressionHead(nn.Module):
    """The box regression subnet, shared by all pyramid levels.

    ``num_convs`` times ``relu(conv3x3)``, then ``bbox_reg``, a 3x3 conv with
    ``4 * num_anchors`` outputs. Parameters as torchvision's ``RetinaNetRegressionHead``
    (``conv.{i}.0.weight`` / ``.bias``, ``bbox_reg.weight`` / ``.bias``); every weight
    ``normal_(std=0.01)``, every bias 0.

    Args:
        in_channels (int): channels of the feature maps.
        num_anchors (int): anchors per position ``A``.
        num_convs (int): depth of the conv tower.
    """

    def __init__(self, in_channels: int, num_anchors: int, num_convs: int = 4) -> None:
        super().__init__()
        # BEGIN SOLUTION
        self.conv = _conv_tower(in_channels, num_convs)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        # END SOLUTION

    def forward(self, x: list[Tensor]) -> Tensor:
        """Regression codes of every anchor of every level.

        Args:
            x (list[Tensor[N, in_channels, H_l, W_l]]): the feature maps.

        Returns:
            Tensor[N, sum_l H_l W_l A, 4]: (t_x, t_y, t_w, t_h), in the anchors' order.
        """
        # BEGIN SOLUTION
        return torch.cat([_flatten_level(self.bbox_reg(self.conv(f)), 4) for f in x], dim=1)
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict); returns nothing.

        The module first moves to the device of the state dict's tensors (CUDA tensors give a
        module on the GPU).

        Args:
            state_dict (dict[str, Tensor]): e.g. torchvision's ``RetinaNetRegressionHead(...).state_dict()``.

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


# BEGIN SOLUTION
def _check_matched(name: str, matched: object, shape: tuple[int, ...]) -> None:
    if not isinstance(matched, Tensor) or tuple(matched.shape) != shape:
        raise ValueError(f"{name} must have shape {list(shape)}, got {getattr(matched, 'shape', matched)!r}")
    if matched.dtype.is_floating_point or matched.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor, got dtype {matched.dtype}")
# END SOLUTION


def retinanet_classification_loss(
    cls_logits: Tensor, matched_labels: Tensor, alpha: float = 0.25, gamma: float = 2.0
) -> Tensor:
    """The focal classification loss of a batch (as torchvision's ``RetinaNetClassificationHead.compute_loss``).

    ``matched_labels[n, a]`` is the class (0-based column of ``cls_logits``) of the ground
    truth anchor ``a`` matches, -1 for background and -2 for an ignored anchor (IoU between
    the thresholds). The one-hot target ``y[n, a, k] = 1`` iff ``k == matched_labels[n, a] >= 0``.
    For image ``n``, summing over non-ignored anchors and all classes,

    ``FL(p, y) = -alpha_t (1 - p_t)^gamma log(p_t)``, ``p = sigmoid(logit)``,
    ``p_t = p y + (1 - p)(1 - y)``, ``alpha_t = alpha y + (1 - alpha)(1 - y)``,

    ``loss_n = sum FL / max(1, number of foreground anchors of n)``, and the result is the mean
    of ``loss_n`` over the ``N`` images.

    Args:
        cls_logits (Tensor[N, A, K]): class logits.
        matched_labels (Tensor[N, A] int64): class index, -1 (background) or -2 (ignored).
        alpha (float): weight of the positives; a negative value disables the weighting
            (``alpha_t = 1``), as in torchvision's ``sigmoid_focal_loss`` and the `detection` assignment.
        gamma (float): focusing parameter.

    Returns:
        Tensor: scalar loss, differentiable with respect to ``cls_logits``.

    Raises:
        ValueError: if the shapes do not match or ``matched_labels`` is not an integer tensor.
    """
    # BEGIN SOLUTION
    if not isinstance(cls_logits, Tensor) or cls_logits.dim() != 3:
        raise ValueError(f"cls_logits must be a Tensor[N, A, K], got {getattr(cls_logits, 'shape', cls_logits)!r}")
    n, a, k = cls_logits.shape
    _check_matched("matched_labels", matched_labels, (n, a))
    matched = matched_labels.long()
    foreground = matched >= 0  # [N, A]
    target = F.one_hot(matched.clamp(min=0), k).to(cls_logits.dtype) * foreground[..., None]  # [N, A, K]
    p = torch.sigmoid(cls_logits)
    ce = F.binary_cross_entropy_with_logits(cls_logits, target, reduction="none")  # [N, A, K]
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    valid = (matched != -2).to(cls_logits.dtype)  # [N, A]
    per_image = (loss.sum(-1) * valid).sum(-1) / foreground.sum(-1).clamp(min=1)  # [N]
    return per_image.sum() / max(n, 1)
    # END SOLUTION


def retinanet_regression_loss(
    bbox_regression: Tensor, regression_targets: Tensor, matched_labels: Tensor
) -> Tensor:
    """The L1 box loss of a batch (as torchvision's ``RetinaNetRegressionHead.compute_loss``).

    For image ``n``: ``loss_n = sum over foreground anchors (matched_labels >= 0) of
    |bbox_regression - regression_targets|_1 / max(1, number of foreground anchors)``; the
    result is the mean over the ``N`` images. ``regression_targets`` are the matched ground
    truth boxes encoded against the anchors (weights (1, 1, 1, 1)); other rows are ignored.

    Args:
        bbox_regression (Tensor[N, A, 4]): predicted codes.
        regression_targets (Tensor[N, A, 4]): target codes.
        matched_labels (Tensor[N, A] int64): class index, -1 (background) or -2 (ignored).

    Returns:
        Tensor: scalar loss in the dtype of ``bbox_regression`` (``regression_targets`` of another
        float dtype are cast to it first), differentiable with respect to ``bbox_regression``.

    Raises:
        ValueError: if the shapes do not match or ``matched_labels`` is not an integer tensor.
    """
    # BEGIN SOLUTION
    if not isinstance(bbox_regression, Tensor) or bbox_regression.dim() != 3 or bbox_regression.shape[2] != 4:
        raise ValueError(f"bbox_regression must be a Tensor[N, A, 4], got "
                         f"{getattr(bbox_regression, 'shape', bbox_regression)!r}")
    n, a, _ = bbox_regression.shape
    if not isinstance(regression_targets, Tensor) or tuple(regression_targets.shape) != (n, a, 4):
        raise ValueError(f"regression_targets must have shape {[n, a, 4]}, got "
                         f"{getattr(regression_targets, 'shape', regression_targets)!r}")
    _check_matched("matched_labels", matched_labels, (n, a))
    foreground = matched_labels >= 0  # [N, A]
    diff = (bbox_regression - regression_targets.to(bbox_regression.dtype)).abs().sum(-1)  # [N, A]
    diff = torch.where(foreground, diff, torch.zeros_like(diff))
    per_image = diff.sum(-1) / foreground.sum(-1).clamp(min=1)  # [N]
    return per_image.sum() / max(n, 1)
    # END SOLUTION


def retinanet_postprocess(
    cls_logits: list[Tensor],
    bbox_regression: list[Tensor],
    anchors: list[Tensor],
    image_size: tuple[int, int],
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 300,
    topk_candidates: int = 1000,
) -> tuple[Tensor, Tensor, Tensor]:
    """Final detections of one image (as torchvision's ``RetinaNet.postprocess_detections``).

    Per level ``l``, with ``A_l`` anchors and ``K`` classes:

    1. scores ``sigmoid(cls_logits[l])`` flattened anchor-major (candidate ``i`` is anchor
       ``i // K``, class ``i % K``); keep those ``> score_thresh``;
    2. keep the ``min(topk_candidates, remaining)`` best (``topk``, by decreasing score);
    3. decode their anchors' regression with :func:`decode_boxes` (weights (1, 1, 1, 1)) and
       clip to the image.

    Then over all levels together: NMS per class (``batched_nms`` with the class as the
    category), ``nms_thresh``, and keep the ``detections_per_img`` best.

    Args:
        cls_logits (list[Tensor[A_l, K]]): class logits per level.
        bbox_regression (list[Tensor[A_l, 4]]): regression codes per level.
        anchors (list[Tensor[A_l, 4]]): anchors per level, (x1, y1, x2, y2).
        image_size (tuple[int, int]): (height, width) of the image.
        score_thresh (float): scores must exceed this.
        nms_thresh (float): IoU threshold of the per-class NMS.
        detections_per_img (int): detections returned at most.
        topk_candidates (int): candidates kept per level before NMS.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``boxes`` (``Tensor[D, 4]``), ``scores`` (``Tensor[D]``)
        and ``labels`` (``Tensor[D]`` int64 class indices in ``[0, K)``), by decreasing score.

    Raises:
        ValueError: if the lists differ in length or the shapes of a level do not match.
    """
    # BEGIN SOLUTION
    if not (len(cls_logits) == len(bbox_regression) == len(anchors)) or len(anchors) == 0:
        raise ValueError(
            f"cls_logits, bbox_regression and anchors must be non-empty lists of the same length, got "
            f"{len(cls_logits)}, {len(bbox_regression)} and {len(anchors)}"
        )
    all_boxes, all_scores, all_labels = [], [], []
    for level, (logits, codes, anchor) in enumerate(zip(cls_logits, bbox_regression, anchors, strict=True)):
        if logits.dim() != 2 or codes.shape != (logits.shape[0], 4) or anchor.shape != (logits.shape[0], 4):
            raise ValueError(
                f"level {level}: expected cls_logits [A, K], bbox_regression [A, 4] and anchors [A, 4], got "
                f"{list(logits.shape)}, {list(codes.shape)} and {list(anchor.shape)}"
            )
        num_classes = logits.shape[1]
        scores = torch.sigmoid(logits).flatten()  # [A*K]
        candidates = torch.nonzero(scores > score_thresh).flatten()  # [M]
        scores = scores[candidates]
        scores, order = scores.topk(min(int(topk_candidates), candidates.numel()))
        candidates = candidates[order]
        anchor_idx = torch.div(candidates, num_classes, rounding_mode="floor")
        labels = candidates % num_classes
        boxes = decode_boxes(codes[anchor_idx], anchor[anchor_idx])
        all_boxes.append(clip_boxes_to_image(boxes, image_size))
        all_scores.append(scores)
        all_labels.append(labels)
    boxes = torch.cat(all_boxes)
    scores = torch.cat(all_scores)
    labels = torch.cat(all_labels)
    keep = batched_nms(boxes, scores, labels, nms_thresh)[: int(detections_per_img)]
    return boxes[keep], scores[keep], labels[keep]
    # END SOLUTION
