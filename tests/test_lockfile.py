"""buildconf/packages.lock: one canonical text, exact errors, and an honest staleness verdict."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enlist import lockfile, packagesfile
from enlist.errors import ConfigError
from enlist.model.packages import PLATFORMS, Lock, Pin

SHOWN = "buildconf/packages.lock"
HEX = "ab" * 32
AGAIN = "\n  hint: run `enlist lock` to write it again"


def pin(package: str = "re2c", platform: str = "linux-x86_64", **kw: str) -> Pin:
    fields = {"version": "4.0", "feed": "pypi", "url": f"{package}/{package}-4.0.whl", "sha256": HEX, **kw}
    return Pin(package=package, platform=platform, **fields)


def test_serialized_lock_is_sorted_blocks_and_parses_back() -> None:
    lock = Lock((pin("zig"), pin("re2c", "macos-arm64"), pin("re2c")))
    text = lockfile.serialize(lock)
    assert text.startswith(
        "# packages.lock: exact files of buildconf/packages.toml, written by `enlist lock`.\n"
    )
    blocks = text.split("\n\n")
    assert len(blocks) == 4 and blocks[1].startswith(
        '[[pin]]\npackage = "re2c"\nversion = "4.0"\nplatform = "linux'
    )
    assert lockfile.parse(text, SHOWN) == Lock(tuple(sorted(lock.pins)))
    assert lockfile.serialize(lockfile.parse(text, SHOWN)) == text


names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
pins = st.builds(
    Pin,
    package=names,
    version=st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True),
    platform=st.sampled_from([*PLATFORMS, "any"]),
    feed=names,
    url=st.from_regex(r"[a-z0-9]{1,5}(/[a-zA-Z0-9._+-]{1,12}){1,2}", fullmatch=True).filter(
        lambda u: ".." not in u.split("/")
    ),
    sha256=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)


@given(st.lists(pins, max_size=8, unique_by=lambda p: (p.package, p.version, p.platform)))
def test_any_lock_round_trips_through_its_text(generated: list[Pin]) -> None:
    text = lockfile.serialize(Lock(tuple(generated)))
    assert tomllib.loads(text)["lock-version"] == 1  # plain TOML for any other reader
    assert lockfile.parse(text, SHOWN).pins == tuple(sorted(generated))
    assert lockfile.serialize(Lock(tuple(reversed(generated)))) == text  # one text whatever the order


GOOD_BLOCK = lockfile.serialize(Lock((pin(),)))
BAD = [
    (
        "merge conflict",
        GOOD_BLOCK + "<<<<<<< HEAD\n",
        f"{SHOWN}:12: unresolved merge conflict\n"
        "  hint: take either side and then run `enlist lock`, which rewrites the lock",
    ),
    (
        "syntax",
        GOOD_BLOCK + "sha256 = \n",
        f"{SHOWN}:12: Invalid value\n  hint: run `enlist lock` to write it again",
    ),
    (
        "newer format",
        GOOD_BLOCK.replace("lock-version = 1", "lock-version = 2"),
        f"{SHOWN}:3: unsupported lock-version 2 (this enlist reads 1){AGAIN}",
    ),
    (
        "bad digest",
        GOOD_BLOCK.replace(HEX, "XYZ"),
        f"{SHOWN}:5: re2c: sha256 must be 64 lowercase hex digits{AGAIN}",
    ),
    (
        "absolute url",
        GOOD_BLOCK.replace('url = "re2c/', 'url = "https://host/'),
        f"{SHOWN}:5: re2c: url must be a relative path under its feed{AGAIN}",
    ),
    (
        "escaping url",
        GOOD_BLOCK.replace('url = "re2c/', 'url = "../'),
        f"{SHOWN}:5: re2c: url must be a relative path under its feed{AGAIN}",
    ),
    (
        "missing key",
        GOOD_BLOCK.replace('feed = "pypi"\n', ""),
        f"{SHOWN}:5: pin without `feed`\n  hint: run `enlist lock` to write it again",
    ),
    (
        "pinned twice",
        GOOD_BLOCK + GOOD_BLOCK.split("\n\n", 1)[1].replace("[[pin]]", "\n[[pin]]"),
        f"{SHOWN}:13: re2c 4.0 is pinned twice for linux-x86_64\n  hint: run `enlist lock` to write it again",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BAD], ids=[n for n, _, _ in BAD])
def test_a_damaged_lock_is_refused_with_its_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        lockfile.parse(text, SHOWN)
    assert caught.value.render() == expected


TOML = """\
platforms = ["linux-x86_64", "macos-arm64"]
[feeds.pypi]
kind = "pypi"
[feeds.share]
url = "/srv/tools"
[[package]]
name = "re2c"
version = "4.0"
feed = "pypi"
[[package]]
name = "tool"
version = "2"
feed = "share"
file = "tool-{version}-{platform}.tgz"
platforms = ["linux-x86_64"]
"""


def config() -> packagesfile.PackagesConfig:
    return packagesfile.parse(tomllib.loads(TOML), TOML, "buildconf/packages.toml")


def test_a_lock_that_pins_what_is_asked_is_fresh() -> None:
    fresh = Lock(
        (
            pin(),
            pin(platform="macos-arm64"),
            pin("tool", version="2", feed="share", url="tool-2-linux-x86_64.tgz"),
        )
    )
    assert lockfile.stale_reasons(config(), fresh) == []
    any_pin = Lock(
        (pin(platform="any"), pin("tool", version="2", feed="share", url="tool-2-linux-x86_64.tgz"))
    )
    assert lockfile.stale_reasons(config(), any_pin) == []


def test_stale_reasons_say_what_differs() -> None:
    stale = Lock(
        (pin(), pin("tool", version="2", feed="share", url="tool-2-linux.tgz"), pin("gone", version="1"))
    )
    assert lockfile.stale_reasons(config(), stale) == [
        "re2c 4.0 (macos-arm64): not in the lock",
        "tool 2 (linux-x86_64): pinned file tool-2-linux.tgz, packages.toml says tool-2-linux-x86_64.tgz",
        "gone 1 (linux-x86_64): no longer in packages.toml",
    ]
    moved = Lock(
        (
            pin(feed="mirror"),
            pin(platform="macos-arm64"),
            pin("tool", version="2", feed="share", url="tool-2-linux-x86_64.tgz"),
        )
    )
    assert lockfile.stale_reasons(config(), moved) == [
        "re2c 4.0 (linux-x86_64): pinned from feed 'mirror', packages.toml says 'pypi'"
    ]
