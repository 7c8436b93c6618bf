"""Tree manifests: what an unpacked package tree must contain, so `enlist cache verify` can rehash it (L2).

`trees/ab/<hex>.json` is canonical JSON (enlist.canonical):

    {"archive": "<sha256 of the archive>", "format": 1,
     "entries": [["bin", "dir", ""], ["bin/tool", "exec", "<sha256>"], ["lib/a.h", "file", "<sha256>"],
                 ["lib/current", "link", "a.h"]]}

Entries are sorted by path (POSIX, relative to the tree). Kinds: `dir`, `file`, `exec` (a file with an execute
bit), `link` (a symbolic link; the value is its target). A tree matches its manifest when walking it yields
exactly these entries.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from enlist import canonical, digest

FORMAT = 1
KINDS = ("dir", "file", "exec", "link")


@dataclass(frozen=True, slots=True, order=True)
class Entry:
    path: str
    kind: str
    value: str = ""  # sha256 of a file, target of a link


def dumps_manifest(archive: str, entries: Iterable[Entry]) -> bytes:
    rows = [[e.path, e.kind, e.value] for e in sorted(entries)]
    return canonical.dumps({"archive": archive, "entries": rows, "format": FORMAT}).encode("utf-8")


def load_manifest(path: Path) -> tuple[Entry, ...]:
    """The entries of a manifest; ValueError if it is unreadable or malformed."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"unreadable manifest: {e}") from e
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("entries"), list)
    ):
        raise ValueError("malformed manifest")
    entries = []
    for row in data["entries"]:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(x, str) for x in row)):
            raise ValueError("malformed manifest entry")
        entries.append(Entry(*row))
    return tuple(entries)


def scan(root: Path) -> tuple[Entry, ...]:
    """Walk a tree and describe it as manifest entries (hashing every file)."""
    entries: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in (*dirnames, *filenames):
            full = base / name
            rel = full.relative_to(root).as_posix()
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                entries.append(Entry(rel, "link", os.readlink(full)))
            elif stat.S_ISDIR(info.st_mode):
                entries.append(Entry(rel, "dir"))
            elif stat.S_ISREG(info.st_mode):
                kind = "exec" if info.st_mode & stat.S_IXUSR else "file"
                entries.append(Entry(rel, kind, digest.of_file(full)))
            else:
                entries.append(Entry(rel, "special"))
    return tuple(sorted(entries))


def differences(expected: Sequence[Entry], actual: Sequence[Entry], limit: int = 5) -> list[str]:
    """What differs between a manifest and a scanned tree, in words (at most `limit` items, then a count)."""
    want = {e.path: e for e in expected}
    have = {e.path: e for e in actual}
    problems: list[str] = []
    for path in sorted(set(want) | set(have)):
        w, h = want.get(path), have.get(path)
        if h is None:
            problems.append(f"missing {path}")
        elif w is None:
            problems.append(f"unexpected {path}")
        elif w.kind != h.kind:
            problems.append(f"{path} is a {h.kind}, expected a {w.kind}")
        elif w.value != h.value:
            problems.append(f"{path} has changed")
    if len(problems) > limit:
        problems = [*problems[:limit], f"and {len(problems) - limit} more"]
    return problems
