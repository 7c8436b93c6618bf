"""Unpacking real zip and tar archives: exec bits and links kept, hostile archives refused before harm."""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from enlist.toolcache import tree
from enlist.toolcache.extract import ArchiveError, Limits, extract
from toolcache_support import TarMember, make_tar, make_zip


def unpack(
    archive: Path, tmp_path: Path, limits: Limits | None = None
) -> tuple[Path, tuple[tree.Entry, ...]]:
    dest = tmp_path / "out"
    dest.mkdir()
    return dest, extract(archive, dest, file_name=archive.name, limits=limits)


def test_a_wheel_unpacks_read_only_with_its_exec_bits(tmp_path: Path) -> None:
    wheel = tmp_path / "tool-1.0-py3-none-any.whl"
    make_zip(
        wheel,
        {"tool/bin/tool": b"#!/bin/sh\necho hi\n", "tool/data.txt": b"data"},
        modes={"tool/bin/tool": 0o755},
        links={"tool/current": "data.txt"},
    )
    dest, entries = unpack(wheel, tmp_path)
    assert stat.S_IMODE((dest / "tool/bin/tool").stat().st_mode) == 0o555
    assert stat.S_IMODE((dest / "tool/data.txt").stat().st_mode) == 0o444
    assert stat.S_IMODE((dest / "tool/bin").stat().st_mode) == 0o555
    assert os.readlink(dest / "tool/current") == "data.txt"
    assert [(e.path, e.kind) for e in entries] == [
        ("tool", "dir"),
        ("tool/bin", "dir"),
        ("tool/bin/tool", "exec"),
        ("tool/current", "link"),
        ("tool/data.txt", "file"),
    ]
    assert tree.scan(dest) == entries  # the manifest describes exactly what is on disk


def test_a_tarball_unpacks_with_links_and_hard_links(tmp_path: Path) -> None:
    archive = tmp_path / "tool.tar.xz"
    make_tar(
        archive,
        [
            TarMember("./", type=tarfile.DIRTYPE, mode=0o755),
            TarMember("./bin/tool", b"#!/bin/sh\n", mode=0o755),
            TarMember("./bin/alias", type=tarfile.LNKTYPE, link="./bin/tool"),
            TarMember("./lib/libx.so.1", b"\x7fELF"),
            TarMember("./lib/libx.so", type=tarfile.SYMTYPE, link="libx.so.1"),
        ],
        compression="xz",
    )
    dest, entries = unpack(archive, tmp_path)
    assert (dest / "bin/alias").read_bytes() == b"#!/bin/sh\n" and os.access(dest / "bin/alias", os.X_OK)
    assert (dest / "lib/libx.so").resolve() == (dest / "lib/libx.so.1").resolve()
    assert tree.scan(dest) == entries


HOSTILE_ZIPS = [
    ("zip-slip", {"../evil": b"x"}, {}, "member '../evil' has a '..' component that escapes the tree"),
    ("absolute path", {"/etc/evil": b"x"}, {}, "member '/etc/evil' has an absolute path"),
    ("drive letter", {"C:/evil": b"x"}, {}, "member 'C:/evil' has an absolute path"),
    ("backslash", {"a\\..\\..\\evil": b"x"}, {}, "member 'a\\..\\..\\evil' has a backslash in its name"),
    (
        "escaping symlink",
        {},
        {"lib/up": "../../etc"},
        "member 'lib/up' is a symbolic link to '../../etc', outside",
    ),
    (
        "absolute symlink",
        {},
        {"passwd": "/etc/passwd"},
        "member 'passwd' is a symbolic link to '/etc/passwd'",
    ),
    ("write through a symlink", {"sub/x": b"x"}, {"sub": "."}, "clashes with a dir of that name"),
    (
        "names differing only in case",
        {"lib/Makefile": b"1", "lib/makefile": b"2"},
        {},
        "member 'lib/makefile' differs only in case from 'lib/Makefile'",
    ),
    (
        "directories differing only in case",
        {"Include/a.h": b"1", "include/b.h": b"2"},
        {},
        "member 'include/b.h' differs only in case from 'Include'",
    ),
]


@pytest.mark.parametrize(
    ("files", "links", "message"), [h[1:] for h in HOSTILE_ZIPS], ids=[h[0] for h in HOSTILE_ZIPS]
)
def test_hostile_zip_is_refused(
    tmp_path: Path, files: dict[str, bytes], links: dict[str, str], message: str
) -> None:
    archive = tmp_path / "evil-1.0-py3-none-any.whl"
    make_zip(archive, files, links=links)
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, tmp_path)
    assert message in caught.value.message
    assert caught.value.message.startswith("evil-1.0-py3-none-any.whl: refusing to unpack: ")
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


def test_member_stored_under_a_symlink_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "t.tar.gz"
    make_tar(archive, [TarMember("lib", type=tarfile.SYMTYPE, link="real"), TarMember("lib/x", b"x")])
    with pytest.raises(ArchiveError, match="member 'lib/x' is stored inside the symbolic link 'lib'"):
        unpack(archive, tmp_path)


@pytest.mark.parametrize(
    ("kind", "label"),
    [(tarfile.CHRTYPE, "character device"), (tarfile.BLKTYPE, "block"), (tarfile.FIFOTYPE, "fifo")],
)
def test_device_files_and_fifos_are_refused(tmp_path: Path, kind: bytes, label: str) -> None:
    archive = tmp_path / "t.tar"
    make_tar(archive, [TarMember("dev/null", type=kind)], compression="")
    with pytest.raises(ArchiveError, match="member 'dev/null' is a device or other special file"):
        unpack(archive, tmp_path)
    del label


def test_hard_link_to_outside_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "t.tgz"
    make_tar(archive, [TarMember("x", type=tarfile.LNKTYPE, link="/etc/passwd")])
    with pytest.raises(ArchiveError, match="member 'x' is a hard link to '/etc/passwd'"):
        unpack(archive, tmp_path)


def test_zip_bomb_is_refused_by_its_declared_size_before_anything_is_written(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", b"small")
        zf.writestr("zeros", b"\0" * (8 << 20))  # 8 MB of zeros: 8 kB compressed
    with pytest.raises(
        ArchiveError, match=r"member 'zeros' declares 8388608 bytes, over the limit of 1048576"
    ):
        unpack(archive, tmp_path, Limits(member_bytes=1 << 20))
    assert list((tmp_path / "out").iterdir()) == []


def test_limits_on_total_size_and_member_count(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    make_zip(archive, {f"f{i}": b"x" * 100 for i in range(20)})
    with pytest.raises(
        ArchiveError, match="member 'f10' brings the archive over the limit of 1000 bytes unpacked"
    ):
        unpack(archive, tmp_path, Limits(total_bytes=1000))
    with pytest.raises(ArchiveError, match="member 'f19' is past the limit of 10 members"):
        (tmp_path / "again").mkdir()
        unpack(archive, tmp_path / "again", Limits(members=10))


def test_a_tar_member_that_lies_about_nothing_but_is_too_big_stops_midway(tmp_path: Path) -> None:
    archive = tmp_path / "big.tar.gz"
    make_tar(archive, [TarMember("a", b"x" * 600), TarMember("b", b"y" * 600)])
    with pytest.raises(ArchiveError, match="member 'b' brings the archive over the limit of 1000 bytes"):
        unpack(archive, tmp_path, Limits(total_bytes=1000))


def test_a_corrupt_archive_is_an_error_not_a_crash(tmp_path: Path) -> None:
    archive = tmp_path / "broken.whl"
    make_zip(archive, {"a": b"some data " * 100})
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("a")
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len("a")  # the compressed bytes follow the local header
    data[start : start + info.compress_size] = b"\xff" * info.compress_size
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"broken\.whl: corrupt or unsupported archive"):
        unpack(archive, tmp_path)
