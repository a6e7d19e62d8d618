"""Region Proposal Network (Faster R-CNN, Ren et al., 2015): head, proposals and losses.

At every position of every pyramid level the RPN scores ``A`` anchors for "object or not" and
regresses a box offset for each. Proposals are the decoded anchors that survive top-k, clipping,
size filtering and NMS; the second stage classifies them.
"""

from __future__ import annotations

from torch import Tensor, nn

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
        raise NotImplementedError("RPNHead.__init__: implement me (see README.md, section `rpn`)")

    def forward(self, x: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Apply the head to every level.

        Args:
            x (list[Tensor[N, in_channels, H_l, W_l]]): the feature maps.

        Returns:
            tuple[list[Tensor], list[Tensor]]: ``objectness`` (``Tensor[N, A, H_l, W_l]`` per
            level, logits) and ``deltas`` (``Tensor[N, 4 A, H_l, W_l]`` per level).
        """
        raise NotImplementedError("RPNHead.forward: implement me (see README.md, section `rpn`)")

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
    raise NotImplementedError("generate_proposals: implement me (see README.md, section `rpn`)")


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
    raise NotImplementedError("rpn_loss: implement me (see README.md, section `rpn`)")
