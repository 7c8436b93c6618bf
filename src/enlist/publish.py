"""Publishing into the public tree `public/<config>/` (L2): `enlist.engine.ports.Publisher` for real.

A publish action copies each `src` (an output of its project) to `dest` (under `$(PUBLIC_ROOT)`). Every dest
is first written in full next to its final name, then all are renamed into place, so a consumer (or an
interrupted build) never sees a half-written file, and a failure before the renames changes nothing. Files are
copied, not hard-linked: a tool that rewrites its output in place must not change what consumers already read.
Modes are normalised (0644, or 0755 when the source is executable) so published bytes and bits never depend on
the umask.

`remove_stale` deletes files an earlier plan produced and the current one does not (a dropped publish pair, a
deleted source), then prunes the directories it emptied; consumers can no longer pick up what nobody produces.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from enlist.errors import EnvironmentFault, InputError
from enlist.store.local import temp_name, write_new


class TreePublisher:
    def __init__(self, root: Path) -> None:
        self._root = root

    def publish(self, pairs: Sequence[tuple[str, str]]) -> None:
        staged: list[tuple[str, Path]] = []
        try:
            for src, dest in pairs:
                staged.append((self._stage(src, dest), self._root / dest))
            for tmp, final in staged:
                os.replace(tmp, final)
            staged.clear()
        except OSError as e:
            raise EnvironmentFault(f"cannot publish {e.filename}: {e.strerror}") from e
        finally:
            for tmp, _ in staged:
                _discard(tmp)

    def _stage(self, src: str, dest: str) -> str:
        source = self._root / src
        if not source.is_file():
            raise InputError(f"cannot publish {src}: it does not exist", hint="check the PASSn_PUBLISH pairs")
        target = self._root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(target)
        write_new(tmp, 0o755 if os.access(source, os.X_OK) else 0o644, source=source)
        return tmp


def remove_stale(root: Path, paths: Iterable[str]) -> list[str]:
    """Delete these enlistment-relative files and the directories left empty; returns what was deleted."""
    removed: list[str] = []
    for rel in sorted(set(paths)):
        if rel.startswith("/"):
            continue  # never delete outside the enlistment
        path = root / rel
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        removed.append(rel)
        _prune(path.parent, root)
    return removed


def _prune(directory: Path, root: Path) -> None:
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)
