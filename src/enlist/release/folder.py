"""Publishing to a folder feed (L2): a directory or file share that consumers read as `url = "<folder>"`.

The feed has the layout of a drop (`enlist.release.package`) and one `index.json` for all that was published
to it. A publish:
1. takes the feed's lock (`.enlist-feed.lock`, advisory: two builds publishing at once take turns);
2. plans: each file of the drop is new, already in the feed with the same bytes (skipped, so publishing again
   is harmless), or in the feed with other bytes: a conflict. A published version never changes (consumers'
   locks pin its sha256), so on any conflict nothing is written and the error names every conflicting file;
3. copies each new file under a temporary name in its directory, flushes it to disk and renames it into place;
4. writes the merged index last, the same way: whoever reads the index finds every file it names.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from enlist import digest
from enlist.errors import EnvironmentFault
from enlist.release.package import INDEX, Drop, Index, conflict_error

try:
    import fcntl
except ImportError:  # Windows: renames alone keep each file whole
    fcntl = None  # type: ignore[assignment]

LOCK = ".enlist-feed.lock"


@dataclass(frozen=True, slots=True)
class Published:
    """What a publish did: the files it added and the ones the feed already held, identical."""

    added: tuple[str, ...]
    present: tuple[str, ...]


def publish_folder(drop: Drop, feed: Path) -> Published:
    try:
        feed.mkdir(parents=True, exist_ok=True)
        with _locked(feed):
            added, present = _plan(drop, feed)
            for rel in added:
                _copy(drop.directory / rel, feed / rel)
            _write_index(feed, _read_index(feed).merged(drop.index))
    except OSError as e:
        raise EnvironmentFault(
            f"cannot publish to the folder feed {feed}: {e.strerror or e}",
            hint="check that the feed is mounted and writable; publishing again resumes where this stopped",
        ) from e
    return Published(tuple(added), tuple(present))


def _plan(drop: Drop, feed: Path) -> tuple[list[str], list[str]]:
    added: list[str] = []
    present: list[str] = []
    conflicts: list[str] = []
    for rel in drop.files():
        target = feed / rel
        if not target.exists():
            added.append(rel)
        elif target.is_file() and digest.of_file(target) == digest.of_file(drop.directory / rel):
            present.append(rel)
        else:
            conflicts.append(rel)
    if conflicts:
        raise conflict_error(str(feed), conflicts, verb="published")
    return added, present


def _read_index(feed: Path) -> Index:
    path = feed / INDEX
    try:
        return Index.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Index()
    except ValueError as e:
        raise EnvironmentFault(
            f"{path} is not a package index ({e}); nothing was added to it",
            hint="restore it from a backup, or remove it to start a new index",
        ) from e


def _write_index(feed: Path, index: Index) -> None:
    _replace(feed / INDEX, index.to_json().encode("utf-8"))


def _copy(source: Path, target: Path) -> None:
    with source.open("rb") as src:
        _install(target, lambda out: shutil.copyfileobj(src, out, 1 << 20))


def _replace(target: Path, data: bytes) -> None:
    _install(target, lambda out: out.write(data))


def _install(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write `target` under a temporary name in its directory, flush it to disk, rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(feed: Path) -> Iterator[None]:
    with (feed / LOCK).open("a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
