"""Static checks of a submission, shared by the grader and the student's ``pack.py``.

The grader (``harness/submissions.py``) stages every submission with :func:`package_files` and
checks it with :func:`syntax_errors` and :func:`forbidden_imports`. The student handout ships this
very file as ``pack.py``: ``python pack.py`` (or ``nox -s pack``, ``cv3 pack NAME``) runs the same
functions on the student's package and writes the zip to hand in, or fails with the messages the
grader would give (layout, syntax, forbidden imports, size, names of the API that are missing).

Nothing is imported or executed: Python sources are only parsed. Standard library only (and
``tomli`` on Python 3.10, to read the manifest), so that it runs without the rest of the harness.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["MAX_TOTAL_BYTES", "MAX_FILES", "SKIP_NAMES", "StaticCheckError", "package_files", "no_package_message",
           "syntax_errors", "forbidden_imports", "forbidden_api_uses", "missing_api", "read_manifest", "check_package",
           "pack", "pack_command", "main"]

MAX_TOTAL_BYTES = 100 << 20
MAX_FILES = 2000
# the checks below parse Python on the grader's side: a huge source file (1.5 MB took 2 GB and
# 4 MB took 3.5 GB to parse) is reported instead of parsed; the sandbox still imports it
MAX_SCAN_BYTES = 512 << 10
SKIP_NAMES = {"__pycache__", ".git", ".ipynb_checkpoints", ".DS_Store", "__MACOSX"}
SYNTAX_HEADLINE = "the package has syntax errors, so it cannot be imported:"


class StaticCheckError(Exception):
    """A package the grader would refuse; the message says what is wrong and how to fix it."""


def too_big_message() -> str:
    return (f"the package holds more than {MAX_FILES} files or {MAX_TOTAL_BYTES >> 20} MB; "
            "remove data, checkpoints and virtual environments from it")


def no_package_message(package: str, listing: str, links: str = "") -> str:
    return (f"no package '{package}' found: expected '{package}/__init__.py' at the top of the "
            f"submission (found: {listing}){links}. Submit the folder that contains '{package}/'.")


def package_files(src: Path) -> Iterator[tuple[Path, Path]]:
    """``(file, path relative to src)`` of every file the grader stages from the package folder
    ``src``: no links, no compiled files, none of ``SKIP_NAMES``; StaticCheckError when there
    are more than ``MAX_FILES`` files or ``MAX_TOTAL_BYTES`` in all."""
    count, total = 0, 0
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_NAMES)
        rel = Path(dirpath).relative_to(src)
        for f in sorted(filenames):
            p = Path(dirpath) / f
            if p.is_symlink() or not p.is_file() or f.endswith((".pyc", ".pyo")):
                continue
            count += 1
            total += p.stat().st_size
            if count > MAX_FILES or total > MAX_TOTAL_BYTES:
                raise StaticCheckError(too_big_message())
            yield p, rel / f


def _scannable(files) -> list[Path]:
    return [f for f in files if f.stat().st_size <= MAX_SCAN_BYTES]


def unscanned_files(staged: Path) -> list[str]:
    """Python files too large for the grader to parse, each named with its size."""
    return [f"{f.relative_to(staged)}: {f.stat().st_size / 2**20:.1f} MB of source, over the "
            f"{MAX_SCAN_BYTES >> 10} KB the static checks read: not scanned for syntax errors or forbidden "
            "imports (the sandbox still blocks forbidden imports)"
            for f in sorted(staged.rglob("*.py")) if f.stat().st_size > MAX_SCAN_BYTES]


def syntax_errors(staged: Path) -> list[str]:
    """``file:line: SyntaxError: message`` for every Python file under ``staged`` that does not
    parse (paths relative to ``staged``); files over MAX_SCAN_BYTES are not parsed."""
    errors = []
    for f in _scannable(sorted(staged.rglob("*.py"))):
        try:
            ast.parse(f.read_bytes(), filename=str(f))
        except SyntaxError as e:
            rel = f.relative_to(staged)
            errors.append(f"{rel}:{e.lineno}: SyntaxError: {e.msg}")
        except ValueError as e:  # e.g. null bytes
            errors.append(f"{f.relative_to(staged)}: cannot be parsed: {e}")
    return errors


def forbidden_imports(staged: Path, forbidden: Sequence[str]) -> list[str]:
    """Imports of forbidden modules found by reading the source (the sandbox blocks them too)."""
    forbidden = tuple(forbidden)

    def hit(name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in forbidden)

    found = []
    for f in _scannable(sorted(staged.rglob("*.py"))):
        try:
            tree = ast.parse(f.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                fn = node.func
                fname = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
                if fname in ("__import__", "import_module"):
                    names = [node.args[0].value]
            for n in names:
                if hit(n):
                    found.append(f"{f.relative_to(staged)}:{node.lineno}: imports '{n}', which this assignment forbids")
    return found


# --------------------------------------------------------------------------- forbidden APIs
# A function or class of an allowed library (torch.nn.functional.scaled_dot_product_attention,
# torch.nn.MultiheadAttention) that the manifest's ``forbidden_apis`` forbids. The sandbox worker
# replaces them by a function that raises before the package is imported; this scan reports what
# the source shows (to the instructor in grading, as warnings in pack.py): direct uses through
# any import alias, attribute names and strings that name them (also strings built by ``+``,
# f-strings of constants or ``"".join`` of constants, e.g. for ``getattr``), ``getattr`` on a
# module with a name computed at run time, and ``eval``/``exec``/``compile``. It cannot follow
# values computed at run time; the runtime block does not depend on it.

def _folded_string(node: ast.AST) -> str | None:
    """The value of a string expression made only of constants, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        left, right = _folded_string(node.left), _folded_string(node.right)
        if isinstance(node.op, ast.Add) and left is not None and right is not None:
            return left + right
        return None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                inner = _folded_string(v.value)
                if inner is None:
                    return None
                parts.append(inner)
            else:
                parts.append(_folded_string(v) or "")
        return "".join(parts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
        sep = _folded_string(node.func.value)
        items = [_folded_string(e) for e in node.args[0].elts]
        if sep is not None and all(i is not None for i in items):
            return sep.join(items)  # type: ignore[arg-type]
    return None


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """Strings the scan ignores: docstrings, the names listed in ``__all__`` (a package's own
    exports may share a forbidden API's name, e.g. a hand-written ``grid_sample``), and the
    message of a stub's ``raise NotImplementedError("<function>: implement me ...")``."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                ids.add(id(first.value))
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) \
                and isinstance(node.value, (ast.List, ast.Tuple)):
            ids.update(id(e) for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name) \
                and node.exc.func.id == "NotImplementedError":
            ids.update(id(a) for a in node.exc.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return ids


def _chain(node: ast.AST) -> list[str] | None:
    """``['Q', 'scaled_dot_product_attention']`` for ``Q.scaled_dot_product_attention``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id] + parts[::-1]
    return None


def forbidden_api_uses(staged: Path, forbidden_apis: Sequence[str]) -> list[str]:
    """``file:line: ...`` for every place the source uses or names a forbidden API (see above)."""
    apis = tuple(forbidden_apis)
    if not apis:
        return []
    leaves = {a.rsplit(".", 1)[1]: a for a in apis}
    roots = {a.split(".", 1)[0] for a in apis}

    def named(text: str) -> str | None:
        """The API a name or string names: snake_case leaves also inside longer names
        (``_scaled_dot_product_attention_math``), CamelCase leaves as whole words only (so that
        ``Transformer`` does not match ``VisionTransformer``)."""
        for leaf, full in leaves.items():
            core = leaf.strip("_")
            if "_" in core and core in text:
                return full
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(leaf)}(?![A-Za-z0-9_])", text):
                return full
        return None

    found: list[str] = []
    for f in _scannable(sorted(staged.rglob("*.py"))):
        try:
            tree = ast.parse(f.read_bytes())
        except (SyntaxError, ValueError):
            continue
        rel = f.relative_to(staged)
        aliases: dict[str, str] = {}  # local name -> dotted path it was imported as
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        docstrings = _docstring_nodes(tree)
        hits: dict[tuple[int, str], str] = {}

        def report(node: ast.AST, full: str, how: str, hits: dict = hits) -> None:
            hits.setdefault((getattr(node, "lineno", 0), full), how)

        seen_strings: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full in apis or a.name in leaves:
                        report(node, leaves.get(a.name, full), f"imports '{full}'")
            elif isinstance(node, ast.Attribute):
                chain = _chain(node)
                if chain is not None and chain[0] in aliases:
                    full = ".".join([aliases[chain[0]]] + chain[1:])
                    if full in apis:
                        report(node, full, f"uses '{'.'.join(chain)}'")
                        continue
                hit = named(node.attr)
                if hit:
                    report(node, hit, f"uses an attribute named '{node.attr}'")
            elif isinstance(node, ast.Name) and node.id in aliases and aliases[node.id] in apis:
                report(node, aliases[node.id], f"uses '{node.id}' (imported as '{aliases[node.id]}')")
            elif isinstance(node, ast.Call):
                fn = node.func
                fname = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
                builtin = isinstance(fn, ast.Name) or _chain(fn) == ["builtins", fname]
                if fname in ("eval", "exec", "compile") and builtin:
                    report(node, "dynamic code", f"calls {fname}(): code built at run time cannot be checked")
                elif fname in ("getattr", "__getattribute__") and len(node.args) >= 2:
                    target = _chain(node.args[0])
                    computed = _folded_string(node.args[1]) is None
                    if computed and target is not None and aliases.get(target[0], target[0]).split(".")[0] in roots:
                        report(node, "dynamic attribute", f"getattr on '{'.'.join(target)}' with a name computed "
                               "at run time: cannot be checked")
            if isinstance(node, (ast.BinOp, ast.JoinedStr, ast.Call, ast.Constant)) and id(node) not in seen_strings:
                text = _folded_string(node)
                if text is not None and id(node) not in docstrings:
                    for sub in ast.walk(node):
                        seen_strings.add(id(sub))
                    hit = named(text)
                    if hit:
                        report(node, hit, f"names '{hit.rsplit('.', 1)[1]}' in a string ({text[:60]!r})")
        for (line, full), how in sorted(hits.items()):
            where = f"{rel}:{line}: {how}"
            found.append(f"{where}, which this assignment forbids ({full})" if "." in full else f"{where}")
    return found


def _bound_names(body: list) -> tuple[set[str], bool]:
    """Names a module body binds at its top level (into if/try/with blocks); True when it has a
    star import (then the names cannot be known without running it)."""
    names: set[str] = set()
    star = False
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name == "*":
                    star = True
                else:
                    names.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        else:
            for block in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, block, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.AST):
                    sub, s = _bound_names(inner)
                    names |= sub
                    star |= s
    return names, star


def missing_api(package_dir: Path, api: Sequence[str]) -> list[str]:
    """The names of the assignment's API that the package's ``__init__.py`` does not define, as
    the grader words it (read statically; nothing when a star import makes it unknowable)."""
    init = Path(package_dir) / "__init__.py"
    try:
        if init.stat().st_size > MAX_SCAN_BYTES:
            return []
        tree = ast.parse(init.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []  # reported as a layout or syntax error
    names, star = _bound_names(tree.body)
    if star:
        return []
    return [f"the submission's package does not define '{n}'" for n in api if n not in names]


def read_manifest(path: Path) -> dict:
    """``name``, ``title``, ``package``, ``forbidden_modules`` and ``api`` of an assignment.toml."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise StaticCheckError("reading assignment.toml needs Python >= 3.11 or the 'tomli' package "
                                   "(pip install tomli)") from None
    with open(path, "rb") as f:
        data = tomllib.load(f)
    head = data.get("assignment", {})
    name = str(head.get("name") or Path(path).parent.name)
    api: list[str] = []
    for task in data.get("task", []):
        api += [n for n in task.get("api", []) if n not in api]
    return {"name": name, "title": str(head.get("title") or name), "package": str(head.get("package") or name),
            "forbidden_modules": [str(m) for m in head.get("forbidden_modules", [])],
            "forbidden_apis": [str(m) for m in head.get("forbidden_apis", [])], "api": api}


def _stage(student_dir: Path, package: str, dest: Path) -> Path:
    """Copy ``student_dir/<package>`` to ``dest/<package>`` with the grader's rules."""
    src = Path(student_dir) / package
    inside = Path(student_dir).resolve()
    if not (src / "__init__.py").is_file() or not src.resolve().is_relative_to(inside):
        tops = [p for p in Path(student_dir).iterdir() if p.name not in SKIP_NAMES and not p.name.startswith(".")] \
            if Path(student_dir).is_dir() else []
        listing = ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in tops)[:12]) or "nothing"
        links = (f" ('{package}' is a link out of the submission; links are not followed)"
                 if src.exists() and not src.resolve().is_relative_to(inside) else "")
        raise StaticCheckError(no_package_message(package, listing, links))
    for p, rel in package_files(src):
        target = dest / package / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
    return dest


def check_package(student_dir: Path, *, package: str, forbidden: Sequence[str] = (),
                  api: Sequence[str] = ()) -> list[str]:
    """Every problem the grader would report for the package in ``student_dir/<package>``
    (layout, size, syntax, forbidden imports, missing API names); [] when it is fine."""
    with tempfile.TemporaryDirectory(prefix="cv3-pack-") as tmp:
        try:
            staged = _stage(Path(student_dir), package, Path(tmp))
        except StaticCheckError as e:
            return [str(e)]
        problems = []
        errors = syntax_errors(staged)
        if errors:
            problems.append(SYNTAX_HEADLINE + "\n" + "\n".join(errors[:20]))
        problems += forbidden_imports(staged, forbidden)
        problems += missing_api(staged / package, api)
        return problems


def pack(student_dir: Path, out: Path, *, package: str, forbidden: Sequence[str] = (),
         api: Sequence[str] = ()) -> Path:
    """Check the package in ``student_dir/<package>`` like the grader and write the zip to hand
    in (``<package>/...`` at its top, exactly the files the grader stages); StaticCheckError
    listing every problem otherwise (nothing is written then)."""
    problems = check_package(student_dir, package=package, forbidden=forbidden, api=api)
    if problems:
        raise StaticCheckError("\n".join(problems))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    src = Path(student_dir) / package
    tmp = out.with_name(out.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p, rel in package_files(src):
                zf.write(p, f"{package}/{rel.as_posix()}")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _find_manifest(start: Path) -> Path:
    found = sorted(start.glob("*/assignment.toml")) + sorted(start.glob("assignment.toml"))
    if len(found) != 1:
        raise StaticCheckError(f"expected one assignment folder (holding assignment.toml) in {start}, found "
                               f"{len(found)}; name it: python pack.py <assignment folder>")
    return found[0]


def pack_command(student_dir: Path, out: Path, *, package: str, forbidden: Sequence[str] = (),
                 api: Sequence[str] = (), forbidden_apis: Sequence[str] = ()) -> int:
    """:func:`pack` for a command line (``python pack.py``, ``cv3 pack``): prints the outcome,
    returns the exit status (1 with the grader's messages when the package would be refused).
    Uses of ``forbidden_apis`` are printed as warnings (the grader blocks them at run time and
    shows the findings to the instructor); they do not stop the zip."""
    try:
        pack(student_dir, out, package=package, forbidden=forbidden, api=api)
    except (StaticCheckError, OSError) as e:
        print(f"error: the grader would not accept this submission:\n{e}", file=sys.stderr)
        return 1
    for line in forbidden_api_uses(Path(student_dir) / package, forbidden_apis):
        print(f"warning: {line}: the grader blocks it at run time (calls fail) and shows this to the instructor",
              file=sys.stderr)
    print(f"wrote {out} ({Path(out).stat().st_size / 1024:.1f} kB): hand in this file. It passed the grader's "
          "static checks (layout, syntax, forbidden imports, size, API names); the tests decide the points.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python pack.py [ASSIGNMENT_DIR] [--student-dir DIR] [--out ZIP]``."""
    parser = argparse.ArgumentParser(
        prog="pack.py", description="Check your package like the grader does and write the zip to hand in.")
    parser.add_argument("assignment_dir", nargs="?",
                        help="the assignment folder holding assignment.toml (default: the one beside pack.py)")
    parser.add_argument("--student-dir", help="folder holding your package (default: the assignment folder)")
    parser.add_argument("--out", help="the zip to write (default: <assignment>-submission.zip)")
    args = parser.parse_args(argv)
    try:
        here = Path(__file__).resolve().parent
        manifest = Path(args.assignment_dir) / "assignment.toml" if args.assignment_dir else _find_manifest(here)
        m = read_manifest(manifest)
    except (StaticCheckError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    student_dir = Path(args.student_dir) if args.student_dir else manifest.parent
    out = Path(args.out or f"{m['name']}-submission.zip")
    return pack_command(student_dir, out, package=m["package"], forbidden=m["forbidden_modules"], api=m["api"],
                        forbidden_apis=m["forbidden_apis"])


if __name__ == "__main__":
    sys.exit(main())
