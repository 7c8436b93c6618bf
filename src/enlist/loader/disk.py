"""The enlistment on disk as the descriptor walk sees it, recording every probe and read (L2).

Each record says what a path was when it was looked at: a directory, a file with its sha256, or missing. The
records are the key of the parsed-graph cache: if every recorded path is still what it was, the evaluation
would read the very same bytes and give the very same projects. A stat signature (size, mtime, ctime, inode)
lets a warm load skip rehashing; it is trusted only for files older than the load by `RACY_NS`, so a write in
the same clock tick as the read can never be missed (the "racily clean" problem of git and ninja).

Reading is defensive, because descriptors come from whoever wrote the change: a file is opened without
blocking (a FIFO must not hang the load), refused by its size before it is read (`limits.MAX_FILE_BYTES`)
and when it is not a regular file, and refused (`tree.Escape`) when its real path, that of the file actually
opened, symbolic links resolved, lies outside the enlistment and every package tree.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from enlist import digest
from enlist.descriptors.tree import MAX_FILE_BYTES, Escape, Kind
from enlist.errors import DescriptorError, EnlistError, EnvironmentFault, Location

RACY_NS = 2_000_000_000
OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
PROC_FD = Path("/proc/self/fd")  # where Linux names the file an open descriptor refers to
Signature = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What one path was: `kind`, and for a file read, its sha256 (and a stat signature when trustworthy)."""

    path: str  # enlistment-relative POSIX, or absolute inside a package tree
    kind: Kind
    digest: str | None = None
    signature: Signature | None = None


def signature_of(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def kind_of(st: os.stat_result) -> Kind:
    if stat.S_ISDIR(st.st_mode):
        return Kind.DIR
    return Kind.FILE if stat.S_ISREG(st.st_mode) else Kind.OTHER


class DiskTree:
    """`descriptors.dirs.Tree` over the real file system, rooted at the enlistment."""

    def __init__(self, root: Path, started_ns: int, package_roots: Sequence[str] = ()) -> None:
        self.root = root
        self.started_ns = started_ns
        self.records: dict[str, FileRecord] = {}
        self.allowed = tuple(os.path.realpath(p) for p in (root.as_posix(), *package_roots))
        self.proc_fd = PROC_FD.is_dir()

    def fs_path(self, path: str) -> Path:
        return Path(path) if path.startswith("/") else self.root / path

    def kind(self, path: str) -> Kind:
        known = self.records.get(path)
        if known is not None:
            return known.kind
        try:
            kind = kind_of(os.stat(self.fs_path(path)))
        except (FileNotFoundError, NotADirectoryError):
            kind = Kind.MISSING
        except OSError:  # a link loop, a name too long: not something a walk can enter
            kind = Kind.OTHER
        self.records[path] = FileRecord(path, kind)
        return kind

    def read(self, path: str) -> bytes | None:
        known = self.records.get(path)
        if known is not None and known.kind is not Kind.FILE:
            return None
        fs_path = self.fs_path(path)
        try:
            if known is None:  # not walked: make sure it is a regular file before opening it
                _check_readable(path, os.stat(fs_path))
            fd = os.open(fs_path, OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            self.records[path] = FileRecord(path, Kind.MISSING)
            return None
        except OSError as e:
            raise _unreadable(path, e) from e
        try:
            st = os.fstat(fd)
            _check_readable(path, st)  # again: it may have been replaced since
            self._check_inside(path, fd)
            data = read_at_most(fd, MAX_FILE_BYTES + 1)
        except OSError as e:
            raise _unreadable(path, e) from e
        finally:
            os.close(fd)
        trusted = max(st.st_mtime_ns, st.st_ctime_ns) < self.started_ns - RACY_NS
        self.records[path] = FileRecord(
            path, Kind.FILE, digest.of_bytes(data), signature_of(st) if trusted else None
        )
        return data

    def _check_inside(self, path: str, fd: int) -> None:
        """Raise `Escape` if the file open as `fd` is outside the enlistment and the package trees."""
        if self.proc_fd:
            real = os.readlink(PROC_FD / str(fd))
        else:  # pragma: no cover - other systems resolve the name (a race with a rename is theirs to win)
            real = os.path.realpath(self.fs_path(path))
        if not any(real == a or real.startswith(a.rstrip("/") + "/") for a in self.allowed):
            raise Escape(path, real)

    def identity(self, path: str) -> str:
        return os.path.realpath(self.fs_path(path))


def _check_readable(path: str, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise DescriptorError("is a directory, not a descriptor", location=Location(path))
    if not stat.S_ISREG(st.st_mode):
        raise DescriptorError(
            "is not a regular file (a device, a pipe or a socket)",
            location=Location(path),
            hint="descriptors and the files they include are ordinary text files",
        )
    if st.st_size > MAX_FILE_BYTES:
        raise DescriptorError(
            f"file is too large (over {MAX_FILE_BYTES} bytes)",
            location=Location(path),
            hint="descriptors are small text files; is this the right file?",
        )


def _unreadable(path: str, e: OSError) -> EnlistError:
    if e.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
        return DescriptorError("is not a regular file (a device, a pipe or a socket)", location=Location(path))
    if e.errno in (errno.ELOOP, errno.ENAMETOOLONG):
        return DescriptorError(f"cannot read: {e.strerror}", location=Location(path))
    return EnvironmentFault(f"cannot read: {e.strerror}", location=Location(path))


def read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def still_current(root: Path, record: FileRecord, started_ns: int) -> FileRecord | None:
    """The record (refreshed) if `record.path` is unchanged, else None; rehashes only on a new signature."""
    fs_path = Path(record.path) if record.path.startswith("/") else root / record.path
    try:
        st = os.stat(fs_path)
    except (FileNotFoundError, NotADirectoryError):
        return record if record.kind is Kind.MISSING else None
    except OSError:
        return record if record.kind is Kind.OTHER else None
    kind = kind_of(st)
    if kind is not record.kind:
        return None
    if kind is not Kind.FILE or record.digest is None:
        return record
    if record.signature is not None and record.signature == signature_of(st):
        return record
    if st.st_size > MAX_FILE_BYTES:  # a file read had at most that many bytes: changed, and not worth reading
        return None
    try:
        fd = os.open(fs_path, OPEN_FLAGS)
        try:
            data = read_at_most(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError:
        return None
    if digest.of_bytes(data) != record.digest:
        return None
    trusted = max(st.st_mtime_ns, st.st_ctime_ns) < started_ns - RACY_NS
    return FileRecord(record.path, kind, record.digest, signature_of(st) if trusted else None)
