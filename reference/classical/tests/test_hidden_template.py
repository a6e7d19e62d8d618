"""Hidden tests of template matching [template, template_fft].

Oracles: OpenCV ``matchTemplate`` (TM_SQDIFF, TM_CCORR_NORMED, TM_CCOEFF_NORMED; float32 inside
OpenCV, hence the float32 tolerances), scikit-image ``match_template`` (float64 ZNCC, flat
windows 0) and float64 loops over every window written here.
"""

import cv2
import numpy as np
import pytest
import torch
from skimage.feature import match_template

from harness.testkit import assert_tensor

CV = {"ssd": cv2.TM_SQDIFF, "ncc": cv2.TM_CCORR_NORMED, "zncc": cv2.TM_CCOEFF_NORMED}
METHODS = ["ssd", "ncc", "zncc"]
DTYPES = [torch.float32, torch.float64]


def scene(h, w, seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(h, w, generator=gen, dtype=torch.float64).to(dtype)


def loop_scores(image, template, method):
    """float64 loop over every window: the definitions, flat windows 0 (FLAT_EPS = 1e-10)."""
    img, tpl = image.double().numpy(), template.double().numpy()
    h, w = tpl.shape
    n = h * w
    out = np.zeros((img.shape[0] - h + 1, img.shape[1] - w + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            win = img[y:y + h, x:x + w]
            if method == "ssd":
                out[y, x] = ((win - tpl) ** 2).sum()
            elif method == "ncc":
                a, b = (win * win).sum(), (tpl * tpl).sum()
                out[y, x] = 0.0 if a <= 1e-10 * n or b <= 1e-10 * n else (win * tpl).sum() / np.sqrt(a * b)
            else:
                wz, tz = win - win.mean(), tpl - tpl.mean()
                a, b = (wz * wz).sum(), (tz * tz).sum()
                out[y, x] = 0.0 if a <= 1e-10 * n or b <= 1e-10 * n else (wz * tz).sum() / np.sqrt(a * b)
    return torch.from_numpy(out)


def direct(student, method):
    return getattr(student, method)


@pytest.mark.task("template")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape, tshape", [((20, 30), (5, 7)), ((17, 13), (17, 13)), ((9, 11), (1, 1)),
                                           ((12, 15), (12, 1)), ((8, 40), (3, 40))])
def test_direct_equals_the_definition(student, method, shape, tshape):
    image = scene(*shape, seed=1)
    template = scene(*tshape, seed=2)
    assert_tensor(direct(student, method)(image, template), loop_scores(image, template, method),
                  atol=1e-10, rtol=1e-10, case=f"{method} {shape} {tshape}")


@pytest.mark.task("template")
@pytest.mark.parametrize("method", METHODS)
def test_direct_equals_opencv_float32(student, method):
    image = scene(40, 52, seed=3, dtype=torch.float32)
    template = image[11:20, 7:21].clone() * 0.9 + 0.05
    expected = torch.from_numpy(cv2.matchTemplate(image.numpy(), template.numpy(), CV[method]))
    got = direct(student, method)(image, template)
    tol = dict(atol=5e-4, rtol=1e-4) if method == "ssd" else dict(atol=2e-5, rtol=0)
    assert_tensor(got, expected, **tol, case=method)


@pytest.mark.task("template")
def test_zncc_equals_scikit_image(student):
    image = scene(33, 27, seed=4)
    image[0:10, 0:10] = 0.5  # flat windows: scikit-image and the pinned convention give 0
    template = scene(6, 5, seed=5)
    expected = torch.from_numpy(match_template(image.numpy(), template.numpy()))
    got = student.zncc(image, template)
    assert_tensor(got, expected, atol=1e-10, rtol=0)
    assert float(got[0:5, 0:6].abs().max()) == 0.0


@pytest.mark.task("template")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float32), (torch.float64, torch.float64),
                                    (torch.float32, torch.float64), (torch.float64, torch.float32)])
def test_dtypes(student, method, dtypes):
    image = scene(15, 16, seed=6, dtype=dtypes[0])
    template = scene(4, 3, seed=7, dtype=dtypes[1])
    expected = loop_scores(image, template, method)
    dtype = torch.promote_types(*dtypes)
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-10)
    assert_tensor(direct(student, method)(image, template), expected.to(dtype), **tol)


@pytest.mark.task("template")
def test_flat_windows_and_flat_templates_score_zero(student):
    image = torch.zeros(10, 12, dtype=torch.float64)
    image[:, 6:] = torch.linspace(0, 1, 60, dtype=torch.float64).reshape(10, 6)
    template = scene(3, 3, seed=8)
    got = student.ncc(image, template)
    assert float(got[:, :4].abs().max()) == 0.0  # all-zero windows: no nan, 0
    assert bool(torch.isfinite(got).all())
    z = student.zncc(image, template)
    assert float(z[:, :4].abs().max()) == 0.0 and bool(torch.isfinite(z).all())
    flat_template = torch.full((3, 3), 0.3, dtype=torch.float64)
    assert float(student.zncc(image, flat_template).abs().max()) == 0.0
    assert float(student.ncc(image, torch.zeros(3, 3, dtype=torch.float64)).abs().max()) == 0.0


@pytest.mark.task("template")
def test_flat_threshold_is_per_pixel(student):
    # window sum of squares 9 * 1e-12 = 1e-11 <= 1e-10 * 9: flat; 9 * 1e-9 > 9e-10: not flat
    template = torch.ones(3, 3, dtype=torch.float64)
    tiny = torch.full((3, 3), 1e-6, dtype=torch.float64)
    small = torch.full((3, 3), 3e-5, dtype=torch.float64)
    assert float(student.ncc(tiny, template)[0, 0]) == 0.0
    assert abs(float(student.ncc(small, template)[0, 0]) - 1.0) < 1e-9


@pytest.mark.task("template")
def test_which_score_survives_brightness_and_contrast(student):
    """The notes' point: ZNCC is invariant to I -> a I + b (a > 0), NCC only to I -> a I, SSD to
    neither; under a change the SSD best match moves away from the true location."""
    image = scene(40, 40, seed=9)
    template = image[20:30, 5:15].clone()
    changed = 0.5 * image + 0.4
    changed[20:30, 5:15] = image[20:30, 5:15] * 0.5 + 0.4
    assert_tensor(student.zncc(changed, template), student.zncc(image, template), atol=1e-9, rtol=0)
    assert_tensor(student.ncc(1.7 * image, template), student.ncc(image, template), atol=1e-9, rtol=0)
    assert float((student.ncc(image + 0.4, template) - student.ncc(image, template)).abs().max()) > 1e-2
    assert student.best_match(student.zncc(changed, template), "zncc") == (5, 20)
    darker = image.clone()
    darker[20:30, 5:15] = 0.3 * image[20:30, 5:15]  # the object under a shadow
    assert student.best_match(student.zncc(darker, template), "zncc") == (5, 20)
    assert student.best_match(student.ssd(darker, template), "ssd") != (5, 20)


@pytest.mark.task("template")
@pytest.mark.parametrize("method", METHODS)
def test_best_match_is_x_y_like_minmaxloc(student, method):
    image = scene(30, 45, seed=10, dtype=torch.float32)
    template = image[7:15, 21:33].clone()
    scores = torch.from_numpy(cv2.matchTemplate(image.numpy(), template.numpy(), CV[method]))
    lo_val, hi_val, lo, hi = cv2.minMaxLoc(scores.numpy())
    got = student.best_match(scores, method)
    assert type(got) is tuple and len(got) == 2 and all(type(v) is int for v in got)
    assert got == (lo if method == "ssd" else hi) == (21, 7)


@pytest.mark.task("template")
def test_best_match_ties_take_the_first_in_row_major_order(student):
    scores = torch.tensor([[0.0, 0.2, 0.9], [0.9, 0.1, 0.0]], dtype=torch.float64)
    assert student.best_match(scores, "zncc") == (2, 0)
    assert student.best_match(scores, "ncc") == (2, 0)
    assert student.best_match(scores, "ssd") == (0, 0)
    assert student.best_match(torch.tensor([[0.5, 0.1, 0.1]]), "ssd") == (1, 0)


@pytest.mark.task("template")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.ssd(torch.zeros(4, 4), torch.zeros(5, 2)), ValueError, "larger|template"),
    (lambda s: s.ncc(torch.zeros(4, 4, 1), torch.zeros(2, 2)), ValueError, "image"),
    (lambda s: s.zncc(torch.zeros(4, 4), torch.zeros(2)), ValueError, "template"),
    (lambda s: s.zncc(torch.zeros(4, 4, dtype=torch.int64), torch.zeros(2, 2)), TypeError, "image"),
    (lambda s: s.ssd(torch.zeros(4, 4), torch.zeros(0, 2)), ValueError, "template"),
    (lambda s: s.best_match(torch.zeros(2, 2), "sad"), ValueError, "method"),
    (lambda s: s.best_match(torch.zeros(0, 2), "ssd"), ValueError, "scores"),
    (lambda s: s.ncc([[1.0]], torch.zeros(1, 1)), TypeError, "image"),
], ids=["larger", "3d", "1d", "int", "empty", "method", "empty-scores", "list"])
def test_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)


# ------------------------------------------------------------------------------ template_fft
@pytest.mark.task("template_fft")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape, tshape", [((31, 40), (7, 9)), ((16, 16), (16, 16)), ((10, 13), (1, 1)),
                                           ((20, 9), (4, 9)), ((11, 25), (6, 2))])
def test_fft_equals_the_definition(student, method, shape, tshape):
    image = scene(*shape, seed=11)
    template = scene(*tshape, seed=12)
    got = student.match_template_fft(image, template, method)
    assert_tensor(got, loop_scores(image, template, method), atol=1e-9, rtol=1e-9, case=method)


@pytest.mark.task("template_fft")
@pytest.mark.parametrize("method", METHODS)
def test_fft_equals_opencv(student, method):
    image = scene(48, 64, seed=13, dtype=torch.float32)
    template = image[30:41, 8:24].clone()
    expected = torch.from_numpy(cv2.matchTemplate(image.numpy(), template.numpy(), CV[method]))
    tol = dict(atol=5e-4, rtol=1e-4) if method == "ssd" else dict(atol=2e-5, rtol=0)
    got = student.match_template_fft(image, template, method)
    assert_tensor(got, expected, **tol)
    assert student.best_match(got, method) == (8, 30)


@pytest.mark.task("template_fft")
def test_fft_default_method_is_zncc_and_flat_windows(student):
    image = scene(24, 30, seed=14)
    image[4:16, 3:20] = 0.7
    template = scene(5, 6, seed=15)
    expected = torch.from_numpy(match_template(image.numpy(), template.numpy()))
    got = student.match_template_fft(image, template)
    # scikit-image leaves round-off (~4e-8) on the flat windows; the pinned convention gives 0
    assert_tensor(got, expected, atol=1e-6, rtol=0)
    assert_tensor(got, loop_scores(image, template, "zncc"), atol=1e-9, rtol=0)
    assert float(got[4:12, 3:15].abs().max()) == 0.0


@pytest.mark.task("template_fft")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float32), (torch.float32, torch.float64),
                                    (torch.float64, torch.float32)])
def test_fft_dtypes(student, method, dtypes):
    image = scene(14, 18, seed=16, dtype=dtypes[0])
    template = scene(3, 5, seed=17, dtype=dtypes[1])
    dtype = torch.promote_types(*dtypes)
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == torch.float32 else dict(atol=1e-9, rtol=1e-9)
    got = student.match_template_fft(image, template, method)
    assert_tensor(got, loop_scores(image, template, method).to(dtype), **tol)


@pytest.mark.task("template_fft")
def test_fft_ssd_is_never_negative(student):
    image = scene(20, 20, seed=18) * 1000
    template = image[3:10, 4:12].clone()
    got = student.match_template_fft(image, template, "ssd")
    assert float(got.min()) >= 0.0


@pytest.mark.task("template_fft")
@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.match_template_fft(torch.zeros(4, 4), torch.zeros(2, 2), "sqdiff"), ValueError, "method"),
    (lambda s: s.match_template_fft(torch.zeros(4, 4), torch.zeros(5, 5)), ValueError, "larger|template"),
    (lambda s: s.match_template_fft(torch.zeros(4, 4, dtype=torch.int32), torch.zeros(2, 2)), TypeError, "image"),
], ids=["method", "larger", "int"])
def test_fft_input_checks(student, call, exc, match):
    with pytest.raises(exc, match=match):
        call(student)
