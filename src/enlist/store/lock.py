"""One build at a time per build tree (L2), and none while commands of a killed build still run.

    out/<config>/.enlist/lock        held (flock, exclusive) by the enlist process building the tree; it holds
                                     that process's pid, and is emptied when the build ends
    out/<config>/.enlist/commands    held shared by that process and by every command it starts (`fd`)

A second `enlist build` of the same tree and config waits for the first (after saying so once) rather than
fail: a lab script that starts two builds gets two correct builds, one after the other. Locks belong to open
files, so a build that dies for any reason releases `lock`.

Commands run in process groups of their own, so `kill -9` of enlist leaves them running. A pid still in `lock`
when the next build takes it means its holder died without ending (`unclean`): the next build then waits until
nobody holds `commands` any more, that is until the last command of the killed build has exited, so that it
never races a compiler still writing into the tree, and then sweeps the leftovers of interrupted writes. After
a build that ended normally, nothing waits for `commands`: a server a command left running in the background
(a compiler cache, a build server) delays nobody.
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
        self._commands = directory / "commands"
        self._on_wait = on_wait
        self._fd: int | None = None
        self._commands_fd: int | None = None
        self.unclean = False  # the last holder died without ending cleanly

    @property
    def fd(self) -> int:
        """The descriptor every command must inherit (`commands`, held shared)."""
        assert self._commands_fd is not None, "the lock is not held"
        return self._commands_fd

    def __enter__(self) -> TreeLock:
        fd = self._open(self._path)
        try:
            self._take(fd, fcntl.LOCK_EX, lambda: self._busy(_holder(fd)))
            self.unclean = bool(_holder(fd))
            commands = self._open(self._commands)
        except BaseException:
            os.close(fd)
            raise
        try:
            if self.unclean:
                self._take(commands, fcntl.LOCK_EX, lambda: self._orphans(_holder(fd)))
            fcntl.flock(commands, fcntl.LOCK_SH)
        except BaseException:
            os.close(commands)
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd, self._commands_fd = fd, commands
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None
        if self._commands_fd is not None:
            os.close(self._commands_fd)
            self._commands_fd = None

    def _open(self, path: Path) -> int:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise EnvironmentFault(f"cannot create the build lock {path}: {e.strerror}") from e

    def _take(self, fd: int, how: int, message: Callable[[], str]) -> None:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
        except BlockingIOError:
            self._on_wait(message())
            fcntl.flock(fd, how)

    def _busy(self, holder: str) -> str:
        return (
            f"another build is running in {self._path.parent.parent} (pid {holder or 'unknown'}); waiting for it to"
            " finish (Ctrl-C to stop waiting)"
        )

    def _orphans(self, holder: str) -> str:
        return (
            f"a build in {self._path.parent.parent} (pid {holder}) was killed and commands it started are still"
            f" running; waiting for them to finish (Ctrl-C to stop waiting; `fuser -v {self._commands}` lists them)"
        )


def _holder(fd: int) -> str:
    return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
