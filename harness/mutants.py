"""`cv3 check NAME --mutants`: the share of one-mistake variants of the reference that lose points.

A *mutant* is the reference with one small change of the kind a student makes (``<`` for ``<=``,
a wrong axis, a missing ``.float()``, an off-by-one constant, a deleted update...), applied only
to code between the solution markers (``# BEGIN SOLUTION`` / ``# END SOLUTION``): the code a
student writes. Each mutant is a copy of the reference package in a scratch folder, graded by the
assignment's public and hidden tests run against it as the ``student`` package (pytest in a forked
copy of this process, not in the sandbox: the reference is trusted code). A mutant is *killed*
when any test fails or errors, or the run exceeds its time limit; it *survives* when every test
passes. The unmutated reference runs first and must pass.

Some survivors are *equivalent*: they compute the same thing (``eps`` doubled where no test can
see it, ``.float()`` removed from what is float already). The author lists them in
``reference/<name>/tests/mutants_equivalent.toml``, one table per survivor, keyed by what it
changes rather than by line numbers so that the list outlives edits elsewhere::

    [[equivalent]]
    module = "boxes.py"             # the module, relative to the package
    function = "box_iou"            # the enclosing function's qualname ("<module>" at top level)
    operator = "float_const"        # see OPERATORS
    original = "eps = 1e-12"        # the mutated line(s) before and after, stripped
    mutated = "eps = 2e-12"
    reason = "eps only guards a division by zero; no test box has zero union"

A field "*" matches anything: ``mutated = "*"`` covers every mutant of that operator on that line,
and ``function = original = operator = mutated = "*"`` a whole module; for code the spec leaves to
the student (a tracker's gap filling, a whole detector graded by accuracy checks). Equivalent
survivors are excluded from the share: killed / (total - equivalent).

Speed: the process imports torch, pytest and the test modules once, then forks one child per
mutant (the child runs ``pytest.main`` on the mutant copy, with ``-x``, the tests of the tasks
whose API the mutated module serves first); a killed mutant usually costs well under a second.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import random
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.stubgen import _blocks, is_reference_only

#: the mutation operators, with what each does
OPERATORS = {
    "cmp_flip": "a comparison's boundary or sense flipped: < <=, > >=, == !=, is / is not, in / not in",
    "arith_swap": "an arithmetic operator swapped: + -, * /, // /",
    "int_const": "an integer constant +1 or -1",
    "float_const": "a float constant doubled (0.0 becomes 1.0)",
    "minmax_swap": "min/max, argmin/argmax, amin/amax, minimum/maximum, clamp_min/clamp_max, floor/ceil, "
                   "any/all swapped",
    "dim_change": "dim=k or axis=k changed to another dimension",
    "keepdim_flip": "keepdim=True/False flipped",
    "bool_flip": "a True/False constant flipped",
    "drop_cast": "a dtype conversion removed: .float(), .double(), .long(), .to(dtype), .type(dtype)...",
    "drop_dtype_kwarg": "a dtype= argument removed (the default dtype instead)",
    "drop_detach": "a .detach() removed",
    "and_or": "`and` and `or` swapped",
    "negate_if": "an if condition (statement or expression) negated",
    "drop_unary": "a `not` or a unary minus removed",
    "delete_stmt": "a statement deleted: augmented assignment, call statement, re-assignment",
    "return_arg": "a function returns its first argument instead of its result",
    "break_continue": "break and continue swapped",
}

EQUIVALENT_FILE = "mutants_equivalent.toml"
#: the share of non-equivalent mutants the tests must kill
TARGET = 0.95

_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
        ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div}
_SWAP_NAMES = {"min": "max", "max": "min", "argmin": "argmax", "argmax": "argmin", "amin": "amax",
               "amax": "amin", "minimum": "maximum", "maximum": "minimum", "clamp_min": "clamp_max",
               "clamp_max": "clamp_min", "floor": "ceil", "ceil": "floor", "any": "all", "all": "any",
               "fmin": "fmax", "fmax": "fmin", "cummax": "cummin", "cummin": "cummax"}
_CASTS = {"float", "double", "half", "bfloat16", "long", "int", "short", "bool"}
_DTYPE_WORDS = {"float16", "float32", "float64", "bfloat16", "half", "float", "double", "int64", "int32", "long",
                "int", "int16", "int8", "uint8", "bool"}
_DIM_KEYWORDS = {"dim", "axis"}
_ATOMIC = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.List, ast.Tuple, ast.Dict, ast.Set)


@dataclass(frozen=True)
class Mutant:
    """One one-mistake variant: a span of one module replaced."""

    module: str  # path relative to the package (posix)
    line: int  # 1-based first line of the span
    function: str  # qualname of the enclosing function, "<module>" at top level
    operator: str
    original: str  # the lines the span touches, stripped and joined, before ...
    mutated: str  # ... and after
    span: tuple[int, int, int, int]  # (line, col, end_line, end_col): 1-based lines, 0-based utf-8 byte columns
    replacement: str

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.module, self.function, self.operator, self.original, self.mutated)

    def apply(self, text: str) -> str:
        return _splice(text, self.span, self.replacement)

    def describe(self) -> str:
        return f"{self.module}:{self.line} [{self.operator}] in {self.function}: {_short(self.original)}  ->  " \
               f"{_short(self.mutated)}"


def _short(s: str, n: int = 140) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _splice(text: str, span: tuple[int, int, int, int], replacement: str) -> str:
    line, col, end_line, end_col = span
    lines = text.splitlines(keepends=True)
    head = lines[line - 1].encode("utf-8")[:col].decode("utf-8")
    tail = lines[end_line - 1].encode("utf-8")[end_col:].decode("utf-8")
    return "".join(lines[: line - 1]) + head + replacement + tail + "".join(lines[end_line:])


def _touched(text: str, span: tuple[int, int, int, int], replacement: str) -> tuple[str, str]:
    """The stripped, joined lines a span touches, before and after the replacement."""
    line, col, end_line, end_col = span
    lines = text.splitlines()
    before = " ".join(s.strip() for s in lines[line - 1: end_line])
    head = lines[line - 1].encode("utf-8")[:col].decode("utf-8")
    tail = lines[end_line - 1].encode("utf-8")[end_col:].decode("utf-8")
    after = " ".join(s.strip() for s in (head + replacement + tail).splitlines())
    return before, after


def _expr_text(node: ast.AST) -> str:
    text = ast.unparse(node)
    if isinstance(node, _ATOMIC) or (isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))) \
            or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value >= 0):
        return text
    return f"({text})"


def _replace(node: ast.AST, **changes) -> ast.AST:
    new = copy.deepcopy(node)
    for k, v in changes.items():
        setattr(new, k, v)
    return new


class _Collector(ast.NodeVisitor):
    """Every candidate mutation of one module whose span lies inside a solution block."""

    def __init__(self, text: str, module: str, inside: set[int]) -> None:
        self.text = text
        self.module = module
        self.inside = inside
        self.stack: list[ast.AST] = []  # enclosing classes and functions
        self.found: list[Mutant] = []
        self.skip: set[int] = set()  # ids of nodes not to mutate (handled by a more specific operator)

    # -- helpers
    def _qualname(self) -> str:
        names = [n.name for n in self.stack]
        return ".".join(names) if names else "<module>"

    def _in_block(self, node: ast.AST) -> bool:
        return getattr(node, "lineno", None) in self.inside and getattr(node, "end_lineno", None) in self.inside

    def _add(self, node: ast.AST, operator: str, replacement: str) -> None:
        if not self._in_block(node):
            return
        span = (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
        before, after = _touched(self.text, span, replacement)
        if before == after:
            return
        self.found.append(Mutant(self.module, node.lineno, self._qualname(), operator, before, after, span,
                                 replacement))

    def _add_expr(self, node: ast.AST, operator: str, new: ast.AST) -> None:
        self._add(node, operator, _expr_text(new))

    # -- structure: functions, classes, parts never mutated
    def visit_FunctionDef(self, node):  # noqa: N802
        for d in node.decorator_list:
            self.visit(d)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        self.stack.append(node)
        for stmt in node.body:
            self.visit(stmt)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):  # noqa: N802
        self.stack.append(node)
        for stmt in node.body:
            self.visit(stmt)
        self.stack.pop()

    def visit_Raise(self, node):  # noqa: N802 - an error message is no computation
        return

    def visit_Assert(self, node):  # noqa: N802
        return

    def visit_JoinedStr(self, node):  # noqa: N802
        return

    def visit_AnnAssign(self, node):  # noqa: N802
        if node.value is not None:
            self.visit(node.value)

    # -- statements
    def visit_Expr(self, node):  # noqa: N802
        if isinstance(node.value, ast.Call):
            self._add(node, "delete_stmt", "pass")
        self.generic_visit(node)

    def visit_AugAssign(self, node):  # noqa: N802
        self._add(node, "delete_stmt", "pass")
        swap = _ARITH.get(type(node.op))
        if swap is not None:
            self._add(node, "arith_swap", ast.unparse(_replace(node, op=swap())))
        self.visit(node.value)
        self._visit_target(node.target)

    def visit_Assign(self, node):  # noqa: N802
        if self._rebinds(node):
            self._add(node, "delete_stmt", "pass")
        self.visit(node.value)
        for t in node.targets:
            self._visit_target(t)

    def _visit_target(self, target):
        # indices of a stored subscript are computation (out[:, 0] = ...); names are not
        if isinstance(target, ast.Subscript):
            self.visit(target.slice)
            self._visit_target(target.value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for e in target.elts:
                self._visit_target(e)

    def _rebinds(self, node: ast.Assign) -> bool:
        """An assignment whose deletion leaves the program runnable: to an attribute or item, or
        to a name bound earlier in the same function (a parameter or an earlier assignment)."""
        if len(node.targets) != 1:
            return False
        target = node.targets[0]
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            return True
        if not isinstance(target, ast.Name) or not self.stack or not isinstance(
                self.stack[-1], (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        fn = self.stack[-1]
        bound = {a.arg for a in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs}
        for sub in ast.walk(fn):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store) and sub.lineno < node.lineno:
                bound.add(sub.id)
        return target.id in bound

    def visit_If(self, node):  # noqa: N802
        test = node.test
        self._add(test, "negate_if", f"not ({ast.get_source_segment(self.text, test) or ast.unparse(test)})")
        self.generic_visit(node)

    def visit_IfExp(self, node):  # noqa: N802
        test = node.test
        self._add(test, "negate_if", f"not ({ast.get_source_segment(self.text, test) or ast.unparse(test)})")
        self.generic_visit(node)

    def visit_Return(self, node):  # noqa: N802
        fn = self.stack[-1] if self.stack else None
        if node.value is not None and isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [a.arg for a in fn.args.posonlyargs + fn.args.args if a.arg not in ("self", "cls")]
            if params and not (isinstance(node.value, ast.Name) and node.value.id == params[0]):
                self._add(node, "return_arg", f"return {params[0]}")
        self.generic_visit(node)

    def visit_Break(self, node):  # noqa: N802
        self._add(node, "break_continue", "continue")

    def visit_Continue(self, node):  # noqa: N802
        self._add(node, "break_continue", "break")

    # -- expressions
    def visit_Compare(self, node):  # noqa: N802
        for i, op in enumerate(node.ops):
            swap = _CMP.get(type(op))
            if swap is not None:
                ops = list(node.ops)
                ops[i] = swap()
                self._add_expr(node, "cmp_flip", _replace(node, ops=ops))
        self.generic_visit(node)

    def visit_BinOp(self, node):  # noqa: N802
        swap = _ARITH.get(type(node.op))
        strings = any(isinstance(s, ast.JoinedStr) or isinstance(s, ast.Constant) and isinstance(s.value, str)
                      for s in (node.left, node.right))
        if swap is not None and not strings:
            self._add_expr(node, "arith_swap", _replace(node, op=swap()))
        self.generic_visit(node)

    def visit_BoolOp(self, node):  # noqa: N802
        self._add_expr(node, "and_or", _replace(node, op=ast.Or() if isinstance(node.op, ast.And) else ast.And()))
        self.generic_visit(node)

    def visit_UnaryOp(self, node):  # noqa: N802
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
            # a negative literal is one constant
            if id(node) not in self.skip:
                self._number(node, -node.operand.value)
            return
        if isinstance(node.op, (ast.Not, ast.USub)):
            self._add(node, "drop_unary", _expr_text(node.operand))
        self.generic_visit(node)

    def visit_Constant(self, node):  # noqa: N802
        if id(node) in self.skip:
            return
        if isinstance(node.value, bool):
            self._add(node, "bool_flip", repr(not node.value))
        elif isinstance(node.value, (int, float)):
            self._number(node, node.value)

    def _number(self, node: ast.AST, value) -> None:
        if isinstance(value, int):
            for v in (value + 1, value - 1):
                self._add(node, "int_const", repr(v) if v >= 0 else f"({v})")
        else:
            v = 1.0 if value == 0 else value * 2
            self._add(node, "float_const", repr(v) if v >= 0 else f"({v})")

    def visit_Call(self, node):  # noqa: N802
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in _SWAP_NAMES:
            new_func = _replace(func, attr=_SWAP_NAMES[name]) if isinstance(func, ast.Attribute) \
                else _replace(func, id=_SWAP_NAMES[name])
            self._add(func, "minmax_swap", ast.unparse(new_func))
        if isinstance(func, ast.Attribute):
            if (name in _CASTS and not node.args and not node.keywords) or \
                    (name in ("to", "type") and self._has_dtype(node)):
                self._add_expr(node, "drop_cast", func.value)
            elif name == "detach" and not node.args:
                self._add_expr(node, "drop_detach", func.value)
        for i, kw in enumerate(node.keywords):
            if kw.arg == "dtype" and not (isinstance(func, ast.Attribute) and func.attr in ("to", "type")):
                self._add_expr(node, "drop_dtype_kwarg", _replace(node, keywords=node.keywords[:i]
                                                                   + node.keywords[i + 1:]))
            elif kw.arg in _DIM_KEYWORDS:
                value = _int_value(kw.value)
                if value is not None:
                    self.skip.add(id(kw.value))
                    if isinstance(kw.value, ast.UnaryOp):
                        self.skip.add(id(kw.value.operand))
                    other = {0: 1, 1: 0, -1: -2, -2: -1}.get(value, value - 1 if value > 0 else value + 1)
                    self._add(kw.value, "dim_change", repr(other) if other >= 0 else f"({other})")
            elif kw.arg == "keepdim" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
                self.skip.add(id(kw.value))
                self._add(kw.value, "keepdim_flip", repr(not kw.value.value))
        self.generic_visit(node)

    @staticmethod
    def _has_dtype(node: ast.Call) -> bool:
        def dtype_like(e: ast.AST) -> bool:
            if isinstance(e, ast.Attribute):
                return e.attr in _DTYPE_WORDS or e.attr.endswith("dtype")
            return isinstance(e, ast.Name) and "dtype" in e.id
        return any(dtype_like(a) for a in node.args) or any(k.arg == "dtype" for k in node.keywords)


def _int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def solution_line_numbers(text: str, filename: str = "<module>") -> set[int]:
    """1-based numbers of the solution lines of a module (between the markers, STUB lines and
    markers excluded)."""
    inside: set[int] = set()
    for b in _blocks(text.splitlines(), filename):
        inside.update(range(b.body + 1, b.end + 1))  # 0-based body..end-1 -> 1-based
    return inside


def module_mutants(text: str, module: str) -> list[Mutant]:
    """Every candidate mutant of one module's source, in source order (deterministic)."""
    inside = solution_line_numbers(text, module)
    if not inside:
        return []
    collector = _Collector(text, module, inside)
    collector.visit(ast.parse(text))
    seen, out = set(), []
    for m in sorted(collector.found, key=lambda m: (m.span, m.operator, m.replacement)):
        if (m.span, m.replacement) not in seen:
            seen.add((m.span, m.replacement))
            out.append(m)
    return out


def package_mutants(package_dir: Path) -> list[Mutant]:
    """Every candidate mutant of a reference package (reference-only modules excluded)."""
    package_dir = Path(package_dir)
    found = []
    for path in sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts):
        text = path.read_text(encoding="utf-8")
        if is_reference_only(text):
            continue
        found += module_mutants(text, path.relative_to(package_dir).as_posix())
    return found


def sample(mutants: list[Mutant], *, seed: int, limit: int | None) -> list[Mutant]:
    """A seeded sample of at most ``limit`` mutants, in source order."""
    if limit is None or limit >= len(mutants):
        return list(mutants)
    picked = random.Random(seed).sample(range(len(mutants)), limit)
    return [mutants[i] for i in sorted(picked)]


# -- the author's list of equivalent mutants ---------------------------------------------------------
@dataclass(frozen=True)
class Equivalent:
    module: str
    function: str
    operator: str
    original: str
    mutated: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.module, self.function, self.operator, self.original, self.mutated)


def load_equivalents(path: Path) -> list[Equivalent]:
    """The ``[[equivalent]]`` tables of a mutants_equivalent.toml (none if the file is missing).
    Raises ValueError naming the file and the entry when a key or the reason is missing."""
    import tomllib

    path = Path(path)
    if not path.is_file():
        return []
    with open(path, "rb") as f:
        data = tomllib.load(f)
    out = []
    for i, entry in enumerate(data.get("equivalent", []), start=1):
        missing = [k for k in ("module", "function", "operator", "original", "mutated", "reason")
                   if not str(entry.get(k, "")).strip()]
        if missing:
            raise ValueError(f"{path}: [[equivalent]] entry {i} lacks {', '.join(missing)}; every entry needs "
                             f"module, function, operator, original, mutated and a one-line reason")
        if entry["operator"] not in OPERATORS and entry["operator"] != "*":
            raise ValueError(f"{path}: [[equivalent]] entry {i}: unknown operator {entry['operator']!r}; "
                             f"one of {', '.join(OPERATORS)}")
        out.append(Equivalent(*(str(entry[k]) for k in ("module", "function", "operator", "original", "mutated",
                                                         "reason"))))
    return out


def is_equivalent(m: Mutant, equivalents) -> bool:
    """Whether the author listed ``m``: an entry whose every field equals the mutant's or is "*"."""
    return any(all(want == "*" or want == got for want, got in zip(e.key, m.key)) for e in equivalents)


def equivalent_entry(m: Mutant) -> str:
    """The TOML an author pastes into mutants_equivalent.toml for a survivor judged equivalent."""
    def q(s: str) -> str:
        return json.dumps(s, ensure_ascii=False)
    return (f"[[equivalent]]\nmodule = {q(m.module)}\nfunction = {q(m.function)}\noperator = {q(m.operator)}\n"
            f"original = {q(m.original)}\nmutated = {q(m.mutated)}\nreason = \"...\"\n")


# -- running ---------------------------------------------------------------------------------------
@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | timeout | equivalent
    seconds: float
    detail: str = ""  # the first failing test, or why it was killed
    listed: bool = False  # matches an [[equivalent]] entry (which only counts for a survivor)

    @property
    def killed(self) -> bool:
        return self.status in ("killed", "timeout")


@dataclass
class MutationReport:
    assignment: str
    seed: int
    candidates: int
    outcomes: list[Outcome] = field(default_factory=list)
    baseline_s: float = 0.0  # CPU seconds of the reference's run
    wall_s: float = 0.0

    def counts(self, module: str | None = None) -> dict[str, int]:
        rows = [o for o in self.outcomes if module is None or o.mutant.module == module]
        killed = sum(o.killed for o in rows)
        equivalent = sum(o.status == "equivalent" for o in rows)
        survived = sum(o.status == "survived" for o in rows)
        return {"total": len(rows), "killed": killed, "survived": survived, "equivalent": equivalent}

    def share(self, module: str | None = None) -> float:
        c = self.counts(module)
        scored = c["total"] - c["equivalent"]
        return c["killed"] / scored if scored else 1.0

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "survived"]

    def lines(self) -> list[str]:
        c = self.counts()
        out = [f"mutants of {self.assignment} (seed {self.seed}): {c['total']} of {self.candidates} candidates, "
               f"{c['killed']} killed, {c['survived']} survived, {c['equivalent']} equivalent (excluded); "
               f"killed {self.share():.1%} of the non-equivalent ones ({self.wall_s:.0f} s)"]
        for module in sorted({o.mutant.module for o in self.outcomes}):
            m = self.counts(module)
            out.append(f"    {module}: {m['total']} mutants, {m['killed']} killed, {m['survived']} survived, "
                       f"{m['equivalent']} equivalent: {self.share(module):.1%}")
        if self.survivors:
            out.append(f"survivors ({len(self.survivors)}); list the equivalent ones in "
                       f"reference/{self.assignment}/tests/{EQUIVALENT_FILE} with a reason:")
            out += [f"    {o.mutant.describe()}" for o in self.survivors]
        # an entry that matches a killed mutant is too broad (a "*" key) or stale: it counts nothing
        # here, but it would excuse a survivor of the same key that a test no longer kills
        broad = [o for o in self.outcomes if o.killed and o.listed]
        if broad:
            out.append(f"note: {len(broad)} killed mutant(s) match an [[equivalent]] entry; narrow the entry "
                       f"(its \"*\" keys) to the variants it is true for:")
            out += [f"    {o.mutant.describe()}" for o in broad]
        return out


def _tasks_of_modules(package_dir: Path, package: str, tasks) -> dict[str, set[str]]:
    """module path -> the task ids whose API it serves: its own public names, and those of every
    module that imports it (transitively, from the source's imports)."""
    package_dir = Path(package_dir)
    defined: dict[str, set[str]] = {}
    for path in sorted(p for p in package_dir.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined[path.name] = names
    imports: dict[str, set[str]] = {m: set() for m in defined}  # module -> modules it imports
    for path in sorted(package_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 0 and base.split(".")[0] != package:
                    continue
                base = base.split(".", 1)[1] if node.level == 0 and "." in base else ("" if node.level == 0
                                                                                         else base)
                targets = [f"{base.split('.')[0]}.py"] if base else [f"{a.name}.py" for a in node.names]
                imports[path.name] |= {t for t in targets if t in defined}
    direct: dict[str, set[str]] = {m: set() for m in defined}
    for task in tasks:
        for name in task.api:
            for m, names in defined.items():
                if name in names:
                    direct[m].add(task.id)
    out = {}
    for m in defined:
        # every module that reaches m through imports
        reach, todo = {m}, [m]
        while todo:
            cur = todo.pop()
            for other, deps in imports.items():
                if cur in deps and other not in reach:
                    reach.add(other)
                    todo.append(other)
        out[m] = set().union(*(direct[r] for r in reach))
    return out


class _Order:
    """pytest plugin (in the child): the tests of ``first`` tasks run first; records the first
    failure."""

    def __init__(self, first: set[str], result_file: str) -> None:
        self.first = first
        self.result_file = result_file
        self.failure = ""

    def pytest_collection_modifyitems(self, session, config, items):
        if not self.first:
            return
        def rank(pair):
            marker = pair[1].get_closest_marker("task")
            task = str(marker.args[0]) if marker and marker.args else ""
            return (0 if task in self.first else 1, pair[0])
        items[:] = [item for _, item in sorted(enumerate(items), key=rank)]

    def pytest_runtest_logreport(self, report):
        if report.failed and not self.failure:
            message = str(getattr(report, "longrepr", "") or "").strip().splitlines()
            self.failure = f"{report.nodeid} ({report.when}): {message[-1][:200] if message else ''}"

    def pytest_collectreport(self, report):
        if report.failed and not self.failure:
            message = str(getattr(report, "longrepr", "") or "").strip().splitlines()
            self.failure = f"collecting {report.nodeid}: {message[-1][:200] if message else ''}"

    def pytest_sessionfinish(self, session, exitstatus):
        with open(self.result_file, "w", encoding="utf-8") as f:
            f.write(self.failure)


#: a mutant's run may take this many times its CPU time limit in wall-clock time (a loaded machine
#: gives a child a small share of a core; the cap only catches a child that waits without working)
WALL_FACTOR = 30.0


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux /proc), None where unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _Runner:
    """Runs the tests against a package folder in a forked child of this (warmed) process."""

    def __init__(self, a, scratch: Path) -> None:
        self.a = a
        self.scratch = scratch
        self.dirs = [str(d) for d in (a.public_tests_dir, a.hidden_tests_dir) if d.is_dir()]
        self.args = [*self.dirs, "-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly",
                     "--no-header", "-o", "addopts=", "--import-mode=importlib",
                     "--rootdir", str(a.reference_root.parent.parent)]
        self.count = 0
        self.cpu = 0.0  # CPU seconds of the last run

    def warm(self) -> None:
        """Import what every child needs once: torch, pytest, the test modules, the reference."""
        import contextlib
        import io

        import pytest
        import torch

        torch.set_num_threads(1)
        from harness.authoring import reference_package

        self._forget_other_copies()
        reference_package(self.a.reference_dir, f"cv3_reference_{self.a.name}")
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            pytest.main([*self.args, "--collect-only"])

    def _tests(self, package_root: Path, first: set[str], result: Path) -> int:
        """In the child: the tests against ``package_root`` as the student package."""
        import pytest

        package = self.a.package
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        os.environ["CV3_STUDENT_DIR"] = str(package_root)
        return pytest.main(list(self.args), plugins=[_Order(first, str(result))])

    def warm_accuracy(self) -> list:
        """Load the held-out data of every accuracy check once, before the children fork."""
        from harness.grading.context import trusted_function

        self.accuracy = list(self.a.accuracy)
        self.data = {ref: trusted_function(self.a, ref)() for c in self.accuracy
                     for ref in (c.data, c.train_data) if ref}
        return self.accuracy

    def _accuracy(self, package_root: Path, first: set[str], result: Path) -> int:
        """In the child: every accuracy check on ``package_root``'s package, in this process
        (the reference is trusted code); exit 1 when one of them scores less than full points."""
        from harness.authoring import load_package_as
        from harness.checks.accuracy import linear_points
        from harness.grading.context import trusted_function

        package = load_package_as(package_root / self.a.package, f"cv3_mutant_{self.a.name}_{self.count}")
        lost = []
        for c in self.accuracy:
            try:
                if c.train:
                    args, kwargs = self.data[c.train_data]
                    getattr(package, c.train)(*args, **kwargs)
                calls, targets = self.data[c.data]
                outputs = [getattr(package, c.entry)(*args, **kwargs) for args, kwargs in calls]
                value = float(trusted_function(self.a, c.scorer)(outputs, targets)[0])
            except Exception as e:  # noqa: BLE001 - a crash scores zero
                lost.append(f"accuracy check '{c.id}': {c.entry} failed: {type(e).__name__}: {str(e)[:200]}")
                continue
            points = linear_points(c.points, value, c.floor, c.target) if value == value else 0.0
            if points < c.points - 1e-9:
                lost.append(f"accuracy check '{c.id}': {c.metric} = {value:.4f} ({points:.2f} of {c.points:g} "
                            f"points; full at {c.target:g})")
        result.write_text("; ".join(lost), encoding="utf-8")
        return 1 if lost else 0

    def _forget_other_copies(self) -> None:
        """Drop modules of another course's assignment of the same name that this process imported
        earlier (its reference under the alias, its test modules under importlib-mode names), so
        that the children fork with this assignment's files."""
        roots = (self.a.root.resolve(), self.a.reference_root.resolve())
        prefixes = (f"cv3_reference_{self.a.name}", f"assignments.{self.a.name}", f"reference.{self.a.name}")
        for name, module in list(sys.modules.items()):
            if not any(name == p or name.startswith(p + ".") for p in prefixes):
                continue
            file = getattr(module, "__file__", None)
            if file is None or not any(r in Path(file).resolve().parents for r in roots):
                del sys.modules[name]

    def run(self, package_root: Path, first: set[str], timeout: float, *,
            accuracy: bool = False) -> tuple[str, float, str]:
        """(status, seconds, detail): status passed | failed | timeout. The tests, or with
        ``accuracy`` the accuracy checks."""
        work = self._accuracy if accuracy else self._tests
        self.count += 1
        result = self.scratch / f"result_{self.count}.txt"
        log = self.scratch / f"log_{self.count}.txt"
        start = time.monotonic()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 70
            try:
                os.setpgid(0, 0)
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                code = int(work(package_root, first, result))
            except BaseException:  # noqa: BLE001 - the child reports through its exit code
                import traceback
                traceback.print_exc()
            finally:
                os._exit(code)
        status, cpu = None, 0.0
        while True:
            done, wait_status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                cpu = usage.ru_utime + usage.ru_stime
                code = os.waitstatus_to_exitcode(wait_status)
                status = "passed" if code == 0 else "failed"
                break
            # the limit is on CPU time (a loaded machine slows the wall clock, not the work),
            # with a wall-clock cap for a child that waits without working
            cpu = _cpu_seconds(pid)
            wall = time.monotonic() - start
            if (cpu if cpu is not None else wall) > timeout or wall > WALL_FACTOR * timeout:
                for target in (-pid, pid):
                    try:
                        os.kill(target, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                os.waitpid(pid, 0)
                status, code = "timeout", None
                break
            time.sleep(0.05)
        self.cpu = cpu or 0.0
        seconds = time.monotonic() - start
        detail = result.read_text(encoding="utf-8") if result.is_file() else ""
        if status == "failed" and not detail:
            text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
            detail = f"pytest exit {code}: " + " | ".join(text.strip().splitlines()[-3:])[:300]
        if status == "timeout":
            detail = f"over the time limit of {timeout:.0f} s of CPU time ({WALL_FACTOR:g}x that of wall-clock time)"
        for p in (result, log):
            p.unlink(missing_ok=True)
        return status, seconds, detail


def run(a, *, seed: int = 0, limit: int | None = 150, timeout: float | None = None, accuracy: bool = False,
        modules: list[str] | None = None, out: Callable[[str], None] = print) -> MutationReport:
    """Grade a seeded sample of mutants of ``a``'s reference by its public and hidden tests.

    With ``accuracy``, a mutant that passes every test is also graded by the assignment's
    accuracy checks (in a forked child, on the held-out data of the course key): one that scores
    less than full points there is killed too, as it would lose points in a real grading. Code
    the spec leaves to the student (a tracker graded by success AUC) is measured this way.

    Raises RuntimeError when the unmutated reference fails its tests (or, with ``accuracy``, its
    accuracy checks). ``timeout`` (CPU seconds per mutant; WALL_FACTOR times that in wall-clock
    time) defaults to max(10, 4x the CPU time of the reference's run). ``modules`` restricts the
    sample to those files of the package (paths relative to it); ValueError names any that has no
    candidate."""
    from harness.grading.context import data_packages_importable
    from harness.tmp import scratch_dir

    if not hasattr(os, "fork"):
        raise RuntimeError("cv3 check --mutants needs os.fork (Linux or macOS)")
    began = time.monotonic()
    equivalents = load_equivalents(a.hidden_tests_dir / EQUIVALENT_FILE)
    everything = package_mutants(a.reference_dir)
    if modules:
        known = sorted({m.module for m in everything})
        unknown = [m for m in modules if m not in known]
        if unknown:
            raise ValueError(f"no mutant candidates in {unknown} of {a.name}; its modules with candidates: "
                             f"{', '.join(known)}")
        everything = [m for m in everything if m.module in modules]
    chosen = sample(everything, seed=seed, limit=limit)
    report = MutationReport(a.name, seed, len(everything))
    tasks_of = _tasks_of_modules(a.reference_dir, a.package, a.tasks)
    scratch = scratch_dir("mutants")
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # a mutant of the same size and mtime must never reuse a .pyc
    try:
        with data_packages_importable():
            runner = _Runner(a, scratch)
            runner.warm()
            base = scratch / "reference"
            shutil.copytree(a.reference_dir, base / a.package, ignore=shutil.ignore_patterns("__pycache__"))
            status, seconds, detail = runner.run(base, set(), timeout=max(600.0, timeout or 0))
            if status != "passed":
                raise RuntimeError(f"the unmutated reference of {a.name} does not pass its own tests "
                                   f"({status}: {detail}); fix that before measuring mutants")
            report.baseline_s = runner.cpu
            limit_s = timeout or max(10.0, 4 * runner.cpu)
            out(f"reference passes its tests in {seconds:.1f} s ({runner.cpu:.1f} s of CPU); {len(chosen)} of "
                f"{len(everything)} candidate mutants (seed {seed}), {limit_s:.0f} s of CPU each at most")
            accuracy_s = 0.0
            if accuracy and runner.warm_accuracy():
                status, seconds, detail = runner.run(base, set(), timeout=3600.0, accuracy=True)
                if status != "passed":
                    raise RuntimeError(f"the unmutated reference of {a.name} does not score full points on its "
                                       f"accuracy checks ({status}: {detail}); fix that before measuring mutants")
                accuracy_s = max(60.0, 4 * runner.cpu)
                out(f"reference scores full points on {len(runner.accuracy)} accuracy check(s) in {seconds:.1f} s; "
                    f"a mutant that passes the tests is graded by them too ({accuracy_s:.0f} s of CPU at most)")
            shutil.rmtree(base, ignore_errors=True)
            sources = {}
            for i, m in enumerate(chosen, start=1):
                if m.module not in sources:
                    sources[m.module] = (a.reference_dir / m.module).read_text(encoding="utf-8")
                root = scratch / f"m{i}"
                shutil.copytree(a.reference_dir, root / a.package, ignore=shutil.ignore_patterns("__pycache__"))
                (root / a.package / m.module).write_text(m.apply(sources[m.module]), encoding="utf-8")
                first = tasks_of.get(Path(m.module).name, set())
                status, seconds, detail = runner.run(root, first, limit_s)
                equivalent = is_equivalent(m, equivalents)
                if status == "passed" and accuracy_s and not equivalent:
                    status, more, detail = runner.run(root, first, accuracy_s, accuracy=True)
                    seconds += more
                    if status != "passed":
                        detail = f"by the accuracy checks: {detail}"
                shutil.rmtree(root, ignore_errors=True)
                if status == "passed":
                    status = "equivalent" if equivalent else "survived"
                elif status == "failed":
                    status = "killed"
                report.outcomes.append(Outcome(m, status, seconds, detail, listed=equivalent))
                out(f"[{i}/{len(chosen)}] {status:<10} {seconds:5.1f} s  {m.describe()}")
    finally:
        sys.dont_write_bytecode = dont_write
        shutil.rmtree(scratch, ignore_errors=True)
    report.wall_s = time.monotonic() - began
    return report
