"""Hidden tests of Lucas-Kanade [lk].

Oracles: numpy.gradient, scipy.ndimage.uniform_filter(mode="mirror"), numpy.linalg (eigvalsh,
solve), cv2.pyrDown, skimage.registration.optical_flow_ilk (dense, single level: images of at
most 32 pixels a side get no pyramid there), cv2.calcOpticalFlowPyrLK (sparse), and the float64
re-implementations of flow_oracles.py (iLK with an initial flow, the pyramid, Bouguet's LK).

Tolerances: float64 against float64 oracles 1e-7..1e-9 (the same arithmetic up to summation
order); float32 1e-4 (the windowed means of products of values in [0, 1]). OpenCV works on
uint8 pyramids with Scharr derivatives in fixed point, so the comparison with it is only on
smooth textures (Gaussian-filtered noise, sigma 3.5) where both converge: 0.03 px, and both
within 0.08 px of the exact shift.
"""

import cv2
import numpy as np
import pytest
import torch
from flow_oracles import ilk_np, pyr_lk_np, sparse_lk_np, textured_pair, upsample_np
from scipy import ndimage as ndi
from skimage.registration import optical_flow_ilk

from harness.testkit import assert_tensor


def rand_img(seed, h, w, dtype=torch.float64):
    return torch.rand(h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


# ----------------------------------------------------------------------------- gradients


@pytest.mark.task("lk")
@pytest.mark.parametrize("shape", [(7, 9), (2, 2), (2, 5), (12, 3)])
def test_image_gradients_numpy(student, shape):
    img = rand_img(1, *shape)
    gy, gx = np.gradient(img.numpy())
    assert_tensor(student.image_gradients(img), torch.from_numpy(np.stack([gx, gy])), atol=1e-12,
                  case=f"(Ix, Iy) of a {shape} image")


@pytest.mark.task("lk")
def test_image_gradients_ramp_and_dtype(student):
    # I = 3 x + 5 y^2: Ix = 3 everywhere, Iy = 10 y inside, one-sided at the border rows
    h, w = 5, 4
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    img = 3 * x + 5 * y ** 2
    iy = 10 * y
    iy[0] = 5 * (1 - 0)
    iy[-1] = 5 * (16 - 9)
    got = student.image_gradients(img)
    assert_tensor(got, torch.stack([torch.full((h, w), 3.0), iy]), atol=1e-5, case="channel 0 = x, float32 kept")


@pytest.mark.task("lk")
def test_image_gradients_errors(student):
    with pytest.raises(ValueError, match="img"):
        student.image_gradients(torch.zeros(1, 5))
    with pytest.raises(ValueError, match="img"):
        student.image_gradients(torch.zeros(3, 4, 5))
    with pytest.raises(TypeError, match="img"):
        student.image_gradients(torch.zeros(4, 4, dtype=torch.int64))


# ----------------------------------------------------------------------------- box filter, structure tensor


@pytest.mark.task("lk")
@pytest.mark.parametrize("shape,radius", [((9, 11), 2), ((9, 11), 0), ((3, 4), 5), ((1, 6), 1), ((16, 16), 7)])
def test_box_filter_scipy(student, shape, radius):
    x = rand_img(2, *shape)
    expected = ndi.uniform_filter(x.numpy(), size=2 * radius + 1, mode="mirror")
    assert_tensor(student.box_filter(x, radius), torch.from_numpy(expected), atol=1e-12,
                  case=f"radius {radius} on {shape}")


@pytest.mark.task("lk")
def test_box_filter_batch_and_float32(student):
    x = torch.rand(2, 3, 8, 7, generator=torch.Generator().manual_seed(3))
    got = student.box_filter(x, 2)
    expected = np.stack([[ndi.uniform_filter(x[i, j].double().numpy(), size=5, mode="mirror") for j in range(3)]
                         for i in range(2)])
    assert_tensor(got, torch.from_numpy(expected).float(), atol=1e-6, case="[2, 3, H, W] float32")


@pytest.mark.task("lk")
def test_box_filter_errors(student):
    with pytest.raises(ValueError, match="radius"):
        student.box_filter(torch.zeros(4, 4), -1)
    with pytest.raises(ValueError, match="radius"):
        student.box_filter(torch.zeros(4, 4), 1.5)
    with pytest.raises(ValueError, match="x"):
        student.box_filter(torch.zeros(4), 1)


@pytest.mark.task("lk")
@pytest.mark.parametrize("radius", [1, 3])
def test_structure_tensor_scipy(student, radius):
    grad = torch.randn(2, 10, 13, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    gx, gy = grad[0].numpy(), grad[1].numpy()
    f = lambda a: ndi.uniform_filter(a, size=2 * radius + 1, mode="mirror")  # noqa: E731
    expected = np.stack([f(gx * gx), f(gx * gy), f(gy * gy)])
    assert_tensor(student.structure_tensor(grad, radius), torch.from_numpy(expected), atol=1e-12,
                  case="(<IxIx>, <IxIy>, <IyIy>)")


@pytest.mark.task("lk")
def test_structure_tensor_errors(student):
    with pytest.raises((ValueError, TypeError), match="grad"):
        student.structure_tensor(torch.zeros(3, 4, 4), 1)
    with pytest.raises((ValueError, TypeError), match="radius"):
        student.structure_tensor(torch.zeros(2, 4, 4), -2)


# ----------------------------------------------------------------------------- eigenvalues, untrackable


@pytest.mark.task("lk")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_tensor_eigenvalues_eigvalsh(student, dtype):
    g = torch.Generator().manual_seed(5)
    m = torch.randn(40, 2, 2, generator=g, dtype=torch.float64)
    m = m @ m.transpose(1, 2)  # symmetric PSD
    m[0] = torch.tensor([[2.0, 0.0], [0.0, 7.0]])  # diagonal, larger second entry
    m[1] = torch.tensor([[1.0, 1.0], [1.0, 1.0]])  # rank one: an edge
    st = torch.stack([m[:, 0, 0], m[:, 0, 1], m[:, 1, 1]]).reshape(3, 5, 8).to(dtype)
    ev = np.linalg.eigvalsh(m.numpy())  # ascending
    expected = torch.from_numpy(np.stack([ev[:, 1], ev[:, 0]]).reshape(2, 5, 8)).to(dtype)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert_tensor(student.tensor_eigenvalues(st), expected, atol=tol, case="(lambda_max, lambda_min)")


@pytest.mark.task("lk")
def test_tensor_eigenvalues_negative_entries(student):
    # symmetric but indefinite, negative off-diagonal: (a - c)^2 / 4 + b^2 under the root
    st = torch.tensor([[1.0], [-3.0], [-2.0]], dtype=torch.float64)
    ev = np.linalg.eigvalsh(np.array([[1.0, -3.0], [-3.0, -2.0]]))
    assert_tensor(student.tensor_eigenvalues(st), torch.tensor([[ev[1]], [ev[0]]]), atol=1e-12, case="indefinite")
    with pytest.raises((ValueError, TypeError), match="st"):
        student.tensor_eigenvalues(torch.zeros(2, 4))


@pytest.mark.task("lk")
def test_untrackable_flat_edge_corner(student):
    h = w = 21
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    flat = torch.full((h, w), 0.5, dtype=torch.float64)
    edge = (x >= 10).double()  # a vertical edge: the aperture problem
    corner = ((x >= 10) & (y >= 10)).double()
    for name, img, expected in (("flat", flat, True), ("edge", edge, True), ("corner", corner, False)):
        st = student.structure_tensor(student.image_gradients(img), 3)
        got = student.untrackable(st, 1e-3)
        assert type(got) is torch.Tensor and got.dtype == torch.bool and got.shape == (h, w), f"{name}: {got!r:.80}"
        assert bool(got[10, 10]) is expected, f"{name} window at the centre: untrackable should be {expected}"


@pytest.mark.task("lk")
def test_untrackable_threshold_is_strict_on_lambda_min(student):
    # lambda_max = 4, lambda_min = 0.5 exactly
    st = torch.tensor([[4.0, 0.5], [0.0, 0.0], [0.5, 4.0]], dtype=torch.float64)
    assert_tensor(student.untrackable(st, 0.5), torch.tensor([False, False]), case="lambda_min == threshold")
    assert_tensor(student.untrackable(st, 0.5000001), torch.tensor([True, True]), case="just above lambda_min")
    assert_tensor(student.untrackable(st, 3.0), torch.tensor([True, True]), case="between the eigenvalues")
    with pytest.raises((ValueError, TypeError), match="min_eig"):
        student.untrackable(st, -1.0)


# ----------------------------------------------------------------------------- 2x2 solve


@pytest.mark.task("lk")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_solve_2x2_numpy(student, dtype):
    g = torch.Generator().manual_seed(6)
    m = torch.randn(30, 2, 2, generator=g, dtype=torch.float64)
    m = m @ m.transpose(1, 2) + 0.1 * torch.eye(2, dtype=torch.float64)
    rhs = torch.randn(30, 2, generator=g, dtype=torch.float64)
    st = torch.stack([m[:, 0, 0], m[:, 0, 1], m[:, 1, 1]]).reshape(3, 6, 5)
    b = rhs.T.reshape(2, 6, 5)
    expected = torch.from_numpy(np.linalg.solve(m.numpy(), rhs.numpy()[..., None])[..., 0].T.reshape(2, 6, 5))
    tol = 1e-9 if dtype == torch.float64 else 2e-3
    assert_tensor(student.solve_2x2(st.to(dtype), b.to(dtype)), expected.to(dtype), atol=tol, rtol=tol,
                  case="A x = b")


@pytest.mark.task("lk")
def test_solve_2x2_mixed_dtypes(student):
    # float32 matrix, float64 right-hand side: solved in float64 (the matrix values as given)
    g = torch.Generator().manual_seed(16)
    m = torch.randn(12, 2, 2, generator=g, dtype=torch.float64)
    m = (m @ m.transpose(1, 2) + 0.05 * torch.eye(2, dtype=torch.float64)).float()
    rhs = torch.randn(12, 2, generator=g, dtype=torch.float64)
    st = torch.stack([m[:, 0, 0], m[:, 0, 1], m[:, 1, 1]])
    expected = torch.from_numpy(np.linalg.solve(m.double().numpy(), rhs.numpy()[..., None])[..., 0].T.copy())
    got = student.solve_2x2(st, rhs.T.contiguous())
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10, case="float32 st + float64 b -> float64")


@pytest.mark.task("lk")
def test_solve_2x2_singular_and_eps(student):
    # det = 1 * d - 0: singular (0) below eps, solved at eps (|det| < eps is singular)
    st = torch.tensor([[1.0, 1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 2.0], [1e-3, 5e-4, 0.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([[2.0, 2.0, 2.0, 1.0], [3.0, 3.0, 3.0, 1.0]], dtype=torch.float64)
    got = student.solve_2x2(st, b, eps=1e-3)
    expected = torch.tensor([[2.0, 0.0, 0.0, 0.0], [3.0 / 1e-3, 0.0, 0.0, 0.0]], dtype=torch.float64)
    assert_tensor(got, expected, atol=1e-9,
                  case="det == eps solved; det < eps, det == 0 and singular [[2,2],[2,2]] -> 0")
    assert bool(torch.isfinite(student.solve_2x2(torch.zeros(3, 4, 4), torch.ones(2, 4, 4))).all()), "NaN from det 0"
    tiny = torch.tensor([[1e-8], [0.0], [1e-8]], dtype=torch.float64)  # det 1e-16 < default 1e-14
    assert_tensor(student.solve_2x2(tiny, torch.ones(2, 1, dtype=torch.float64)),
                  torch.zeros(2, 1, dtype=torch.float64), case="default eps 1e-14")
    ok = torch.tensor([[1e-6], [0.0], [1e-6]], dtype=torch.float64)  # det 1e-12 >= 1e-14
    assert_tensor(student.solve_2x2(ok, torch.ones(2, 1, dtype=torch.float64)),
                  torch.full((2, 1), 1e6, dtype=torch.float64), rtol=1e-9, case="default eps: det 1e-12 solved")


@pytest.mark.task("lk")
def test_solve_2x2_errors(student):
    with pytest.raises((ValueError, TypeError), match="st"):
        student.solve_2x2(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises((ValueError, TypeError), match="b"):
        student.solve_2x2(torch.zeros(3, 3), torch.zeros(3, 3))
    with pytest.raises((ValueError, TypeError), match="eps"):
        student.solve_2x2(torch.zeros(3, 3), torch.zeros(2, 3), eps=-1.0)


# ----------------------------------------------------------------------------- dense LK


@pytest.mark.task("lk")
@pytest.mark.parametrize("radius,num_warp,shift", [(3, 5, (1.3, -0.7)), (2, 1, (0.4, 0.9)), (5, 10, (-2.2, 1.6)),
                                                   (1, 3, (0.0, 0.0))])
def test_lk_dense_skimage_float64(student, radius, num_warp, shift):
    i0, i1 = textured_pair(8, (32, 27), shift)
    ref = optical_flow_ilk(i0, i1, radius=radius, num_warp=num_warp, gaussian=False, prefilter=False,
                           dtype=np.float64)
    got = student.lk_dense(torch.from_numpy(i0), torch.from_numpy(i1), radius=radius, num_warp=num_warp)
    assert_tensor(got, torch.from_numpy(np.ascontiguousarray(ref[::-1])), atol=1e-7,
                  case=f"(u, v) = skimage (v, u) swapped, radius {radius}, num_warp {num_warp}")


@pytest.mark.task("lk")
def test_lk_dense_skimage_float32_and_defaults(student):
    i0, i1 = textured_pair(9, (30, 32), (0.8, 1.1))
    i0, i1 = i0.astype(np.float32), i1.astype(np.float32)
    ref = optical_flow_ilk(i0, i1, radius=7, num_warp=10, gaussian=False, prefilter=False)
    got = student.lk_dense(torch.from_numpy(i0), torch.from_numpy(i1))
    assert_tensor(got, torch.from_numpy(np.ascontiguousarray(ref[::-1])), atol=2e-3, case="float32, defaults 7 / 10")
    # the true shift, inside (away from the border)
    err = (got[:, 8:-8, 8:-8] - torch.tensor([0.8, 1.1]).view(2, 1, 1)).abs().max()
    assert float(err) < 0.05, f"dense LK misses a (0.8, 1.1) shift by {float(err):.3f} px"


@pytest.mark.task("lk")
def test_lk_dense_flow_init_and_mixed_dtypes(student):
    i0, i1 = textured_pair(10, (20, 24), (2.5, -1.5))
    # float64 + float32: the second image is promoted before warping
    got = student.lk_dense(torch.from_numpy(i0), torch.from_numpy(i1).float(), radius=2, num_warp=3)
    assert_tensor(got, torch.from_numpy(ilk_np(i0, i1.astype(np.float32), 2, 3)), atol=1e-9,
                  case="float64 + float32 -> float64")
    init = np.stack([np.full((20, 24), 2.0), np.full((20, 24), -1.0)])
    init = init + 0.1 * np.random.default_rng(0).random((2, 20, 24))
    expected = ilk_np(i0.astype(np.float32), i1, 2, 2, init)
    # the float64 oracle equals scikit-image's iLK where both apply (no init, one level)
    ref = optical_flow_ilk(i0, i1, radius=2, num_warp=2, gaussian=False, prefilter=False, dtype=np.float64)
    np.testing.assert_allclose(ilk_np(i0, i1, 2, 2), ref[::-1], atol=1e-9)
    got = student.lk_dense(torch.from_numpy(i0).float(), torch.from_numpy(i1), radius=2, num_warp=2,
                           flow_init=torch.from_numpy(init))
    assert_tensor(got, torch.from_numpy(expected), atol=1e-6, case="float32 + float64 -> float64, with flow_init")


@pytest.mark.task("lk")
def test_lk_dense_flat_image_gives_zero(student):
    flat = torch.full((12, 12), 0.3, dtype=torch.float64)
    got = student.lk_dense(flat, flat.clone(), radius=2, num_warp=2)
    assert_tensor(got, torch.zeros(2, 12, 12, dtype=torch.float64), case="singular everywhere -> 0, no NaN")


@pytest.mark.task("lk")
def test_lk_dense_errors(student):
    a = torch.zeros(8, 8)
    with pytest.raises((ValueError, TypeError), match="img0|img1|shape"):
        student.lk_dense(a, torch.zeros(8, 9))
    with pytest.raises((ValueError, TypeError), match="radius"):
        student.lk_dense(a, a, radius=0)
    with pytest.raises((ValueError, TypeError), match="num_warp"):
        student.lk_dense(a, a, num_warp=0)
    with pytest.raises((ValueError, TypeError), match="flow_init|img0|img1"):
        student.lk_dense(a, a, flow_init=torch.zeros(2, 8, 7))
    with pytest.raises((ValueError, TypeError), match="img0"):
        student.lk_dense(torch.zeros(8, 8, dtype=torch.uint8), a)


# ----------------------------------------------------------------------------- pyramid


@pytest.mark.task("lk")
@pytest.mark.parametrize("shape", [(37, 29), (8, 8), (5, 6), (64, 3)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pyramid_down_opencv(student, shape, dtype):
    x = rand_img(11, *shape, dtype=dtype)
    expected = torch.from_numpy(cv2.pyrDown(x.numpy()))
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    assert_tensor(student.pyramid_down(x), expected, atol=tol, case=f"cv2.pyrDown of {shape}")


@pytest.mark.task("lk")
@pytest.mark.parametrize("coarse,size", [((5, 7), (10, 13)), ((4, 4), (7, 8)), ((1, 3), (2, 5)), ((3, 1), (5, 2)),
                                         ((1, 1), (2, 2)), ((2, 3), (4, 5)),
                                         ((3, 2), (5, 4))])
def test_upsample_flow(student, coarse, size):
    flow = torch.randn(2, *coarse, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    expected = torch.from_numpy(upsample_np(flow.numpy(), size))
    assert_tensor(student.upsample_flow(flow, size), expected, atol=1e-12, case=f"{coarse} -> {size}")
    with pytest.raises((ValueError, TypeError), match="size"):
        student.upsample_flow(flow, (0, 3))


@pytest.mark.task("lk")
@pytest.mark.parametrize("levels,radius,shift", [(3, 4, (4.6, -3.2)), (2, 2, (1.2, 2.1)), (1, 3, (0.5, 0.5))])
def test_lk_dense_pyramid_oracle(student, levels, radius, shift):
    i0, i1 = textured_pair(13, (48, 40), shift)
    expected = pyr_lk_np(i0, i1, radius, 3, levels)
    got = student.lk_dense_pyramid(torch.from_numpy(i0), torch.from_numpy(i1), radius=radius, num_warp=3,
                                   levels=levels)
    assert_tensor(got, torch.from_numpy(expected), atol=1e-6, case=f"{levels} levels, radius {radius}")


@pytest.mark.task("lk")
@pytest.mark.parametrize("dtypes", [(torch.float64, torch.float32), (torch.float32, torch.float64)])
def test_lk_dense_pyramid_mixed_dtypes(student, dtypes):
    # both pyramids are built in the promoted dtype (float64), from the images as given
    i0, i1 = textured_pair(15, (40, 36), (3.1, 2.2))
    a, b = torch.from_numpy(i0).to(dtypes[0]), torch.from_numpy(i1).to(dtypes[1])
    expected = pyr_lk_np(a.double().numpy(), b.double().numpy(), 3, 3, 3)
    got = student.lk_dense_pyramid(a, b, radius=3, num_warp=3, levels=3)
    assert_tensor(got, torch.from_numpy(expected), atol=1e-8, case=f"{dtypes[0]} + {dtypes[1]} -> float64")


@pytest.mark.task("lk")
def test_lk_dense_pyramid_recovers_large_shift(student):
    i0, i1 = textured_pair(14, (64, 64), (6.3, -4.7), sigma=2.0)
    single = student.lk_dense(torch.from_numpy(i0), torch.from_numpy(i1), radius=4, num_warp=10)
    pyr = student.lk_dense_pyramid(torch.from_numpy(i0), torch.from_numpy(i1), radius=4, num_warp=10, levels=3)
    truth = torch.tensor([6.3, -4.7], dtype=torch.float64).view(2, 1, 1)
    err_pyr = (pyr[:, 12:-12, 12:-12] - truth).norm(dim=0).median()
    err_one = (single[:, 12:-12, 12:-12] - truth).norm(dim=0).median()
    assert float(err_pyr) < 0.1, f"pyramidal LK: median EPE {float(err_pyr):.3f} px on an (6.3, -4.7) shift"
    assert float(err_one) > 3 * float(err_pyr), "sanity: one level should not handle this shift"


@pytest.mark.task("lk")
def test_lk_dense_pyramid_errors(student):
    a = torch.zeros(12, 12)
    with pytest.raises((ValueError, TypeError), match="levels"):
        student.lk_dense_pyramid(a, a, levels=0)
    with pytest.raises((ValueError, TypeError), match="levels|img0|img1|small"):
        student.lk_dense_pyramid(a, a, levels=4)


# ----------------------------------------------------------------------------- sparse LK


def grid_points(lo, hi, step):
    r = np.arange(lo, hi, step, dtype=np.float64)
    return np.stack(np.meshgrid(r, r), -1).reshape(-1, 2) + np.array([0.3, 0.6])  # sub-pixel starts


@pytest.mark.task("lk")
@pytest.mark.parametrize("seed,shift", [(20, (3.4, -5.7)), (21, (0.3, 0.45)), (22, (-6.2, 5.6))])
def test_lk_sparse_opencv(student, seed, shift):
    i0, i1 = textured_pair(seed, (96, 96), shift, uint8=True)
    pts = grid_points(24, 73, 12).astype(np.float32)
    nxt, st, _ = cv2.calcOpticalFlowPyrLK(i0, i1, pts.reshape(-1, 1, 2), None, winSize=(15, 15), maxLevel=2,
                                          criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    got, status = student.lk_sparse(torch.from_numpy(i0).float() / 255, torch.from_numpy(i1).float() / 255,
                                    torch.from_numpy(pts), radius=7, levels=3)
    assert type(got) is torch.Tensor and got.shape == (len(pts), 2) and got.dtype == torch.float32, got
    assert type(status) is torch.Tensor and status.dtype == torch.bool and status.shape == (len(pts),), status
    both = st.ravel().astype(bool) & status.numpy()
    assert both.mean() > 0.9, f"only {int(status.sum())} of {len(pts)} points tracked on a textured image"
    diff = np.abs(got.numpy() - nxt.reshape(-1, 2))[both].max()
    assert diff < 0.03, f"points differ from cv2.calcOpticalFlowPyrLK by {diff:.3f} px (x, y order?)"
    truth = pts + np.array(shift, dtype=np.float32)
    err = np.abs(got.numpy() - truth)[both].max()
    assert err < 0.08, f"tracked points miss the exact shift {shift} by {err:.3f} px"


@pytest.mark.task("lk")
@pytest.mark.parametrize("kwargs", [dict(radius=7, levels=3), dict(radius=3, levels=2, num_iters=4, eps=0.05),
                                    dict(radius=5, levels=1, num_iters=1), dict(radius=4, levels=3, min_eig=2e-3)])
def test_lk_sparse_float64_oracle(student, kwargs):
    i0, i1 = textured_pair(23, (64, 72), (2.7, -1.9))
    pts = np.array([[20.3, 30.6], [40.0, 41.5], [5.2, 60.1], [66.0, 12.25], [35.5, 32.0], [69.5, 61.5]])
    _compare_sparse(student, i0, i1, pts, kwargs)


@pytest.mark.task("lk")
@pytest.mark.parametrize("kwargs", [dict(radius=4, levels=2), dict(radius=3, levels=1, num_iters=10)])
@pytest.mark.parametrize("shift", [(1.2, 2.6), (-2.4, -1.3)])
def test_lk_sparse_leaving_the_image(student, kwargs, shift):
    # a wide image (W > H): points near the bottom (or top) row and the left column move out; rows,
    # not columns, bound y, and each of x < 0, x > W - 1, y < 0, y > H - 1 loses the point
    i0, i1 = textured_pair(25, (32, 64), shift)
    pts = np.array([[30.0, 30.5], [50.2, 29.0], [12.0, 31.0], [40.0, 16.0], [1.0, 12.0], [20.0, 0.5], [63.0, 20.0]])
    _compare_sparse(student, i0, i1, pts, kwargs)


def _compare_sparse(student, i0, i1, pts, kwargs):
    exp_pts, exp_status = sparse_lk_np(i0, i1, pts, **kwargs)
    got, status = student.lk_sparse(torch.from_numpy(i0), torch.from_numpy(i1), torch.from_numpy(pts), **kwargs)
    assert_tensor(status, torch.from_numpy(exp_status), case=f"status, {kwargs}")
    assert_tensor(got, torch.from_numpy(exp_pts), atol=1e-7, case=f"tracked points, {kwargs}")


@pytest.mark.task("lk")
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float64), (torch.float64, torch.float32)])
def test_lk_sparse_mixed_dtypes(student, dtypes):
    # both pyramids in the promoted dtype, from the images as given
    i0, i1 = textured_pair(28, (40, 48), (2.2, -1.4))
    a, b = torch.from_numpy(i0).to(dtypes[0]), torch.from_numpy(i1).to(dtypes[1])
    pts = np.array([[20.3, 18.6], [30.0, 25.5], [12.2, 10.1]])
    exp_pts, exp_status = sparse_lk_np(a.double().numpy(), b.double().numpy(), pts, radius=4, levels=2)
    got, status = student.lk_sparse(a, b, torch.from_numpy(pts), radius=4, levels=2)
    assert_tensor(status, torch.from_numpy(exp_status), case="status")
    assert_tensor(got, torch.from_numpy(exp_pts), atol=1e-9, case=f"{dtypes[0]} + {dtypes[1]} -> float64")


@pytest.mark.task("lk")
def test_lk_sparse_of_one_point_is_the_same_as_among_many(student):
    # the smallest non-empty point set: one point, tracked as it is among others
    i0, i1 = textured_pair(27, (24, 32), (1.5, -0.75))
    a, b = torch.from_numpy(i0), torch.from_numpy(i1)
    pts = torch.tensor([[12.0, 10.0], [20.5, 14.25], [8.0, 16.0]], dtype=torch.float64)
    many, many_status = student.lk_sparse(a, b, pts, radius=4, levels=2)
    for k in range(3):
        one, status = student.lk_sparse(a, b, pts[k:k + 1], radius=4, levels=2)
        assert_tensor(status, many_status[k:k + 1], case=f"point {k} alone: status")
        assert_tensor(one, many[k:k + 1], atol=1e-9, case=f"point {k} alone: position")
    assert float((many - pts).abs().max()) > 0.5, "the points move (test setup)"


@pytest.mark.task("lk")
def test_lk_sparse_exact_border_points(student):
    # identical frames: every update is exactly 0, so a point stays where it is; points exactly on
    # the border rows and columns are inside ([0, W-1] x [0, H-1] is closed)
    i0, _ = textured_pair(26, (20, 30), (0.0, 0.0))
    img = torch.from_numpy(i0)
    pts = torch.tensor([[0.0, 0.0], [29.0, 19.0], [29.0, 0.0], [0.0, 19.0], [14.5, 9.25]], dtype=torch.float64)
    got, status = student.lk_sparse(img, img.clone(), pts, radius=3, levels=2)
    assert_tensor(status, torch.ones(5, dtype=torch.bool), case="corners of the image are inside")
    assert_tensor(got, pts, atol=1e-12, case="no motion")


@pytest.mark.task("lk")
@pytest.mark.parametrize("shift", [(-1.5, -1.6), (1.4, 1.7)])
def test_lk_sparse_just_outside(student, shift):
    # points ending within one pixel outside the image, or passing within one pixel of its border
    i0, i1 = textured_pair(27, (24, 36), shift)
    pts = np.array([[1.0, 10.0], [10.0, 2.0], [20.0, 1.2], [34.0, 12.0], [15.0, 22.5], [0.6, 0.9]])
    _compare_sparse(student, i0, i1, pts, dict(radius=3, levels=1, num_iters=20, eps=0.001))


@pytest.mark.task("lk")
def test_lk_sparse_lost_points(student):
    i0, i1 = textured_pair(24, (48, 48), (1.0, 0.5))
    i0 = i0.copy()
    i0[:, :20] = 0.5  # a flat band: untrackable there
    pts = torch.tensor([[10.0, 24.0], [34.0, 24.0], [47.0, 10.0]], dtype=torch.float64)
    got, status = student.lk_sparse(torch.from_numpy(i0), torch.from_numpy(i1), pts, radius=4, levels=2)
    assert status.tolist() == [False, True, False], (
        f"status {status.tolist()}: the flat window is untrackable, the point at x = 47 moves out of the image")
    assert abs(float(got[1, 0]) - 35.0) < 0.1 and abs(float(got[1, 1]) - 24.5) < 0.1, got[1]


@pytest.mark.task("lk")
def test_lk_sparse_no_points(student):
    a = torch.rand(16, 16, generator=torch.Generator().manual_seed(2))
    got, status = student.lk_sparse(a, a, torch.zeros(0, 2))
    assert_tensor(got, torch.zeros(0, 2), case="N = 0 points")
    assert_tensor(status, torch.zeros(0, dtype=torch.bool), case="N = 0 status")


@pytest.mark.task("lk")
def test_lk_sparse_errors(student):
    a = torch.zeros(16, 16)
    with pytest.raises((ValueError, TypeError), match="points"):
        student.lk_sparse(a, a, torch.zeros(3, 3))
    with pytest.raises((ValueError, TypeError), match="eps"):
        student.lk_sparse(a, a, torch.zeros(1, 2), eps=-0.1)
    with pytest.raises((ValueError, TypeError), match="num_iters"):
        student.lk_sparse(a, a, torch.zeros(1, 2), num_iters=0)
    with pytest.raises((ValueError, TypeError), match="levels|img0|img1|small"):
        student.lk_sparse(a, a, torch.zeros(1, 2), levels=5)


# where a docstring says "TypeError, ValueError" without pinning one to the case, either is accepted
_TE = (ValueError, TypeError)


@pytest.mark.task("lk")
@pytest.mark.parametrize("name,args,kwargs,exc,match", [
    ("image_gradients", ([[0.0, 1.0], [2.0, 3.0]],), {}, TypeError, "img"),
    ("box_filter", ([[0.0, 1.0]], 1), {}, TypeError, "x"),
    ("box_filter", (torch.zeros(3, 3, dtype=torch.int64), 1), {}, TypeError, "x"),
    ("structure_tensor", ([[0.0]], 1), {}, _TE, "grad"),
    ("structure_tensor", (torch.zeros(2, 3, 3, dtype=torch.int64), 1), {}, _TE, "grad"),
    ("tensor_eigenvalues", ([1.0, 0.0, 1.0],), {}, _TE, "st"),
    ("tensor_eigenvalues", (torch.zeros(3, 2, dtype=torch.int64),), {}, _TE, "st"),
    ("solve_2x2", ([1.0, 0.0, 1.0], torch.zeros(2)), {}, _TE, "st"),
    ("solve_2x2", (torch.zeros(3, 2), torch.zeros(2, 2, dtype=torch.int64)), {}, _TE, "b"),
    ("solve_2x2", (torch.zeros(3, 2), torch.zeros(2, 3)), {}, _TE, r"st|\bb\b|trailing"),
    ("lk_dense", (torch.zeros(1, 5), torch.zeros(1, 5)), {}, _TE, "img0|img1|2 x 2"),
    ("lk_dense", (torch.zeros(4, 4), torch.zeros(4, 4)), {"flow_init": [[0.0]]}, _TE, "flow_init"),
    ("lk_dense", ([[0.0]], torch.zeros(4, 4)), {}, _TE, "img0"),
    ("lk_sparse", (torch.zeros(8, 8), torch.zeros(8, 8), [[1.0, 1.0]]), {"levels": 1}, _TE, "points"),
    ("pyramid_down", (torch.zeros(2, 3, 4),), {}, _TE, "img"),
    ("upsample_flow", (torch.zeros(2, 3, 4, dtype=torch.int64), (6, 8)), {}, _TE, "flow"),
    ("upsample_flow", (torch.zeros(3, 4), (6, 8)), {}, _TE, "flow"),
])
def test_input_errors(student, name, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        getattr(student, name)(*args, **kwargs)
