"""Small file-system operations with the guarantees enlist needs (L2): nothing half-written.

Anything a later run may trust (caches, published trees, lock files, manifests) is written to a sibling temporary
file and renamed over the target, so a reader (or a build that is interrupted) sees the old bytes or the new ones,
never a mix. Every such temporary file in a build tree is named `.<name>.<unique>.tmp`; a process killed between
the write and the rename leaves one behind, which the next build removes (`remove_leftovers`).
`write_if_changed` leaves an identical file alone, which keeps its mtime, and so the stat caches of enlist and of
editors, untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, durable: bool = False) -> None:
    """Write `data` to `path` so that readers see the old content or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, *, durable: bool = False) -> None:
    write_atomic(path, text.encode("utf-8"), durable=durable)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` atomically unless the file already holds exactly these bytes; True when it wrote."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_atomic(path, data)
    return True


def remove_leftovers(directories: Iterable[Path], *, prefix: str = ".") -> int:
    """Delete the temporary files (`.<name>.<unique>.tmp`, with a name starting with `prefix`) that writes
    interrupted by a kill left in `directories`; returns how many were deleted."""
    removed = 0
    for directory in directories:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.startswith(prefix) and name.startswith(".") and name.endswith(".tmp"):
                with contextlib.suppress(IsADirectoryError, FileNotFoundError, PermissionError):
                    os.unlink(directory / name)
                    removed += 1
    return removed
