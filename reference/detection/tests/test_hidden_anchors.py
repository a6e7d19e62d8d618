"""Hidden tests of generate_anchors [anchors].

Oracle: torchvision's AnchorGenerator on an ImageList of size (H * stride_h, W * stride_w).
Non-square feature maps and strides tell x from y; single aspect ratios tell h / w from w / h.
In float16 / bfloat16 the anchors must be torchvision's exactly: base anchors in float32,
rounded, converted, then shifted in the requested dtype (bfloat16 rounds coordinates above 256).
"""

import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from harness.testkit import assert_refused_or_same, assert_tensor, devices


def torchvision_anchors(feature_size, stride, sizes, aspect_ratios, dtype=torch.float32):
    height, width = feature_size
    image_size = (height * stride[0], width * stride[1])
    images = ImageList(torch.zeros(1, 3, *image_size, dtype=dtype), [image_size])
    features = [torch.zeros(1, 1, height, width, dtype=dtype)]
    return AnchorGenerator((tuple(sizes),), (tuple(aspect_ratios),))(images, features)[0]


CONFIGS = {
    "square": ((5, 7), (16, 16), (32.0, 64.0, 128.0), (0.5, 1.0, 2.0)),
    "wide-stride": ((3, 5), (8, 16), (24.0,), (0.5,)),
    "tall-stride": ((4, 2), (32, 8), (16.0, 48.0), (1 / 3, 3.0)),
    "odd-sizes": ((2, 3), (4, 4), (3.0, 5.0, 7.0), (1.0,)),  # half sides 1.5, 2.5, 3.5 round to even
    "uneven": ((6, 4), (10, 12), (50.0,), (0.25, 1.0, 4.0)),
}


@pytest.mark.task("anchors")
@pytest.mark.parametrize("name", list(CONFIGS))
def test_anchors_match_torchvision(student, name):
    feature_size, stride, sizes, ratios = CONFIGS[name]
    expected = torchvision_anchors(feature_size, stride, sizes, ratios)
    got = student.generate_anchors(feature_size, stride, sizes, ratios)
    assert_tensor(
        got, expected, case=f"feature {feature_size}, stride {stride}, sizes {sizes}, ratios {ratios}"
    )


@pytest.mark.task("anchors")
@pytest.mark.parametrize("name", ["square", "tall-stride"])
def test_anchors_in_float64(student, name):
    feature_size, stride, sizes, ratios = CONFIGS[name]
    expected = torchvision_anchors(feature_size, stride, sizes, ratios, dtype=torch.float64)
    got = student.generate_anchors(feature_size, stride, sizes, ratios, dtype=torch.float64)
    assert_tensor(got, expected, case=f"float64, feature {feature_size}, stride {stride}")


@pytest.mark.task("anchors")
@pytest.mark.parametrize("name", ["square", "uneven"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_anchors_in_half_precision(student, dtype, name):
    feature_size, stride, sizes, ratios = CONFIGS[name]
    feature_size = (feature_size[0] * 6, feature_size[1] * 6)  # coordinates up to ~600
    expected = torchvision_anchors(feature_size, stride, sizes, ratios, dtype=dtype)
    got = student.generate_anchors(feature_size, stride, sizes, ratios, dtype=dtype)
    assert_tensor(got, expected, case=f"{dtype}, feature {feature_size}, stride {stride}")


@pytest.mark.task("anchors")
@pytest.mark.parametrize("device", devices())
def test_anchors_on_device(student, device):
    feature_size, stride, sizes, ratios = CONFIGS["wide-stride"]
    expected = torchvision_anchors(feature_size, stride, sizes, ratios).to(device)
    got = student.generate_anchors(feature_size, stride, sizes, ratios, device=device)
    assert_tensor(got, expected, case=f"feature {feature_size}, stride {stride} on {device}")


@pytest.mark.task("anchors")
def test_anchor_order_is_ratio_then_size(student):
    # ratio 1: sizes 12, 20 -> half sides 6, 10; ratio 4 (h = 2 s, w = s / 2): 3 x 12, 5 x 20
    expected = torch.tensor(
        [
            [-6.0, -6.0, 6.0, 6.0],
            [-10.0, -10.0, 10.0, 10.0],
            [-3.0, -12.0, 3.0, 12.0],
            [-5.0, -20.0, 5.0, 20.0],
        ]
    )
    got = student.generate_anchors((1, 1), (8, 8), (12.0, 20.0), (1.0, 4.0))
    assert_tensor(got, expected, case="one location, sizes (12, 20), ratios (1, 4)")


@pytest.mark.task("anchors")
@pytest.mark.parametrize(
    "stride, sizes, ratios, name",
    [
        ((16, 16), (0.0, 32.0), (1.0,), "sizes"),
        ((16, 16), (-8.0,), (1.0,), "sizes"),
        ((16, 16), (32.0,), (1.0, 0.0), "aspect_ratios"),
        ((0, 16), (32.0,), (1.0,), "stride"),
    ],
    ids=["zero-size", "negative-size", "zero-ratio", "zero-stride"],
)
def test_anchors_reject_non_positive_arguments(student, stride, sizes, ratios, name):
    with pytest.raises(ValueError, match=name):
        student.generate_anchors((2, 2), stride, sizes, ratios)


# ================================================================ classes of one-mistake variants
# (found by `cv3 check detection --mutants`): each element of each pair argument checked, at its
# boundary, with the documented exception.


@pytest.mark.task("anchors")
@pytest.mark.parametrize("name", ["feature_size", "stride"])
def test_anchors_check_each_element_of_a_pair(student, name):
    def call(value):
        args = {"feature_size": (2, 3), "stride": (8, 8)}
        args[name] = value
        return student.generate_anchors(args["feature_size"], args["stride"], (32.0,), (1.0,))

    for value in [(2, 0), (0, 2), (2, -1), (-1, 2)]:
        with pytest.raises(ValueError, match=name):
            call(value)
    for value in [(2, 3.0), (2.0, 3)]:
        if name == "stride":  # an integral float stride: a TypeError, or the int stride's anchors
            assert_refused_or_same(lambda v=value: call(v), lambda: call((2, 3)), name=name, exc=TypeError,
                                   case=f"stride {value!r}")
        else:
            with pytest.raises(TypeError, match=name):
                call(value)
    for value in [(True, 3), (2, False), "ab", 5]:
        with pytest.raises(TypeError, match=name):
            call(value)
    for value in [(2,), (2, 3, 4)]:  # not a pair: a wrong type or a wrong shape, both fair readings
        with pytest.raises((TypeError, ValueError), match=name):
            call(value)
    assert call((1, 1)).shape[1] == 4  # the smallest allowed values
