"""Writing the toolcache (L2): verified blobs, unpacked trees, per-digest locks, atomic removal.

The layout is documented in `enlist.toolcache.layout`. The rules every writer here follows:
- bytes become a blob only after their sha256 matched the pin (`commit_blob`); mismatching bytes are deleted;
- a tree is unpacked into tmp/, its manifest written, and only then renamed into place (`install_tree`), so an
  existing tree is always complete and a killed restore leaves nothing a later one would trust;
- entries are deleted by first renaming them into tmp/ (`discard`), so they vanish atomically;
- one process at a time fetches or unpacks a given digest (`locked`); others wait, then find it done.
OS errors become `EnvironmentFault`s that say whether the cache is full or not writable.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from enlist.errors import EnvironmentFault, IntegrityError
from enlist.toolcache import tree
from enlist.toolcache.layout import Layout

try:
    import fcntl
except ImportError:  # Windows: renames alone keep entries whole; concurrent restores may fetch twice
    fcntl = None  # type: ignore[assignment]

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


def cache_fault(error: OSError, root: Path) -> EnvironmentFault:
    """Say what an OS error while writing the cache means for the user."""
    if error.errno in _FULL:
        return EnvironmentFault(
            f"no space left for the toolcache in {root}",
            hint="free disk space, run `enlist cache gc`, or point ENLIST_CACHE at a bigger disk",
        )
    if error.errno in _READ_ONLY:
        return EnvironmentFault(
            f"the toolcache {root} is not writable ({error.strerror})",
            hint="fix its permissions, or point ENLIST_CACHE at a writable directory",
        )
    return EnvironmentFault(
        f"cannot write the toolcache {root}: {error.strerror or error}",
        hint="check the disk, or point ENLIST_CACHE at another directory",
    )


class Store:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    @contextlib.contextmanager
    def faults(self) -> Iterator[None]:
        """Turn OS errors of cache writes into environment errors."""
        try:
            yield
        except OSError as e:
            raise cache_fault(e, self.layout.root) from e

    @contextlib.contextmanager
    def locked(self, sha256: str) -> Iterator[None]:
        with self.faults():
            path = self.layout.lock(sha256)
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a+b")
        with handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield

    def temp_path(self, stem: str) -> Path:
        with self.faults():
            self.layout.tmp.mkdir(parents=True, exist_ok=True)
        return self.layout.tmp / f"{stem}-{os.getpid()}-{secrets.token_hex(4)}"

    def commit_blob(self, part: Path, sha256: str, actual: str, label: str) -> Path:
        """Make `part` the blob `sha256` if its bytes hash to it; otherwise delete them and refuse."""
        if actual != sha256:
            part.unlink(missing_ok=True)
            raise IntegrityError(
                f"hash mismatch for {label}: expected sha256 {sha256}, got {actual}",
                hint="the bytes were discarded; the feed serves a different file than the lock pins "
                "(if the change is intended, run `enlist lock --refresh`)",
            )
        final = self.layout.blob(sha256)
        with self.faults():
            os.chmod(part, 0o444)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, final)
        return final

    def install_tree(self, sha256: str, unpack: Callable[[Path], Sequence[tree.Entry]]) -> Path:
        """Unpack archive `sha256` with `unpack(work_dir)` and publish the tree atomically. Call it locked."""
        final = self.layout.tree(sha256)
        if final.is_dir():
            return final
        for stale in self.layout.tmp.glob(f"{sha256}.tree-*"):  # left by a killed restore: we hold the lock
            self.discard(stale)
        work = self.temp_path(f"{sha256}.tree")
        with self.faults():
            work.mkdir()
        try:
            with self.faults():
                entries = unpack(work)
                self.write_atomic(self.layout.manifest(sha256), tree.dumps_manifest(sha256, entries))
                final.parent.mkdir(parents=True, exist_ok=True)
                os.rename(work, final)
                os.chmod(final, 0o555)  # read-only to builds, down to its top directory
        except BaseException:
            self.discard(work)
            raise
        return final

    def write_atomic(self, path: Path, data: bytes) -> None:
        temp = self.temp_path(path.name)
        try:
            temp.write_bytes(data)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        """Delete the tree, manifest and blob of `sha256` (tree first: it is what restores trust)."""
        self.discard(self.layout.tree(sha256))
        with self.faults():
            self.layout.manifest(sha256).unlink(missing_ok=True)
        self.remove_blob(sha256)

    def remove_blob(self, sha256: str) -> None:
        with self.faults():
            self.layout.blob(sha256).unlink(missing_ok=True)

    def discard(self, path: Path) -> None:
        """Remove a file or a (read-only) tree, making it vanish atomically first."""
        if not path.exists() and not path.is_symlink():
            return
        with self.faults():
            if path.is_dir() and not path.is_symlink():
                os.chmod(path, 0o755)  # moving a directory to another parent rewrites its ".." entry
            if path.parent != self.layout.tmp:
                trash = self.temp_path("trash")
                os.rename(path, trash)
                path = trash
            if path.is_dir() and not path.is_symlink():
                make_writable(path)
                shutil.rmtree(path)
            else:
                path.unlink()


def make_writable(root: Path) -> None:
    """Give the owner write access to every directory of a read-only tree, so that it can be deleted."""
    os.chmod(root, 0o755)
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            child = os.path.join(dirpath, name)
            if not os.path.islink(child):
                os.chmod(
                    child, stat.S_IMODE(os.lstat(child).st_mode) | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR
                )
