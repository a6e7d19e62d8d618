"""Hidden tests of the positional encodings [posenc].

Oracles: float64 formulas written here (the notes' interleaved 1-D encoding; MAE's
get_2d_sincos_pos_embed transcribed in numpy), torchvision's interpolate_embeddings for square
grids and F.interpolate for others.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import interpolate_embeddings

from _tf_oracles import randn
from harness.testkit import assert_tensor, check_gradient


def mae_1d(dim, pos):
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def mae_2d(dim, gh, gw, cls_token=False):
    grid = np.meshgrid(np.arange(gw, dtype=np.float64), np.arange(gh, dtype=np.float64))  # w first, as MAE
    grid = np.stack(grid, axis=0).reshape(2, 1, gh, gw)
    emb = np.concatenate([mae_1d(dim // 2, grid[0]), mae_1d(dim // 2, grid[1])], axis=1)
    if cls_token:
        emb = np.concatenate([np.zeros([1, dim]), emb], axis=0)
    return torch.from_numpy(emb)


@pytest.mark.task("posenc")
@pytest.mark.parametrize("p, d", [(50, 16), (7, 2), (1, 32)])
def test_sinusoidal_1d_is_interleaved(student, p, d):
    got = student.sinusoidal_encoding_1d(p, d)
    expected = torch.zeros(p, d, dtype=torch.float64)
    for pos in range(p):
        for i in range(d // 2):
            a = pos / 10000 ** (2 * i / d)
            expected[pos, 2 * i], expected[pos, 2 * i + 1] = np.sin(a), np.cos(a)
    assert_tensor(got, expected.float(), atol=1e-6, case=f"P={p}, D={d}")


@pytest.mark.task("posenc")
def test_sinusoidal_1d_base_dtype_and_empty(student):
    got = student.sinusoidal_encoding_1d(5, 8, base=100.0, dtype=torch.float64)
    pos, i = torch.arange(5.0, dtype=torch.float64)[:, None], torch.arange(4, dtype=torch.float64)
    a = pos / 100.0 ** (2 * i / 8)
    assert_tensor(got, torch.stack((a.sin(), a.cos()), -1).reshape(5, 8), atol=1e-12, case="base 100, float64")
    assert_tensor(student.sinusoidal_encoding_1d(0, 6), torch.zeros(0, 6), case="P=0")
    with pytest.raises(ValueError, match="dim"):
        student.sinusoidal_encoding_1d(4, 7)


@pytest.mark.task("posenc")
@pytest.mark.parametrize("gh, gw, d, cls", [(4, 4, 16, False), (3, 5, 8, True), (1, 6, 32, False), (5, 1, 8, False),
                                             (14, 14, 64, True)])
def test_sincos_2d_is_maes_layout(student, gh, gw, d, cls):
    got = student.sincos_encoding_2d(gh, gw, d, cls_token=cls)
    assert_tensor(got, mae_2d(d, gh, gw, cls).float(), atol=1e-6, case=f"{gh}x{gw}, D={d}, cls={cls}")


@pytest.mark.task("posenc")
def test_sincos_2d_rejects_bad_dim(student):
    with pytest.raises(ValueError, match="dim"):
        student.sincos_encoding_2d(4, 4, 6)
    with pytest.raises(ValueError, match="grid"):
        student.sincos_encoding_2d(0, 4, 8)


@pytest.mark.task("posenc")
@pytest.mark.parametrize("old, new", [(4, 6), (6, 3), (5, 5)])
def test_interpolate_pos_embedding_matches_torchvision(student, old, new):
    pe = randn(1, 1 + old * old, 8, seed=old * 10 + new)
    expected = interpolate_embeddings(new * 4, 4, {"encoder.pos_embedding": pe})["encoder.pos_embedding"]
    assert_tensor(student.interpolate_pos_embedding(pe, (old, old), (new, new)), expected, atol=1e-5, rtol=1e-5,
                  case=f"{old}x{old} -> {new}x{new}")


@pytest.mark.task("posenc")
def test_interpolate_pos_embedding_rectangular_and_prefix(student):
    pe = randn(1, 2 + 3 * 5, 6, seed=3)
    grid = pe[:, 2:].reshape(1, 3, 5, 6).permute(0, 3, 1, 2)
    out = F.interpolate(grid, size=(4, 7), mode="bicubic", align_corners=True).permute(0, 2, 3, 1).reshape(1, 28, 6)
    expected = torch.cat([pe[:, :2], out], dim=1)
    got = student.interpolate_pos_embedding(pe, (3, 5), (4, 7), num_prefix_tokens=2)
    assert_tensor(got, expected, atol=1e-5, rtol=1e-5, case="3x5 -> 4x7, 2 prefix tokens")
    check_gradient(student, "interpolate_pos_embedding", [pe.double(), (3, 5), (4, 7), 2])
    with pytest.raises(ValueError, match="tokens|pos_embedding|old_grid"):
        student.interpolate_pos_embedding(pe, (4, 4), (2, 2), num_prefix_tokens=2)
