"""Region Proposal Network (Faster R-CNN, Ren et al., 2015): head, proposals and losses.

At every position of every pyramid level the RPN scores ``A`` anchors for "object or not" and
regresses a box offset for each. Proposals are the decoded anchors that survive top-k, clipping,
size filtering and NMS; the second stage classifies them.
"""

from __future__ import annotations

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor, nn

# BEGIN SOLUTION
from .boxes import batched_nms, clip_boxes_to_image, decode_boxes, remove_small_boxes
# END SOLUTION

__all__ = ["RPNHead", "generate_proposals", "rpn_loss"]


class RPNHead(nn.Module):
    """The RPN head shared by all pyramid levels.

    Per level: ``t = relu(conv3x3(x))`` (``conv_depth`` times, ``in_channels`` channels,
    padding 1), then ``objectness = conv1x1(t)`` with ``num_anchors`` channels and
    ``deltas = conv1x1(t)`` with ``4 * num_anchors`` channels (anchor ``a``'s code is channels
    ``4a ... 4a + 3``). Parameters as in ``torchvision.models.detection.rpn.RPNHead``:
    ``conv.{i}.0.weight`` / ``.bias``, ``cls_logits.weight`` / ``.bias``,
    ``bbox_pred.weight`` / ``.bias``; every conv initialised with ``normal_(std=0.01)`` and zero
    bias.

    Args:
        in_channels (int): channels of the feature maps.
        num_anchors (int): anchors per position ``A``.
        conv_depth (int): number of 3x3 conv + ReLU layers.
    """

    def __init__(self, in_channels: int, num_anchors: int, conv_depth: int = 1) -> None:
        super().__init__()
        # BEGIN SOLUTION
        self.conv = nn.Sequential(
            *(
                nn.Sequential(nn.Conv2d(in_channels, in_channels, kernel_size=3, padding=1), nn.ReLU(inplace=True))
                for _ in range(conv_depth)
            )
        )
        self.cls_logits = nn.Conv2d(in_channels, num_anchors, kernel_size=1)
        self.bbox_pred = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        # END SOLUTION

    def forward(self, x: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Apply the head to every level.

        Args:
            x (list[Tensor[N, in_channels, H_l, W_l]]): the feature maps.

        Returns:
            tuple[list[Tensor], list[Tensor]]: ``objectness`` (``Tensor[N, A, H_l, W_l]`` per
            level, logits) and ``deltas`` (``Tensor[N, 4 A, H_l, W_l]`` per level).
        """
        # BEGIN SOLUTION
        logits, deltas = [], []
        for feature in x:
            t = self.conv(feature)
            logits.append(self.cls_logits(t))
            deltas.append(self.bbox_pred(t))
        return logits, deltas
        # END SOLUTION

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict); returns nothing.

        The module first moves to the device of the state dict's tensors (CUDA tensors give a
        module on the GPU).

        Args:
            state_dict (dict[str, Tensor]): e.g. torchvision's ``RPNHead(...).state_dict()``.

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


def generate_proposals(
    objectness: Tensor,
    deltas: Tensor,
    anchors: Tensor,
    image_size: tuple[int, int],
    pre_nms_top_n: int,
    post_nms_top_n: int,
    nms_thresh: float,
    min_size: float,
    num_anchors_per_level: list[int] | None = None,
    score_thresh: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """Proposals of one image from the RPN outputs (torchvision's ``filter_proposals``).

    The anchors of all levels are concatenated, level after level (``num_anchors_per_level``
    says how many each has; ``None`` means one level). In order:

    1. per level, keep the ``min(pre_nms_top_n, A_l)`` anchors with the highest objectness
       logits (``topk``);
    2. decode their ``deltas`` with :func:`decode_boxes` (weights (1, 1, 1, 1), ``dw, dh``
       clamped at ``log(1000 / 16)``) and turn the logits into scores with a sigmoid;
    3. clip the boxes to the image;
    4. drop boxes whose width or height is below ``min_size``;
    5. drop boxes whose score is below ``score_thresh`` (keep ``score >= score_thresh``);
    6. NMS with ``nms_thresh``, independently per level (``batched_nms`` with the level as the
       category);
    7. keep the ``post_nms_top_n`` best, by decreasing score.

    Args:
        objectness (Tensor[A]): objectness logits of all anchors.
        deltas (Tensor[A, 4]): regression codes (t_x, t_y, t_w, t_h) of all anchors.
        anchors (Tensor[A, 4]): (x1, y1, x2, y2) in image coordinates.
        image_size (tuple[int, int]): (height, width) of the image.
        pre_nms_top_n (int): candidates kept per level before NMS.
        post_nms_top_n (int): proposals returned at most.
        nms_thresh (float): IoU threshold of the NMS.
        min_size (float): smallest width and height kept.
        num_anchors_per_level (list[int] | None): anchors of each level (counts >= 0), summing
            to ``A``.
        score_thresh (float): smallest objectness probability kept.

    Returns:
        tuple[Tensor, Tensor]: ``boxes`` (``Tensor[P, 4]``, (x1, y1, x2, y2)) and ``scores``
        (``Tensor[P]``, probabilities), ``P <= post_nms_top_n``, by decreasing score. No
        gradient flows into them.

    Raises:
        ValueError: if the shapes do not match, or ``num_anchors_per_level`` does not sum to A
            or holds a negative count.
    """
    # BEGIN SOLUTION
    num = anchors.shape[0] if isinstance(anchors, Tensor) and anchors.dim() == 2 else -1
    if num < 0 or anchors.shape[1] != 4:
        raise ValueError(f"anchors must be a Tensor[A, 4], got {getattr(anchors, 'shape', anchors)!r}")
    if not isinstance(objectness, Tensor) or objectness.shape != (num,):
        raise ValueError(f"objectness must be a Tensor[A] = [{num}], got {getattr(objectness, 'shape', objectness)!r}")
    if not isinstance(deltas, Tensor) or deltas.shape != (num, 4):
        raise ValueError(f"deltas must be a Tensor[A, 4] = [{num}, 4], got {getattr(deltas, 'shape', deltas)!r}")
    per_level = [num] if num_anchors_per_level is None else [int(n) for n in num_anchors_per_level]
    if sum(per_level) != num or min(per_level, default=0) < 0:
        raise ValueError(f"num_anchors_per_level must be non-negative and sum to A = {num}, got {per_level}")
    per_level = per_level or [0]  # no level at all: no anchors, an empty result
    objectness = objectness.detach()
    deltas = deltas.detach()
    picked, levels = [], []
    start = 0
    for level, n in enumerate(per_level):
        k = min(int(pre_nms_top_n), n)
        top = objectness[start : start + n].topk(k).indices + start  # [k]
        picked.append(top)
        levels.append(torch.full((k,), level, dtype=torch.int64, device=objectness.device))
        start += n
    idx = torch.cat(picked)  # [M]
    level = torch.cat(levels)  # [M]
    boxes = decode_boxes(deltas[idx], anchors[idx])  # [M, 4]
    scores = torch.sigmoid(objectness[idx])  # [M]
    boxes = clip_boxes_to_image(boxes, image_size)
    keep = remove_small_boxes(boxes, min_size)
    boxes, scores, level = boxes[keep], scores[keep], level[keep]
    keep = torch.nonzero(scores >= score_thresh).flatten()
    boxes, scores, level = boxes[keep], scores[keep], level[keep]
    keep = batched_nms(boxes, scores, level, nms_thresh)[: int(post_nms_top_n)]
    return boxes[keep], scores[keep]
    # END SOLUTION


def rpn_loss(
    objectness: Tensor, deltas: Tensor, labels: Tensor, regression_targets: Tensor
) -> tuple[Tensor, Tensor]:
    """The two RPN losses on the sampled anchors (as torchvision's ``RegionProposalNetwork.compute_loss``).

    ``labels`` already encodes the sampling: 1 for a sampled positive anchor, 0 for a sampled
    negative, -1 for an anchor that is not sampled (ignored). With ``S`` the set of sampled
    anchors and ``P`` the positives:

    - ``loss_objectness = mean over S of BCE_with_logits(objectness, labels)``;
    - ``loss_box = sum over P of smooth_l1(deltas - regression_targets, beta=1/9) / |S|``
      (summed over the 4 coordinates; normalised by the number of sampled anchors, not of
      positives).

    With no sampled anchor both losses are 0 (with a zero gradient), where torchvision gives nan.

    Args:
        objectness (Tensor[A]): logits of the anchors of all images, concatenated.
        deltas (Tensor[A, 4]): predicted regression codes.
        labels (Tensor[A]): 1 (positive), 0 (negative) or -1 (not sampled), any real dtype.
        regression_targets (Tensor[A, 4]): encoded ground-truth boxes (used where label is 1).
            Rows whose label is not 1 may hold non-finite targets (an image without objects
            encodes its anchors as -inf) and must not affect the loss: select the positive rows
            rather than multiplying by a mask (``0 * inf`` is nan).

    Returns:
        tuple[Tensor, Tensor]: ``(loss_objectness, loss_box)``, scalar tensors in the dtypes of
        ``objectness`` and ``deltas`` (``regression_targets`` of another float dtype are cast to
        ``deltas``' dtype first), differentiable with respect to ``objectness`` and ``deltas``.

    Raises:
        ValueError: if the shapes do not match.
    """
    # BEGIN SOLUTION
    num = objectness.shape[0] if isinstance(objectness, Tensor) and objectness.dim() == 1 else -1
    if num < 0:
        raise ValueError(f"objectness must be a Tensor[A], got {getattr(objectness, 'shape', objectness)!r}")
    for name, t, shape in (("deltas", deltas, (num, 4)), ("labels", labels, (num,)),
                           ("regression_targets", regression_targets, (num, 4))):
        if not isinstance(t, Tensor) or tuple(t.shape) != shape:
            raise ValueError(f"{name} must have shape {list(shape)}, got {getattr(t, 'shape', t)!r}")
    sampled = labels >= 0  # [A]
    positive = labels == 1  # [A]
    count = sampled.sum()
    if int(count) == 0:
        zero = objectness.sum() * 0.0 + deltas.sum() * 0.0
        return zero, zero.clone()
    loss_objectness = F.binary_cross_entropy_with_logits(
        objectness[sampled], labels[sampled].to(objectness.dtype)
    )
    loss_box = F.smooth_l1_loss(
        deltas[positive], regression_targets[positive].to(deltas.dtype), beta=1 / 9, reduction="sum"
    ) / count.to(deltas.dtype)
    return loss_objectness, loss_box
    # END SOLUTION
