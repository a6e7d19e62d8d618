"""Your whole detector: ``predict`` (graded by COCO mAP on held-out scenes) and ``train``.

Build it from your parts (a backbone, your FPN, RetinaNet heads or an RPN with RoI heads),
train it from scratch and save its weights inside this package; see README.md, section
`model`, for the rules of the accuracy check and what a CPU can train in minutes.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor

__all__ = ["predict", "train"]


def predict(images: list[Tensor]) -> list[dict[str, Tensor]]:
    """Detect objects in a batch of images with the trained model stored in the package.

    The model and its weights are loaded from a file inside the package (e.g.
    ``Path(__file__).with_name("checkpoint.pt")`` loaded with ``torch.load(path,
    weights_only=True)``); the grader calls ``predict`` on held-out scenes of the synthetic
    dataset and scores the detections by COCO mAP@0.5 with pycocotools. Labels never reach the
    submission. The grader rejects (and scores 0) output that breaks any rule below.

    Args:
        images (list[Tensor[3, H, W]]): float32 RGB images in [0, 1], e.g. 64 x 64 scenes of
            ``cv3data.detection_splits`` (``image.float() / 255``). The images of one call may
            differ in size (any ``H, W``, not only 64 x 64); an empty list returns an empty list.

    Returns:
        list[dict[str, Tensor]]: one dict per image, in order, with (other keys are ignored)

        - ``boxes``: float32 ``Tensor[D, 4]``, (x1, y1, x2, y2) in pixels, inside the image's
          own size (``0 <= x1 <= x2 <= W``, ``0 <= y1 <= y2 <= H``), finite;
        - ``scores``: float32 ``Tensor[D]``, finite, higher is more confident;
        - ``labels``: int64 ``Tensor[D]``, category ids 1 to 4 (rectangle, ellipse, triangle,
          diamond);

        with ``D <= 100``, plain ``torch.Tensor`` objects on the CPU.

    Raises:
        ValueError: if ``images`` is not a list of [3, H, W] float tensors.
    """
    raise NotImplementedError("predict: implement me (see README.md, section `model`)")


def train(  # pragma: no cover - never called by the grader (README.md, "Coverage exclusions")
    out: str, minutes: float = 8.0, seed: int = 0, steps: int | None = None, log: Callable[[str], None] = print
) -> dict:
    """Train the detector from scratch on the synthetic training split and save its checkpoint.

    Not called by the grader (it grades the checkpoint inside your package); it documents how
    that checkpoint was made. Uses the ``train`` split of ``cv3data.detection_splits(seed)``,
    never the held-out splits.

    Args:
        out (str): path of the checkpoint to write (e.g. ``detectors/checkpoint.pt``).
        minutes (float): wall-clock training budget; training stops when it is used up.
        seed (int): seed of the data split, the initialisation and the batches.
        steps (int | None): a fixed number of optimizer steps (the learning-rate schedule then
            follows steps instead of time, so the run is reproducible); ``None``: train until
            ``minutes`` are used up.
        log (callable): receives progress lines.

    Returns:
        dict: training figures (``steps``, ``images_seen``, ``seconds``, ``final_loss``).
    """
    raise NotImplementedError("train: implement me (see README.md, section `model`)")
