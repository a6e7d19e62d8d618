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

# BEGIN SOLUTION
import time
# END SOLUTION

# BEGIN SOLUTION
import torch
import torch.nn.functional as F
# END SOLUTION
from torch import Tensor, nn

__all__ = ["IGNORE", "TinyUNet", "balanced_bce_loss", "finetune", "foreground_probs", "osvos_segment",
           "onavos_pseudo_labels", "onavos_segment"]

#: the label of pixels that no loss sees
IGNORE = 255

# BEGIN SOLUTION


def _check_tensor(name: str, x: object, dims: int | None = None, *, floating: bool = False) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if dims is not None and x.dim() != dims:
        raise ValueError(f"{name} must have {dims} dimensions, got shape {list(x.shape)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def _check_int(name: str, v: object, lo: int) -> int:
    if type(v) is not int or v < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    return v


def _check_positive(name: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ValueError(f"{name} must be a number > 0, got {v!r}")
    return float(v)


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())
# END SOLUTION


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
        # BEGIN SOLUTION
        _check_int("in_channels", in_channels, 1)
        c = _check_int("base_channels", base_channels, 1)
        self.enc0 = _double_conv(in_channels, c)
        self.enc1 = _double_conv(c, 2 * c)
        self.mid = _double_conv(2 * c, 4 * c)
        self.up1 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.dec1 = _double_conv(4 * c, 2 * c)
        self.up0 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.dec0 = _double_conv(2 * c, c)
        self.head = nn.Conv2d(c, 1, 1)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, in_channels, H, W] -> logits Tensor[N, 1, H, W]``.

        Raises:
            TypeError: ``x`` is not a floating-point tensor (checked before the layers run, so an
                integer image is named rather than failing inside a convolution).
            ValueError: ``x`` is not ``[N, in_channels, H, W]``, or ``H`` or ``W`` is not
                divisible by 4.
        """
        # BEGIN SOLUTION
        c_in = self.enc0[0].in_channels
        _check_tensor("x", x, 4, floating=True)
        if x.shape[1] != c_in:
            raise ValueError(f"x must have shape [N, {c_in}, H, W], got {list(x.shape)}")
        if x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"H and W must be divisible by 4, got {tuple(x.shape[2:])}")
        s0 = self.enc0(x)
        s1 = self.enc1(F.max_pool2d(s0, 2))
        h = self.mid(F.max_pool2d(s1, 2))
        h = self.dec1(torch.cat([s1, self.up1(h)], dim=1))
        h = self.dec0(torch.cat([s0, self.up0(h)], dim=1))
        return self.head(h)
        # END SOLUTION

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
    # BEGIN SOLUTION
    _check_tensor("logits", logits, floating=True)
    _check_tensor("labels", labels)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape != logits.shape:
        raise ValueError(f"labels has shape {list(labels.shape)}, logits {list(logits.shape)}: they must match")
    bad = (labels != 0) & (labels != 1) & (labels != ignore_index)
    if bool(bad.any()):
        raise ValueError(f"labels must lie in {{0, 1, ignore_index={ignore_index}}}, got {int(labels[bad][0])}")
    pos = labels == 1
    neg = labels == 0
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    total = n_pos + n_neg
    if total == 0:
        return logits.sum() * 0.0
    beta = n_neg / total
    loss_pos = F.logsigmoid(logits[pos]).sum()
    loss_neg = F.logsigmoid(-logits[neg]).sum()
    return -(beta * loss_pos + (1 - beta) * loss_neg) / total
    # END SOLUTION


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
    # BEGIN SOLUTION
    start = time.monotonic()
    _check_int("steps", steps, 0)
    _check_positive("lr", lr)
    _check_tensor("images", images, 4, floating=True)
    _check_tensor("labels", labels, 3)
    if labels.shape != (images.shape[0],) + tuple(images.shape[2:]):
        raise ValueError(f"labels must have shape {[images.shape[0], *images.shape[2:]]}, got {list(labels.shape)}")
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses: list[float] = []
    for _ in range(steps):
        if time_budget_s is not None and time.monotonic() - start > time_budget_s:
            break
        loss = balanced_bce_loss(net(images)[:, 0], labels, ignore_index)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
    # END SOLUTION


def foreground_probs(net: nn.Module, frames: Tensor) -> Tensor:
    """``sigmoid(net(frames))[:, 0]`` without gradients: ``Tensor[T, H, W]`` in ``[0, 1]``."""
    # BEGIN SOLUTION
    _check_tensor("frames", frames, 4, floating=True)
    with torch.no_grad():
        return torch.sigmoid(net(frames)[:, 0])
    # END SOLUTION


# BEGIN SOLUTION


def _check_sequence(frames: Tensor, first_mask: Tensor) -> None:
    _check_tensor("frames", frames, 4, floating=True)
    _check_tensor("first_mask", first_mask, 2)
    if frames.shape[0] < 1 or frames.shape[1] != 3:
        raise ValueError(f"frames must have shape [T >= 1, 3, H, W], got {list(frames.shape)}")
    if tuple(first_mask.shape) != tuple(frames.shape[2:]):
        raise ValueError(f"first_mask must have shape {list(frames.shape[2:])}, got {list(first_mask.shape)}")


def _fresh_net(parent: dict[str, Tensor] | None, base_channels: int, seed: int, in_channels: int = 3) -> TinyUNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = TinyUNet(in_channels, base_channels)
    if parent is not None:
        net.load_weights({k: v.to(torch.float32) for k, v in parent.items()})
    return net
# END SOLUTION


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
    # BEGIN SOLUTION
    _check_sequence(frames, first_mask)
    net = _fresh_net(parent, base_channels, seed)
    labels = (first_mask != 0).to(torch.int64)[None]
    finetune(net, frames[:1].float(), labels, steps=steps, lr=lr, time_budget_s=time_budget_s)
    return (foreground_probs(net, frames.float()) > 0.5).to(torch.int64)
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_tensor("probs", probs, 2, floating=True)
    _check_tensor("prev_mask", prev_mask, 2)
    if probs.shape != prev_mask.shape:
        raise ValueError(f"probs has shape {list(probs.shape)}, prev_mask {list(prev_mask.shape)}: they must match")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    for name, v in (("margin", margin), ("erosion", erosion)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")
    h, w = probs.shape
    inside = (prev_mask != 0).reshape(-1)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                            indexing="ij")
    pts = torch.stack([ys.reshape(-1), xs.reshape(-1)], dim=1)  # [HW, 2]

    def nearest(targets: Tensor) -> Tensor:  # distance of every pixel to the nearest target pixel
        if not bool(targets.any()):
            return torch.full((h * w,), float("inf"), dtype=torch.float64)
        return torch.cdist(pts, pts[targets]).min(dim=1).values

    d_bg = nearest(~inside).reshape(h, w).to(probs.device)
    d_fg = nearest(inside).reshape(h, w).to(probs.device)
    labels = torch.full((h, w), ignore_index, dtype=torch.int64, device=probs.device)
    labels[d_fg > margin] = 0
    labels[(probs > alpha) & (d_bg > erosion)] = 1
    return labels
    # END SOLUTION


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
    # BEGIN SOLUTION
    _check_sequence(frames, first_mask)
    _check_int("online_steps", online_steps, 0)
    _check_positive("online_lr", online_lr)
    frames = frames.float()
    net = _fresh_net(parent, base_channels, seed)
    first = (first_mask != 0).to(torch.int64)
    finetune(net, frames[:1], first[None], steps=steps, lr=lr, time_budget_s=time_budget_s)
    masks = [(foreground_probs(net, frames[:1])[0] > 0.5).to(torch.int64)]
    for t in range(1, frames.shape[0]):
        p = foreground_probs(net, frames[t:t + 1])[0]
        pseudo = onavos_pseudo_labels(p, masks[-1], alpha=alpha, margin=margin, erosion=erosion)
        finetune(net, torch.stack([frames[0], frames[t]]), torch.stack([first, pseudo]), steps=online_steps,
                 lr=online_lr)
        masks.append((foreground_probs(net, frames[t:t + 1])[0] > 0.5).to(torch.int64))
    return torch.stack(masks)
    # END SOLUTION
