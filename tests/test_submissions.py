"""Finding, unpacking and staging submissions; static checks on the staged sources.

Submissions are built under ``tmp_path``: folders written file by file, zips written with
``zipfile`` (including hand-made hostile members).
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from harness.submissions import (
    SubmissionError,
    SubmissionSource,
    content_hash,
    discover,
    forbidden_imports,
    stage,
    syntax_errors,
)

PKG = "detection"
FILES = {
    f"{PKG}/__init__.py": "from .ops import nms\n",
    f"{PKG}/ops.py": "import torch\n\ndef nms(boxes, scores, t):\n    return torch.arange(len(boxes))\n",
    f"{PKG}/sub/__init__.py": "",
    f"{PKG}/sub/helpers.py": "X = 1\n",
}


def make_folder(root: Path, files: dict[str, str] = FILES) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def make_zip(path: Path, files: dict[str, str] = FILES, prefix: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in files.items():
            zf.writestr(prefix + rel, text)
    return path


def staged_files(dest: Path) -> dict[str, str]:
    return {str(p.relative_to(dest)): p.read_text() for p in sorted(dest.rglob("*")) if p.is_file()}


EXPECTED_STAGED = dict(FILES)


# ---------------------------------------------------------------- discover


def test_discover_single_folder_submission(tmp_path):
    sub = make_folder(tmp_path / "alice")
    assert discover(sub, PKG) == [SubmissionSource("alice", sub)]


def test_discover_single_folder_keeps_dots_in_the_id(tmp_path):
    sub = make_folder(tmp_path / "jane.doe")
    assert discover(sub, PKG) == [SubmissionSource("jane.doe", sub)]


def test_discover_the_package_folder_itself_takes_the_parent_name(tmp_path):
    make_folder(tmp_path / "bob")
    pkg = tmp_path / "bob" / PKG
    assert discover(pkg, PKG) == [SubmissionSource("bob", pkg)]


def test_discover_single_zip(tmp_path):
    z = make_zip(tmp_path / "carol.zip")
    assert discover(z, PKG) == [SubmissionSource("carol", z)]


def test_discover_folder_of_folders_and_zips(tmp_path):
    batch = tmp_path / "batch"
    make_folder(batch / "alice")
    make_folder(batch / "jane.doe")
    make_zip(batch / "carol.zip")
    make_zip(batch / "bob.zip")
    (batch / "README.txt").write_text("not a submission")
    (batch / ".hidden").mkdir()
    (batch / "__MACOSX").mkdir()
    got = discover(batch, PKG)
    assert [(s.id, s.path.name) for s in got] == [
        ("alice", "alice"), ("bob", "bob.zip"), ("carol", "carol.zip"), ("jane.doe", "jane.doe"),
    ]


def test_discover_duplicate_id_folder_and_zip(tmp_path):
    batch = tmp_path / "batch"
    make_folder(batch / "alice")
    make_zip(batch / "alice.zip")
    make_folder(batch / "bob")
    with pytest.raises(SubmissionError, match=r"\['alice'\] appear both as a folder and a zip; keep one"):
        discover(batch, PKG)


def test_discover_missing_path(tmp_path):
    with pytest.raises(SubmissionError, match="no such file or folder"):
        discover(tmp_path / "missing", PKG)


def test_discover_plain_file_is_refused(tmp_path):
    f = tmp_path / "alice.tar.gz"
    f.write_bytes(b"\x1f\x8b")
    with pytest.raises(SubmissionError, match=r"expected a folder or a \.zip file"):
        discover(f, PKG)


# ---------------------------------------------------------------- stage


def test_stage_folder_with_package_at_top(tmp_path):
    sub = make_folder(tmp_path / "alice")
    dest = stage(SubmissionSource("alice", sub), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED
    mode = (dest / PKG / "ops.py").stat().st_mode
    assert stat.S_IMODE(mode) == 0o644


def test_stage_folder_nested_one_level(tmp_path):
    sub = tmp_path / "alice"
    make_folder(sub / "my-project")
    dest = stage(SubmissionSource("alice", sub), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED


def test_stage_package_folder_itself(tmp_path):
    make_folder(tmp_path / "alice")
    dest = stage(SubmissionSource("alice", tmp_path / "alice" / PKG), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED


def test_stage_zip_with_package_at_top(tmp_path):
    z = make_zip(tmp_path / "carol.zip")
    dest = stage(SubmissionSource("carol", z), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED
    assert not (tmp_path / "staged_unpacked").exists()  # the scratch unpack is removed


def test_stage_zip_nested_one_level(tmp_path):
    z = make_zip(tmp_path / "carol.zip", prefix="carol-hw2/")
    dest = stage(SubmissionSource("carol", z), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED


def test_stage_skips_caches_bytecode_and_everything_outside_the_package(tmp_path):
    sub = make_folder(tmp_path / "mallory", {
        **FILES,
        "conftest.py": "def pytest_runtest_makereport(): pass  # forge results\n",
        f"{PKG}/__pycache__/ops.cpython-311.pyc": "junk",
        f"{PKG}/stale.pyc": "junk",
        "results.json": '{"score": 100}',
        "tests/test_x.py": "def test_x(): pass\n",
    })
    dest = stage(SubmissionSource("mallory", sub), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED
    assert not (dest / "conftest.py").exists()


def test_stage_conftest_in_zip_is_not_copied(tmp_path):
    z = make_zip(tmp_path / "m.zip", {**FILES, "conftest.py": "import os\n"})
    dest = stage(SubmissionSource("m", z), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED


def test_stage_does_not_follow_a_symlinked_package_out_of_the_submission(tmp_path):
    secret = make_folder(tmp_path / "reference", {f"{PKG}/__init__.py": "SOLUTION = 1\n"})
    sub = tmp_path / "subs" / "mallory"
    sub.mkdir(parents=True)
    (sub / PKG).symlink_to(secret / PKG)
    with pytest.raises(SubmissionError, match="link out of the submission") as info:
        stage(SubmissionSource("mallory", sub), PKG, tmp_path / "staged")
    assert "SOLUTION" not in str(info.value)
    assert not (tmp_path / "staged" / PKG / "__init__.py").exists()


def test_stage_skips_symlinked_files_inside_the_package(tmp_path):
    outside = tmp_path / "secret.py"
    outside.write_text("SECRET = 1\n")
    sub = make_folder(tmp_path / "alice")
    (sub / PKG / "leak.py").symlink_to(outside)
    dest = stage(SubmissionSource("alice", sub), PKG, tmp_path / "staged")
    assert staged_files(dest) == EXPECTED_STAGED


def test_missing_package_lists_what_was_found(tmp_path):
    sub = make_folder(tmp_path / "dave", {"detecton/__init__.py": "", "notes.txt": "hi"})
    with pytest.raises(SubmissionError,
                       match=r"no package 'detection' found.*\(found: detecton/, notes\.txt\)"
                             r".*Submit the folder that contains 'detection/'"):
        stage(SubmissionSource("dave", sub), PKG, tmp_path / "staged")


def test_missing_package_in_empty_zip(tmp_path):
    z = make_zip(tmp_path / "e.zip", {})
    with pytest.raises(SubmissionError, match=r"no package 'detection' found.*\(found: nothing\)"):
        stage(SubmissionSource("e", z), PKG, tmp_path / "staged")


def test_package_folder_without_init_is_not_a_package(tmp_path):
    sub = make_folder(tmp_path / "f", {f"{PKG}/ops.py": "X = 1\n"})
    with pytest.raises(SubmissionError, match=r"expected 'detection/__init__.py'.*found: detection/"):
        stage(SubmissionSource("f", sub), PKG, tmp_path / "staged")


def hostile_zip(path: Path, member: zipfile.ZipInfo | str, data: str = "x") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in FILES.items():
            zf.writestr(rel, text)
        zf.writestr(member, data)
    return path


@pytest.mark.parametrize("name", ["../evil.py", f"{PKG}/../../evil.py", "a/../../evil.py"])
def test_zip_member_with_dotdot_is_refused(tmp_path, name):
    z = hostile_zip(tmp_path / "z.zip", name)
    with pytest.raises(SubmissionError, match=r"points outside the archive.*re-create the zip"):
        stage(SubmissionSource("z", z), PKG, tmp_path / "out" / "staged")
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "out" / "evil.py").exists()


@pytest.mark.parametrize("name", ["/tmp/evil.py", "\\evil.py", "C:/evil.py"])
def test_zip_member_with_absolute_path_is_refused(tmp_path, name):
    info = zipfile.ZipInfo("placeholder")
    info.filename = name  # ZipInfo("/x") would strip the slash; a hostile zip keeps it
    z = hostile_zip(tmp_path / "z.zip", info)
    with pytest.raises(SubmissionError, match=r"points outside the archive \(absolute path"):
        stage(SubmissionSource("z", z), PKG, tmp_path / "staged")


def test_zip_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo(f"{PKG}/leak.py")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = hostile_zip(tmp_path / "z.zip", info, "/etc/passwd")
    with pytest.raises(SubmissionError,
                       match=r"'detection/leak.py' is a symbolic link; links are not accepted"):
        stage(SubmissionSource("z", z), PKG, tmp_path / "staged")


def test_unreadable_zip(tmp_path):
    z = tmp_path / "broken.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SubmissionError, match=r"not a readable zip file.*re-create the archive"):
        stage(SubmissionSource("broken", z), PKG, tmp_path / "staged")


# ---------------------------------------------------------------- static checks


def test_syntax_errors_report_file_and_line(tmp_path):
    files = {**FILES, f"{PKG}/sub/broken.py": "x = 1\n\ndef f(:\n    pass\n", f"{PKG}/ok.py": "y = 2\n"}
    dest = stage(SubmissionSource("a", make_folder(tmp_path / "a", files)), PKG, tmp_path / "s")
    errors = syntax_errors(dest)
    assert len(errors) == 1
    assert errors[0].startswith(f"{PKG}/sub/broken.py:3: SyntaxError")


def test_syntax_errors_null_byte(tmp_path):
    d = tmp_path / "s" / PKG
    d.mkdir(parents=True)
    (d / "__init__.py").write_bytes(b"x = 1\x00\n")
    errors = syntax_errors(tmp_path / "s")
    assert len(errors) == 1 and errors[0].startswith(f"{PKG}/__init__.py")


def test_no_syntax_errors_in_clean_package(tmp_path):
    dest = stage(SubmissionSource("a", make_folder(tmp_path / "a")), PKG, tmp_path / "s")
    assert syntax_errors(dest) == []


FORBIDDEN = ("torchvision", "pycocotools")


@pytest.mark.parametrize(
    "source, module",
    [
        ("import torchvision\n", "torchvision"),
        ("import os, torchvision.ops as ops\n", "torchvision.ops"),
        ("from torchvision.ops import nms\n", "torchvision.ops"),
        ("from torchvision import ops\n", "torchvision"),
        ("def f():\n    return __import__('torchvision')\n", "torchvision"),
        ("import importlib\nm = importlib.import_module('pycocotools.coco')\n", "pycocotools.coco"),
        ("from importlib import import_module\nm = import_module('pycocotools')\n", "pycocotools"),
    ],
)
def test_forbidden_imports_found(tmp_path, source, module):
    d = make_folder(tmp_path / "s", {f"{PKG}/__init__.py": "", f"{PKG}/ops.py": "# comment\n" + source})
    found = forbidden_imports(d, FORBIDDEN)
    assert len(found) == 1
    assert found[0].startswith(f"{PKG}/ops.py:")
    line = int(found[0].split(":")[1])
    assert module.split(".")[0] in (source.splitlines()[line - 2])  # the reported line holds it
    assert f"imports '{module}', which this assignment forbids" in found[0]


@pytest.mark.parametrize(
    "source",
    [
        "import torch\n",
        "import torch.nn.functional as F\n",
        "from torch import nn\n",
        "import torchvisionx\n",  # a different module that shares the prefix
        "from . import torchvision\n",  # the student's own relative module
        "s = 'import torchvision'\n",
        "x = __import__(name)\n",
    ],
)
def test_allowed_imports_not_reported(tmp_path, source):
    d = make_folder(tmp_path / "s", {f"{PKG}/__init__.py": "", f"{PKG}/ops.py": source})
    assert forbidden_imports(d, FORBIDDEN) == []


def test_forbidden_imports_skip_files_with_syntax_errors(tmp_path):
    d = make_folder(tmp_path / "s", {f"{PKG}/__init__.py": "import torchvision\n",
                                     f"{PKG}/bad.py": "def (:\n"})
    assert forbidden_imports(d, FORBIDDEN) == [
        f"{PKG}/__init__.py:1: imports 'torchvision', which this assignment forbids"
    ]


def test_content_hash_stable_and_sensitive(tmp_path):
    a = stage(SubmissionSource("a", make_folder(tmp_path / "a")), PKG, tmp_path / "sa")
    b = stage(SubmissionSource("b", make_folder(tmp_path / "b")), PKG, tmp_path / "sb")
    h = content_hash(a)
    assert len(h) == 64 and int(h, 16) >= 0
    assert content_hash(a) == h  # stable on the same tree
    assert content_hash(b) == h  # same files elsewhere, same hash

    (b / PKG / "ops.py").write_text(FILES[f"{PKG}/ops.py"] + "\n")
    assert content_hash(b) != h  # content changed
    (b / PKG / "ops.py").write_text(FILES[f"{PKG}/ops.py"])
    assert content_hash(b) == h  # changed back

    (b / PKG / "ops.py").rename(b / PKG / "ops2.py")
    assert content_hash(b) != h  # renamed
    (b / PKG / "ops2.py").rename(b / PKG / "ops.py")
    (b / PKG / "new.py").write_text("")
    assert content_hash(b) != h  # an empty file added


def test_content_hash_does_not_confuse_file_boundaries(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    (one / "a").write_bytes(b"")
    (one / "b").write_bytes(b"X")
    two = tmp_path / "two"
    two.mkdir()
    (two / "a").write_bytes(b"b\0X")
    assert content_hash(one) != content_hash(two)
