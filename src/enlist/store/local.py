"""The local action cache and CAS in the machine cache directory (L2): `enlist.engine.ports.Store` on disk.

Where: `$ENLIST_CACHE`, else `$XDG_CACHE_HOME/enlist`, else `~/.cache/enlist` (`cache_dir()`). Layout:

    <cache>/cas/sha256/9f/9f2c...e1     blobs (outputs, command logs), named by their sha256
    <cache>/ac/sha256/3b/3b07...aa      action-cache entries (`enlist.engine.traces`), named by their key
    <cache>/tmp/                        temporary files, renamed into place (same file system)

Every file appears whole, by rename of a complete temporary file or by a hard link, so several builds (and
machines sharing nothing but this directory) may read and write at once: a reader sees a whole entry or none.
Writing an existing blob is a no-op.

Nothing read back is trusted without a check. A blob is named by its sha256, so its name verifies it. An
action-cache entry is named by the action's key, not by its content, so it carries its own digest: the file is
the sha256 of the entry (64 lowercase hex digits), a newline, then the entry's bytes
(`enlist.engine.traces`):

    3f5c...09\n{"kind":"outputs","log":null,"outputs":[...],"seconds":0.41,"v":1}

An entry whose bytes do not match its digest (damaged on disk, truncated, or written by an older enlist) is
deleted when read and counts as a miss. `enlist cache verify` checks both areas (`enlist.store.verify`).

An entry's modification time says when it was last used: it is set by the write, and a read that finds the
entry whole moves it to now when it is over a day old (so most hits write nothing). `enlist cache gc`
(`enlist.store.maintenance`) deletes the entries unused for its `--days`, then the blobs no remaining entry
names. A blob may vanish between the read of an entry and the restore of its outputs: that restore is a miss.

An output is stored by hard-linking it into the CAS when both are on one file system (creating a file costs
far more than a link on some machines; the engine deletes outputs before their action runs again, so a
command never writes through the link). A restore always copies and verifies the digest of what it copied:
a blob changed in place through its other name, or damaged on disk, reads as a miss and is deleted. A remote
cache implementing the same Protocol must likewise verify every blob it fetches.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from enlist.digest import CHUNK, is_hex_digest, of_bytes
from enlist.errors import EnvironmentFault

USED_RESOLUTION = 86400.0  # an entry's mtime says when it was last used to within this many seconds


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("ENLIST_CACHE"):
        return Path(env["ENLIST_CACHE"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "enlist"
    return Path.home() / ".cache" / "enlist"


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._dirs: set[Path] = set()  # directories known to exist: one mkdir per directory per build

    def _path(self, area: str, name: str) -> Path:
        if not is_hex_digest(name):
            raise ValueError(f"not a sha256 digest: {name!r}")
        return self.root / area / "sha256" / name[:2] / name

    # -- action cache --------------------------------------------------------------------------------------

    def get_entry(self, key: str) -> bytes | None:
        path = self._path("ac", key)
        try:
            with open(path, "rb") as f:
                used = os.fstat(f.fileno()).st_mtime
                data = f.read()
        except OSError:
            return None
        entry = unframe(data)
        if entry is None:
            _discard(str(path))  # damaged: never used, and gone for the next reader
        elif time.time() - used > USED_RESOLUTION:
            with contextlib.suppress(OSError):  # a read-only cache still serves hits
                os.utime(path)  # used now: `enlist cache gc` keeps it and the blobs it names
        return entry

    def put_entry(self, key: str, data: bytes) -> None:
        self._install(self._path("ac", key), data=frame(data), replace=True)

    # -- CAS -----------------------------------------------------------------------------------------------

    def has(self, digest: str) -> bool:
        return self._path("cas", digest).is_file()

    def put_file(self, path: str, digest: str) -> None:
        target = self._path("cas", digest)
        if target.exists():
            return
        try:
            self._mkdir(target.parent)
            os.link(path, target)
            return
        except FileExistsError:
            return
        except OSError:
            pass  # another file system, or links not allowed: copy
        self._install(target, source=Path(path), replace=False)

    def put_bytes(self, data: bytes) -> str:
        digest = of_bytes(data)
        target = self._path("cas", digest)
        if not target.exists():
            self._install(target, data=data, replace=False)
        return digest

    def get_bytes(self, digest: str) -> bytes | None:
        blob = self._path("cas", digest)
        data = _read(blob)
        if data is not None and of_bytes(data) != digest:
            _discard(str(blob))
            return None
        return data

    def fetch_file(self, digest: str, path: str, executable: bool) -> bool:
        blob = self._path("cas", digest)
        dest = Path(path)
        try:
            source = open(blob, "rb")  # noqa: SIM115  # closed below, after the copy
        except OSError:
            return False
        try:
            self._mkdir(dest.parent)
            tmp = temp_name(dest)
            if not _copy_verified(source, tmp, digest, 0o755 if executable else 0o644):
                _discard(str(blob))  # changed in place or damaged: never used again
                return False
            os.replace(tmp, dest)
        except OSError as e:
            raise EnvironmentFault(f"cannot write {dest}: {e.strerror}") from e
        finally:
            source.close()
        return True

    def _mkdir(self, directory: Path) -> None:
        if directory not in self._dirs:
            directory.mkdir(parents=True, exist_ok=True)
            self._dirs.add(directory)

    def _install(
        self, target: Path, *, data: bytes | None = None, source: Path | None = None, replace: bool
    ) -> None:
        try:
            self._mkdir(self._tmp)
            self._mkdir(target.parent)
        except OSError as e:
            raise _unwritable(self.root, e) from e
        tmp = temp_name(self._tmp / target.name)
        try:
            write_new(tmp, 0o444, data=data, source=source)
            if replace or not target.exists():
                os.replace(tmp, target)
            else:
                _discard(tmp)
        except OSError as e:
            _discard(tmp)
            raise _unwritable(self.root, e) from e


def frame(entry: bytes) -> bytes:
    """An action-cache entry as stored: its sha256, a newline, its bytes."""
    return of_bytes(entry).encode("ascii") + b"\n" + entry


def unframe(data: bytes) -> bytes | None:
    """The entry stored in `data`, or None when its bytes do not match the digest it carries."""
    header, newline, entry = data[:64], data[64:65], data[65:]
    if newline != b"\n" or header.decode("ascii", "replace") != of_bytes(entry):
        return None
    return entry


def remove_stale_temporaries(root: Path, *, older_than: float, now: float, dry_run: bool = False) -> int:
    """Delete what killed builds left in `<root>/tmp/` (files last written more than `older_than` seconds
    before `now`: younger ones may belong to a running build); returns how many."""
    removed = 0
    try:
        names = os.listdir(root / "tmp")
    except OSError:
        return 0
    for name in names:
        path = root / "tmp" / name
        with contextlib.suppress(OSError):
            if now - path.lstat().st_mtime > older_than and path.is_file():
                if not dry_run:
                    path.unlink()
                removed += 1
    return removed


def temp_name(path: Path) -> str:
    """A name next to `path` (same directory, so it can be renamed onto it) that no other thread uses."""
    return f"{path.parent}/.{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"


def write_new(path: str, mode: int, *, data: bytes | None = None, source: Path | str | None = None) -> None:
    """Write `path` with exactly `mode` (whatever the umask) from `data` or a copy of `source`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if data is not None:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        else:
            assert source is not None
            _copy_into(fd, source)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        _discard(path)
        raise
    os.close(fd)


def _copy_verified(source: BinaryIO, tmp: str, digest: str, mode: int) -> bool:
    """Copy to `tmp` with `mode`, hashing on the way; False (and no `tmp`) when the digest differs."""
    h = hashlib.sha256()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while chunk := source.read(CHUNK):
            h.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        _discard(tmp)
        raise
    os.close(fd)
    if h.hexdigest() != digest:
        _discard(tmp)
        return False
    return True


def _copy_into(fd: int, source: Path | str) -> None:
    src = os.open(source, os.O_RDONLY)
    try:
        size = os.fstat(src).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(fd, src, offset, size - offset)  # in the kernel: no bytes through Python
            if sent == 0:
                break
            offset += sent
    finally:
        os.close(src)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _unwritable(root: Path, e: OSError) -> EnvironmentFault:
    return EnvironmentFault(
        f"cannot write the action cache in {root}: {e.strerror}",
        hint="free some space, fix the permissions, or point ENLIST_CACHE at a writable directory",
    )


def area_files(area: Path) -> Iterator[tuple[str, str, os.stat_result]]:
    """(name, path, lstat) of every file of an area of the cache (`<area>/sha256/ab/<hex>`: `ac` or `cas`), in
    order of name; temporary or foreign files are not listed, nor files deleted while the walk runs."""
    for shard in _listing(str(area / "sha256")):
        if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
            continue
        for found in _listing(shard.path):
            if not is_hex_digest(found.name):
                continue
            try:
                st = found.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield found.name, found.path, st


def _listing(directory: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as e:
        raise EnvironmentFault(
            f"cannot read {directory}: {e.strerror}", hint="fix the permissions of the cache (ENLIST_CACHE)"
        ) from e
