"""LMS download layouts are submission folders: Moodle's assignment download (a folder per
student, or a file per uploaded file in older versions), Canvas's submissions zip (unpacked:
one file per uploaded file, late ones marked), and a flat folder of ``<id>.zip``. The student id
is the LMS's own (Moodle's participant id, Canvas's user id), so the export re-imports cleanly.

Fixtures are written in each layout under ``tmp_path``; the end-to-end tests grade one reference
submission per layout through ``cv3 grade`` and export it in the LMS's import layout.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.manifest import find_assignment
from harness.submissions import SubmissionSource, discover, stage_submission
from tests.conftest import ROOT

PKG = "detection"
FILES = {f"{PKG}/__init__.py": "from .ops import nms\n", f"{PKG}/ops.py": "def nms(b, s, t):\n    return b\n"}


def make_zip(path: Path, files: dict[str, str] = FILES, prefix: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in files.items():
            zf.writestr(prefix + rel, text)
    return path


def make_folder(root: Path, files: dict[str, str] = FILES) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def ids(sources: list[SubmissionSource]) -> list[tuple[str, str, str, str]]:
    return [(s.id, s.name, s.lms, s.path.name) for s in sources]


# ---------------------------------------------------------------- Moodle


def moodle_download(root: Path) -> Path:
    """Moodle's 'Download all submissions' (folders): file and online-text folders."""
    make_zip(root / "Ada Lovelace_12345_assignsubmission_file_" / "hw1.zip")
    (root / "Ada Lovelace_12345_assignsubmission_onlinetext_").mkdir()
    (root / "Ada Lovelace_12345_assignsubmission_onlinetext_" / "onlinetext.html").write_text("<p>hi</p>")
    make_zip(root / "Alan Turing_67890_assignsubmission_file_" / "submission.zip", prefix="project/")
    make_folder(root / "Grace Hopper_24680_assignsubmission_file_")  # uploaded as a folder tree
    (root / "Only Text_11111_assignsubmission_onlinetext_").mkdir()  # no file submission at all
    return root


def test_moodle_folders_take_the_participant_id_and_the_name(tmp_path):
    root = moodle_download(tmp_path / "moodle")
    got = discover(root, PKG)
    assert ids(got) == [
        ("12345", "Ada Lovelace", "moodle", "hw1.zip"),
        ("24680", "Grace Hopper", "moodle", "Grace Hopper_24680_assignsubmission_file_"),
        ("67890", "Alan Turing", "moodle", "submission.zip"),
    ]
    # what used to be an error ("no package 'detection' found: hw1.zip") stages cleanly
    for s in got:
        staged = stage_submission(s, PKG, tmp_path / "stage" / s.id)
        assert (staged.path / PKG / "__init__.py").is_file()
        staged.remove()


def test_moodle_folder_with_several_zips_is_staged_as_the_folder_and_fails_with_a_listing(tmp_path):
    folder = tmp_path / "m" / "Ada Lovelace_12345_assignsubmission_file_"
    make_zip(folder / "a.zip")
    make_zip(folder / "b.zip")
    (src,) = discover(tmp_path / "m", PKG)
    assert (src.id, src.path) == ("12345", folder)
    from harness.submissions import SubmissionError

    with pytest.raises(SubmissionError, match=r"found: a\.zip, b\.zip"):
        stage_submission(src, PKG, tmp_path / "stage")


def test_moodle_flat_files_of_older_versions(tmp_path):
    root = tmp_path / "flat"
    make_zip(root / "Ada Lovelace_12345_assignsubmission_file_hw1.zip")
    (root / "Ada Lovelace_12345_assignsubmission_onlinetext_onlinetext.html").write_text("x")
    assert ids(discover(root, PKG)) == [
        ("12345", "Ada Lovelace", "moodle", "Ada Lovelace_12345_assignsubmission_file_hw1.zip")]


def test_one_moodle_folder_given_alone(tmp_path):
    folder = moodle_download(tmp_path / "moodle") / "Ada Lovelace_12345_assignsubmission_file_"
    assert ids(discover(folder, PKG)) == [("12345", "Ada Lovelace", "moodle", "hw1.zip")]


# ---------------------------------------------------------------- Canvas


def canvas_download(root: Path) -> Path:
    """Canvas's submissions.zip, unpacked: '<login>_[LATE_]<user id>_<submission id>_<file>'."""
    make_zip(root / "lovelaceada_4711_90001_hw1.zip")
    make_zip(root / "turingalan_LATE_4712_90002_detection-1.zip")
    # two files in one submission: the zip is the submission, the newest if several
    (root / "hopper_grace_4713_90003_notes.txt").write_text("notes")
    make_zip(root / "hopper_grace_4713_90004_old.zip")
    make_zip(root / "hopper_grace_4713_90005_final_version.zip")
    # no zip at all: the file is kept, and staging refuses it with a reason
    (root / "knuthdon_4714_90006_nms.py").write_text("def nms(): pass\n")
    return root


def test_canvas_files_take_the_user_id(tmp_path):
    got = discover(canvas_download(tmp_path / "canvas"), PKG)
    assert ids(got) == [
        ("4711", "lovelaceada", "canvas", "lovelaceada_4711_90001_hw1.zip"),
        ("4712", "turingalan", "canvas", "turingalan_LATE_4712_90002_detection-1.zip"),
        ("4713", "hopper_grace", "canvas", "hopper_grace_4713_90005_final_version.zip"),
        ("4714", "knuthdon", "canvas", "knuthdon_4714_90006_nms.py"),
    ]
    from harness.submissions import SubmissionError

    with pytest.raises(SubmissionError, match="only folders and .zip files are accepted"):
        stage_submission(got[-1], PKG, tmp_path / "stage")


def test_one_canvas_zip_given_alone(tmp_path):
    z = make_zip(tmp_path / "lovelaceada_LATE_4711_90001_hw1.zip")
    assert ids(discover(z, PKG)) == [("4711", "lovelaceada", "canvas", z.name)]


# ---------------------------------------------------------------- a flat folder of <id>.zip


def test_flat_folder_of_id_zips(tmp_path):
    root = tmp_path / "flat"
    for sid in ("s1001", "s1002", "jane.doe"):
        make_zip(root / f"{sid}.zip")
    (root / "grades.csv").write_text("not a submission")
    assert ids(discover(root, PKG)) == [
        ("jane.doe", "", "", "jane.doe.zip"), ("s1001", "", "", "s1001.zip"), ("s1002", "", "", "s1002.zip")]


def test_an_id_twice_in_an_lms_layout_is_refused_naming_both(tmp_path):
    root = tmp_path / "mixed"
    make_zip(root / "4711.zip")
    make_zip(root / "lovelaceada_4711_90001_hw1.zip")
    from harness.submissions import SubmissionError

    with pytest.raises(SubmissionError, match=r"\['4711'\] appear more than once .*4711\.zip.*lovelaceada"):
        discover(root, PKG)


# ---------------------------------------------------------------- end to end: grade, export


def cv3(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def reference_zip(path: Path) -> Path:
    pkg = ROOT / "reference" / PKG / PKG
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(pkg.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                zf.write(f, str(Path(PKG) / f.relative_to(pkg)))
    return path


@pytest.fixture(scope="module")
def lms_graded(tmp_path_factory):
    """One reference submission in Moodle's layout and one (late) in Canvas's, graded."""
    base = tmp_path_factory.mktemp("lms")
    reference_zip(base / "moodle" / "Ada Lovelace_12345_assignsubmission_file_" / "hw1.zip")
    (base / "moodle" / "Ada Lovelace_12345_assignsubmission_onlinetext_").mkdir()
    reference_zip(base / "canvas" / "turingalan_LATE_4712_90002_hw1.zip")
    out = {}
    for kind in ("moodle", "canvas"):
        store = base / f"{kind}.sqlite"
        done = cv3("grade", PKG, str(base / kind), "--no-speed", "--store", str(store), "--reports",
                   str(base / f"reports-{kind}"), cwd=base)
        assert done.returncode == 0, done.stdout + done.stderr
        out[kind] = store
    return base, out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_moodle_download_grades_and_exports_a_grading_worksheet(lms_graded):
    base, stores = lms_graded
    full = find_assignment(PKG)
    out = base / "moodle.csv"
    done = cv3("export", PKG, "--format", "moodle", "--store", str(stores["moodle"]), "--out", str(out), cwd=base)
    assert done.returncode == 0, done.stderr
    (row,) = read_csv(out)
    assert list(row) == ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)"]
    assert row["Identifier"] == "Participant 12345" and row["Full name"] == "Ada Lovelace"
    assert 0 < float(row["Grade"]) == float(row["Maximum Grade"]) <= full.max_score
    assert row["Last modified (grade)"].endswith("UTC")
    plain = base / "moodle-plain.csv"
    assert cv3("export", PKG, "--store", str(stores["moodle"]), "--out", str(plain), cwd=base).returncode == 0
    (row,) = read_csv(plain)
    assert (row["student_id"], row["name"], row["status"]) == ("12345", "Ada Lovelace", "graded")


def test_canvas_download_grades_and_exports_the_canvas_user_id(lms_graded):
    base, stores = lms_graded
    out = base / "canvas.csv"
    done = cv3("export", PKG, "--format", "canvas", "--item", "HW1", "--store", str(stores["canvas"]),
               "--out", str(out), cwd=base)
    assert done.returncode == 0, done.stderr
    (row,) = read_csv(out)
    assert list(row) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW1"]
    assert (row["ID"], row["SIS User ID"], row["Student"]) == ("4712", "", "turingalan")
    assert float(row["HW1"]) > 0


def test_moodle_ids_mixed_with_other_ids_are_refused_for_a_moodle_export(lms_graded, tmp_path):
    base, stores = lms_graded
    store = tmp_path / "mixed.sqlite"
    shutil.copyfile(stores["moodle"], store)
    from harness.results import SubmissionResult
    from harness.store import ResultStore

    ResultStore(store).put(SubmissionResult(PKG, "alice", "graded", 1.0, 2.0, source_sha256="x"))
    done = cv3("export", PKG, "--format", "moodle", "--store", str(store), "--out", str(tmp_path / "m.csv"),
               cwd=tmp_path)
    assert done.returncode == 2
    assert "mixes Moodle participant ids" in done.stderr and "alice" in done.stderr
    assert "Traceback" not in done.stderr
