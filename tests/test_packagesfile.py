"""buildconf/packages.toml: what it means, and exactly what a user reads when it is wrong."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enlist import packagesfile
from enlist.errors import ConfigError
from enlist.model.packages import FeedKind, PackageSpec, RestoredPackage, macro_stem, version_key
from enlist.packagesfile import environment

SHOWN = "buildconf/packages.toml"
GOOD = """\
platforms = ["linux-x86_64", "macos-arm64"]

[feeds.pypi]
kind = "pypi"

[feeds.share]
url = "../toolfeed"

[feeds.web]
url = "https://feed.example/tools"

[[package]]
name = "ziglang"
version = "0.17.0"
feed = "pypi"
env = { ZIG = "{root}/ziglang/zig" }
path = ["ziglang"]

[[package]]
name = "mytool"
version = "2.1"
feed = "share"
platforms = ["linux-x86_64"]

[[package]]
name = "docs"
version = "1.0"
feed = "web"
file = "docs-{version}.zip"
"""


def parse(text: str) -> packagesfile.PackagesConfig:
    return packagesfile.parse(tomllib.loads(text), text, SHOWN)


def test_a_good_file_gives_feeds_packages_and_platforms() -> None:
    config = parse(GOOD)
    assert [(f.name, f.kind) for f in config.feeds] == [
        ("pypi", FeedKind.PYPI),
        ("share", FeedKind.FOLDER),
        ("web", FeedKind.HTTP),
    ]
    assert [(p.name, p.version, p.feed) for p in config.packages] == [
        ("docs", "1.0", "web"),
        ("mytool", "2.1", "share"),
        ("ziglang", "0.17.0", "pypi"),
    ]
    zig = config.packages[2]
    assert zig.env == (("ZIG", "{root}/ziglang/zig"),) and zig.path == ("ziglang",) and zig.file is None
    assert str(zig.location) == f"{SHOWN}:12"
    assert config.packages[1].file == "{name}/{version}/{name}-{version}-{platform}.tar.gz"
    assert config.platforms_of(config.packages[1]) == ("linux-x86_64",)
    assert config.platforms_of(config.packages[0]) == ("linux-x86_64", "macos-arm64")


PKG = '[feeds.pypi]\nkind = "pypi"\n\n[[package]]\nname = "re2c"\nversion = "4.0"\nfeed = "pypi"\n'
BAD = [
    (
        "unknown top-level key",
        'colour = "red"\n' + PKG,
        f"{SHOWN}:1: unknown key 'colour'\n  hint: packages.toml has `platforms`, `[feeds.NAME]` tables and "
        "`[[package]]` entries",
    ),
    (
        "unknown feed",
        PKG.replace('feed = "pypi"', 'feed = "pypy"'),
        f"{SHOWN}:7: package 're2c': unknown feed 'pypy'\n  hint: feeds: pypi; define it as [feeds.pypy]",
    ),
    (
        "unknown feed kind",
        '[feeds.x]\nkind = "ftp"\nurl = "ftp://x"\n',
        f"{SHOWN}:2: feed 'x': unknown kind 'ftp'\n  hint: one of folder, http, pypi",
    ),
    ("feed without url", "[feeds.x]\n", f"{SHOWN}:1: feed 'x' needs a `url` or `kind = \"pypi\"`"),
    (
        "unknown feed key",
        '[feeds.x]\nkind = "pypi"\nmirror = "y"\n',
        f"{SHOWN}:3: feed 'x': unknown key 'mirror'\n"
        "  hint: a feed has `kind` (folder, http, pypi), `url` and, to publish to it over HTTP, `upload`",
    ),
    (
        "upload that is no URL",
        '[feeds.x]\nurl = "../feed"\nupload = "//share/feed"\n',
        f"{SHOWN}:3: feed 'x': `upload` must be an http:// or https:// URL\n"
        "  hint: the URL that accepts uploads (the PyPI upload API), e.g. the root of a pypiserver",
    ),
    (
        "unknown provides",
        PKG + 'provides = "private"\n',
        f"{SHOWN}:8: package 're2c': unknown provides 'private'\n"
        '  hint: provides = "public" overlays the package\'s published tree on $(PUBLIC_ROOT)',
    ),
    (
        "package without version",
        PKG.replace('version = "4.0"\n', ""),
        f"{SHOWN}:4: package needs a `version` string",
    ),
    (
        "bad version",
        PKG.replace('"4.0"', '">=4.0"'),
        f"{SHOWN}:6: package 're2c': bad version '>=4.0'\n  hint: an exact version such as 1.2.3",
    ),
    (
        "unknown package key",
        PKG + 'sha = "x"\n',
        f"{SHOWN}:8: package: unknown key 'sha'\n"
        "  hint: a package has env, feed, file, name, path, platforms, provides, version",
    ),
    (
        "file on a pypi feed",
        PKG + 'file = "x.whl"\n',
        f"{SHOWN}:8: package 're2c': `file` is not used with a pypi feed\n"
        "  hint: the lock picks the wheel of each platform from the index",
    ),
    (
        "unknown platform",
        'platforms = ["beos-ppc"]\n',
        f"{SHOWN}:1: unknown platform 'beos-ppc'\n  hint: one of linux-aarch64, linux-x86_64, macos-arm64, "
        "macos-x86_64, windows-arm64, windows-x86_64",
    ),
    (
        "package platform outside the enlistment's",
        'platforms = ["linux-x86_64"]\n' + PKG + 'platforms = ["macos-arm64"]\n',
        f"{SHOWN}:9: unknown platform 'macos-arm64'\n  hint: one of linux-x86_64",
    ),
    (
        "bad placeholder in env",
        PKG + 'env = { RE2C = "{prefix}/bin/re2c" }\n',
        f"{SHOWN}:8: package 're2c': env RE2C: unknown placeholder {{prefix}}\n"
        "  hint: use {name}, {root}, {version}",
    ),
    (
        "path escaping the tree",
        PKG + 'path = ["../bin"]\n',
        f"{SHOWN}:8: package 're2c': path: '../bin' must be a relative path inside it",
    ),
    (
        "twice the same version",
        PKG + '\n[[package]]\nname = "RE2C"\nversion = "4.0"\nfeed = "pypi"\n',
        f"{SHOWN}:9: package 'RE2C' 4.0 is listed twice",
    ),
    (
        "two packages export one variable",
        PKG + 'env = { CC = "{root}/x" }\n\n[[package]]\nname = "zig"\n'
        'version = "1"\nfeed = "pypi"\nenv = { CC = "{root}/y" }\n',
        f"{SHOWN}:10: packages 're2c' and 'zig' both export CC\n"
        "  hint: a variable belongs to one package (its highest version wins)",
    ),
    (
        "a variable named like a macro",
        PKG + 'env = { PkgRe2c_4 = "{root}" }\n',
        f"{SHOWN}:4: package 're2c': PkgRe2c_4 is a package macro name",
    ),
    (
        "folder file template escaping the feed",
        '[feeds.f]\nurl = "/srv"\n\n[[package]]\nname = "t"\n'
        'version = "1"\nfeed = "f"\nfile = "/etc/passwd"\n',
        f"{SHOWN}:8: package 't': file: '/etc/passwd' must be a relative path inside it",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BAD], ids=[n for n, _, _ in BAD])
def test_bad_input_names_the_line_and_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert caught.value.render() == expected


def spec(name: str, version: str, **kw: object) -> PackageSpec:
    from enlist.errors import Location

    return PackageSpec(name=name, version=version, feed="pypi", location=Location(SHOWN), **kw)  # type: ignore[arg-type]


def restored(name: str, version: str) -> RestoredPackage:
    return RestoredPackage(name, version, "0" * 64, f"/cache/{name}-{version}")


def test_macros_point_at_the_highest_version_matching_each_prefix() -> None:
    pairs = [(spec("ziglang", v), restored("ziglang", v)) for v in ("0.16.0", "0.17.0", "0.9.1", "1.0rc1")]
    env = environment(pairs)
    macros = dict(env.macros)
    assert macros["PkgZiglang"] == "/cache/ziglang-1.0rc1"
    assert macros["PkgZiglang_0"] == "/cache/ziglang-0.17.0"
    assert macros["PkgZiglang_0_16"] == "/cache/ziglang-0.16.0"
    assert macros["PkgZiglang_0_17_0"] == "/cache/ziglang-0.17.0"
    assert macros["PkgZiglang_0_9_1"] == "/cache/ziglang-0.9.1"
    assert macros["PkgZiglang_1_0rc1"] == "/cache/ziglang-1.0rc1"


def test_exported_variables_and_path_come_from_the_highest_version() -> None:
    old = spec("grpcio-tools", "1.2", env=(("PROTOC", "{root}/old/protoc"),), path=("old",))
    new = spec("grpcio-tools", "1.10", env=(("PROTOC", "{root}/bin/protoc-{version}"),), path=("bin", "."))
    env = environment([(old, restored("grpcio-tools", "1.2")), (new, restored("grpcio-tools", "1.10"))])
    values = dict(env.env)
    assert values["PROTOC"] == "/cache/grpcio-tools-1.10/bin/protoc-1.10"
    assert values["PkgGrpcioTools"] == "/cache/grpcio-tools-1.10"
    assert env.path == (
        "/cache/grpcio-tools-1.10/bin",
        "/cache/grpcio-tools-1.10",
        "/cache/grpcio-tools-1.2/old",
    )
    assert [p.version for p in env.packages] == ["1.10", "1.2"]  # sorted as data: by name, then version text


def test_version_order_is_what_people_expect() -> None:
    versions = ["1.0", "0.17.0", "1.0rc1", "0.9", "1.0.1", "0.17"]
    assert sorted(versions, key=version_key) == ["0.9", "0.17", "0.17.0", "1.0rc1", "1.0", "1.0.1"]


def test_macro_names_are_camel_case() -> None:
    assert [macro_stem(n) for n in ("ziglang", "re2c", "grpcio-tools", "my_tool.x")] == [
        "PkgZiglang",
        "PkgRe2c",
        "PkgGrpcioTools",
        "PkgMyToolX",
    ]


@given(
    st.lists(
        st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True), min_size=1, max_size=6, unique=True
    )
)
def test_the_unversioned_macro_is_always_the_maximum(versions: list[str]) -> None:
    pairs = [(spec("tool", v), restored("tool", v)) for v in versions]
    if len({version_key(v) for v in versions}) < len(versions):
        return  # "1.0" and "1.00" are different pins of equal rank: either may win
    top = max(versions, key=version_key)
    assert dict(environment(pairs).macros)["PkgTool"] == f"/cache/tool-{top}"
