"""Checking the local action cache and CAS for `enlist cache verify` (L2; the layout is in
`enlist.store.local`).

- every CAS blob must hash to its name;
- every action-cache entry must match the digest it carries, decode as an entry (`enlist.engine.traces`),
  and name only blobs that the CAS holds whole (its outputs and its command's log).

With `repair`, each bad file is deleted: the action cache is a cache, so dropping an entry only costs a run of
its action, and a blob goes with every entry that names it. `clear_entries` drops every entry at once, for
when they may have been made with a damaged tool (see `enlist.commands.cache`).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from enlist import digest
from enlist.engine import traces
from enlist.store.local import area_files, unframe

ENTRY = "action-cache entry"
BLOB = "CAS blob"


@dataclass(frozen=True, slots=True)
class StoreProblem:
    area: str  # ENTRY or BLOB
    name: str  # the entry's key or the blob's digest
    detail: str

    def __str__(self) -> str:
        return f"{self.area} {self.name}: {self.detail}"


@dataclass(frozen=True, slots=True)
class StoreReport:
    entries: int
    blobs: int
    problems: tuple[StoreProblem, ...]
    removed: tuple[StoreProblem, ...] = ()


def verify(root: Path, *, repair: bool = False) -> StoreReport:
    """Check the action cache and CAS under the cache root `root`; with `repair`, delete what is bad."""
    blobs = _files(root / "cas")
    entries = _files(root / "ac")
    problems = [StoreProblem(BLOB, name, why) for name, path in blobs.items() if (why := _check_blob(name, path))]
    bad_blobs = {p.name for p in problems}
    whole = set(blobs) - bad_blobs
    problems += [StoreProblem(ENTRY, name, why) for name, path in entries.items() if (why := _check_entry(path, whole))]
    problems.sort(key=lambda p: (p.area, p.name))
    removed: list[StoreProblem] = []
    if repair:
        for problem in problems:
            path = (blobs if problem.area == BLOB else entries)[problem.name]
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            removed.append(problem)
    return StoreReport(len(entries), len(blobs), tuple(problems), tuple(removed))


def clear_entries(root: Path) -> int:
    """Delete every action-cache entry (the CAS stays); returns how many there were."""
    entries = _files(root / "ac")
    for path in entries.values():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return len(entries)


def _files(area: Path) -> dict[str, Path]:
    """The files of an area (`<area>/sha256/ab/<hex>`), by name; temporary or foreign files are not listed."""
    return {name: Path(path) for name, path, _ in area_files(area)}


def _check_blob(name: str, path: Path) -> str | None:
    try:
        actual = digest.of_file(path)
    except OSError as e:
        return f"unreadable ({e.strerror})"
    return None if actual == name else f"content hashes to {actual}"


def _check_entry(path: Path, blobs: set[str]) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"unreadable ({e.strerror})"
    entry = unframe(data)
    if entry is None:
        return "its bytes do not match the digest it carries (damaged, or written by an older enlist)"
    named = named_blobs(entry)
    if named is None:
        return "not an action-cache entry of this version of enlist"
    missing = sorted(d for d in named if d not in blobs)
    return f"names {missing[0]}, which the CAS does not hold whole" if missing else None


def named_blobs(entry: bytes) -> tuple[str, ...] | None:
    """The CAS blobs an entry (without its frame) names: its outputs and its command's log, none for the
    headers of a compile; None when it is not an action-cache entry of this version of enlist."""
    if traces.decode_deps(entry) is not None:
        return ()
    trace = traces.decode_trace(entry)
    if trace is None:
        return None
    return tuple(o.digest for o in trace.outputs) + ((trace.log,) if trace.log else ())
