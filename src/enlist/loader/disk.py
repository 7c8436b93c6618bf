"""The enlistment on disk as the descriptor walk sees it, recording every probe and read (L2).

Each record says what a path was when it was looked at: a directory, a file with its sha256, or missing. The
records are the key of the parsed-graph cache: if every recorded path is still what it was, the evaluation
would read the very same bytes and give the very same projects. A stat signature (size, mtime, ctime, inode)
lets a warm load skip rehashing; it is trusted only for files older than the load by `RACY_NS`, so a write in
the same clock tick as the read can never be missed (the "racily clean" problem of git and ninja).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from enlist import digest
from enlist.descriptors.tree import MAX_FILE_BYTES, Kind
from enlist.errors import DescriptorError, EnvironmentFault, Location

RACY_NS = 2_000_000_000
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

    def __init__(self, root: Path, started_ns: int) -> None:
        self.root = root
        self.started_ns = started_ns
        self.records: dict[str, FileRecord] = {}

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
        try:
            with open(self.fs_path(path), "rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    self.records[path] = FileRecord(path, kind_of(st))
                    return None
                data = f.read(MAX_FILE_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self.records[path] = FileRecord(path, Kind.MISSING)
            return None
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENAMETOOLONG):
                raise DescriptorError(f"cannot read: {e.strerror}", location=Location(path)) from e
            raise EnvironmentFault(f"cannot read: {e.strerror}", location=Location(path)) from e
        trusted = max(st.st_mtime_ns, st.st_ctime_ns) < self.started_ns - RACY_NS
        self.records[path] = FileRecord(
            path, Kind.FILE, digest.of_bytes(data), signature_of(st) if trusted else None
        )
        return data

    def identity(self, path: str) -> str:
        return os.path.realpath(self.fs_path(path))


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
    try:
        data = fs_path.read_bytes()
    except OSError:
        return None
    if digest.of_bytes(data[: MAX_FILE_BYTES + 1]) != record.digest:
        return None
    trusted = max(st.st_mtime_ns, st.st_ctime_ns) < started_ns - RACY_NS
    return FileRecord(record.path, kind, record.digest, signature_of(st) if trusted else None)
