"""One build at a time per build tree (L2).

`out/<config>/.enlist/lock` is held with `flock` for the whole build; the holder writes its pid into it so the
next build can say whom it waits for, and empties it when it ends. A second `enlist build` of the same tree and
config waits (after saying so once) rather than fail: a lab script that starts two builds gets two correct
builds, one after the other.

The lock belongs to the open file, and the builder hands that file to every command it starts (`fd`): a build
killed with SIGKILL releases the lock only when the last command it started has exited too, so the next build
never races a compiler left running by the dead one. A pid still in the file when the lock is taken means its
holder died without ending cleanly (`unclean`): the new holder then sweeps the leftovers of interrupted writes.
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
        self.unclean = False  # the last holder died without releasing the lock cleanly

    @property
    def fd(self) -> int:
        """The lock's file descriptor (for commands that must hold the lock as long as they run)."""
        assert self._fd is not None, "the lock is not held"
        return self._fd

    def __enter__(self) -> TreeLock:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise EnvironmentFault(f"cannot create the build lock {self._path}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._on_wait(self._waiting(_holder(fd)))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        self.unclean = bool(_holder(fd))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def _waiting(self, holder: str) -> str:
        tree = self._path.parent.parent
        if holder.isdigit() and not _alive(int(holder)):
            return (
                f"a build in {tree} (pid {holder}) was killed and commands it started are still running;"
                f" waiting for them to finish (Ctrl-C to stop waiting; `fuser -v {self._path}` lists them)"
            )
        return (
            f"another build is running in {tree} (pid {holder or 'unknown'}); waiting for it to finish"
            " (Ctrl-C to stop waiting)"
        )

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    return os.pread(fd, 32, 0).decode("ascii", "replace").strip()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
