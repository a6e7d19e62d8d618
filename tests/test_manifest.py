"""Assignment manifests: the real one loads; each kind of broken one is refused by name.

The broken manifests are one-line edits of a valid one written under ``tmp_path``, and the
valid one is checked to load first, so each failure comes from the edit alone.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness.manifest import (
    Assignment,
    ManifestError,
    find_assignment,
    list_assignments,
    load_manifest,
    repo_root,
)

REAL = repo_root() / "assignments" / "detection" / "assignment.toml"

VALID = """\
[assignment]
name = "demo"
title = "A demo"
package = "demo"
forbidden_modules = ["torchvision"]
seed = 3

[limits]
call_timeout_s = 5
memory_mb = 512

[[task]]
id = "add"
title = "Addition"
points = 10
api = ["add", "Adder"]

[[task]]
id = "mul"
points = 5.5
api = ["mul"]

[[speed]]
id = "add_speed"
points = 2
target = "add"
baseline = "operator.add"
case = "speed_cases:add_case"
requires = "add"
full_ratio = 2.0
zero_ratio = 20
"""


def write(root: Path, text: str, folder: str = "demo") -> Path:
    path = root / "assignments" / folder / "assignment.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edit(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


# ---------------------------------------------------------------- the real manifest


def test_real_detection_manifest_loads_and_agrees_with_the_raw_toml():
    raw = tomllib.loads(REAL.read_text(encoding="utf-8"))
    a = load_manifest(REAL)
    assert isinstance(a, Assignment)
    assert a.name == raw["assignment"]["name"] == "detection"
    assert a.package == raw["assignment"]["package"]
    assert [t.id for t in a.tasks] == [t["id"] for t in raw["task"]]
    assert len(a.tasks) > 0 and len(a.speed) == len(raw.get("speed", []))
    expected_total = sum(t["points"] for t in raw["task"]) + sum(s["points"] for s in raw.get("speed", []))
    assert a.max_score == pytest.approx(expected_total)
    assert sum(t.points for t in a.tasks) + sum(s.points for s in a.speed) == pytest.approx(a.max_score)
    raw_api = {n for t in raw["task"] for n in t["api"]}
    assert set(a.api) == raw_api
    for s in a.speed:
        assert s.target in raw_api
        assert s.requires in {t.id for t in a.tasks}
        assert 0 < s.full_ratio < s.zero_ratio
    assert a.limits.call_timeout_s == raw["limits"]["call_timeout_s"]
    assert a.forbidden_modules == tuple(raw["assignment"]["forbidden_modules"])
    assert a.stub_dir == REAL.parent / a.package
    assert a.reference_dir == repo_root() / "reference" / a.name / a.package


def test_real_manifest_is_found_by_name():
    a = find_assignment("detection")
    assert a.root == REAL.parent
    assert "detection" in [x.name for x in list_assignments()]


def test_find_unknown_assignment_lists_the_known_ones():
    with pytest.raises(ManifestError, match=r"unknown assignment 'nope'; known assignments: .*detection"):
        find_assignment("nope")


def test_find_unknown_assignment_in_an_empty_root(tmp_path):
    (tmp_path / "assignments").mkdir()
    with pytest.raises(ManifestError, match="known assignments: none"):
        find_assignment("nope", root=tmp_path)


# ---------------------------------------------------------------- a valid demo manifest


def test_valid_demo_manifest_loads(tmp_path):
    path = write(tmp_path, VALID)
    a = find_assignment("demo", root=tmp_path)
    assert a.root == path.parent
    assert a.reference_root == tmp_path / "reference" / "demo"
    assert [(t.id, t.title, t.points, t.api) for t in a.tasks] == [
        ("add", "Addition", 10.0, ("add", "Adder")),
        ("mul", "mul", 5.5, ("mul",)),  # title defaults to the id
    ]
    assert a.max_score == 17.5
    assert a.api == ("add", "Adder", "mul")
    assert a.task("mul").points == 5.5
    with pytest.raises(KeyError):
        a.task("div")
    (s,) = a.speed
    assert (s.target, s.requires, s.full_ratio, s.zero_ratio, s.repeats) == ("add", "add", 2.0, 20.0, 7)
    assert a.limits.call_timeout_s == 5.0 and a.limits.memory_mb == 512
    assert a.limits.cpu_time_s == 600  # default
    assert a.seed == 3 and a.forbidden_modules == ("torchvision",)


def test_manifest_without_speed_checks(tmp_path):
    text = VALID[: VALID.index("[[speed]]")]
    write(tmp_path, text)
    a = find_assignment("demo", root=tmp_path)
    assert a.speed == () and a.max_score == 15.5


# ---------------------------------------------------------------- broken manifests


BROKEN = {
    "invalid_toml": (edit('title = "A demo"', 'title = "A demo'), r"not valid TOML"),
    "missing_assignment": (VALID.replace("[assignment]\n", "[limits_typo]\n", 1),
                           r"unknown section\(s\) \['limits_typo'\]"),
    "missing_key_package": (edit('package = "demo"\n', ""), r"\[assignment\]: missing key 'package'"),
    "missing_key_points": (edit('points = 5.5\n', ""), r"task 'mul': missing key 'points'"),
    "missing_speed_baseline": (edit('baseline = "operator.add"\n', ""),
                               r"speed check 'add_speed': missing key 'baseline'"),
    "points_wrong_type": (edit("points = 10", 'points = "ten"'),
                          r"task 'add': 'points' must be int or float, got 'ten'"),
    "points_bool": (edit("points = 10", "points = true"), r"'points' must be int or float, got True"),
    "points_negative": (edit("points = 10", "points = -3"),
                        r"task 'add': 'points' = -3 is not allowed; must be > 0"),
    "points_zero": (edit("points = 10", "points = 0"), r"'points' = 0 is not allowed"),
    "duplicate_task_id": (edit('id = "mul"', 'id = "add"'), r"task 'add': duplicate task id"),
    "speed_id_reuses_task_id": (edit('id = "add_speed"', 'id = "mul"'), r"id already used"),
    "bad_task_id": (edit('id = "mul"', 'id = "Mul-1"'), r"'id' = 'Mul-1' is not allowed; lower_snake_case"),
    "unknown_section": (VALID + "\n[extras]\nx = 1\n", r"unknown section\(s\) \['extras'\]"),
    "speed_target_not_in_api": (edit('target = "add"', 'target = "div"'),
                                r"target 'div' is not in any task's api \['Adder', 'add', 'mul'\]"),
    "requires_unknown_task": (edit('requires = "add"', 'requires = "div"'),
                              r"requires 'div' is not a task id"),
    "zero_ratio_equal_full": (edit("zero_ratio = 20", "zero_ratio = 2.0"),
                              r"'zero_ratio' = 2.0 is not allowed; must be greater than full_ratio \(2.0\)"),
    "zero_ratio_below_full": (edit("zero_ratio = 20", "zero_ratio = 1"), r"must be greater than full_ratio"),
    "full_ratio_not_positive": (edit("full_ratio = 2.0", "full_ratio = 0"),
                                r"'full_ratio' = 0 is not allowed"),
    "case_without_colon": (edit('case = "speed_cases:add_case"', 'case = "speed_cases.add_case"'),
                           r"'case' = 'speed_cases.add_case' is not allowed; write it as 'module:function'"),
    "repeats_too_few": (edit("zero_ratio = 20", "zero_ratio = 20\nrepeats = 2"),
                        r"'repeats' = 2 .*must be >= 3"),
    "name_not_folder": (edit('name = "demo"', 'name = "other"'),
                        r"name 'other' must equal the folder name 'demo'"),
    "no_tasks": (VALID[: VALID.index("[[task]]")], r"needs at least one \[\[task\]\] table"),
    "task_as_single_table": (VALID[: VALID.index("[[task]]")] + '[task]\nid = "add"\npoints = 1\n',
                             r"needs at least one \[\[task\]\] table \(write \[\[task\]\], not \[task\]\)"),
    "speed_as_single_table": (edit("[[speed]]", "[speed]"), r"\[\[speed\]\] tables"),
    "api_not_list_of_str": (edit('api = ["mul"]', 'api = ["mul", 3]'),
                            r"'api' must be a list of non-empty strings"),
    "limits_not_table": ("limits = 3\n" + edit("[limits]\ncall_timeout_s = 5\nmemory_mb = 512\n", ""),
                         r"\[limits\] must be a table"),
    "misspelt_optional_key": (edit("forbidden_modules", "forbiden_modules"),
                              r"\[assignment\]: unknown key\(s\) \['forbiden_modules'\]"),
    "key_in_wrong_table": (edit("seed = 3", "seed = 3\nmemory_mb = 5"),
                           r"\[assignment\]: unknown key\(s\) \['memory_mb'\]"),
    "unknown_limit": (edit("memory_mb = 512", "memory_mb = 512\nmemory_gb = 1"),
                      r"\[limits\]: unknown key\(s\) \['memory_gb'\]"),
    "unknown_task_key": (edit("points = 5.5", "points = 5.5\npoint = 5"),
                         r"task 'mul': unknown key\(s\) \['point'\]"),
    "unknown_speed_key": (edit("zero_ratio = 20", "zero_ratio = 20\nrepeat = 15"),
                          r"speed check 'add_speed': unknown key\(s\) \['repeat'\]"),
    "limit_wrong_type": (edit("memory_mb = 512", "memory_mb = 512.5"), r"'memory_mb' must be int, got 512.5"),
    "limit_not_positive": (edit("call_timeout_s = 5", "call_timeout_s = 0"),
                           r"'call_timeout_s' = 0 is not allowed"),
    "package_not_identifier": (edit('package = "demo"', 'package = "my-demo"'),
                               r"'package' = 'my-demo' is not allowed; a Python identifier"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_manifest_is_refused_with_a_message_naming_the_problem(tmp_path, case):
    text, message = BROKEN[case]
    path = write(tmp_path, text)
    with pytest.raises(ManifestError, match=message) as info:
        load_manifest(path)
    assert str(path) in str(info.value)  # names the file


def test_missing_assignment_table(tmp_path):
    text = VALID[VALID.index("[limits]"):]
    path = write(tmp_path, text)
    with pytest.raises(ManifestError, match=r"missing \[assignment\] table"):
        load_manifest(path)


def test_manifest_file_missing(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        load_manifest(tmp_path / "assignments" / "demo" / "assignment.toml")


def test_list_assignments_fails_loudly_on_one_broken_manifest(tmp_path):
    write(tmp_path, VALID)
    write(tmp_path, VALID.replace('name = "demo"', 'name = "other"'), folder="zzz")
    with pytest.raises(ManifestError, match="folder name 'zzz'"):
        list_assignments(tmp_path)
