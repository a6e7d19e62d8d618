"""The second stage of Faster R-CNN: box head, predictor, loss and post-processing.

Every proposal is pooled to a fixed-size feature (multi-scale RoI Align), passed through two
fully connected layers, then classified into ``num_classes`` classes (0 = background) and
given one box regression per class, relative to the proposal, with weights (10, 10, 5, 5).
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["TwoMLPHead", "FastRCNNPredictor", "fastrcnn_loss", "postprocess_detections"]


class TwoMLPHead(nn.Module):
    """Two fully connected layers on flattened RoI features: ``relu(fc7(relu(fc6(flatten(x)))))``.

    Parameters as in torchvision's ``TwoMLPHead``: ``fc6`` (``in_channels -> representation_size``)
    and ``fc7`` (``representation_size -> representation_size``), both ``nn.Linear``.

    Args:
        in_channels (int): size of a flattened RoI feature, e.g. ``C * 7 * 7``.
        representation_size (int): width of both layers.
    """

    def __init__(self, in_channels: int, representation_size: int) -> None:
        super().__init__()
        raise NotImplementedError("TwoMLPHead.__init__: implement me (see README.md, section `roi_heads`)")

    def forward(self, x: Tensor) -> Tensor:
        """Apply the head.

        Args:
            x (Tensor[R, ...]): RoI features, flattened from dimension 1 on.

        Returns:
            Tensor[R, representation_size]: the representation of each RoI.
        """
        raise NotImplementedError("TwoMLPHead.forward: implement me (see README.md, section `roi_heads`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict); returns nothing.

        The module first moves to the device of the state dict's tensors (CUDA tensors give a
        module on the GPU).

        Args:
            state_dict (dict[str, Tensor]): e.g. torchvision's ``TwoMLPHead(...).state_dict()``.

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


class FastRCNNPredictor(nn.Module):
    """Classification scores and per-class box regression from the RoI representation.

    ``cls_score``: ``nn.Linear(in_channels, num_classes)``; ``bbox_pred``:
    ``nn.Linear(in_channels, 4 * num_classes)`` (class ``c``'s code is columns ``4c ... 4c + 3``),
    as torchvision's ``FastRCNNPredictor``.

    Args:
        in_channels (int): size of the representation.
        num_classes (int): number of classes, background (class 0) included.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        raise NotImplementedError("FastRCNNPredictor.__init__: implement me (see README.md, section `roi_heads`)")

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Apply both layers to ``x.flatten(start_dim=1)``.

        Args:
            x (Tensor[R, in_channels] or Tensor[R, in_channels, 1, 1]): RoI representations.

        Returns:
            tuple[Tensor, Tensor]: ``class_logits`` (``Tensor[R, num_classes]``) and
            ``box_regression`` (``Tensor[R, 4 * num_classes]``).
        """
        raise NotImplementedError("FastRCNNPredictor.forward: implement me (see README.md, section `roi_heads`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict with exactly this module's keys and shapes (strict); returns nothing.

        The module first moves to the device of the state dict's tensors (CUDA tensors give a
        module on the GPU).

        Args:
            state_dict (dict[str, Tensor]): e.g. torchvision's ``FastRCNNPredictor(...).state_dict()``.

        Raises:
            RuntimeError: if a key is missing or unexpected, or a shape differs.
        """
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


def fastrcnn_loss(
    class_logits: Tensor, box_regression: Tensor, labels: Tensor, regression_targets: Tensor
) -> tuple[Tensor, Tensor]:
    """The Fast R-CNN losses on sampled RoIs (as torchvision's ``roi_heads.fastrcnn_loss``).

    - ``loss_classifier = cross_entropy(class_logits, labels)`` (mean over the R RoIs);
    - ``loss_box_reg = sum over RoIs with labels > 0 of smooth_l1(box_regression[r, class
      labels[r]] - regression_targets[r], beta=1/9) / R`` (only the regression of the true class
      counts; normalised by all R RoIs).

    Args:
        class_logits (Tensor[R, num_classes]): logits, class 0 is background.
        box_regression (Tensor[R, 4 * num_classes]): per-class regression codes.
        labels (Tensor[R] int64): class of each RoI, 0 for background.
        regression_targets (Tensor[R, 4]): codes of each RoI's matched ground truth (weights
            (10, 10, 5, 5)); ignored for background RoIs, whose rows may hold non-finite targets
            and must not affect ``loss_box_reg``: select the foreground rows rather than
            multiplying by a mask (``0 * inf`` is nan).

    Returns:
        tuple[Tensor, Tensor]: ``(loss_classifier, loss_box_reg)``, scalar tensors in the dtypes
        of ``class_logits`` and ``box_regression`` (``regression_targets`` of another float dtype
        are cast to ``box_regression``'s dtype first), differentiable with respect to
        ``class_logits`` and ``box_regression``.

    Raises:
        ValueError: if the shapes do not match or ``R`` is 0.
    """
    raise NotImplementedError("fastrcnn_loss: implement me (see README.md, section `roi_heads`)")


def postprocess_detections(
    class_logits: Tensor,
    box_regression: Tensor,
    proposals: Tensor,
    image_size: tuple[int, int],
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 100,
) -> tuple[Tensor, Tensor, Tensor]:
    """Final detections of one image (as torchvision's ``RoIHeads.postprocess_detections``).

    1. decode every class's regression against its proposal with :func:`decode_boxes`,
       weights (10, 10, 5, 5): ``R x num_classes`` boxes; scores are ``softmax(class_logits)``;
    2. clip the boxes to the image;
    3. drop the background column (class 0) and flatten: one candidate per (RoI, class),
       in RoI-major order, with label = the class index;
    4. keep candidates with ``score > score_thresh`` (strict);
    5. drop boxes with a side below 0.01 pixels;
    6. NMS per class (``batched_nms`` with the label as the category), ``nms_thresh``;
    7. keep the ``detections_per_img`` best, by decreasing score.

    Args:
        class_logits (Tensor[R, num_classes]): logits, class 0 is background.
        box_regression (Tensor[R, 4 * num_classes]): per-class regression codes.
        proposals (Tensor[R, 4]): (x1, y1, x2, y2) of the RoIs.
        image_size (tuple[int, int]): (height, width) of the image.
        score_thresh (float): scores must exceed this.
        nms_thresh (float): IoU threshold of the per-class NMS.
        detections_per_img (int): detections returned at most.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``boxes`` (``Tensor[D, 4]``), ``scores`` (``Tensor[D]``)
        and ``labels`` (``Tensor[D]`` int64, in ``[1, num_classes - 1]``), by decreasing score.

    Raises:
        ValueError: if the shapes do not match.
    """
    raise NotImplementedError("postprocess_detections: implement me (see README.md, section `roi_heads`)")
