"""Hidden tests for the classes of one-mistake variants that survived `cv3 check transformers --mutants`
(seed 31): every documented threshold at exactly its value (``sigmoid < 0.5`` blocks, so a logit
of exactly 0 does not), and every documented lower bound of a size parameter at exactly the bound
(a grid side of 1, a window side of 1), which must be accepted and computed like any other size.

Oracles: float64 loops written here (windows cut by index arithmetic, the blocking rule) and
``torch.nn.functional.interpolate`` (the interpolation the docstring names).
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from scipy.optimize import linear_sum_assignment
from torchvision.models import swin_transformer as tvs
from torchvision.ops import box_convert
from torchvision.ops import generalized_box_iou as tv_generalized_box_iou

from _tf_oracles import perturbed, randn, state_dict
from harness.testkit import assert_tensor, task_rows


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ masked attention
@pytest.mark.task("maskformer")
@pytest.mark.parametrize("num_heads", [1, 3])
def test_masked_attention_mask_logit_zero_is_not_blocked(student, num_heads):
    # logits in {-1, 0, 1} (0 exactly: sigmoid is exactly 0.5); same size in and out, so bilinear
    # interpolation with align_corners=False returns the logits unchanged
    b, q, h, w = 2, 4, 3, 5
    logits = torch.randint(-1, 2, (b, q, h, w), generator=gen(0)).double()
    logits[0, 0] = 0.0  # a query that is exactly 0 everywhere: nothing blocked
    logits[0, 1] = -1.0  # fully blocked -> un-blocked entirely
    logits[1, 2] = -1.0
    logits[1, 2, 1, 1] = 0.0  # one position at exactly 0.5: only that one is open
    expected = torch.zeros(b, q, h * w, dtype=torch.bool)
    for bi in range(b):
        for qi in range(q):
            row = [float(v) < 0.0 for v in logits[bi, qi].flatten()]  # sigmoid(v) < 0.5  <=>  v < 0
            if all(row):
                row = [False] * len(row)
            expected[bi, qi] = torch.tensor(row)
    expected = expected.repeat_interleave(num_heads, dim=0)
    got = student.masked_attention_mask(logits, (h, w), num_heads)
    assert_tensor(got, expected, case="blocked iff sigmoid < 0.5 (a logit of exactly 0 stays open)")


# ------------------------------------------------------------------------------ position embeddings
@pytest.mark.task("posenc")
@pytest.mark.parametrize("old_grid,new_grid,prefix", [((1, 3), (2, 3), 1), ((2, 2), (1, 4), 0),
                                                      ((1, 1), (3, 2), 2), ((3, 1), (1, 1), 1)])
def test_interpolate_pos_embedding_grid_side_one(student, old_grid, new_grid, prefix):
    (oh, ow), (nh, nw), d = old_grid, new_grid, 5
    pe = torch.randn(1, prefix + oh * ow, d, generator=gen(1), dtype=torch.float64)
    grid = pe[:, prefix:].reshape(1, oh, ow, d).permute(0, 3, 1, 2)
    resized = F.interpolate(grid, size=(nh, nw), mode="bicubic", align_corners=True)
    expected = torch.cat([pe[:, :prefix], resized.permute(0, 2, 3, 1).reshape(1, nh * nw, d)], dim=1)
    got = student.interpolate_pos_embedding(pe, old_grid, new_grid, num_prefix_tokens=prefix)
    assert_tensor(got, expected, atol=1e-12, case=f"{old_grid} -> {new_grid}, {prefix} prefix tokens")


# ------------------------------------------------------------------------------ swin windows
def loop_partition(x, mh, mw):
    b, h, w, c = x.shape
    out = []
    for bi in range(b):
        for i in range(h // mh):
            for j in range(w // mw):
                out.append(x[bi, i * mh:(i + 1) * mh, j * mw:(j + 1) * mw])
    return torch.stack(out)


@pytest.mark.task("swin")
@pytest.mark.parametrize("window_size", [1, (1, 2), (3, 1)])
def test_window_partition_and_reverse_side_one(student, window_size):
    mh, mw = (window_size, window_size) if isinstance(window_size, int) else window_size
    x = torch.randn(2, 3, 4, 2, generator=gen(2), dtype=torch.float64)
    expected = loop_partition(x, mh, mw)
    got = student.window_partition(x, window_size)
    assert_tensor(got, expected, atol=0, case=f"window {window_size}")
    assert_tensor(student.window_reverse(expected, window_size, 3, 4), x, atol=0,
                  case=f"window_reverse, window {window_size}")


# ------------------------------------------------------------------------------ shapes and bounds
# (seed 301) every wrong shape of each mask, one axis at a time, is refused; each shift component
# is refused a hair outside [0, M) on its own axis while the other axis is valid
@pytest.mark.task("mha")
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (4, 4, 3), (3, 4, 3), (4, 3, 5), (1, 4, 5), (2, 2, 4, 5)],
                         ids=lambda s: "x".join(map(str, s)))
def test_mha_refuses_every_wrong_attn_mask_shape(student, shape):
    ref = perturbed(nn.MultiheadAttention(8, 2, batch_first=True), 21)
    mine = student.MultiHeadAttention(8, 2, batch_first=True)
    mine.load_weights(state_dict(ref))
    q, k = randn(2, 4, 8, seed=22), randn(2, 5, 8, seed=23)  # N=2, H=2, L=4, S=5: [4, 5] or [4, 4, 5]
    good = torch.rand(4, 4, 5, generator=gen(24)) < 0.3
    good[..., 0] = False  # no fully blocked row
    assert_tensor(mine(q, k, k, attn_mask=good)[0], ref(q, k, k, attn_mask=good)[0].detach(), atol=2e-5, rtol=1e-4,
                  case="a [N*H, L, S] boolean mask")
    with pytest.raises(ValueError, match="attn_mask"):
        mine(q, k, k, attn_mask=torch.zeros(shape, dtype=torch.bool))
    with pytest.raises(ValueError, match="attn_mask"):
        mine(q, k, k, attn_mask=torch.zeros(shape))


@pytest.mark.task("swin")
@pytest.mark.parametrize("shift", [(-1, 0), (0, -1), (2, 0), (0, 3), (-1, -1)], ids=str)
def test_shifted_window_mask_refuses_each_shift_outside_its_window(student, shift):
    ok = student.shifted_window_mask(4, 6, (2, 3), (1, 2))
    assert ok.shape == (4, 6, 6) and set(ok.unique().tolist()) == {0.0, -100.0}
    with pytest.raises(ValueError, match="shift|window_size"):
        student.shifted_window_mask(4, 6, (2, 3), shift)


# ------------------------------------------------------------------------------ size bounds (seed 701)
# every documented lower bound of a size at exactly the bound (computed like any other size) and a
# hair past it (ValueError naming the parameter)
@pytest.mark.task("mha")
@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_smallest_sizes_work(student, batch_first):
    for e, h in ((1, 1), (2, 2), (2, 1)):
        ref = perturbed(nn.MultiheadAttention(e, h, batch_first=batch_first), 31 + e + h)
        mine = student.MultiHeadAttention(e, h, batch_first=batch_first)
        mine.load_weights(state_dict(ref))
        q, k = randn(2, 3, e, seed=32), randn(2, 4, e, seed=33)  # [N, L, E]
        if not batch_first:
            q, k = q.transpose(0, 1).contiguous(), k.transpose(0, 1).contiguous()
        got, expected = mine(q, k, k, average_attn_weights=False), ref(q, k, k, average_attn_weights=False)
        assert_tensor(got[0], expected[0].detach(), atol=2e-5, rtol=1e-4, case=f"E={e}, heads={h}: output")
        assert_tensor(got[1], expected[1].detach(), atol=2e-5, rtol=1e-4, case=f"E={e}, heads={h}: weights")


@pytest.mark.task("mha")
@pytest.mark.parametrize("embed_dim,num_heads,name", [(0, 1, "embed_dim"), (-2, 1, "embed_dim"), (4, 0, "num_heads"),
                                                      (4, -1, "num_heads"), (4, 3, "num_heads"), (3, 6, "num_heads")])
def test_mha_refuses_sizes_past_their_bounds(student, embed_dim, num_heads, name):
    ref = perturbed(nn.MultiheadAttention(4, 4), 34)
    mine = student.MultiHeadAttention(4, 4)  # one feature per head: still a valid size
    mine.load_weights(state_dict(ref))
    q = randn(3, 2, 4, seed=35)
    assert_tensor(mine(q, q, q)[0], ref(q, q, q)[0].detach(), atol=2e-5, rtol=1e-4, case="E=4, heads=4")
    # num_heads that does not divide embed_dim: a message may name either of them
    with pytest.raises(ValueError, match=name + "|embed_dim" if embed_dim > 0 and num_heads > 0 else name):
        student.MultiHeadAttention(embed_dim, num_heads)


# every documented bound a hair past it, and every shaped argument with a wrong rank or a size that
# disagrees: the documented exception, its message naming the argument (any of the arguments that
# disagree with each other: each reading is fair) (a submission that only raises earns these once
# the same function passes an informative test)
PE5 = torch.randn(1, 5, 4, generator=gen(40))  # [1, 1 + 2 * 2, 4]
MAP = torch.randn(1, 4, 6, 2, generator=gen(41))  # [B, H=4, W=6, C=2]
WINS = torch.randn(6, 2, 2, 2, generator=gen(42))  # a 4 x 6 map in 2 x 2 windows
IMGS = torch.randn(2, 3, 8, 8, generator=gen(43))
QKV = torch.randn(2, 3, 4, generator=gen(44))
BOX_OK = torch.tensor([[0.0, 0.0, 2.0, 3.0]])
SWIN_W = (torch.randn(6, 2, generator=gen(45)), torch.randn(2, 2, generator=gen(46)), torch.zeros(1, 4, 4))


def _mha(s, e=4, h=2):
    return s.MultiHeadAttention(e, h, batch_first=True)


BOUNDS = [
    # positional encodings: dim, positions, base, grid sides, prefix tokens, shapes
    ("posenc", "dim", lambda s: s.sinusoidal_encoding_1d(3, 0)),
    ("posenc", "dim", lambda s: s.sinusoidal_encoding_1d(3, -2)),
    ("posenc", "dim", lambda s: s.sinusoidal_encoding_1d(3, 5)),
    ("posenc", "num_positions", lambda s: s.sinusoidal_encoding_1d(-1, 4)),
    ("posenc", "base", lambda s: s.sinusoidal_encoding_1d(3, 4, base=0.0)),
    ("posenc", "base", lambda s: s.sinusoidal_encoding_1d(3, 4, base=-1e-9)),
    ("posenc", "dim", lambda s: s.sincos_encoding_2d(2, 3, 0)),
    ("posenc", "dim", lambda s: s.sincos_encoding_2d(2, 3, -4)),
    ("posenc", "dim", lambda s: s.sincos_encoding_2d(2, 3, 2)),
    ("posenc", "dim", lambda s: s.sincos_encoding_2d(2, 3, 6)),
    ("posenc", "grid", lambda s: s.sincos_encoding_2d(0, 3, 8)),
    ("posenc", "grid", lambda s: s.sincos_encoding_2d(2, 0, 8)),
    ("posenc", "grid", lambda s: s.sincos_encoding_2d(-1, 3, 8)),
    ("posenc", "grid", lambda s: s.sincos_encoding_2d(2, -1, 8)),
    ("posenc", "base", lambda s: s.sincos_encoding_2d(2, 3, 8, base=0.0)),
    ("posenc", "base", lambda s: s.sincos_encoding_2d(2, 3, 8, base=-1e-9)),
    ("posenc", "num_prefix_tokens", lambda s: s.interpolate_pos_embedding(PE5[:, :3], (2, 2), (2, 2),
                                                                          num_prefix_tokens=-1)),
    ("posenc", "grid", lambda s: s.interpolate_pos_embedding(PE5, (2, 2), (3, 0))),
    ("posenc", "grid", lambda s: s.interpolate_pos_embedding(PE5[:, :1], (0, 2), (2, 2))),
    ("posenc", "pos_embedding", lambda s: s.interpolate_pos_embedding(PE5.expand(2, 5, 4), (2, 2), (2, 2))),
    ("posenc", "pos_embedding", lambda s: s.interpolate_pos_embedding(PE5[None], (2, 2), (2, 2))),
    ("posenc", "pos_embedding|tokens|old_grid", lambda s: s.interpolate_pos_embedding(PE5[:, :4], (2, 2), (3, 3))),
    ("posenc", "pos_embedding|tokens|old_grid",
     lambda s: s.interpolate_pos_embedding(PE5, (2, 2), (3, 3), num_prefix_tokens=2)),
    # swin: window sides, map ranks and sizes, windows that do not tile the map, heads
    ("swin", "window", lambda s: s.window_partition(MAP, 0)),
    ("swin", "window", lambda s: s.window_partition(MAP, (2, 0))),
    ("swin", "window", lambda s: s.window_partition(MAP, (0, 2))),
    ("swin", "window", lambda s: s.window_partition(MAP, (-2, 2))),
    ("swin", "window", lambda s: s.window_partition(MAP, (2, -3))),
    ("swin", r"window|\bx\b", lambda s: s.window_partition(MAP, (3, 2))),
    ("swin", r"window|\bx\b", lambda s: s.window_partition(MAP, (2, 4))),
    ("swin", r"\bx\b", lambda s: s.window_partition(MAP[0], 2)),
    ("swin", r"\bx\b", lambda s: s.window_partition(MAP[None], 2)),
    ("swin", "window", lambda s: s.window_reverse(WINS, 0, 4, 6)),
    ("swin", "window", lambda s: s.window_reverse(WINS, (2, 0), 4, 6)),
    ("swin", "window|height", lambda s: s.window_reverse(WINS, 2, 5, 6)),
    ("swin", "window|width", lambda s: s.window_reverse(WINS, 2, 4, 7)),
    ("swin", "windows|height|width", lambda s: s.window_reverse(WINS, 2, 4, 8)),
    ("swin", "window", lambda s: s.window_reverse(WINS, (2, 1), 4, 6)),
    ("swin", "window", lambda s: s.window_reverse(WINS, (1, 2), 4, 6)),
    ("swin", "windows|height|width", lambda s: s.window_reverse(WINS[:5], 2, 4, 6)),
    ("swin", "windows", lambda s: s.window_reverse(WINS[0], 2, 4, 6)),
    ("swin", "windows", lambda s: s.window_reverse(WINS[None], 2, 4, 6)),
    ("swin", "window_size|height", lambda s: s.shifted_window_mask(6, 8, (4, 2), 0)),
    ("swin", "window_size|width", lambda s: s.shifted_window_mask(6, 8, (3, 3), 0)),
    ("swin", "shift", lambda s: s.shifted_window_mask(4, 6, (2, 3), (2, 1))),
    ("swin", "shift", lambda s: s.shifted_window_mask(4, 6, (2, 3), (1, 3))),
    ("swin", r"num_heads|\bx\b", lambda s: s.shifted_window_attention(MAP, *SWIN_W[:2], SWIN_W[2][None, :1].expand(
        1, 3, 4, 4), (2, 2), 3, 0)),
    ("swin", r"\bx\b|num_heads", lambda s: s.shifted_window_attention(MAP[0], *SWIN_W, (2, 2), 1, 0)),
    # vit: patch sizes, image ranks and sizes, token ranks
    ("vit", "patch_size", lambda s: s.patchify(IMGS, 0)),
    ("vit", "patch_size", lambda s: s.patchify(IMGS, -2)),
    ("vit", "patch_size|images", lambda s: s.patchify(IMGS, 3)),
    ("vit", "patch_size|images", lambda s: s.patchify(IMGS[..., :6], 4)),
    ("vit", "patch_size|images", lambda s: s.patchify(IMGS[..., :6, :], 4)),
    ("vit", "images", lambda s: s.patchify(IMGS[0], 4)),
    ("vit", "images", lambda s: s.patchify(IMGS[None], 4)),
    ("vit", "images", lambda s: s.PatchEmbedding(3, 4, 4)(IMGS[0])),
    ("vit", "images|patch_size", lambda s: s.PatchEmbedding(3, 4, 4)(IMGS[..., :6])),
    ("vit", "images|patch_size", lambda s: s.PatchEmbedding(3, 4, 4)(IMGS[..., :6, :])),
    ("vit", "patch_size", lambda s: s.VisionTransformer(8, 0, 1, 2, 4, 8, 3)),
    ("vit", "patch_size|image_size", lambda s: s.VisionTransformer(8, 3, 1, 2, 4, 8, 3)),
    ("vit", "images", lambda s: s.VisionTransformer(8, 4, 1, 2, 4, 8, 3).tokens(IMGS[0])),
    ("vit", "images|image_size", lambda s: s.VisionTransformer(8, 4, 1, 2, 4, 8, 3).tokens(IMGS[..., :4])),
    ("vit", "images|image_size", lambda s: s.VisionTransformer(8, 4, 1, 2, 4, 8, 3)(IMGS[..., :4, :])),
    ("vit", r"\bx\b", lambda s: s.EncoderBlock(2, 4, 8)(QKV[0])),
    ("vit", r"\bx\b", lambda s: s.EncoderBlock(2, 4, 8)(QKV[None])),
    # attention: kinds and shapes of query, key, value and mask
    ("attention", "query", lambda s: s.attention_weights(QKV.tolist(), QKV)),
    ("attention", "key", lambda s: s.attention_weights(QKV, QKV.tolist())),
    ("attention", "value", lambda s: s.attention(QKV, QKV, QKV.tolist())),
    ("attention", "query", lambda s: s.attention(QKV.long(), QKV, QKV)),
    ("attention", "key", lambda s: s.attention(QKV, QKV.long(), QKV)),
    ("attention", "value", lambda s: s.attention(QKV, QKV, QKV.long())),
    ("attention", "key", lambda s: s.attention_weights(QKV, QKV.long())),
    ("attention", "key", lambda s: s.attention(QKV, QKV[0, 0], QKV)),
    ("attention", "value", lambda s: s.attention(QKV, QKV, QKV[0, 0])),
    ("attention", "value|key", lambda s: s.attention(QKV, QKV, QKV[:, :2])),
    ("attention", "feature|query|key", lambda s: s.attention(QKV, QKV[..., :3], QKV)),
    ("attention", "attn_mask", lambda s: s.attention(QKV, QKV, QKV, attn_mask=torch.ones(3, 3, dtype=torch.int64))),
    ("attention", "attn_mask", lambda s: s.attention_weights(QKV, QKV, attn_mask=torch.ones(3, 3, dtype=torch.uint8))),
    ("attention", "is_causal|attn_mask",
     lambda s: s.attention(QKV, QKV, QKV, attn_mask=torch.zeros(3, 3), is_causal=True)),
    ("attention", "is_causal|attn_mask", lambda s: s.attention_weights(
        QKV, QKV, attn_mask=torch.ones(3, 3, dtype=torch.bool), is_causal=True)),
    # multi-head attention: ranks and sizes of query, key, value and both masks
    ("mha", "query", lambda s: _mha(s)(QKV[0], QKV, QKV)),
    ("mha", "query", lambda s: _mha(s)(QKV[None], QKV, QKV)),
    ("mha", "key", lambda s: _mha(s)(QKV, QKV[0], QKV)),
    ("mha", "value", lambda s: _mha(s)(QKV, QKV, QKV[None])),
    ("mha", "query|embed_dim", lambda s: _mha(s)(QKV[..., :2], QKV, QKV)),
    ("mha", "key|embed_dim", lambda s: _mha(s)(QKV, QKV[..., :2], QKV)),
    ("mha", "value|embed_dim", lambda s: _mha(s)(QKV, QKV, QKV[..., :2])),
    ("mha", "key|value", lambda s: _mha(s)(QKV, QKV, QKV[:, :2])),
    ("mha", "key|value|query", lambda s: _mha(s)(QKV, QKV[:1], QKV[:1])),
    ("mha", "key_padding_mask", lambda s: _mha(s)(QKV, QKV, QKV, key_padding_mask=torch.zeros(2, 4, dtype=torch.bool))),
    ("mha", "key_padding_mask", lambda s: _mha(s)(QKV, QKV, QKV, key_padding_mask=torch.zeros(1, 3, dtype=torch.bool))),
    ("mha", "key_padding_mask", lambda s: _mha(s)(QKV, QKV, QKV, key_padding_mask=torch.zeros(2, 3, 1))),
    ("mha", "key_padding_mask", lambda s: _mha(s)(QKV, QKV, QKV, key_padding_mask=torch.zeros(6))),
    # detr: degenerate boxes, batch sizes, class counts, auxiliary lists
    ("detr", "boxes1", lambda s: s.generalized_box_iou(torch.tensor([[2.0, 0.0, 1.0, 3.0]]), BOX_OK)),
    ("detr", "boxes1", lambda s: s.generalized_box_iou(torch.tensor([[0.0, 3.0, 2.0, 2.9]]), BOX_OK)),
    ("detr", "boxes2", lambda s: s.generalized_box_iou(BOX_OK, torch.tensor([[0.0, 0.0, -1e-3, 3.0]]))),
    ("detr", "boxes2", lambda s: s.generalized_box_iou(BOX_OK, torch.tensor([[0.0, 0.0, 2.0, 3.0],
                                                                              [0.0, 1.0, 1.0, 0.5]]))),
    ("detr", "targets|pred_logits|pred_boxes", lambda s: s.hungarian_match(
        torch.zeros(2, 3, 4), torch.rand(2, 3, 4, generator=gen(47)),
        [{"labels": torch.tensor([0]), "boxes": torch.rand(1, 4)}] * 3)),
    ("detr", "num_classes|pred_logits", lambda s: s.set_criterion(
        torch.zeros(1, 3, 4), torch.full((1, 3, 4), 0.3), [{"labels": torch.tensor([0]),
                                                            "boxes": torch.full((1, 4), 0.3)}], 2)),
    ("detr", "num_classes|pred_logits", lambda s: s.set_criterion(
        torch.zeros(1, 3, 4), torch.full((1, 3, 4), 0.3), [{"labels": torch.tensor([0]),
                                                            "boxes": torch.full((1, 4), 0.3)}], 4)),
    ("detr", "aux", lambda s: s.set_criterion(
        torch.zeros(1, 3, 4), torch.full((1, 3, 4), 0.3), [{"labels": torch.tensor([0]),
                                                            "boxes": torch.full((1, 4), 0.3)}], 3,
        aux_logits=[], aux_boxes=[torch.full((1, 3, 4), 0.3)])),
]


@pytest.mark.parametrize("task, name, call", task_rows(BOUNDS))
def test_past_a_bound_or_a_shape_names_the_argument(student, task, name, call):
    with pytest.raises((ValueError, TypeError), match=name):
        call(student)


# ------------------------------------------------------------------------------ non-square swin (seed 701)
# windows and maps with M_h != M_w and H != W (and odd on one axis only), so that a swapped axis
# or a side read twice changes a value
@pytest.mark.task("swin")
@pytest.mark.parametrize("window, shift, hw", [([2, 3], [1, 1], (6, 9)), ([3, 2], [1, 1], (6, 8)),
                                               ([2, 4], [0, 0], (4, 8)), ([4, 2], [2, 1], (8, 6))], ids=str)
def test_shifted_window_attention_module_rectangular_window(student, window, shift, hw):
    ref = perturbed(tvs.ShiftedWindowAttention(6, window, shift, 2), seed=50 + window[0])
    mine = student.ShiftedWindowAttention(6, window, shift, 2)
    mine.load_weights(state_dict(ref))
    x = randn(2, *hw, 6, seed=51)
    assert_tensor(mine(x), ref(x).detach(), atol=3e-5, rtol=1e-4, case=f"window {window}, shift {shift}, map {hw}")
    blk = perturbed(tvs.SwinTransformerBlock(6, 2, window, shift, mlp_ratio=2.0), seed=52 + window[1])
    mine_blk = student.SwinTransformerBlock(6, 2, window, shift, mlp_ratio=2.0)
    mine_blk.load_weights(state_dict(blk))
    assert_tensor(mine_blk(x), blk(x).detach(), atol=5e-5, rtol=1e-4, case=f"block: window {window}, map {hw}")


@pytest.mark.task("swin")
@pytest.mark.parametrize("shape", [(2, 6, 7, 4), (2, 7, 6, 4), (1, 3, 8, 4), (5, 4, 4), (2, 1, 5, 3, 4)],
                         ids=lambda s: "x".join(map(str, s)))
def test_patch_merging_odd_on_one_axis_and_other_ranks(student, shape):
    ref = perturbed(tvs.PatchMerging(4), seed=53)
    mine = student.PatchMerging(4)
    mine.load_weights(state_dict(ref))
    x = randn(*shape, seed=54)
    assert_tensor(mine(x), ref(x).detach(), atol=2e-5, rtol=1e-4, case=f"input {list(shape)}")


# ------------------------------------------------------------------------------ detr (seed 701)
# degenerate but valid geometry (x2 == x1 or y2 == y1 is allowed; boxes right of and above one
# another so that y2 < x1), and every loss in float64 end to end
@pytest.mark.task("detr")
def test_generalized_box_iou_zero_size_and_far_apart_boxes(student):
    b1 = torch.tensor([[5.0, 0.0, 6.0, 3.0], [1.0, 1.0, 1.0, 4.0], [0.0, 2.0, 3.0, 2.0], [7.0, 0.5, 9.0, 1.0]],
                      dtype=torch.float64)
    b2 = torch.tensor([[0.0, 0.0, 2.0, 2.0], [4.0, 1.0, 7.0, 2.5], [0.5, 3.0, 2.0, 5.0]], dtype=torch.float64)
    expected = tv_generalized_box_iou(b1, b2)
    assert not bool(expected.isnan().any())
    assert_tensor(student.generalized_box_iou(b1, b2), expected, atol=1e-12, case="zero-size and far-apart boxes")
    assert_tensor(student.generalized_box_iou(b2, b1), expected.T.contiguous(), atol=1e-12, case="swapped")


def _criterion64(logits, boxes, targets, k, eos):
    num_boxes = max(sum(len(t["labels"]) for t in targets), 1)
    cls = torch.full(logits.shape[:2], k, dtype=torch.int64)
    l1 = gi = torch.zeros((), dtype=torch.float64)
    for b, t in enumerate(targets):
        xyxy_p, xyxy_t = box_convert(boxes[b], "cxcywh", "xyxy"), box_convert(t["boxes"], "cxcywh", "xyxy")
        cost = (5.0 * torch.cdist(boxes[b], t["boxes"], p=1) - logits[b].softmax(-1)[:, t["labels"]]
                - 2.0 * tv_generalized_box_iou(xyxy_p, xyxy_t))
        i, j = (torch.as_tensor(a, dtype=torch.int64) for a in linear_sum_assignment(cost.numpy()))
        cls[b, i] = t["labels"][j]
        l1 = l1 + (boxes[b, i] - t["boxes"][j]).abs().sum()
        gi = gi + (1 - torch.diag(tv_generalized_box_iou(xyxy_p[i], xyxy_t[j]))).sum()
    w = torch.ones(k + 1, dtype=torch.float64)
    w[-1] = eos
    return {"loss_ce": F.cross_entropy(logits.reshape(-1, k + 1), cls.reshape(-1), weight=w),
            "loss_bbox": l1 / num_boxes, "loss_giou": gi / num_boxes}


@pytest.mark.task("detr")
@pytest.mark.parametrize("eos", [0.1, 0.5])
def test_set_criterion_in_float64(student, eos):
    logits = torch.randn(2, 5, 4, generator=gen(60), dtype=torch.float64) * 2
    wh = torch.rand(2, 5, 2, generator=gen(61), dtype=torch.float64) * 0.4 + 0.05
    boxes = torch.cat([wh / 2 + torch.rand(2, 5, 2, generator=gen(62), dtype=torch.float64) * (1 - wh), wh], -1)
    targets = [{"labels": torch.tensor([2, 0, 1]), "boxes": boxes[1, [4, 0, 2]].flip(0).clone() * 0.9 + 0.03},
               {"labels": torch.tensor([1]), "boxes": boxes[0, [1]].clone() * 0.8 + 0.05}]
    got = student.set_criterion(logits, boxes, targets, 3, eos_coef=eos)
    expected = _criterion64(logits, boxes, targets, 3, eos)
    for key, value in expected.items():
        assert_tensor(got[key], value, atol=1e-10, rtol=1e-10, case=f"{key} (float64 inputs), eos {eos}")


# ------------------------------------------------------------------------------ maskformer ties (seed 701)
# the thresholds at exactly their values (score > object_mask_threshold keeps strictly; a ratio
# area / original below overlap_threshold is skipped, so a ratio equal to it stays), a single
# kept query, one-pixel segments
@pytest.mark.task("maskformer")
def test_panoptic_inference_thresholds_at_exactly_their_values(student):
    cls = torch.tensor([[30.0, -30.0, -30.0]])  # score exactly 1 in float32
    assert float(F.softmax(cls, -1).max()) == 1.0
    masks = torch.full((1, 2, 3), 4.0)  # the only query: area == original == 6, ratio exactly 1
    seg, segments = student.panoptic_inference(cls, masks, [True, False], 1.0, 0.5)
    assert_tensor(segments, torch.zeros(0, 3, dtype=torch.int64), case="score 1 is not > 1: nothing kept")
    assert_tensor(seg, torch.zeros(2, 3, dtype=torch.int64), case="score 1 is not > 1: all void")
    seg, segments = student.panoptic_inference(cls, masks, [True, False], 0.999, 1.0)
    assert_tensor(segments, torch.tensor([[1, 0, 1]]), case="a single kept query with ratio exactly 1 (threshold 1)")
    assert_tensor(seg, torch.ones(2, 3, dtype=torch.int64), case="a single kept query fills the map")
    # two queries: A owns columns 0, 1 and 3 (ratio 6/4), B owns column 2 of its columns 1-2 (ratio 2/4)
    cls = torch.tensor([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    masks = torch.full((2, 2, 4), -9.0)
    masks[0, :, :2] = 9.0
    masks[1, :, 1:3] = 3.0
    seg, segments = student.panoptic_inference(cls, masks, [True, True], 0.5, 0.5)
    assert_tensor(segments, torch.tensor([[1, 0, 1], [2, 1, 1]]), case="ratio exactly 0.5 with threshold 0.5: kept")
    assert_tensor(seg, torch.tensor([[1, 1, 2, 0], [1, 1, 2, 0]]), case="ratio exactly 0.5: map")
    seg, segments = student.panoptic_inference(cls, masks, [True, True], 0.5, 0.5001)
    assert_tensor(segments, torch.tensor([[1, 0, 1]]), case="ratio 0.5 below threshold 0.5001: skipped")
    assert_tensor(seg, torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0]]), case="ratio 0.5 skipped: map")


@pytest.mark.task("maskformer")
def test_panoptic_inference_one_pixel_segment(student):
    cls = torch.tensor([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    masks = torch.full((2, 3, 3), 9.0)
    masks[0] = -9.0
    masks[0, 1, 2] = 9.0  # A: one pixel, which it wins
    masks[1, 1, 2] = -9.0
    seg, segments = student.panoptic_inference(cls, masks, [True, False], 0.5, 0.8)
    assert_tensor(segments, torch.tensor([[1, 0, 1], [2, 1, 0]]), case="a one-pixel thing, then the stuff")
    expected = torch.full((3, 3), 2, dtype=torch.int64)
    expected[1, 2] = 1
    assert_tensor(seg, expected, case="one-pixel segment")


def _mask_losses64(pred, target, num_points, seed, num_masks):
    n = pred.shape[0]
    coords = torch.rand(n, num_points, 2, generator=gen(seed), dtype=pred.dtype)
    grid = 2 * coords[:, :, None, :] - 1
    x = F.grid_sample(pred[:, None], grid, align_corners=False)[:, 0, :, 0]
    t = F.grid_sample(target[:, None].to(pred.dtype), grid, align_corners=False)[:, 0, :, 0]
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none").mean(-1).sum() / num_masks
    p = x.sigmoid()
    dice = (1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1)).sum() / num_masks
    return {"loss_mask": ce, "loss_dice": dice}


@pytest.mark.task("maskformer")
@pytest.mark.parametrize("n, tdtype", [(1, torch.bool), (2, torch.uint8), (3, torch.int64), (0, torch.bool)], ids=str)
def test_mask_losses_default_normaliser_and_target_dtypes(student, n, tdtype):
    pred = torch.randn(n, 6, 5, generator=gen(70), dtype=torch.float64) * 2
    target = torch.rand(n, 9, 7, generator=gen(71)) > 0.5
    got = student.mask_losses(pred, target.to(tdtype), 11, 72)
    expected = _mask_losses64(pred, target, 11, 72, float(max(n, 1)))
    for key, value in expected.items():
        assert_tensor(got[key], value, atol=1e-10, case=f"{key}: {n} masks (num_masks = max(N, 1)), {tdtype} targets")


# ------------------------------------------------------------------------------ inside the bounds (seed 701)
# a base in (0, 1] is a valid base (only base <= 0 is refused): the formulas hold there too
@pytest.mark.task("posenc")
@pytest.mark.parametrize("base", [1.0, 0.5, 1e-3], ids=str)
def test_encodings_with_a_base_at_most_one(student, base):
    p, d = 5, 6
    expected = torch.zeros(p, d, dtype=torch.float64)
    for pos in range(p):
        for i in range(d // 2):
            w = base ** (-2.0 * i / d)
            a = torch.tensor(pos * w, dtype=torch.float64)
            expected[pos, 2 * i], expected[pos, 2 * i + 1] = a.sin(), a.cos()
    got = student.sinusoidal_encoding_1d(p, d, base=base, dtype=torch.float64)
    assert_tensor(got, expected, atol=1e-9, case=f"1-D, base {base}")
    gh, gw, d = 2, 3, 8
    f = d // 4
    omega = torch.tensor([base ** (-i / f) for i in range(f)], dtype=torch.float64)
    rows = [[] for _ in range(gh * gw)]
    for t in range(gh * gw):
        r, c = divmod(t, gw)
        rows[t] = torch.cat([(c * omega).sin(), (c * omega).cos(), (r * omega).sin(), (r * omega).cos()])
    got = student.sincos_encoding_2d(gh, gw, d, base=base, dtype=torch.float64)
    assert_tensor(got, torch.stack(rows), atol=1e-9, case=f"2-D, base {base}")


# ------------------------------------------------------------------------------ documented init (seed 701)
@pytest.mark.task("mha")
def test_mha_documented_initialisation(student):
    # "xavier_uniform_ in-projection, zero biases" (nn.MultiheadAttention's): the bound of
    # xavier_uniform_ on [3E, E] is sqrt(6 / (E + 3E)); its standard deviation bound / sqrt(3)
    e = 64
    mine = student.MultiHeadAttention(e, 4)
    sd = mine.state_dict()
    assert sorted(sd) == ["in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"], f"keys {sorted(sd)}"
    assert_tensor(sd["in_proj_bias"], torch.zeros(3 * e), case="in_proj_bias starts at zero")
    assert_tensor(sd["out_proj.bias"], torch.zeros(e), case="out_proj.bias starts at zero")
    w = sd["in_proj_weight"]
    bound = (6.0 / (e + 3 * e)) ** 0.5
    assert w.shape == (3 * e, e) and bool(w.isfinite().all()), "in_proj_weight [3E, E], finite"
    assert float(w.abs().max()) <= bound + 1e-6, f"xavier_uniform_ stays within +-{bound:.4f}"
    std, want = float(w.double().std()), bound / 3 ** 0.5
    assert abs(std - want) < 0.1 * want, f"xavier_uniform_ std {want:.4f}, got {std:.4f}"
    ref = nn.MultiheadAttention(e, 4).eval()
    ref.load_state_dict(sd)
    q = randn(3, 2, e, seed=83)
    assert_tensor(mine(q, q, q)[0], ref(q, q, q)[0].detach(), atol=2e-5, rtol=1e-4, case="the initialised module")


# ------------------------------------------------------------------------------ final LayerNorm eps (seed 701)
@pytest.mark.task("vit")
def test_vit_final_layer_norm_eps_with_tiny_activations(student):
    # activations of order 1e-3 reach encoder.ln, so its eps = 1e-6 changes the logits visibly
    from torchvision.models.vision_transformer import VisionTransformer as TvViT
    ref = perturbed(TvViT(8, 4, 1, 2, 8, 16, num_classes=3), seed=80, scale=2e-3)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if name.startswith("encoder.ln.") or name.startswith("heads."):
                p.copy_(torch.randn(p.shape, generator=gen(81)))
    mine = student.VisionTransformer(8, 4, 1, 2, 8, 16, 3)
    mine.load_weights(state_dict(ref))
    x = torch.randn(2, 3, 8, 8, generator=gen(82)) * 1e-2
    assert_tensor(mine(x), ref(x).detach(), atol=1e-4, rtol=1e-3, case="tiny activations (eps = 1e-6)")


# ------------------------------------------------------------------------------ one-axis shifts (seed 701)
# a shift on one axis only (the other 0), and a shift of exactly 1: the mask has regions on that
# axis alone, and the attention is shifted all the same
def _mask_loop(h, w, m, s):
    (mh, mw), (sh, sw) = m, s
    sh, sw = (0 if mh >= h else sh), (0 if mw >= w else sw)

    def region(i, size, mm, ss):
        if ss == 0:
            return 0
        return 0 if i < size - mm else (1 if i < size - ss else 2)

    labels = [[region(i, h, mh, sh) * 3 + region(j, w, mw, sw) for j in range(w)] for i in range(h)]
    out = []
    for wi in range(h // mh):
        for wj in range(w // mw):
            lab = [labels[wi * mh + a][wj * mw + b] for a in range(mh) for b in range(mw)]
            out.append([[0.0 if x == y else -100.0 for y in lab] for x in lab])
    return torch.tensor(out, dtype=torch.float64)


ONE_AXIS = [(8, 6, (4, 3), (1, 0)), (8, 6, (4, 3), (0, 1)), (6, 9, (3, 3), (2, 0)), (6, 9, (3, 3), (0, 2)),
            (4, 4, (2, 2), (1, 0)), (4, 4, (2, 2), (0, 1))]


@pytest.mark.task("swin")
@pytest.mark.parametrize("h, w, m, s", ONE_AXIS, ids=str)
def test_shifted_window_mask_shift_on_one_axis(student, h, w, m, s):
    got = student.shifted_window_mask(h, w, m, s, dtype=torch.float64)
    assert_tensor(got, _mask_loop(h, w, m, s), case=f"{h}x{w}, window {m}, shift {s}")


@pytest.mark.task("swin")
@pytest.mark.parametrize("h, w, m, s", ONE_AXIS + [(5, 7, (3, 3), (1, 0)), (7, 5, (3, 3), (0, 1))], ids=str)
def test_shifted_window_attention_shift_on_one_axis(student, h, w, m, s):
    attn = perturbed(tvs.ShiftedWindowAttention(4, list(m), [0, 0], 2), seed=90 + h)
    bias = attn.get_relative_position_bias().detach()
    sd = state_dict(attn)
    x = randn(2, h, w, 4, seed=91)
    expected = tvs.shifted_window_attention(x, sd["qkv.weight"], sd["proj.weight"], bias, list(m), 2, list(s),
                                            qkv_bias=sd["qkv.bias"], proj_bias=sd["proj.bias"], training=False)
    got = student.shifted_window_attention(x, sd["qkv.weight"], sd["proj.weight"], bias, m, 2, s,
                                           qkv_bias=sd["qkv.bias"], proj_bias=sd["proj.bias"])
    assert_tensor(got, expected, atol=3e-5, rtol=1e-4, case=f"{h}x{w}, window {m}, shift {s}")


@pytest.mark.task("vit")
def test_vit_with_patches_of_one_pixel(student, reference):
    # "patch_size >= 1 dividing image_size": 1 is the smallest allowed patch (seed 945: a bound of
    # 2 passed every test); every pixel is a token, and the model equals the reference's
    torch.manual_seed(0)
    ref = reference.VisionTransformer(4, 1, 1, 2, 4, 8, 3, in_channels=1)
    got = student.VisionTransformer(4, 1, 1, 2, 4, 8, 3, in_channels=1)
    got.load_state_dict(ref.state_dict())
    images = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    assert_tensor(got.tokens(images), ref.tokens(images).detach(), atol=1e-6, rtol=1e-6, case="16 one-pixel tokens")
    assert_tensor(got(images), ref(images).detach(), atol=1e-5, rtol=1e-5, case="logits with one-pixel patches")

