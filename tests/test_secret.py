"""The course key (harness/secret.py): held-out data comes from a secret that never leaves the
grading setup, is created on first use, can be rotated, and never ships in a handout.

Every test here uses a temporary key file through ``CV3_COURSE_KEY_FILE``; none needs (or
touches) the instructor's ``results/course.key``."""

from __future__ import annotations

import stat
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import cv3data
from harness import cli, secret
from harness.authoring import release
from harness.manifest import find_assignment
from tests.conftest import ROOT, load_module, needs_bwrap


@pytest.fixture
def key_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "keys" / "course.key"
    monkeypatch.setenv(secret.KEY_ENV, str(path))
    return path


def _use_key(monkeypatch, path: Path, hex_key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(hex_key + "\n")
    monkeypatch.setenv(secret.KEY_ENV, str(path))


# ---------------------------------------------------------------------------- the key file
def test_the_key_is_created_on_first_use_private_and_128_bits(key_file):
    assert not key_file.exists()
    seed = secret.heldout_seed("detectors")
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(secret.read_key(key_file)) * 8 == secret.KEY_BITS
    assert secret.heldout_seed("detectors") == seed  # the same key from then on


def test_seeds_depend_on_key_and_name_and_are_wide(tmp_path, monkeypatch):
    _use_key(monkeypatch, tmp_path / "a.key", "00" * 16)
    a = {n: secret.heldout_seed(n) for n in ("detectors", "tracking", "mpn")}
    _use_key(monkeypatch, tmp_path / "b.key", "00" * 15 + "01")
    b = {n: secret.heldout_seed(n) for n in ("detectors", "tracking", "mpn")}
    assert len(set(a.values())) == 3 and all(a[n] != b[n] for n in a)
    assert all(2 ** 64 < s < 2 ** 128 for s in a.values())  # 128 bits (one in 2^64 is shorter)
    s64 = secret.heldout_seed("detectors", bits=64)
    assert 0 <= s64 < 2 ** 64 and s64 == b["detectors"] >> 64  # a prefix of the same digest
    torch.Generator().manual_seed(s64)  # fits torch's generator
    with pytest.raises(ValueError, match="bits must be"):
        secret.heldout_seed("x", bits=12)


def test_concurrent_first_use_agrees_on_one_key(key_file):
    seeds, errors = [], []

    def draw():
        try:
            seeds.append(secret.heldout_seed("tracking"))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(seeds)) == 1
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["course.key"]  # no temporary files left


@pytest.mark.parametrize("text, message", [
    ("not hex at all\n", "not hexadecimal"),
    ("abcd\n", "has 16 bits, at least 128"),
    ("# only a comment\n", "found 0 non-comment lines"),
])
def test_a_broken_key_file_is_refused_with_the_fix(key_file, text, message):
    key_file.parent.mkdir(parents=True)
    key_file.write_text(text)
    with pytest.raises(secret.CourseKeyError, match=message) as e:
        secret.heldout_seed("mpn")
    assert "cv3 init --rotate" in str(e.value)


def test_cv3_init_creates_keeps_and_rotates(key_file, capsys):
    assert cli.main(["init"]) == 0
    first = secret.read_key(key_file)
    assert "created the course key" in capsys.readouterr().out
    assert cli.main(["init"]) == 0  # idempotent
    assert secret.read_key(key_file) == first
    assert "exists" in capsys.readouterr().out
    seed = secret.heldout_seed("detectors")
    assert cli.main(["init", "--rotate"]) == 0
    out = capsys.readouterr().out
    assert secret.read_key(key_file) != first and secret.heldout_seed("detectors") != seed
    (old,) = [p for p in key_file.parent.iterdir() if p.name.startswith("course.key.retired-")]
    assert secret.read_key(old) == first and str(old) in out
    assert stat.S_IMODE(old.stat().st_mode) == 0o600 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    other = key_file.parent / "other.key"
    assert cli.main(["init", "--key-file", str(other)]) == 0 and other.is_file()


def test_the_default_key_file_is_beside_the_default_store_and_git_ignored(monkeypatch, tmp_path):
    monkeypatch.delenv(secret.KEY_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert secret.key_file() == tmp_path / cli.DEFAULT_STORE.parent / "course.key"
    done = subprocess.run(["git", "check-ignore", "-q", "results/course.key"], cwd=ROOT)
    if done.returncode == 128:
        pytest.skip("not a git checkout")
    assert done.returncode == 0, "results/course.key must be git-ignored"


# ------------------------------------------------------------------ the held-out data uses it
def _cases(name: str):
    path = ROOT / "reference" / name / "tests" / "accuracy_cases.py"
    return load_module(path, f"cv3_test_secret_cases_{name}")


def _first_input(name: str) -> torch.Tensor:
    cases = _cases(name)
    if name == "detectors":
        return cases.holdout_scenes()[0]["image"]
    if name == "mpn":
        cases._split.cache_clear()
        return cases.data()[0][0][0][0][0]
    return cases.hidden_sequences()[0][0][0][0][0]


@pytest.mark.parametrize("name", ["detectors", "tracking", "mpn"])
def test_held_out_data_comes_from_the_course_key(name, tmp_path, monkeypatch):
    source = (ROOT / "reference" / name / "tests" / "accuracy_cases.py").read_text()
    assert "heldout_seed(" in source and "SEED =" not in source  # no constant seed left
    _use_key(monkeypatch, tmp_path / "a.key", "11" * 16)
    a = _first_input(name)
    assert torch.equal(a, _first_input(name))  # reproducible under one key
    _use_key(monkeypatch, tmp_path / "b.key", "22" * 16)
    assert not torch.equal(a, _first_input(name))


def test_generators_take_seeds_wider_than_64_bits():
    big = 2 ** 127 + 12345
    a = cv3data.make_scenes(2, seed=big, image_size=(32, 32))
    b = cv3data.make_scenes(2, seed=big + 2 ** 100, image_size=(32, 32))
    assert not torch.equal(a[0]["image"], b[0]["image"])
    assert torch.equal(a[0]["image"], cv3data.make_scenes(1, seed=big, image_size=(32, 32))[0]["image"])
    seqs = cv3data.make_mot_split("hidden", seed=big, num_sequences=2, num_frames=5)
    other = cv3data.make_mot_split("hidden", seed=big + 2 ** 100, num_sequences=2, num_frames=5)
    assert not np.array_equal(seqs[0]["gt"].numpy(), other[0]["gt"].numpy())


def test_public_splits_do_not_depend_on_the_key(tmp_path, monkeypatch):
    _use_key(monkeypatch, tmp_path / "a.key", "33" * 16)
    a = cv3data.detection_splits(0, num_train=1, num_val=1, num_test=0)
    mot = cv3data.make_mot_split("val", num_sequences=1, num_frames=3)
    _use_key(monkeypatch, tmp_path / "b.key", "44" * 16)
    b = cv3data.detection_splits(0, num_train=1, num_val=1, num_test=0)
    assert torch.equal(a["train"][0]["image"], b["train"][0]["image"])
    assert np.array_equal(mot[0]["gt"].numpy(), cv3data.make_mot_split("val", num_sequences=1, num_frames=3)[0]
                          ["gt"].numpy())


# --------------------------------------------------------------- it never leaves the trusted side
def test_the_handout_never_holds_the_key(key_file, tmp_path):
    key = secret.ensure_key()
    handout = release(find_assignment("detectors"), tmp_path / "handout").path
    for p in handout.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert key.hex().encode() not in data and key not in data, p
    assert not any("course.key" in p.name for p in handout.rglob("*"))


def test_release_refuses_a_handout_holding_the_key(key_file, tmp_path, monkeypatch):
    key = secret.ensure_key()
    from harness import authoring

    real_copy = authoring.shutil.copy

    def copy_and_plant(src, dst, *args, **kwargs):
        done = real_copy(src, dst, *args, **kwargs)
        if str(dst).endswith("pack.py"):
            Path(dst).write_text(Path(dst).read_text() + f"\n# {key.hex()}\n")
        return done

    monkeypatch.setattr(authoring.shutil, "copy", copy_and_plant)
    out = tmp_path / "handout"
    with pytest.raises(RuntimeError, match=r"pack.py \(the course key\)"):
        release(find_assignment("detection"), out)
    assert not out.exists()


@needs_bwrap
def test_a_submission_cannot_read_the_key(grade, key_file):
    """With bubblewrap the key's folder is not even mounted inside the sandbox."""
    key = secret.ensure_key()
    result = grade({"detection/__init__.py": f'''
        from pathlib import Path

        __all__ = ["box_iou"]

        def box_iou(boxes1, boxes2):
            raise RuntimeError("KEY:" + Path({str(key_file)!r}).read_text())
    '''}, tasks=["iou"])
    text = repr(result.to_dict() if hasattr(result, "to_dict") else result)
    assert key.hex() not in text
    assert "No such file" in text or "FileNotFoundError" in text or "Permission" in text
