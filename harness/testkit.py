"""Helpers shared by public and hidden tests.

Tests never import a student package directly: they receive a ``student`` object.
Locally (``nox -s test -- <assignment>``) it is a :class:`LocalStudent` wrapping the
imported package; in grading it is the harness's proxy that forwards every call into the
sandboxed worker. Both offer the same surface, so one test file serves both:

* ``student.<name>(*args, **kwargs)``: call a public function or construct a public class;
* ``student.vjp(name, args, kwargs=None, wrt=(0,), grad_outputs=None)``: forward plus a
  vector-Jacobian product, because autograd graphs cannot cross the sandbox boundary.

This module ships in the student handout, so it depends on torch and pytest only.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path
from typing import Any, Sequence

import pytest
import torch

__all__ = [
    "LocalStudent",
    "student_fixture",
    "assert_tensor",
    "assert_same_elements",
    "check_gradient",
    "devices",
]


class LocalStudent:
    """In-process stand-in for the grading proxy (public tests on a student's machine)."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._module, name)

    def vjp(
        self,
        name: str,
        args: Sequence[Any],
        kwargs: dict | None = None,
        wrt: Sequence[int] = (0,),
        grad_outputs: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """Return ``(output, grads)``: ``output`` detached, ``grads[i]`` the gradient of
        ``sum(output * grad_outputs)`` with respect to ``args[wrt[i]]`` (None if unused)."""
        return local_vjp(getattr(self._module, name), args, kwargs or {}, wrt, grad_outputs)


def local_vjp(fn, args, kwargs, wrt, grad_outputs):
    args = list(args)
    inputs = []
    for i in wrt:
        x = args[i].detach().clone().requires_grad_(True)
        args[i] = x
        inputs.append(x)
    out = fn(*args, **kwargs)
    if type(out) is not torch.Tensor and not isinstance(out, torch.Tensor):
        raise TypeError(f"vjp needs a tensor output, got {type(out).__name__}")
    if grad_outputs is None:
        grad_outputs = torch.ones_like(out)
    if not out.requires_grad:
        return out.detach(), [None] * len(inputs)
    grads = torch.autograd.grad(out, inputs, grad_outputs, allow_unused=True)
    return out.detach(), [None if g is None else g.detach() for g in grads]


def student_fixture(request: pytest.FixtureRequest, package: str, package_dir: Path | str):
    """Body of a conftest's ``student`` fixture.

    In grading the harness attaches its proxy to the pytest config; otherwise the student's
    package is imported from ``package_dir`` (the folder that contains the package)."""
    proxy = getattr(request.config, "cv3_student", None)
    if proxy is not None:
        return proxy
    package_dir = str(Path(package_dir).resolve())
    if package_dir not in sys.path:
        sys.path.insert(0, package_dir)
    return LocalStudent(importlib.import_module(package))


def devices() -> list:
    """``cpu`` always, ``cuda`` skipped (not dropped) when no GPU is visible."""
    return [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
        ),
    ]


def _describe(x: Any) -> str:
    if type(x) is torch.Tensor:
        return f"Tensor{list(x.shape)} {str(x.dtype).replace('torch.', '')} on {x.device.type}"
    return f"{type(x).__name__} {x!r:.80}"


def assert_tensor(
    got: Any,
    expected: torch.Tensor,
    *,
    atol: float = 0.0,
    rtol: float = 0.0,
    case: str = "",
    check_dtype: bool = True,
    check_device: bool = True,
    equal_nan: bool = False,
) -> None:
    """Exact-type, dtype, shape and value check with a message a student can act on.

    Values are compared as ``|got - expected| <= atol + rtol * |expected|``."""
    where = f"[{case}] " if case else ""
    if type(got) is not torch.Tensor:
        raise AssertionError(f"{where}expected a plain torch.Tensor, got {_describe(got)}")
    if check_dtype and got.dtype != expected.dtype:
        raise AssertionError(
            f"{where}wrong dtype: expected {_describe(expected)}, got {_describe(got)}"
        )
    if got.shape != expected.shape:
        raise AssertionError(
            f"{where}wrong shape: expected {_describe(expected)}, got {_describe(got)}"
        )
    if check_device and got.device.type != expected.device.type:
        raise AssertionError(
            f"{where}wrong device: expected {expected.device.type}, got {got.device.type}"
        )
    # compare in a dtype that holds both (casting expected to got's dtype would round 0.5 to 0)
    common = torch.promote_types(got.dtype, expected.dtype)
    g = got.detach().cpu().to(common)
    e = expected.detach().cpu().to(common)
    if g.numel() == 0:
        return
    if g.dtype == torch.bool or not (g.is_floating_point() or g.is_complex()):
        bad = g != e
    else:
        # complex128 for complex values: .double() would drop the imaginary part
        g64, e64 = (g.cdouble(), e.cdouble()) if g.is_complex() else (g.double(), e.double())
        diff = (g64 - e64).abs()
        bad = ~(diff <= atol + rtol * e64.abs())
        both_nan = torch.isnan(g64) & torch.isnan(e64)
        bad = bad & ~both_nan if equal_nan else bad | (torch.isnan(g64) ^ torch.isnan(e64))
        # inf == inf of the same sign is a match; the subtraction above gives nan there
        bad = bad & ~(torch.isinf(g64) & (g64 == e64))
    if bool(bad.any()):
        n_bad = int(bad.sum())
        idx = tuple(int(i) for i in bad.nonzero()[0])
        gv, ev = g[idx].item(), e[idx].item()
        raise AssertionError(
            f"{where}{n_bad} of {g.numel()} values differ (atol={atol}, rtol={rtol}); "
            f"first at index {list(idx)}: expected {ev!r}, got {gv!r}"
        )


def assert_same_elements(got: Any, expected: torch.Tensor, *, case: str = "") -> None:
    """Integer tensors holding the same elements in any order (ties make order ambiguous)."""
    where = f"[{case}] " if case else ""
    if type(got) is not torch.Tensor:
        raise AssertionError(f"{where}expected a plain torch.Tensor, got {_describe(got)}")
    if got.dtype != expected.dtype or got.dim() != expected.dim():
        raise AssertionError(f"{where}expected {_describe(expected)}, got {_describe(got)}")
    g = sorted(got.cpu().tolist())
    e = sorted(expected.cpu().tolist())
    if g != e:
        raise AssertionError(f"{where}expected elements {e[:20]}, got {g[:20]}")


def check_gradient(
    student: Any,
    name: str,
    args: Sequence[Any],
    kwargs: dict | None = None,
    *,
    wrt: Sequence[int] = (0,),
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    n_directions: int = 3,
    seed: int = 0,
) -> None:
    """Random-projection gradcheck that works through the grading proxy.

    For random ``v`` (output space) and ``u`` (input space), float64 inputs, it compares the
    analytic ``v^T J u`` (from ``student.vjp``) with the central difference
    ``v . (f(x + eps u) - f(x - eps u)) / (2 eps)``. Like ``torch.autograd.gradcheck``'s
    fast mode, a wrong gradient fails with probability one."""
    kwargs = kwargs or {}
    gen = torch.Generator().manual_seed(seed)
    args = list(args)
    for i in wrt:
        if type(args[i]) is not torch.Tensor or args[i].dtype != torch.float64:
            raise TypeError(f"check_gradient wants float64 tensors at positions {list(wrt)}")
    out = getattr(student, name)(*args, **kwargs)
    if type(out) is not torch.Tensor:
        raise AssertionError(f"{name} must return a tensor, got {_describe(out)}")
    for k in range(n_directions):
        v = torch.randn(out.shape, generator=gen, dtype=torch.float64)
        us = [torch.randn(args[i].shape, generator=gen, dtype=torch.float64) for i in wrt]
        _, grads = student.vjp(name, args, kwargs, wrt=wrt, grad_outputs=v)
        if len(grads) != len(wrt):
            raise AssertionError(f"{name}: expected {len(wrt)} gradients, got {len(grads)}")
        analytic = 0.0
        for j, (g, u) in enumerate(zip(grads, us)):
            if g is None:
                raise AssertionError(
                    f"{name}: output does not depend differentiably on argument {wrt[j]} "
                    "(no gradient flowed; avoid .item(), in-place writes or integer casts)"
                )
            if type(g) is not torch.Tensor or g.shape != u.shape:
                raise AssertionError(f"{name}: gradient {j} is {_describe(g)}")
            analytic += float((g.double() * u).sum())
        plus, minus = list(args), list(args)
        for i, u in zip(wrt, us):
            plus[i] = args[i] + eps * u
            minus[i] = args[i] - eps * u
        f_plus = getattr(student, name)(*plus, **kwargs)
        f_minus = getattr(student, name)(*minus, **kwargs)
        numeric = float(((f_plus.double() - f_minus.double()) * v).sum() / (2 * eps))
        if not math.isclose(analytic, numeric, rel_tol=rtol, abs_tol=atol):
            raise AssertionError(
                f"{name}: gradient mismatch in direction {k}: analytic v^T J u = {analytic:.6g}, "
                f"numeric = {numeric:.6g} (atol={atol}, rtol={rtol})"
            )
