"""Hidden tests of the Swin parts [swin].

Oracles: torchvision.models.swin_transformer (shifted_window_attention with training=False,
ShiftedWindowAttention, SwinTransformerBlock, PatchMerging) with perturbed weights copied in;
float64 loops for the shifted-window mask and the relative position index.
"""

import pytest
import torch
from torchvision.models import swin_transformer as tvs

from _tf_oracles import PeakMemory, perturbed, randn, state_dict, student_pid
from harness.testkit import assert_tensor, check_gradient, devices


@pytest.mark.task("swin")
@pytest.mark.parametrize("h, w, m", [(8, 8, 4), (6, 9, (3, 3)), (4, 6, (2, 3)), (5, 5, 5)])
def test_window_partition_and_reverse(student, h, w, m):
    x = randn(2, h, w, 3, seed=h * w)
    mh, mw = (m, m) if isinstance(m, int) else m
    got = student.window_partition(x, m)
    expected = torch.stack([x[b, i * mh:(i + 1) * mh, j * mw:(j + 1) * mw]
                            for b in range(2) for i in range(h // mh) for j in range(w // mw)])
    assert_tensor(got, expected, case=f"{h}x{w}, window {m}")
    assert_tensor(student.window_reverse(got, m, h, w), x, case="reverse")


@pytest.mark.task("swin")
def test_window_partition_rejects_non_dividing_window(student):
    with pytest.raises(ValueError, match=r"window|\bx\b"):
        student.window_partition(torch.zeros(1, 6, 6, 2), 4)


def mask_oracle(h, w, m, s):
    """float64 loops: the region of each pixel from the paper's slices, then pairs per window."""
    mh, mw = m
    sh, sw = (0 if mh >= h else s[0]), (0 if mw >= w else s[1])

    def region(i, size, mm, ss):
        if ss == 0:
            return 0
        return 0 if i < size - mm else (1 if i < size - ss else 2)

    nwin = (h // mh) * (w // mw)
    out = torch.zeros(nwin, mh * mw, mh * mw, dtype=torch.float64)
    if sh == 0 and sw == 0:
        return out
    for wi in range(h // mh):
        for wj in range(w // mw):
            pix = [(wi * mh + a, wj * mw + b) for a in range(mh) for b in range(mw)]
            lab = [3 * region(y, h, mh, sh) + region(x, w, mw, sw) for y, x in pix]
            for i in range(len(pix)):
                for j in range(len(pix)):
                    out[wi * (w // mw) + wj, i, j] = 0.0 if lab[i] == lab[j] else -100.0
    return out


@pytest.mark.task("swin")
@pytest.mark.parametrize("h, w, m, s", [(8, 8, (4, 4), (2, 2)), (6, 9, (3, 3), (1, 1)), (8, 4, (4, 4), (2, 2)),
                                        (4, 4, (4, 4), (2, 2)), (6, 6, (3, 3), (0, 0)), (8, 6, (4, 3), (2, 1))])
def test_shifted_window_mask(student, h, w, m, s):
    got = student.shifted_window_mask(h, w, m, s)
    assert_tensor(got, mask_oracle(h, w, m, s).float(), case=f"{h}x{w}, window {m}, shift {s}")


@pytest.mark.task("swin")
def test_shifted_window_mask_rejects_large_shift(student):
    with pytest.raises(ValueError, match="shift|window_size"):
        student.shifted_window_mask(8, 8, 4, 4)


@pytest.mark.task("swin")
@pytest.mark.parametrize("m", [(2, 2), (3, 4), (7, 7)])
def test_relative_position_index(student, m):
    mh, mw = m
    attn = tvs.ShiftedWindowAttention(4, list(m), [0, 0], 2)
    n = mh * mw
    assert_tensor(student.relative_position_index(m), attn.relative_position_index.reshape(n, n),
                  case=f"window {m} vs torchvision")
    got = student.relative_position_index(m)
    pos = [(a, b) for a in range(mh) for b in range(mw)]
    i, j = 1 % n, n - 1
    expected = (pos[i][0] - pos[j][0] + mh - 1) * (2 * mw - 1) + (pos[i][1] - pos[j][1] + mw - 1)
    assert int(got[i, j]) == expected


@pytest.mark.task("swin")
def test_relative_position_bias(student):
    table = randn(49, 3, seed=1)
    index = tvs.ShiftedWindowAttention(6, [4, 4], [0, 0], 3).relative_position_index
    expected = tvs._get_relative_position_bias(table, index, [4, 4])[0]
    assert_tensor(student.relative_position_bias(table, index.reshape(16, 16)), expected, case="[heads, N, N]")
    check_gradient(student, "relative_position_bias", [table.double(), index.reshape(16, 16)])


def swa_args(c, heads, m, seed):
    attn = perturbed(tvs.ShiftedWindowAttention(c, list(m), [0, 0], heads), seed)
    bias = attn.get_relative_position_bias().detach()
    return attn, bias


SWA_CASES = {
    "8x8, window 4, shift 2": (8, 8, (4, 4), (2, 2)),
    "8x8, window 4, no shift": (8, 8, (4, 4), (0, 0)),
    "7x9 padded, shift 1": (7, 9, (3, 3), (1, 1)),
    "window covers the height": (4, 12, (4, 4), (2, 2)),
    "window covers the width": (12, 4, (4, 4), (2, 2)),
    "window covers the padded width": (8, 3, (4, 4), (1, 3)),
    "window covers the map": (3, 3, (4, 4), (2, 2)),
    "rectangular window": (6, 8, (3, 4), (1, 2)),
}


@pytest.mark.task("swin")
@pytest.mark.parametrize("case", list(SWA_CASES))
def test_shifted_window_attention_matches_torchvision(student, case):
    h, w, m, s = SWA_CASES[case]
    attn, bias = swa_args(8, 2, m, seed=h + w)
    x = randn(2, h, w, 8, seed=3)
    sd = state_dict(attn)
    expected = tvs.shifted_window_attention(x, sd["qkv.weight"], sd["proj.weight"], bias, list(m), 2, list(s),
                                            qkv_bias=sd["qkv.bias"], proj_bias=sd["proj.bias"], training=False)
    got = student.shifted_window_attention(x, sd["qkv.weight"], sd["proj.weight"], bias, m, 2, s,
                                           qkv_bias=sd["qkv.bias"], proj_bias=sd["proj.bias"])
    assert_tensor(got, expected, atol=3e-5, rtol=1e-4, case=case)


@pytest.mark.task("swin")
def test_shifted_window_attention_gradient(student):
    _, bias = swa_args(4, 2, (2, 2), seed=5)
    x = randn(1, 4, 4, 4, seed=6, dtype=torch.float64)
    w_qkv, w_proj = randn(12, 4, seed=7, dtype=torch.float64), randn(4, 4, seed=8, dtype=torch.float64)
    check_gradient(student, "shifted_window_attention", [x, w_qkv, w_proj, bias.double(), (2, 2), 2, (1, 1)],
                   wrt=(0, 1, 3))


@pytest.mark.task("swin")
@pytest.mark.parametrize("shift", [[0, 0], [2, 2]])
def test_shifted_window_attention_module(student, shift):
    ref = perturbed(tvs.ShiftedWindowAttention(8, [4, 4], shift, 2), seed=9)
    mine = student.ShiftedWindowAttention(8, [4, 4], shift, 2)
    mine.load_weights(state_dict(ref))
    x = randn(2, 8, 8, 8, seed=10)
    assert_tensor(mine(x), ref(x).detach(), atol=3e-5, rtol=1e-4, case=f"shift {shift}")


@pytest.mark.task("swin")
@pytest.mark.parametrize("hw, shift", [((8, 8), [2, 2]), ((8, 8), [0, 0]), ((7, 10), [2, 2]), ((4, 8), [2, 2])])
def test_swin_block_matches_torchvision(student, hw, shift):
    ref = perturbed(tvs.SwinTransformerBlock(8, 2, [4, 4], shift, mlp_ratio=2.0), seed=hw[0] + shift[0])
    mine = student.SwinTransformerBlock(8, 2, [4, 4], shift, mlp_ratio=2.0)
    mine.load_weights(state_dict(ref))
    x = randn(2, *hw, 8, seed=11)
    assert_tensor(mine(x), ref(x).detach(), atol=5e-5, rtol=1e-4, case=f"{hw}, shift {shift}")


@pytest.mark.task("swin")
@pytest.mark.parametrize("hw", [(8, 8), (5, 7)])
def test_patch_merging_matches_torchvision(student, hw):
    ref = perturbed(tvs.PatchMerging(6), seed=12)
    mine = student.PatchMerging(6)
    mine.load_weights(state_dict(ref))
    x = randn(2, *hw, 6, seed=13)
    assert_tensor(mine(x), ref(x).detach(), atol=2e-5, rtol=1e-4, case=f"{hw}")


@pytest.mark.task("swin")
@pytest.mark.parametrize("device", devices())
def test_swin_block_on_device(student, device):
    ref = perturbed(tvs.SwinTransformerBlock(8, 2, [4, 4], [2, 2]), seed=14)
    mine = student.SwinTransformerBlock(8, 2, [4, 4], [2, 2])
    mine.load_weights({k: v.to(device) for k, v in state_dict(ref).items()})
    x = randn(1, 8, 8, 8, seed=15)
    assert_tensor(mine(x.to(device)), ref(x).detach().to(device), atol=1e-4, rtol=1e-3, case=device)


@pytest.mark.task("swin")
def test_window_attention_memory_vs_global(student):
    """Peak memory (VmHWM of the process running the student's code) of shifted-window
    attention against global attention over the same 4096 tokens: windows of 8 x 8 hold
    64 x 64 scores each (2 MiB in all for 2 heads) where global attention holds 4096 x 4096
    (128 MiB). The windowed increment must stay below a quarter of the global one."""
    pid = student_pid(student)
    if pid is None:
        pytest.skip("the worker's memory is not visible to the grader with this backend")
    probe = PeakMemory(pid)
    c, heads, size = 16, 2, 64
    _, bias = swa_args(c, heads, (8, 8), seed=16)
    x = randn(1, size, size, c, seed=17)
    w_qkv, w_proj = randn(3 * c, c, seed=18, scale=0.2), randn(c, c, seed=19, scale=0.2)
    windowed = probe.measure(lambda: student.shifted_window_attention(x, w_qkv, w_proj, bias, (8, 8), heads, (4, 4)))
    tokens = x.reshape(1, size * size, heads, c // heads).transpose(1, 2).contiguous()  # [1, heads, 4096, d]
    global_ = probe.measure(lambda: student.attention(tokens, tokens, tokens))
    report = f"windowed +{windowed / 2**20:.1f} MiB, global +{global_ / 2**20:.1f} MiB over 4096 tokens"
    assert global_ > 64 * 2**20, f"global attention over 4096 tokens should hold a 4096 x 4096 matrix: {report}"
    assert windowed < global_ / 4, f"window attention should need far less memory: {report}"
