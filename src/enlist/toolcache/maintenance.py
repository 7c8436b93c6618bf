"""`enlist cache stats|verify|gc`: look after the toolcache (L2).

- `stats`: how many archives and trees, how big, how many registered enlistments, leftovers in tmp/.
- `verify`: rehash every blob (its name is its sha256) and every tree (against its manifest); with `repair`,
  corrupt entries are deleted and made again: trees unpacked from their archive, archives fetched again from a
  feed that a known enlistment's lock names for that digest (the current one and the registered ones).
- `gc`: delete archives and trees that no enlistment registered in the last `days` days uses, registry records
  of enlistments that are gone or idle that long, and tmp/ leftovers over an hour old.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from enlist import digest
from enlist.model.packages import Pin
from enlist.toolcache import registry, tree
from enlist.toolcache.events import NullEvents, RestoreEvents
from enlist.toolcache.extract import extract
from enlist.toolcache.layout import Layout
from enlist.toolcache.plan import Step, StepKind
from enlist.toolcache.store import Store

if TYPE_CHECKING:
    from enlist.toolcache.feeds import Feed

TEMP_MAX_AGE = 3600.0
UNKNOWN_NAME = "archive"  # without a pin, the extractor recognises the archive by its content
Source = Callable[[str], "tuple[Pin, Feed] | None"]  # where the archive with this sha256 can be fetched again


def _digests(folder: Path, *, dirs: bool) -> list[str]:
    found = []
    for path in folder.glob("??/*"):
        if digest.is_hex_digest(path.name) and (path.is_dir() if dirs else path.is_file()):
            found.append(path.name)
    return sorted(found)


def blobs(layout: Layout) -> list[str]:
    return _digests(layout.root / "sha256", dirs=False)


def trees(layout: Layout) -> list[str]:
    return _digests(layout.root / "trees", dirs=True)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _, filenames in os.walk(path):
        total += sum(os.lstat(os.path.join(dirpath, f)).st_size for f in filenames)
    return total


@dataclass(frozen=True, slots=True)
class CacheStats:
    root: Path
    blobs: int
    blob_bytes: int
    trees: int
    tree_bytes: int
    enlistments: int
    temp_entries: int


def stats(layout: Layout) -> CacheStats:
    b, t = blobs(layout), trees(layout)
    temp = list(layout.tmp.iterdir()) if layout.tmp.is_dir() else []
    return CacheStats(
        root=layout.root,
        blobs=len(b),
        blob_bytes=sum(_size(layout.blob(d)) for d in b),
        trees=len(t),
        tree_bytes=sum(_size(layout.tree(d)) for d in t),
        enlistments=len(registry.records(layout)),
        temp_entries=len(temp),
    )


@dataclass(frozen=True, slots=True)
class Problem:
    sha256: str
    entry: str  # "archive" or "tree"
    detail: str

    def __str__(self) -> str:
        return f"{self.entry} {self.sha256}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    blobs: int
    trees: int
    problems: tuple[Problem, ...]
    repaired: tuple[str, ...] = ()  # digests made whole again
    removed: tuple[str, ...] = ()  # digests deleted without a way to fetch them again


def check_blob(layout: Layout, sha256: str) -> str | None:
    actual = digest.of_file(layout.blob(sha256))
    return None if actual == sha256 else f"content hashes to {actual}"


def check_tree(layout: Layout, sha256: str) -> str | None:
    try:
        expected = tree.load_manifest(layout.manifest(sha256))
    except ValueError as e:
        return str(e)
    problems = tree.differences(expected, tree.scan(layout.tree(sha256)))
    return "; ".join(problems) if problems else None


def verify(
    layout: Layout, *, repair: bool = False, source: Source | None = None, events: RestoreEvents | None = None
) -> VerifyReport:
    found_blobs, found_trees = blobs(layout), trees(layout)
    problems = [Problem(d, "archive", why) for d in found_blobs if (why := check_blob(layout, d))]
    problems += [Problem(d, "tree", why) for d in found_trees if (why := check_tree(layout, d))]
    problems.sort(key=lambda p: (p.sha256, p.entry))
    if not repair or not problems:
        return VerifyReport(len(found_blobs), len(found_trees), tuple(problems))
    repaired, removed = _repair(layout, problems, source or (lambda d: None), events or NullEvents())
    return VerifyReport(len(found_blobs), len(found_trees), tuple(problems), repaired, removed)


def _repair(
    layout: Layout, problems: Iterable[Problem], source: Source, events: RestoreEvents
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from enlist.toolcache import restore  # the repair path fetches; keep it off the import path of stats

    store = Store(layout)
    bad: dict[str, set[str]] = {}
    for p in problems:
        bad.setdefault(p.sha256, set()).add(p.entry)
    repaired, removed = [], []
    for sha256, entries in sorted(bad.items()):
        found = source(sha256)
        with store.locked(sha256):
            had_tree = layout.has_tree(sha256)
            if "tree" in entries:
                store.discard(layout.tree(sha256))
            if "archive" in entries:
                store.remove_blob(sha256)
            if found is None and not layout.has_blob(sha256):
                store.remove(sha256)  # a tree we cannot rebuild is not kept half-trusted
                removed.append(sha256)
                continue
            if found is not None and not layout.has_blob(sha256):
                restore.fetch(found[0], found[1], store, events, Step(found[0], StepKind.FETCH))
            if had_tree:
                name = found[0].file_name if found else UNKNOWN_NAME
                store.install_tree(sha256, _unpacker(layout.blob(sha256), name))
        repaired.append(sha256)
    return tuple(repaired), tuple(removed)


def _unpacker(blob: Path, file_name: str) -> Callable[[Path], tuple[tree.Entry, ...]]:
    return lambda work: extract(blob, work, file_name=file_name)


@dataclass(frozen=True, slots=True)
class GcReport:
    removed: tuple[str, ...]
    freed_bytes: int
    kept: int
    records_removed: int
    temp_removed: int


def gc(layout: Layout, *, days: float, now: float | None = None, dry_run: bool = False) -> GcReport:
    now = time.time() if now is None else now
    horizon = now - days * 86400
    store = Store(layout)
    live: set[str] = set()
    valid = {r.path: r for r in registry.records(layout)}
    stale_records = [
        p
        for p in sorted(layout.registry.glob("*.json"))
        if p not in valid or valid[p].used < horizon or not valid[p].root.is_dir()
    ]
    for record in valid.values():
        if record.path not in stale_records:
            live |= record.digests
    manifests = {p.name.removesuffix(".json") for p in (layout.root / "trees").glob("??/*.json")}
    candidates = sorted((set(blobs(layout)) | set(trees(layout)) | manifests) - live)
    freed = sum(
        _size(layout.blob(d)) + _size(layout.tree(d))
        for d in candidates
        if layout.has_blob(d) or layout.has_tree(d)
    )
    temp = [p for p in (layout.tmp.iterdir() if layout.tmp.is_dir() else []) if _age(p, now) > TEMP_MAX_AGE]
    if not dry_run:
        for sha256 in candidates:
            with store.locked(sha256):
                store.remove(sha256)
        for path in [*stale_records, *temp]:
            store.discard(path)
    kept = len((set(blobs(layout)) | set(trees(layout))) - set(candidates))
    return GcReport(tuple(candidates), freed, kept, len(stale_records), len(temp))


def _age(path: Path, now: float) -> float:
    try:
        return now - path.lstat().st_mtime
    except OSError:
        return 0.0
