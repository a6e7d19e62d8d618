"""OSVOS (Caelles et al., CVPR 2017) and OnAVOS (Voigtlaender and Leibe, BMVC 2017) on a tiny U-Net.

OSVOS segments a video given the object's mask in the first frame: it *fine-tunes* a
segmentation network (in the paper a "parent" network pre-trained on DAVIS) on that single
annotated frame, then labels every frame independently. Each sequence starts again from the
parent's parameters: fine-tuning on one video must never leak into the next.

The loss is OSVOS' class-balanced binary cross-entropy (foreground is rare, so each class is
weighted by the other's share). OnAVOS adds *online adaptation*: before labelling frame ``t`` it
takes a few more training steps on frame ``t`` itself with pseudo-labels -- pixels the network is
very confident about (probability > ``alpha``) inside the previous mask shrunk by an erosion
margin are foreground; pixels farther than ``margin`` from the previous mask are background; the
rest is ignored -- mixed with the first frame's true labels so that the model does not drift.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["IGNORE", "TinyUNet", "balanced_bce_loss", "finetune", "foreground_probs", "osvos_segment",
           "onavos_pseudo_labels", "onavos_segment"]

#: the label of pixels that no loss sees
IGNORE = 255


class TinyUNet(nn.Module):
    """A two-level U-Net giving one foreground logit per pixel (padded 3x3 convolutions).

    With ``c = base_channels`` the parameters are laid out as (every convolution with a bias,
    default PyTorch initialisation, no normalisation):

    - ``enc0``: ``Sequential(Conv2d(in_channels, c, 3, padding=1), ReLU, Conv2d(c, c, 3, padding=1), ReLU)``
    - ``enc1``: the same double convolution from ``c`` to ``2c`` (after ``max_pool2d(2)``)
    - ``mid``: the same from ``2c`` to ``4c`` (after another ``max_pool2d(2)``)
    - ``up1``: ``ConvTranspose2d(4c, 2c, 2, stride=2)``; ``dec1``: double convolution ``4c -> 2c``
      on ``torch.cat([enc1 output, up1 output], dim=1)`` (the skip first)
    - ``up0``: ``ConvTranspose2d(2c, c, 2, stride=2)``; ``dec0``: double convolution ``2c -> c``
      on ``torch.cat([enc0 output, up0 output], dim=1)``
    - ``head``: ``Conv2d(c, 1, 1)``

    Args:
        in_channels (int): >= 1 (3 for RGB, 4 for MaskTrack's RGB + previous mask).
        base_channels (int): ``c`` >= 1, default 8.

    Raises:
        ValueError: an argument is not an int >= 1.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 8) -> None:
        super().__init__()
        raise NotImplementedError("TinyUNet.__init__: implement me (see README.md, section `osvos`)")

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, in_channels, H, W] -> logits Tensor[N, 1, H, W]``.

        Raises:
            TypeError: ``x`` is not a floating-point tensor (checked before the layers run, so an
                integer image is named rather than failing inside a convolution).
            ValueError: ``x`` is not ``[N, in_channels, H, W]``, or ``H`` or ``W`` is not
                divisible by 4.
        """
        raise NotImplementedError("TinyUNet.forward: implement me (see README.md, section `osvos`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Strict ``load_state_dict`` that returns nothing; moves the module to the tensors' device."""
        if state_dict:
            self.to(next(iter(state_dict.values())).device)
        self.load_state_dict(state_dict, strict=True)


def balanced_bce_loss(logits: Tensor, labels: Tensor, ignore_index: int = IGNORE) -> Tensor:
    """OSVOS' class-balanced binary cross-entropy.

    With ``Y+`` / ``Y-`` the foreground / background pixels (label 1 / 0; ``ignore_index`` pixels
    are left out of everything) and ``beta = |Y-| / (|Y+| + |Y-|)``::

        loss = -( beta * sum_{Y+} log sigmoid(x) + (1 - beta) * sum_{Y-} log(1 - sigmoid(x)) ) / (|Y+| + |Y-|)

    computed stably with ``logsigmoid`` (``log(1 - sigmoid(x)) = logsigmoid(-x)``). With no
    labelled pixel the loss is 0 (a zero that still has a gradient). Note that with a single class
    present, that class's weight is 0 (``beta`` is the *other* class's share), as in OSVOS.

    Args:
        logits (Tensor[...]): float logits.
        labels (Tensor[...]): integer labels of the same shape, in ``{0, 1, ignore_index}``.

    Returns:
        Tensor: a scalar of ``logits``' dtype.

    Raises:
        TypeError: ``logits`` not floating or ``labels`` not integer.
        ValueError: shapes differ, or a label outside ``{0, 1, ignore_index}``.
    """
    raise NotImplementedError("balanced_bce_loss: implement me (see README.md, section `osvos`)")


def finetune(net: nn.Module, images: Tensor, labels: Tensor, *, steps: int, lr: float = 1e-2,
             ignore_index: int = IGNORE, time_budget_s: float | None = None) -> list[float]:
    """Fine-tune ``net`` in place: ``steps`` full-batch steps of ``torch.optim.Adam(net.parameters(),
    lr=lr)`` (a fresh optimizer, default betas) on :func:`balanced_bce_loss` of
    ``net(images)[:, 0]`` against ``labels``.

    Args:
        net: a module mapping ``[N, C, H, W]`` to logits ``[N, 1, H, W]`` (e.g. :class:`TinyUNet`).
        images (Tensor[N, C, H, W]): float.
        labels (Tensor[N, H, W]): integer labels in ``{0, 1, ignore_index}``.
        steps (int): >= 0.
        lr (float): > 0.
        time_budget_s (float | None): if given, no new step starts once this many seconds
            have passed since the call began.

    Returns:
        list[float]: the loss *before* each step taken (``len <= steps``).

    Raises:
        ValueError: ``steps < 0``, ``lr <= 0``, or ``images`` / ``labels`` shapes disagree.
        TypeError / ValueError: ``images`` or ``labels`` not a tensor (the message names it).
    """
    raise NotImplementedError("finetune: implement me (see README.md, section `osvos`)")


def foreground_probs(net: nn.Module, frames: Tensor) -> Tensor:
    """``sigmoid(net(frames))[:, 0]`` without gradients: ``Tensor[T, H, W]`` in ``[0, 1]``."""
    raise NotImplementedError("foreground_probs: implement me (see README.md, section `osvos`)")


def osvos_segment(frames: Tensor, first_mask: Tensor, *, parent: dict[str, Tensor] | None = None,
                  base_channels: int = 8, steps: int = 120, lr: float = 1e-2, seed: int = 0,
                  time_budget_s: float | None = None) -> Tensor:
    """Segment a sequence the OSVOS way.

    1. A fresh :class:`TinyUNet` ``(3, base_channels)``: loaded from ``parent`` (a state dict, the
       "parent network") if given, else initialised under ``torch.manual_seed(seed)`` (without
       changing the caller's global generator state). Every call starts from these parameters:
       nothing carries over from one sequence to the next.
    2. :func:`finetune` on the first frame and ``first_mask`` (``steps``, ``lr``, within
       ``time_budget_s``).
    3. Every frame (the first included) is labelled ``1`` where :func:`foreground_probs` ``> 0.5``.

    Args:
        frames (Tensor[T, 3, H, W]): float RGB in ``[0, 1]``, ``T >= 1``, ``H`` and ``W`` divisible by 4;
            any float dtype, converted to float32 (the network's dtype) first, so float64 frames
            give the masks of their float32 copies.
        first_mask (Tensor[H, W]): the first frame's object mask (integer 0/1 or bool).

    Returns:
        Tensor[T, H, W]: int64 masks in ``{0, 1}``.

    Raises:
        TypeError / ValueError: malformed ``frames`` or ``first_mask``.
    """
    raise NotImplementedError("osvos_segment: implement me (see README.md, section `osvos`)")


def onavos_pseudo_labels(probs: Tensor, prev_mask: Tensor, *, alpha: float = 0.97, margin: float = 6.0,
                         erosion: float = 1.0, ignore_index: int = IGNORE) -> Tensor:
    """OnAVOS pseudo-labels for online adaptation on the current frame.

    Distances are Euclidean between pixel centres, within the image:

    - ``d_bg(p)``: distance from ``p`` to the nearest pixel *outside* ``prev_mask`` (0 on
      background pixels; ``inf`` everywhere when ``prev_mask`` covers the image);
    - ``d_fg(p)``: distance to the nearest pixel *inside* ``prev_mask`` (0 on the mask; ``inf``
      everywhere when the mask is empty).

    Label 1 where ``probs > alpha`` and ``d_bg > erosion`` (confident, and inside the previous
    mask eroded by the margin ``erosion``); label 0 where ``d_fg > margin`` (far from the previous
    mask); ``ignore_index`` elsewhere. The two sets are disjoint.

    Args:
        probs (Tensor[H, W]): foreground probabilities of the current frame.
        prev_mask (Tensor[H, W]): the previous frame's predicted mask (nonzero = object).
        alpha (float): in ``(0, 1)``. margin, erosion (float): ``>= 0``.

    Returns:
        Tensor[H, W]: int64 labels in ``{0, 1, ignore_index}``.

    Raises:
        ValueError: shapes differ, ``alpha`` outside ``(0, 1)``, a negative ``margin`` / ``erosion``.
        TypeError / ValueError: ``probs`` or ``prev_mask`` not a tensor (the message names it).
    """
    raise NotImplementedError("onavos_pseudo_labels: implement me (see README.md, section `onavos`)")


def onavos_segment(frames: Tensor, first_mask: Tensor, *, parent: dict[str, Tensor] | None = None,
                   base_channels: int = 8, steps: int = 120, online_steps: int = 5, lr: float = 1e-2,
                   online_lr: float = 1e-3, alpha: float = 0.97, margin: float = 6.0, erosion: float = 1.0,
                   seed: int = 0, time_budget_s: float | None = None) -> Tensor:
    """Segment a sequence the OnAVOS way: OSVOS plus online adaptation.

    1. As :func:`osvos_segment`: a fresh network (``parent`` or seeded initialisation),
       :func:`finetune` on the first frame; frame 0's output mask is its prediction (> 0.5).
    2. For ``t = 1 .. T-1``: ``p = foreground_probs(net, frames[t:t+1])[0]``; pseudo-labels
       ``onavos_pseudo_labels(p, mask[t-1], alpha=alpha, margin=margin, erosion=erosion)``;
       :func:`finetune` for ``online_steps`` steps (a fresh Adam with the smaller ``online_lr``:
       a few noisy pseudo-labels must not undo the first-frame fine-tuning) on the batch of two
       images ``[frames[0], frames[t]]`` with labels ``[first_mask, pseudo-labels]``; then
       ``mask[t] = foreground_probs(net, frames[t:t+1])[0] > 0.5`` with the adapted network.

    ``time_budget_s`` bounds the first-frame fine-tuning only (online steps always run).
    ``frames`` and ``first_mask`` are those of :func:`osvos_segment` (frames of any float dtype
    are converted to float32 first).

    Returns:
        Tensor[T, H, W]: int64 masks in ``{0, 1}``.
    """
    raise NotImplementedError("onavos_segment: implement me (see README.md, section `onavos`)")
