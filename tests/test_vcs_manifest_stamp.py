"""The revision from git, the stamp's C string, the manifest document and the editors' compile database."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sample_enlistment as sample
from enlist import compdb, manifest, vcs
from enlist.errors import InputError
from enlist.model.revision import Revision
from enlist.rules import stamp
from test_planner import rules, sample_plan, spec


def test_a_committed_tree_is_clean_and_an_edit_makes_it_dirty(tmp_path: Path) -> None:
    sample.write(tmp_path)
    sample.commit(tmp_path)
    clean = vcs.revision(tmp_path)
    assert re.fullmatch("[0-9a-f]{40}", clean.commit) and not clean.dirty
    assert clean.time == 1704164645  # the committer date of the sample commit
    (tmp_path / "projects/app/obj").mkdir()
    (tmp_path / "projects/app/obj/x.o").write_bytes(b"untracked outputs do not count")
    assert not vcs.revision(tmp_path).dirty
    (tmp_path / "projects/app/main.c").write_text("int main(void) { return 1; }\n")
    assert vcs.revision(tmp_path) == Revision(clean.commit, True, clean.time)
    assert vcs.revision(tmp_path).label == clean.commit + "-dirty"


def test_outside_git_the_revision_is_unknown(tmp_path: Path) -> None:
    assert vcs.revision(tmp_path) == Revision("", True, 0)
    assert vcs.revision(tmp_path).label == "unknown"


def _decode_c_string(literal: str) -> bytes:
    body = literal[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "\\":
            if body[i + 1] in '"\\':
                out.append(ord(body[i + 1]))
                i += 2
            else:
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
        else:
            out.append(ord(body[i]))
            i += 1
    return bytes(out)


@given(st.text())
def test_stamp_strings_hold_any_text_exactly(text: str) -> None:
    literal = stamp.c_string(text)
    assert literal.isascii() and "??" not in literal and "\n" not in literal
    assert _decode_c_string(literal) == text.encode("utf-8")


def test_stamp_versions() -> None:
    assert stamp.stamp_version("1.0", official=False, build_number=None) == "1.0.0-dev"
    assert stamp.stamp_version("1.0", official=True, build_number=12) == "1.0.12"
    with pytest.raises(InputError) as caught:
        stamp.stamp_version("1.0", official=True, build_number=None)
    assert caught.value.hint == "pass --build-number N (a non-negative integer) with --official"


def test_the_manifest_document_is_canonical_and_path_free() -> None:
    p = sample_plan()
    published = {path: "e" * 64 for path in manifest.published_files(p)}
    doc = manifest.document(p, spec(), rules(), published=published, lock="f" * 64)
    assert doc == {
        "build": {"build_number": None, "official": False, "version": "2.5.0-dev"},
        "config": "chk-amd64",
        "environment": {},  # no allowed host variable was set
        "format": 1,
        "lock": "f" * 64,
        "published": published,
        "revision": {"commit": "c" * 40, "dirty": False},
        "toolchain": {"kind": "zig", "target": "x86_64-linux-musl"},
        "tools": {"re2c": "b" * 64, "ziglang": "a" * 64},
    }
    assert sorted(published) == [
        "public/chk-amd64/bin/app",
        "public/chk-amd64/bin/libgreet.so",
        "public/chk-amd64/inc/lex.h",
        "public/chk-amd64/lib/liblex.a",
    ]


def test_the_manifest_records_the_allowed_host_variables_that_were_set_sorted() -> None:
    host_env = (("ZONE", "b c"), ("BUILD_TAG", "1"))
    doc = manifest.document(sample_plan(), spec(host_env=host_env), rules(), published={}, lock=None)
    assert doc["environment"] == {"BUILD_TAG": "1", "ZONE": "b c"}
    assert list(doc["environment"]) == ["BUILD_TAG", "ZONE"]
    assert manifest.recorded_environment(doc, "m.json") == {"BUILD_TAG": "1", "ZONE": "b c"}
    del doc["environment"]  # a manifest written before the field existed
    assert manifest.recorded_environment(doc, "m.json") is None


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (["BUILD_TAG=1"], "m.json: environment must be an object of variable names and values"),
        ({"BUILD_TAG": 1}, "m.json: environment: 'BUILD_TAG': 1 is not a variable an environment can hold"),
        ({"A=B": "1"}, "m.json: environment: 'A=B': '1' is not a variable an environment can hold"),
        ({"": "1"}, "m.json: environment: '': '1' is not a variable an environment can hold"),
        ({"X": "a\0b"}, "m.json: environment: 'X': 'a\\x00b' is not a variable an environment can hold"),
    ],
)
def test_a_recorded_environment_that_no_environment_could_hold_is_refused(environment: object, message: str) -> None:
    with pytest.raises(InputError) as caught:
        manifest.recorded_environment({"environment": environment}, "m.json")
    assert caught.value.render().startswith(message)


def test_a_missing_published_file_is_an_environment_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot hash published file public/chk-amd64/bin/app"):
        manifest.write_manifest(sample_plan(root=str(tmp_path)), spec(root=str(tmp_path)), rules())
    assert not manifest.manifest_path(tmp_path, "chk-amd64").exists()


def test_reading_a_manifest_back(tmp_path: Path) -> None:
    good = tmp_path / "manifest.json"
    good.write_text(json.dumps({"format": 1, "config": "chk-amd64"}))
    assert manifest.read_manifest(good)["config"] == "chk-amd64"
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(InputError) as caught:
        manifest.read_manifest(bad)
    assert caught.value.render().startswith(f"{bad}: not a manifest of format 1")


def test_compile_commands_are_rewritten_only_when_they_change(tmp_path: Path) -> None:
    p = sample_plan(root=str(tmp_path))
    path = compdb.write_compile_commands(p)
    entries = json.loads(path.read_text())
    assert [Path(e["file"]).name for e in entries] == ["main.c", "greet.c", "lexer.c", "util.c"]
    assert all(e["directory"] == str(tmp_path) for e in entries)
    os.utime(path, ns=(0, 0))  # an editor watching the file must not see a no-op build as a change
    compdb.write_compile_commands(p)
    assert path.stat().st_mtime_ns == 0
    path.write_text("[]\n")
    compdb.write_compile_commands(p)
    assert json.loads(path.read_text()) == entries
