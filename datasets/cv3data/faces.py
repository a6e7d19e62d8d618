"""Faces and non-faces from scikit-image's bundled ``lfw_subset``, and synthetic face scenes.

``skimage.data.lfw_subset()`` holds 200 grey images of 25 x 25 pixels, float64 in [0, 1]: the
first 100 are faces (Labeled Faces in the Wild, cropped), the last 100 non-faces (crops of
natural images). :func:`lfw_split` splits each class with a fixed permutation (seed 0) into
``TRAIN_PER_CLASS`` training and ``100 - TRAIN_PER_CLASS`` held-out images; only the training
part may enter a grading sandbox.

:func:`make_face_scenes` pastes faces, resized to 24 .. 48 pixels, onto a background tiled
from non-face images, at non-overlapping positions; the ground-truth box of a face is the
pasted square ``(x, y, x + side, y + side)`` (torchvision convention, no +1). All randomness
comes from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["NUM_PER_CLASS", "TRAIN_PER_CLASS", "FACE_SIDE", "lfw_images", "lfw_split", "make_face_scenes"]

NUM_PER_CLASS = 100
TRAIN_PER_CLASS = 70
FACE_SIDE = 25
_TILE = 32


def lfw_images() -> tuple[torch.Tensor, torch.Tensor]:
    """``(faces, nonfaces)``: float32 ``[100, 25, 25]`` each, in [0, 1]."""
    from skimage.data import lfw_subset

    x = torch.tensor(lfw_subset(), dtype=torch.float32)  # [200, 25, 25]
    return x[:NUM_PER_CLASS], x[NUM_PER_CLASS:]


def lfw_split() -> dict[str, torch.Tensor]:
    """The fixed split: ``train_faces``, ``train_nonfaces`` (``[70, 25, 25]``), ``heldout_faces``,
    ``heldout_nonfaces`` (``[30, 25, 25]``), float32."""
    faces, nonfaces = lfw_images()
    gen = torch.Generator().manual_seed(0)
    pf = torch.randperm(NUM_PER_CLASS, generator=gen)
    pn = torch.randperm(NUM_PER_CLASS, generator=gen)
    t = TRAIN_PER_CLASS
    return {"train_faces": faces[pf[:t]], "train_nonfaces": nonfaces[pn[:t]],
            "heldout_faces": faces[pf[t:]], "heldout_nonfaces": nonfaces[pn[t:]]}


def _resize(img: torch.Tensor, h: int, w: int) -> torch.Tensor:
    return F.interpolate(img.double()[None, None], size=(h, w), mode="bilinear", align_corners=False,
                         antialias=True)[0, 0]


def make_face_scenes(faces: torch.Tensor, nonfaces: torch.Tensor, num_scenes: int, seed: int,
                     height: int = 96, width: int = 128, max_faces: int = 3,
                     min_side: int = 24, max_side: int = 48) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Synthetic grey scenes with faces pasted on a non-face background.

    Args:
        faces (Tensor[P, 25, 25]): faces to paste (float, [0, 1]).
        nonfaces (Tensor[M, 25, 25]): background material (float, [0, 1]).
        num_scenes (int): scenes to make.
        seed (int): seed of ``numpy.random.default_rng``.
        height, width (int): scene size.
        max_faces (int): 1 .. ``max_faces`` faces per scene (fewer when one does not fit).
        min_side, max_side (int): face side range in pixels.

    Returns:
        list of ``(image float32 [height, width] in [0, 1], boxes float32 [n, 4])``.
    """
    if num_scenes < 0 or min_side < 1 or max_side < min_side or max_side > min(height, width):
        raise ValueError("bad scene parameters")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(num_scenes):
        canvas = torch.zeros(height, width, dtype=torch.float64)
        for y in range(0, height, _TILE):
            for x in range(0, width, _TILE):
                tile = _resize(nonfaces[int(rng.integers(len(nonfaces)))], _TILE, _TILE)
                if rng.random() < 0.5:
                    tile = tile.flip(-1)
                h, w = min(_TILE, height - y), min(_TILE, width - x)
                canvas[y:y + h, x:x + w] = tile[:h, :w]
        boxes = []
        for _ in range(int(rng.integers(1, max_faces + 1))):
            for _try in range(30):
                side = int(rng.integers(min_side, max_side + 1))
                x0 = int(rng.integers(0, width - side + 1))
                y0 = int(rng.integers(0, height - side + 1))
                if all(x0 >= b[2] or x0 + side <= b[0] or y0 >= b[3] or y0 + side <= b[1] for b in boxes):
                    canvas[y0:y0 + side, x0:x0 + side] = _resize(faces[int(rng.integers(len(faces)))], side, side)
                    boxes.append((x0, y0, x0 + side, y0 + side))
                    break
        noise = torch.from_numpy(rng.normal(0.0, 0.01, size=(height, width)))
        image = (canvas + noise).clamp(0, 1).float()
        out.append((image, torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)))
    return out
