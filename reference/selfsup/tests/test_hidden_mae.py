"""Hidden tests of MAE [mae]: patchify/unpatchify, random masking from injected noise, the decoder
input and the masked loss.

Oracles: pixel-by-pixel loops for the patch layout, and the published MAE code (He et al.,
models_mae.py: ``patchify``, ``random_masking``, ``forward_decoder``'s token restoring and
``forward_loss``) transcribed here with the noise passed in.
"""

import pytest
import torch

from harness.testkit import assert_tensor, check_gradient, devices


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def patchify_loop(imgs, p):
    n, c, hh, ww = imgs.shape
    h, w = hh // p, ww // p
    out = torch.empty(n, h * w, p * p * c, dtype=imgs.dtype)
    for b in range(n):
        for i in range(h):
            for j in range(w):
                for r in range(p):
                    for s in range(p):
                        for ch in range(c):
                            out[b, i * w + j, (r * p + s) * c + ch] = imgs[b, ch, i * p + r, j * p + s]
    return out


def mae_random_masking(x, mask_ratio, noise):
    """models_mae.py, MaskedAutoencoderViT.random_masking with the noise injected."""
    N, L, D = x.shape
    len_keep = int(L * (1 - mask_ratio))
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :len_keep]
    x_masked = torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
    mask = torch.ones([N, L], device=x.device)
    mask[:, :len_keep] = 0
    mask = torch.gather(mask, dim=1, index=ids_restore)
    return x_masked, mask, ids_restore


def mae_restore(x, mask_token, ids_restore):
    """models_mae.py, forward_decoder: append mask tokens, unshuffle, keep the class token first."""
    mask_tokens = mask_token.reshape(1, 1, -1).repeat(x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1)
    x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
    x_ = torch.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
    return torch.cat([x[:, :1, :], x_], dim=1)


def mae_forward_loss(imgs, pred, mask, p, norm_pix_loss):
    """models_mae.py, forward_loss."""
    target = patchify_loop(imgs, p)
    if norm_pix_loss:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1.e-6) ** .5
    loss = (pred - target) ** 2
    loss = loss.mean(dim=-1)
    return (loss * mask).sum() / mask.sum()


@pytest.mark.task("mae")
@pytest.mark.parametrize("c, h, w, p", [(3, 8, 8, 4), (2, 6, 9, 3), (1, 4, 4, 1), (3, 4, 4, 4)])
def test_patchify_is_channel_last_row_major(student, c, h, w, p):
    imgs = randn(2, c, h, w, seed=c * h + w)
    assert_tensor(student.patchify(imgs, p), patchify_loop(imgs, p), case=f"C={c}, {h}x{w}, p={p}")


@pytest.mark.task("mae")
@pytest.mark.parametrize("device", devices())
def test_patchify_float32_on_device(student, device):
    imgs = randn(1, 3, 4, 6, seed=3, dtype=torch.float32)
    assert_tensor(student.patchify(imgs.to(device), 2), patchify_loop(imgs, 2).to(device), case=device)


@pytest.mark.task("mae")
@pytest.mark.parametrize("c, h, w, p, grid", [(3, 8, 8, 4, None), (2, 6, 9, 3, (2, 3)), (1, 4, 4, 2, (2, 2))])
def test_unpatchify_inverts_patchify(student, c, h, w, p, grid):
    imgs = randn(2, c, h, w, seed=p + c)
    got = student.unpatchify(patchify_loop(imgs, p), p, grid)
    assert_tensor(got, imgs, case=f"C={c}, {h}x{w}, p={p}, grid={grid}")


@pytest.mark.task("mae")
def test_patchify_and_unpatchify_reject_bad_shapes(student):
    with pytest.raises(ValueError, match="images|patch_size|divisible"):
        student.patchify(torch.zeros(1, 3, 6, 8), 4)
    with pytest.raises(ValueError, match="patch_size"):
        student.patchify(torch.zeros(1, 3, 4, 4), 0)
    with pytest.raises(ValueError, match="patches|grid|square"):
        student.unpatchify(torch.zeros(1, 6, 12), 2)
    with pytest.raises(ValueError, match="grid|patches"):
        student.unpatchify(torch.zeros(1, 6, 12), 2, (2, 2))
    with pytest.raises(ValueError, match="patches|patch_size|multiple"):
        student.unpatchify(torch.zeros(1, 4, 10), 2)
    with pytest.raises(ValueError, match="images|N, C, H, W"):
        student.patchify(torch.zeros(3, 4, 4), 2)
    with pytest.raises(ValueError, match="patch_size"):
        student.unpatchify(torch.zeros(1, 4, 12), 0)
    with pytest.raises(ValueError, match="patches|N, L"):
        student.unpatchify(torch.zeros(4, 12), 2)


@pytest.mark.task("mae")
@pytest.mark.parametrize("n, length, ratio", [(2, 16, 0.75), (3, 10, 0.75), (1, 7, 0.5), (2, 9, 0.0), (2, 5, 0.99)])
def test_random_masking_matches_the_published_code(student, n, length, ratio):
    x = randn(n, length, 4, seed=length)
    noise = torch.rand(n, length, generator=torch.Generator().manual_seed(n * length), dtype=torch.float64)
    kept, mask, ids_restore = student.random_masking(x, ratio, noise)
    e_kept, e_mask, e_restore = mae_random_masking(x, ratio, noise)
    assert_tensor(kept, e_kept, case=f"kept tokens, L={length}, ratio={ratio}")
    assert_tensor(mask, e_mask.to(x.dtype), case="mask (1 = removed), x's dtype")
    assert_tensor(ids_restore, e_restore, case="ids_restore")


@pytest.mark.task("mae")
def test_random_masking_keeps_the_smallest_noise(student):
    x = torch.arange(5, dtype=torch.float32).reshape(1, 5, 1)
    noise = torch.tensor([[0.9, 0.1, 0.5, 0.3, 0.7]])
    kept, mask, ids_restore = student.random_masking(x, 0.4, noise)  # keep int(5 * 0.6) = 3
    assert_tensor(kept, torch.tensor([[[1.0], [3.0], [2.0]]]), case="kept in ascending noise order")
    assert_tensor(mask, torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0]]), case="mask")
    assert_tensor(ids_restore, torch.tensor([[4, 0, 2, 1, 3]]), case="ids_restore")


@pytest.mark.task("mae")
def test_random_masking_without_noise_and_bad_arguments(student):
    kept, mask, ids_restore = student.random_masking(randn(3, 8, 2, seed=1), 0.5)
    assert kept.shape == (3, 4, 2) and mask.shape == (3, 8) and ids_restore.dtype == torch.int64
    assert torch.equal(mask.sum(1), torch.full((3,), 4.0, dtype=torch.float64))
    assert torch.equal(ids_restore.sort(1).values, torch.arange(8).expand(3, 8))
    with pytest.raises(ValueError, match="mask_ratio"):
        student.random_masking(randn(1, 4, 2), 1.0)
    with pytest.raises(ValueError, match=r"noise|\bx\b"):
        student.random_masking(randn(1, 4, 2), 0.5, torch.rand(1, 5))
    with pytest.raises(ValueError, match=r"\bx\b|N, L, D"):
        student.random_masking(randn(4, 2), 0.5)


@pytest.mark.task("mae")
@pytest.mark.parametrize("length, keep", [(9, 3), (6, 6), (5, 1)])
def test_restore_with_mask_tokens_matches_the_published_code(student, length, keep):
    noise = torch.rand(2, length, generator=torch.Generator().manual_seed(length), dtype=torch.float64)
    ids_restore = torch.argsort(torch.argsort(noise, dim=1), dim=1)
    x = randn(2, 1 + keep, 5, seed=keep)
    token = randn(5, seed=99)
    got = student.restore_with_mask_tokens(x, token, ids_restore)
    assert_tensor(got, mae_restore(x, token, ids_restore), case=f"L={length}, kept {keep}, class token")
    got = student.restore_with_mask_tokens(x[:, 1:], token, ids_restore, has_cls=False)
    assert_tensor(got, mae_restore(x, token, ids_restore)[:, 1:], case="no class token")


@pytest.mark.task("mae")
def test_restore_with_mask_tokens_gradients(student):
    ids_restore = torch.tensor([[2, 0, 3, 1], [0, 1, 2, 3]])
    x, token = randn(2, 3, 3, seed=5), randn(3, seed=6)
    g = randn(2, 5, 3, seed=7)
    _, grads = student.vjp("restore_with_mask_tokens", [x, token, ids_restore], wrt=(0, 1), grad_outputs=g)
    a, b = x.clone().requires_grad_(), token.clone().requires_grad_()
    ga, gb = torch.autograd.grad((mae_restore(a, b, ids_restore) * g).sum(), [a, b])
    assert_tensor(grads[0], ga, atol=1e-12, case="d/dx")
    assert_tensor(grads[1], gb, atol=1e-12, case="d/d mask_token")


@pytest.mark.task("mae")
def test_restore_with_mask_tokens_rejects_bad_shapes(student):
    with pytest.raises(ValueError, match=r"mask_token|\bx\b"):
        student.restore_with_mask_tokens(randn(1, 3, 4), randn(5), torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\bx\b|ids_restore|kept tokens"):
        student.restore_with_mask_tokens(randn(1, 6, 4), randn(4), torch.zeros(1, 4, dtype=torch.long))


def loss_case(seed):
    imgs = randn(2, 3, 8, 8, seed=seed)
    pred = randn(2, 4, 48, seed=seed + 1)
    mask = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.float64)
    return imgs, pred, mask


@pytest.mark.task("mae")
@pytest.mark.parametrize("norm", [False, True])
def test_mae_loss_matches_the_published_code(student, norm):
    imgs, pred, mask = loss_case(3)
    imgs[1, :, :4, :4] = 0.25  # a constant patch: norm-pix divides by sqrt(0 + 1e-6)
    got = student.mae_loss(imgs, pred, mask, 4, norm)
    assert_tensor(got, mae_forward_loss(imgs, pred, mask, 4, norm), atol=1e-10, rtol=1e-10, case=f"norm_pix={norm}")


@pytest.mark.task("mae")
def test_mae_loss_default_is_unnormalised_and_scores_removed_patches_only(student):
    imgs, pred, mask = loss_case(4)
    got = student.mae_loss(imgs, pred, mask, 4)
    assert_tensor(got, mae_forward_loss(imgs, pred, mask, 4, False), atol=1e-10, case="default norm_pix_loss")
    # a perfect prediction of the removed patches scores 0 whatever the kept ones hold
    target = patchify_loop(imgs, 4)
    pred2 = torch.where(mask[..., None].bool(), target, pred)
    assert abs(float(student.mae_loss(imgs, pred2, mask, 4))) < 1e-12


@pytest.mark.task("mae")
def test_mae_loss_gradcheck_and_float32(student):
    imgs, pred, mask = loss_case(5)
    check_gradient(student, "mae_loss", [imgs, pred, mask, 4, True], wrt=(1,))
    got = student.mae_loss(imgs.float(), pred.float(), mask.float(), 4, True)
    assert got.dtype == torch.float32
    assert abs(float(got) - float(mae_forward_loss(imgs, pred, mask, 4, True))) < 1e-4


@pytest.mark.task("mae")
def test_mae_loss_rejects_bad_inputs(student):
    imgs, pred, mask = loss_case(6)
    with pytest.raises(ValueError, match="mask|removes no patch"):
        student.mae_loss(imgs, pred, torch.zeros_like(mask), 4)
    with pytest.raises(ValueError, match="pred|mask|images|patch_size"):
        student.mae_loss(imgs, pred[:, :3], mask, 4)
    with pytest.raises(ValueError, match="mask|pred|images|patch_size"):
        student.mae_loss(imgs, pred, mask[:, :3], 4)
