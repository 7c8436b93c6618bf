"""Deterministic archives (L2): the same members give the same bytes, whoever writes them, wherever, whenever.

A package archive is a gzip-compressed POSIX (pax) tar:
- members sorted by name, each parent directory listed once before its children;
- owner uid and gid 0, empty user and group names; one mtime for every member (the commit time of the build,
  as SOURCE_DATE_EPOCH is);
- modes normalised: 0755 for directories and executable files, 0644 for other files; regular files and
  directories only (no links, devices or extended attributes), so the umask and the file system that the
  files came from leave no trace;
- a gzip header with no file name and mtime 0, compression level 6.

The tar stream depends only on the members. The compressed bytes also depend on the zlib Python is linked with
(the same zlib gives the same bytes; zlib-ng compresses differently): that is why package metadata records the
sha256 of every member, the comparison that holds on any machine.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from enlist import digest

LEVEL = 6  # zlib's default: level 9 takes three times as long for half a percent less


@dataclass(frozen=True, slots=True)
class Member:
    """One file of an archive: its bytes (`data`) or the file to read them from (`source`)."""

    name: str  # POSIX, relative, no `..`
    data: bytes | None = None
    source: Path | None = None
    executable: bool = False


def write(path: Path, members: Sequence[Member], *, mtime: int, compress: bool = True) -> str:
    """Write the archive of `members` to `path` (temp + rename: readers never see half of it); its sha256.
    `compress=False` writes a plain tar (for members that are compressed archives already)."""
    _check_names(members)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            if compress:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=LEVEL, mtime=0) as gz:
                    _write_tar(gz, members, mtime)
            else:
                _write_tar(raw, members, mtime)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest.of_file(path)


def _write_tar(stream: IO[bytes] | gzip.GzipFile, members: Sequence[Member], mtime: int) -> None:
    by_name = {m.name: m for m in members}
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in _with_directories(by_name):
            member = by_name.get(name)
            info = tarfile.TarInfo(name)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if member is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
                continue
            info.mode = 0o755 if member.executable else 0o644
            if member.data is not None:
                info.size = len(member.data)
                tar.addfile(info, io.BytesIO(member.data))
            else:
                assert member.source is not None
                with member.source.open("rb") as f:
                    info.size = os.fstat(f.fileno()).st_size
                    tar.addfile(info, f)


def _with_directories(names: Iterable[str]) -> list[str]:
    """Every name and every parent directory of one, sorted (a directory sorts before what it holds)."""
    everything = set(names)
    for name in list(everything):
        parent = posixpath.dirname(name)
        while parent:
            everything.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(everything, key=lambda n: n.split("/"))


def _check_names(members: Sequence[Member]) -> None:
    seen: set[str] = set()
    for m in members:
        parts = m.name.split("/")
        if not m.name or m.name.startswith("/") or "\\" in m.name or ".." in parts or "" in parts or "." in parts:
            raise ValueError(f"not a relative member name: {m.name!r}")
        if m.name in seen:
            raise ValueError(f"member {m.name!r} listed twice")
        if (m.data is None) == (m.source is None):
            raise ValueError(f"member {m.name!r} needs exactly one of data and source")
        seen.add(m.name)
    for name in seen:
        parent = posixpath.dirname(name)
        while parent:
            if parent in seen:
                raise ValueError(f"member {name!r} is inside the file {parent!r}")
            parent = posixpath.dirname(parent)


def read_member(path: Path, name: str) -> bytes | None:
    """The bytes of one member of an archive, or None when it has no such file."""
    with tarfile.open(path, "r:*") as tar:
        try:
            info = tar.getmember(name)
        except KeyError:
            return None
        stream = tar.extractfile(info)
        return None if stream is None else stream.read()
