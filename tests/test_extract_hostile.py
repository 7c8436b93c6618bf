"""Hostile archives beyond test_extract.py: links that escape through other links, link loops, hard links that
point anywhere but an earlier file, tar members with absolute names, case clashes, duplicates and too many
members in tarballs, special files in zips, and the same refusals seen through `enlist restore`."""

from __future__ import annotations

import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from enlist.toolcache.extract import ArchiveError, Limits, extract
from toolcache_support import TOOL, Enlistment, TarMember, make_tar, make_zip, packages_toml

DIR, LINK, HARD = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE

HOSTILE_TARS = [
    (
        "a link that leads out through another link",
        [TarMember("d", type=DIR), TarMember("d/up", type=LINK, link=".."), TarMember("d/x", type=LINK, link="up/..")],
        "member 'd/x' is a symbolic link to 'up/..', which leads outside the tree through links",
    ),
    (
        "the escape through a link stored later in the archive",
        [TarMember("d", type=DIR), TarMember("d/a", type=LINK, link="b/../.."), TarMember("d/b", type=LINK, link="..")],
        "member 'd/a' is a symbolic link to 'b/../..', which leads outside the tree through links",
    ),
    (
        "a chain of links climbing one level each",
        [
            TarMember("p/q/r", type=DIR),
            TarMember("p/q/r/up1", type=LINK, link=".."),
            TarMember("p/q/r/up2", type=LINK, link="up1/.."),
            TarMember("p/q/r/up3", type=LINK, link="up2/.."),
            TarMember("p/q/r/out", type=LINK, link="up3/../etc"),
        ],
        "member 'p/q/r/out' is a symbolic link to 'up3/../etc', which leads outside the tree through links",
    ),
    (
        "a loop of links",
        [TarMember("a", type=LINK, link="b"), TarMember("b", type=LINK, link="a")],
        "member 'a' is a symbolic link to 'b', in a loop of symbolic links",
    ),
    ("an absolute member name", [TarMember("/etc/evil", b"x")], "member '/etc/evil' has an absolute path"),
    (
        "a hard link climbing out",
        [TarMember("x", b"x"), TarMember("y", type=HARD, link="../x")],
        "member 'y' is a hard link to '../x', which is not an earlier file of the archive",
    ),
    (
        "a hard link to a symbolic link",
        [TarMember("s", type=LINK, link="/etc/passwd".lstrip("/")), TarMember("h", type=HARD, link="s")],
        "member 'h' is a hard link to 's', which is not an earlier file of the archive",
    ),
    (
        "a hard link to a later member",
        [TarMember("h", type=HARD, link="x"), TarMember("x", b"x")],
        "member 'h' is a hard link to 'x', which is not an earlier file of the archive",
    ),
    (
        "a hard link to a directory",
        [TarMember("d", type=DIR), TarMember("h", type=HARD, link="d")],
        "member 'h' is a hard link to 'd', which is not an earlier file of the archive",
    ),
    (
        "a file stored through a directory link",
        [TarMember("lib", type=LINK, link="."), TarMember("lib/lib/x", b"x")],
        "member 'lib/lib/x' is stored inside the symbolic link 'lib'",
    ),
    (
        "names that differ only in case",
        [TarMember("bin/Tool", b"1"), TarMember("bin/tool", b"2")],
        "member 'bin/tool' differs only in case from 'bin/Tool'",
    ),
    (
        "a member stored twice",
        [TarMember("bin/tool", b"good"), TarMember("bin/tool", b"evil")],
        "member 'bin/tool' appears twice",
    ),
    (
        "a link replacing a file",
        [TarMember("bin/tool", b"good"), TarMember("bin/tool", type=LINK, link="../x")],
        "member 'bin/tool' clashes with a file of that name",
    ),
]


def unpack(archive: Path, tmp_path: Path, limits: Limits | None = None) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    extract(archive, dest, file_name=archive.name, limits=limits)


@pytest.mark.parametrize(("members", "message"), [h[1:] for h in HOSTILE_TARS], ids=[h[0] for h in HOSTILE_TARS])
def test_hostile_tarball_is_refused(tmp_path: Path, members: list[TarMember], message: str) -> None:
    archive = tmp_path / "evil-1.0.tar.gz"
    make_tar(archive, members)
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, tmp_path)
    assert caught.value.message == f"evil-1.0.tar.gz: refusing to unpack: {message}"
    assert caught.value.hint is not None and caught.value.hint.startswith("nothing was installed")


def test_links_that_stay_inside_through_other_links_are_kept(tmp_path: Path) -> None:
    archive = tmp_path / "ok-1.0.tar.gz"
    make_tar(
        archive,
        [
            TarMember("lib/libx.so.1.2", b"\x7fELF"),
            TarMember("lib/libx.so.1", type=LINK, link="libx.so.1.2"),
            TarMember("lib/libx.so", type=LINK, link="libx.so.1"),
            TarMember("lib64", type=LINK, link="lib"),
            TarMember("bin/x", type=LINK, link="../lib64/../lib/libx.so"),
            TarMember("share/doc/up", type=LINK, link="../.."),
        ],
    )
    unpack(archive, tmp_path)
    assert (tmp_path / "out/bin/x").read_bytes() == b"\x7fELF"


def test_a_zip_with_a_device_file_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("dev/tty")
        info.create_system = 3
        info.external_attr = (stat.S_IFCHR | 0o666) << 16
        zf.writestr(info, b"")
    with pytest.raises(ArchiveError, match="member 'dev/tty' is a device or other special file"):
        unpack(archive, tmp_path)


def test_a_zip_link_chain_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil-1.0-py3-none-any.whl"
    make_zip(archive, {"pkg/a.txt": b"a"}, links={"pkg/up": "..", "pkg/out": "up/../../etc"})
    with pytest.raises(ArchiveError, match=r"member 'pkg/out' is a symbolic link to 'up/\.\./\.\./etc', which leads"):
        unpack(archive, tmp_path)


def test_a_tarball_over_the_member_limit_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "many-1.0.tar.gz"
    make_tar(archive, [TarMember(f"f{i}", b"x") for i in range(12)])
    with pytest.raises(ArchiveError, match="member 'f10' is past the limit of 10 members"):
        unpack(archive, tmp_path, Limits(members=10))


def test_a_link_target_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "long-1.0-py3-none-any.whl"
    make_zip(archive, {}, links={"x": "a/" * 3000})
    with pytest.raises(ArchiveError, match="member 'x' is a symbolic link with an overlong target"):
        unpack(archive, tmp_path)


RESTORED = [
    ("a link out through links", HOSTILE_TARS[0][1], HOSTILE_TARS[0][2]),
    ("a hard link out", HOSTILE_TARS[5][1], HOSTILE_TARS[5][2]),
    ("a device", [TarMember("dev/null", type=tarfile.CHRTYPE)], "member 'dev/null' is a device or other special file"),
    (
        "a case clash",
        [TarMember("share/README", b"1"), TarMember("share/readme", b"2")],
        "member 'share/readme' differs only in case from 'share/README'",
    ),
]


@pytest.mark.parametrize(("members", "message"), [r[1:] for r in RESTORED], ids=[r[0] for r in RESTORED])
def test_restore_refuses_a_hostile_package_and_installs_nothing(
    enlistment: Enlistment, feed: Path, tmp_path: Path, members: list[TarMember], message: str
) -> None:
    make_tar(feed / TOOL, [TarMember("bin/tool", b"#!/bin/sh\n", mode=0o755), *members])
    enlistment.write(packages_toml("../feed").replace('"linux-x86_64", "macos-arm64"', '"linux-x86_64"'))
    assert enlistment.run("lock").code == 0
    result = enlistment.run("restore")
    assert result.code == 2, result.text
    assert f"error: tool-1.0-linux-x86_64.tar.gz: refusing to unpack: {message}\n" in result.err
    assert "hint: nothing was installed" in result.err
    assert enlistment.trees() == []
    assert list((enlistment.cache / "toolcache" / "tmp").glob("*.tree-*")) == []  # the work directory is gone
    assert enlistment.run("restore").code == 2  # and nothing of it is trusted the next time
