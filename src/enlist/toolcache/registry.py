"""The registry of enlistments that restore from a cache, so `enlist cache gc` knows what is still used (L2).

`registry/<id>.json`, one file per enlistment (`id`: the first 32 hex digits of the sha256 of its root path):

    {"digests": ["2d6e...", "9707..."], "root": "/home/me/src/agent"}

`digests` are the archives its lock pinned for this machine at its last restore; the file's modification time
is when that restore ran. A record whose root is gone, or older than gc's `--days`, protects nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from enlist import canonical, digest
from enlist.errors import EnlistError
from enlist.toolcache.layout import Layout
from enlist.toolcache.store import Store


@dataclass(frozen=True, slots=True)
class Record:
    path: Path
    root: Path
    digests: frozenset[str]
    used: float  # seconds since the epoch


def record(layout: Layout, root: Path, digests: Iterable[str]) -> bool:
    """Note that `root` uses `digests` now; False if the cache is not writable (a read-only shared cache)."""
    path = layout.registry / f"{digest.of_bytes(str(root).encode('utf-8'))[:32]}.json"
    data = canonical.pretty({"digests": sorted(set(digests)), "root": str(root)}).encode("utf-8")
    try:
        if path.is_file() and path.read_bytes() == data:
            os.utime(path)
        else:
            Store(layout).write_atomic(path, data)
    except (OSError, EnlistError):
        return False
    return True


def records(layout: Layout) -> list[Record]:
    found = []
    for path in sorted(layout.registry.glob("*.json")):
        try:
            data = json.loads(path.read_bytes())
            found.append(Record(path, Path(data["root"]), frozenset(data["digests"]), path.stat().st_mtime))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: it protects nothing; gc removes it
    return found
