"""`enlist build` parses its plain command lines without argparse: the result must be argparse's, and
anything unusual must go to argparse (which then explains the error)."""

from __future__ import annotations

import argparse
import marshal
import os
from pathlib import Path

import pytest

from enlist.commands import build
from enlist.store import noop


def _argparse(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="enlist build")
    build.configure(parser)
    return vars(parser.parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-j", "2"],
        ["-j2", "--config", "chk-amd64"],
        ["--config=fre-arm64", "--jobs=8", "-c"],
        ["--no-cache", "--explain", "--strict", "--fail-fast"],
        ["--pass", "1", "projects/a", "projects/b"],
        ["--pass=0", "."],
        ["projects/x", "-c", "--jobs", "16"],
    ],
)
def test_plain_command_lines_parse_as_argparse_does(argv: list[str]) -> None:
    quick = build.quick_args(argv)
    assert quick is not None
    assert vars(quick) == _argparse(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["--pass", "3"],
        ["-j", "two"],
        ["-j"],
        ["--config"],
        ["--expl"],  # argparse accepts abbreviations: let it
        ["-cj2"],
        ["--", "dir"],
        [""],
    ],
)
def test_anything_unusual_goes_to_argparse(argv: list[str]) -> None:
    assert build.quick_args(argv) is None


def test_remembered_settings_hold_only_while_enlist_toml_is_unchanged(tmp_path: Path) -> None:
    toml = tmp_path / "buildconf" / "enlist.toml"
    toml.parent.mkdir()
    toml.write_text('[enlistment]\nname = "x"\n')
    record = tmp_path / "out" / ".enlist" / "default-config"
    record.parent.mkdir(parents=True)
    record.write_bytes(marshal.dumps((noop.signature(str(toml)), "fre-amd64", ("HOME",))))
    assert noop.settings(str(tmp_path)) == ("fre-amd64", ("HOME",))
    assert noop.default_config(str(tmp_path)) == "fre-amd64"
    toml.write_text('[enlistment]\nname = "y"\n[environment]\nallow = ["PATH"]\n')
    os.utime(toml, ns=(1, 1))
    assert noop.settings(str(tmp_path)) is None
    record.write_bytes(b"garbage")
    assert noop.settings(str(tmp_path)) is None


@pytest.mark.parametrize(
    ("config", "plain"),
    [
        ("chk-amd64", True),
        ("fre-arm_64", True),
        ("dbg-amd64", False),
        ("chk-", False),
        ("chk-AMD64", False),
        ("chk", False),
        ("chk-amd-64", False),
    ],
)
def test_plain_configs_are_those_check_config_accepts(config: str, plain: bool) -> None:
    from enlist import workspace
    from enlist.errors import EnlistError

    assert noop.plain_config(config) is plain
    try:
        workspace.check_config(config)
        accepted = True
    except EnlistError:
        accepted = False
    assert accepted is plain
