"""Student stubs generated from the reference solution (one source for both).

A reference module marks its solution code with comment lines::

    def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
        \"\"\"... the docstring students see ...\"\"\"
        # BEGIN SOLUTION
        inter, union = _inter_union(boxes1, boxes2)
        return inter / union
        # END SOLUTION

The stub keeps everything outside the markers and replaces each block:

- by the ``# STUB: <code>`` lines that directly follow ``# BEGIN SOLUTION`` (the text after
  ``# STUB: `` is taken verbatim at the marker's indentation; a lone empty ``# STUB:`` means
  "nothing here", and an empty one among others is a blank line);
- otherwise, inside a function or method body, by
  ``raise NotImplementedError("<qualname>: implement me (see README.md, section `<task>`)")``,
  where ``<task>`` is the manifest task whose ``api`` names the function or its class;
- otherwise (module or class level: imports, private helpers, constants) by nothing.

A module whose first 5 lines contain ``# cv3: reference-only`` has no stub. Only ``.py`` files
make up the stub package (``checkpoint.pt`` and other data files stay in the reference).

Standard library only: course-author tooling imports this without torch.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BEGIN",
    "END",
    "REFERENCE_ONLY",
    "STUB",
    "StubError",
    "generate_package",
    "generate_stub",
    "handout_marker_leaks",
    "is_reference_only",
    "solution_lines",
    "stale_stubs",
    "tasks_by_name",
    "write_stubs",
]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STUB = "# STUB:"
REFERENCE_ONLY = "# cv3: reference-only"
PRAGMA_LINES = 5  # the reference-only pragma must be within the first lines of a module
MAX_LINE_LENGTH = 120  # [tool.ruff] line-length: longer default bodies are wrapped
MIN_SOLUTION_LINE = 20  # shorter solution lines (``return out``) are not evidence of a leak

_REPO_ROOT = Path(__file__).resolve().parent.parent
# comment-only lines that look like a marker but are not exactly one (a typo would leak code)
_NEAR_MARKER = re.compile(r"^#\s*(BEGIN|END)\s*SOLUTION\b|^#\s*STUB\s*:", re.IGNORECASE)
# a marker after code on the same line
_TRAILING_MARKER = re.compile(r"\S.*#\s*(BEGIN|END) SOLUTION\s*$")
# an import statement: shared by too much public code to count as solution text
_IMPORT = re.compile(r"^(import\s+[\w.]+|from\s+[\w.]+\s+import\b)")
# marker text that must never survive into a handout
_LEAKED_MARKER = re.compile(r"#\s*(BEGIN|END)\s+SOLUTION\b|#\s*STUB:")


class StubError(ValueError):
    """A reference module whose markers cannot be turned into a stub; the message gives
    ``file:line``, what is wrong and how to fix it."""


@dataclass(frozen=True)
class _Block:
    begin: int  # 0-based index of the BEGIN line
    end: int  # 0-based index of the END line
    indent: str  # the markers' indentation
    stub: tuple[str, ...] | None  # the STUB texts, None without STUB lines
    body: int  # 0-based index of the first line after the STUB lines


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _stub_text(stripped: str) -> str:
    text = stripped[len(STUB):]
    return (text[1:] if text.startswith(" ") else text).rstrip()


def _blocks(lines: list[str], filename: str) -> list[_Block]:
    """The marker blocks of a reference module, validated."""
    blocks: list[_Block] = []
    open_at: int | None = None
    stub: list[str] = []
    in_header = False  # directly after BEGIN, where STUB lines belong
    for i, line in enumerate(lines):
        s = line.strip()
        where = f"{filename}:{i + 1}"
        if s == BEGIN:
            if open_at is not None:
                raise StubError(f"{where}: nested '{BEGIN}' (the block opened at line {open_at + 1} is still "
                                f"open); blocks cannot be nested: add '{END}' before this line or remove it")
            open_at, stub, in_header = i, [], True
            continue
        if s == END:
            if open_at is None:
                raise StubError(f"{where}: '{END}' without an open '{BEGIN}'; "
                                f"add the missing '{BEGIN}' above the solution code or remove this line")
            if _indent(line) != _indent(lines[open_at]):
                raise StubError(f"{where}: '{END}' is indented by {len(_indent(line))} but its '{BEGIN}' at line "
                                f"{open_at + 1} by {len(_indent(lines[open_at]))}; put both markers at the same "
                                f"indentation")
            body = open_at + 1 + len(stub)
            blocks.append(_Block(open_at, i, _indent(lines[open_at]), tuple(stub) if stub else None, body))
            open_at, in_header = None, False
            continue
        if s.startswith(STUB):
            if not in_header:
                raise StubError(f"{where}: '{STUB}' line outside a block start; STUB lines must come directly "
                                f"after '{BEGIN}' (before any solution code) or be removed")
            if _indent(line) != _indent(lines[open_at]):
                raise StubError(f"{where}: '{STUB}' line is not at the indentation of its '{BEGIN}' at line "
                                f"{open_at + 1}; align it with the marker and put deeper indentation after "
                                f"'{STUB} '")
            stub.append(_stub_text(s))
            continue
        in_header = False
        if s.startswith("#") and _NEAR_MARKER.match(s):
            raise StubError(f"{where}: {s!r} looks like a marker but is not one; write exactly '{BEGIN}', "
                            f"'{END}' or '{STUB} <code>' alone on the line")
        if _TRAILING_MARKER.search(line):
            raise StubError(f"{where}: a solution marker must be alone on its line, not after code; "
                            f"move it to a line of its own")
    if open_at is not None:
        raise StubError(f"{filename}:{open_at + 1}: '{BEGIN}' is never closed; add '{END}' at the same "
                        f"indentation after the solution code")
    return blocks


def is_reference_only(text: str) -> bool:
    """Whether a reference module is marked ``# cv3: reference-only`` (it has no stub)."""
    return any(line.strip() == REFERENCE_ONLY for line in text.splitlines()[:PRAGMA_LINES])


def _functions(tree: ast.AST) -> list[tuple[ast.AST, list[ast.AST]]]:
    """Every function definition with its chain of enclosing classes and functions."""
    found = []

    def walk(node: ast.AST, chain: list[ast.AST]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((child, chain))
                walk(child, chain + [child])
            elif isinstance(child, ast.ClassDef):
                walk(child, chain + [child])
            else:
                walk(child, chain)

    walk(tree, [])
    return found


def _enclosing_function(functions, lines: list[str], block: _Block):
    """The innermost function whose body holds the block, with its enclosing chain, or None."""
    line_no = block.begin + 1  # 1-based
    width = len(block.indent)
    best = None
    for node, chain in functions:
        if node.lineno >= line_no or node.col_offset >= width:
            continue
        inside = line_no <= node.end_lineno
        if not inside:
            # a block holding only comments after the last statement still belongs to the body
            # when nothing between the two is dedented code
            between = lines[node.end_lineno: block.begin]
            inside = all(not s.strip() or s.strip().startswith("#") and len(_indent(s)) > node.col_offset
                         for s in between)
        if inside and (best is None or node.lineno > best[0].lineno):
            best = (node, chain)
    return best


def _default_body(node, chain, indent: str, tasks: dict[str, str]) -> list[str]:
    classes = []
    for parent in chain:
        if isinstance(parent, ast.ClassDef):
            classes.append(parent.name)
        else:  # a function nested in a function: name the outermost one
            node = parent
            classes = [c.name for c in chain[: chain.index(parent)] if isinstance(c, ast.ClassDef)]
            break
    qualname = ".".join(classes + [node.name])
    task = next((tasks[n] for n in (*classes, node.name) if n in tasks), None)
    where = f"see README.md, section `{task}`" if task else "see README.md"
    message = f"{qualname}: implement me ({where})"
    line = f'{indent}raise NotImplementedError("{message}")'
    if len(line) <= MAX_LINE_LENGTH:
        return [line]
    return [f"{indent}raise NotImplementedError(", f'{indent}    "{message}"', f"{indent})"]


def generate_stub(text: str, *, filename: str, tasks_by_name: dict[str, str]) -> str:
    """The student stub of one reference module (see the module docstring for the markers).

    ``tasks_by_name`` maps API names (functions, classes) to manifest task ids, for the default
    ``NotImplementedError`` message. Raises StubError naming ``filename`` and the line."""
    if is_reference_only(text):
        raise StubError(f"{filename}:1: the module is marked '{REFERENCE_ONLY}' and has no stub")
    lines = text.splitlines()
    blocks = _blocks(lines, filename)
    functions = []
    if blocks:
        try:
            functions = _functions(ast.parse(text, filename=filename))
        except SyntaxError as e:
            raise StubError(f"{filename}:{e.lineno}: the reference module does not parse ({e.msg}); "
                            f"fix it before generating its stub") from None
    out: list[str] = []
    i = 0
    for block in blocks:
        out += lines[i: block.begin]
        i = block.end + 1
        if block.stub is not None and any(block.stub):
            out += [block.indent + t if t else "" for t in block.stub]
            continue
        found = None if block.stub is not None else _enclosing_function(functions, lines, block)
        if found is not None:
            out += _default_body(found[0], found[1], block.indent, tasks_by_name)
            continue
        # nothing replaces the block: the blank lines around it should not add up
        before = len(out) - len(_rstrip_blank(out))
        after = 0
        while i + after < len(lines) and not lines[i + after].strip():
            after += 1
        i += after if not out else min(before, after)
    out += lines[i:]
    out = _rstrip_blank(out)
    stub = "\n".join(out) + "\n" if out else ""
    try:
        ast.parse(stub, filename=filename)
    except SyntaxError as e:
        raise StubError(f"{filename}: the generated stub does not parse (stub line {e.lineno}: {e.msg}); "
                        f"check the '{STUB}' lines and that no block leaves a def, class or if without a "
                        f"body") from None
    return stub


def _rstrip_blank(lines: list[str]) -> list[str]:
    n = len(lines)
    while n and not lines[n - 1].strip():
        n -= 1
    return lines[:n]


def _display(path: Path) -> str:
    """A path relative to the repository root where possible."""
    try:
        return Path(path).resolve().relative_to(_REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _reference_files(reference_dir: Path) -> list[Path]:
    return sorted(p for p in Path(reference_dir).rglob("*.py") if "__pycache__" not in p.parts and p.is_file())


def generate_package(reference_dir: Path, *, tasks_by_name: dict[str, str]) -> dict[str, str]:
    """The stub package of a reference package: relative path (posix) -> text, for every
    ``.py`` file except reference-only ones and ``__pycache__``."""
    reference_dir = Path(reference_dir)
    stubs = {}
    for path in _reference_files(reference_dir):
        text = path.read_text(encoding="utf-8")
        if is_reference_only(text):
            continue
        rel = path.relative_to(reference_dir).as_posix()
        stubs[rel] = generate_stub(text, filename=_display(path), tasks_by_name=tasks_by_name)
    return stubs


def tasks_by_name(assignment) -> dict[str, str]:
    """API name -> task id, from anything with ``.tasks`` whose items have ``.id`` and ``.api``
    (a ``harness.manifest.Assignment``). The first task naming a function wins."""
    names: dict[str, str] = {}
    for task in assignment.tasks:
        for name in task.api:
            names.setdefault(name, task.id)
    return names


def _stub_files(stub_dir: Path) -> dict[str, Path]:
    """The .py files of a stub package that generation owns (never tests or caches)."""
    stub_dir = Path(stub_dir)
    if not stub_dir.is_dir():
        return {}
    files = {}
    for p in stub_dir.rglob("*.py"):
        rel = p.relative_to(stub_dir)
        if p.is_file() and not {"__pycache__", "tests"} & set(rel.parts):
            files[rel.as_posix()] = p
    return files


def _check_dirs(reference_dir: Path, stub_dir: Path) -> None:
    ref, stub = Path(reference_dir).resolve(), Path(stub_dir).resolve()
    if not ref.is_dir():
        raise FileNotFoundError(f"reference package {reference_dir} not found")
    if stub == ref or stub.is_relative_to(ref) or ref.is_relative_to(stub):
        raise ValueError(f"stub folder {stub_dir} and reference folder {reference_dir} overlap; "
                         f"the stubs must go to assignments/<name>/<package>")


def write_stubs(reference_dir: Path, stub_dir: Path, *, tasks_by_name: dict[str, str]) -> list[Path]:
    """Regenerate the stub package in ``stub_dir``: write the files whose text changed and remove
    the ``.py`` files the reference no longer produces. Non-.py files and ``tests`` folders are
    never touched. Returns the paths written or removed. Nothing is written if any module fails."""
    _check_dirs(reference_dir, stub_dir)
    stub_dir = Path(stub_dir)
    stubs = generate_package(reference_dir, tasks_by_name=tasks_by_name)  # all or nothing
    changed = []
    for rel, text in stubs.items():
        path = stub_dir / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.stubgen-tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        changed.append(path)
    for rel, path in _stub_files(stub_dir).items():
        if rel not in stubs:
            path.unlink()
            changed.append(path)
    return sorted(changed)


def stale_stubs(reference_dir: Path, stub_dir: Path, *, tasks_by_name: dict[str, str],
                assignment: str | None = None) -> list[str]:
    """One message per stub file that is out of date, missing or extra (empty when the stubs
    are what ``write_stubs`` would write). ``assignment`` names the fix command (default: the
    folder above ``stub_dir``, i.e. ``assignments/<name>``)."""
    reference_dir, stub_dir = Path(reference_dir), Path(stub_dir)
    fix = f"run `cv3 stubs {assignment or stub_dir.resolve().parent.name}`"
    try:
        stubs = generate_package(reference_dir, tasks_by_name=tasks_by_name)
    except StubError as e:
        return [f"cannot generate the stubs: {e}"]
    existing = _stub_files(stub_dir)
    problems = []
    for rel, text in stubs.items():
        ref, stub = _display(reference_dir / rel), _display(stub_dir / rel)
        if rel not in existing:
            problems.append(f"{stub} is missing (generated from {ref}): {fix}")
        elif existing[rel].read_text(encoding="utf-8") != text:
            problems.append(f"{stub} is out of date with {ref}: {fix}")
    for rel in sorted(set(existing) - set(stubs)):
        problems.append(f"{_display(stub_dir / rel)} is not generated from {_display(reference_dir)} (no such "
                        f"module there, or it is reference-only): {fix} to remove it")
    return problems


def solution_lines(reference_dir: Path) -> set[str]:
    """Stripped lines inside solution blocks (not markers or STUB lines) of at least
    MIN_SOLUTION_LINE characters that the stubs do not also contain: outside the markers or as
    STUB text, in any module of the package that has a stub. Reference-only modules add no
    public lines; import statements (``from pathlib import Path``) are no evidence of a leak."""
    inside: set[str] = set()
    public: set[str] = set()
    for path in _reference_files(reference_dir):
        text = path.read_text(encoding="utf-8")
        if is_reference_only(text):
            continue
        lines = text.splitlines()
        blocks = _blocks(lines, _display(path))
        hidden = set()
        for b in blocks:
            public.update(t.strip() for t in b.stub or ())
            inside.update(s.strip() for s in lines[b.body: b.end])
            hidden.update(range(b.begin, b.end + 1))
        public.update(s.strip() for k, s in enumerate(lines) if k not in hidden)
    return {s for s in inside - public if len(s) >= MIN_SOLUTION_LINE and not _IMPORT.match(s)}


def handout_marker_leaks(out_dir: Path, reference_dir: Path) -> list[str]:
    """Every surviving marker (BEGIN/END SOLUTION, ``# STUB:``) and every line of the reference
    solution (see ``solution_lines``) in the text files under a handout folder, as
    ``file:line: what`` messages (paths relative to ``out_dir``)."""
    out_dir = Path(out_dir)
    secret = solution_lines(reference_dir)
    leaks = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        data = path.read_bytes()
        if b"\0" in data:  # binary files are handout_leaks' business
            continue
        rel = path.relative_to(out_dir).as_posix()
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            marker = _LEAKED_MARKER.search(line)
            if marker:
                leaks.append(f"{rel}:{n}: solution marker {marker.group(0)!r} survived; generate the "
                             f"stubs with `cv3 stubs` instead of copying the reference")
            elif line.strip() in secret:
                leaks.append(f"{rel}:{n}: line of the reference solution: {line.strip()[:80]!r}")
    return leaks
