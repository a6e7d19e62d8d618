"""The test kit shared by public and hidden tests: its checks must catch what they claim to."""

from __future__ import annotations

import math
import types

import pytest
import torch

from harness.testkit import (LocalStudent, assert_refused_or_same, assert_same_elements, assert_tensor, check_gradient,
                             local_vjp)


class Sneaky(torch.Tensor):
    def __eq__(self, other):  # noqa: D105
        return True

    __hash__ = torch.Tensor.__hash__


# ---------------------------------------------------------------- assert_tensor


def test_accepts_identical_tensors():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert_tensor(x.clone(), x)
    assert_tensor(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]))
    assert_tensor(torch.tensor([True, False]), torch.tensor([True, False]))
    assert_tensor(torch.zeros(0, 4), torch.zeros(0, 4))
    assert_tensor(torch.tensor(2.5), torch.tensor(2.5))


def test_rejects_a_tensor_subclass():
    x = torch.tensor([1.0, 2.0])
    with pytest.raises(AssertionError, match=r"expected a plain torch.Tensor, got Sneaky"):
        assert_tensor(x.clone().as_subclass(Sneaky), x)


@pytest.mark.parametrize("got", [[1.0, 2.0], (1.0, 2.0), None, 3.0], ids=repr)
def test_rejects_non_tensors(got):
    with pytest.raises(AssertionError, match="expected a plain torch.Tensor"):
        assert_tensor(got, torch.tensor([1.0, 2.0]))


def test_rejects_wrong_dtype():
    with pytest.raises(AssertionError,
                       match=r"wrong dtype: expected Tensor\[2\] float32 .* got Tensor\[2\] float64"):
        assert_tensor(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1.0, 2.0]))
    with pytest.raises(AssertionError, match="wrong dtype"):
        assert_tensor(torch.tensor([1, 2]), torch.tensor([1, 2], dtype=torch.int32))


def test_rejects_wrong_shape():
    with pytest.raises(AssertionError,
                       match=r"\[case7\] wrong shape: expected Tensor\[2, 3\].*got Tensor\[3, 2\]"):
        assert_tensor(torch.zeros(3, 2), torch.zeros(2, 3), case="case7")
    with pytest.raises(AssertionError, match="wrong shape"):
        assert_tensor(torch.zeros(1), torch.tensor(0.0))  # [1] vs 0-d


def test_names_the_first_bad_index_and_the_count():
    expected = torch.zeros(3, 4)
    got = expected.clone()
    got[1, 2] = 0.5
    got[2, 0] = -1.0
    with pytest.raises(AssertionError,
                       match=r"2 of 12 values differ \(atol=0.1, rtol=0.0\); first at index \[1, 2\]: "
                             r"expected 0.0, got 0.5"):
        assert_tensor(got, expected, atol=0.1)


def test_atol_boundary():
    expected = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert_tensor(expected + 0.5, expected, atol=0.5)  # |diff| <= atol passes
    with pytest.raises(AssertionError, match="first at index \\[0\\]"):
        assert_tensor(expected + 0.5000001, expected, atol=0.5)


def test_rtol_scales_with_expected_magnitude():
    expected = torch.tensor([1000.0, 1.0], dtype=torch.float64)
    assert_tensor(expected * 1.001, expected, rtol=1e-3)
    with pytest.raises(AssertionError, match=r"1 of 2 values differ.*index \[1\]"):
        assert_tensor(expected + torch.tensor([1.0, 0.01], dtype=torch.float64), expected, rtol=1e-3)


def test_integer_and_bool_values_compared_exactly():
    with pytest.raises(AssertionError, match=r"index \[2\]: expected 3, got 4"):
        assert_tensor(torch.tensor([1, 2, 4]), torch.tensor([1, 2, 3]))
    with pytest.raises(AssertionError, match=r"index \[0\]: expected True, got False"):
        assert_tensor(torch.tensor([False]), torch.tensor([True]))


def test_nan_handling():
    nan = float("nan")
    e = torch.tensor([1.0, nan])
    # a nan where a number is expected, or a number where nan is expected, always fails
    with pytest.raises(AssertionError, match=r"index \[0\]"):
        assert_tensor(torch.tensor([nan, nan]), e, equal_nan=True, atol=1.0)
    with pytest.raises(AssertionError, match=r"index \[1\]"):
        assert_tensor(torch.tensor([1.0, 5.0]), e, equal_nan=True, atol=100.0)
    # nan == nan only with equal_nan
    assert_tensor(torch.tensor([1.0, nan]), e, equal_nan=True)
    with pytest.raises(AssertionError, match=r"index \[1\]"):
        assert_tensor(torch.tensor([1.0, nan]), e)


def test_inf_handling():
    inf = float("inf")
    e = torch.tensor([inf, -inf, 1.0])
    assert_tensor(e.clone(), e)
    with pytest.raises(AssertionError, match=r"index \[0\]"):
        assert_tensor(torch.tensor([-inf, -inf, 1.0]), e, atol=1e30)
    with pytest.raises(AssertionError, match=r"index \[2\]"):
        assert_tensor(torch.tensor([inf, -inf, inf]), e, atol=1e30)


def test_check_dtype_false_compares_values_without_truncating_them():
    # expected 0.5 must not be cast to got's int dtype (0) and match a wrong 0
    with pytest.raises(AssertionError, match=r"expected 0.5"):
        assert_tensor(torch.tensor([0]), torch.tensor([0.5]), check_dtype=False)
    assert_tensor(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]), check_dtype=False)


def test_complex_values_compare_the_imaginary_part():
    with pytest.raises(AssertionError, match=r"index \[0\]"):
        assert_tensor(torch.tensor([1 + 2j]), torch.tensor([1 + 3j]))
    assert_tensor(torch.tensor([1 + 2j]), torch.tensor([1 + 2j]))


def test_half_precision_compared_in_double():
    e = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
    assert_tensor(e.clone(), e)
    with pytest.raises(AssertionError, match="1 of 2 values differ"):
        assert_tensor(torch.tensor([1.0, 2.015625], dtype=torch.bfloat16), e, atol=0.01)


# ---------------------------------------------------------------- assert_same_elements


def test_same_elements_in_any_order():
    assert_same_elements(torch.tensor([3, 1, 2]), torch.tensor([1, 2, 3]))
    assert_same_elements(torch.tensor([2, 2, 1]), torch.tensor([1, 2, 2]))
    assert_same_elements(torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64))


def test_same_elements_counts_duplicates():
    with pytest.raises(AssertionError, match=r"expected elements \[1, 2, 2\], got \[1, 1, 2\]"):
        assert_same_elements(torch.tensor([1, 2, 1]), torch.tensor([1, 2, 2]))


def test_same_elements_rejects_missing_extra_dtype_and_subclass():
    with pytest.raises(AssertionError, match="expected elements"):
        assert_same_elements(torch.tensor([1, 2]), torch.tensor([1, 2, 3]))
    with pytest.raises(AssertionError, match=r"expected Tensor\[2\] int64"):
        assert_same_elements(torch.tensor([1, 2], dtype=torch.int32), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match="expected a plain torch.Tensor"):
        assert_same_elements(torch.tensor([1, 2]).as_subclass(Sneaky), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match="expected a plain torch.Tensor, got list"):
        assert_same_elements([1, 2], torch.tensor([1, 2]))


# ---------------------------------------------------------------- check_gradient


class DoubledBackward(torch.autograd.Function):
    """sin(x**2) whose backward returns twice the true gradient."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x**2).sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * (g * (x**2).cos() * 2 * x)


class CorrectBackward(DoubledBackward):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x**2).cos() * 2 * x


def student_module() -> LocalStudent:
    m = types.ModuleType("fake_student")
    m.f = lambda x: (x**2).sin()
    m.f_custom = CorrectBackward.apply
    m.f_wrong = DoubledBackward.apply
    m.f_detached = lambda x: (x.detach() ** 2).sin()
    m.f_item = lambda x: torch.full_like(x, math.sin(x.detach().sum().item()))
    m.f_two = lambda x, y, scale=1.0: scale * (x * y.exp()).sum(dim=-1)
    m.f_ignores_y = lambda x, y: x * 3
    m._private = "internal"
    return LocalStudent(m)


@pytest.fixture
def student():
    return student_module()


X = torch.linspace(-1.5, 1.5, 12, dtype=torch.float64).reshape(3, 4)


@pytest.mark.parametrize("name", ["f", "f_custom"])
def test_check_gradient_passes_for_correct_functions(student, name):
    check_gradient(student, name, (X,))


def test_check_gradient_passes_with_several_inputs_and_kwargs(student):
    y = torch.linspace(0.1, 0.9, 4, dtype=torch.float64)
    check_gradient(student, "f_two", (X, y), {"scale": 2.5}, wrt=(0, 1))


def test_check_gradient_catches_a_wrong_backward(student):
    with pytest.raises(AssertionError, match=r"f_wrong: gradient mismatch in direction 0"):
        check_gradient(student, "f_wrong", (X,))


@pytest.mark.parametrize("name", ["f_detached", "f_item"])
def test_check_gradient_catches_a_detached_output(student, name):
    with pytest.raises(AssertionError, match=rf"{name}: output does not depend differentiably on argument 0"):
        check_gradient(student, name, (X,))


def test_check_gradient_catches_an_unused_argument(student):
    y = torch.ones(3, 4, dtype=torch.float64)
    with pytest.raises(AssertionError, match=r"does not depend differentiably on argument 1"):
        check_gradient(student, "f_ignores_y", (X, y), wrt=(0, 1))


def test_check_gradient_wants_float64(student):
    with pytest.raises(TypeError, match=r"float64 tensors at positions \[0\]"):
        check_gradient(student, "f", (X.float(),))


def test_local_vjp_matches_autograd():
    x = X.clone().requires_grad_(True)
    v = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (expected,) = torch.autograd.grad((x**2).sin(), x, v)
    out, (g,) = local_vjp(lambda t: (t**2).sin(), (X,), {}, (0,), v)
    assert not out.requires_grad
    assert_tensor(out, (X**2).sin(), atol=0.0)
    assert_tensor(g, expected, atol=1e-12)
    assert not X.requires_grad  # the caller's tensor is untouched


def test_local_vjp_takes_one_item_of_a_tuple_result():
    out, (g,) = local_vjp(lambda t: (t * 2, (t * 3).detach()), (X,), {}, (0,), None, 0)
    assert_tensor(out, X * 2, atol=0.0)
    assert_tensor(g, torch.full_like(X, 2.0), atol=0.0)
    out, grads = local_vjp(lambda t: (t * 2, (t * 3).detach()), (X,), {}, (0,), None, 1)
    assert_tensor(out, X * 3, atol=0.0)
    assert grads == [None]
    with pytest.raises(TypeError, match="output=2"):
        local_vjp(lambda t: (t, t), (X,), {}, (0,), None, 2)


def test_local_student_hides_private_names(student):
    with pytest.raises(AttributeError):
        student._private  # noqa: B018
    assert callable(student.f)


def test_task_rows_mark_each_row_with_its_task_and_a_unique_name():
    from harness.testkit import task_rows

    rows = [("nms", "boxes|dims", 1), ("nms", "boxes|dims", 2), ("box_iou", "a", 3)]
    params = task_rows(rows)
    assert [p.values for p in params] == rows
    assert [[m.args for m in p.marks] for p in params] == [[("nms",)], [("nms",)], [("box_iou",)]]
    assert [p.id for p in params] == ["nms-0-boxes", "nms-1-boxes", "box_iou-2-a"]
    assert [p.id for p in task_rows(rows, label=2)] == ["nms-0-1", "nms-1-2", "box_iou-2-3"]


def _raise(exc):
    raise exc


def test_assert_refused_or_same_accepts_either_reading():
    t = torch.arange(3)
    assert_refused_or_same(lambda: _raise(TypeError("anchors must be int64")), lambda: t, name="anchors")
    assert_refused_or_same(lambda: t.clone(), lambda: t, name="anchors")
    assert_refused_or_same(lambda: (t, t + 1), lambda: (t, t + 1), name="anchors")


@pytest.mark.parametrize("call, exc", [
    (lambda: _raise(TypeError("a wrong dtype")), AssertionError),  # the error does not name the argument
    (lambda: _raise(RuntimeError("anchors")), RuntimeError),  # not one of the allowed types
    (lambda: torch.arange(3) + 1, AssertionError),  # a different value
    (lambda: (torch.arange(3),), AssertionError),  # a tuple where a tensor is expected
])
def test_assert_refused_or_same_fails_other_readings(call, exc):
    with pytest.raises(exc):
        assert_refused_or_same(call, lambda: torch.arange(3), name="anchors")


def test_assert_refused_or_same_compares_tuples_by_length():
    t = torch.arange(3)
    with pytest.raises(AssertionError, match="expected 2 results"):
        assert_refused_or_same(lambda: (t,), lambda: (t, t), name="x")
