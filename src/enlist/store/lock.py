"""One build at a time per build tree (L2).

`out/<config>/.enlist/lock` is held with `flock` for the whole build; the holder writes its pid into it so the
next build can say whom it waits for. A second `enlist build` of the same tree and config waits (after saying
so once) rather than fail: a lab script that starts two builds gets two correct builds, one after the other.
The lock belongs to the open file, so a build that dies for any reason releases it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from enlist.errors import EnvironmentFault


class TreeLock:
    def __init__(self, directory: Path, on_wait: Callable[[str], None]) -> None:
        self._path = directory / "lock"
        self._on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> TreeLock:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise EnvironmentFault(f"cannot create the build lock {self._path}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            self._on_wait(
                f"another build is running in {self._path.parent.parent} (pid {holder}); waiting for it"
                " to finish (Ctrl-C to stop waiting)"
            )
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None
