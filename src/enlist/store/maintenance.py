"""`enlist cache stats|gc` for the action cache and its CAS (L2; the layout is in `enlist.store.local`).

- `stats`: how many entries and blobs there are and their bytes (a blob hard-linked to outputs in build trees
  counts once, by its size), and when the least recently used entry was last used.
- `gc`: mark and sweep. An entry's modification time is when it was last used (`enlist.store.local`): the
  entries unused for `days` are deleted, and so are damaged ones (as `enlist cache verify --repair` would).
  Every remaining entry is read, and the blobs it names (its outputs and its command's log) are live. Then
  every blob that is not live is deleted, unless it is younger than `BLOB_GRACE`: a build stores an action's
  outputs before the entry that names them, so a young blob may belong to an entry being written now.

Builds may run meanwhile. A build whose entry gc deletes misses and runs the action; a hit whose blobs gc
deletes between reading the entry and restoring its outputs is a miss too (a restore needs every blob whole).
An entry written during gc that names an old blob already in the CAS (stored by an earlier build under
another entry) may lose that blob: its next lookup misses, the action runs and the entry is written again.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from enlist.errors import EnvironmentFault
from enlist.store.local import area_files, unframe
from enlist.store.verify import named_blobs

BLOB_GRACE = 3600.0  # seconds: an unnamed blob younger than this may belong to an entry being written


@dataclass(frozen=True, slots=True)
class StoreStats:
    root: Path
    entries: int
    entry_bytes: int
    blobs: int
    blob_bytes: int
    least_recent_use: float | None  # the modification time of the entry used least recently; None if empty


@dataclass(frozen=True, slots=True)
class Swept:
    """What gc removed (or would remove) from one area, and how many files it kept."""

    removed: int
    removed_bytes: int
    kept: int


@dataclass(frozen=True, slots=True)
class GcReport:
    entries: Swept
    damaged: int  # among the entries removed, those that were damaged
    blobs: Swept
    young: int  # among the blobs kept, those that no entry names but are younger than BLOB_GRACE


def stats(root: Path) -> StoreStats:
    """Counts and sizes of the action cache and CAS under the cache root `root`."""
    entries = [st for _, _, st in area_files(root / "ac")]
    blob_sizes = [st.st_size for _, _, st in area_files(root / "cas")]
    return StoreStats(
        root=root,
        entries=len(entries),
        entry_bytes=sum(st.st_size for st in entries),
        blobs=len(blob_sizes),
        blob_bytes=sum(blob_sizes),
        least_recent_use=min((st.st_mtime for st in entries), default=None),
    )


def gc(root: Path, *, days: float, now: float | None = None, dry_run: bool = False) -> GcReport:
    """Delete the entries unused for `days`, damaged entries, then the blobs no remaining entry names (see the
    module docstring); with `dry_run`, delete nothing and report what would go."""
    now = time.time() if now is None else now
    horizon = now - days * 86400
    live: set[str] = set()
    doomed: list[tuple[str, int]] = []
    damaged = kept = 0
    for _, path, st in area_files(root / "ac"):
        if st.st_mtime >= horizon:
            named = _named(path)
            if named is not None:
                live.update(named)
                kept += 1
                continue
            damaged += 1
        doomed.append((path, st.st_size))
    entries = _sweep(doomed, kept, dry_run=dry_run)
    doomed, kept, young = [], 0, 0
    for name, path, st in area_files(root / "cas"):
        if name in live:
            kept += 1
        elif now - max(st.st_mtime, st.st_ctime) < BLOB_GRACE:  # ctime: when it was linked into the CAS
            kept += 1
            young += 1
        else:
            doomed.append((path, st.st_size))
    return GcReport(entries, damaged, _sweep(doomed, kept, dry_run=dry_run), young)


def _named(path: str) -> tuple[str, ...] | None:
    """The blobs the entry at `path` names; None when it is damaged or not an entry of this version."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return ()  # deleted meanwhile (by `verify --repair`, another gc): it protects nothing, and is gone
    except OSError:
        return None
    entry = unframe(data)
    return None if entry is None else named_blobs(entry)


def _sweep(doomed: list[tuple[str, int]], kept: int, *, dry_run: bool) -> Swept:
    if not dry_run:
        for path, _ in doomed:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass  # another gc, or `verify --repair`, was quicker
            except OSError as e:
                raise EnvironmentFault(
                    f"cannot delete {path}: {e.strerror}",
                    hint="run `enlist cache gc` as the user who owns the cache, or fix its permissions",
                ) from e
    return Swept(len(doomed), sum(size for _, size in doomed), kept)
