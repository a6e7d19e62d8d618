"""Manifest tables declared once: each key's type, default, rule and documentation.

A table's declaration (a tuple of :class:`Key`) drives parsing, the error texts, the refusal
of unknown keys and the generated reference in ``docs/manifest.md``. Check kinds own their
table's declaration (``harness/checks/``); ``[assignment]`` and ``[limits]`` are declared in
``harness/manifest.py``. Standard library only: ``cv3 list`` must not import torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
REQUIRED: Any = object()


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Key:
    """One key of a manifest table.

    ``type`` is ``str``, ``int``, ``float`` (ints accepted), ``bool`` or ``list`` (of
    non-empty strings). ``rule`` returns False for a value that is not allowed; ``allowed``
    says what is (it ends the error text). ``ref`` marks references that ``cv3 check``
    resolves: ``"trusted"`` ('module:function' in the hidden tests folder), ``"api"`` (a name of
    the assignment's API), ``"task"`` (a task id), ``"baseline"`` (a dotted library path or
    ``reference:<api name>``)."""

    name: str
    type: type
    default: Any = REQUIRED
    doc: str = ""
    rule: Callable[[Any], bool] | None = None
    allowed: str = ""
    ref: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def positive(name: str, type_: type, default: Any = REQUIRED, doc: str = "", **kw) -> Key:
    return Key(name, type_, default, doc, lambda v: v > 0, "must be > 0", **kw)


def identifier(doc: str = "lower_snake_case id, unique in the manifest") -> Key:
    return Key("id", str, REQUIRED, doc, ID_RE.match, "lower_snake_case")


def common_keys(points_doc: str) -> tuple[Key, Key, Key]:
    """``id``, ``title`` and ``points``: the keys every check kind's table starts with."""
    return (identifier(), Key("title", str, "", doc="shown in reports (default: the id)"),
            positive("points", float, doc=points_doc))


def trusted_ref(name: str, default: Any = REQUIRED, doc: str = "") -> Key:
    rule = (lambda v: ":" in v) if default is REQUIRED else (lambda v: v == "" or ":" in v)
    return Key(name, str, default, doc, rule, "write it as 'module:function'", ref="trusted")


def _type_name(t: type) -> str:
    return "int or float" if t is float else t.__name__


def parse_table(table: Any, keys: tuple[Key, ...], where: str, *, label: str = "") -> dict[str, Any]:
    """Values for every key of ``keys`` from a TOML table, defaults filled in.

    Raises ManifestError naming ``where``, the key, the bad value and what is allowed; unknown
    keys are refused, so a misspelt optional key cannot silently take its default."""
    if type(table) is not dict:
        raise ManifestError(f"{where} must be a table" if not label else f"{where}: {label} must be a table")
    known = {k.name for k in keys}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(known)}")
    out: dict[str, Any] = {}
    for key in keys:
        if key.name not in table:
            if key.required:
                raise ManifestError(f"{where}: missing key '{key.name}'"
                                    + (f" ({key.allowed})" if key.allowed else ""))
            out[key.name] = key.default
            continue
        out[key.name] = check_value(key, table[key.name], where)
    return out


def check_value(key: Key, value: Any, where: str) -> Any:
    if key.type is list:
        if type(value) is not list or not all(type(v) is str and v for v in value):
            raise ManifestError(f"{where}: '{key.name}' must be a list of non-empty strings, got {value!r}")
        value = tuple(value)
    elif key.type is float:
        if type(value) not in (int, float):
            raise ManifestError(f"{where}: '{key.name}' must be int or float, got {value!r}")
    elif type(value) is not key.type:
        raise ManifestError(f"{where}: '{key.name}' must be {_type_name(key.type)}, got {value!r}")
    if key.rule is not None and not key.rule(value):
        raise ManifestError(f"{where}: '{key.name}' = {value!r} is not allowed"
                            + (f"; {key.allowed}" if key.allowed else ""))
    return float(value) if key.type is float else value


def markdown_table(keys: tuple[Key, ...]) -> str:
    """The declaration as a Markdown table (for docs/manifest.md)."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for k in keys:
        default = "required" if k.required else f"`{k.default!r}`".replace("()", "[]")
        doc = k.doc + (f" ({k.allowed})" if k.allowed and k.allowed not in k.doc else "")
        rows.append(f"| `{k.name}` | {_type_name(k.type)} | {default} | {doc} |")
    return "\n".join(rows)
