"""Check kinds: one module per manifest table (``[[task]]``, ``[[speed]]``, ``[[accuracy]]``,
``[[probe]]``). Every module in this folder is imported here, so a new kind is one new file
that defines a :class:`Check` subclass decorated with :func:`register`."""

from __future__ import annotations

import importlib
import pkgutil

from harness.checks.base import KINDS, Check, ParseContext, kind_of_result, register

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


def kinds_in_order() -> list[type[Check]]:
    return sorted(KINDS.values(), key=lambda k: (k.order, k.table))


__all__ = ["KINDS", "Check", "ParseContext", "kind_of_result", "kinds_in_order", "register"]
