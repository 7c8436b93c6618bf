"""Toolchain tables of buildconf/enlist.toml: good ones parse, bad ones give `file:line: message` + hint."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from enlist.errors import ConfigError, ExitCode
from enlist.rules.settings import RuleSettings, parse

REPO_TOML = Path(__file__).resolve().parents[1] / "buildconf" / "enlist.toml"


def parse_text(text: str, kind: str | None = None) -> RuleSettings:
    return parse(tomllib.loads(text), text=text, kind=kind)


def test_the_settings_of_this_repository_parse() -> None:
    rules = parse_text(REPO_TOML.read_text())
    assert rules.toolchain.kind == "zig"
    assert rules.toolchain.package == "ziglang"
    assert rules.toolchain.target("amd64") == "x86_64-linux-musl"
    assert rules.toolchain.cpu == "baseline"
    assert rules.flags("fre").cflags == ("-O2", "-DNDEBUG")
    re2c = rules.generator_for("projects/x/Lexer.RE")
    assert re2c is not None and re2c.name == "re2c"
    assert {"-i", "--no-generation-date"} <= set(re2c.argv)
    assert rules.generator_for("x.c") is None


def test_defaults_when_only_the_package_is_named() -> None:
    rules = parse_text('[toolchain]\npackage = "ziglang"\n')
    assert (rules.toolchain.kind, rules.toolchain.tool, rules.toolchain.cpu) == (
        "zig",
        "ziglang/zig",
        "baseline",
    )
    assert rules.toolchain.target("amd64") == "x86_64-linux-musl"
    assert rules.flags("chk").cflags == ()
    assert rules.generators == ()


def test_host_is_chosen_only_when_asked() -> None:
    text = '[toolchain]\npackage = "ziglang"\n[toolchain.host]\ncc = "gcc"\n'
    assert parse_text(text).toolchain.kind == "zig"
    host = parse_text(text, kind="host").toolchain
    assert (host.kind, host.host.cc, host.host.ar) == ("host", "gcc", "ar")


GEN = '[generators.re2c]\nextensions = [".re"]\npackage = "re2c"\ntool = "bin/re2c"\n'
BAD = [
    ('[toolchain]\nkind = "msvc"\n', 2, "unknown toolchain kind 'msvc'", "one of: zig, host"),
    ("[toolchain]\ncpu = 'native'\npackage = 3\n", 3, "[toolchain] `package` must be a string", None),
    (
        '[toolchain]\npackage = "z"\ncflags = "-O2"\n',
        3,
        "[toolchain] `cflags` must be a list of strings",
        'e.g. cflags = ["..."]',
    ),
    (
        '[toolchain]\npackage = "z"\ncflag = []\n',
        3,
        "[toolchain] unknown key `cflag`",
        "known keys: cflags, cpu, cxxflags, host, kind, ldflags, package, targets, tool",
    ),
    (
        '[toolchain]\npackage = "z"\n\n[configs.dbg]\ncflags = []\n',
        4,
        "unknown flavor [configs.dbg]",
        "flavors are chk and fre",
    ),
    (
        '[toolchain]\npackage = "z"\n[toolchain.host]\nld = "ld"\n',
        4,
        "[toolchain.host] unknown key `ld`",
        "known keys: ar, cc, cxx",
    ),
    ("toolchain = 3\n", 0, "[toolchain] must be a table", None),
    (
        GEN + 'argv = ["{tool}", "{in}"]\noutputs = ["{stem}.c"]\n',
        5,
        "[generators.re2c] argv: unknown placeholder '{in}'",
        "placeholders: {depfile}, {input}, {outdir}, {output}, {package}, {srcdir}, {stem}, {tool}",
    ),
    (GEN + 'argv = ["{tool}"]\n', 1, "[generators.re2c] needs `outputs`", "see docs/toolchain.md"),
    (
        GEN.replace('".re"', '"re"') + 'argv = ["{tool}"]\noutputs = ["{stem}.c"]\n',
        2,
        "[generators.re2c] extension 're' must start with a dot",
        'e.g. extensions = [".re"]',
    ),
    (
        GEN
        + 'argv = ["x"]\noutputs = ["a.c"]\n'
        + GEN.replace("re2c]", "other]")
        + 'argv = ["x"]\noutputs = ["b.c"]\n',
        1,
        "extension '.re' is claimed by [generators.other] and [generators.re2c]",
        "each extension belongs to one generator",
    ),
]


@pytest.mark.parametrize(("text", "line", "message", "hint"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_settings_are_reported_at_their_line(
    text: str, line: int, message: str, hint: str | None
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_text(text)
    error = caught.value
    assert (error.message, error.hint, error.code) == (message, hint, ExitCode.USAGE)
    assert str(error.location) == ("buildconf/enlist.toml" + (f":{line}" if line else ""))


def test_an_arch_without_a_target_is_an_error_naming_the_known_ones() -> None:
    rules = parse_text('[toolchain]\npackage = "z"\n[toolchain.targets]\namd64 = "x86_64-linux-gnu.2.31"\n')
    with pytest.raises(ConfigError) as caught:
        rules.toolchain.target("riscv")
    assert caught.value.render() == (
        "buildconf/enlist.toml:1: no zig target for arch 'riscv'\n"
        '  hint: add `riscv = "<triple>"` to [toolchain.targets] (known: amd64)'
    )
