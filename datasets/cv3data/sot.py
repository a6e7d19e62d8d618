"""Synthetic single-object tracking sequences with exact boxes, and the OTB folder layout.

``make_sot_sequence(seed)`` draws one sequence: a textured target (a grid of random colour
cells) moving smoothly over a textured background, with

* appearance change: the target's texture blends towards a second texture over the sequence
  and its brightness oscillates;
* scale change: the box's width and height follow a slow, bounded random walk;
* occlusion: an occluder bar (its own texture) sweeps across the target's path and is drawn on
  top of it for some frames (the ground-truth box stays the target's full extent, as in OTB);
* distractors: other textured rectangles of similar size wander over the image (drawn below the
  target);
* sensor noise: Gaussian, per frame.

The target is rendered by sampling its texture at pixel centres: pixel ``(c, r)`` (column, row)
belongs to the target when its centre ``(c + 0.5, r + 0.5)`` lies in ``[x1, x2) x [y1, y2)``, so
the float box ``(x1, y1, x2, y2)`` is exact (no +1 in widths). All randomness comes from
``numpy.random.default_rng(seed)``: the same seed gives the same pixels on every machine.

OTB layout (``write_otb`` / ``load_otb``)::

    root/<name>/img/0001.png ... (or .jpg; 1-based, 4 digits, as OTB-100)
    root/<name>/groundtruth_rect.txt   one line per frame: x,y,w,h (OTB separates by commas,
                                       tabs or spaces; all three are read)

``load_otb`` reads such a folder (also real OTB-100 folders) into ``frames`` uint8
``Tensor[T, 3, H, W]`` and ``boxes`` float64 ``Tensor[T, 4]`` (x1, y1, x2, y2) = (x, y, x + w,
y + h). OTB's own toolkit reads 1-based pixel coordinates; this loader keeps the numbers of the
file (no -1 shift): only differences of coordinates enter IoU and centre error, so every metric
is unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

__all__ = ["make_sot_sequence", "make_sot_split", "write_otb", "load_otb", "xywh_to_xyxy", "xyxy_to_xywh"]


def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """OTB rectangles (x, y, w, h) -> (x1, y1, x2, y2) = (x, y, x + w, y + h)."""
    x, y, w, h = boxes.unbind(-1)
    return torch.stack((x, y, x + w, y + h), dim=-1)


def xyxy_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """(x1, y1, x2, y2) -> OTB rectangles (x, y, w, h)."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random texture: a few sinusoids per channel plus blurred noise, float [H, W, 3]."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for c in range(3):
        img[..., c] = rng.uniform(70, 170)
        for _ in range(4):
            fx, fy = rng.uniform(-0.25, 0.25, size=2)
            img[..., c] += rng.uniform(10, 30) * np.sin(fx * xx + fy * yy + rng.uniform(0, 2 * np.pi))
    noise = rng.normal(0, 15, size=(height // 4 + 2, width // 4 + 2, 3))
    noise = np.kron(noise, np.ones((4, 4, 1)))[:height, :width]  # blocky mid-frequency texture
    return img + noise


def _texture(rng: np.random.Generator, cells: int) -> np.ndarray:
    """A target texture: ``cells x cells`` random colour cells, float [cells, cells, 3]."""
    base = rng.uniform(20, 235, size=3)
    return np.clip(base + rng.normal(0, 60, size=(cells, cells, 3)), 0, 255)


def _paint(img: np.ndarray, box: Sequence[float], texture: np.ndarray, gain: float = 1.0) -> None:
    """Draw ``texture`` stretched over the float box; a pixel is inside when its centre is in
    ``[x1, x2) x [y1, y2)``."""
    height, width = img.shape[:2]
    x1, y1, x2, y2 = box
    c0, c1 = max(int(np.ceil(x1 - 0.5)), 0), min(int(np.ceil(x2 - 0.5)), width)
    r0, r1 = max(int(np.ceil(y1 - 0.5)), 0), min(int(np.ceil(y2 - 0.5)), height)
    if c1 <= c0 or r1 <= r0:
        return
    th, tw = texture.shape[:2]
    u = ((np.arange(c0, c1) + 0.5 - x1) / (x2 - x1) * tw).astype(np.int64).clip(0, tw - 1)
    v = ((np.arange(r0, r1) + 0.5 - y1) / (y2 - y1) * th).astype(np.int64).clip(0, th - 1)
    img[r0:r1, c0:c1] = texture[v[:, None], u[None, :]] * gain


class _Walker:
    """A box centre moving with a damped random-walk velocity, kept inside the image."""

    def __init__(self, rng, width, height, w, h, speed):
        self.rng, self.width, self.height, self.speed = rng, width, height, speed
        self.cx = rng.uniform(w / 2 + 2, width - w / 2 - 2)
        self.cy = rng.uniform(h / 2 + 2, height - h / 2 - 2)
        angle = rng.uniform(0, 2 * np.pi)
        self.vx, self.vy = speed * np.cos(angle), speed * np.sin(angle)

    def step(self, w, h):
        self.vx = 0.9 * self.vx + self.rng.normal(0, 0.35 * self.speed)
        self.vy = 0.9 * self.vy + self.rng.normal(0, 0.35 * self.speed)
        self.cx += self.vx
        self.cy += self.vy
        lo_x, hi_x = w / 2 + 1, self.width - w / 2 - 1
        lo_y, hi_y = h / 2 + 1, self.height - h / 2 - 1
        if self.cx < lo_x or self.cx > hi_x:
            self.vx = -self.vx
            self.cx = float(np.clip(self.cx, lo_x, hi_x))
        if self.cy < lo_y or self.cy > hi_y:
            self.vy = -self.vy
            self.cy = float(np.clip(self.cy, lo_y, hi_y))


def make_sot_sequence(seed: int, num_frames: int = 48, image_size: tuple[int, int] = (96, 96), *,
                      num_distractors: int = 2, occlusion: bool = True, speed: float = 1.6,
                      name: str | None = None) -> dict:
    """One synthetic single-target sequence.

    Args:
        seed (int): seed of ``numpy.random.default_rng``.
        num_frames (int): T >= 2.
        image_size (tuple[int, int]): (H, W), each >= 48.
        num_distractors (int): textured rectangles wandering below the target (>= 0).
        occlusion (bool): whether an occluder bar sweeps over the target's path.
        speed (float): typical motion of the target per frame in pixels (> 0).
        name (str | None): the sequence's name (default ``sot_<seed>``).

    Returns:
        dict: ``name``; ``frames`` uint8 ``Tensor[T, 3, H, W]``; ``boxes`` float64 ``Tensor[T, 4]``
        (x1, y1, x2, y2), exact; ``occluded`` float64 ``Tensor[T]`` (the fraction of the target's
        pixels hidden by the occluder).
    """
    if type(num_frames) is not int or num_frames < 2:
        raise ValueError(f"num_frames must be an int >= 2, got {num_frames!r}")
    height, width = (int(v) for v in image_size)
    if height < 48 or width < 48:
        raise ValueError(f"image_size must be at least (48, 48), got {tuple(image_size)}")
    if num_distractors < 0:
        raise ValueError(f"num_distractors must be >= 0, got {num_distractors}")
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    rng = np.random.default_rng(seed)
    background = _background(rng, height, width)
    base = min(height, width)
    w0, h0 = rng.uniform(0.16, 0.26) * base, rng.uniform(0.16, 0.26) * base
    tex_a, tex_b = _texture(rng, 4), _texture(rng, 4)
    target = _Walker(rng, width, height, w0 * 1.25, h0 * 1.25, speed)
    distractors = []
    for _ in range(num_distractors):
        dw, dh = w0 * rng.uniform(0.8, 1.2), h0 * rng.uniform(0.8, 1.2)
        distractors.append((_Walker(rng, width, height, dw, dh, speed), dw, dh, _texture(rng, 4)))
    occ = None
    if occlusion:
        vertical = bool(rng.integers(0, 2))
        thick = rng.uniform(0.10, 0.16) * base
        t_mid = rng.uniform(0.35, 0.65) * num_frames
        occ = (vertical, thick, t_mid, _texture(rng, 3))
    log_s, log_a = 0.0, 0.0
    blend_end = rng.uniform(0.3, 0.6)
    phase = rng.uniform(0, 2 * np.pi)
    frames, boxes, occluded = [], [], []
    for t in range(num_frames):
        if t > 0:
            log_s = float(np.clip(log_s + rng.normal(0, 0.02), np.log(0.8), np.log(1.25)))
            log_a = float(np.clip(log_a + rng.normal(0, 0.01), -0.1, 0.1))
        w, h = w0 * np.exp(log_s + log_a), h0 * np.exp(log_s - log_a)
        if t > 0:
            target.step(w, h)
        box = (target.cx - w / 2, target.cy - h / 2, target.cx + w / 2, target.cy + h / 2)
        img = background.copy()
        for walker, dw, dh, tex in distractors:
            if t > 0:
                walker.step(dw, dh)
            _paint(img, (walker.cx - dw / 2, walker.cy - dh / 2, walker.cx + dw / 2, walker.cy + dh / 2), tex)
        alpha = blend_end * t / max(num_frames - 1, 1)
        gain = 1.0 + 0.12 * np.sin(2 * np.pi * t / 24 + phase)
        _paint(img, box, (1 - alpha) * tex_a + alpha * tex_b, gain)
        hidden = 0.0
        if occ is not None:
            vertical, thick, t_mid, tex = occ
            # the bar crosses the target's centre at t_mid, sweeping at 3 px per frame
            offset = 3.0 * (t - t_mid)
            if vertical:
                x_mid = target.cx + offset
                bar = (x_mid - thick / 2, 0.0, x_mid + thick / 2, float(height))
            else:
                y_mid = target.cy + offset
                bar = (0.0, y_mid - thick / 2, float(width), y_mid + thick / 2)
            if abs(offset) < (w + h):  # only near the crossing
                _paint(img, bar, tex)
                ix = max(0.0, min(box[2], bar[2]) - max(box[0], bar[0]))
                iy = max(0.0, min(box[3], bar[3]) - max(box[1], bar[1]))
                hidden = ix * iy / (w * h)
        img = img + rng.normal(0, 4.0, size=img.shape)
        frames.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
        boxes.append(box)
        occluded.append(hidden)
    return {
        "name": name if name is not None else f"sot_{seed}",
        "frames": torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous(),  # [T, 3, H, W]
        "boxes": torch.tensor(boxes, dtype=torch.float64),  # [T, 4]
        "occluded": torch.tensor(occluded, dtype=torch.float64),  # [T]
    }


def make_sot_split(seed: int, num_sequences: int = 4, num_frames: int = 48,
                   image_size: tuple[int, int] = (96, 96), **options) -> list[dict]:
    """``num_sequences`` sequences from one seed (sequence ``i`` uses the ``i``-th child seed of
    ``numpy.random.SeedSequence(seed)``), named ``sot_<i:03d>``."""
    children = np.random.SeedSequence(seed).spawn(num_sequences)
    return [make_sot_sequence(int(c.generate_state(1, dtype=np.uint64)[0]), num_frames, image_size,
                              name=f"sot_{i:03d}", **options) for i, c in enumerate(children)]


def write_otb(sequence: dict, root: Path | str, *, ext: str = "png") -> Path:
    """Write one sequence in the OTB layout under ``root/<name>/``; returns that folder.

    ``ext`` is ``"png"`` (lossless, the default) or ``"jpg"`` (as OTB-100; lossy). Boxes are
    written as ``x,y,w,h`` with full float precision (``repr``)."""
    from PIL import Image

    if ext not in ("png", "jpg"):
        raise ValueError(f"ext must be 'png' or 'jpg', got {ext!r}")
    folder = Path(root) / sequence["name"]
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(sequence["frames"]):
        Image.fromarray(frame.permute(1, 2, 0).numpy()).save(folder / "img" / f"{t + 1:04d}.{ext}")
    rects = xyxy_to_xywh(sequence["boxes"].double())
    lines = [",".join(repr(float(v)) for v in row) for row in rects.tolist()]
    (folder / "groundtruth_rect.txt").write_text("\n".join(lines) + "\n")
    return folder


def _parse_rects(text: str) -> torch.Tensor:
    rows = []
    for k, line in enumerate(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        parts = line.replace(",", " ").replace("\t", " ").split()
        if len(parts) != 4:
            raise ValueError(f"groundtruth_rect.txt line {k + 1}: expected 4 numbers x,y,w,h, got {line!r}")
        rows.append([float(p) for p in parts])
    return torch.tensor(rows, dtype=torch.float64).reshape(-1, 4)


def load_otb(folder: Path | str) -> dict:
    """Read one OTB sequence folder (``img/`` + ``groundtruth_rect.txt``).

    Returns:
        dict: ``name`` (the folder's name), ``frames`` uint8 ``Tensor[T, 3, H, W]`` (RGB; grey
        frames are repeated to 3 channels), ``boxes`` float64 ``Tensor[T, 4]`` (x1, y1, x2, y2).

    Raises:
        FileNotFoundError: no ``img/`` folder or no ``groundtruth_rect.txt``.
        ValueError: the numbers of frames and boxes differ, or a line is not 4 numbers.
    """
    from PIL import Image

    folder = Path(folder)
    gt_path = folder / "groundtruth_rect.txt"
    if not gt_path.is_file():
        raise FileNotFoundError(f"no groundtruth_rect.txt in {folder}")
    if not (folder / "img").is_dir():
        raise FileNotFoundError(f"no img/ folder in {folder}")
    paths = sorted(p for p in (folder / "img").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    boxes = xywh_to_xyxy(_parse_rects(gt_path.read_text()))
    if len(paths) != boxes.shape[0]:
        raise ValueError(f"{folder}: {len(paths)} frames in img/ but {boxes.shape[0]} boxes in groundtruth_rect.txt")
    frames = []
    for p in paths:
        with Image.open(p) as im:
            frames.append(np.asarray(im.convert("RGB")))
    stacked = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous() if frames else \
        torch.zeros(0, 3, 0, 0, dtype=torch.uint8)
    return {"name": folder.name, "frames": stacked, "boxes": boxes}
