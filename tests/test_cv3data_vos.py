"""cv3data.vos: moving-shape sequences with exact masks and flow, the DAVIS layout and loader."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cv3data.vos import davis_palette, load_davis, make_vos_sequence, make_vos_sequences, vos_split, write_davis


def warp_back(frame_next, flow):
    """frame_next sampled at p + flow(p) (float64 bilinear, pixel-centre coordinates)."""
    _, h, w = frame_next.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    gx = (xs + flow[0].double()) / (w - 1) * 2 - 1
    gy = (ys + flow[1].double()) / (h - 1) * 2 - 1
    grid = torch.stack([gx, gy], -1)[None]
    return F.grid_sample(frame_next[None].double(), grid, align_corners=True)[0]


def test_shapes_dtypes_and_determinism():
    s = make_vos_sequence(3, height=32, width=40, frames=5)
    assert s["frames"].shape == (5, 3, 32, 40) and s["frames"].dtype == torch.uint8
    assert s["masks"].shape == (5, 32, 40) and s["masks"].dtype == torch.uint8
    assert s["flow"].shape == (4, 2, 32, 40) and s["flow"].dtype == torch.float32
    assert s["occlusion"].shape == (4, 32, 40) and s["occlusion"].dtype == torch.bool
    assert set(s["masks"].unique().tolist()) <= {0, 1} and s["name"] == "shapes3"
    t = make_vos_sequence(3, height=32, width=40, frames=5)
    for k in ("frames", "masks", "flow", "occlusion"):
        assert torch.equal(s[k], t[k])
    assert not torch.equal(s["frames"], make_vos_sequence(4, height=32, width=40, frames=5)["frames"])
    with pytest.raises(ValueError, match="height"):
        make_vos_sequence(0, height=8)
    with pytest.raises(ValueError, match="frames"):
        make_vos_sequence(0, frames=1)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_flow_is_exact_brightness_constancy(seed):
    s = make_vos_sequence(seed, illumination=False)
    f = s["frames"]
    errs_vis, errs_occ = [], []
    for t in range(f.shape[0] - 1):
        diff = (warp_back(f[t + 1], s["flow"][t]) - f[t].double()).abs().mean(0)
        vis = ~s["occlusion"][t]
        errs_vis.append(diff[vis].mean())
        if (~vis).sum() > 20:
            errs_occ.append(diff[~vis].mean())
    # textures are smooth: bilinear interpolation error plus uint8 rounding only
    assert max(errs_vis) < 4.0, f"visible pixels do not follow the flow: {max(errs_vis):.2f} grey levels"
    if errs_occ:
        assert np.mean(errs_occ) > 3 * np.mean(errs_vis), "occluded pixels should not match"


def test_masks_move_with_the_flow():
    s = make_vos_sequence(5, occluder=False)
    for t in range(s["masks"].shape[0] - 1):
        m = s["masks"][t].bool()
        ys, xs = torch.nonzero(m, as_tuple=True)
        fx = s["flow"][t, 0][m].double()
        fy = s["flow"][t, 1][m].double()
        nx = torch.floor(xs + fx + 0.5).long()
        ny = torch.floor(ys + fy + 0.5).long()
        inside = (nx >= 0) & (nx < 48) & (ny >= 0) & (ny < 48)
        hit = s["masks"][t + 1][ny[inside], nx[inside]].float().mean()
        assert hit > 0.93, f"frame {t}: only {float(hit):.2f} of the object lands on the next mask"


def test_background_translates_and_illumination_changes():
    s = make_vos_sequence(7, occluder=False)
    bg = s["masks"][0] == 0
    fx = s["flow"][0, 0][bg]
    assert float(fx.max() - fx.min()) < 1e-5, "the background moves by one translation"
    lit = make_vos_sequence(11, illumination=True)["frames"].double()
    dark = make_vos_sequence(11, illumination=False)["frames"].double()
    ratio = (lit[-1].mean() / dark[-1].mean()).item()
    assert torch.equal(lit[0], dark[0]) and abs(ratio - 1) > 0.01, f"gain at the last frame {ratio:.3f}"


def test_occluder_hides_the_object_and_leaving_pixels_are_flagged():
    drops = 0
    for seed in range(6):
        with_occ = make_vos_sequence(seed)["masks"].sum((1, 2)).double()
        without = make_vos_sequence(seed, occluder=False)["masks"].sum((1, 2)).double()
        assert bool((with_occ <= without).all()), "the occluder is in front of the object"
        drops += int(((without - with_occ) > 5).any())
    assert drops >= 4, f"the occluder hid part of the object in only {drops} of 6 sequences"
    s = make_vos_sequence(2)
    ys, xs = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
    for t in range(s["flow"].shape[0]):
        nx, ny = xs + s["flow"][t, 0], ys + s["flow"][t, 1]
        out = (nx < 0) | (nx > 47) | (ny < 0) | (ny > 47)
        assert bool(s["occlusion"][t][out].all())


def test_sequences_and_splits():
    seqs = make_vos_sequences(3, 5, height=16, width=16, frames=3)
    assert [s["name"] for s in seqs] == ["seq000", "seq001", "seq002"]
    assert not torch.equal(seqs[0]["frames"], seqs[1]["frames"])
    big = make_vos_sequences(1, 2 ** 127 + 12345, height=16, width=16, frames=2)  # 128-bit held-out seeds
    assert big[0]["frames"].shape == (2, 3, 16, 16)
    train = vos_split("train", frames=2)
    assert len(train) == 8 and torch.equal(train[0]["frames"], vos_split("train", frames=2)[0]["frames"])
    with pytest.raises(ValueError, match="split"):
        vos_split("test")


def test_davis_roundtrip(tmp_path):
    seqs = make_vos_sequences(2, 1, height=16, width=24, frames=3)
    write_davis(seqs, tmp_path, split="val")
    assert (tmp_path / "JPEGImages" / "480p" / "seq000" / "00002.png").is_file()
    ann = tmp_path / "Annotations" / "480p" / "seq001" / "00000.png"
    with Image.open(ann) as im:
        assert im.mode == "P" and im.getpalette()[3:6] == [128, 0, 0]
    assert (tmp_path / "ImageSets" / "2017" / "val.txt").read_text().split() == ["seq000", "seq001"]
    loaded = load_davis(tmp_path, split="val")
    assert [s["name"] for s in loaded] == ["seq000", "seq001"]
    for a, b in zip(seqs, loaded):
        assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["masks"], b["masks"])
        assert b["mask_frames"] == [0, 1, 2]
    assert [s["name"] for s in load_davis(tmp_path, sequences=["seq001"])] == ["seq001"]
    assert davis_palette()[:6] == [0, 0, 0, 128, 0, 0]


def test_loader_reads_a_davis2016_style_tree(tmp_path):
    # DAVIS 2016: no resolution folder, JPEG frames, grayscale 0/255 masks; a test-dev-like
    # sequence with only frame 0 annotated; a 2017 palette annotation with two objects and void
    rng = np.random.default_rng(0)
    for name in ("bear", "cows"):
        (tmp_path / "JPEGImages" / name).mkdir(parents=True)
        (tmp_path / "Annotations" / name).mkdir(parents=True)
        for t in range(3):
            Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(
                tmp_path / "JPEGImages" / name / f"{t:05d}.jpg")
    m = np.zeros((10, 12), dtype=np.uint8)
    m[2:5, 3:7] = 255
    for t in range(3):
        Image.fromarray(m, mode="L").save(tmp_path / "Annotations" / "bear" / f"{t:05d}.png")
    p = np.zeros((10, 12), dtype=np.uint8)
    p[1:3, 1:3], p[5:8, 5:9], p[0, :] = 1, 2, 255
    im = Image.fromarray(p, mode="P")
    im.putpalette(davis_palette())
    im.save(tmp_path / "Annotations" / "cows" / "00000.png")
    (tmp_path / "ImageSets").mkdir()
    (tmp_path / "ImageSets" / "train.txt").write_text("/JPEGImages/480p/bear\n")
    bear, cows = load_davis(tmp_path)
    assert bear["frames"].shape == (3, 3, 10, 12) and bear["frames"].dtype == torch.uint8
    assert torch.equal(bear["masks"][0], torch.from_numpy((m > 0).astype(np.uint8)))
    assert cows["mask_frames"] == [0] and torch.equal(cows["masks"][0], torch.from_numpy(p))
    assert [s["name"] for s in load_davis(tmp_path, split="train")] == ["bear"]
    with pytest.raises(FileNotFoundError, match="split"):
        load_davis(tmp_path, split="val")
    with pytest.raises(FileNotFoundError, match="JPEGImages"):
        load_davis(tmp_path / "nothing")


def test_speed_scales_the_motion_only():
    base = make_vos_sequence(4, occluder=False, scale_change=False)
    assert torch.equal(base["frames"], make_vos_sequence(4, occluder=False, scale_change=False, speed=1.0)["frames"])
    fast = make_vos_sequence(4, occluder=False, scale_change=False, speed=2.0)

    def travel(seq):
        m = seq["masks"].double()
        ys, xs = torch.arange(48.0), torch.arange(48.0)
        cx = (m.sum(1) * xs).sum(1) / m.sum((1, 2))
        cy = (m.sum(2) * ys).sum(1) / m.sum((1, 2))
        return float(torch.hypot(cx[-1] - cx[0], cy[-1] - cy[0]))

    assert travel(fast) == pytest.approx(2 * travel(base), rel=0.15)
    with pytest.raises(ValueError, match="speed"):
        make_vos_sequence(0, speed=-1.0)
