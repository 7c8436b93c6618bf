"""Safe unpacking of zip archives (wheels) and tar archives into a fresh directory (L2).

A package archive is untrusted input even after its sha256 matched: the lock may pin a hostile file. Refused,
with nothing installed (the caller discards the work directory):
- absolute names (`/x`, `C:x`), `..` components, backslashes or NUL in names;
- symbolic links whose target is absolute or leaves the tree, also by way of other links of the archive
  (`a -> ..` is inside, but `b -> a/..` then leads out), loops of links, and members stored inside a link;
- hard links to anything but an earlier regular file of the archive;
- devices, FIFOs and other special files; encrypted zip members;
- two members whose names differ only in case (they collide on macOS and Windows), and duplicate members;
- more than `Limits.members` members, a member over `Limits.member_bytes`, a total over `Limits.total_bytes`
  (checked against the declared sizes before anything is written, and again while writing).
Files are written read-only (0444), or 0555 when the archive gives them an execute bit; directories become
0555.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from enlist.errors import InputError
from enlist.toolcache.events import Transfer
from enlist.toolcache.tree import Entry

CHUNK = 1 << 20
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
)


@dataclass(frozen=True, slots=True)
class Limits:
    members: int = 200_000
    member_bytes: int = 2 << 30
    total_bytes: int = 6 << 30
    link_bytes: int = 4096


class ArchiveError(InputError):
    """A pinned archive that is corrupt, unsupported or unsafe to unpack."""

    category = "archive"


def extract(
    archive: Path,
    dest: Path,
    *,
    file_name: str,
    limits: Limits | None = None,
    transfer: Transfer | None = None,
) -> tuple[Entry, ...]:
    """Unpack `archive` (`file_name` on its feed) into the empty directory `dest`; return its entries.

    `transfer` hears the unpacked size (zip: declared up front) and the bytes written so far.
    """
    writer = _Writer(dest, file_name, limits or Limits(), transfer or Transfer())
    try:
        if file_name.endswith((".whl", ".zip")) or (
            not file_name.endswith(_TAR_SUFFIXES) and zipfile.is_zipfile(archive)
        ):
            _unzip(archive, writer)
        else:
            _untar(archive, writer)
    except (*_ARCHIVE_ERRORS, RuntimeError, UnicodeDecodeError) as e:
        raise ArchiveError(
            f"{file_name}: corrupt or unsupported archive ({e})",
            hint="the file matched its pinned sha256, so the pin itself names a bad archive",
        ) from e
    return writer.finish()


def _unzip(archive: Path, w: _Writer) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        w.check_declared([(i.filename, i.file_size) for i in infos])
        w.transfer.total(sum(i.file_size for i in infos))
        for info in infos:
            if info.flag_bits & 0x1:
                w.refuse(info.filename, "is encrypted")
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if info.is_dir() or kind == stat.S_IFDIR:
                w.add_dir(info.filename)
            elif kind == stat.S_IFLNK:
                if info.file_size > w.limits.link_bytes:
                    w.refuse(info.filename, "is a symbolic link with an overlong target")
                w.add_link(info.filename, zf.read(info).decode("utf-8"))
            elif kind in (0, stat.S_IFREG):
                with zf.open(info) as stream:
                    w.add_file(info.filename, stream, executable=bool(mode & 0o111))
            else:
                w.refuse(info.filename, "is a device or other special file")


def _untar(archive: Path, w: _Writer) -> None:
    with tarfile.open(archive, "r:*") as tf:
        for member in tf:
            w.check_declared([(member.name, member.size)])
            if member.isdir():
                w.add_dir(member.name)
            elif member.isreg():
                stream = tf.extractfile(member)
                assert stream is not None  # a regular member always has data
                with stream:
                    w.add_file(member.name, stream, executable=bool(member.mode & 0o111))
            elif member.issym():
                w.add_link(member.name, member.linkname)
            elif member.islnk():
                w.add_hardlink(member.name, member.linkname)
            else:
                w.refuse(member.name, "is a device or other special file")


class _Writer:
    """Checks each member and writes it under `dest`, keeping count of names, sizes and links."""

    def __init__(self, dest: Path, file_name: str, limits: Limits, transfer: Transfer) -> None:
        self.dest = dest
        self.file_name = file_name
        self.limits = limits
        self.transfer = transfer
        self.count = 0
        self.total = 0
        self.seen: dict[str, tuple[str, str]] = {}  # casefolded path -> (path, "dir" | "file" | "link")
        self.entries: list[Entry] = []
        self.links: dict[str, str] = {}  # path -> target, to follow chains of links once all are known

    def refuse(self, name: str, why: str) -> None:
        raise ArchiveError(
            f"{self.file_name}: refusing to unpack: member '{name}' {why}",
            hint="nothing was installed; the pinned archive is unsafe, ask its publisher for a fixed one",
        )

    def check_declared(self, sizes: list[tuple[str, int]]) -> None:
        """Refuse a bomb by its declared sizes before writing anything (zip: all members; tar: the next)."""
        if self.count + len(sizes) > self.limits.members:
            self.refuse(sizes[-1][0], f"is past the limit of {self.limits.members} members")
        declared = self.total
        for name, size in sizes:
            declared += size
            if size > self.limits.member_bytes:
                self.refuse(name, f"declares {size} bytes, over the limit of {self.limits.member_bytes}")
            if declared > self.limits.total_bytes:
                self.refuse(
                    name, f"brings the archive over the limit of {self.limits.total_bytes} bytes unpacked"
                )

    def clean(self, name: str) -> str | None:
        if "\x00" in name:
            self.refuse(name, "has a NUL character in its name")
        if "\\" in name:
            self.refuse(name, "has a backslash in its name")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            self.refuse(name, "has an absolute path")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            self.refuse(name, "has a '..' component that escapes the tree")
        return "/".join(parts) or None

    def claim(self, name: str, kind: str) -> str | None:
        path = self.clean(name)
        if path is None:
            return None
        self.count += 1
        parts = path.split("/")
        for i in range(1, len(parts)):
            self._register(name, "/".join(parts[:i]), "dir", parent=True)
        self._register(name, path, kind, parent=False)
        return path

    def _register(self, name: str, path: str, kind: str, *, parent: bool) -> None:
        previous = self.seen.get(path.casefold())
        if previous is None:
            self.seen[path.casefold()] = (path, kind)
            return
        old_path, old_kind = previous
        if old_path != path:
            self.refuse(name, f"differs only in case from '{old_path}'")
        if old_kind == kind == "dir":
            return
        if parent and old_kind == "link":
            self.refuse(name, f"is stored inside the symbolic link '{old_path}'")
        self.refuse(name, "appears twice" if old_kind == kind else f"clashes with a {old_kind} of that name")

    def add_dir(self, name: str) -> None:
        path = self.claim(name, "dir")
        if path is not None:
            (self.dest / path).mkdir(parents=True, exist_ok=True)

    def add_file(self, name: str, stream: IO[bytes], *, executable: bool) -> None:
        path = self.claim(name, "file")
        if path is None:
            self.refuse(name, "has no file name")
            return
        target = self.dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        with target.open("xb") as out:
            for chunk in _chunks(stream):
                size += len(chunk)
                self.total += len(chunk)
                if size > self.limits.member_bytes:
                    self.refuse(name, f"is larger than the limit of {self.limits.member_bytes} bytes")
                if self.total > self.limits.total_bytes:
                    self.refuse(name, f"brings the archive over the limit of {self.limits.total_bytes} bytes")
                h.update(chunk)
                out.write(chunk)
                self.transfer.progress(self.total)
        os.chmod(target, 0o555 if executable else 0o444)
        self.entries.append(Entry(path, "exec" if executable else "file", h.hexdigest()))

    def add_link(self, name: str, target: str) -> None:
        if not target or "\x00" in target or "\\" in target or len(target) > self.limits.link_bytes:
            self.refuse(name, "is a symbolic link with a bad target")
        path = self.claim(name, "link")
        if path is None:
            self.refuse(name, "is a symbolic link without a name")
            return
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if (
            target.startswith("/")
            or re.match(r"^[A-Za-z]:", target)
            or resolved == ".."
            or resolved.startswith("../")
        ):
            self.refuse(name, f"is a symbolic link to '{target}', outside the tree")
        (self.dest / path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, self.dest / path)
        self.entries.append(Entry(path, "link", target))
        self.links[path] = target

    def add_hardlink(self, name: str, target: str) -> None:
        source = "/".join(p for p in target.split("/") if p not in ("", "."))
        known = self.seen.get(source.casefold())
        if target.startswith("/") or known != (source, "file"):
            self.refuse(name, f"is a hard link to '{target}', which is not an earlier file of the archive")
            return
        original = next(e for e in self.entries if e.path == source)
        with (self.dest / source).open("rb") as stream:
            self.add_file(name, stream, executable=original.kind == "exec")

    def follow(self, link: str) -> str | None:
        """Resolve `link` through the archive's links as the kernel would; why it is unsafe, or None."""
        stack = link.split("/")[:-1]
        pending = self.links[link].split("/")
        hops = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    return f"is a symbolic link to '{self.links[link]}', which leads outside the tree through links"
                stack.pop()
                continue
            stack.append(part)
            target = self.links.get("/".join(stack))
            if target is not None:
                hops += 1
                if hops > 40:
                    return f"is a symbolic link to '{self.links[link]}', in a loop of symbolic links"
                stack.pop()
                pending = target.split("/") + pending
        return None

    def finish(self) -> tuple[Entry, ...]:
        for link in sorted(self.links):  # now that every link is known: a chain may use a later one
            why = self.follow(link)
            if why is not None:
                self.refuse(link, why)
        dirs = sorted(path for path, kind in self.seen.values() if kind == "dir")
        for path in sorted(dirs, key=lambda p: -p.count("/")):
            os.chmod(self.dest / path, 0o555)
        return tuple(sorted([*self.entries, *(Entry(d, "dir") for d in dirs)]))


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk
