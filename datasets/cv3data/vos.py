"""Deterministic moving-shape video sequences with exact masks and exact optical flow, the DAVIS
folder layout, and a loader that also reads real DAVIS folders.

Every sequence shows one annotated object (object id 1) moving over a textured background that
itself translates, optionally with an unannotated occluder passing in front of the object,
a change of scale (and a slow rotation) of the object, and a change of illumination (a global gain
per frame). All textures are *continuous* functions (sums of random sinusoids per channel), so a
frame is the exact rendering, at the pixel centres, of the moved textures; the object mask and the
flow come from the same geometry, so both are exact:

* pixel ``(row i, column j)`` has coordinates ``x = j, y = i`` (pixel centres, no half-pixel
  shift); the object at frame ``t`` maps its own coordinates ``u`` to the image by
  ``p = c_t + s_t R(theta_t) u`` (centre, scale, rotation);
* ``flow[t, :, i, j]`` is the displacement ``(dx, dy)`` (channel 0 = x = columns, channel 1 = y =
  rows, the OpenCV order) of the surface point seen at pixel ``(i, j)`` of frame ``t`` to its
  position in frame ``t + 1``: the occluder's translation on occluder pixels, the object's
  similarity transform on object pixels, the background's translation elsewhere;
* ``occlusion[t, i, j]`` is True where that surface point is not visible in frame ``t + 1``:
  it lands outside ``[0, W - 1] x [0, H - 1]`` or behind a layer in front of it (object and
  occluder hide the background, the occluder hides the object);
* ``masks[t]`` is 1 on visible object pixels (the occluder's pixels are background, 0).

With ``illumination=False`` brightness constancy holds up to the uint8 rounding.

Files follow the DAVIS layout (DAVIS 2017 semi-supervised)::

    root/JPEGImages/480p/<seq>/00000.png   RGB frames (PNG, lossless: DAVIS ships JPEG, whose
                                           compression would break the exact-flow property)
    root/Annotations/480p/<seq>/00000.png  mode "P" palette PNG: value = object id (0 background,
                                           255 void), the DAVIS/VOC colour map as palette
    root/ImageSets/2017/<split>.txt        one sequence name per line

The resolution folder is called ``480p`` as in DAVIS even though these frames are small.
:func:`load_davis` reads such a folder and real DAVIS trees: ``.jpg`` or ``.png`` frames, palette
annotations (DAVIS 2017, indices kept, 255 = void) or grayscale 0/255 annotations (DAVIS 2016,
mapped to 0/1), with or without the resolution folder, with annotations for a subset of frames
(e.g. only frame 0 on test-dev). All randomness comes from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .segscenes import voc_palette

__all__ = ["VOS_SPLIT_SEEDS", "make_vos_sequence", "make_vos_sequences", "vos_split", "davis_palette",
           "write_davis", "load_davis"]

#: public seeds of the public splits (the grader's held-out sequences use a secret seed)
VOS_SPLIT_SEEDS = {"train": 1601, "val": 1602}
_SPLIT_SIZES = {"train": 8, "val": 8}


def davis_palette() -> list[int]:
    """DAVIS annotation palette: the PASCAL VOC colour map (index 1 dark red, 2 dark green, ...)."""
    return voc_palette()


def _texture(rng: np.random.Generator, base: np.ndarray, amplitude: float, periods: tuple[float, float], k: int = 4):
    """A continuous RGB texture: ``base + sum_k a_k sin(w_k . (x, y) + phi_k)`` per channel."""
    ang = rng.uniform(0, np.pi, size=(3, k))
    per = rng.uniform(*periods, size=(3, k))
    wx, wy = 2 * np.pi / per * np.cos(ang), 2 * np.pi / per * np.sin(ang)
    phi = rng.uniform(0, 2 * np.pi, size=(3, k))
    amp = rng.uniform(0.4, 1.0, size=(3, k)) * amplitude / k

    def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # x, y [...] -> [..., 3]
        out = np.empty(x.shape + (3,))
        for c in range(3):
            v = np.full(x.shape, base[c])
            for j in range(k):
                v = v + amp[c, j] * np.sin(wx[c, j] * x + wy[c, j] * y + phi[c, j])
            out[..., c] = v
        return out

    return f


def _star(rng: np.random.Generator, radius: float):
    """A star-shaped blob ``|u| < r(angle)`` with ``r = radius (1 + sum a_k cos(k angle + phi_k))``."""
    a = rng.uniform(0.0, 0.18, size=3)
    phi = rng.uniform(0, 2 * np.pi, size=3)

    def inside(ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
        ang = np.arctan2(uy, ux)
        r = radius * (1 + sum(a[k] * np.cos((k + 2) * ang + phi[k]) for k in range(3)))
        return np.hypot(ux, uy) < r

    return inside


def make_vos_sequence(seed: int, *, height: int = 48, width: int = 48, frames: int = 10, occluder: bool = True,
                      scale_change: bool = True, illumination: bool = True, speed: float = 1.0,
                      name: str | None = None) -> dict:
    """One synthetic sequence (see the module docstring for the geometry and conventions).

    Returns:
        dict: ``name`` (str), ``frames`` uint8 ``Tensor[T, 3, H, W]``, ``masks`` uint8
        ``Tensor[T, H, W]`` (0/1), ``flow`` float32 ``Tensor[T-1, 2, H, W]`` (dx, dy),
        ``occlusion`` bool ``Tensor[T-1, H, W]``.

    ``speed`` multiplies the velocities of the object and of the occluder (1.0: up to 1.2 px per
    frame per axis at 48 x 48); the random draws do not depend on it.

    Raises:
        ValueError: ``height`` or ``width`` < 16, ``frames`` < 2, or ``speed`` < 0.
    """
    for arg, v, lo in (("height", height, 16), ("width", width, 16), ("frames", frames, 2)):
        if type(v) is not int or v < lo:
            raise ValueError(f"{arg} must be an int >= {lo}, got {v!r}")
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed >= 0:
        raise ValueError(f"speed must be a number >= 0, got {speed!r}")
    rng = np.random.default_rng(seed)
    h, w, n = height, width, frames
    size = min(h, w)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    # background: a texture translating at a constant (sub-pixel) velocity
    bg_tex = _texture(rng, rng.uniform(0.25, 0.6, 3), 0.35, (size / 6, size / 2))
    bg_vel = rng.uniform(-0.6, 0.6, 2)
    # the object: a blob with its own texture and colour, moving by a similarity transform
    obj_col = rng.uniform(0.2, 0.9, 3)
    obj_col[rng.integers(3)] = rng.choice([0.05, 0.95])  # a distinct hue
    obj_tex = _texture(rng, obj_col, 0.3, (4.0, 10.0))
    obj_in = _star(rng, size * rng.uniform(0.18, 0.25))
    vel = rng.uniform(-1.2, 1.2, 2) * size / 48 * speed
    c0 = np.array([w, h]) / 2 - vel * (n - 1) / 2 + rng.uniform(-0.1, 0.1, 2) * size
    # drawn whatever the switches say, so that switching one off changes nothing else
    growth, omega, gain = rng.uniform(-0.035, 0.035), rng.uniform(-0.05, 0.05), rng.uniform(-0.035, 0.035)
    growth, omega = (growth, omega) if scale_change else (0.0, 0.0)
    gain = gain if illumination else 0.0
    # the occluder: a bar crossing the object's path at mid-sequence, translating only
    occ_tex = _texture(rng, rng.uniform(0.3, 0.8, 3), 0.3, (3.0, 8.0))
    occ_half = np.array([rng.uniform(0.05, 0.08), rng.uniform(0.25, 0.4)]) * size
    if rng.random() < 0.5:
        occ_half = occ_half[::-1].copy()
    occ_vel = -vel + rng.uniform(-0.5, 0.5, 2) * speed
    occ_c0 = c0 + vel * (n - 1) / 2 - occ_vel * (n - 1) / 2  # meets the object's centre at mid-sequence

    def obj_pose(t):
        return c0 + vel * t, (1 + growth) ** t, omega * t

    def obj_local(t, px, py):
        c, s, th = obj_pose(t)
        dx, dy = px - c[0], py - c[1]
        ct, st = np.cos(th), np.sin(th)
        return (ct * dx + st * dy) / s, (-st * dx + ct * dy) / s

    def obj_global(t, ux, uy):
        c, s, th = obj_pose(t)
        ct, st = np.cos(th), np.sin(th)
        return c[0] + s * (ct * ux - st * uy), c[1] + s * (st * ux + ct * uy)

    def occ_at(t, px, py):
        if not occluder:
            return np.zeros(px.shape, dtype=bool)
        c = occ_c0 + occ_vel * t
        return (np.abs(px - c[0]) < occ_half[0]) & (np.abs(py - c[1]) < occ_half[1])

    def obj_at(t, px, py):
        return obj_in(*obj_local(t, px, py))

    frames_out = np.empty((n, 3, h, w), dtype=np.uint8)
    masks = np.empty((n, h, w), dtype=np.uint8)
    flow = np.empty((max(n - 1, 0), 2, h, w), dtype=np.float32)
    occl = np.empty((max(n - 1, 0), h, w), dtype=bool)
    for t in range(n):
        occ = occ_at(t, xs, ys)
        obj = obj_at(t, xs, ys) & ~occ
        rgb = bg_tex(xs - bg_vel[0] * t, ys - bg_vel[1] * t)
        rgb[obj] = obj_tex(*obj_local(t, xs[obj], ys[obj]))
        if occluder:
            oc = occ_c0 + occ_vel * t
            rgb[occ] = occ_tex(xs[occ] - oc[0], ys[occ] - oc[1])
        rgb = rgb * (1 + gain * t)
        frames_out[t] = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8).transpose(2, 0, 1)
        masks[t] = obj
        if t + 1 < n:
            nx, ny = xs + bg_vel[0], ys + bg_vel[1]
            bx, by = obj_global(t + 1, *obj_local(t, xs[obj], ys[obj]))
            nx[obj], ny[obj] = bx, by
            if occluder:
                nx[occ], ny[occ] = xs[occ] + occ_vel[0], ys[occ] + occ_vel[1]
            flow[t, 0], flow[t, 1] = nx - xs, ny - ys
            outside = (nx < 0) | (nx > w - 1) | (ny < 0) | (ny > h - 1)
            occ_next = occ_at(t + 1, nx, ny)
            hidden = np.where(occ, False, np.where(obj, occ_next, occ_next | obj_at(t + 1, nx, ny)))
            occl[t] = outside | hidden
    return {"name": name if name is not None else f"shapes{seed}", "frames": torch.from_numpy(frames_out),
            "masks": torch.from_numpy(masks), "flow": torch.from_numpy(flow), "occlusion": torch.from_numpy(occl)}


def make_vos_sequences(n: int, seed: int, **kwargs) -> list[dict]:
    """``n`` sequences; sequence ``k`` uses a seed drawn from ``default_rng(seed)`` and is named
    ``f"seq{k:03d}"``. ``kwargs`` go to :func:`make_vos_sequence`."""
    if type(n) is not int or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    seeds = np.random.default_rng(seed).integers(0, 2 ** 31 - 1, size=n)
    return [make_vos_sequence(int(s), name=f"seq{k:03d}", **kwargs) for k, s in enumerate(seeds)]


def vos_split(split: str, **kwargs) -> list[dict]:
    """The public ``train`` or ``val`` split (fixed public seeds, 8 sequences each)."""
    if split not in VOS_SPLIT_SEEDS:
        raise ValueError(f"split must be one of {sorted(VOS_SPLIT_SEEDS)}, got {split!r}")
    return make_vos_sequences(_SPLIT_SIZES[split], VOS_SPLIT_SEEDS[split], **kwargs)


def write_davis(sequences: Sequence[dict], root: str | Path, *, split: str = "val", resolution: str = "480p") -> Path:
    """Write ``sequences`` (dicts with ``name``, ``frames`` uint8 [T,3,H,W], ``masks`` [T,H,W]
    object ids) in the DAVIS layout under ``root``; returns ``root``."""
    from PIL import Image

    root = Path(root)
    names = []
    for seq in sequences:
        name = str(seq["name"])
        names.append(name)
        fdir = root / "JPEGImages" / resolution / name
        adir = root / "Annotations" / resolution / name
        fdir.mkdir(parents=True, exist_ok=True)
        adir.mkdir(parents=True, exist_ok=True)
        frames = torch.as_tensor(seq["frames"]).numpy()
        masks = torch.as_tensor(seq["masks"]).numpy()
        for t in range(frames.shape[0]):
            Image.fromarray(np.ascontiguousarray(frames[t].transpose(1, 2, 0)), mode="RGB").save(fdir / f"{t:05d}.png")
        for t in range(masks.shape[0]):
            im = Image.fromarray(masks[t].astype(np.uint8), mode="P")
            im.putpalette(davis_palette())
            im.save(adir / f"{t:05d}.png")
    sets = root / "ImageSets" / "2017"
    sets.mkdir(parents=True, exist_ok=True)
    (sets / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return root


def _read_annotation(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        if im.mode == "P":  # DAVIS 2017: palette indices are object ids (255 void)
            return np.array(im, dtype=np.uint8)
        gray = np.array(im.convert("L"))  # DAVIS 2016: 0 / 255 binary masks
        return (gray > 127).astype(np.uint8)


def load_davis(root: str | Path, *, resolution: str = "480p", split: str | None = None,
               sequences: Sequence[str] | None = None) -> list[dict]:
    """Sequences of a DAVIS folder (written by :func:`write_davis`, or a real DAVIS 2016/2017 tree).

    Args:
        root: the folder holding ``JPEGImages`` and ``Annotations``.
        resolution: the resolution folder (``480p``); a tree without one is read directly.
        split: read the names from ``ImageSets/2017/<split>.txt`` (or ``ImageSets/<split>.txt``).
        sequences: explicit names (default: every folder, sorted).

    Returns:
        list of dicts: ``name``, ``frames`` uint8 ``Tensor[T, 3, H, W]``, ``masks`` uint8
        ``Tensor[K, H, W]`` for the annotated frames ``mask_frames`` (list of K frame indices,
        all frames in a training tree, only frame 0 on test-dev).

    Raises:
        FileNotFoundError: no ``JPEGImages`` folder, a missing split file or sequence.
    """
    from PIL import Image

    root = Path(root)
    img_root = root / "JPEGImages" / resolution
    ann_root = root / "Annotations" / resolution
    if not img_root.is_dir():
        img_root, ann_root = root / "JPEGImages", root / "Annotations"
    if not img_root.is_dir():
        raise FileNotFoundError(f"no JPEGImages folder under {root}")
    if sequences is None and split is not None:
        for cand in (root / "ImageSets" / "2017" / f"{split}.txt", root / "ImageSets" / f"{split}.txt",
                     root / "ImageSets" / resolution / f"{split}.txt"):
            if cand.is_file():
                sequences = [ln.strip().split("/")[-1] for ln in cand.read_text().splitlines() if ln.strip()]
                break
        else:
            raise FileNotFoundError(f"no split file for {split!r} under {root / 'ImageSets'}")
    if sequences is None:
        sequences = sorted(p.name for p in img_root.iterdir() if p.is_dir())
    out = []
    for name in sequences:
        fdir = img_root / name
        if not fdir.is_dir():
            raise FileNotFoundError(f"sequence {name!r}: no folder {fdir}")
        files = sorted(p for p in fdir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        frames = []
        for p in files:
            with Image.open(p) as im:
                frames.append(np.array(im.convert("RGB")).transpose(2, 0, 1))
        masks, idx = [], []
        for t, p in enumerate(files):
            ann = ann_root / name / f"{p.stem}.png"
            if ann.is_file():
                masks.append(_read_annotation(ann))
                idx.append(t)
        h, w = frames[0].shape[1:] if frames else (0, 0)
        out.append({"name": name, "frames": torch.from_numpy(np.stack(frames)) if frames else
                    torch.zeros(0, 3, 0, 0, dtype=torch.uint8),
                    "masks": torch.from_numpy(np.stack(masks)) if masks else torch.zeros(0, h, w, dtype=torch.uint8),
                    "mask_frames": idx})
    return out
