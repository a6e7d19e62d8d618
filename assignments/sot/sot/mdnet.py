"""MDNet (Nam and Han, CVPR 2016): shared layers with per-domain binary heads, IoU-labelled
samples, hard negative mining, the online-update state machine and first-frame box regression.

Boxes are ``(x1, y1, x2, y2)`` float pixels with no +1 (IoU as ``torchvision.ops.box_iou``).
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["MDNet", "gaussian_samples", "label_by_iou", "hard_negative_mining", "OnlineUpdater",
           "fit_bbox_regressor", "apply_bbox_regressor"]

#: a sample is positive when its IoU with the target is >= POS_IOU (MDNet: 0.7)
POS_IOU = 0.7
#: a sample is negative when its IoU with the target is <= NEG_IOU (MDNet: 0.5)
NEG_IOU = 0.5


class MDNet(nn.Module):
    """Shared layers and one binary (background, target) head per training domain (sequence).

    Layers (the ``state_dict`` keys, for ``load_weights``), with ``c = channels`` and ``s =
    input_size``:

    - ``shared``: ``nn.Sequential(Conv2d(3, c, 3, stride=2, padding=1), ReLU, Conv2d(c, 2c, 3,
      stride=2, padding=1), ReLU, Flatten, Linear(2c * (s/4)^2, hidden), ReLU)``
      (keys ``shared.0.*``, ``shared.2.*``, ``shared.5.*``);
    - ``branches``: ``nn.ModuleList`` of ``num_domains`` ``Linear(hidden, 2)``
      (keys ``branches.<k>.*``); column 0 of the logits is background, column 1 the target.

    Args:
        num_domains (int): K >= 1 heads.
        input_size (int): the side ``s`` of the square input patches, a multiple of 4, >= 4.
        channels (int): ``c`` >= 1.
        hidden (int): width of the shared fully connected layer (>= 1).
    """

    def __init__(self, num_domains: int = 1, input_size: int = 16, channels: int = 8, hidden: int = 32) -> None:
        super().__init__()
        raise NotImplementedError("MDNet.__init__: implement me (see README.md, section `mdnet`)")

    def features(self, patches: Tensor) -> Tensor:
        """The shared layers' output ``Tensor[N, hidden]`` (what box regression is fitted on).

        Raises:
            ValueError: patches that are not [N, 3, s, s].
        """
        raise NotImplementedError("MDNet.features: implement me (see README.md, section `mdnet`)")

    def forward(self, patches: Tensor, domain: int = 0) -> Tensor:
        """Logits ``Tensor[N, 2]`` (background, target) of head ``domain``.

        Raises:
            ValueError: a domain outside ``0 .. K-1`` (the message names it and K), or patches
                that are not [N, 3, s, s].
        """
        raise NotImplementedError("MDNet.forward: implement me (see README.md, section `mdnet`)")

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict strictly (``RuntimeError`` on missing or unexpected keys); the module
        moves to the weights' device and dtype."""
        raise NotImplementedError("MDNet.load_weights: implement me (see README.md, section `mdnet`)")


def gaussian_samples(box: Tensor, num_samples: int, *, trans: float = 0.1, scale_factor: float = 1.3,
                     noise: Tensor | None = None, seed: int | None = None) -> Tensor:
    """MDNet's Gaussian sample generator around ``box``.

    With the centre ``(cx, cy)``, size ``(w, h)``, ``m = (w + h) / 2`` and three standard-normal
    draws ``n = noise[k]`` per sample (``c(v) = clamp(0.5 v, -1, 1)``):

        cx' = cx + trans * m * c(n0),   cy' = cy + trans * m * c(n1)
        w'  = w * scale_factor ** c(n2),  h' = h * scale_factor ** c(n2)   (one factor: aspect kept)

    Args:
        box (Tensor[4]): the target (x1, y1, x2, y2), positive size.
        num_samples (int): M >= 0.
        trans (float): translation range in units of the mean side (>= 0).
        scale_factor (float): > 0 (1 keeps the size).
        noise (Tensor[M, 3] | None): the standard-normal draws; ``None`` draws
            ``torch.randn(M, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)``
            (the global generator when ``seed`` is ``None``).
        seed (int | None): used only when ``noise`` is ``None``.

    Returns:
        Tensor[M, 4]: samples (x1, y1, x2, y2) in the box's dtype.

    Raises:
        ValueError: bad box, counts, parameters or noise shape.
    """
    raise NotImplementedError("gaussian_samples: implement me (see README.md, section `mdnet`)")


def label_by_iou(samples: Tensor, box: Tensor, pos_threshold: float = POS_IOU,
                 neg_threshold: float = NEG_IOU) -> Tensor:
    """Label samples by their IoU with the target: 1 (positive) when IoU >= ``pos_threshold``,
    0 (negative) when IoU <= ``neg_threshold``, -1 (unused) in between.

    Args:
        samples (Tensor[N, 4]): (x1, y1, x2, y2).
        box (Tensor[4]): the target, of positive width and height.
        pos_threshold (float): in [0, 1].
        neg_threshold (float): in [0, 1], < ``pos_threshold``.

    Returns:
        Tensor[N]: int64 labels in {1, 0, -1}.

    Raises:
        ValueError: ``samples`` not ``[N, 4]``, a target of zero width or height (no IoU is
            defined), thresholds outside [0, 1] or ``neg_threshold >= pos_threshold``.
    """
    raise NotImplementedError("label_by_iou: implement me (see README.md, section `mdnet`)")


def hard_negative_mining(neg_scores: Tensor, k: int) -> Tensor:
    """The ``k`` hardest negatives: the indices of the highest target scores among negatives.

    Args:
        neg_scores (Tensor[N]): the target score (logit or probability) of each negative.
        k (int): how many to keep (>= 0); all ``N`` when ``k >= N``.

    Returns:
        Tensor[min(k, N)]: int64 indices, by decreasing score; equal scores keep the lower index
        first.

    Raises:
        ValueError: ``k < 0`` or ``neg_scores`` not 1-D.
    """
    raise NotImplementedError("hard_negative_mining: implement me (see README.md, section `mdnet`)")


class OnlineUpdater:
    """MDNet's online-update schedule as a state machine over frame indices.

    Memory: ``positive`` frames (long-term, at most ``long_term``, oldest dropped first) and
    ``negative`` frames (short-term, at most ``short_term``). The first frame (``first_frame``)
    is in both from the start. :meth:`observe` is called once per later frame, in increasing
    order, with the tracker's target score:

    1. success is ``score > success_threshold`` (strictly);
    2. on success the frame is appended to both memories (then trimmed);
    3. the action: ``"short"`` on failure (a short-term update), else ``"long"`` when
       ``frame % long_interval == 0``, else ``"none"``.

    :meth:`update_frames` gives the frames whose samples an update uses: ``"short"``: the last
    ``short_term`` positive frames and all negative frames; ``"long"``: all positive frames and
    all negative frames; ``"none"``: two empty lists.

    Args:
        short_term (int): >= 1 (MDNet: 20).
        long_term (int): >= short_term (MDNet: 100).
        long_interval (int): >= 1 (MDNet: 10).
        success_threshold (float): MDNet: 0 (the target score's logit difference).
        first_frame (int): the index of the annotated frame (>= 0).
    """

    def __init__(self, short_term: int = 20, long_term: int = 100, long_interval: int = 10,
                 success_threshold: float = 0.0, first_frame: int = 0) -> None:
        raise NotImplementedError("OnlineUpdater.__init__: implement me (see README.md, section `mdnet`)")

    def observe(self, frame: int, score: float) -> str:
        """Record one frame's outcome and return the update to run: "short", "long" or "none".

        Raises:
            ValueError: ``frame`` not greater than the previous frame.
        """
        raise NotImplementedError("OnlineUpdater.observe: implement me (see README.md, section `mdnet`)")

    def update_frames(self, kind: str) -> tuple[list[int], list[int]]:
        """``(positive frames, negative frames)`` of an update of ``kind``, oldest first.

        Raises:
            ValueError: a kind other than "short", "long" or "none".
        """
        raise NotImplementedError("OnlineUpdater.update_frames: implement me (see README.md, section `mdnet`)")

    def memory(self) -> dict[str, list[int]]:
        """``{"positive": [...], "negative": [...]}``: the frames in memory, oldest first."""
        raise NotImplementedError("OnlineUpdater.memory: implement me (see README.md, section `mdnet`)")


def fit_bbox_regressor(features: Tensor, boxes: Tensor, target: Tensor, lam: float = 1000.0) -> Tensor:
    """First-frame bounding-box regression (R-CNN parametrisation), fitted by ridge regression.

    For each sample box ``p`` (centre ``px, py``, size ``pw, ph``) and the target ``g``:
    ``y = ((gx - px) / pw, (gy - py) / ph, log(gw / pw), log(gh / ph))``. With ``X = [features,
    1]`` (a column of ones appended **last**), the weights solve

        W = argmin ||X W - Y||^2 + lam * ||W[:-1]||^2   (the bias row is not penalised)
          = (X^T X + lam * diag(1, ..., 1, 0))^{-1} X^T Y,

    computed in float64 (``torch.linalg.solve``) and returned in the features' dtype.

    Args:
        features (Tensor[N, D]): one feature vector per sample.
        boxes (Tensor[N, 4]): the samples (positive sizes).
        target (Tensor[4]): the annotated box (positive width and height).
        lam (float): the ridge penalty (>= 0).

    Returns:
        Tensor[D + 1, 4]: the weights (last row: the bias).

    Raises:
        ValueError: N differs, N == 0, ``lam < 0``, or a sample box or the target without a
            positive width and height (the regression takes the log of their sizes).
    """
    raise NotImplementedError("fit_bbox_regressor: implement me (see README.md, section `mdnet`)")


def apply_bbox_regressor(weights: Tensor, features: Tensor, boxes: Tensor) -> Tensor:
    """Refine boxes with fitted weights: ``(dx, dy, dw, dh) = [features, 1] @ weights``,
    ``cx' = px + pw dx``, ``cy' = py + ph dy``, ``w' = pw exp(dw)``, ``h' = ph exp(dh)``.

    Args:
        weights (Tensor[D + 1, 4]): from :func:`fit_bbox_regressor`.
        features (Tensor[N, D]): the samples' features.
        boxes (Tensor[N, 4]): the samples.

    Returns:
        Tensor[N, 4]: refined (x1, y1, x2, y2) in the boxes' dtype.

    Raises:
        ValueError: shapes that do not match.
    """
    raise NotImplementedError("apply_bbox_regressor: implement me (see README.md, section `mdnet`)")
