"""RetinaNet (Lin et al., 2017): a one-stage detector with dense anchors and the focal loss.

Two small convolutional heads run on every pyramid level: one predicts ``K`` class logits
per anchor (a sigmoid per class, no background class), the other a box regression per anchor.
The focal loss keeps the ~10^4 easy background anchors from swamping the few positives.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = [
    "RetinaNetClassificationHead",
    "RetinaNetRegressionHead",
    "retinanet_classification_loss",
    "retinanet_regression_loss",
    "retinanet_postprocess",
]


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
        raise NotImplementedError(
            "RetinaNetClassificationHead.__init__: implement me (see README.md, section `retinanet`)"
        )

    def forward(self, x: list[Tensor]) -> Tensor:
        """Class logits of every anchor of every level.

        Args:
            x (list[Tensor[N, in_channels, H_l, W_l]]): the feature maps.

        Returns:
            Tensor[N, sum_l H_l W_l A, num_classes]: logits, level after level; within a
            level position-major (row, then column), anchor-minor.
        """
        raise NotImplementedError(
            "RetinaNetClassificationHead.forward: implement me (see README.md, section `retinanet`)"
        )

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
        raise NotImplementedError("RetinaNetRegressionHead.__init__: implement me (see README.md, section `retinanet`)")

    def forward(self, x: list[Tensor]) -> Tensor:
        """Regression codes of every anchor of every level.

        Args:
            x (list[Tensor[N, in_channels, H_l, W_l]]): the feature maps.

        Returns:
            Tensor[N, sum_l H_l W_l A, 4]: (t_x, t_y, t_w, t_h), in the anchors' order.
        """
        raise NotImplementedError("RetinaNetRegressionHead.forward: implement me (see README.md, section `retinanet`)")

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
    raise NotImplementedError("retinanet_classification_loss: implement me (see README.md, section `retinanet`)")


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
    raise NotImplementedError("retinanet_regression_loss: implement me (see README.md, section `retinanet`)")


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
    raise NotImplementedError("retinanet_postprocess: implement me (see README.md, section `retinanet`)")
